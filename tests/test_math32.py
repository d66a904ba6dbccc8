"""The vectorisable float32 math of ``_kernels/math32.py`` against float64 NumPy."""

import numpy as np
import pytest
from numba import njit

from pyneat_lite._kernels.math32 import exp32, exp32_inline, log32, log32_inline


def _apply(fn):
    @njit
    def run(x, out):
        for i in range(x.size):
            out[i] = fn(x[i])
    return run


def _ulp_error(got, want):
    """|got - want| in float32 ulps of the float64 reference."""
    return np.abs(got.astype(np.float64) - want) / np.spacing(
        np.abs(want).astype(np.float32)).astype(np.float64)


@pytest.mark.parametrize("fn", [log32, log32_inline], ids=["log32", "inline"])
def test_log32_is_within_one_ulp_of_float64_log(fn):
    rng = np.random.default_rng(0)
    x = np.exp(rng.uniform(np.log(1.2e-38), np.log(3.4e38), 200_000)).astype(np.float32)
    # the reduction's edges: powers of two, sqrt(1/2), neighbours of 1
    edges = [1.0, 2.0, 0.5, 0.7071067, 0.7071068, 1.4142135, 1e-7, 10.0,
             np.finfo(np.float32).tiny, np.finfo(np.float32).max]
    x = np.concatenate([x, np.float32(edges), np.nextafter(np.float32(1), 0)[None],
                        np.nextafter(np.float32(1), 2)[None]]).astype(np.float32)
    out = np.empty_like(x)
    _apply(fn)(x, out)
    want = np.log(x.astype(np.float64))
    near_one = np.abs(want) < 1e-30  # log(1) = 0 exactly
    assert np.all(out[near_one] == 0.0)
    assert _ulp_error(out[~near_one], want[~near_one]).max() <= 1.0


@pytest.mark.parametrize("fn", [exp32, exp32_inline], ids=["exp32", "inline"])
def test_exp32_is_within_two_ulp_of_float64_exp(fn):
    rng = np.random.default_rng(1)
    x = rng.uniform(-87.0, 88.0, 200_000).astype(np.float32)
    out = np.empty_like(x)
    _apply(fn)(x, out)
    assert _ulp_error(out, np.exp(x.astype(np.float64))).max() <= 2.0
    # clamped, never inf or NaN
    big = np.float32([1e30, 89.0, -1e30, -200.0])
    out = np.empty_like(big)
    _apply(fn)(big, out)
    assert np.all(np.isfinite(out)) and out[2] == 0.0 and out[3] == 0.0


def test_exp_block_is_exp32_bit_for_bit():
    """The 16- and 8-lane vector exp of the loss kernels gives each lane
    ``exp32``'s bits (over the range, beyond the clamps, tiny values,
    signed zeros, infinities)."""
    from pyneat_lite._kernels.simd import exp_block, load8, load16, store8, store16

    @njit
    def blocks(x, y16, y8, ys):
        for i in range(0, x.size, 16):
            store16(y16, i, exp_block(load16(x, i)))
        for i in range(0, x.size, 8):
            store8(y8, i, exp_block(load8(x, i)))
        for i in range(x.size):
            ys[i] = exp32(x[i])

    rng = np.random.default_rng(2)
    special = np.array([0.0, -0.0, 88.72283, 88.8, -104.0, -104.1, 1e-30, -1e-42,
                        np.inf, -np.inf, 1e30, -1e30, 0.5, -0.5, 0.34657359, -87.3],
                       np.float32)
    x = np.concatenate([special, rng.uniform(-110, 95, 8192).astype(np.float32),
                        rng.normal(0, 2, 8192).astype(np.float32)])
    y16, y8, ys = (np.empty_like(x) for _ in range(3))
    blocks(x, y16, y8, ys)
    np.testing.assert_array_equal(y16.view(np.uint32), ys.view(np.uint32))
    np.testing.assert_array_equal(y8.view(np.uint32), ys.view(np.uint32))
