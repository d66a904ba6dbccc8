"""The rollout's lane-major policy forward (issue 16): 16-lane vector blocks,
two per group, bit-identical to Network.forward_each."""

from __future__ import annotations

import numpy as np
import pytest

import pyneat_lite as pn
from pyneat_lite._kernels.rollout import LANES
from pyneat_lite._kernels.rollout_lanes import BLOCK_LANES, GROUP_LANES, forward_lanes
from pyneat_lite.activations import ACTIVATION_NAMES


@pytest.mark.parametrize("act", ACTIVATION_NAMES)
def test_forward_lanes_equals_forward_each(act):
    assert LANES == GROUP_LANES and LANES % BLOCK_LANES == 0
    rng = np.random.default_rng(len(act))
    # wide layers of even and odd widths, narrow ones with and without a
    # tail beyond a multiple of 4 inputs, 1 to 3 layers
    for sizes in ([4, 16, 2], [3, 9, 7, 1], [6, 8, 3], [5, 2], [2, 11, 4, 2],
                  [7, 12, 9, 5]):
        net = pn.Network(sizes, [act] * (len(sizes) - 1))
        n_lanes = LANES
        pop = rng.normal(0.0, 0.8, (n_lanes, net.n_params)).astype(np.float32)
        obs = (2 * rng.standard_normal((n_lanes, sizes[0]))).astype(np.float32)
        w = np.ascontiguousarray(pop.T).reshape(-1)
        # one work array: inputs, two scratch regions, outputs (offsets)
        ao = sizes[0] * n_lanes
        bo = ao + net.max_width * n_lanes
        oo = bo + net.max_width * n_lanes
        v = np.full(oo + net.n_out * n_lanes, np.nan, np.float32)
        v[:ao] = np.ascontiguousarray(obs.T).reshape(-1)
        forward_lanes(w, net.meta, v, 0, ao, bo, oo)
        np.testing.assert_array_equal(v[oo:].reshape(net.n_out, n_lanes).T,
                                      net.forward_each(pop, obs))
        np.testing.assert_array_equal(v[:ao], np.ascontiguousarray(obs.T).reshape(-1))


@pytest.mark.parametrize("n_out", [2, 3])
def test_discrete_actions_are_numpy_argmax(n_out):
    """The 2-action fast path and the general loop both pick the first
    maximum, as np.argmax does (ties, infinities, -0.0 against 0.0)."""
    from pyneat_lite._kernels.envs import CARTPOLE, actions_lanes

    rng = np.random.default_rng(n_out)
    vals = np.array([0.0, -0.0, 1.0, -1.0, np.inf, -np.inf, 0.5], np.float32)
    out = rng.choice(vals, (n_out, 4 * LANES)).astype(np.float32)
    out[:, :LANES] = rng.standard_normal((n_out, LANES))
    action = np.full(out.shape[1], -7.0)
    actions_lanes(CARTPOLE, out, np.zeros(1), np.zeros(1), action)
    np.testing.assert_array_equal(action, np.argmax(out, axis=0))


def test_tanh_block_is_tanh32_bit_for_bit():
    """The 16- and 8-lane vector tanh of the rollout and tiled kernels gives
    each lane ``tanh32``'s bits (float32 values over and beyond the clamp,
    tiny and subnormal ones, signed zeros, infinities, NaN)."""
    from numba import njit

    from pyneat_lite._kernels.math32 import tanh32
    from pyneat_lite._kernels.simd import load8, load16, store8, store16, tanh_block

    @njit
    def blocks(x, y16, y8, ys):
        for i in range(0, x.size, 16):
            store16(y16, i, tanh_block(load16(x, i)))
        for i in range(0, x.size, 8):
            store8(y8, i, tanh_block(load8(x, i)))
        for i in range(x.size):
            ys[i] = tanh32(x[i])

    rng = np.random.default_rng(5)
    special = np.array([0.0, -0.0, 9.0, -9.0, 8.999999, 1e-30, -1e-42, 3e-39,
                        np.inf, -np.inf, np.nan, 1e30, -1e30, 0.5, -0.5, 1.0],
                       np.float32)
    x = np.concatenate([special, rng.uniform(-10, 10, 4096).astype(np.float32),
                        (rng.standard_normal(4096) * 1e-3).astype(np.float32)])
    y16, y8, ys = (np.empty_like(x) for _ in range(3))
    blocks(x, y16, y8, ys)
    np.testing.assert_array_equal(y16.view(np.uint32), ys.view(np.uint32))
    np.testing.assert_array_equal(y8.view(np.uint32), ys.view(np.uint32))


@pytest.mark.parametrize("n_groups", [2, 3])
def test_groups_share_one_queue_of_genomes(n_groups):
    """Lane groups on two threads take genomes from one queue: every genome
    runs exactly once (its episodes counted in ``steps``), with the serial
    kernel's returns, whatever the episode lengths."""
    from pyneat_lite._kernels.genome_source import dense_source
    from pyneat_lite._kernels.rollout import no_norm, rollout_parallel, rollout_serial
    from pyneat_lite._rng import STREAMS, row_seeds

    net = pn.Network([4, 8, 2], ["tanh", "linear"])
    env = pn.envs.CartPole(max_steps=300)
    # random policies: episodes of ~10 to 300 steps, so lanes refill at
    # different times; not a multiple of LANES
    P, episodes = 7 * LANES + 5, 2
    pop = net.init_population(P, seed=3) * np.float32(1.5)
    seeds = row_seeds(4, 0, STREAMS["env"], P * episodes).reshape(P, episodes)
    args = (pop, net.meta, int(net.max_width), int(net.n_out), env._kind,
            env.obs_dim, env.state_dim, env.params, env.action_low,
            env.action_high, seeds, env.max_steps)
    out = []
    for run in ("serial", "parallel"):
        ret, steps = np.full(P, np.nan), np.full(P, -1, np.int64)
        if run == "serial":
            rollout_serial(*args, 1, ret, steps, 0, *no_norm(env.obs_dim),
                           dense_source())
        else:
            rollout_parallel(*args, n_groups, ret, steps, 2, 0,
                             *no_norm(env.obs_dim), dense_source())
        out.append((ret, steps))
    (r1, s1), (r2, s2) = out
    assert np.all(s1 >= episodes) and np.unique(s1).size > 10
    np.testing.assert_array_equal(s1, 2 * r1)  # CartPole: +1 per step
    np.testing.assert_array_equal(r1, r2)
    np.testing.assert_array_equal(s1, s2)
