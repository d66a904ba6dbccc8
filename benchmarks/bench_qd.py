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
   lockstep with a second pyneat_lite run (one iteration of each in turn, so
   that the machine's load hits both alike); the ratio is of those.
2. ``arm``: pyribs' arm-repertoire tutorial -- a planar 12-joint arm, a CVT
   archive of 10,000 cells, 5 ES emitters x 30 ("2imp", CMA-ME, sigma 0.1,
   angles in [-pi, pi]), 700 iterations: pyribs publishes 7,928 elites in
   about 2 s.  Both libraries use the same centroids (ours, computed once)
   and the same objective (one Numba kernel), ``--repeats`` times (medians
   of the per-run ratios; wall and CPU time).  ``--arm-protocol phases``
   (the default) times each library's 700 iterations in a warm phase of its
   own, the order rotating per run: interleaving the libraries iteration by
   iteration (``lockstep``) makes each run on the caches the other evicted,
   which costs our ~0.2 ms iterations far more than pyribs' ~3 ms ones.
   Ours also runs with ``selection_rule="filter"`` (pyribs' default there).
3. ``maze``: ``pn.tasks.maze.DeceptiveMaze`` (a point robot below a cup
   around the goal): the same SepCMAES told the objective, the novelty, or
   novelty with local competition (``NoveltyArchive.rank``); solved counts.
4. ``cartpole``: a repertoire of CartPole policies over (final cart
   position, mean pole angle), CMA-ME emitters plus a Gaussian one; writes
   the heatmap PNG (``--out``).

The limit printed with each run is the time of the evaluation function alone
on as many batches (what no library can remove); "overhead" is the rest.
The machine may be shared with other jobs: the load average is printed.
"""

from __future__ import annotations

import argparse
import math
import os
import time

import numpy as np
from numba import njit

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


def _ours_sphere_scheduler() -> Scheduler:
    b = 100 / 2 * 5.12
    a = GridArchive(100, (100, 100), [(-b, b)] * 2, learning_rate=0.01,
                    threshold_min=0.0)
    r = GridArchive(100, (100, 100), [(-b, b)] * 2)
    em = [EvolutionStrategyEmitter(a, np.zeros(100), sigma0=0.5, ranker="imp",
                                   restart_rule="basic", batch_size=36, seed=i)
          for i in range(15)]
    return Scheduler(a, em, r)


def _ribs_sphere_scheduler() -> object:
    from ribs.archives import GridArchive as RGrid
    from ribs.emitters import EvolutionStrategyEmitter as REs
    from ribs.schedulers import Scheduler as RSched

    b = 100 / 2 * 5.12
    a = RGrid(solution_dim=100, dims=(100, 100), ranges=[(-b, b)] * 2,
              learning_rate=0.01, threshold_min=0.0)
    r = RGrid(solution_dim=100, dims=(100, 100), ranges=[(-b, b)] * 2)
    em = [REs(a, x0=np.zeros(100), sigma0=0.5, ranker="imp", selection_rule="mu",
              restart_rule="basic", batch_size=36, seed=i) for i in range(15)]
    return RSched(a, em, r)


def lockstep(steps: list, iters: int, cpu: list[float] | None = None) -> list[float]:
    """Run the schedulers' iterations alternately (one of each in turn), so
    that a changing machine load hits them alike; wall seconds spent in each
    (and the process's CPU seconds in ``cpu``, when given)."""
    spent = [0.0] * len(steps)
    if cpu is not None:
        cpu[:] = [0.0] * len(steps)
    for _ in range(iters):
        for j, step in enumerate(steps):
            c0 = time.process_time()
            t0 = time.perf_counter()
            step()
            spent[j] += time.perf_counter() - t0
            if cpu is not None:
                cpu[j] += time.process_time() - c0
    return spent


def bench_sphere(quick: bool, ribs_iters: int) -> None:
    print("\n1. 100-D sphere, CMA-MAE (15 emitters x 36, 100x100 grid)")
    print("   pyribs tutorial (published, other hardware): normalized QD 63.22, "
          "coverage 80.82%, 10,000 iterations in 1:45")
    iters = 1000 if quick else 10_000
    ours_sphere(3)  # JIT warm-up
    s, t, t_eval = ours_sphere(iters, report_every=max(iters // 10, 1))
    st = s.stats
    print(f"   pyneat_lite: {iters} iterations in {t:.1f} s (evaluation alone "
          f"{t_eval:.1f} s, library {t - t_eval:.1f} s): normalized QD "
          f"{st.norm_qd_score:.2f} ({100 * (st.norm_qd_score / 63.22 - 1):+.1f}% vs "
          f"63.22), coverage {100 * st.coverage:.2f}% "
          f"({100 * (st.coverage / 0.8082 - 1):+.1f}% vs 80.82%); "
          f"{sum(e.restarts for e in s.emitters)} restarts")
    if HAVE_RIBS:
        n = min(ribs_iters, iters)
        ours, theirs = _ours_sphere_scheduler(), _ribs_sphere_scheduler()

        def step_ours() -> None:
            ours.tell(*sphere(ours.ask()))

        def step_ribs() -> None:
            theirs.tell(*sphere(theirs.ask()))

        t_o, t_r = lockstep([step_ours, step_ribs], n)
        rs = theirs.result_archive.stats
        print(f"   first {n} iterations in lockstep: pyneat_lite {t_o:.2f} s, "
              f"pyribs {t_r:.2f} s -> {t_r / t_o:.1f}x faster; coverage "
              f"{100 * ours.stats.coverage:.2f}% vs {100 * float(rs.coverage):.2f}%,"
              f" normalized QD {ours.stats.norm_qd_score:.2f} vs "
              f"{float(rs.norm_qd_score):.2f}; pyribs' 10,000 iterations at "
              f"that rate: {t_r / n * 10_000:.0f} s")
    else:
        print("   pyribs not installed (pip install ribs): no same-machine ratio")
    print(f"   {load()}")


# ------------------------------------------------------------------- 2. arm
@njit(cache=True, nogil=True)
def _arm_kernel(x, obj, meas):
    # one pass per row: the variance of the angles (two-pass, as np.var) and
    # the end point of the chain of unit links
    n_rows, n = x.shape
    for i in range(n_rows):
        s = 0.0
        for j in range(n):
            s += x[i, j]
        mu = s / n
        v = 0.0
        for j in range(n):
            d = x[i, j] - mu
            v += d * d
        obj[i] = -v / n
        cum = 0.0
        px = 0.0
        py = 0.0
        for j in range(n):
            cum += x[i, j]
            px += math.cos(cum)
            py += math.sin(cum)
        meas[i, 0] = px
        meas[i, 1] = py


def arm(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """pyribs' arm tutorial: objective -var(angles), measures the end point
    (one Numba kernel, the same for both libraries)."""
    obj = np.empty(x.shape[0])
    meas = np.empty((x.shape[0], 2))
    _arm_kernel(x, obj, meas)
    return obj, meas


def arm_numpy(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The tutorial's NumPy code (reference for :func:`arm`)."""
    x = np.asarray(x, dtype=np.float64)
    obj = -np.var(x, axis=1)
    cum = np.cumsum(x, axis=1)
    return obj, np.stack([np.cos(cum).sum(1), np.sin(cum).sum(1)], axis=1)


def _ours_arm(centroids: np.ndarray, selection_rule: str = "mu") -> Scheduler:
    a = CVTArchive(12, centroids, [(-12, 12)] * 2)
    em = [EvolutionStrategyEmitter(a, np.zeros(12), sigma0=0.1, ranker="2imp",
                                   selection_rule=selection_rule, batch_size=30,
                                   bounds=(-np.pi, np.pi), seed=i)
          for i in range(5)]
    return Scheduler(a, em)


def _ribs_arm(centroids: np.ndarray, seed0: int = 0) -> object:
    from ribs.archives import CVTArchive as RCvt
    from ribs.emitters import EvolutionStrategyEmitter as REs
    from ribs.schedulers import Scheduler as RSched

    a = RCvt(solution_dim=12, centroids=centroids, ranges=[(-12, 12)] * 2,
             nearest_neighbors="scipy_kd_tree")
    em = [REs(archive=a, x0=np.zeros(12), sigma0=0.1, ranker="2imp",
              lower_bounds=np.full(12, -np.pi), upper_bounds=np.full(12, np.pi),
              batch_size=30, seed=seed0 + i) for i in range(5)]
    return RSched(a, em)


def _arm_run(cent: np.ndarray) -> tuple:
    """One lockstep run: ours with selection_rule "mu" and "filter", each
    right after a pyribs iteration (two pyribs schedulers, seeds 0-4 and
    100-104), so that both of ours start from the caches pyribs leaves:
    (elites, seconds, evaluation seconds, filter elites, filter seconds,
    pyribs elites, pyribs seconds, our CPU seconds, pyribs' CPU seconds,
    filter CPU seconds)."""
    ours, ours_f = _ours_arm(cent), _ours_arm(cent, "filter")
    t_eval = [0.0]

    def step_ours() -> None:
        pop = ours.ask()
        te = time.perf_counter()
        out = arm(pop)
        t_eval[0] += time.perf_counter() - te
        ours.tell(*out)

    def step_ours_f() -> None:
        ours_f.tell(*arm(ours_f.ask()))

    steps = [step_ours, step_ours_f]
    theirs = _ribs_arm(cent) if HAVE_RIBS else None
    if theirs is not None:
        other = _ribs_arm(cent, seed0=100)

        def step_ribs() -> None:
            theirs.tell(*arm(theirs.ask()))

        def step_other() -> None:
            other.tell(*arm(other.ask()))

        steps = [step_ribs, step_ours, step_other, step_ours_f]
    cpu: list[float] = []
    spent = lockstep(steps, 700, cpu)
    if theirs is None:
        return (len(ours.archive), spent[0], t_eval[0], len(ours_f.archive),
                spent[1], 0, math.nan, cpu[0], math.nan, cpu[1])
    return (len(ours.archive), spent[1], t_eval[0], len(ours_f.archive), spent[3],
            len(theirs.archive), 0.5 * (spent[0] + spent[2]), cpu[1],
            0.5 * (cpu[0] + cpu[2]), cpu[3])


def _timed_phase(sched: object, iters: int = 700) -> tuple[float, float]:
    """``iters`` ask/evaluate/tell iterations of one scheduler alone: (wall
    seconds, process CPU seconds)."""
    c0 = time.process_time()
    t0 = time.perf_counter()
    for _ in range(iters):
        sched.tell(*arm(sched.ask()))  # type: ignore[attr-defined]
    return time.perf_counter() - t0, time.process_time() - c0


def _arm_phases(cent: np.ndarray, rep: int) -> tuple:
    """One run of the "phases" protocol: each scheduler's 700 iterations in a
    phase of its own (pyribs, ours "mu", ours "filter"), so that no library
    runs on the caches the other one left; the order rotates with ``rep``
    so that a drifting machine load hits every library alike.  The same
    tuple as :func:`_arm_run` (the evaluation seconds are ours "mu"'s
    evaluation alone, timed on its populations after the phase)."""
    ours, ours_f = _ours_arm(cent), _ours_arm(cent, "filter")
    theirs = _ribs_arm(cent) if HAVE_RIBS else None
    jobs = [("mu", ours), ("filter", ours_f)]
    if theirs is not None:
        jobs.append(("ribs", theirs))
    k = rep % len(jobs)
    jobs = jobs[k:] + jobs[:k]
    res = {name: _timed_phase(sched) for name, sched in jobs}
    # the evaluation alone on as many batches of ours' size
    x = np.ascontiguousarray(ours.ask(), dtype=np.float32)
    te = time.perf_counter()
    for _ in range(700):
        arm(x)
    t_eval = time.perf_counter() - te
    rw, rc = res.get("ribs", (math.nan, math.nan))
    return (len(ours.archive), res["mu"][0], t_eval, len(ours_f.archive),
            res["filter"][0], len(theirs.archive) if theirs is not None else 0,
            rw, res["mu"][1], rc, res["filter"][1])


def bench_arm(quick: bool, repeats: int, protocol: str = "phases") -> None:
    from pyneat_lite.qd import k_means_centroids

    print("\n2. planar arm, 12 joints, CVT 10,000 cells, CMA-ME (5 x 30, 700 "
          "iterations)")
    print("   pyribs tutorial (published, other hardware): 7,928 elites in ~2 s")
    t0 = time.perf_counter()
    cent = k_means_centroids(10_000, [(-12, 12)] * 2, seed=0)
    print(f"   centroids (k-means, 100,000 samples, 20 Lloyd iterations, once): "
          f"{time.perf_counter() - t0:.1f} s")
    x = np.random.default_rng(0).uniform(-np.pi, np.pi, (150, 12))
    ref = arm_numpy(x)
    got = arm(x)
    assert np.allclose(got[0], ref[0]) and np.allclose(got[1], ref[1])
    for rule in ("mu", "filter"):
        warm = _ours_arm(cent, rule)
        for _ in range(3):  # JIT warm-up
            warm.tell(*arm(warm.ask()))
    if HAVE_RIBS:  # pyribs' first iterations compile its Numba code
        warm_ribs = _ribs_arm(cent)
        for _ in range(20):
            warm_ribs.tell(*arm(warm_ribs.ask()))
    if protocol == "phases":
        print("   protocol 'phases': each library's 700 iterations timed in a "
              "phase of its own (warm, order rotating per run)")
    else:
        print("   protocol 'lockstep': one iteration of each library in turn "
              "(each runs on the caches the other left)")
    rows = []
    for rep in range(1 if quick else repeats):
        rows.append(_arm_phases(cent, rep) if protocol == "phases"
                    else _arm_run(cent))
        r = rows[-1]
        print(f"   run {rep + 1}: pyneat_lite {r[0]} elites in {r[1]:.3f} s "
              f"(evaluation {r[2]:.3f} s, CPU {r[7]:.3f} s), selection_rule="
              f"'filter' {r[3]} elites in {r[4]:.3f} s (CPU {r[9]:.3f} s); "
              f"pyribs ('filter', its default) {r[5]} elites in {r[6]:.2f} s "
              f"(CPU {r[8]:.2f} s); {load()}")
    med = np.median(np.array(rows, dtype=np.float64), axis=0)
    print(f"   median of {len(rows)}: pyneat_lite {int(med[0])} elites in "
          f"{med[1]:.3f} s (evaluation alone {med[2]:.3f} s, library "
          f"{med[1] - med[2]:.3f} s); 'filter' {int(med[3])} elites in {med[4]:.3f} s")
    if HAVE_RIBS:
        def ratio(k_ribs: int, k_ours: int) -> float:
            return float(np.median([r[k_ribs] / r[k_ours] for r in rows]))

        print(f"   pyribs, same centroids and objective, protocol {protocol!r}: "
              f"{int(med[5])} elites in {med[6]:.2f} s (CPU {med[8]:.2f} s) -> "
              f"pyneat_lite 'mu' {ratio(6, 1):.1f}x faster in wall time, "
              f"{ratio(8, 7):.1f}x in CPU time; 'filter' (pyribs' rule) "
              f"{ratio(6, 4):.1f}x wall, {ratio(8, 9):.1f}x CPU (medians of the "
              f"per-run ratios; goal 10x)")
    print(f"   {load()}")


# ------------------------------------------------------------------ 3. maze
def bench_maze(quick: bool) -> None:
    import pyneat_lite as pn
    from pyneat_lite.qd import NoveltyArchive
    from pyneat_lite.tasks.maze import DeceptiveMaze

    maze = DeceptiveMaze()
    seeds = 3 if quick else 10
    gens = 200
    print(f"\n3. deceptive maze (point robot, cup around the goal), SepCMAES pop "
          f"50, {gens} generations at most, {seeds} seeds")
    maze(np.zeros((1, maze.n_params), np.float32))  # JIT warm-up
    for mode in ("objective", "novelty", "nslc"):
        solved, final, t0 = [], [], time.perf_counter()
        for seed in range(seeds):
            es = pn.SepCMAES(n_params=maze.n_params, pop_size=50, sigma=0.5,
                             seed=seed)
            nov = NoveltyArchive(2, k_neighbors=10, novelty_threshold=0.02)
            best, when = np.inf, None
            for g in range(gens):
                pop = es.ask()
                obj, meas = maze(pop)
                best = min(best, float(-obj.max()))
                if maze.solved(meas).any():
                    when = g
                    break
                es.tell(obj if mode == "objective" else
                        nov.rank(meas, obj, mode=mode))
                nov.add(meas, obj)
            solved.append(when)
            final.append(best)
        hits = [w for w in solved if w is not None]
        med = f", median {int(np.median(hits))} generations" if hits else ""
        print(f"   {mode:9s}: solved {len(hits)}/{seeds}{med}; closest distance "
              f"median {np.median(final):.3f}; {time.perf_counter() - t0:.1f} s")
    print(f"   {load()}")


# -------------------------------------------------------------- 4. cartpole
def bench_cartpole(quick: bool, out: str) -> None:
    import pyneat_lite as pn
    from pyneat_lite.qd import GaussianEmitter
    from pyneat_lite.tasks.behavior import BehaviorRollout

    net = pn.Network([4, 8, 2], ["tanh", "linear"])
    task = BehaviorRollout(net, pn.envs.CartPole(), seed=0)
    a = GridArchive(net.n_params, (20, 20), task.measure_ranges)
    em = [EvolutionStrategyEmitter(a, np.zeros(net.n_params), sigma0=0.5,
                                   batch_size=32, seed=i) for i in range(3)]
    em.append(GaussianEmitter(a, np.zeros(net.n_params), sigma=0.3, batch_size=32,
                              seed=9))
    iters = 50 if quick else 300
    print(f"\n4. CartPole repertoire: policies 4-8-2 over (final cart position, "
          f"mean pole angle), 20x20 grid, {iters} iterations x 128")
    task(net.init_population(2, seed=0))  # JIT warm-up
    r = Scheduler(a, em).run(task, generations=iters)
    d = a.data()
    print(f"   {r.stats.num_elites} elites (coverage {100 * r.stats.coverage:.1f}%)"
          f", {int((d['objective'] >= 500).sum())} of them balance the full 500 "
          f"steps; {r.elapsed:.1f} s")
    a.heatmap(out, labels=task.measure_names)
    print(f"   heatmap: {out}")
    print(f"   {load()}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--only", default="sphere,arm,maze,cartpole")
    p.add_argument("--out", default="qd_cartpole_repertoire.png",
                   help="where the CartPole repertoire heatmap goes")
    p.add_argument("--ribs-iters", type=int, default=300,
                   help="iterations of pyribs' sphere run (its 10,000 take "
                        "15+ minutes on a loaded 2-core machine)")
    p.add_argument("--repeats", type=int, default=3,
                   help="runs of the arm benchmark (medians reported)")
    p.add_argument("--arm-protocol", choices=("phases", "lockstep"),
                   default="phases",
                   help="arm timing: each library in a warm phase of its own "
                        "(default), or one iteration of each in turn")
    args = p.parse_args()
    only = set(args.only.split(","))
    print(f"pyneat_lite.qd benchmark; pyribs installed: {HAVE_RIBS}; {load()}")
    if "sphere" in only:
        bench_sphere(args.quick, args.ribs_iters)
    if "arm" in only:
        bench_arm(args.quick, args.repeats, args.arm_protocol)
    if "maze" in only:
        bench_maze(args.quick)
    if "cartpole" in only:
        bench_cartpole(args.quick, args.out)


if __name__ == "__main__":
    main()
