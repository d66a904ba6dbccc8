"""Evaluators give the in-process fitness; the process pool and Ray survive a
raising or crashing fitness and leak no shared memory."""

from __future__ import annotations

import inspect
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import fitness_helpers as fh
import numpy as np
import pytest

import pyneat_lite as pn
from pyneat_lite.evaluation import ESSpec

DATA = Path(__file__).parent / "data" / "mnist-1000"


def _track(pool) -> set[str]:
    """Names of every shared-memory segment ``pool`` creates from now on
    (/dev/shm is shared with every other process of the machine: compare
    names, not listings)."""
    names: set[str] = set()
    create = pool._segment

    def segment(attr, nbytes):
        seg = create(attr, nbytes)
        names.add(seg.name)
        return seg

    segment.names = names
    pool._segment = segment
    return names


def _existing(names: set[str]) -> set[str]:
    return {n for n in names if os.path.exists(f"/dev/shm/{n}")}


@pytest.fixture(scope="module")
def population():
    return np.random.default_rng(0).standard_normal((103, 9)).astype(np.float32)


@pytest.fixture(scope="module")
def pool():
    with pn.ProcessPool(2) as p:
        created = _track(p)
        yield p
    assert created and not _existing(created)  # every segment unlinked on close


@pytest.fixture(scope="module")
def ray_session():
    import ray

    # Ray workers import fitness_helpers by name, as the pool's workers do
    here = str(Path(__file__).parent)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             configure_logging=False,
             runtime_env={"env_vars": {"PYTHONPATH": here}})
    yield ray
    ray.shutdown()


def test_vectorized_and_serial(population):
    ref = fh.sphere_batch(population)
    np.testing.assert_array_equal(pn.Vectorized().evaluate(fh.sphere_batch,
                                                           population), ref)
    with pn.Serial() as serial:
        np.testing.assert_allclose(serial.evaluate(fh.sphere, population), ref)
        with pytest.raises(TypeError, match="real number per genome.*genome 0"):
            serial.evaluate(fh.not_a_number, population)
    with pytest.raises(ValueError, match=r"shape \(103,\)"):
        pn.Vectorized().evaluate(fh.wrong_length, population)


def test_pool_matches_in_process(pool, population):
    ref = fh.sphere_batch(population)
    np.testing.assert_allclose(pool.evaluate(fh.sphere, population), ref)
    # a second generation with another population reuses the segment
    np.testing.assert_allclose(pool.evaluate(fh.sphere, population[:50] * 2),
                               fh.sphere_batch(population[:50] * 2))
    with pn.ProcessPool(2, batched=True, chunk_size=10) as batched:
        np.testing.assert_array_equal(batched.evaluate(fh.sphere_batch, population),
                                      ref)
        with pytest.raises(ValueError, match=r"genomes 0\.\.9.*shape \(10,\)"):
            batched.evaluate(fh.wrong_length, population)


def test_pool_stateful_fitness_follows_generations():
    X, y = pn.datasets.load_mnist(DATA)
    net = pn.Network([784, 4, 10], ["tanh", "softmax"])
    pop = net.init_population(12, seed=0)
    local = pn.tasks.Classification(net, X, y, batch_size=100, seed=1)
    remote = pn.tasks.Classification(net, X, y, batch_size=100, seed=1)
    with pn.ProcessPool(2, batched=True, chunk_size=5) as p:
        for _ in range(2):  # every chunk of a generation sees the same batch
            # in-process first: the workers then load the compiled kernels
            # from Numba's cache instead of compiling them
            expected = local(pop)
            np.testing.assert_allclose(p.evaluate(remote, pop), expected)
    assert remote.generation == local.generation == 2


def test_pool_survives_raising_and_crashing(pool, population):
    with pytest.raises(RuntimeError, match=r"ZeroDivisionError: genome with a large"):
        pool.evaluate(fh.raises_on_positive, population)
    np.testing.assert_allclose(pool.evaluate(fh.sphere, population),
                               fh.sphere_batch(population))
    with pytest.raises(TypeError, match=r"real number per genome.*'high'"):
        pool.evaluate(fh.not_a_number, population)
    with pytest.raises(RuntimeError, match="worker process died"):
        pool.evaluate(fh.exits, population)
    # the pool is rebuilt at the next call
    np.testing.assert_allclose(pool.evaluate(fh.sphere, population),
                               fh.sphere_batch(population))
    # replaced segments are gone, only the pool's current ones remain
    assert _existing(pool._segment.names) <= {
        seg.name for seg in pool._segments}


