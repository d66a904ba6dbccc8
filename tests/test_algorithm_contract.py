"""The contract every registered algorithm keeps (``pn.ALGORITHMS``).

Each test is parametrized over the registry, so an algorithm added to it gets
every check for free: the shape of ``ask``, the ask/tell protocol and its
errors, seeds, threads, checkpoints, the NaN policy and the validation of the
constructor, which is generated from the algorithm's parameter declaration
(``cls.Params``).
"""

from __future__ import annotations

import hashlib
import inspect
import json
import math
import os
import subprocess
import sys
import textwrap
import time
import warnings
from dataclasses import fields

import numpy as np
import pytest

import pyneat_lite as pn
from pyneat_lite._threads import PARALLEL_MIN_WORK
from pyneat_lite.algorithms import NonFiniteFitnessWarning
from pyneat_lite.algorithms.params import Bool, Int, OneOf, Real

NAMES = sorted(pn.ALGORITHMS)
N, P = 12, 16  # P even: some strategies sample antithetic pairs


def make(name, **kw):
    kw.setdefault("seed", 1)
    return pn.ALGORITHMS[name](n_params=N, pop_size=P, **kw)


def sphere(pop):
    """Maximised: minus the squared distance to 0.3 (no ties)."""
    return -np.sum((pop.astype(np.float64) - 0.3) ** 2, axis=1)


def feed(algo, generations, h):
    """Run ``generations`` generations, hashing every population asked."""
    for _ in range(generations):
        pop = algo.ask()
        h.update(pop.tobytes())
        algo.tell(sphere(pop))


def final_digest(algo, h):
    """Add the final state (next population, best, hall of fame)."""
    h.update(algo.ask().tobytes())
    h.update(algo.best.tobytes())
    h.update(algo.hall_of_fame.genomes.tobytes())
    return h.hexdigest()


def run_digest(algo, generations):
    """SHA-256 of every population asked and of the final state."""
    h = hashlib.sha256()
    feed(algo, generations, h)
    return final_digest(algo, h)


# ------------------------------------------------------------------- ask
@pytest.mark.parametrize("name", NAMES)
def test_ask_shape_dtype_and_layout(name):
    algo = make(name)
    for _ in range(3):
        pop = algo.ask()
        assert isinstance(pop, np.ndarray)
        assert pop.shape == (P, N) and pop.dtype == np.float32
        assert pop.flags.c_contiguous and pop.flags.writeable
        assert np.isfinite(pop).all()
        algo.tell(sphere(pop))


@pytest.mark.parametrize("name", NAMES)
def test_ask_twice_returns_the_same_population(name):
    algo = make(name)
    algo.tell(sphere(algo.ask()))
    pop = algo.ask()
    snapshot = pop.copy()
    again = algo.ask()
    assert again is pop and np.array_equal(again, snapshot)
    assert algo.generation == 1


# ------------------------------------------------------------------ tell
@pytest.mark.parametrize("name", NAMES)
def test_tell_validates_the_fitness_and_names_it(name):
    algo = make(name)
    cls = type(algo).__name__
    with pytest.raises(RuntimeError, match=rf"{cls}\.tell .*without a pending ask"):
        algo.tell(np.zeros(P))
    pop = algo.ask().copy()
    where = rf"'fitness' argument of {cls}\.tell"
    with pytest.raises(ValueError, match=rf"{where} must have shape \({P},\)"):
        algo.tell(np.zeros(P + 1))
    with pytest.raises(ValueError, match=rf"{where} must have shape"):
        algo.tell(np.zeros((P, 2)))
    with pytest.raises(TypeError, match=rf"{where} must hold real numbers"):
        algo.tell(np.array(["a"] * P))
    with pytest.raises(TypeError, match=rf"{where} must be a numeric array"):
        algo.tell("fitness")
    # nothing was recorded; the pending population is still the same
    assert algo.generation == 0 and algo.evaluations == 0
    assert len(algo.history["generation"]) == 0
    assert np.array_equal(algo.ask(), pop)
    algo.tell(sphere(pop))
    assert algo.generation == 1
    with pytest.raises(RuntimeError, match="without a pending ask"):
        algo.tell(sphere(pop))


