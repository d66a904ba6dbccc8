"""NSGA-II as a GA: ``pn.GA(selection=pn.NSGA2())`` with ``(P, n_obj)`` fitness.

- The survivors of parents + offspring are the naive NSGA-II selection
  (fronts by repeated extraction, crowding by its definition, best first).
- Mating parents are drawn by the crowded binary tournament on the
  survivors' fronts and crowding: frequencies against the exact law.
- With the library's SBX and polynomial mutation it reaches ZDT1's front.
- Checkpoints continue bit for bit, the thread count changes nothing, and a
  fitness of the wrong shape is refused before any state changes.
"""

from __future__ import annotations

import hashlib
import warnings

import numpy as np
import pytest
from test_nsga2 import naive_crowding, naive_fronts, zdt1

import pyneat_lite as pn
from pyneat_lite.algorithms import NonFiniteFitnessWarning


def _ga(P=20, n=3, **kw):
    kw.setdefault("seed", 0)
    return pn.GA(n_params=n, pop_size=P, selection=pn.NSGA2(), minimize=True, **kw)


def naive_survivors(F, mu):
    """Minimisation: the ``mu`` best rows by (front, -crowding, index)."""
    rank = naive_fronts(F)
    crowd = naive_crowding(-F, rank)  # the library's orientation: larger is better
    order = sorted(range(F.shape[0]), key=lambda i: (rank[i], -crowd[i], i))
    return np.array(order[:mu])


def test_survivors_are_the_naive_nsga2_selection():
    rng = np.random.default_rng(0)
    P = 30
    ga = _ga(P)
    pop1 = ga.ask().copy()
    F1 = rng.integers(0, 6, (P, 2)).astype(float)  # many ties and equal rows
    ga.tell(F1)
    keep1 = naive_survivors(F1, P)
    np.testing.assert_array_equal(ga.population, pop1[keep1])
    pop2 = ga.ask().copy()
    F2 = rng.integers(0, 6, (P, 2)).astype(float)
    ga.tell(F2)
    pool_F = np.concatenate([F1[keep1], F2])
    pool_x = np.concatenate([pop1[keep1], pop2])
    keep2 = naive_survivors(pool_F, P)
    np.testing.assert_array_equal(ga.population, pool_x[keep2])
    np.testing.assert_array_equal(ga.parent_fitness, pool_F[keep2, 0])
    front = ga.pareto_front
    first = naive_fronts(pool_F[keep2]) == 0
    np.testing.assert_array_equal(front.objectives, pool_F[keep2][first])
    np.testing.assert_array_equal(front.genomes, pool_x[keep2][first])


def test_parents_are_drawn_by_the_crowded_binary_tournament():
    """P(i) = (#{j: i beats j} + #{j: j does not beat i}) / P**2 for a binary
    tournament with replacement on (front, crowding) of the parents, the
    fronts and distances from the naive reference."""
    rng = np.random.default_rng(1)
    P = 16
    ga = _ga(P, n=2, seed=3)
    ga.ask()
    ga.tell(rng.random((P, 2)))
    F = ga._parent_objectives
    rank = naive_fronts(F)
    crowd = naive_crowding(-F, rank)
    better = (rank[:, None] < rank[None]) | (
        (rank[:, None] == rank[None]) & (crowd[:, None] > crowd[None]))
    expected = ((~better).sum(0) + better.sum(1)) / P**2
    counts = np.zeros(P)
    plan = ga._generation_plan
    keys = pn.algorithms._multiobjective.parent_keys(ga.selection, F, True, None)
    out = np.empty((P, 2), np.float32)
    runs = 3000
    for g in range(1, runs + 1):
        pairs = plan.run(ga._parents, ga._parent_fitness, out, ga.seed, g, True,
                         1, keys)
        counts += np.bincount(pairs.ravel(), minlength=P)
    freq = counts / counts.sum()
    n = counts.sum()
    assert np.all(np.abs(freq - expected) <= 4 * np.sqrt(expected / n) + 1e-9)
    assert expected.max() > 5 * expected.min()  # the test can fail


