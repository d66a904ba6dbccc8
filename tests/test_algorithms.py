"""Algorithm-specific behaviour: contradictory settings, the parameter
declarations, the one tie rule of every ranking, the GA's replacements and
elites, and the evolution strategies' updates against NumPy references.

What every algorithm shares (ask/tell protocol, NaN policy, seeds, threads,
checkpoints, bad input) is in test_algorithm_contract.py; benchmark functions
in test_algorithms_functions.py, supervised learning on digits in
test_algorithms_digits.py.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import pyneat_lite as pn
from pyneat_lite import _ranking
from pyneat_lite.algorithms.openes import OpenESParams
from pyneat_lite.algorithms.shaping import centered_ranks, nes_utilities, ranks

N = 12


def sphere_max(pop):
    """Maximised fitness: minus the squared distance to 0.5."""
    return -np.sum((pop.astype(np.float64) - 0.5) ** 2, axis=1)


def test_seed_sequence_gives_its_entropy():
    ss = np.random.SeedSequence(123)
    assert pn.SNES(n_params=N, seed=ss).seed == 123


# --------------------------------------------------------------- bad settings
def test_contradictory_settings():
    with pytest.raises(ValueError, match="'elitism' parameter of GA"):
        pn.GA(n_params=N, pop_size=10, elitism=10)
    with pytest.raises(ValueError, match="lambda >= mu"):
        pn.GA(n_params=N, pop_size=10, replacement="comma", mu=20)
    with pytest.raises(ValueError, match="replacement='plus'"):
        pn.GA(n_params=N, pop_size=10, replacement="plus", elitism=2)
    with pytest.raises(ValueError, match="'mu' parameter of GA"):
        pn.GA(n_params=N, pop_size=10, mu=5)
    with pytest.raises(ValueError, match="'replacement' parameter"):
        pn.GA(n_params=N, replacement="steady")
    with pytest.raises(TypeError, match="'selection' parameter"):
        pn.GA(n_params=N, selection="tournament")
    with pytest.raises(TypeError, match="'mutation' parameter"):
        pn.GA(n_params=N, mutation=pn.Tournament())
    with pytest.raises(TypeError, match="'crossover' parameter"):
        pn.GA(n_params=N, crossover=pn.GaussianMutation())
    with pytest.raises(ValueError, match="'initial_population' parameter"):
        pn.GA(n_params=N, pop_size=10, initial_population=np.zeros((9, N)))
    with pytest.raises(ValueError, match="must be finite"):
        pn.GA(n_params=N, pop_size=4, initial_population=np.full((4, N), np.nan))
    with pytest.raises(ValueError, match="'pop_size' parameter of OpenES must be even"):
        pn.OpenES(n_params=N, pop_size=11)
    with pytest.raises(ValueError, match="'sigma' parameter of SNES"):
        pn.SNES(n_params=N, sigma=0.0)
    with pytest.raises(ValueError, match="'optimizer' parameter of OpenES"):
        pn.OpenES(n_params=N, optimizer="rmsprop")
    with pytest.raises(ValueError, match="'x0' argument of CEM"):
        pn.CEM(n_params=N, x0=np.zeros(N + 1))
    with pytest.raises(ValueError, match="'mu' parameter of SepCMAES"):
        pn.SepCMAES(n_params=N, pop_size=10, mu=11)
    with pytest.raises(ValueError, match="'n_params' parameter"):
        pn.PGPE(n_params=0)
    with pytest.raises(TypeError, match="'pop_size' parameter"):
        pn.PGPE(n_params=N, pop_size=10.5)
    with pytest.raises(ValueError, match="'seed' parameter"):
        pn.CEM(n_params=N, seed=-1)
    with pytest.raises(TypeError, match="'minimize' parameter"):
        pn.CEM(n_params=N, minimize="yes")


# ------------------------------------------------------------- parameters
def test_params_are_one_frozen_validated_declaration():
    es = pn.OpenES(n_params=N, pop_size=8, sigma=0.5, seed=3)
    p = es.params
    assert isinstance(p, OpenESParams) and p.sigma == 0.5 == es.sigma0
    assert es.get_params() == p.to_dict() and es.lr == p.lr == 0.03
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.sigma = 1.0
    # building or replacing a declaration validates it too
    with pytest.raises(ValueError, match="'sigma' parameter of OpenESParams"):
        dataclasses.replace(p, sigma=-1.0)
    assert dataclasses.replace(p, lr=0.1).lr == 0.1
    with pytest.raises(ValueError, match="unknown \\['typo'\\]"):
        OpenESParams.decode({**p.to_dict(), "typo": 1})
    # derived values are resolved once and reported as numbers
    snes = pn.SNES(n_params=100)
    assert snes.lr_sigma == pytest.approx((3 + math.log(100)) / (5 * 10))
    pgpe = pn.PGPE(n_params=100, sigma=0.1)
    assert pgpe.lr == pytest.approx(0.15 * 0.1 * 10) and pgpe.max_speed == 2 * pgpe.lr
    ga = pn.GA(n_params=N, pop_size=10, replacement="comma")
    assert (ga.mu, ga.elitism, ga.get_params()["mu"]) == (5, 0, 5)
    generational = pn.GA(n_params=N, pop_size=10)
    assert (generational.mu, generational.get_params()["mu"]) == (10, None)


# ------------------------------------------------------------------ ranks
def _reference_order(score):
    """Best first; of equal scores the earlier index first (Python's sort)."""
    return sorted(range(len(score)), key=lambda i: (-score[i], i))


@given(st.lists(st.sampled_from([-np.inf, -1.0, 0.0, 0.5, 2.0]), min_size=1,
                max_size=30))
def test_one_tie_rule_earlier_index_ranks_better(values):
    score = np.array(values)
    ref = _reference_order(values)
    assert _ranking.order(score).tolist() == ref
    n = len(values)
    r = ranks(score)
    assert [r[i] for i in ref] == list(range(n - 1, -1, -1))
    c = centered_ranks(score)
    u = nes_utilities(score)
    if n > 1:
        # strictly decreasing along the order, ties included
        assert all(c[a] > c[b] for a, b in zip(ref[:-1], ref[1:], strict=True))
        np.testing.assert_allclose(c[ref], np.linspace(0.5, -0.5, n), atol=1e-15)
    assert all(u[a] >= u[b] for a, b in zip(ref[:-1], ref[1:], strict=True))
    assert u[ref[0]] == u.max() and abs(u.sum()) < 1e-12


def test_centered_ranks_ties_go_to_the_earlier_index():
    """The bug fix: 0.1.0 gave a tie to the later index here."""
    np.testing.assert_array_equal(centered_ranks(np.array([1.0, 1.0, 0.0])),
                                  [0.5, 0.0, -0.5])
    np.testing.assert_array_equal(centered_ranks(np.array([0.0, 0.0, 0.0])),
                                  [0.5, 0.0, -0.5])


def _tied(pop):
    """Every genome equally fit: the tie rule decides everything."""
    return np.zeros(pop.shape[0])


def test_hall_of_fame_ties_keep_the_earlier_row_and_the_older_entry():
    ga = pn.GA(n_params=N, pop_size=16, seed=0, hall_of_fame_size=5)
    first = ga.ask().copy()
    ga.tell(_tied(first))
    np.testing.assert_array_equal(ga.hall_of_fame.genomes, first[:5])
    np.testing.assert_array_equal(ga.best, first[0])
    ga.tell(_tied(ga.ask()))  # equal newcomers never displace older entries
    np.testing.assert_array_equal(ga.hall_of_fame.genomes, first[:5])


def _reference_hall_of_fame(batches, k):
    """The hall of fame by its definition, one candidate at a time: best
    first (ties: earlier row), a genome already there is skipped, a newcomer
    goes after the entries with an equal score, the last one falls off."""
    entries = []  # (score, genome bytes)
    for pop, score in batches:
        for i in _reference_order(score.tolist()):
            s = float(score[i])
            if s == -np.inf or (len(entries) == k and s <= entries[-1][0]):
                break
            g = pop[i].tobytes()
            if any(g == e[1] for e in entries):
                continue
            pos = sum(1 for e in entries if e[0] >= s)
            entries.insert(pos, (s, g))
            del entries[k:]
    return entries


@given(st.data())
def test_hall_of_fame_matches_its_definition(data):
    """Random scores with ties and -inf, populations repeating genomes (as
    elites and duplicate children do), against the one-by-one reference."""
    from pyneat_lite.algorithms.halloffame import Archive

    k = data.draw(st.integers(1, 6))
    archive = Archive(k, 3)
    pool = np.arange(24, dtype=np.float32).reshape(8, 3)  # 8 distinct genomes
    batches = []
    for _ in range(data.draw(st.integers(1, 5))):
        n = data.draw(st.integers(1, 10))
        pick = data.draw(st.lists(st.integers(0, 7), min_size=n, max_size=n))
        values = st.sampled_from([-np.inf, 0.0, 1.0, 2.0, 3.0])
        score = np.array(data.draw(st.lists(values, min_size=n, max_size=n)))
        pop = np.ascontiguousarray(pool[pick])
        archive.update(pop, score)
        batches.append((pop, score))
        ref = _reference_hall_of_fame(batches, k)
        hof = archive.snapshot(lambda s: s)
        assert hof.fitness.tolist() == [e[0] for e in ref]
        assert [g.tobytes() for g in hof.genomes] == [e[1] for e in ref]
    n, arrays = archive.state()
    again = Archive(k, 3)
    again.set_state(n, arrays)
    assert again.snapshot(lambda s: s).fitness.tolist() == hof.fitness.tolist()


def test_hall_of_fame_of_a_ga_with_elites_matches_its_definition():
    """Elites repeat genomes the hall of fame already holds; the rows after
    them must still get their turn (0.1.0 looked at the best
    hall_of_fame_size rows only).  Tied fitness values exercise the order."""
    ga = pn.GA(n_params=4, pop_size=12, elitism=3, hall_of_fame_size=6, seed=0,
               mutation=pn.GaussianMutation(rate=0.5, sigma=0.3))
    batches = []
    for _ in range(12):
        pop = ga.ask().copy()
        f = np.round(-np.sum((pop.astype(np.float64) - 0.5) ** 2, axis=1), 1)
        ga.tell(f)
        batches.append((pop, f))
        ref = _reference_hall_of_fame(batches, 6)
        hof = ga.hall_of_fame
        assert hof.fitness.tolist() == [e[0] for e in ref]
        assert [g.tobytes() for g in hof.genomes] == [e[1] for e in ref]


@pytest.mark.parametrize("replacement", ["plus", "comma"])
def test_ga_survivor_ties_keep_the_earlier_row(replacement):
    ga = pn.GA(n_params=N, pop_size=12, replacement=replacement, mu=4, seed=0)
    first = ga.ask().copy()
    ga.tell(_tied(first))
    np.testing.assert_array_equal(ga.population, first[:4])
    children = ga.ask().copy()
    ga.tell(_tied(children))
    # plus: parents come before children, so a tie keeps the parents
    expect = first[:4] if replacement == "plus" else children[:4]
    np.testing.assert_array_equal(ga.population, expect)


@pytest.mark.parametrize("cls", [pn.CEM, pn.SepCMAES])
def test_es_selection_ties_take_the_earlier_rows(cls):
    """With every fitness equal, CEM's elites and SepCMAES's parents are the
    first rows: the update equals the NumPy formula on those rows."""
    es = cls(n_params=N, pop_size=10, sigma=0.3, seed=2)
    pop = es.ask().astype(np.float64)
    z = pop / 0.3  # the centre starts at zero
    es.tell(_tied(pop))
    if cls is pn.CEM:
        k = es.n_elite
        expect = 0.7 * 0.3 * z[:k].mean(axis=0)
    else:
        mu = es.mu
        w = math.log(mu + 0.5) - np.log(np.arange(1, mu + 1))
        expect = 0.3 * (w / w.sum()) @ z[:mu]
    np.testing.assert_allclose(es.mean, expect, rtol=1e-4, atol=1e-6)


def test_openes_ties_rank_the_earlier_row_better():
    es = pn.OpenES(n_params=N, pop_size=8, sigma=0.1, lr=0.5, optimizer="sgd",
                   momentum=0.0, seed=4)
    pop = es.ask().astype(np.float64)
    f = np.array([1.0, 1.0, 0.0, 0.0, 2.0, 2.0, 0.0, 1.0])
    u = np.empty(8)
    u[_reference_order(f.tolist())] = np.linspace(0.5, -0.5, 8)
    expect = 0.5 / (8 * 0.1) * (u @ (pop / 0.1))
    es.tell(f)
    np.testing.assert_allclose(es.mean, expect, rtol=1e-4, atol=1e-6)


# ------------------------------------------------------------------------- GA
def _onemax_like(pop):
    return -np.abs(pop.astype(np.float64) - 1.0).sum(axis=1)


@pytest.mark.parametrize("replacement", ["generational", "plus", "comma"])
def test_ga_replacements_keep_population_size_and_improve(replacement):
    ga = pn.GA(n_params=N, pop_size=20, replacement=replacement, seed=0)
    first = None
    for _ in range(30):
        pop = ga.ask()
        assert pop.shape == (20, N)
        f = _onemax_like(pop)
        first = f.max() if first is None else first
        ga.tell(f)
    assert ga.best_fitness > first
    assert ga.population.shape == (ga.mu, N)
    if replacement == "plus":
        # (mu + lambda): the parents' best never gets worse
        assert ga.parent_fitness.max() == ga.best_fitness


def test_ga_elitism_keeps_best_and_reevaluation():
    """Elites are rows 0..e-1, copied bit for bit; without re-evaluation
    they keep their recorded fitness, with it their new measurement."""
    rng = np.random.default_rng(0)

    def noisy(pop):
        return _onemax_like(pop) + rng.normal(0.0, 5.0, pop.shape[0])

    for reeval in (False, True):
        ga = pn.GA(n_params=N, pop_size=16, elitism=3, reevaluate_elites=reeval, seed=0)
        ga.tell(noisy(ga.ask()))
        parents = ga.population
        pf = ga.parent_fitness
        pop = ga.ask()
        top = np.argsort(-pf, kind="stable")[:3]
        np.testing.assert_array_equal(pop[:3], parents[top])
        f = noisy(pop)
        ga.tell(f)
        if reeval:
            np.testing.assert_array_equal(ga.parent_fitness[:3], f[:3])
        else:
            np.testing.assert_array_equal(ga.parent_fitness[:3], pf[top])


def test_ga_initial_population_from_weights_plus_noise():
    w = np.linspace(-1, 1, N).astype(np.float32)
    ga = pn.GA(n_params=N, pop_size=16, initial_population=w, init_sigma=0.3, seed=0)
    pop = ga.ask()
    np.testing.assert_array_equal(pop[0], w)
    noise = (pop[1:] - w).ravel()
    assert abs(noise.std() - 0.3) < 0.05 and abs(noise.mean()) < 0.05
    full = np.arange(16 * N, dtype=np.float32).reshape(16, N)
    ga = pn.GA(n_params=N, pop_size=16, initial_population=full, seed=0)
    np.testing.assert_array_equal(ga.ask(), full)


def test_ga_operator_lists_and_none():
    ga = pn.GA(
        n_params=N,
        pop_size=12,
        crossover=None,
        seed=0,
        mutation=[pn.GaussianMutation(rate=0.5, sigma=0.2), pn.Clip(-0.4, 0.4)],
    )
    res = ga.run(_onemax_like, generations=10)
    assert np.abs(ga.ask()[ga.elitism :]).max() <= 0.4
    assert np.isfinite(res.best_fitness)


# ------------------------------------------------------------------------ ES
def test_es_mean_and_sigma_attributes():
    es = pn.OpenES(n_params=N, x0=np.full(N, 2.0), sigma=0.1, seed=0)
    np.testing.assert_array_equal(es.mean, np.full(N, 2.0, np.float32))
    pop = es.ask()
    h = es.pop_size // 2
    # antithetic pairs around the centre
    np.testing.assert_allclose(pop[:h] + pop[h:], 4.0, atol=1e-5)
    np.testing.assert_allclose(es.sigma, 0.1)


def test_es_sampling_statistics():
    """Population = mean + sigma * N(0, 1): check the moments of a large
    sample (fixed seed, wide tolerances)."""
    es = pn.SNES(n_params=2000, pop_size=200, sigma=0.3, x0=np.full(2000, -1.0), seed=0)
    z = (es.ask().astype(np.float64) + 1.0) / 0.3
    assert abs(z.mean()) < 0.01 and abs(z.std() - 1.0) < 0.01
    from scipy import stats

    assert stats.kstest(z.ravel(), "norm").pvalue > 1e-3


def test_openes_gradient_matches_numpy_reference():
    """One OpenES step with plain SGD equals the NumPy formula
    mean += lr / (P sigma) * sum_k u_k eps_k, u the centered ranks."""
    es = pn.OpenES(
        n_params=N, pop_size=8, sigma=0.1, lr=0.5, optimizer="sgd", momentum=0.0, seed=4
    )
    pop = es.ask().astype(np.float64)
    f = sphere_max(pop)
    eps = (pop - 0.0) / 0.1
    r = np.empty(8)
    r[np.argsort(f)] = np.arange(8)
    u = r / 7 - 0.5
    expect = 0.5 / (8 * 0.1) * (u @ eps)
    es.tell(f)
    np.testing.assert_allclose(es.mean, expect, rtol=1e-4, atol=1e-6)


def test_snes_update_matches_numpy_reference():
    es = pn.SNES(n_params=N, pop_size=10, sigma=0.2, seed=5)
    pop = es.ask().astype(np.float64)
    f = sphere_max(pop)
    z = pop / 0.2
    k = np.arange(1, 11)
    util = np.maximum(0, np.log(6) - np.log(k))
    util = util / util.sum() - 0.1
    u = np.empty(10)
    u[np.argsort(-f)] = util
    eta_s = (3 + np.log(N)) / (5 * np.sqrt(N))
    mean = 0.2 * (u @ z)
    sigma = 0.2 * np.exp(eta_s / 2 * (u @ (z**2 - 1)))
    es.tell(f)
    np.testing.assert_allclose(es.mean, mean, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(es.sigma, sigma, rtol=1e-6)
