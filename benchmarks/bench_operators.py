"""One full GA generation and the ES noise draw, against the machine's copy
bandwidth, the best plain-NumPy implementation and DEAP.

Generation: tournament selection (k=3), uniform crossover (swap 0.5),
Gaussian mutation (rate 0.1, sigma 0.1), elitism 4, for P=256 x N=100,000 and
P=10,000 x N=1,000 (offspring buffer of the same size).  A child gene costs
12 bytes of memory traffic (two parent reads, one write): "child GB/s" is
``12 * n_children * N / time``, printed as a fraction of a large
``np.copyto`` (bytes read + written) measured in the same run.

DEAP works gene by gene in Python: a full 256 x 100,000 generation would take
minutes, so it is timed on a slice of children (its selection on the whole
population) and scaled linearly by the number of children -- the printed
DEAP time is that estimate.

Wall-clock medians suffer when other processes share the cores (a parallel
region waits for its slowest, descheduled thread), so a second table gives
the median process CPU time of the single-threaded runs (pyneat_lite with
n_threads=1, NumPy, DEAP), which stays close to what an idle core does.

A third table gives the per-generation cost on a small problem (64 x 114, a
CartPole 4-16-2 policy, the GA's default operators, one thread), where call
overhead, not memory, is the limit: the public ``next_generation`` (which
validates everything), the GA's prepared plan (``_GenerationPlan.run``,
validated once at construction) and, as the limit, the bare kernel call with
every array precomputed.

Usage::

    python benchmarks/bench_operators.py [--repeats 7] [--quick]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _util import copy_bandwidth_gbs, median_time  # noqa: E402

from pyneat_lite import _operators as _k  # noqa: E402
from pyneat_lite import operators as ops  # noqa: E402
from pyneat_lite._rng import STREAMS, row_seeds  # noqa: E402

K, SWAP, RATE, SIGMA, ELITE = 3, 0.5, 0.1, 0.1, 4


def median_cpu_time(fn, repeats=7):
    """Median process CPU time of fn() (single-threaded code only): less
    sensitive than wall time to other processes sharing the cores."""
    fn()
    samples = []
    for _ in range(repeats):
        t0 = time.process_time()
        fn()
        samples.append(time.process_time() - t0)
    return float(np.median(samples))


def numpy_generation(parents, fitness, out, rng, tmp_b):
    """Best plain-NumPy generation found: vectorised tournaments, gathers
    straight into the output, crossover as a masked copy driven by packed
    random bits (1 bit per gene), mutation at geometric-gap positions (only
    the ~10% mutated genes draw a normal)."""
    P, N = parents.shape
    n_out = out.shape[0]
    order = np.argsort(-fitness, kind="stable")
    out[:ELITE] = parents[order[:ELITE]]
    n = n_out - ELITE
    asp = rng.integers(0, P, size=(2 * n, K))
    win = asp[np.arange(2 * n), np.argmax(fitness[asp], axis=1)]
    child = out[ELITE:]
    np.take(parents, win[:n], axis=0, out=child)
    np.take(parents, win[n:], axis=0, out=tmp_b)
    bits = np.unpackbits(rng.integers(0, 256, size=(n, (N + 7) // 8),
                                      dtype=np.uint8), axis=1, count=N)
    np.copyto(child, tmp_b, where=bits.view(bool))
    flat = child.reshape(-1)
    m = flat.size
    gaps = rng.geometric(RATE, size=int(m * RATE * 1.05) + 64)
    pos = np.cumsum(gaps) - 1
    while pos[-1] < m:  # rare: draw more gaps
        more = rng.geometric(RATE, size=int(m * RATE * 0.05) + 64)
        pos = np.concatenate([pos, pos[-1] + np.cumsum(more)])
    pos = pos[pos < m]
    flat[pos] += SIGMA * rng.standard_normal(pos.size, dtype=np.float32)


def numpy_generation_masks(parents, fitness, out, rng, tmp_b):
    """The textbook NumPy way: boolean masks from one uniform per gene."""
    P, N = parents.shape
    order = np.argsort(-fitness, kind="stable")
    out[:ELITE] = parents[order[:ELITE]]
    n = out.shape[0] - ELITE
    asp = rng.integers(0, P, size=(2 * n, K))
    win = asp[np.arange(2 * n), np.argmax(fitness[asp], axis=1)]
    a, b = parents[win[:n]], parents[win[n:]]
    child = np.where(rng.random((n, N), dtype=np.float32) < SWAP, b, a)
    mmask = rng.random((n, N), dtype=np.float32) < RATE
    child[mmask] += SIGMA * rng.standard_normal(int(mmask.sum()), dtype=np.float32)
    out[ELITE:] = child


def deap_generation_estimate(parents, fitness, n_children, n_slice, seed=0):
    """(wall, CPU) seconds for DEAP's selTournament + clone + cxUniform +
    mutGaussian, measured on ``n_slice`` children, scaled to ``n_children``."""
    from deap import base, creator, tools

    if not hasattr(creator, "FitnessMaxBench"):
        creator.create("FitnessMaxBench", base.Fitness, weights=(1.0,))
        creator.create("IndBench", list, fitness=creator.FitnessMaxBench)
    random.seed(seed)
    pop = []
    for row, f in zip(parents, fitness, strict=True):
        ind = creator.IndBench(row.tolist())
        ind.fitness.values = (float(f),)
        pop.append(ind)
    toolbox = base.Toolbox()
    t0 = time.perf_counter()
    c0 = time.process_time()
    chosen = tools.selTournament(pop, n_slice, tournsize=K)
    offspring = [toolbox.clone(ind) for ind in chosen]
    for c1, c2 in zip(offspring[::2], offspring[1::2], strict=False):
        tools.cxUniform(c1, c2, indpb=SWAP)
    for c in offspring:
        tools.mutGaussian(c, mu=0.0, sigma=SIGMA, indpb=RATE)
    dt = time.perf_counter() - t0
    dc = time.process_time() - c0
    return dt * n_children / n_slice, dc * n_children / n_slice


def bench_case(P, N, repeats, copy_gbs, deap_slice):
    rng = np.random.default_rng(0)
    parents = rng.standard_normal((P, N), dtype=np.float32)
    fitness = rng.standard_normal(P)
    out = np.empty_like(parents)
    n_children = P - ELITE
    kw = dict(selection=ops.Tournament(K), crossover=ops.UniformCrossover(SWAP),
              mutation=ops.GaussianMutation(RATE, SIGMA), elitism=ELITE, seed=0)
    gen = [0]

    def ours(check=True):
        gen[0] += 1
        ops.next_generation(parents, fitness, out, generation=gen[0],
                            check_finite=check, **kw)

    t_ours = median_time(ours, repeats=repeats)
    t_nocheck = median_time(lambda: ours(False), repeats=repeats)
    def ours1():
        ops.next_generation(parents, fitness, out, generation=1, n_threads=1, **kw)

    t_ours1 = median_time(ours1, repeats=repeats)
    c_ours1 = median_cpu_time(ours1, repeats=repeats)
    tmp_b = np.empty((n_children, N), np.float32)
    nrng = np.random.default_rng(1)
    t_np = median_time(lambda: numpy_generation(parents, fitness, out, nrng, tmp_b),
                       repeats=repeats)
    c_np = median_cpu_time(
        lambda: numpy_generation(parents, fitness, out, nrng, tmp_b), repeats=repeats)
    t_np_mask = median_time(
        lambda: numpy_generation_masks(parents, fitness, out, nrng, tmp_b),
        repeats=max(3, repeats // 2))
    t_deap, c_deap = deap_generation_estimate(parents, fitness, n_children,
                                              deap_slice)
    gbs = 12.0 * n_children * N / t_ours / 1e9
    gbs_nocheck = 12.0 * n_children * N / t_nocheck / 1e9
    return dict(
        P=P, N=N, t=t_ours, t_nocheck=t_nocheck, t1=t_ours1, gbs=gbs,
        frac=gbs / copy_gbs, frac_nocheck=gbs_nocheck / copy_gbs,
        t_np=min(t_np, t_np_mask), t_np_gap=t_np, t_np_mask=t_np_mask,
        x_np=min(t_np, t_np_mask) / t_ours, t_deap=t_deap, x_deap=t_deap / t_ours,
        deap_slice=deap_slice, c1=c_ours1, c_np=c_np, c_deap=c_deap,
        gbs_core=12.0 * n_children * N / c_ours1 / 1e9,
    )


def bench_small(repeats):
    """Per-generation microseconds at 64 x 114 (GA defaults, one thread)."""
    P, N = 64, 114
    rng = np.random.default_rng(0)
    parents = rng.standard_normal((P, N), dtype=np.float32)
    fitness = rng.standard_normal(P)
    out = np.empty_like(parents)
    sel, cx = ops.Tournament(3), ops.UniformCrossover()
    mut = ops.GaussianMutation(rate=0.05, sigma=0.05)
    kw = dict(selection=sel, crossover=cx, mutation=mut, elitism=2,
              crossover_prob=0.9, mutation_prob=1.0)
    t_public = median_time(
        lambda: ops.next_generation(parents, fitness, out, seed=0, generation=5,
                                    n_threads=1, **kw),
        repeats=repeats, min_time=0.2)
    plan = ops._GenerationPlan(n_parents=P, n_out=P, n_params=N, caller="GA", **kw)
    t_plan = median_time(lambda: plan.run(parents, fitness, out, 0, 5, False, 1),
                         repeats=repeats, min_time=0.2)
    # the limit: the kernel alone, its inputs computed once outside the loop
    plan.run(parents, fitness, out, 0, 5, False, 1)
    pairs = plan.pairs.copy()
    seeds = row_seeds(0, 5, STREAMS["generation"], P)
    keys = fitness.copy()
    (cx_code, cx_prm, cx_iprm), (codes, table, aux) = plan._cx, plan._mut
    empty = np.empty(0, np.int64)

    def kernel():
        _k._next_generation(parents, out, pairs, seeds, 2,
                            int(_k.SelectionCode.SEL_TOURNAMENT), 3, keys, empty,
                            cx_code, cx_prm, cx_iprm, 0.9, codes, table, aux, 1.0,
                            1)

    t_kernel = median_time(kernel, repeats=repeats, min_time=0.2)
    t_seeds = median_time(lambda: row_seeds(0, 5, STREAMS["generation"], P),
                          repeats=repeats, min_time=0.2)
    return dict(public=t_public, plan=t_plan, kernel=t_kernel, seeds=t_seeds)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--quick", action="store_true", help="fewer repeats")
    args = ap.parse_args(argv)
    repeats = 3 if args.quick else args.repeats
    print(f"load average at start: {os.getloadavg()}, cores: {os.cpu_count()}, "
          f"OpenMP: {ops.openmp_enabled()}")
    copy_gbs = copy_bandwidth_gbs(repeats=repeats)
    print(f"np.copyto bandwidth (read + write): {copy_gbs:.1f} GB/s")

    rows = [bench_case(256, 100_000, repeats, copy_gbs, deap_slice=8),
            bench_case(10_000, 1_000, repeats, copy_gbs, deap_slice=400)]

    # ES noise: 256 x 100,000 standard normals
    eps = np.empty((256, 100_000), np.float32)
    t_sn = median_time(lambda: ops.standard_normal(256, 100_000, seed=0,
                                                   generation=1, out=eps),
                       repeats=repeats)
    t_sn1 = median_time(lambda: ops.standard_normal(256, 100_000, seed=0,
                                                    generation=1, out=eps,
                                                    n_threads=1),
                        repeats=repeats)
    rng = np.random.default_rng(0)
    t_sn_np = median_time(lambda: rng.standard_normal(out=eps, dtype=np.float32),
                          repeats=repeats)

    print()
    print("| case | pyneat_lite | 1 thread | child GB/s | % of copy bw "
          "(no finite check) | plain NumPy | speedup | DEAP (est.) | speedup |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| generation P={r['P']:,} x N={r['N']:,} | {r['t'] * 1e3:.1f} ms | "
              f"{r['t1'] * 1e3:.1f} ms | {r['gbs']:.2f} | {100 * r['frac']:.0f}% "
              f"({100 * r['frac_nocheck']:.0f}%) | {r['t_np'] * 1e3:.1f} ms | "
              f"{r['t_np'] / r['t']:.1f}x | {r['t_deap']:.1f} s | "
              f"{r['x_deap']:.0f}x |")
    print(f"| standard_normal 256 x 100,000 | {t_sn * 1e3:.1f} ms | "
          f"{t_sn1 * 1e3:.1f} ms | {256e5 / t_sn / 1e9:.2f} Gnormal/s | - | "
          f"{t_sn_np * 1e3:.1f} ms (Generator, 1 thread) | {t_sn_np / t_sn:.1f}x "
          "| - | - |")
    print()
    print("CPU time per generation, one thread (process_time medians; robust to "
          "other processes on the cores):")
    print()
    print("| case | pyneat_lite 1 thread | child GB/s per core | plain NumPy | "
          "speedup | DEAP (est.) | speedup |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| P={r['P']:,} x N={r['N']:,} | {r['c1'] * 1e3:.1f} ms | "
              f"{r['gbs_core']:.2f} | {r['c_np'] * 1e3:.1f} ms | "
              f"{r['c_np'] / r['c1']:.1f}x | {r['c_deap']:.1f} s | "
              f"{r['c_deap'] / r['c1']:.0f}x |")
    print()
    for r in rows:
        print(f"P={r['P']} N={r['N']}: ours {r['t'] * 1e3:.1f} ms (no finite "
              f"check {r['t_nocheck'] * 1e3:.1f} ms); NumPy gap/bits "
              f"{r['t_np_gap'] * 1e3:.1f} ms, NumPy masks "
              f"{r['t_np_mask'] * 1e3:.1f} ms; DEAP timed on {r['deap_slice']} "
              "children and scaled")
    small = bench_small(repeats)
    print()
    print("Per-generation cost, 64 x 114 (GA defaults, 1 thread), microseconds:")
    print()
    print("| path | us / generation | x kernel alone |")
    print("|---|---|---|")
    for label, key in [("next_generation (validates every call)", "public"),
                       ("GA plan: _GenerationPlan.run (validated once)", "plan"),
                       ("kernel alone (limit)", "kernel"),
                       ("row_seeds of 64 rows (part of both above)", "seeds")]:
        print(f"| {label} | {small[key] * 1e6:.1f} | "
              f"{small[key] / small['kernel']:.2f} |")
    print()
    print(f"load average at end: {os.getloadavg()} (medians of {repeats} repeats; "
          "other processes share the cores)")


if __name__ == "__main__":
    main()
