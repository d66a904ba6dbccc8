"""Harder control benchmark: Acrobot, MountainCar, MountainCarContinuous and
CartPole swing-up on the Numba environments (issue 14).

Run from the repository root::

    python benchmarks/bench_envs.py            # full run (a few minutes)
    python benchmarks/bench_envs.py --quick    # fewer repeats and seeds

1. Steps/s of ``pn.envs.rollout`` with P=1024 random policies (the demos'
   networks, forward pass included), against gymnasium's own environment
   stepped by ``make_vec(..., vectorization_mode="sync")`` (64 envs, random
   actions, no policy: gymnasium has no vectorized Acrobot or MountainCar)
   and against the best plain-NumPy way (dynamics and policy vectorized over
   the population with NumPy: one batched matmul per layer and step; the
   NumPy versions follow gymnasium's formulas but not its float32 rounding).
2. Wall time to solve Acrobot-v1, MountainCar-v0 and MountainCarContinuous-v0
   with the demos of ``pyneat-lite run`` (``pyneat_lite.tasks.demos``): the
   run stops when the ES centre or the best genome averages the goal plus a
   margin over 100 fresh Numba episodes (the check is included in the
   time); the policy is then scored on 100 fresh episodes of gymnasium's own
   environment (``pn.gym.evaluate``, not timed).  Goals: gymnasium's
   ``reward_threshold`` (-100, -110, 90) in under 30 s, median of 5 seeds.
   JIT compilation is excluded (one warm-up run first).
3. CartPole swing-up (no gymnasium counterpart, no threshold): the mean
   return on 100 fresh episodes after the demo's 200 generations.

Every time is a median; the machine may be shared with other jobs, so the
load average is printed with the results.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _util import median_time  # noqa: E402

import pyneat_lite as pn  # noqa: E402
from pyneat_lite.tasks import demos  # noqa: E402

P = 1024
NETS = {
    "Acrobot-v1": pn.Network([6, 16, 3], ["tanh", "linear"]),
    "MountainCar-v0": pn.Network([2, 16, 3], ["tanh", "linear"]),
    "MountainCarContinuous-v0": pn.Network([2, 16, 1], ["tanh", "tanh"]),
    "CartPoleSwingUp": pn.Network([5, 16, 1], ["tanh", "tanh"]),
}
DEMOS = {
    "Acrobot-v1": (demos.acrobot, -100.0),
    "MountainCar-v0": (demos.mountaincar, -110.0),
    "MountainCarContinuous-v0": (demos.mountaincar_continuous, 90.0),
}


# ------------------------------------------------------------ 1. steps/s
def _policy(pop: np.ndarray, net: pn.Network):
    """The layers of ``net`` for every genome, as batched arrays."""
    layers = []
    for n_in, n_o, wo, bo, _act in net.meta:
        layers.append((pop[:, wo:wo + n_in * n_o].reshape(len(pop), n_in, n_o),
                       pop[:, bo:bo + n_o]))
    return layers


def _forward(layers, obs, idx):
    (w1, b1), (w2, b2) = layers
    h = np.tanh(np.einsum("pi,pio->po", obs, w1[idx]) + b1[idx])
    return np.einsum("pi,pio->po", h, w2[idx]) + b2[idx]


def numpy_acrobot(pop: np.ndarray, max_steps: int, seed: int) -> int:
    """Acrobot-v1 (book dynamics, RK4) and the 6-16-3 policy vectorized over
    the population; one episode each; returns the steps taken."""
    layers = _policy(pop, NETS["Acrobot-v1"])
    n = len(pop)
    s = np.random.default_rng(seed).uniform(-0.1, 0.1, (n, 4))
    alive = np.ones(n, bool)
    steps = 0

    def dsdt(y, a):
        t1, t2, d1_, d2_ = y.T
        d1 = 1.0 * 0.25 + (1.0 + 0.25 + 2 * 0.5 * np.cos(t2)) + 2.0
        d2 = (0.25 + 0.5 * np.cos(t2)) + 1.0
        phi2 = 0.5 * 9.8 * np.cos(t1 + t2 - np.pi / 2)
        phi1 = (-0.5 * d2_**2 * np.sin(t2) - 2 * 0.5 * d2_ * d1_ * np.sin(t2)
                + 1.5 * 9.8 * np.cos(t1 - np.pi / 2) + phi2)
        dd2 = (a + d2 / d1 * phi1 - 0.5 * d1_**2 * np.sin(t2) - phi2) / (
            0.25 + 1.0 - d2**2 / d1)
        dd1 = -(d2 * dd2 + phi1) / d1
        return np.stack([d1_, d2_, dd1, dd2], axis=1)

    for _ in range(max_steps):
        idx = np.flatnonzero(alive)
        if idx.size == 0:
            break
        steps += idx.size
        y = s[idx]
        obs = np.stack([np.cos(y[:, 0]), np.sin(y[:, 0]), np.cos(y[:, 1]),
                        np.sin(y[:, 1]), y[:, 2], y[:, 3]], 1).astype(np.float32)
        a = np.argmax(_forward(layers, obs, idx), axis=1) - 1.0
        k1 = dsdt(y, a)
        k2 = dsdt(y + 0.1 * k1, a)
        k3 = dsdt(y + 0.1 * k2, a)
        k4 = dsdt(y + 0.2 * k3, a)
        y = y + 0.2 / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)
        y[:, :2] = (y[:, :2] + np.pi) % (2 * np.pi) - np.pi
        y[:, 2] = np.clip(y[:, 2], -4 * np.pi, 4 * np.pi)
        y[:, 3] = np.clip(y[:, 3], -9 * np.pi, 9 * np.pi)
        s[idx] = y
        alive[idx] = ~(-np.cos(y[:, 0]) - np.cos(y[:, 1] + y[:, 0]) > 1.0)
    return steps


def numpy_mountaincar(pop: np.ndarray, max_steps: int, seed: int) -> int:
    """MountainCar-v0 and the 2-16-3 policy vectorized over the population."""
    layers = _policy(pop, NETS["MountainCar-v0"])
    n = len(pop)
    pos = np.random.default_rng(seed).uniform(-0.6, -0.4, n)
    vel = np.zeros(n)
    alive = np.ones(n, bool)
    steps = 0
    for _ in range(max_steps):
        idx = np.flatnonzero(alive)
        if idx.size == 0:
            break
        steps += idx.size
        p, v = pos[idx], vel[idx]
        obs = np.stack([p, v], 1).astype(np.float32)
        a = np.argmax(_forward(layers, obs, idx), axis=1)
        v = np.clip(v + (a - 1) * 0.001 + np.cos(3 * p) * -0.0025, -0.07, 0.07)
        p = np.clip(p + v, -1.2, 0.6)
        v = np.where((p == -1.2) & (v < 0), 0.0, v)
        pos[idx], vel[idx] = p, v
        alive[idx] = ~((p >= 0.5) & (v >= 0))
    return steps


def gym_sync_rate(env_id: str, repeats: int, n_envs: int = 64,
                  n_steps: int = 100) -> float:
    import gymnasium

    venv = gymnasium.make_vec(env_id, num_envs=n_envs, vectorization_mode="sync")
    venv.reset(seed=0)
    rng = np.random.default_rng(0)
    acts = [venv.action_space.sample() for _ in range(n_steps)]
    del rng

    def run():
        for a in acts:
            venv.step(a)

    t = median_time(run, repeats=repeats, warmup=1)
    venv.close()
    return n_envs * n_steps / t


def bench_steps(repeats: int) -> list[tuple[str, float, float | None, float | None]]:
    rows = []
    numpy_ways = {"Acrobot-v1": numpy_acrobot, "MountainCar-v0": numpy_mountaincar}
    for env_id, net in NETS.items():
        env = pn.envs.ENVS[env_id]()
        pop = net.init_population(P, seed=0)
        _, steps = pn.envs.rollout(net, pop, env, episodes=1, seed=0,
                                   return_steps=True)
        t = median_time(lambda env=env, net=net, pop=pop: pn.envs.rollout(
            net, pop, env, episodes=1, seed=0), repeats=repeats)
        ours = steps.sum() / t
        gym = gym_sync_rate(env_id, repeats) if env_id in DEMOS else None
        numpy_rate = None
        if env_id in numpy_ways:
            fn = numpy_ways[env_id]
            n_np = fn(pop, env.max_steps, 0)
            t_np = median_time(lambda fn=fn, pop=pop, env=env: fn(pop, env.max_steps,
                                                                   0),
                               repeats=max(1, repeats // 2))
            numpy_rate = n_np / t_np
        rows.append((env_id, ours, gym, numpy_rate))
    return rows


# ------------------------------------------------------------ 2. solve time
def solve(env_id: str, seed: int) -> dict[str, float]:
    build, threshold = DEMOS[env_id]
    t0 = time.perf_counter()
    task = build(seed=seed)
    algo = pn.ALGORITHMS[task.algorithm](n_params=task.n_params, pop_size=task.pop,
                                         seed=seed, x0=task.x0, **task.es_kwargs)
    res = algo.run(task.fitness, generations=task.generations,
                   callbacks=task.callbacks)
    elapsed = time.perf_counter() - t0
    solved = task.callbacks[0]
    genome = solved.genome if solved.genome is not None else solved.policy(res.best)
    net = NETS[env_id]
    gym = pn.gym.evaluate(net, genome[None], env_id, episodes=100,
                          seed=10_000 + seed)[0]
    return {"time": elapsed, "generations": res.generations_run,
            "passed": solved.genome is not None, "gym": float(gym),
            "goal": bool(gym >= threshold)}


def swingup_return(seed: int) -> tuple[float, float]:
    task = demos.swingup(seed=seed)
    algo = pn.ALGORITHMS[task.algorithm](n_params=task.n_params, pop_size=task.pop,
                                         seed=seed, x0=task.x0, **task.es_kwargs)
    t0 = time.perf_counter()
    res = algo.run(task.fitness, generations=task.generations)
    elapsed = time.perf_counter() - t0
    genome = np.asarray(algo.mean, np.float32)
    net = NETS["CartPoleSwingUp"]
    env = pn.envs.CartPoleSwingUp()
    check = pn.envs.rollout(net, np.stack([genome, res.best]), env, episodes=100,
                            seed=10_000 + seed, same_starts=False)
    return float(check.max()), elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    repeats = 3 if args.quick else 5
    n_seeds = 3 if args.quick else 5

    for env_id, net in NETS.items():  # JIT
        pn.envs.rollout(net, net.init_population(4, seed=0), pn.envs.ENVS[env_id]())
    print(f"# bench_envs  (load average at start: {os.getloadavg()[0]:.1f}, "
          f"numba threads: {__import__('numba').get_num_threads()})\n")

    print(f"## Steps per second, P = {P} random policies (median of {repeats})\n")
    print("| environment | pn.envs.rollout M steps/s (policy included) | gymnasium "
          "sync vector, 64 envs, no policy | plain NumPy, policy included | "
          "vs gymnasium | vs NumPy |")
    print("|---|---|---|---|---|---|")
    for env_id, ours, gym, numpy_rate in bench_steps(repeats):
        g = f"{gym / 1e6:.3f}" if gym else "-"
        n = f"{numpy_rate / 1e6:.3f}" if numpy_rate else "-"
        rg = f"{ours / gym:.0f}x" if gym else "-"
        rn = f"{ours / numpy_rate:.0f}x" if numpy_rate else "-"
        print(f"| {env_id} | {ours / 1e6:.2f} | {g} | {n} | {rg} | {rn} |")

    print(f"\n## Wall time to reach gymnasium's reward threshold, median of "
          f"{n_seeds} seeds (the demos of `pyneat-lite run`)\n")
    print("| environment | demo | median s | min - max s | median generations | "
          "gymnasium mean return, 100 episodes (min - max over seeds) | goal met |")
    print("|---|---|---|---|---|---|---|")
    for env_id, (build, threshold) in DEMOS.items():
        solve(env_id, 999)  # warm-up: compilation excluded
        res = [solve(env_id, s) for s in range(n_seeds)]
        ts = [r["time"] for r in res]
        gy = [r["gym"] for r in res]
        task = build(seed=0)
        med = statistics.median(ts)
        ok = sum(r["goal"] for r in res)
        print(f"| {env_id} (>= {threshold:g}) | {task.algorithm.upper()} pop "
              f"{task.pop} | {med:.2f} | {min(ts):.2f} - {max(ts):.2f} | "
              f"{statistics.median(r['generations'] for r in res):g} | "
              f"{statistics.median(gy):.1f} ({min(gy):.1f} - {max(gy):.1f}) | "
              f"{ok}/{n_seeds} seeds, median {'<' if med < 30 else '>='} 30 s |")

    print(f"\n## CartPole swing-up after 200 SNES generations, {n_seeds} seeds\n")
    print("| seed | mean return, 100 fresh episodes (max 500) | run s |")
    print("|---|---|---|")
    for s in range(n_seeds):
        ret, t = swingup_return(s)
        print(f"| {s} | {ret:.1f} | {t:.2f} |")
    print(f"\n(load average at end: {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
