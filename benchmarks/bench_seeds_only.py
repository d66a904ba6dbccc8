"""Seeds-only evolution strategies: what travels per generation, and what it costs.

Run from the repository root::

    python benchmarks/bench_seeds_only.py [--quick] [--pop P] [--n-params N]

Default P = 1,024 genomes of N = 1,000,000 parameters (a 4 GB float32
population; about 11 GB of memory in all).  ``--quick``: P = 256, N = 100,000.

The script starts a real local Ray cluster the way a user would --
``ray start --head --num-cpus 2`` in a shell, then ``ray.init(address="auto")``
in the script -- and stops it afterwards (it ends only the ``ray start``
process it started, which takes its cluster down with it).  An OpenES of that
size samples one generation; then, with a fitness that reads one gene per
genome (so that the evaluator's own cost is what is timed):

1. ``Ray.evaluate(fn, population)``: today's path, one ``ray.put`` of the
   population, every task copies its chunk out of the object store;
2. ``Ray.evaluate_es(fn, spec)``: seeds-only, one ``ray.put`` of the centre
   (``ESSpec``), every task rebuilds its rows from the seed;
3. and 4. the same two on ``ProcessPool`` (shared memory).

For each: bytes put into the object store (or shared memory) per
generation, and the median wall time of one generation's evaluation, next to
the limit it is bound by, measured in the same run: one ``np.copyto`` of the
population for the transfer path (a ``ray.put`` copies it at least once),
and the in-process rebuild of the whole population on all cores
(``ESSpec.population``) for the seeds-only path.  The ES's own ask + tell is
printed as well: the parent pays it on either path.

On a cluster the bytes are what matters: the population crosses the network
to every node that runs a chunk, the spec is ``8 * n_params`` bytes
(``16 * n_params`` when the scale is a vector) fetched once per node.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _util import median_time  # noqa: E402

import pyneat_lite as pn  # noqa: E402
from pyneat_lite.evaluation import ESSpec  # noqa: E402


def first_gene(chunk: np.ndarray) -> np.ndarray:
    """A fitness that costs nothing: the first gene of every genome."""
    return chunk[:, 0].astype(np.float64)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_cluster(num_cpus: int, object_store: int) -> tuple[subprocess.Popen, str]:
    """``ray start --head`` as a user types it, kept in the foreground
    (``--block``) so that ending this one process stops the cluster."""
    ray_exe = shutil.which("ray") or os.path.join(os.path.dirname(sys.executable),
                                                  "ray")
    port = _free_port()
    cmd = [ray_exe, "start", "--head", f"--num-cpus={num_cpus}", f"--port={port}",
           "--include-dashboard=false", f"--object-store-memory={object_store}",
           "--block"]
    # a throw-away local cluster: no token authentication (a real cluster
    # keeps Ray's default, token auth, and shares the token with the nodes)
    os.environ["RAY_AUTH_MODE"] = "disabled"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [os.path.dirname(os.path.abspath(__file__)), os.getcwd(),
         os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    return proc, f"127.0.0.1:{port}"


def _stop_cluster(proc: subprocess.Popen, address: str) -> None:
    proc.terminate()  # ray start --block then stops the processes it started
    try:
        proc.wait(60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    # `ray stop` would also forget the cluster; without this file a later
    # ray.init() on this machine would try to join the dead cluster
    current = os.path.join(tempfile.gettempdir(), "ray", "ray_current_cluster")
    with contextlib.suppress(FileNotFoundError):
        with open(current) as f:
            ours = f.read().strip().split(":")[-1] == address.split(":")[-1]
        if ours:
            os.remove(current)


def _connect(address: str, deadline: float) -> None:
    import ray

    os.environ["RAY_ADDRESS"] = address  # "auto" must find *this* cluster
    while True:
        try:
            ray.init(address="auto", log_to_driver=False, configure_logging=False)
            break
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(1.0)
    got = ray.get_runtime_context().gcs_address
    if got.split(":")[-1] != address.split(":")[-1]:
        raise RuntimeError(f"ray.init(address='auto') joined {got}, not {address}")


def _limits(pop: np.ndarray, spec: ESSpec, chunk: int,
            reps: int) -> tuple[float, float]:
    """The two limits: one copy of the population, and its rebuild from the
    seed in process on all cores, the way the workers do it (antithetic pairs
    from one noise draw), timed on one chunk and scaled to the population."""
    scratch = np.empty_like(pop)
    t_copy = median_time(lambda: np.copyto(scratch, pop), repeats=reps)
    k = min(len(pop), chunk) // 2 * 2
    rows = np.empty((k, pop.shape[1]), np.float32)
    if spec.antithetic:
        t = median_time(lambda: spec._paired_rows(0, k // 2, rows, None),
                        repeats=reps)
    else:
        t = median_time(lambda: spec.rows(0, k, out=rows), repeats=reps)
    return t_copy, t * len(pop) / k


def _gb(n: float) -> str:
    return f"{n / 1e9:.3f} GB" if n >= 1e7 else f"{n / 1e6:.3f} MB"


def main(argv: list[str] | None = None) -> dict[str, float]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="P=256, N=100,000 and fewer repeats")
    ap.add_argument("--pop", type=int, default=None, help="population size")
    ap.add_argument("--n-params", type=int, default=None, help="genome length")
    ap.add_argument("--chunk", type=int, default=64, help="genomes per task")
    ap.add_argument("--repeats", type=int, default=None, help="timed repeats")
    args = ap.parse_args(argv)
    P = args.pop or (256 if args.quick else 1024)
    N = args.n_params or (100_000 if args.quick else 1_000_000)
    reps = args.repeats or (3 if args.quick else 5)
    pop_bytes = P * N * 4
    print(f"load average: {os.getloadavg()[0]:.2f}")
    print(f"P = {P} genomes x N = {N} parameters: population {_gb(pop_bytes)}; "
          f"{args.chunk} genomes per task; median of {reps}")

    es = pn.OpenES(n_params=N, pop_size=P, seed=0, x0=np.full(N, 0.1, np.float32))
    es.tell(first_gene(es.ask()))  # compiles the kernels: time generation 1
    t0 = time.perf_counter()
    pop = es.ask()
    t_ask = time.perf_counter() - t0
    spec = ESSpec(es._mean, es._scale(), seed=es.seed, generation=es.generation,
                  pop_size=P, antithetic=es._antithetic)
    ref = first_gene(pop)

    t_copy, t_rebuild = _limits(pop, spec, args.chunk, reps)
    figures: dict[str, float] = {"ask_seconds": t_ask}

    proc, address = _start_cluster(2, object_store=int(pop_bytes * 1.5) + 2**30)
    try:
        import ray

        _connect(address, time.monotonic() + 120)
        ev = pn.Ray(batched=True, chunk_size=args.chunk, timeout=None)
        runs = {
            "Ray.evaluate (ray.put of the population)":
                ("ray_population", lambda: ev.evaluate(first_gene, pop)),
            "Ray.evaluate_es (seeds only)":
                ("ray_seeds", lambda: ev.evaluate_es(first_gene, spec)),
        }
        results = {}
        for name, (key, fn) in runs.items():
            np.testing.assert_array_equal(fn(), ref)  # warm-up, and bit-identical
            results[name] = (key, median_time(fn, repeats=reps, warmup=0),
                             ev.last_transfer_bytes)
        ev.close()
        ray.shutdown()
    finally:
        _stop_cluster(proc, address)

    with pn.ProcessPool(2, batched=True, chunk_size=args.chunk, timeout=None) as pool:
        for name, key, fn in [
                ("ProcessPool.evaluate (shared memory)", "pool_population",
                 lambda: pool.evaluate(first_gene, pop)),
                ("ProcessPool.evaluate_es (seeds only)", "pool_seeds",
                 lambda: pool.evaluate_es(first_gene, spec))]:
            np.testing.assert_array_equal(fn(), ref)
            results[name] = (key, median_time(fn, repeats=reps, warmup=0),
                             pool.last_transfer_bytes)

    fit = ref.copy()
    t0 = time.perf_counter()
    es.tell(fit)
    t_tell = time.perf_counter() - t0
    figures["tell_seconds"] = t_tell
    print(f"limits: copy of the population {t_copy:.2f} s; rebuild of all rows in "
          f"process on all cores {t_rebuild:.2f} s")
    print(f"the ES itself (parent, either path): ask {t_ask:.2f} s, tell "
          f"{t_tell:.2f} s")
    print(f"{'evaluator':42s} {'bytes/gen':>12s} {'s/gen':>8s} {'x limit':>8s}")
    for name, (key, t, nbytes) in results.items():
        limit = t_rebuild if "seeds" in key else t_copy
        print(f"{name:42s} {_gb(nbytes):>12s} {t:8.2f} {t / limit:8.2f}")
        figures[f"{key}_seconds"] = t
        figures[f"{key}_bytes"] = float(nbytes)
    ratio = results["Ray.evaluate (ray.put of the population)"][2] / results[
        "Ray.evaluate_es (seeds only)"][2]
    print(f"bytes per generation, population / seeds only: {ratio:,.0f}x")
    print(f"load average: {os.getloadavg()[0]:.2f}")
    return figures


if __name__ == "__main__":
    main()
