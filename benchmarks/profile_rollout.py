"""Where a lane-step of the fused CartPole rollout goes (issue 16's rollout row).

Run from the repository root::

    python benchmarks/profile_rollout.py            # about 20 s
    python benchmarks/profile_rollout.py --quick

``pn.envs.rollout`` steps 32 episodes of a group in lockstep (observe, policy
forward, argmax, CartPole dynamics, bookkeeping), one group per thread.  This
script times, on one thread and in that thread's CPU time, the whole rollout
of P = 1024 trained 4-16-2 tanh policies per lane-step, and the same parts
driven in a compiled loop over one 32-lane group: the policy forward (and
without its ``tanh``, and each layer alone), the environment (observation,
action, dynamics), and the loop body that chains them.  What the rollout
costs beyond the loop body is its bookkeeping (returns, episode ends, lane
refills).  A part driven alone repeats independent steps (the processor
overlaps them), so the parts measure throughput; the rollout chains them
(each step waits for the one before), and the parts need not add up to the
whole.  Limits printed beside the parts: the policy's multiply-adds at the
one-thread float32 GEMM peak measured in the same run, and the lane-step
cost that 10x gymnasium's vector CartPole would need (gymnasium measured in
the same run, per CPU second).  Medians of repeats; the load average is
printed (the machine may be shared).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np
from numba import njit

sys.path.insert(0, os.path.dirname(__file__))
from _util import gemm_peak_gflops_cpu, median_cpu_time  # noqa: E402

import pyneat_lite as pn  # noqa: E402
from pyneat_lite._kernels._config import EXACT_OPTS, LINEAR  # noqa: E402
from pyneat_lite._kernels.envs import (  # noqa: E402
    CARTPOLE,
    actions_lanes,
    observe_lanes,
    step_lanes,
)
from pyneat_lite._kernels.rollout_lanes import GROUP_LANES, forward_lanes  # noqa: E402

NET = pn.Network([4, 16, 2], ["tanh", "linear"])
L = GROUP_LANES
#: parts of the loop body a drive runs (bit flags)
OBS, FWD, ACT, STEP = 1, 2, 4, 8


@njit(**EXACT_OPTS)
def _drive(parts, n_iter, w, meta, work, ao, bo, oo, S, S0, action, params,
           reward, term):
    """``n_iter`` lockstep steps of one 32-lane group running ``parts``; a
    lane whose episode ended restarts from ``S0`` (a branch-free select, no
    RNG; the rollout's own resets are part of its bookkeeping)."""
    obs = work[:ao].reshape(4, L)
    out = work[oo:oo + 2 * L].reshape(2, L)
    lo = np.zeros(1)
    checksum = 0.0
    for _ in range(n_iter):
        if parts & OBS:
            observe_lanes(CARTPOLE, S, obs)
        if parts & FWD:
            forward_lanes(w, meta, work, 0, ao, bo, oo)
        if parts & ACT:
            actions_lanes(CARTPOLE, out, lo, lo, action)
        if parts & STEP:
            step_lanes(CARTPOLE, S, action, params, reward, term)
            for i in range(4):
                for lane in range(L):
                    S[i, lane] = S0[i, lane] if term[lane] else S[i, lane]
        checksum += out[0, 0]
    return checksum


def aligned64(n: int) -> np.ndarray:
    """float32 array of ``n`` starting on a 64-byte boundary (as the
    rollout's own arrays)."""
    buf = np.empty(n + 16, np.float32)
    off = (-buf.ctypes.data % 64) // 4
    return buf[off:off + n]


def group_setup(genome: np.ndarray):
    """Lane-minor weights of 32 copies of ``genome``, a work array with room
    for any one layer's output at ``oo``, and start states."""
    w = aligned64(genome.size * L)
    w[:] = np.repeat(genome[:, None], L, axis=1).ravel()
    ao = 4 * L
    bo = ao + 16 * L
    oo = bo + 16 * L
    work = aligned64(oo + 16 * L)
    work[:] = 0.0
    S0 = np.random.default_rng(0).uniform(-0.05, 0.05, (4, L))
    return w, work, ao, bo, oo, S0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    repeats = 5 if args.quick else 9
    n_iter = 5_000 if args.quick else 20_000

    from bench_rl import trained_population

    P = 1024
    pop = trained_population(P)
    env = pn.envs.CartPole()
    _, steps = pn.envs.rollout(NET, pop, env, episodes=1, seed=0, return_steps=True)
    n_steps = int(steps.sum())

    def whole():
        pn.envs.rollout(NET, pop, env, episodes=1, seed=0, n_threads=1)

    rows = [("whole rollout, P 1024, one thread", median_cpu_time(whole, repeats)
             / n_steps)]

    w, work, ao, bo, oo, S0 = group_setup(pop[0])
    params = env.params
    meta = NET.meta.astype(np.int64)
    lin = meta.copy()
    lin[:, 4] = LINEAR
    S = S0.copy()
    action = np.zeros(L)
    reward = np.zeros(L)
    term = np.zeros(L, np.bool_)

    def part(parts, m):
        def run():
            _drive(parts, n_iter, w, m, work, ao, bo, oo, S, S0, action, params,
                   reward, term)
        return median_cpu_time(run, repeats) / (n_iter * L)

    parts = [
        ("loop body: observe, forward, argmax, dynamics", OBS | FWD | ACT | STEP, meta),
        ("policy forward 4-16-2 tanh", FWD, meta),
        ("policy forward without tanh", FWD, lin),
        ("layer 4-16 + tanh alone", FWD, meta[:1]),
        ("layer 16-2 alone", FWD, meta[1:]),
        ("environment: observe, argmax, dynamics", OBS | ACT | STEP, meta),
        ("dynamics alone", STEP, meta),
    ]
    for name, flags, m in parts:
        rows.append((name, part(flags, np.ascontiguousarray(m))))

    import gymnasium

    venv = gymnasium.make_vec("CartPole-v1", num_envs=P,
                              vectorization_mode="vector_entry_point")
    venv.reset(seed=0)
    acts = np.random.default_rng(0).integers(0, 2, (200, P))

    def gym_steps():
        for a in acts:
            venv.step(a)

    gym_ns = median_cpu_time(gym_steps, repeats) / (200 * P) * 1e9
    venv.close()
    peak = gemm_peak_gflops_cpu(1024, repeats=3)
    fma_floor = 2 * (4 * 16 + 16 * 2) / (peak * 1e9) * 1e9

    print(f"# profile_rollout  (load average {os.getloadavg()[0]:.1f}; one thread, "
          f"thread CPU time; one-thread float32 GEMM peak {peak:.1f} GFLOP/s)\n")
    whole_ns = rows[0][1] * 1e9
    print("| part | ns per lane-step | share of the whole rollout |")
    print("|---|---|---|")
    for name, t in rows:
        print(f"| {name} | {t * 1e9:.1f} | {100 * t * 1e9 / whole_ns:.0f} % |")
    body = rows[1][1] * 1e9
    print(f"| whole - loop body (bookkeeping; parts overlap differently) | {whole_ns - body:.1f} | "
          f"{100 * (whole_ns - body) / whole_ns:.0f} % |")
    print(f"\nLimits: the policy's 96 multiply-adds at the one-thread GEMM peak take "
          f"{fma_floor:.2f} ns per lane-step (the forward runs at "
          f"{fma_floor / (rows[2][1] * 1e9) * 100:.0f} % of it); gymnasium's vector "
          f"CartPole costs {gym_ns:.0f} ns of CPU per env-step (random actions, no "
          f"policy), so 10x gymnasium per CPU second needs <= {gym_ns / 10:.1f} ns "
          f"per lane-step; the rollout takes {whole_ns:.1f} "
          f"({gym_ns / whole_ns:.1f}x gymnasium per CPU second).")
    t0 = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    print(f"(taken {t0}; load average now {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