def test_pool_timeout_kills_workers(population):
    p = pn.ProcessPool(2, timeout=1.0)
    created = _track(p)
    with pytest.raises(TimeoutError, match="timeout=1.0"):
        p.evaluate(fh.sleeps, population[:4])
    p.close()
    p.close()  # idempotent
    assert created and not _existing(created)
    with pytest.raises(RuntimeError, match="after close"):
        p.evaluate(fh.sphere, population)


def test_pool_with_algorithm(pool):
    ga_local = pn.GA(n_params=9, pop_size=32, seed=0)
    ga_pool = pn.GA(n_params=9, pop_size=32, seed=0)
    a = ga_local.run(fh.sphere_batch, generations=5)
    b = ga_pool.run(fh.sphere, generations=5, evaluator=pool)
    np.testing.assert_allclose(b.best_fitness, a.best_fitness)
    np.testing.assert_array_equal(b.best, a.best)


def test_pool_bad_arguments():
    with pytest.raises(ValueError, match="fork is unsafe"):
        pn.ProcessPool(2, start_method="fork")
    with pytest.raises(ValueError, match="n_workers"):
        pn.ProcessPool(0)
    with pn.ProcessPool(1) as p, pytest.raises(TypeError, match="picklable"):
        p.evaluate(_Unpicklable(), np.zeros((2, 2), np.float32))


class _Unpicklable:
    def __reduce__(self):
        raise TypeError("no pickling")

    def __call__(self, genome):
        return 0.0


def test_ray_matches_in_process(ray_session, population):
    ref = fh.sphere_batch(population)
    ev = pn.Ray()
    np.testing.assert_allclose(ev.evaluate(fh.sphere, population), ref)
    np.testing.assert_array_equal(
        pn.Ray(batched=True, chunk_size=20).evaluate(fh.sphere_batch, population), ref)
    X, y = pn.datasets.load_mnist(DATA)
    net = pn.Network([784, 4, 10], ["tanh", "softmax"])
    pop = net.init_population(12, seed=0)
    local = pn.tasks.Classification(net, X, y, batch_size=100, seed=1)
    remote = pn.tasks.Classification(net, X, y, batch_size=100, seed=1)
    batched = pn.Ray(batched=True, chunk_size=5)
    for _ in range(2):
        expected = local(pop)
        np.testing.assert_allclose(batched.evaluate(remote, pop), expected)
    assert remote.generation == 2
    ev.close()
    assert ray_session.is_initialized()  # an external session stays up


def test_ray_survives_raising(ray_session, population):
    ev = pn.Ray()
    with pytest.raises(RuntimeError, match=r"ZeroDivisionError.*genome with a large"):
        ev.evaluate(fh.raises_on_positive, population)
    with pytest.raises(TypeError, match=r"real number per genome.*'high'"):
        ev.evaluate(fh.not_a_number, population)
    with pytest.raises(RuntimeError, match="genomes"):
        ev.evaluate(fh.exits, population[:2])
    np.testing.assert_allclose(ev.evaluate(fh.sphere, population),
                               fh.sphere_batch(population))
    # a lambda (or a function of the driver's __main__) travels by value
    np.testing.assert_array_equal(ev.evaluate(lambda g: float(g[0]), population),
                                  population[:, 0])
    ga_local = pn.GA(n_params=9, pop_size=16, seed=0)
    ga_ray = pn.GA(n_params=9, pop_size=16, seed=0)
    a = ga_local.run(fh.sphere_batch, generations=3)
    b = ga_ray.run(fh.sphere, generations=3, evaluator=ev)
    np.testing.assert_array_equal(b.best, a.best)


# --------------------------------------------------------------------------
# Nothing hangs, nothing is left behind
# --------------------------------------------------------------------------
def test_default_timeout_and_bad_timeouts():
    assert pn.evaluation.DEFAULT_TIMEOUT == 600.0
    with pn.ProcessPool(1) as p:
        assert p.timeout == 600.0
    assert pn.ProcessPool(1, timeout=None).timeout is None
    for bad, exc in [(0, ValueError), (-1.0, ValueError), ("10", TypeError),
                     (float("inf"), ValueError)]:
        with pytest.raises(exc, match="'timeout' parameter of ProcessPool"):
            pn.ProcessPool(1, timeout=bad)
        with pytest.raises(exc, match="'timeout' parameter of Ray"):
            pn.Ray(timeout=bad)
    with pytest.raises(TypeError, match="'fn' argument of Vectorized.evaluate"):
        pn.Vectorized().evaluate(3, np.zeros((2, 2), np.float32))


