"""Ask/tell protocol, NaN policy, bad input and determinism of every algorithm.

Benchmark functions (sphere, Rastrigin, Rosenbrock) are in
test_algorithms_functions.py, supervised learning on digits in
test_algorithms_digits.py.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import pyneat_lite as pn
from pyneat_lite import _ranking
from pyneat_lite.algorithms import NonFiniteFitnessWarning
from pyneat_lite.algorithms.shaping import centered_ranks, nes_utilities, ranks

ALGOS = sorted(pn.ALGORITHMS)
N = 12


def sphere_max(pop):
    """Maximised fitness: minus the squared distance to 0.5."""
    return -np.sum((pop.astype(np.float64) - 0.5) ** 2, axis=1)


def make(name, **kw):
    return pn.ALGORITHMS[name](n_params=N, seed=kw.pop("seed", 1), **kw)


@pytest.mark.parametrize("name", ALGOS)
def test_defaults_run_as_they_are(name):
    """Every constructor argument but n_params has a working default."""
    algo = pn.ALGORITHMS[name](n_params=N)
    assert isinstance(algo.seed, int) and algo.seed >= 0
    assert algo.minimize is False
    pop = algo.ask()
    assert pop.dtype == np.float32 and pop.flags.c_contiguous
    assert pop.shape == (algo.pop_size, N)
    start = sphere_max(pop).max()
    res = algo.run(sphere_max, generations=40)
    assert res.stop_reason == "generations"
    assert res.best_fitness > start
    assert algo.generation == 40


@pytest.mark.parametrize("name", ALGOS)
def test_ask_tell_protocol(name):
    algo = make(name)
    with pytest.raises(RuntimeError, match="without a pending ask"):
        algo.tell(np.zeros(algo.pop_size))
    pop = algo.ask()
    snapshot = pop.copy()
    again = algo.ask()  # ask twice: same population, same buffer
    assert again is pop and np.array_equal(again, snapshot)
    algo.tell(sphere_max(pop))
    with pytest.raises(RuntimeError, match="without a pending ask"):
        algo.tell(np.zeros(algo.pop_size))
    assert algo.generation == 1
    assert algo.evaluations == algo.pop_size


@pytest.mark.parametrize("name", ALGOS)
def test_buffers_are_reused(name):
    """No population-sized allocation per generation: ask returns one of the
    algorithm's own buffers, which alternate (GA) or stay (ES)."""
    algo = make(name)
    seen = set()
    for _ in range(6):
        pop = algo.ask()
        seen.add(pop.__array_interface__["data"][0])
        algo.tell(sphere_max(pop))
    assert len(seen) <= 2


@pytest.mark.parametrize("name", ALGOS)
def test_best_is_exact_best_ever(name):
    """best/best_fitness are the best genome evaluated so far, bit for bit."""
    algo = make(name)
    best_f, best_g = -np.inf, None
    for _ in range(15):
        pop = algo.ask()
        f = sphere_max(pop)
        i = int(np.argmax(f))
        if f[i] > best_f:
            best_f, best_g = f[i], pop[i].copy()
        algo.tell(f)
        assert algo.best_fitness == best_f
        assert np.array_equal(algo.best, best_g)
    hof = algo.hall_of_fame
    assert len(hof) == algo.hall_of_fame_size
    assert np.all(np.diff(hof.fitness) <= 0)
    assert hof.fitness[0] == best_f
    assert len({g.tobytes() for g in hof.genomes}) == len(hof)  # distinct


@pytest.mark.parametrize("name", ALGOS)
def test_minimize(name):
    algo = make(name, minimize=True)
    res = algo.run(lambda p: -sphere_max(p), generations=30)
    h = res.history
    assert res.best_fitness == pytest.approx(h["min"].min())
    assert res.best_fitness < h["min"][0]


@pytest.mark.parametrize("name", ALGOS)
def test_nan_and_inf_are_worst_counted_and_warned(name):
    algo = make(name)
    pop = algo.ask()
    f = sphere_max(pop)
    # the best genome gets NaN, the second +inf: neither may become the best
    order = np.argsort(-f)
    f[order[0]] = np.nan
    f[order[1]] = np.inf
    with pytest.warns(NonFiniteFitnessWarning, match="2 of"):
        algo.tell(f)
    assert algo.best_fitness == f[order[2]]
    assert algo.history["n_nonfinite"].tolist() == [2]
    # all non-finite: no best yet, statistics are NaN, no RuntimeWarning
    algo2 = make(name)
    algo2.ask()
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        algo2.tell(np.full(algo2.pop_size, np.nan))
    assert [w.category for w in rec] == [NonFiniteFitnessWarning]
    assert algo2.best is None and np.isnan(algo2.best_fitness)
    assert np.isnan(algo2.history["mean"][0])
    algo2.run(sphere_max, generations=2)  # continues
    assert np.isfinite(algo2.best_fitness)


