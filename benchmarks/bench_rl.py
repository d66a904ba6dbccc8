"""Reinforcement-learning benchmark: environment steps per second, wall time to
solve CartPole-v1, and the per-generation overhead of the distributed evaluators.

Run from the repository root::

    python benchmarks/bench_rl.py            # full run (a few minutes)
    python benchmarks/bench_rl.py --quick    # fewer repeats and seeds

1. Steps/s of ``pn.envs.rollout`` on CartPole with P=1024 policies 4-16-2
   (tanh hidden layer; the policy's forward pass is included), against
   gymnasium's own vectorized CartPole (``make_vec(..., "vector_entry_point")``,
   1024 envs, random actions, no policy at all) and against the best plain
   NumPy way (the same dynamics and policy vectorized over the population with
   NumPy, one batched matmul per layer and step).  The policy's FLOP rate is
   also given as a fraction of the float32 GEMM peak measured in the same run.
2. Wall time to solve CartPole-v1 with the GA and OpenES, median over seeds:
   the run stops when a genome whose training return reached 475 also
   averages >= 475 over 10 fresh episodes (that check is included in the
   time).  JIT compilation is excluded (one warm-up run first).  For scale,
   the same GA driven by ``pn.gym.evaluate`` (gymnasium's vector CartPole) is
   timed on a few seeds.
3. Per-call cost of ``pn.envs.Rollout`` on a small population (P=64, the
   CartPole problem of ``bench_overhead.py``): the call against the bare
   compiled kernel on the same arguments (the limit: what is left is
   validation, seeding and dispatch), and the serial against the parallel
   kernel (``n_threads=1`` vs the default), for P=64 and P=1024; and a whole
   GA generation (ask, Rollout, tell) against the bare kernel on the same
   population and start states, generation by generation, so that longer
   episodes as the policies improve do not count as overhead.
4. Per-generation overhead of ``ProcessPool`` and ``Ray`` over in-process
   evaluation, for a batched fitness that takes 10 ms per chunk (a sleep, so
   that the two cores of this machine really run two chunks at once).

Every figure is the median of repeats.  The machine may be shared with other
jobs: the load average is printed with the results.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _util import gemm_peak_gflops, median_cpu_time, median_time  # noqa: E402

import pyneat_lite as pn  # noqa: E402

NET = pn.Network([4, 16, 2], ["tanh", "linear"])
SOLVED = 475.0


# ------------------------------------------------------------ 1. steps/s
def numpy_rollout(pop: np.ndarray, max_steps: int, seed: int) -> int:
    """The best plain-NumPy way: CartPole dynamics and the 4-16-2 policy
    vectorized over the population (one episode each); returns steps taken."""
    n = pop.shape[0]
    W1 = pop[:, :64].reshape(n, 4, 16)
    b1 = pop[:, 64:80]
    W2 = pop[:, 80:112].reshape(n, 16, 2)
    b2 = pop[:, 112:114]
    rng = np.random.default_rng(seed)
    s = rng.uniform(-0.05, 0.05, (4, n))
    alive = np.ones(n, bool)
    steps = 0
    g, mc, mp, length, fm, tau = 9.8, 1.0, 0.1, 0.5, 10.0, 0.02
    tm, pml = mp + mc, mp * length
    thr = 12 * 2 * np.pi / 360
    for _ in range(max_steps):
        idx = np.flatnonzero(alive)
        if idx.size == 0:
            break
        steps += idx.size
        x, x_dot, th, th_dot = s[:, idx]
        obs = s[:, idx].T.astype(np.float32)
        h = np.tanh(np.einsum("pi,pio->po", obs, W1[idx]) + b1[idx])
        out = np.einsum("pi,pio->po", h, W2[idx]) + b2[idx]
        force = np.where(out[:, 1] > out[:, 0], fm, -fm)
        c, si = np.cos(th), np.sin(th)
        temp = (force + pml * th_dot**2 * si) / tm
        thacc = (g * si - c * temp) / (length * (4.0 / 3.0 - mp * c**2 / tm))
        xacc = temp - pml * thacc * c / tm
        s[:, idx] = (x + tau * x_dot, x_dot + tau * xacc, th + tau * th_dot,
                     th_dot + tau * thacc)
        x, th = s[0, idx], s[2, idx]
        alive[idx] = ~((x < -2.4) | (x > 2.4) | (th < -thr) | (th > thr))
    return steps


def trained_population(n: int) -> np.ndarray:
    """n copies of policies that balance for the full 500 steps (so that the
    steps/s figure is not dominated by resets of 10-step episodes)."""
    fit = pn.envs.Rollout(NET, pn.envs.CartPole(), episodes=3, seed=0)
    ga = pn.GA(n_params=NET.n_params, pop_size=64, seed=0)
    ga.run(fit, generations=60, target=500.0)
    return np.repeat(ga.best[None], n, axis=0)


def bench_steps(repeats: int) -> list[tuple[str, float, float]]:
    """(name, steps per wall second, steps per CPU second of the process, all
    threads) of every implementation; CPU time is the fairer figure on a
    shared machine (a descheduled thread costs wall time, not CPU time)."""
    import gymnasium

    env = pn.envs.CartPole()
    rows = []
    P = 1024
    pops = {"random policies": NET.init_population(P, seed=0),
            "trained policies (500-step episodes)": trained_population(P)}
    for name, pop in pops.items():
        _, steps = pn.envs.rollout(NET, pop, env, episodes=1, seed=0,
                                   return_steps=True)
        for nt, label in ((None, ""), (1, ", n_threads=1")):
            def run(pop=pop, nt=nt):
                return pn.envs.rollout(NET, pop, env, episodes=1, seed=0,
                                       n_threads=nt)
            t = median_time(run, repeats=repeats)
            c = median_cpu_time(run, repeats=repeats)
            rows.append((f"pn.envs.rollout, {name}{label}", steps.sum() / t,
                         steps.sum() / c))
    venv = gymnasium.make_vec("CartPole-v1", num_envs=P,
                              vectorization_mode="vector_entry_point")
    venv.reset(seed=0)
    acts = np.random.default_rng(0).integers(0, 2, (200, P))

    def gym_steps():
        for a in acts:
            venv.step(a)

    t = median_time(gym_steps, repeats=repeats)
    c = median_cpu_time(gym_steps, repeats=repeats)
    rows.append((GYM_ROW, 200 * P / t, 200 * P / c))
    venv.close()
    pop = pops["random policies"]
    n_np = numpy_rollout(pop, 500, 0)
    t = median_time(lambda: numpy_rollout(pop, 500, 0), repeats=repeats)
    c = median_cpu_time(lambda: numpy_rollout(pop, 500, 0), repeats=repeats)
    rows.append((NUMPY_ROW, n_np / t, n_np / c))
    return rows


GYM_ROW = "gymnasium make_vec vector_entry_point, random actions, no policy"
NUMPY_ROW = "plain NumPy (dynamics + policy vectorized), random policies"


# ------------------------------------------------------------ 2. solve time
def solved_callback(env, seed, found):
    checked: set[bytes] = set()

    def callback(alg):
        hof = alg.hall_of_fame
        cands = [g for g, f in zip(hof.genomes, hof.fitness, strict=True)
                 if f >= SOLVED]
        if getattr(alg, "mean", None) is not None:
            cands.append(np.asarray(alg.mean, np.float32))
        cands = [g for g in cands if g.tobytes() not in checked]
        if not cands:
            return False
        checked.update(g.tobytes() for g in cands)
        c = np.stack(cands)
        val = pn.envs.rollout(NET, c, env, episodes=10, seed=seed, same_starts=False)
        best = int(np.argmax(val))
        if val[best] >= SOLVED:
            found["genome"] = c[best]
            return True
        return False

    return callback


# (constructor, episodes per genome, label).  Hyper-parameters chosen by a
# small sweep on seeds 0-9 (population 32-128, sigma 0.1-0.5, lr 0.05-0.2):
# the largest step sizes that still solve every seed.
ALGOS = {
    "GA": (lambda seed: pn.GA(n_params=NET.n_params, pop_size=128, seed=seed), 1,
           "GA (pop 128, defaults)"),
    "OpenES": (lambda seed: pn.OpenES(n_params=NET.n_params, pop_size=128, sigma=0.3,
                                      lr=0.2, seed=seed), 1,
               "OpenES (pop 128, sigma 0.3, lr 0.2)"),
}


def solve(name: str, seed: int, fitness=None) -> tuple[float, int, bool]:
    make, episodes, _ = ALGOS[name]
    env = pn.envs.CartPole()
    fit = fitness or pn.envs.Rollout(NET, env, episodes=episodes, seed=seed)
    found: dict[str, np.ndarray] = {}
    t0 = time.perf_counter()
    alg = make(seed)
    alg.run(fit, generations=300,
            callbacks=[solved_callback(env, 10**6 + seed, found)])
    return time.perf_counter() - t0, alg.generation, "genome" in found


class GymFitness:
    """Same task through gymnasium's vector API (one env per genome)."""

    def __init__(self, seed):
        self.seed, self.generation = seed, 0

    def __call__(self, pop):
        out = pn.gym.evaluate(NET, pop, "CartPole-v1", episodes=1, seed=self.seed,
                              generation=self.generation)
        self.generation += 1
        return out