def test_pool_hung_fitness_times_out_and_pool_stays_usable(population):
    with pn.ProcessPool(2, timeout=300.0) as p:
        # workers up first (their start can take seconds on a loaded machine):
        # time only the hang
        p.evaluate(fh.sphere, population)
        p.timeout = 1.5
        t0 = time.monotonic()
        with pytest.raises(TimeoutError, match=r"chunks were still running after "
                                               r"timeout=1\.5 s"):
            p.evaluate(fh.sleeps, population[:4])
        # the sleeping workers were killed at once, not after their 30 s
        assert time.monotonic() - t0 < 10.0
        p.timeout = 300.0  # fresh workers start again
        np.testing.assert_allclose(p.evaluate(fh.sphere, population),
                                   fh.sphere_batch(population))


_PARENT = """
import sys, multiprocessing.forkserver as fs
sys.path.insert(0, {tests!r})
import numpy as np, pyneat_lite as pn, fitness_helpers as fh
if __name__ == "__main__":
    pool = pn.ProcessPool(2, batched={batched})
    pop = np.ones((8, 5), np.float32)
    pool.evaluate(fh.sphere_batch if {batched} else fh.sphere, pop)
    pids = [p.pid for p in pool._executor._processes.values()]
    helpers = [fs._forkserver._forkserver_pid] if {forkserver} else []
    segs = [s.name for s in pool._segments]
    print("PIDS", *pids, *helpers, "SEGS", *segs, flush=True)
    pool.evaluate(fh.sleeps, pop)   # hangs until killed
"""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"  # zombie: exited
    except (FileNotFoundError, ProcessLookupError):  # gone before or while read
        return False


@pytest.mark.parametrize("start_method", ["forkserver", "spawn"])
def test_pool_workers_and_shared_memory_go_with_a_killed_parent(tmp_path,
                                                                start_method):
    script = tmp_path / "parent.py"
    src = _PARENT.format(tests=str(Path(__file__).parent), batched=False,
                         forkserver=start_method == "forkserver")
    script.write_text(src.replace("pn.ProcessPool(2,", "pn.ProcessPool(2, "
                                  f"start_method={start_method!r},"))
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONPATH": os.pathsep
                                            .join(sys.path)})
    try:
        line = proc.stdout.readline().split()
        assert line and line[0] == "PIDS", line
        k = line.index("SEGS")
        pids, segs = [int(x) for x in line[1:k]], line[k + 1:]
        assert len(pids) == (3 if start_method == "forkserver" else 2)
        assert len(segs) == 2 and all(os.path.exists(f"/dev/shm/{s}") for s in segs)
        time.sleep(0.3)  # the parent is inside the hanging evaluate
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        deadline = time.monotonic() + 10.0
        while time.monotonic() < deadline and (
                any(map(_alive, pids)) or any(os.path.exists(f"/dev/shm/{s}")
                                             for s in segs)):
            time.sleep(0.1)
        assert not [p for p in pids if _alive(p)]
        assert not [s for s in segs if os.path.exists(f"/dev/shm/{s}")]
    finally:
        if proc.poll() is None:
            proc.kill()


def test_ray_hung_fitness_times_out(ray_session, population):
    ev = pn.Ray(timeout=300.0)
    ev.evaluate(fh.sphere, population)  # workers up; time only the hang
    ev.timeout = 1.0
    t0 = time.monotonic()
    with pytest.raises(TimeoutError, match=r"timeout=1\.0 s.*cancelled"):
        ev.evaluate(fh.sleeps, population[:4])
    assert time.monotonic() - t0 < 12.0
    # the killed workers are replaced (Ray's cold start: longer than 1 s here)
    ev.timeout = 120.0
    np.testing.assert_allclose(ev.evaluate(fh.sphere, population),
                               fh.sphere_batch(population))


@pytest.mark.parametrize("how", ["raise", "exit"])
def test_ray_cancels_outstanding_chunks_on_first_failure(ray_session, population,
                                                         tmp_path, how):
    ev = pn.Ray(chunk_size=1)
    ev.evaluate(fh.sphere, population[:8])  # workers up
    with pytest.raises(RuntimeError, match="genomes"):
        ev.evaluate(fh.MarkThenFail(str(tmp_path), how), population[:40])
    time.sleep(1.0)  # anything not cancelled would go on running meanwhile
    # 40 one-genome chunks on 2 CPUs: only those already running got to call
    # the fitness (they take 50 ms each), the rest were cancelled
    assert 1 <= len(os.listdir(tmp_path)) <= 8
    np.testing.assert_allclose(ev.evaluate(fh.sphere, population),
                               fh.sphere_batch(population))