@pytest.mark.parametrize("name", ALGOS)
def test_bad_fitness_leaves_state_unchanged(name):
    algo = make(name)
    pop = algo.ask().copy()
    with pytest.raises(ValueError, match="must have shape"):
        algo.tell(np.zeros(algo.pop_size + 1))
    with pytest.raises(ValueError, match="must have shape"):
        algo.tell(np.zeros((algo.pop_size, 2)))
    with pytest.raises(TypeError, match="real numbers"):
        algo.tell(np.array(["a"] * algo.pop_size))
    with pytest.raises(TypeError):
        algo.tell("fitness")
    assert algo.generation == 0
    assert np.array_equal(algo.ask(), pop)
    algo.tell(sphere_max(pop))  # still usable
    assert algo.generation == 1


@pytest.mark.parametrize("name", ALGOS)
def test_fitness_exception_propagates_and_state_is_consistent(name):
    algo = make(name)
    ref = make(name)
    calls = {"n": 0}

    def flaky(pop):
        calls["n"] += 1
        if calls["n"] == 3:
            raise ZeroDivisionError("user bug")
        return sphere_max(pop)

    with pytest.raises(ZeroDivisionError, match="user bug"):
        algo.run(flaky, generations=5)
    assert algo.generation == 2
    algo.run(flaky, generations=3)  # ask() again gives the pending population
    ref.run(sphere_max, generations=5)
    assert np.array_equal(algo.ask(), ref.ask())
    np.testing.assert_array_equal(algo.history["max"], ref.history["max"])


@pytest.mark.parametrize("name", ALGOS)
def test_same_seed_same_run_different_seed_different_run(name):
    a, b, c = make(name, seed=7), make(name, seed=7), make(name, seed=8)
    for algo in (a, b, c):
        algo.run(sphere_max, generations=8)
    assert np.array_equal(a.ask(), b.ask())
    assert a.best_fitness == b.best_fitness
    assert not np.array_equal(a.ask(), c.ask())


def test_seed_none_is_resolved_and_reproducible():
    a = pn.OpenES(n_params=N)
    b = pn.OpenES(n_params=N, seed=a.seed)
    assert np.array_equal(a.ask(), b.ask())
    ss = np.random.SeedSequence(123)
    assert pn.SNES(n_params=N, seed=ss).seed == 123


def _digest_of_runs():
    import hashlib

    h = hashlib.sha256()
    # 32 x 5000 genes: large enough for the parallel kernels
    for algo in (
        pn.GA(n_params=5000, pop_size=32, seed=3),
        pn.SepCMAES(n_params=5000, pop_size=32, seed=3),
        pn.OpenES(n_params=5000, pop_size=32, seed=3),
    ):
        for _ in range(5):
            pop = algo.ask()
            algo.tell(-np.sum((pop.astype(np.float64) - 0.3) ** 2, axis=1))
        h.update(algo.ask().tobytes())
        h.update(algo.best.tobytes())
    return h.hexdigest()


def test_thread_count_does_not_change_results():
    """Numba/OpenMP with one thread (fresh interpreter) and with all cores
    (this process) give bit-identical runs of the GA and two ES."""
    code = textwrap.dedent(
        """
        import sys
        sys.path.insert(0, sys.argv[1])
        from test_algorithms import _digest_of_runs
        print(_digest_of_runs())
        """
    )
    env = dict(os.environ, NUMBA_NUM_THREADS="1", OMP_NUM_THREADS="1")
    out = subprocess.run(
        [sys.executable, "-c", code, os.path.dirname(__file__)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert os.cpu_count() >= 2
    assert out.stdout.strip() == _digest_of_runs()
    algos = {}
    for nt in (1, 2):
        algo = pn.PGPE(n_params=300, pop_size=32, seed=3, n_threads=nt)
        algo.run(sphere_max, generations=4)
        algos[nt] = algo.ask().copy()
    assert np.array_equal(algos[1], algos[2])


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
