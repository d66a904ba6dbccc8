"""forward_each's fast path (issue 16, case C): the checks of ready arrays,
the register-blocked tiled kernel, against the genome-by-genome kernel and
the NumPy reference."""

from __future__ import annotations

import numpy as np
import pytest
from ref_forward import forward_population_ref

import pyneat_lite as pn
from pyneat_lite._kernels import forward as kernels
from pyneat_lite._kernels.each_tiled import all_finite


def _ready(sizes, acts, n, seed=0):
    net = pn.Network(sizes, acts)
    rng = np.random.default_rng(seed)
    pop = rng.normal(0.0, 0.7, (n, net.n_params)).astype(np.float32)
    obs = (2 * rng.standard_normal((n, sizes[0]))).astype(np.float32)
    return net, pop, obs, np.empty((n, net.n_out), np.float32)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("where", [(0, 0), (300, 2), (-1, -1)])
def test_ready_arrays_with_non_finite_inputs_are_rejected(bad, where):
    net, pop, obs, out = _ready([4, 16, 2], ["tanh", "tanh"], 1024)
    obs[where] = bad
    with pytest.raises(ValueError, match="'inputs' argument of Network.forward_each "
                                         "must be finite"):
        net.forward_each(pop, obs, out)
    with pytest.raises(ValueError, match="must be finite"):
        net.forward_each(pop, obs)


def test_ready_arrays_with_a_bad_out_are_rejected():
    net, pop, obs, out = _ready([4, 16, 2], ["tanh", "tanh"], 64)
    with pytest.raises(ValueError, match="'out' argument of Network.forward_each "
                                         "must not share memory"):
        net.forward_each(pop, obs, pop.reshape(-1)[: 64 * 2].reshape(64, 2))
    with pytest.raises(ValueError, match="must not share memory"):
        net.forward_each(pop, obs, obs.reshape(-1)[: 64 * 2].reshape(64, 2))
    ro = out.copy()
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="must be writeable"):
        net.forward_each(pop, obs, ro)
    with pytest.raises(TypeError, match="must have dtype float32"):
        net.forward_each(pop, obs, out.astype(np.float64))
    with pytest.raises(ValueError, match=r"must have shape \(64, 2\)"):
        net.forward_each(pop, obs, out[:63])


def test_all_finite_agrees_with_numpy():
    rng = np.random.default_rng(3)
    specials = [np.nan, np.inf, -np.inf, np.finfo(np.float32).max,
                -np.finfo(np.float32).max, np.finfo(np.float32).tiny / 8, -0.0]
    for n in (1, 7, 64, 1000):
        x = rng.standard_normal((n, 3)).astype(np.float32)
        assert all_finite(x)
        for v in specials:
            y = x.copy()
            y.reshape(-1)[rng.integers(y.size)] = v
            assert all_finite(y) == bool(np.isfinite(y).all()), (n, v)


def test_fast_path_equals_converted_path_and_reference():
    net, pop, obs, out = _ready([4, 16, 2], ["tanh", "tanh"], 1024, seed=4)
    fast = net.forward_each(pop, obs, out)
    assert fast is out
    slow = net.forward_each(pop.astype(np.float64), obs.astype(np.float64))
    np.testing.assert_array_equal(fast, slow)
    ref = forward_population_ref(net.sizes, net.activations, pop[:100], obs[:100])
    np.testing.assert_allclose(fast[:100], ref[np.arange(100), np.arange(100)],
                               rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("act", ["tanh", "relu", "sigmoid", "softmax", "linear"])
def test_blocked_layers_equal_genome_by_genome(act):
    """Register-blocked wide layers (16-blocks in passes of 4 inputs and a
    tail of inputs, then 8-blocks and a scalar tail of outputs) and the
    2-output block (passes of 16 or 4 inputs, or fours and a tail), bit for
    bit."""
    for sizes in ([5, 13, 2], [7, 2], [3, 24, 2], [2, 8, 17, 2], [9, 2], [4, 16, 2],
                  [1, 32, 2], [6, 48, 20, 2], [16, 16, 2], [5, 40, 36, 2],
                  [33, 16, 17, 2], [8, 2], [2, 16, 3]):
        net, pop, obs, _ = _ready(sizes, [act] * (len(sizes) - 1), 300,
                                  seed=len(sizes))
        ref = np.empty((300, net.n_out), np.float32)
        kernels._each_serial(pop, obs, net.meta, net.max_width, ref)
        np.testing.assert_array_equal(net.forward_each(pop, obs), ref)
        for n_chunks in (1, 3):
            got = np.empty_like(ref)
            kernels.forward_each_kernel(pop, obs, net.meta, net.max_width, got,
                                        n_chunks)
            np.testing.assert_array_equal(got, ref)
        full = forward_population_ref(net.sizes, net.activations, pop[:40], obs[:40])
        np.testing.assert_allclose(ref[:40], full[np.arange(40), np.arange(40)],
                                   rtol=1e-4, atol=1e-4)