# --------------------------------------------------------------------------
# Seeds-only evolution strategies: workers rebuild their rows from the seed
# --------------------------------------------------------------------------
# the strategies whose population is a function of a centre, a per-coordinate
# scale and the noise key (a full covariance, as CMAES's, cannot travel so)
ES_NAMES = [name for name in pn.ALGORITHMS
            if pn.ALGORITHMS[name](n_params=2, pop_size=4)._seeds_only_spec()
            is not None]


def _spec(es) -> ESSpec:
    return ESSpec(**es._seeds_only_spec())  # the hook run() uses


def _es_variants():
    for name in ES_NAMES:
        cls = pn.ALGORITHMS[name]
        if "antithetic" in inspect.signature(cls).parameters:
            yield name, {"antithetic": False}
            yield name, {"antithetic": True}
        else:
            yield name, {}


@pytest.mark.parametrize("shape", [(10, 37), (40, 4000)])  # serial, parallel kernel
@pytest.mark.parametrize(("name", "kw"), list(_es_variants()))
def test_es_spec_rebuilds_ask_bit_for_bit(name, kw, shape):
    pop_size, n = shape
    es = pn.ALGORITHMS[name](n_params=n, pop_size=pop_size, seed=5, **kw)
    rng = np.random.default_rng(0)
    for _ in range(3):  # later generations: moved mean, per-coordinate scale
        spec = _spec(es)
        pop = es.ask()
        np.testing.assert_array_equal(spec.population().view(np.uint32),
                                      pop.view(np.uint32))
        lo, hi = sorted(rng.integers(0, pop_size + 1, 2))
        np.testing.assert_array_equal(spec.rows(lo, hi, n_threads=1), pop[lo:hi])
        es.tell(fh.sphere_batch(pop) + rng.standard_normal(pop_size))
    # after a tell the ES's scale is per-coordinate, except the fixed sigma of
    # OpenES and ARS
    assert np.ndim(spec.scale) == (0 if name in ("openes", "ars") else 1)


def test_es_spec_independent_reference():
    # the population from its definition, with NumPy and the public stream
    mean = np.linspace(-1, 1, 7)
    scale = np.linspace(0.1, 0.7, 7)
    spec = ESSpec(mean, scale, seed=3, generation=4, pop_size=6, antithetic=True)
    z = pn.operators.standard_normal(3, 7, seed=3, generation=4).astype(np.float64)
    ref = np.concatenate([mean + scale * z, mean - scale * z]).astype(np.float32)
    np.testing.assert_array_equal(spec.population(), ref)
    assert spec.nbytes == 2 * 7 * 8
    # antithetic pairs from one noise draw (what the workers do): the same bits
    pairs = spec._paired_rows(1, 3, np.empty((4, 7), np.float32), n_threads=1)
    np.testing.assert_array_equal(pairs, ref[[1, 2, 4, 5]])
    mean[0] = 99.0  # the spec keeps its own copy
    np.testing.assert_array_equal(spec.population(), ref)
    assert ESSpec(mean, np.full(7, 0.5), seed=0, generation=0,
                  pop_size=2).nbytes == 7 * 8 + 8  # a constant scale is one number


@pytest.mark.parametrize(("kwargs", "exc", "match"), [
    ({"mean": np.zeros((2, 2))}, ValueError, "'mean'"),
    ({"mean": [0.0, np.nan]}, ValueError, "'mean'"),
    ({"scale": np.ones(3)}, ValueError, "'scale' argument of ESSpec.*shape"),
    ({"scale": -0.1}, ValueError, "'scale' argument of ESSpec.*non-negative"),
    ({"pop_size": 3, "antithetic": True}, ValueError, "'pop_size'.*even"),
    ({"pop_size": 0}, ValueError, "'pop_size'"),
    ({"seed": -1}, ValueError, "'seed'"),
    ({"generation": 1.5}, TypeError, "'generation'"),
])
def test_es_spec_bad_input(kwargs, exc, match):
    args = {"mean": np.zeros(2), "scale": 0.1, "seed": 0, "generation": 0,
            "pop_size": 4, **kwargs}
    with pytest.raises(exc, match=match):
        ESSpec(args.pop("mean"), args.pop("scale"), **args)
    spec = ESSpec(np.zeros(2), 0.1, seed=0, generation=0, pop_size=4)
    with pytest.raises(ValueError, match="'hi' parameter of ESSpec.rows"):
        spec.rows(0, 5)
    with pytest.raises(TypeError, match="'spec' argument of Vectorized.evaluate_es"):
        pn.Vectorized().evaluate_es(fh.sphere_batch, np.zeros((4, 2), np.float32))