# ------------------------------------------------------ 3. per-call cost
def bench_call(repeats: int) -> tuple[list[tuple[str, float, float]],
                                      list[tuple[int, float, float]]]:
    from pyneat_lite._kernels.genome_source import dense_source
    from pyneat_lite._kernels.rollout import no_norm, rollout_serial
    from pyneat_lite._rng import STREAMS, row_seeds

    env = pn.envs.CartPole(max_steps=200)
    pop = NET.init_population(64, seed=0)
    fit = pn.envs.Rollout(NET, env, episodes=1, seed=0, n_threads=1)
    seeds = row_seeds(0, 0, STREAMS["env"], 1).reshape(1, 1)
    ret, steps = np.empty(64), np.empty(64, np.int64)
    args = (pop, NET.meta, NET.max_width, NET.n_out, env._kind, env.obs_dim,
            env.state_dim, env.params, env.action_low, env.action_high, seeds,
            env.max_steps, 1, ret, steps, 0, *no_norm(env.obs_dim), dense_source())
    t_kernel = median_time(lambda: rollout_serial(*args), repeats=repeats,
                           min_time=0.2)
    t_call = median_time(lambda: fit.evaluate(pop, 0), repeats=repeats, min_time=0.2)
    t_tiny_kernel = median_time(
        lambda: rollout_serial(*args[:11], 1, *args[12:]), repeats=repeats,
        min_time=0.2)
    tiny = pn.envs.Rollout(NET, env, episodes=1, max_steps=1, seed=0, n_threads=1)
    t_tiny = median_time(lambda: tiny.evaluate(pop, 0), repeats=repeats,
                         min_time=0.2)
    calls = [("Rollout, <= 200 steps", t_call, t_kernel),
             ("Rollout, 1 step (overhead only)", t_tiny, t_tiny_kernel)]
    threads = []
    for n in (64, 1024):
        p = NET.init_population(n, seed=0)
        t1 = median_time(lambda p=p: pn.envs.rollout(NET, p, env, n_threads=1),
                         repeats=repeats, min_time=0.2)
        tn = median_time(lambda p=p: pn.envs.rollout(NET, p, env), repeats=repeats,
                         min_time=0.2)
        threads.append((n, t1, tn))
    return calls, threads