def _zdt1_ga(seed=0, **kw):
    n = 30
    return pn.GA(
        n_params=n, pop_size=100, selection=pn.NSGA2(),
        crossover=pn.SBXCrossover(eta=20.0, low=0.0, high=1.0),
        mutation=pn.PolynomialMutation(rate=1.0 / n, eta=20.0, low=0.0, high=1.0),
        crossover_prob=0.9, minimize=True, seed=seed,
        initial_population=np.random.default_rng(seed).random((100, n)), **kw)


def test_ga_nsga2_reaches_the_zdt1_front():
    """Deb et al.'s setup with the library's operators: g close to 1 on the
    whole front, which spans f1 in [0, 1]."""
    r = _zdt1_ga().run(zdt1, generations=150)
    pf = r.pareto_front
    assert len(pf) >= 90
    g = 1.0 + 9.0 * pf.genomes[:, 1:].astype(np.float64).mean(axis=1)
    assert g.mean() < 1.03 and g.max() < 1.1, (g.mean(), g.max())
    assert pf.objectives[:, 0].min() < 0.02 and pf.objectives[:, 0].max() > 0.95
    np.testing.assert_allclose(pf.objectives, zdt1(pf.genomes))


def _digest(ga, gens, h=None):
    h = h or hashlib.sha256()
    for _ in range(gens):
        pop = ga.ask()
        h.update(pop.tobytes())
        ga.tell(zdt1(pop))
    return h


def test_checkpoint_continues_bit_for_bit(tmp_path):
    ref = _zdt1_ga(seed=2)
    h_ref = _digest(ref, 12)
    a = _zdt1_ga(seed=2)
    h = _digest(a, 5)
    a.save(tmp_path / "nsga.ckpt")
    b = pn.load(tmp_path / "nsga.ckpt")
    _digest(b, 7, h)
    assert h.hexdigest() == h_ref.hexdigest()
    np.testing.assert_array_equal(b.pareto_front.objectives,
                                  ref.pareto_front.objectives)
    assert b.replacement == "plus" and b.mu == 100


def test_thread_count_does_not_change_the_run():
    one = _digest(_zdt1_ga(seed=4, n_threads=1), 8).hexdigest()
    two = _digest(_zdt1_ga(seed=4, n_threads=2), 8).hexdigest()
    assert one == two


def test_nonfinite_objectives_are_the_worst():
    P = 12
    ga = _ga(P)
    F = np.random.default_rng(5).random((P, 2))
    F[3, 1] = np.nan
    F[7, 0] = np.inf
    ga.ask()
    with pytest.warns(NonFiniteFitnessWarning, match="2 of 12"):
        ga.tell(F)
    kept = ga._parent_objectives
    assert not np.isfinite(kept[-2:]).all(axis=1).any()  # the last two rows
    assert np.isfinite(ga.pareto_front.objectives).all()


def test_wrong_fitness_shape_is_refused_and_the_state_kept():
    P = 10
    ga = _ga(P)
    pop = ga.ask().copy()
    with pytest.raises(ValueError, match=r"'fitness' argument of GA.tell.*\(10, n_obj"):
        ga.tell(np.zeros((P - 1, 2)))
    with pytest.raises(TypeError, match="'fitness' argument of GA.tell"):
        ga.tell(np.array([["a", "b"]] * P))
    ga.tell(np.random.default_rng(0).random((P, 2)))
    ga.ask()
    with pytest.raises(ValueError, match=r"shape \(10, 2\)"):
        ga.tell(np.zeros((P, 3)))  # the first tell fixed two objectives
    assert ga.generation == 1
    np.testing.assert_array_equal(ga.population.shape, (P, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ga.tell(np.random.default_rng(1).random((P, 2)))
    assert ga.generation == 2 and pop.shape == (P, 3)


def test_bad_configurations_are_named():
    with pytest.raises(ValueError, match="'replacement' parameter of GA"):
        _ga(replacement="generational")
    with pytest.raises(ValueError, match="'elitism' parameter of GA"):
        _ga(replacement="comma", elitism=1)
    ga = _ga(replacement="comma", mu=8)
    ga.ask()
    ga.tell(np.random.default_rng(2).random((20, 3)))
    assert ga.population.shape == (8, 3) and ga._parent_objectives.shape == (8, 3)
    # a single-objective GA has no Pareto front and keeps its defaults
    plain = pn.GA(n_params=3, pop_size=10)
    assert plain.replacement == "generational" and plain.pareto_front is None
