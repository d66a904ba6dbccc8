"""Evolve a CartPole-v1 agent on the Numba environment, check it on gymnasium,
save the policy and load it back.

The whole population is stepped by one compiled call per generation
(``pn.envs.Rollout``), so a generation of 64 policies x 10 episodes x up to
500 steps costs milliseconds. The environment reproduces gymnasium's
CartPole-v1 (same constants, Euler step, termination and truncation), so the
evolved policy is then played on gymnasium itself.

Usage::

    python examples/cartpole.py [--generations 50] [--pop 64] [--seed 0]
        [--time-limit SECONDS] [--out DIR]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

import pyneat_lite as pn


def main(argv: list[str] | None = None) -> dict[str, float]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--generations", type=int, default=50)
    ap.add_argument("--pop", type=int, default=64)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--time-limit", type=float, default=None)
    ap.add_argument("--out", default=None, help="where to save the policy and plot")
    args = ap.parse_args(argv)

    net = pn.Network([4, 16, 2], ["tanh", "linear"])  # 2 outputs: argmax = action
    env = pn.envs.CartPole()
    # 10 episodes per evaluation, new start states every generation: the
    # target (500, the maximum) then means a robust policy, not a lucky one.
    fitness = pn.envs.Rollout(net, env, episodes=10, seed=args.seed)
    ga = pn.GA(
        n_params=net.n_params,
        pop_size=args.pop,
        seed=args.seed,
        selection=pn.Tournament(k=3),
        mutation=pn.GaussianMutation(rate=0.1, sigma=0.1),
        elitism=2,
    )
    t0 = time.perf_counter()
    result = ga.run(
        fitness,
        generations=args.generations,
        target=500.0,
        time_limit=args.time_limit,
        progress=True,
    )
    print(
        f"{result.stop_reason} after {result.generations_run} generations, "
        f"{time.perf_counter() - t0:.2f} s: best mean return {result.best_fitness:.1f}"
    )

    best = result.best
    numba_check = pn.envs.rollout(
        net, best[None], env, episodes=100, seed=args.seed + 1, generation=10**6
    )[0]
    gym_check = pn.gym.evaluate(
        net, best[None], "CartPole-v1", episodes=10, seed=args.seed + 2
    )[0]
    print(
        f"new episodes: Numba env {numba_check:.1f} (100 episodes), "
        f"gymnasium CartPole-v1 {gym_check:.1f} (10 episodes); solved = 475"
    )

    out = Path(args.out) if args.out else Path(tempfile.mkdtemp())
    out.mkdir(parents=True, exist_ok=True)
    path = out / "cartpole_policy.npz"
    pn.save_policy(path, net, best)  # the format `pyneat-lite run --out` writes
    net2, genome2 = pn.load_policy(path)
    assert net2 == net and np.array_equal(genome2, best)
    reloaded = pn.gym.evaluate(
        net2, genome2[None], "CartPole-v1", episodes=10, seed=args.seed + 2
    )[0]
    print(f"saved {path}; reloaded policy on gymnasium: {reloaded:.1f}")
    if args.out:
        result.plot(out / "cartpole_fitness.png")
    return {
        "best_fitness": result.best_fitness,
        "numba_check": float(numba_check),
        "gym_check": float(gym_check),
        "reloaded": float(reloaded),
    }


if __name__ == "__main__":
    main()
