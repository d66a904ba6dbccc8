# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Slow paths of the operator RNG, and Python shims pinned by the tests.

The generator and its fast paths are ``cdef inline`` in ``_rng.pxd`` (see
there for the recipe); this module holds what runs rarely -- the ziggurat
draws outside a layer's rectangle (but the 23-bit normal's, inline), the
normal tail, Lemire's rejection step -- compiled once and called through the module's C API by every module that
cimports ``_rng``.  The ``def`` shims expose the inline functions to the
golden and reference tests (as scikit-learn's ``_our_rand_r_py``).
"""

from libc.math cimport exp, log
from libc.stdint cimport int64_t, uint32_t, uint64_t

import numpy as np

from ._ziggurat cimport (
    PNL_Z23_K,
    PNL_Z23_W,
    PNL_ZE_F,
    PNL_ZE_K,
    PNL_ZE_R,
    PNL_ZE_W,
    PNL_ZIG_F,
    PNL_ZIG_INV_R,
    PNL_ZIG_K,
    PNL_ZIG_R,
    PNL_ZIG_W,
)


cdef int64_t _bounded_slow(Rng* r, uint64_t n, uint64_t m) noexcept nogil:
    # Lemire's rejection step, entered when the low half of m is below n
    cdef uint64_t x
    cdef uint64_t low = m & 0xFFFFFFFFULL
    cdef uint64_t t = (0x100000000ULL - n) % n
    while low < t:
        x = rng_next(r) >> 32
        m = x * n
        low = m & 0xFFFFFFFFULL
    return <int64_t>(m >> 32)


cdef double _normal_tail(Rng* r, uint64_t negative) noexcept nogil:
    # the ziggurat's base layer beyond r (Marsaglia 1964), shared by the
    # 64-bit and 23-bit samplers
    cdef double xx, yy
    while True:
        xx = -PNL_ZIG_INV_R * log(rng_uniform(r))
        yy = -log(rng_uniform(r))
        if yy + yy > xx * xx:
            if negative:
                return -(PNL_ZIG_R + xx)
            return PNL_ZIG_R + xx


cdef double _normal_slow(Rng* r, uint64_t x) noexcept nogil:
    # the 0.7% of draws outside a layer's rectangle; x is the first word
    cdef uint64_t rabs
    cdef int idx, sign
    cdef double v
    while True:
        idx = <int>(x & 0xFF)
        x >>= 8
        sign = <int>(x & 1)
        rabs = (x >> 1) & 0x000FFFFFFFFFFFFFULL
        v = <double><int64_t>rabs * PNL_ZIG_W[idx]
        if sign:
            v = -v
        if rabs < PNL_ZIG_K[idx]:
            return v
        if idx == 0:
            return _normal_tail(r, (rabs >> 8) & 1)
        else:
            if ((PNL_ZIG_F[idx - 1] - PNL_ZIG_F[idx]) * rng_uniform(r) + PNL_ZIG_F[idx]
                    < exp(-0.5 * v * v)):
                return v
        x = rng_next(r)


cdef double _exponential_slow(Rng* r, uint64_t x) noexcept nogil:
    # outside a layer's rectangle (1.1% of draws); x is the first word
    cdef uint64_t ri
    cdef int idx
    cdef double v
    while True:
        idx = <int>(x & 0xFF)
        ri = x >> 11
        v = <double><int64_t>ri * PNL_ZE_W[idx]
        if ri < PNL_ZE_K[idx]:
            return v
        if idx == 0:
            # memoryless tail: r + Exp(1)
            return PNL_ZE_R - log(rng_uniform(r))
        if (PNL_ZE_F[idx - 1] - PNL_ZE_F[idx]) * rng_uniform(r) + PNL_ZE_F[idx] < exp(-v):
            return v
        x = rng_next(r)


# ---------------------------------------------------------------------------
# Python shims (tests)
# ---------------------------------------------------------------------------

def _rng_words(uint64_t seed, Py_ssize_t n):
    """First n raw 64-bit words of the stream seeded by ``seed``."""
    cdef Rng r
    cdef Py_ssize_t i
    out = np.empty(n, dtype=np.uint64)
    cdef uint64_t[::1] o = out
    r = rng_make(seed)
    for i in range(n):
        o[i] = rng_next(&r)
    return out


def _rng_draws(uint64_t seed, Py_ssize_t n, int kind, uint64_t bound=0,
               double inv_lambda=0.0):
    """n draws of one kind from the stream seeded by ``seed``: 0 uniform,
    1 normal, 2 bounded in [0, bound), 3 exponential, 4 geometric gap
    (``rng_gap(r, inv_lambda, bound)``)."""
    cdef Rng r
    cdef Py_ssize_t i
    out = np.empty(n, dtype=np.float64)
    cdef double[::1] o = out
    r = rng_make(seed)
    for i in range(n):
        if kind == 0:
            o[i] = rng_uniform(&r)
        elif kind == 1:
            o[i] = rng_normal(&r)
        elif kind == 2:
            o[i] = <double>rng_bounded(&r, bound)
        elif kind == 3:
            o[i] = rng_exponential(&r)
        else:
            o[i] = <double>rng_gap(&r, inv_lambda, <int64_t>bound)
    return out


def _compiled_tables():
    """The tables compiled into the extension (from ``_ziggurat.pxd``), as
    ``{name: array}``; the tests compare them with ``_tables``' formulas."""
    cdef int i
    out = {
        "ZIG_K": np.empty(256, np.uint64), "ZIG_W": np.empty(256),
        "ZIG_F": np.empty(256), "Z23_K": np.empty(256, np.uint64),
        "Z23_W": np.empty(256), "ZE_K": np.empty(256, np.uint64),
        "ZE_W": np.empty(256), "ZE_F": np.empty(256),
    }
    for i in range(256):
        out["ZIG_K"][i] = PNL_ZIG_K[i]
        out["ZIG_W"][i] = PNL_ZIG_W[i]
        out["ZIG_F"][i] = PNL_ZIG_F[i]
        out["Z23_K"][i] = PNL_Z23_K[i]
        out["Z23_W"][i] = PNL_Z23_W[i]
        out["ZE_K"][i] = PNL_ZE_K[i]
        out["ZE_W"][i] = PNL_ZE_W[i]
        out["ZE_F"][i] = PNL_ZE_F[i]
    out["ZIG_R"] = PNL_ZIG_R
    out["ZIG_INV_R"] = PNL_ZIG_INV_R
    out["ZE_R"] = PNL_ZE_R
    return out
