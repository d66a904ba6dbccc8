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
