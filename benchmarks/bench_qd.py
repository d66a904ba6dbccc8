"""Quality-diversity benchmark: pyneat_lite.qd beside pyribs' published figures.

Run from the repository root::

    python benchmarks/bench_qd.py            # everything (several minutes)
    python benchmarks/bench_qd.py --quick    # fewer iterations, no full runs
    python benchmarks/bench_qd.py --only sphere,arm

1. ``sphere``: pyribs' CMA-MAE tutorial -- the 100-D sphere with linear
   projection measures, a 100x100 grid (learning rate 0.01, threshold_min 0)
   plus a result archive, 15 ES emitters x 36 solutions ("imp" ranking,
   "basic" restarts), 10,000 iterations.  pyribs publishes a normalized QD
   score of 63.22 and coverage of 80.82% in 1:45 (on its hardware).  We run
   the whole 10,000 iterations; pyribs (``pip install ribs``), when
   installed, runs the first ``--ribs-iters`` iterations of the same setup in
   the same process, and the speed ratio is that of the same iterations.
2. ``arm``: pyribs' arm-repertoire tutorial -- a planar 12-joint arm, a CVT
   archive of 10,000 cells, 5 ES emitters x 30 ("2imp", CMA-ME, sigma 0.1,
   angles in [-pi, pi]), 700 iterations: pyribs publishes 7,928 elites in
   about 2 s.  Both libraries use the same centroids (ours, computed once).
3. ``maze``: novelty search on a deceptive maze (see ``maze_task``).
4. ``cartpole``: a repertoire of CartPole policies (see ``cartpole_task``).

The limit printed with each run is the time of the evaluation function alone
on as many batches (what no library can remove); "overhead" is the rest.
The machine may be shared with other jobs: the load average is printed.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from pyneat_lite.qd import (
    CVTArchive,
    EvolutionStrategyEmitter,
    GridArchive,
    Scheduler,
)

try:
    import ribs  # noqa: F401

    HAVE_RIBS = True
except ImportError:  # pragma: no cover - optional
    HAVE_RIBS = False


def load() -> str:
    a, b, c = os.getloadavg()
    return f"load average {a:.2f} {b:.2f} {c:.2f}"


# ---------------------------------------------------------------- 1. sphere
SHIFT = 5.12 * 0.4


def sphere(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """pyribs' tutorial function (the same NumPy code for both libraries)."""
    x = np.asarray(x, dtype=np.float64)
    dim = x.shape[1]
    worst = (-5.12 - SHIFT) ** 2 * dim
    raw = np.sum(np.square(x - SHIFT), axis=1)
    obj = (raw - worst) / (0.0 - worst) * 100.0
    c = x.copy()
    mask = (c < -5.12) | (c > 5.12)
    c[mask] = 5.12 / c[mask]
    meas = np.stack([c[:, : dim // 2].sum(1), c[:, dim // 2:].sum(1)], axis=1)
    return obj, meas


def ours_sphere(iters: int, report_every: int = 0) -> tuple[Scheduler, float, float]:
    b = 100 / 2 * 5.12
    a = GridArchive(100, (100, 100), [(-b, b)] * 2, learning_rate=0.01,
                    threshold_min=0.0)
    r = GridArchive(100, (100, 100), [(-b, b)] * 2)
    em = [EvolutionStrategyEmitter(a, np.zeros(100), sigma0=0.5, ranker="imp",
                                   restart_rule="basic", batch_size=36, seed=i)
          for i in range(15)]
    s = Scheduler(a, em, r)
    t_eval = 0.0
    t0 = time.perf_counter()
    for i in range(iters):
        pop = s.ask()
        te = time.perf_counter()
        out = sphere(pop)
        t_eval += time.perf_counter() - te
        s.tell(*out)
        if report_every and (i + 1) % report_every == 0:
            st = s.stats
            print(f"  iteration {i + 1:5d}: coverage {100 * st.coverage:6.2f}%  "
                  f"normalized QD {st.norm_qd_score:6.2f}  "
                  f"{time.perf_counter() - t0:6.1f} s", flush=True)
    return s, time.perf_counter() - t0, t_eval


def ribs_sphere(iters: int) -> tuple[float, float, float]:
    from ribs.archives import GridArchive as RGrid
    from ribs.emitters import EvolutionStrategyEmitter as REs
    from ribs.schedulers import Scheduler as RSched

    b = 100 / 2 * 5.12
    a = RGrid(solution_dim=100, dims=(100, 100), ranges=[(-b, b)] * 2,
              learning_rate=0.01, threshold_min=0.0)
    r = RGrid(solution_dim=100, dims=(100, 100), ranges=[(-b, b)] * 2)
    em = [REs(a, x0=np.zeros(100), sigma0=0.5, ranker="imp", selection_rule="mu",
              restart_rule="basic", batch_size=36, seed=i) for i in range(15)]
    s = RSched(a, em, r)
    t0 = time.perf_counter()
    for _ in range(iters):
        sol = s.ask()
        s.tell(*sphere(sol))
    return (time.perf_counter() - t0, float(r.stats.coverage),
            float(r.stats.norm_qd_score))


def bench_sphere(quick: bool, ribs_iters: int) -> None:
    print("\n1. 100-D sphere, CMA-MAE (15 emitters x 36, 100x100 grid)")
    print("   pyribs tutorial (published, other hardware): normalized QD 63.22, "
          "coverage 80.82%, 10,000 iterations in 1:45")
    iters = 1000 if quick else 10_000
    ours_sphere(3)  # JIT warm-up
    n = min(ribs_iters, iters)
    _, t_n, _ = ours_sphere(n)
    s, t, t_eval = ours_sphere(iters, report_every=max(iters // 10, 1))
    st = s.stats
    print(f"   pyneat_lite: {iters} iterations in {t:.1f} s (evaluation alone "
          f"{t_eval:.1f} s, library {t - t_eval:.1f} s): normalized QD "
          f"{st.norm_qd_score:.2f} ({100 * (st.norm_qd_score / 63.22 - 1):+.1f}% vs "
          f"63.22), coverage {100 * st.coverage:.2f}% "
          f"({100 * (st.coverage / 0.8082 - 1):+.1f}% vs 80.82%); "
          f"{sum(e.restarts for e in s.emitters)} restarts")
    if HAVE_RIBS:
        tr, cov, qd = ribs_sphere(n)
        print(f"   same first {n} iterations: pyneat_lite {t_n:.2f} s, pyribs "
              f"{tr:.2f} s -> {tr / t_n:.1f}x faster (pyribs there: coverage "
              f"{100 * cov:.2f}%, normalized QD {qd:.2f}); pyribs' 10,000 "
              f"iterations extrapolated: {tr / n * 10_000:.0f} s")
    else:
        print("   pyribs not installed (pip install ribs): no same-machine ratio")
    print(f"   {load()}")


# ------------------------------------------------------------------- 2. arm
def arm(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """pyribs' arm tutorial: objective -var(angles), measures the end point."""
    x = np.asarray(x, dtype=np.float64)
    obj = -np.var(x, axis=1)
    cum = np.cumsum(x, axis=1)
    return obj, np.stack([np.cos(cum).sum(1), np.sin(cum).sum(1)], axis=1)


def ours_arm(centroids: np.ndarray, iters: int) -> tuple[CVTArchive, float, float]:
    a = CVTArchive(12, centroids, [(-12, 12)] * 2)
    em = [EvolutionStrategyEmitter(a, np.zeros(12), sigma0=0.1, ranker="2imp",
                                   batch_size=30, bounds=(-np.pi, np.pi), seed=i)
          for i in range(5)]
    s = Scheduler(a, em)
    t_eval = 0.0
    t0 = time.perf_counter()
    for _ in range(iters):
        pop = s.ask()
        te = time.perf_counter()
        out = arm(pop)
        t_eval += time.perf_counter() - te
        s.tell(*out)
    return a, time.perf_counter() - t0, t_eval


def ribs_arm(centroids: np.ndarray, iters: int) -> tuple[int, float]:
    from ribs.archives import CVTArchive as RCvt
    from ribs.emitters import EvolutionStrategyEmitter as REs
    from ribs.schedulers import Scheduler as RSched

    a = RCvt(solution_dim=12, centroids=centroids, ranges=[(-12, 12)] * 2,
             nearest_neighbors="scipy_kd_tree")
    em = [REs(archive=a, x0=np.zeros(12), sigma0=0.1, ranker="2imp",
              lower_bounds=np.full(12, -np.pi), upper_bounds=np.full(12, np.pi),
              batch_size=30, seed=i) for i in range(5)]
    s = RSched(a, em)
    t0 = time.perf_counter()
    for _ in range(iters):
        sol = s.ask()
        s.tell(*arm(sol))
    return len(a), time.perf_counter() - t0


def bench_arm(quick: bool) -> None:
    from pyneat_lite.qd import k_means_centroids

    print("\n2. planar arm, 12 joints, CVT 10,000 cells, CMA-ME (5 x 30, 700 "
          "iterations)")
    print("   pyribs tutorial (published, other hardware): 7,928 elites in ~2 s")
    t0 = time.perf_counter()
    cent = k_means_centroids(10_000, [(-12, 12)] * 2, seed=0)
    print(f"   centroids (k-means, 100,000 samples, 20 Lloyd iterations, once): "
          f"{time.perf_counter() - t0:.1f} s")
    ours_arm(cent, 3)  # JIT warm-up
    runs = [ours_arm(cent, 700) for _ in range(1 if quick else 3)]
    times = sorted(r[1] for r in runs)
    a, t, t_eval = runs[0]
    med = times[len(times) // 2]
    print(f"   pyneat_lite: {len(a)} elites in {med:.2f} s (median of "
          f"{len(runs)}; evaluation alone {t_eval:.2f} s), best objective "
          f"{a.stats.obj_max:.2e}")
    if HAVE_RIBS:
        n_r, t_r = ribs_arm(cent, 700)
        print(f"   pyribs, same centroids, same machine: {n_r} elites in "
              f"{t_r:.2f} s -> pyneat_lite {t_r / med:.1f}x faster")
    print(f"   {load()}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--only", default="sphere,arm,maze,cartpole")
    p.add_argument("--ribs-iters", type=int, default=500,
                   help="iterations of pyribs' sphere run (its 10,000 take "
                        "15+ minutes on a loaded 2-core machine)")
    args = p.parse_args()
    only = set(args.only.split(","))
    print(f"pyneat_lite.qd benchmark; pyribs installed: {HAVE_RIBS}; {load()}")
    if "sphere" in only:
        bench_sphere(args.quick, args.ribs_iters)
    if "arm" in only:
        bench_arm(args.quick)


if __name__ == "__main__":
    main()