@pytest.mark.parametrize("name", NAMES)
def test_nan_fitness_counts_as_worst_and_is_never_best(name):
    """One NaN or +inf per generation acts exactly like a value below all
    others (same populations), is counted and warned about, and never becomes
    the best or enters the hall of fame."""
    a, b = make(name), make(name)
    best = -np.inf
    for g in range(6):
        pop = a.ask()
        assert np.array_equal(pop, b.ask())
        f = sphere(pop)
        i = int(np.argmax(f))  # spoil the best row
        bad = f.copy()
        bad[i] = np.nan if g % 2 else np.inf
        low = f.copy()
        low[i] = f.min() - 1.0
        best = max(best, float(np.delete(f, i).max()))
        with pytest.warns(NonFiniteFitnessWarning, match=f"1 of {P} fitness values"):
            a.tell(bad)
        b.tell(low)
        assert a.best_fitness == best
        assert np.isfinite(a.hall_of_fame.fitness).all()
    assert np.array_equal(a.ask(), b.ask())
    assert a.history["n_nonfinite"].tolist() == [1] * 6
    assert np.isfinite(a.history["min"]).all()
    # all non-finite: no best yet, NaN statistics, one warning, still usable
    c = make(name)
    c.ask()
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        c.tell(np.full(P, np.nan))
    assert [w.category for w in rec] == [NonFiniteFitnessWarning]
    assert c.best is None and math.isnan(c.best_fitness)
    assert np.isnan(c.history["mean"][0]) and len(c.hall_of_fame) == 0
    c.run(sphere, generations=2)
    assert np.isfinite(c.best_fitness)


@pytest.mark.parametrize("name", NAMES)
def test_buffers_are_reused(name):
    """No population-sized allocation per generation: ask returns one of the
    algorithm's own buffers, which alternate (GA) or stay (ES)."""
    algo = make(name)
    seen = set()
    for _ in range(6):
        pop = algo.ask()
        seen.add(pop.__array_interface__["data"][0])
        algo.tell(sphere(pop))
    assert len(seen) <= 2


@pytest.mark.parametrize("name", NAMES)
def test_best_is_the_exact_best_ever(name):
    """best/best_fitness are the best genome evaluated so far, bit for bit;
    the hall of fame is sorted, distinct and starts with it."""
    algo = make(name)
    best_f, best_g = -np.inf, None
    for _ in range(15):
        pop = algo.ask()
        f = sphere(pop)
        i = int(np.argmax(f))
        if f[i] > best_f:
            best_f, best_g = f[i], pop[i].copy()
        algo.tell(f)
        assert algo.best_fitness == best_f
        assert np.array_equal(algo.best, best_g)
    hof = algo.hall_of_fame
    assert len(hof) == algo.hall_of_fame_size
    assert np.all(np.diff(hof.fitness) <= 0) and hof.fitness[0] == best_f
    assert len({g.tobytes() for g in hof.genomes}) == len(hof)
    np.testing.assert_array_equal(sphere(hof.genomes), hof.fitness)


@pytest.mark.parametrize("name", NAMES)
def test_minimize_is_the_mirror_of_maximize(name):
    """minimize=True on -f runs exactly like maximising f (same populations),
    with the fitness reported in the user's sign."""
    up, down = make(name), make(name, minimize=True)
    for _ in range(8):
        pop = up.ask()
        assert np.array_equal(pop, down.ask())
        up.tell(sphere(pop))
        down.tell(-sphere(pop))
    assert down.best_fitness == -up.best_fitness
    np.testing.assert_array_equal(down.history["min"], -up.history["max"])
    np.testing.assert_array_equal(down.hall_of_fame.fitness, -up.hall_of_fame.fitness)


@pytest.mark.parametrize("name", NAMES)
def test_fitness_exception_propagates_and_state_is_consistent(name):
    algo, ref = make(name), make(name)
    calls = {"n": 0}

    def flaky(pop):
        calls["n"] += 1
        if calls["n"] == 3:
            raise ZeroDivisionError("user bug")
        return sphere(pop)

    with pytest.raises(ZeroDivisionError, match="user bug"):
        algo.run(flaky, generations=5)
    assert algo.generation == 2
    algo.run(flaky, generations=3)  # ask() again gives the pending population
    ref.run(sphere, generations=5)
    assert np.array_equal(algo.ask(), ref.ask())
    np.testing.assert_array_equal(algo.history["max"], ref.history["max"])