def bench_generation(n_gens: int) -> tuple[float, float, float]:
    """Medians over ``n_gens`` GA generations of 64 x 114 on CartPole (1
    episode, <= 200 steps) of the whole generation, of the bare kernel on the
    same population and starts, and of their difference, in seconds."""
    from pyneat_lite._kernels.genome_source import dense_source
    from pyneat_lite._kernels.rollout import (
        LANES,
        no_norm,
        rollout_parallel,
        rollout_serial,
    )
    from pyneat_lite._rng import STREAMS, row_seeds
    from pyneat_lite._threads import kernel_threads

    env = pn.envs.CartPole(max_steps=200)
    ga = pn.GA(n_params=NET.n_params, pop_size=64, seed=0)
    fit = pn.envs.Rollout(NET, env, episodes=1, seed=0)
    ret, steps = np.empty(64), np.empty(64, np.int64)
    groups = -(-64 // LANES)
    nt = kernel_threads(None, 64 * NET.n_params * env.max_steps, groups)
    whole, bare = [], []
    for _ in range(n_gens + 5):
        g = fit.generation
        t0 = time.perf_counter()
        pop = ga.ask()
        ga.tell(fit(pop))
        t1 = time.perf_counter()
        seeds = row_seeds(0, g, STREAMS["env"], 1).reshape(1, 1)
        args = (pop, NET.meta, NET.max_width, NET.n_out, env._kind, env.obs_dim,
                env.state_dim, env.params, env.action_low, env.action_high, seeds,
                env.max_steps)
        t2 = time.perf_counter()
        if nt == 1:
            rollout_serial(*args, 1, ret, steps, 0, *no_norm(env.obs_dim),
                           dense_source())
        else:
            rollout_parallel(*args, nt, ret, steps, nt, 0,
                             *no_norm(env.obs_dim), dense_source())
        t3 = time.perf_counter()
        whole.append(t1 - t0)
        bare.append(t3 - t2)
    diff = [w - b for w, b in zip(whole[5:], bare[5:], strict=True)]
    return (statistics.median(whole[5:]), statistics.median(bare[5:]),
            statistics.median(diff))


# ------------------------------------------------------------ 4. overhead
def sleep_chunk(population: np.ndarray) -> np.ndarray:
    time.sleep(0.01)
    return -np.sum(population.astype(np.float64) ** 2, axis=1)


def bench_overhead(repeats: int, n_workers: int = 2) -> list[tuple[str, float, float]]:
    import ray

    pop = np.random.default_rng(0).standard_normal((256, 1000)).astype(np.float32)
    chunk = pop.shape[0] // n_workers
    ideal = 0.010  # n_workers chunks of 10 ms in parallel

    def in_process():
        for lo in range(0, pop.shape[0], chunk):
            sleep_chunk(pop[lo:lo + chunk])

    rows = [("in-process, chunks one after the other",
             median_time(in_process, repeats=repeats), 0.010 * n_workers)]
    with pn.ProcessPool(n_workers, batched=True, chunk_size=chunk) as pool:
        t = median_time(lambda: pool.evaluate(sleep_chunk, pop), repeats=repeats,
                        warmup=2)
        rows.append((f"ProcessPool({n_workers})", t, ideal))
    ray.init(num_cpus=n_workers, include_dashboard=False, log_to_driver=False,
             configure_logging=False)
    try:
        ev = pn.Ray(batched=True, chunk_size=chunk)
        t = median_time(lambda: ev.evaluate(sleep_chunk, pop), repeats=repeats,
                        warmup=3)
        rows.append((f"Ray(num_cpus={n_workers})", t, ideal))
    finally:
        ray.shutdown()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--steps-only", action="store_true",
                        help="only section 1 (steps/s), a minute or so")
    args = parser.parse_args()
    repeats = 3 if args.quick else 7
    n_seeds = 4 if args.quick else 10

    pn.envs.rollout(NET, NET.init_population(4, seed=0), pn.envs.CartPole())  # JIT
    peak = gemm_peak_gflops(1024 if args.quick else 2048, repeats=3)
    print(f"# bench_rl  (load average at start: {os.getloadavg()[0]:.1f}, "
          f"numba threads: {__import__('numba').get_num_threads()}, "
          f"float32 GEMM peak: {peak:.1f} GFLOP/s)\n")

    rows = bench_steps(repeats)
    gym = next(r for r in rows if r[0] == GYM_ROW)
    numpy_row = next(r for r in rows if r[0] == NUMPY_ROW)
    flops_per_step = 2 * (4 * 16 + 16 * 2)
    print("## CartPole-v1 steps per second, P = 1024 policies 4-16-2 "
          f"(median of {repeats}; per wall second and per CPU second of all "
          "the process's threads)\n")
    print("| implementation | M steps/s | vs gymnasium | vs NumPy | M steps/CPU-s "
          "| vs gymnasium (CPU) | policy GFLOP/s (% GEMM peak) |")
    print("|---|---|---|---|---|---|---|")
    for name, rate, cpu_rate in rows:
        gf = rate * flops_per_step / 1e9
        pol = f"{gf:.2f} ({100 * gf / peak:.1f} %)" if name != GYM_ROW else "-"
        print(f"| {name} | {rate / 1e6:.2f} | {rate / gym[1]:.1f}x | "
              f"{rate / numpy_row[1]:.1f}x | {cpu_rate / 1e6:.2f} | "
              f"{cpu_rate / gym[2]:.1f}x | {pol} |")
    best = max(r[1] for r in rows if r[0].startswith("pn."))
    best_cpu = max(r[2] for r in rows if r[0].startswith("pn."))
    print(f"\nGoal (issue 16): >= 10x gymnasium's vector env; reached "
          f"{best / gym[1]:.1f}x in wall time "
          f"({'met' if best >= 10 * gym[1] else 'missed'}), {best_cpu / gym[2]:.1f}x "
          f"per CPU second ({'met' if best_cpu >= 10 * gym[2] else 'missed'}); "
          f"load average now {' '.join(f'{v:.1f}' for v in os.getloadavg())}")
    if args.steps_only:
        return

    print(f"\n## Wall time to solve CartPole-v1 (>= {SOLVED:.0f} over 10 fresh "
          f"episodes), median of {n_seeds} seeds\n")
    print("| algorithm | fitness | median s | min - max s | median generations | "
          "solved |")
    print("|---|---|---|---|---|---|")
    for name in ALGOS:
        solve(name, 999)  # warm-up: compilation excluded
        res = [solve(name, s) for s in range(n_seeds)]
        ts = [r[0] for r in res]
        print(f"| {ALGOS[name][2]}, 1 episode/genome | pn.envs.Rollout | "
              f"{statistics.median(ts):.3f} | {min(ts):.3f} - {max(ts):.3f} | "
              f"{statistics.median(r[1] for r in res):g} | "
              f"{sum(r[2] for r in res)}/{n_seeds} |")
    n_gym = 2 if args.quick else 3
    res = [solve("GA", s, GymFitness(s)) for s in range(n_gym)]
    ts = [r[0] for r in res]
    print(f"| {ALGOS['GA'][2]}, 1 episode/genome | pn.gym.evaluate (gymnasium vector "
          f"env) | {statistics.median(ts):.3f} | {min(ts):.3f} - {max(ts):.3f} | "
          f"{statistics.median(r[1] for r in res):g} | {sum(r[2] for r in res)}/"
          f"{n_gym} |")

    calls, threads = bench_call(repeats)
    print(f"\n## pn.envs.Rollout per call, P = 64, CartPole (median of {repeats})\n")
    print("| call | us / call | bare kernel us | overhead us |")
    print("|---|---|---|---|")
    for name, t, k in calls:
        print(f"| {name} | {t * 1e6:.1f} | {k * 1e6:.1f} | {(t - k) * 1e6:.1f} |")
    t_gen, t_bare, t_over = bench_generation(60 if args.quick else 300)
    print(f"| GA generation (ask + Rollout + tell), 64 x 114 | {t_gen * 1e6:.1f} | "
          f"{t_bare * 1e6:.1f} | {t_over * 1e6:.1f} (median of differences) |")
    print("\n| P | n_threads=1 ms | default ms | speed-up |")
    print("|---|---|---|---|")
    for n, t1, tn in threads:
        print(f"| {n} | {t1 * 1e3:.2f} | {tn * 1e3:.2f} | {t1 / tn:.2f}x |")

    print(f"\n## Evaluator overhead per generation: 2 chunks of 10 ms, population "
          f"256 x 1000 (median of {repeats})\n")
    print("| evaluator | s / generation | ideal s | overhead ms |")
    print("|---|---|---|---|")
    for name, t, ideal in bench_overhead(repeats):
        print(f"| {name} | {t:.4f} | {ideal:.3f} | {1e3 * (t - ideal):.1f} |")
    print(f"\n(load average at end: {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