def test_es_seeds_only_every_evaluator(pool, ray_session):
    es = pn.SNES(n_params=300, pop_size=24, seed=1, antithetic=True)
    es.tell(fh.sphere_batch(es.ask()))  # a per-coordinate scale from now on
    spec = _spec(es)
    pop = es.ask()
    ref = fh.sphere_batch(pop)
    with pn.ProcessPool(2, batched=True, chunk_size=5) as bpool:
        evaluators = [(pn.Vectorized(), fh.sphere_batch), (pn.Serial(), fh.sphere),
                      (pool, fh.sphere), (bpool, fh.sphere_batch),
                      (pn.Ray(), fh.sphere),
                      (pn.Ray(batched=True, chunk_size=7), fh.sphere_batch)]
        for ev, fn in evaluators:
            np.testing.assert_array_equal(ev.evaluate_es(fn, spec), ref)
            if hasattr(ev, "last_transfer_bytes"):
                # the centre and the scale travel, not the population
                assert spec.nbytes <= ev.last_transfer_bytes < spec.nbytes + 4096
                ev.evaluate(fn, pop)
                assert ev.last_transfer_bytes == pop.nbytes  # fn unchanged
        # a batched chunk of antithetic pairs is named by both of its ranges
        with pytest.raises(ValueError, match=r"genomes 0\.\.1 and 12\.\.13"):
            bpool.evaluate_es(fh.wrong_length, spec)
        with pytest.raises(RuntimeError, match="ZeroDivisionError.*large first"):
            pool.evaluate_es(fh.raises_on_positive, ESSpec(
                np.full(300, 2.0), 0.1, seed=0, generation=0, pop_size=10))


def test_es_seeds_only_stateful_fitness(pool, ray_session):
    X, y = pn.datasets.load_mnist(DATA)
    net = pn.Network([784, 4, 10], ["tanh", "softmax"])
    es = pn.OpenES(n_params=net.n_params, pop_size=12, seed=0,
                   x0=net.init_genome(seed=0))
    local = pn.tasks.Classification(net, X, y, batch_size=100, seed=1)
    remote = pn.tasks.Classification(net, X, y, batch_size=100, seed=1)
    ray_fit = pn.tasks.Classification(net, X, y, batch_size=100, seed=1)
    with pn.ProcessPool(2, batched=True, chunk_size=5) as p:
        ev = pn.Ray(batched=True, chunk_size=5)
        for _ in range(2):  # every chunk of a generation sees the same batch
            spec = _spec(es)
            expected = local(es.ask())
            np.testing.assert_allclose(p.evaluate_es(remote, spec), expected)
            np.testing.assert_allclose(ev.evaluate_es(ray_fit, spec), expected)
            es.tell(expected)
    assert remote.generation == ray_fit.generation == local.generation == 2


@pytest.mark.parametrize("name", ES_NAMES)
def test_run_with_a_seeds_only_evaluator(pool, ray_session, name):
    """es.run(evaluator=...(seeds_only=True)) sends the spec, not the
    population, and gives the in-process run bit for bit."""
    kw = {"n_params": 40, "pop_size": 12, "seed": 2}
    local = pn.ALGORITHMS[name](**kw).run(fh.sphere_batch, generations=4)
    with pn.ProcessPool(2, batched=True, chunk_size=5, seeds_only=True) as p:
        for ev in (p, pn.Ray(batched=True, chunk_size=5, seeds_only=True)):
            es = pn.ALGORITHMS[name](**kw)
            res = es.run(fh.sphere_batch, generations=4, evaluator=ev)
            np.testing.assert_array_equal(res.best, local.best)
            np.testing.assert_array_equal(res.history["mean"],
                                          local.history["mean"])
            assert ev.last_transfer_bytes == ESSpec(
                **es._seeds_only_spec()).nbytes  # fn was sent before
    # other algorithms' populations travel as usual
    ga = pn.GA(n_params=40, pop_size=12, seed=2)
    with pn.ProcessPool(2, batched=True, seeds_only=True) as p:
        ga.run(fh.sphere_batch, generations=2, evaluator=p)
        assert p.last_transfer_bytes == 12 * 40 * 4
    assert pn.GA(n_params=4)._seeds_only_spec() is None
