"""Per-generation overhead of the library on a small problem.

Run from the repository root::

    python benchmarks/bench_overhead.py [--quick]

64 genomes x 114 parameters (a 4-16-2 CartPole policy).  Three figures, each
the median of repeats, in microseconds per generation:

1. ``ask`` + ``tell`` with the fitness computed outside the timed region: the
   cost of the algorithm itself (operators, sampling, validation, hall of
   fame, history) for the GA and every evolution strategy;
2. a whole CartPole generation: ``ask``, ``pn.envs.rollout`` (1 episode, 200
   steps at most) and ``tell``, with the rollout timed inside each generation,
   so that the share of the overhead is visible;
3. one ``Classification`` call (digits-sized: 64-32-10, 256 samples) next to
   the bare ``Network.forward`` it wraps.

The limit here is the work itself: the ratios print the overhead as a
fraction of the generation's total time.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _util import median_time  # noqa: E402

import pyneat_lite as pn  # noqa: E402

P, NET = 64, pn.Network([4, 16, 2], ["tanh", "linear"])


def _algorithms() -> dict[str, object]:
    n = NET.n_params
    return {
        "GA": pn.GA(n_params=n, pop_size=P, seed=0),
        "OpenES": pn.OpenES(n_params=n, pop_size=P, seed=0),
        "SNES": pn.SNES(n_params=n, pop_size=P, seed=0),
        "SepCMAES": pn.SepCMAES(n_params=n, pop_size=P, seed=0),
        "CEM": pn.CEM(n_params=n, pop_size=P, seed=0),
        "PGPE": pn.PGPE(n_params=n, pop_size=P, seed=0),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer repeats")
    args = ap.parse_args()
    reps = 3 if args.quick else 9
    rng = np.random.default_rng(0)
    fit = rng.standard_normal(P)
    print(f"load average: {os.getloadavg()[0]:.2f}")
    print(f"1. ask + tell, {P} x {NET.n_params}, fitness precomputed (us/gen)")
    for name, algo in _algorithms().items():
        def gen(algo=algo) -> None:
            algo.ask()
            algo.tell(fit)

        for _ in range(5):
            gen()
        t = median_time(gen, repeats=reps, min_time=0.2)
        print(f"   {name:10s} {t * 1e6:9.1f}")

    env = pn.envs.CartPole(max_steps=200)
    ga = pn.GA(n_params=NET.n_params, pop_size=P, seed=0)

    def generation(g: int) -> tuple[float, float]:
        # the rollout is timed inside the generation, on the population the
        # generation evaluates: episode lengths change as the GA improves, so
        # a rollout timed apart would compare different amounts of work
        t0 = time.perf_counter()
        pop = ga.ask()
        t1 = time.perf_counter()
        r = pn.envs.rollout(NET, pop, env, episodes=1, seed=0, generation=g)
        t2 = time.perf_counter()
        ga.tell(r)
        t3 = time.perf_counter()
        return t3 - t0, t2 - t1

    for g in range(5):
        generation(g)
    times = np.array([generation(g) for g in range(5, 5 + 40 * reps)])
    t_gen, t_roll = np.median(times, axis=0)
    over = float(np.median(times[:, 0] - times[:, 1]))
    print("2. CartPole generation (GA, 1 episode, <= 200 steps) (us/gen)")
    print(f"   rollout {t_roll * 1e6:9.1f}   whole generation {t_gen * 1e6:9.1f}"
          f"   overhead {over * 1e6:8.1f} ({over / t_gen:.0%} of the generation;"
          " medians over generations, the rollout timed inside each)")

    net = pn.Network([64, 32, 10], ["tanh", "softmax"])
    X = rng.standard_normal((256, 64)).astype(np.float32)
    y = rng.integers(0, 10, 256)
    pop = net.init_population(P, seed=0)
    task = pn.tasks.Classification(net, X, y, metric="cross_entropy")
    task(pop)
    net.forward(pop, X)
    t_fwd = median_time(lambda: net.forward(pop, X), repeats=reps, min_time=0.2)
    t_task = median_time(lambda: task(pop), repeats=reps, min_time=0.2)
    print(f"3. Classification call, 64-32-10, {P} genomes x 256 samples (us)")
    print(f"   forward alone {t_fwd * 1e6:9.1f}   Classification "
          f"{t_task * 1e6:9.1f}   overhead {(t_task - t_fwd) * 1e6:8.1f}")


if __name__ == "__main__":
    main()