# ----------------------------------------------------------------- seeds
@pytest.mark.parametrize("name", NAMES)
def test_same_seed_same_run_different_seed_different_run(name):
    first = run_digest(make(name, seed=7), 8)
    assert run_digest(make(name, seed=7), 8) == first
    assert run_digest(make(name, seed=8), 8) != first
    # seed=None is resolved once to an int, which reproduces the run
    free = make(name, seed=None)
    assert isinstance(free.seed, int) and free.seed >= 0
    assert run_digest(make(name, seed=free.seed), 3) == run_digest(free, 3)


# --------------------------------------------------------------- threads
# Large enough for every parallel kernel: the shared threshold of
# pyneat_lite._threads, with margin, on the noise rows of an antithetic ES.
BIG_P = 32
BIG_N = 8 * PARALLEL_MIN_WORK // BIG_P
BIG_GENERATIONS = 6
#: Full-covariance strategies keep n_params**2 values: their size here, still
#: above the threshold (pop_size * n_params**2 multiply-adds per generation).
BIG_N_FULL = {"cmaes": 512, "xnes": 512, "restarts": 512}

_CHILD = textwrap.dedent(
    """
    import json, sys, time
    sys.path.insert(0, sys.argv[1])
    from test_algorithm_contract import thread_run
    print(json.dumps(thread_run(int(sys.argv[2]))))
    """
)


def thread_run(n_threads):
    """Every registered algorithm on a problem above the parallel threshold:
    digest of the run, and the CPU seconds of the main thread and of all the
    other threads of the process while it ran."""
    out = {}
    for name in sorted(pn.ALGORITHMS):
        algo = pn.ALGORITHMS[name](
            n_params=BIG_N_FULL.get(name, BIG_N), pop_size=BIG_P, seed=3,
            n_threads=n_threads,
        )
        algo.tell(sphere(algo.ask()))  # JIT and thread pools warm
        t_main, t_all = time.thread_time(), time.process_time()
        digest = run_digest(algo, BIG_GENERATIONS)
        main = time.thread_time() - t_main
        others = time.process_time() - t_all - main
        out[name] = {"digest": digest, "main": main, "others": others}
    return out


