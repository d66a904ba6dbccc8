"""NSGA-II on ZDT1: ``pn.GA(selection=pn.NSGA2())`` against DEAP's NSGA-II.

Run from the repository root::

    python benchmarks/bench_nsga.py [--quick] [--seeds 5] [--generations 250]

Both run Deb et al.'s setup as DEAP's example ``examples/ga/nsga2.py``
writes it: 30 variables in [0, 1], 100 parents and 100 children, SBX
(eta 20, each pair crossed with probability 0.9, each gene with probability
1/2), polynomial mutation (eta 20, each gene with probability 1/30), crowded
binary tournaments, (mu + lambda) survival by front and crowding distance.
DEAP uses ``cxSimulatedBinaryBounded``, ``mutPolynomialBounded``,
``selTournamentDCD`` and ``selNSGA2``, with ZDT1 evaluated per individual
(``deap.benchmarks.zdt1``); pn.GA one NumPy call per generation.

Two figures, as ratios measured in the same run:

1. Hypervolume of the final first front (reference point (1.1, 1.1)) after
   the same number of evaluations, median over seeds, as a ratio to DEAP's
   (goal: >= 0.99) and to the true front's (0.8767).
2. Wall time per generation (variation, evaluation, survival), median of
   repeats that alternate between the two, as DEAP / ours.

Quote the figures with the load (``uptime``) under which they were taken.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _util import fmt_row  # noqa: E402

import pyneat_lite as pn  # noqa: E402

N_VARS, MU, CXPB, ETA = 30, 100, 0.9, 20.0
REF = (1.1, 1.1)
#: hypervolume of ZDT1's true front f2 = 1 - sqrt(f1) within REF
TRUE_HV = 0.1 + 2.0 / 3.0 + 0.1 * 1.1


def zdt1(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    f1 = x[:, 0]
    g = 1.0 + 9.0 * x[:, 1:].mean(axis=1)
    return np.stack([f1, g * (1.0 - np.sqrt(f1 / g))], axis=1)


def hypervolume_2d(F: np.ndarray, ref: tuple[float, float] = REF) -> float:
    """Area dominated by the points ``F`` (minimised) within ``ref``."""
    F = F[(F[:, 0] < ref[0]) & (F[:, 1] < ref[1])]
    if F.shape[0] == 0:
        return 0.0
    F = F[np.lexsort((F[:, 1], F[:, 0]))]
    hv, best_f2 = 0.0, ref[1]
    for i in range(F.shape[0]):
        if F[i, 1] < best_f2:
            nxt = ref[0]
            hv += (nxt - F[i, 0]) * (best_f2 - F[i, 1])
            best_f2 = F[i, 1]
    return hv


def _first_front(F: np.ndarray) -> np.ndarray:
    front, _ = pn.NSGA2().rank(F, minimize=True)
    return F[front == 0]


# -------------------------------------------------------------- pyneat_lite
def ours(seed: int):
    ga = pn.GA(
        n_params=N_VARS, pop_size=MU, selection=pn.NSGA2(),
        crossover=pn.SBXCrossover(eta=ETA, low=0.0, high=1.0),
        mutation=pn.PolynomialMutation(rate=1.0 / N_VARS, eta=ETA, low=0.0,
                                       high=1.0),
        crossover_prob=CXPB, minimize=True, seed=seed,
        initial_population=np.random.default_rng(seed).random((MU, N_VARS)))

    def step() -> None:
        ga.tell(zdt1(ga.ask()))

    def front() -> np.ndarray:
        return ga.pareto_front.objectives

    return step, front


# --------------------------------------------------------------------- DEAP
def deap(seed: int):
    from deap import base, benchmarks, creator, tools

    if not hasattr(creator, "FitnessMin2"):
        creator.create("FitnessMin2", base.Fitness, weights=(-1.0, -1.0))
        creator.create("Individual2", list, fitness=creator.FitnessMin2)
    random.seed(seed)
    tb = base.Toolbox()
    tb.register("evaluate", benchmarks.zdt1)
    tb.register("mate", tools.cxSimulatedBinaryBounded, low=0.0, up=1.0, eta=ETA)
    tb.register("mutate", tools.mutPolynomialBounded, low=0.0, up=1.0, eta=ETA,
                indpb=1.0 / N_VARS)
    init = np.random.default_rng(seed).random((MU, N_VARS))
    pop = [creator.Individual2(row.tolist()) for row in init]
    for ind in pop:
        ind.fitness.values = tb.evaluate(ind)
    pop = tools.selNSGA2(pop, MU)  # assigns the crowding distances

    def step() -> None:
        nonlocal pop
        offspring = [tb.clone(ind) for ind in tools.selTournamentDCD(pop, len(pop))]
        for a, b in zip(offspring[::2], offspring[1::2], strict=True):
            if random.random() <= CXPB:
                tb.mate(a, b)
            tb.mutate(a)
            tb.mutate(b)
            del a.fitness.values, b.fitness.values
        for ind in offspring:
            ind.fitness.values = tb.evaluate(ind)
        pop = tools.selNSGA2(pop + offspring, MU)

    def front() -> np.ndarray:
        return _first_front(np.array([ind.fitness.values for ind in pop]))

    return step, front


def quality(seeds: int, generations: int) -> None:
    print(f"\n1. hypervolume of the first front after {generations} generations "
          f"({MU * (generations + 1)} evaluations), reference {REF}; "
          f"true front {TRUE_HV:.4f}")
    widths = [6, 12, 12, 12]
    print(fmt_row(["seed", "pn.GA", "DEAP", "ratio"], widths))
    hv_o, hv_d = [], []
    for s in range(seeds):
        res = []
        for make in (ours, deap):
            step, front = make(s)
            for _ in range(generations):
                step()
            res.append(hypervolume_2d(front()))
        hv_o.append(res[0])
        hv_d.append(res[1])
        print(fmt_row([s, f"{res[0]:.4f}", f"{res[1]:.4f}",
                       f"{res[0] / res[1]:.4f}"], widths), flush=True)
    mo, md = statistics.median(hv_o), statistics.median(hv_d)
    print(fmt_row(["median", f"{mo:.4f}", f"{md:.4f}", f"{mo / md:.4f}"], widths))
    print(f"   ours / true front {mo / TRUE_HV:.4f}, DEAP / true front "
          f"{md / TRUE_HV:.4f}")


def timing(gens: int, repeats: int) -> None:
    print(f"\n2. wall time per generation (median of {repeats} alternating "
          f"repeats of {gens} generations)")
    steppers = [ours(0)[0], deap(0)[0]]
    for step in steppers:  # warm up
        for _ in range(3):
            step()
    samples: list[list[float]] = [[], []]
    for _ in range(repeats):
        for k, step in enumerate(steppers):
            t0 = time.perf_counter()
            for _ in range(gens):
                step()
            samples[k].append((time.perf_counter() - t0) / gens)
    o, d = (statistics.median(v) for v in samples)
    widths = [12, 12, 12]
    print(fmt_row(["pn.GA", "DEAP", "DEAP / ours"], widths))
    print(fmt_row([f"{o * 1e3:.2f} ms", f"{d * 1e3:.2f} ms", f"{d / o:.1f}x"],
                  widths))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="2 seeds, 100 generations")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--generations", type=int, default=250)
    args = ap.parse_args()
    try:
        import deap  # noqa: F401
    except ImportError:
        sys.exit("bench_nsga.py needs DEAP: pip install deap (or the bench extra)")
    seeds, gens = (2, 100) if args.quick else (args.seeds, args.generations)
    print(f"pyneat_lite {pn.__version__}, load {os.getloadavg()[0]:.2f} on "
          f"{os.cpu_count()} cores")
    ours(0)[0]()  # JIT
    quality(seeds, gens)
    timing(gens=10 if args.quick else 20, repeats=3 if args.quick else 5)
    print(f"\nload at the end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
