"""float32 scalar math that LLVM can vectorise, and the activation table's
kernels (``elementwise``, ``activate``); shared by every Numba kernel.

``tanh``, ``sigmoid`` and ``exp`` (softmax, elu, softplus, gaussian) use
branch-free float32 approximations (libm calls are not vectorised without
Intel SVML).  They are accurate to a few float32 ulp, saturate cleanly on huge
inputs, and never produce inf/NaN from finite inputs.
"""

from __future__ import annotations

import math

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

from ._config import (
    ELU,
    GAUSSIAN,
    INLINE_OPTS,
    LEAKY_RELU,
    LEAKY_SLOPE,
    LINEAR,
    OPTS,
    RELU,
    SIGMOID,
    SIN,
    SOFTMAX,
    SOFTPLUS,
    STEP,
    TANH,
)

__all__ = [
    "activate",
    "apply_activation",
    "elementwise",
    "exp32",
    "exp32_inline",
    "expm1_32",
    "log32",
    "log32_inline",
    "sigmoid32",
    "tanh32",
]

_F = np.float32
_OPTS = OPTS


# --------------------------------------------------------------------------
# scalar float32 math that LLVM can vectorise
# --------------------------------------------------------------------------
@intrinsic
def i32_as_f32(typingctx, bits):
    """Reinterpret the bits of an int32 as a float32 (no conversion)."""
    sig = types.float32(types.int32)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.FloatType())

    return sig, codegen


@intrinsic
def f32_as_i32(typingctx, x):
    """Reinterpret the bits of a float32 as an int32 (no conversion)."""
    sig = types.int32(types.float32)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(32))

    return sig, codegen


#: :func:`exp32`'s constants (float32): the upper clamp, log2(e), ln 2 in two
#: parts, and the polynomial's coefficients from the highest power;
#: :func:`.simd.exp_block` reads the same ones.
EXP_HI = _F(88.72283)
EXP_LOG2E = _F(1.442695041)
EXP_LN2_HI = _F(0.693359375)
EXP_LN2_LO = _F(-2.12194440e-4)
EXP_P = tuple(_F(c) for c in (1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3,
                               4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1))


@njit(**_OPTS)
def exp32(x):
    """float32 exp, ~2 ulp, vectorisable, never inf or NaN for finite x.

    Cody-Waite reduction x = n*ln2 + r with |r| <= ln2/2, a degree-6
    polynomial for exp(r), and 2**n built from exponent bits in two halves
    (so that subnormal results and 2**128 are both reachable).  x is clamped
    to [-104, 88.72]: below, the result underflows to 0; above, it saturates
    at ~3.4e38 instead of overflowing.
    """
    x = min(max(x, _F(-104.0)), EXP_HI)
    n = np.floor(x * EXP_LOG2E + _F(0.5))
    r = x - n * EXP_LN2_HI
    r = r - n * EXP_LN2_LO
    p = EXP_P[0]
    p = p * r + EXP_P[1]
    p = p * r + EXP_P[2]
    p = p * r + EXP_P[3]
    p = p * r + EXP_P[4]
    p = p * r + EXP_P[5]
    p = p * r * r + r + _F(1.0)
    ni = np.int32(n)
    n1 = ni >> np.int32(1)
    n2 = ni - n1
    s1 = i32_as_f32((n1 + np.int32(127)) << np.int32(23))
    s2 = i32_as_f32((n2 + np.int32(127)) << np.int32(23))
    return (p * s1) * s2


#: :func:`tanh32`'s coefficients (float32): the numerator's, in ``x * x``
#: from the highest power (times ``x`` at the end), the denominator's, and the
#: clamp bound; :func:`.simd.tanh_block` reads the same ones.
TANH_P = tuple(_F(c) for c in (
    -2.76076847742355e-16, 2.00018790482477e-13, -8.60467152213735e-11,
    5.12229709037114e-08, 1.48572235717979e-05, 6.37261928875436e-04,
    4.89352455891786e-03))
TANH_Q = tuple(_F(c) for c in (
    1.19825839466702e-06, 1.18534705686654e-04, 2.26843463243900e-03,
    4.89352518554385e-03))
TANH_CLAMP = _F(9.0)


@njit(**_OPTS)
def tanh32(x):
    """float32 tanh, a few ulp, vectorisable.

    The 13/6-degree odd/even rational interpolant used by Eigen
    (``generic_fast_tanh_float``); inputs are clamped to [-9, 9], outside of
    which tanh is +-1 in float32.
    """
    x = min(max(x, -TANH_CLAMP), TANH_CLAMP)
    x2 = x * x
    p = TANH_P[0]
    p = p * x2 + TANH_P[1]
    p = p * x2 + TANH_P[2]
    p = p * x2 + TANH_P[3]
    p = p * x2 + TANH_P[4]
    p = p * x2 + TANH_P[5]
    p = p * x2 + TANH_P[6]
    p = p * x
    q = TANH_Q[0]
    q = q * x2 + TANH_Q[1]
    q = q * x2 + TANH_Q[2]
    q = q * x2 + TANH_Q[3]
    return p / q


