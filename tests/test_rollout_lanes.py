"""The rollout's lane-major policy forward (issue 16): 8-lane vector blocks,
several blocks per group, bit-identical to Network.forward_each."""

from __future__ import annotations

import numpy as np
import pytest

import pyneat_lite as pn
from pyneat_lite._kernels.rollout import LANES
from pyneat_lite._kernels.rollout_lanes import BLOCK_LANES, forward_lanes
from pyneat_lite.activations import ACTIVATION_NAMES


@pytest.mark.parametrize("act", ACTIVATION_NAMES)
def test_forward_lanes_equals_forward_each(act):
    assert LANES % BLOCK_LANES == 0
    rng = np.random.default_rng(len(act))
    for sizes in ([4, 16, 2], [3, 9, 7, 1], [6, 8, 3], [5, 2], [2, 11, 4, 2]):
        net = pn.Network(sizes, [act] * (len(sizes) - 1))
        for n_lanes in (BLOCK_LANES, LANES):
            pop = rng.normal(0.0, 0.8, (n_lanes, net.n_params)).astype(np.float32)
            obs = (2 * rng.standard_normal((n_lanes, sizes[0]))).astype(np.float32)
            w = np.ascontiguousarray(pop.T).reshape(-1)
            x = np.ascontiguousarray(obs.T).reshape(-1)
            buf_a = np.zeros(net.max_width * n_lanes, np.float32)
            buf_b = np.zeros_like(buf_a)
            out = np.zeros(net.n_out * n_lanes, np.float32)
            forward_lanes(w, net.meta, x, buf_a, buf_b, out)
            np.testing.assert_array_equal(out.reshape(net.n_out, n_lanes).T,
                                          net.forward_each(pop, obs))


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