@pytest.fixture(scope="module")
def thread_runs():
    """One fresh interpreter per thread count (the thread pools are sized
    when they start)."""
    runs = {}
    for nt in (1, 2):
        env = dict(os.environ, NUMBA_NUM_THREADS=str(nt), OMP_NUM_THREADS=str(nt))
        proc = subprocess.run(
            [sys.executable, "-c", _CHILD, os.path.dirname(__file__), str(nt)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        runs[nt] = json.loads(proc.stdout.strip().splitlines()[-1])
    return runs


@pytest.mark.parametrize("name", NAMES)
def test_results_do_not_depend_on_the_thread_count(name, thread_runs):
    """1 and 2 threads give bit-identical runs, and with 2 threads other
    threads than the main one did a real share of the work (the problem is
    above the parallel threshold, so this comparison can fail)."""
    one, two = thread_runs[1][name], thread_runs[2][name]
    assert one["digest"] == two["digest"]
    assert two["others"] > 0.05 * two["main"], two
    assert one["others"] < 0.05 * one["main"] + 0.01, one


# ----------------------------------------------------------- checkpoints
@pytest.mark.parametrize("name", NAMES)
def test_checkpoint_round_trip_is_bit_identical(name, tmp_path):
    """10 generations + save + load + 10 == 20 generations, bit for bit."""
    ref = make(name)
    ref_digest = run_digest(ref, 20)
    algo = make(name)
    h = hashlib.sha256()
    feed(algo, 10, h)
    algo.save(tmp_path / "a.ckpt")
    back = pn.load(tmp_path / "a.ckpt")
    assert type(back) is type(algo) and back.params == algo.params
    feed(back, 10, h)
    assert final_digest(back, h) == ref_digest
    hr, hb = ref.history, back.history
    for key in hr:
        if key != "time":
            np.testing.assert_array_equal(hr[key], hb[key])
    assert back.best_fitness == ref.best_fitness
    np.testing.assert_array_equal(back.hall_of_fame.fitness, ref.hall_of_fame.fitness)


# ----------------------------------------------------------- constructor
@pytest.mark.parametrize("name", NAMES)
def test_constructor_matches_its_parameter_declaration(name):
    """The keyword constructor and ``Params`` name the same parameters;
    ``get_params`` is JSON and rebuilds an equal algorithm; every parameter is
    a read-only attribute."""
    cls = pn.ALGORITHMS[name]
    sig = inspect.signature(cls.__init__)
    declared = [f.name for f in fields(cls.Params)]
    arrays = {"x0", "initial_population"}  # state, not parameters
    keywords = [k for k in sig.parameters if k != "self" and k not in arrays]
    assert sorted(keywords) == sorted(declared)
    assert list(sig.parameters)[1:3] == ["n_params", "pop_size"]
    algo = make(name)
    params = algo.get_params()
    assert json.loads(json.dumps(params)) == params
    clone = type(algo)._from_params(params)
    assert clone.params == algo.params and clone.get_params() == params
    assert run_digest(clone, 3) == run_digest(make(name), 3)
    for f in fields(cls.Params):
        attr = f.metadata["attr"] or f.name
        with pytest.raises(AttributeError):
            setattr(algo, attr, getattr(algo, attr))
    assert repr(algo).startswith(f"{cls.__name__}(n_params={N}, pop_size={P}")


def _bad_values(check):
    """(value, error type) pairs a constraint must reject."""
    bad = [(object(), (TypeError, ValueError))]
    if isinstance(check, Int):
        bad.append((2.5, TypeError))
        bad.append((True, TypeError))
        if check.min_val is not None:
            bad.append((check.min_val - 1, ValueError))
        if check.max_val is not None:
            bad.append((check.max_val + 1, ValueError))
    elif isinstance(check, Real):
        bad += [("0.1", TypeError), (float("nan"), ValueError), (math.inf, ValueError)]
        if check.min_val is not None:
            edge = check.min_val if not check.include_min else check.min_val - 1.0
            bad.append((edge, ValueError))
        if check.max_val is not None:
            edge = check.max_val if not check.include_max else check.max_val + 1.0
            bad.append((edge, ValueError))
    elif isinstance(check, Bool):
        bad.append(("yes", TypeError))
    elif isinstance(check, OneOf):
        bad.append(("no such choice", ValueError))
    return bad


@pytest.mark.parametrize("name", NAMES)
def test_bad_constructor_input_names_the_parameter(name):
    """Every declared parameter rejects values outside its constraint with an
    error naming the parameter, the algorithm and the expectation."""
    cls = pn.ALGORITHMS[name]
    checked = 0
    for f in fields(cls.Params):
        for value, error in _bad_values(f.metadata["check"]):
            kw = {"n_params": N, "pop_size": P, "seed": 0, f.name: value}
            with pytest.raises(error) as info:
                cls(**kw)
            msg = str(info.value)
            assert f"'{f.name}' parameter" in msg and "must" in msg, msg
            if f.name != "n_threads":  # resolved by _threads, shared wording
                assert f"of {cls.__name__}" in msg, msg
            checked += 1
    assert checked >= 3 * len(fields(cls.Params))
    with pytest.raises(TypeError, match="unexpected keyword argument 'sigmaa'"):
        cls(n_params=N, sigmaa=0.1)
    with pytest.raises(TypeError):
        cls()  # n_params has no default


@pytest.mark.parametrize("name", NAMES)
def test_defaults_work_as_they_are(name):
    """Every constructor argument but n_params has a working default."""
    algo = pn.ALGORITHMS[name](n_params=N)
    start = sphere(algo.ask()).max()
    res = algo.run(sphere, generations=30)
    assert res.stop_reason == "generations" and algo.generation == 30
    assert res.best_fitness > start


def test_registry_names_its_classes():
    for key, cls in pn.ALGORITHMS.items():
        assert cls.name == key
        assert issubclass(cls, pn.algorithms.Algorithm)