@njit(**_OPTS)
def sigmoid32(x):
    # exp of -|x| only, so nothing overflows; keeps relative accuracy for
    # very negative x (where 1 - sigmoid(-x) would cancel).
    e = exp32(-abs(x))
    s = _F(1.0) / (_F(1.0) + e)
    return s if x >= _F(0.0) else e * s


@njit(**_OPTS)
def expm1_32(x):
    """float32 exp(x) - 1 without cancellation near 0 (x <= 0 here)."""
    if x > _F(-0.35):
        # Taylor to x**8/8!: truncation < 1e-9 relative on (-0.35, 0]
        p = _F(1.0 / 40320.0)
        p = p * x + _F(1.0 / 5040.0)
        p = p * x + _F(1.0 / 720.0)
        p = p * x + _F(1.0 / 120.0)
        p = p * x + _F(1.0 / 24.0)
        p = p * x + _F(1.0 / 6.0)
        p = p * x + _F(0.5)
        return (p * x + _F(1.0)) * x
    return exp32(x) - _F(1.0)


@njit(**_OPTS)
def log32(x):
    """float32 natural log of a positive normal float32, ~1 ulp, vectorisable.

    ``x = m 2**e`` from the bits with ``m`` in [sqrt(1/2), sqrt(2)), then
    Cephes' degree-9 polynomial for ``log(m)`` and ``e ln 2`` in two parts.
    No branches and no libm call (a float64 ``np.log`` per value stays
    scalar without Intel SVML).  Zero, negative, subnormal, inf and NaN
    inputs are outside its domain (callers clamp first).
    """
    bits = f32_as_i32(x)
    e = ((bits >> np.int32(23)) & np.int32(0xFF)) - np.int32(126)
    m = i32_as_f32((bits & np.int32(0x007FFFFF)) | np.int32(0x3F000000))  # [0.5, 1)
    small = m < _F(0.707106781186547524)
    e = e - (np.int32(1) if small else np.int32(0))
    m = m + (m if small else _F(0.0)) - _F(1.0)
    z = m * m
    p = _F(7.0376836292e-2)
    p = p * m + _F(-1.1514610310e-1)
    p = p * m + _F(1.1676998740e-1)
    p = p * m + _F(-1.2420140846e-1)
    p = p * m + _F(1.4249322787e-1)
    p = p * m + _F(-1.6668057665e-1)
    p = p * m + _F(2.0000714765e-1)
    p = p * m + _F(-2.4999993993e-1)
    p = p * m + _F(3.3333331174e-1)
    ef = _F(e)
    y = p * m * z + ef * _F(-2.12194440e-4) - _F(0.5) * z
    return m + y + ef * _F(0.693359375)


@njit(**_OPTS)
def elementwise(x, act_id):
    """One activation of one float32 value (softmax is not elementwise)."""
    if act_id == RELU:
        return max(x, _F(0.0))
    if act_id == TANH:
        return tanh32(x)
    if act_id == SIGMOID:
        return sigmoid32(x)
    if act_id == LEAKY_RELU:
        return x if x > _F(0.0) else x * LEAKY_SLOPE
    if act_id == ELU:
        return x if x > _F(0.0) else expm1_32(x)
    if act_id == SOFTPLUS:
        # max(x, 0) + log1p(exp(-|x|)) never overflows.
        return max(x, _F(0.0)) + _F(math.log1p(exp32(-abs(x))))
    if act_id == SIN:
        return math.sin(x)
    if act_id == GAUSSIAN:
        return exp32(-min(x * x, _F(100.0)))
    if act_id == STEP:
        return _F(1.0) if x > _F(0.0) else _F(0.0)
    return x  # linear


@njit(**_OPTS)
def activate(row, n, act_id):
    """Apply activation ``act_id`` in place to ``row[:n]`` (inlined: a call
    per layer and sample would cost more than a small layer itself)."""
    if act_id == LINEAR:
        return
    if act_id == TANH:  # the common cases get their own tight loops
        for i in range(n):
            row[i] = tanh32(row[i])
        return
    if act_id == RELU:
        for i in range(n):
            row[i] = max(row[i], _F(0.0))
        return
    if act_id == SOFTMAX:
        m = row[0]
        for i in range(1, n):
            m = max(m, row[i])
        s = _F(0.0)
        for i in range(n):
            e = exp32(row[i] - m)
            row[i] = e
            s += e
        inv = _F(1.0) / s
        for i in range(n):
            row[i] *= inv
        return
    for i in range(n):
        row[i] = elementwise(row[i], act_id)


@njit(**_OPTS)
def apply_activation(row, act_id):
    """Apply activation ``act_id`` in place to the float32 1-D array ``row``.

    ``row`` holds the pre-activations of one layer for one sample (softmax
    normalises over the whole of ``row``).  Callable from other njit code.
    """
    activate(row, row.shape[0], act_id)


#: :func:`exp32` and :func:`log32` inlined at the Numba level (a loss loop over
#: samples calling them stays scalar otherwise: measured 2x slower)
exp32_inline = njit(**INLINE_OPTS)(exp32.py_func)
log32_inline = njit(**INLINE_OPTS)(log32.py_func)
