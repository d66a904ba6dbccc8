# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Cython kernels: selection, crossover, mutation and the counter-based RNG.

Kernels take arrays and plain numbers and do no validation: the wrappers in
``pyneat_lite/operators.py`` validate once and then call them.

Randomness
----------
Every row (offspring, mutated individual, row of noise) owns one stream: its
64-bit seed comes from ``_validation.row_seeds(seed, generation, stream, n)``
(a ``SeedSequence`` keyed by ``(generation, stream)``, prefix-stable in the
row index) and seeds an inline xoshiro256** generator (state filled by four
splitmix64 steps, as its authors recommend).  A row draws only from its own
generator, so the output does not depend on the number of OpenMP threads or
on the schedule.  Loops use ``schedule="guided"``: rows are handed out in
shrinking chunks, so a thread that the OS delays (other processes on the
cores) does not hold the others back; results are unchanged.

* uniform double: ``((x >> 11) + 0.5) * 2**-53``, strictly inside (0, 1);
* bounded integer in ``[0, n)``: Lemire's multiply-shift on the upper 32 bits
  of a word, with rejection, so it is exactly uniform;
* standard normal: the 256-layer Marsaglia-Tsang ziggurat on one 64-bit word
  (8 bits layer, 1 bit sign, 52 bits abscissa; the layout of NumPy's legacy
  double ziggurat).  It is exact (rejection sampling), and 99.3% of the
  draws cost one word, a multiply and a compare.  Bulk float32 normals
  (``_standard_normal``, the evolution-strategy noise) use the same ziggurat
  on 32-bit halves (8 bits layer, 1 sign, 23 bits abscissa: NumPy's float32
  layout), two normals per word;
* geometric gaps: the number of genes skipped before the next mutated gene is
  ``floor(log(u) / log1p(-rate))``: one uniform and one ``log`` per mutated
  gene instead of one uniform per gene;
* uniform crossover with swap probability 1/2 uses one word per 64 genes.
"""

from cython.parallel cimport prange
from libc.math cimport exp, floor, log, pow, sqrt
from libc.stdint cimport int32_t, int64_t, uint32_t, uint64_t
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy

import math

import numpy as np

cdef extern from *:
    """
    #ifdef _OPENMP
    #include <omp.h>
    #define PNL_OPENMP 1
    #else
    #define PNL_OPENMP 0
    #endif
    """
    int PNL_OPENMP


def openmp_enabled():
    """True when the extension was compiled with OpenMP."""
    return bool(PNL_OPENMP)


# ---------------------------------------------------------------------------
# RNG: splitmix64 seeding + xoshiro256**
# ---------------------------------------------------------------------------

cdef struct Rng:
    uint64_t s0
    uint64_t s1
    uint64_t s2
    uint64_t s3

cdef uint64_t GOLDEN = 0x9E3779B97F4A7C15ULL


cdef inline uint64_t _mix64(uint64_t z) noexcept nogil:
    # splitmix64 finaliser
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL
    return z ^ (z >> 31)


cdef inline uint64_t _splitmix_next(uint64_t* s) noexcept nogil:
    s[0] += GOLDEN
    return _mix64(s[0])


cdef inline Rng rng_make(uint64_t seed) noexcept nogil:
    # returned by value so that prange sees an assignment (thread-private)
    cdef uint64_t s = seed
    cdef Rng r
    r.s0 = _splitmix_next(&s)
    r.s1 = _splitmix_next(&s)
    r.s2 = _splitmix_next(&s)
    r.s3 = _splitmix_next(&s)
    return r


cdef inline uint64_t _rotl(uint64_t x, int k) noexcept nogil:
    return (x << k) | (x >> (64 - k))


cdef inline uint64_t rng_next(Rng* r) noexcept nogil:
    cdef uint64_t result = _rotl(r.s1 * 5, 7) * 9
    cdef uint64_t t = r.s1 << 17
    r.s2 ^= r.s0
    r.s3 ^= r.s1
    r.s1 ^= r.s2
    r.s0 ^= r.s3
    r.s2 ^= t
    r.s3 = _rotl(r.s3, 45)
    return result


cdef inline double _to_unit(uint64_t x) noexcept nogil:
    # strictly inside (0, 1): safe for log()
    # via int64: the value fits in 53 bits, and a signed conversion is one
    # instruction on x86-64 (unsigned needs a branchy sequence); same result
    return (<double><int64_t>(x >> 11) + 0.5) * 1.1102230246251565e-16


cdef inline double rng_uniform(Rng* r) noexcept nogil:
    return _to_unit(rng_next(r))


# Performance note: every out-of-line helper that draws (rejection loops,
# ziggurat slow paths) receives a *copy* of the state, and hot loops work on a
# local copy too.  A state whose address reaches an out-of-line call cannot
# stay in registers; with copies it does (2x on Gaussian mutation).

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


cdef inline int64_t rng_bounded(Rng* r, uint64_t n) noexcept nogil:
    """Exactly uniform integer in [0, n), n <= 2**32 (Lemire 2019)."""
    cdef uint64_t m = (rng_next(r) >> 32) * n
    cdef Rng t
    cdef int64_t v
    if (m & 0xFFFFFFFFULL) < n:
        t = r[0]
        v = _bounded_slow(&t, n, m)
        r[0] = t
        return v
    return <int64_t>(m >> 32)


# Ziggurat tables (256 layers, Marsaglia & Tsang 2000), filled at import by
# _fill_ziggurat() below from the same Python formula the test reference uses.
cdef double ZIG_W[256]
cdef double ZIG_F[256]
cdef uint64_t ZIG_K[256]
cdef double ZIG_R = 3.6541528853610088
cdef double ZIG_INV_R = 1.0 / 3.6541528853610088


def _ziggurat_tables(int bits=52):
    """Return (k, w, f): the 256-layer ziggurat tables for ``bits``-bit
    abscissas (52: one normal per word; 23: two per word).

    Recurrence of Marsaglia & Tsang (2000), "The ziggurat method for generating
    random variables", with r = 3.6541528853610088 and layer area
    v = 4.92867323399e-3.
    """
    m = 2.0 ** bits
    dn = 3.6541528853610088
    tn = dn
    vn = 4.92867323399e-3
    k = [0] * 256
    w = [0.0] * 256
    f = [0.0] * 256
    q = vn / math.exp(-0.5 * dn * dn)
    k[0] = int((dn / q) * m)
    k[1] = 0
    w[0] = q / m
    w[255] = dn / m
    f[0] = 1.0
    f[255] = math.exp(-0.5 * dn * dn)
    for i in range(254, 0, -1):
        dn = math.sqrt(-2.0 * math.log(vn / dn + math.exp(-0.5 * dn * dn)))
        k[i + 1] = int((dn / tn) * m)
        tn = dn
        f[i] = math.exp(-0.5 * dn * dn)
        w[i] = dn / m
    return (np.array(k, dtype=np.uint64), np.array(w, dtype=np.float64),
            np.array(f, dtype=np.float64))


# 23-bit tables: bulk float32 normals, two per 64-bit word
cdef double Z23_W[256]
cdef uint32_t Z23_K[256]


def _fill_ziggurat():
    cdef int i
    k, w, f = _ziggurat_tables()
    for i in range(256):
        ZIG_K[i] = <uint64_t>k[i]
        ZIG_W[i] = w[i]
        ZIG_F[i] = f[i]
    k, w, f = _ziggurat_tables(23)
    for i in range(256):
        Z23_K[i] = <uint32_t>k[i]
        Z23_W[i] = w[i]


_fill_ziggurat()


cdef double _normal_tail(Rng* r, uint64_t negative) noexcept nogil:
    # the ziggurat's base layer beyond r (Marsaglia 1964), shared by the
    # 64-bit and 23-bit samplers
    cdef double xx, yy
    while True:
        xx = -ZIG_INV_R * log(rng_uniform(r))
        yy = -log(rng_uniform(r))
        if yy + yy > xx * xx:
            if negative:
                return -(ZIG_R + xx)
            return ZIG_R + xx


cdef double _normal_slow(Rng* r, uint64_t x) noexcept nogil:
    # the 0.7% of draws outside a layer's rectangle; x is the first word.
    # Kept out of line so that the fast path below inlines into hot loops.
    cdef uint64_t rabs
    cdef int idx, sign
    cdef double v
    while True:
        idx = <int>(x & 0xFF)
        x >>= 8
        sign = <int>(x & 1)
        rabs = (x >> 1) & 0x000FFFFFFFFFFFFFULL
        v = <double><int64_t>rabs * ZIG_W[idx]
        if sign:
            v = -v
        if rabs < ZIG_K[idx]:
            return v
        if idx == 0:
            return _normal_tail(r, (rabs >> 8) & 1)
        else:
            if ((ZIG_F[idx - 1] - ZIG_F[idx]) * rng_uniform(r) + ZIG_F[idx]
                    < exp(-0.5 * v * v)):
                return v
        x = rng_next(r)


cdef inline double _normal_slow_copy(Rng* r, uint64_t x) noexcept nogil:
    # the slow path works on a copy: the caller's state never has its address
    # taken by an out-of-line call, so the compiler keeps it in registers
    cdef Rng t = r[0]
    cdef double v = _normal_slow(&t, x)
    r[0] = t
    return v


cdef inline double rng_normal(Rng* r) noexcept nogil:
    cdef uint64_t x = rng_next(r)
    cdef int idx = <int>(x & 0xFF)
    cdef uint64_t rabs = (x >> 9) & 0x000FFFFFFFFFFFFFULL
    cdef double v
    if rabs < ZIG_K[idx]:
        v = <double><int64_t>rabs * ZIG_W[idx]
        return -v if (x >> 8) & 1 else v
    return _normal_slow_copy(r, x)


cdef double _normal32_slow(Rng* r, uint32_t x) noexcept nogil:
    # outside a layer's rectangle; ZIG_F serves both resolutions (the f
    # values do not depend on the abscissa bits)
    cdef uint32_t rabs
    cdef int idx
    cdef double v
    while True:
        idx = <int>(x & 0xFF)
        rabs = (x >> 9) & 0x7FFFFFU
        v = <double>rabs * Z23_W[idx]
        if (x >> 8) & 1:
            v = -v
        if rabs < Z23_K[idx]:
            return v
        if idx == 0:
            return _normal_tail(r, (rabs >> 8) & 1)
        else:
            if ((ZIG_F[idx - 1] - ZIG_F[idx]) * rng_uniform(r) + ZIG_F[idx]
                    < exp(-0.5 * v * v)):
                return v
        x = <uint32_t>(rng_next(r) & 0xFFFFFFFFULL)


cdef inline double _normal32_slow_copy(Rng* r, uint32_t x) noexcept nogil:
    cdef Rng t = r[0]
    cdef double v = _normal32_slow(&t, x)
    r[0] = t
    return v


cdef inline double rng_normal32(Rng* r, uint32_t x) noexcept nogil:
    """Normal from a 32-bit draw x (8 bits layer, 1 sign, 23 abscissa), the
    layout of NumPy's float32 ziggurat; a rejection draws further words from
    r and uses their low halves."""
    cdef int idx = <int>(x & 0xFF)
    cdef uint32_t rabs = (x >> 9) & 0x7FFFFFU
    cdef double v
    if rabs < Z23_K[idx]:
        v = <double>rabs * Z23_W[idx]
        return -v if (x >> 8) & 1 else v
    return _normal32_slow_copy(r, x)


cdef inline void rng_fill_normal32(Rng* r, float* o, int64_t n) noexcept nogil:
    # word w gives o[j] from its low half and o[j + 1] from its high half
    cdef int64_t j = 0
    cdef uint64_t w
    cdef Rng s = r[0]
    while j + 1 < n:
        w = rng_next(&s)
        o[j] = <float>rng_normal32(&s, <uint32_t>(w & 0xFFFFFFFFULL))
        o[j + 1] = <float>rng_normal32(&s, <uint32_t>(w >> 32))
        j += 2
    if j < n:
        o[j] = <float>rng_normal32(&s, <uint32_t>(rng_next(&s) & 0xFFFFFFFFULL))
    r[0] = s


# Exponential ziggurat (256 layers, Marsaglia & Tsang 2000): geometric gaps
# are floor(E / lambda), E ~ Exp(1), lambda = -log(1 - rate); exact, and a
# table lookup instead of a log() per mutated gene.
cdef double ZE_W[256]
cdef double ZE_F[256]
cdef uint64_t ZE_K[256]
cdef double ZE_R = 7.69711747013104972


def _exponential_tables():
    """Return (k, w, f): the 256-layer exponential ziggurat tables (53 bits).

    Marsaglia & Tsang (2000) with r = 7.69711747013104972 and layer area
    v = 3.949659822581572e-3.
    """
    m = 2.0 ** 53
    de = 7.69711747013104972
    te = de
    ve = 3.949659822581572e-3
    k = [0] * 256
    w = [0.0] * 256
    f = [0.0] * 256
    q = ve / math.exp(-de)
    k[0] = int((de / q) * m)
    k[1] = 0
    w[0] = q / m
    w[255] = de / m
    f[0] = 1.0
    f[255] = math.exp(-de)
    for i in range(254, 0, -1):
        de = -math.log(ve / de + math.exp(-de))
        k[i + 1] = int((de / te) * m)
        te = de
        f[i] = math.exp(-de)
        w[i] = de / m
    return (np.array(k, dtype=np.uint64), np.array(w, dtype=np.float64),
            np.array(f, dtype=np.float64))


def _fill_exponential():
    cdef int i
    k, w, f = _exponential_tables()
    for i in range(256):
        ZE_K[i] = <uint64_t>k[i]
        ZE_W[i] = w[i]
        ZE_F[i] = f[i]


_fill_exponential()


cdef double _exponential_slow(Rng* r, uint64_t x) noexcept nogil:
    # outside a layer's rectangle (1.1% of draws); x is the first word
    cdef uint64_t ri
    cdef int idx
    cdef double v
    while True:
        idx = <int>(x & 0xFF)
        ri = x >> 11
        v = <double><int64_t>ri * ZE_W[idx]
        if ri < ZE_K[idx]:
            return v
        if idx == 0:
            # memoryless tail: r + Exp(1)
            return ZE_R - log(rng_uniform(r))
        if (ZE_F[idx - 1] - ZE_F[idx]) * rng_uniform(r) + ZE_F[idx] < exp(-v):
            return v
        x = rng_next(r)


cdef inline double _exponential_slow_copy(Rng* r, uint64_t x) noexcept nogil:
    cdef Rng t = r[0]
    cdef double v = _exponential_slow(&t, x)
    r[0] = t
    return v


cdef inline double rng_exponential(Rng* r) noexcept nogil:
    cdef uint64_t x = rng_next(r)
    cdef int idx = <int>(x & 0xFF)
    cdef uint64_t ri = x >> 11
    if ri < ZE_K[idx]:
        return <double><int64_t>ri * ZE_W[idx]
    return _exponential_slow_copy(r, x)


cdef inline int64_t rng_gap(Rng* r, double inv_lambda, int64_t limit) noexcept nogil:
    """Genes skipped before the next hit: floor(E / lambda) ~ Geometric(rate),
    capped at limit.  inv_lambda = -1 / log1p(-rate) > 0."""
    cdef double g = rng_exponential(r) * inv_lambda
    if g >= <double>limit:
        return limit
    return <int64_t>g  # truncation == floor for g >= 0


# ---------------------------------------------------------------------------
# Python shims pinned by the golden/reference tests
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


def _rng_draws(uint64_t seed, Py_ssize_t n, int kind, uint64_t bound=0):
    """n draws of one kind: 0 uniform, 1 normal, 2 bounded, 3 exponential."""
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
        else:
            o[i] = rng_exponential(&r)
    return out


# ---------------------------------------------------------------------------
# Bulk draws
# ---------------------------------------------------------------------------

def _standard_normal(float[:, ::1] out, const uint64_t[::1] seeds, int n_threads):
    """out (R, C) float32 <- N(0, 1); row r from seeds[r], two normals per
    64-bit word (23-bit ziggurat)."""
    cdef Py_ssize_t n_rows = out.shape[0], n_cols = out.shape[1]
    cdef Py_ssize_t i
    cdef Rng r
    for i in prange(n_rows, nogil=True, schedule="guided", num_threads=n_threads):
        r = rng_make(seeds[i])
        rng_fill_normal32(&r, &out[i, 0], n_cols)


def _uniform(double[:, ::1] out, const uint64_t[::1] seeds, int n_threads):
    """out (R, C) float64 <- U(0, 1); row r from seeds[r]."""
    cdef Py_ssize_t n_rows = out.shape[0], n_cols = out.shape[1]
    cdef Py_ssize_t i, j
    cdef Rng r
    for i in prange(n_rows, nogil=True, schedule="guided", num_threads=n_threads):
        r = rng_make(seeds[i])
        for j in range(n_cols):
            out[i, j] = rng_uniform(&r)


# ---------------------------------------------------------------------------
# Selection (one index per draw)
# ---------------------------------------------------------------------------
# codes: 1 tournament (k, keys = fitness oriented so larger is better, NaN ->
# -inf), 2 inverse-CDF on cumulative weights (roulette, rank), 3 uniform over
# a candidate list (truncation, random).  Code 0 = indices precomputed.

cdef enum: SEL_PRE = 0
cdef enum: SEL_TOURNAMENT = 1
cdef enum: SEL_CDF = 2
cdef enum: SEL_CAND = 3


cdef inline int64_t select_one(Rng* r, int code, int64_t k, const double* f,
                               int64_t n_f, const int64_t* cand,
                               int64_t n_cand) noexcept nogil:
    cdef int64_t best, c, t, lo, hi, mid
    cdef double x
    if code == SEL_TOURNAMENT:
        best = rng_bounded(r, <uint64_t>n_f)
        for t in range(1, k):
            c = rng_bounded(r, <uint64_t>n_f)
            # strict: the first drawn aspirant wins ties
            if f[c] > f[best]:
                best = c
        return best
    if code == SEL_CDF:
        x = rng_uniform(r) * f[n_f - 1]
        lo = 0
        hi = n_f - 1
        while lo < hi:
            mid = (lo + hi) >> 1
            if f[mid] > x:
                hi = mid
            else:
                lo = mid + 1
        return lo
    return cand[rng_bounded(r, <uint64_t>n_cand)]


def _select(int64_t[::1] out, const uint64_t[::1] seeds, int code, int64_t k,
            const double[::1] f, const int64_t[::1] cand, int n_threads):
    """out (n,) int64 <- selected indices; draw i from seeds[i]."""
    cdef Py_ssize_t n = out.shape[0], i
    cdef Rng r
    cdef const double* fp = NULL
    cdef const int64_t* cp = NULL
    cdef int64_t n_f = f.shape[0], n_cand = cand.shape[0]
    if n_f > 0:
        fp = &f[0]
    if n_cand > 0:
        cp = &cand[0]
    for i in prange(n, nogil=True, schedule="guided", num_threads=n_threads):
        r = rng_make(seeds[i])
        out[i] = select_one(&r, code, k, fp, n_f, cp, n_cand)


def _sus(int64_t[::1] out, const double[::1] cdf, uint64_t seed):
    """Stochastic universal sampling then a Fisher-Yates shuffle (one stream)."""
    cdef Py_ssize_t n = out.shape[0], i, j
    cdef Py_ssize_t p = cdf.shape[0]
    cdef double total = cdf[p - 1], step, x
    cdef int64_t tmp
    cdef Rng r
    r = rng_make(seed)
    step = total / n
    x = rng_uniform(&r) * step
    j = 0
    for i in range(n):
        while j < p - 1 and cdf[j] <= x:
            j += 1
        out[i] = j
        x += step
    # shuffle so that consecutive picks (future mates) are not sorted
    for i in range(n - 1, 0, -1):
        j = rng_bounded(&r, <uint64_t>(i + 1))
        tmp = out[i]
        out[i] = out[j]
        out[j] = tmp


# ---------------------------------------------------------------------------
# Crossover of one row: o <- cross(a, b)
# ---------------------------------------------------------------------------

cdef enum: CX_COPY = 0
cdef enum: CX_UNIFORM = 1
cdef enum: CX_KPOINT = 2
cdef enum: CX_BLEND = 3
cdef enum: CX_BLX = 4
cdef enum: CX_SBX = 5
cdef enum: CX_NEURON = 6
cdef enum: CX_PATCH = 7
cdef enum: MAX_CUTS = 256


# MASK8[v][t] = all ones if bit t of byte v is set: expands 8 random bits
# into 8 lane masks, so the select below vectorises (SSE2 and up)
cdef uint32_t MASK8[256][8]


def _fill_mask8():
    cdef int v, t
    for v in range(256):
        for t in range(8):
            MASK8[v][t] = 0xFFFFFFFFU if (v >> t) & 1 else 0


_fill_mask8()


cdef inline void _uniform_half(const float* a, const float* b, float* o,
                               int64_t n, Rng* r) noexcept nogil:
    # one 64-bit word decides 64 genes (bit t of the word -> gene j0 + t);
    # a bitwise select keeps the float bits exact
    cdef int64_t j0, j, t, m, q
    cdef uint64_t w
    cdef uint32_t mask
    cdef const uint32_t* ai = <const uint32_t*>a
    cdef const uint32_t* bi = <const uint32_t*>b
    cdef uint32_t* oi = <uint32_t*>o
    cdef const uint32_t* mk
    cdef uint32_t tmp[8]
    j0 = 0
    while j0 + 64 <= n:
        w = rng_next(r)
        for q in range(8):
            mk = MASK8[(w >> (8 * q)) & 0xFF]
            j = j0 + 8 * q
            # all loads before the stores: no aliasing doubt, so the
            # compiler vectorises the 8 lanes
            for t in range(8):
                tmp[t] = (ai[j + t] & ~mk[t]) | (bi[j + t] & mk[t])
            for t in range(8):
                oi[j + t] = tmp[t]
        j0 += 64
    if j0 < n:
        w = rng_next(r)
        m = n - j0
        for t in range(m):
            mask = <uint32_t>0 - <uint32_t>((w >> t) & 1)
            oi[j0 + t] = (ai[j0 + t] & ~mask) | (bi[j0 + t] & mask)


cdef inline void _sparse_take(const float* src, float* o, int64_t n,
                              double inv_lambda, Rng* r) noexcept nogil:
    # o[j] <- src[j] at Geometric-spaced positions
    cdef Rng s = r[0]
    cdef int64_t j = rng_gap(&s, inv_lambda, n)
    while j < n:
        o[j] = src[j]
        j += 1 + rng_gap(&s, inv_lambda, n)
    r[0] = s


cdef inline void _kpoint(const float* a, const float* b, float* o, int64_t n,
                         int64_t k, Rng* r) noexcept nogil:
    # k distinct cut points in [1, n-1] (Floyd's sampling), sorted; segments
    # alternate a, b, a, ...
    cdef int64_t cuts[256]
    cdef int64_t nc = 0, j, t, c, q, start, stop
    cdef bint seen
    for j in range(n - 1 - k, n - 1):
        t = rng_bounded(r, <uint64_t>(j + 1))
        seen = False
        for q in range(nc):
            if cuts[q] == t + 1:
                seen = True
                break
        c = (j + 1) if seen else (t + 1)
        # insertion into the sorted list
        q = nc
        while q > 0 and cuts[q - 1] > c:
            cuts[q] = cuts[q - 1]
            q -= 1
        cuts[q] = c
        nc += 1
    start = 0
    for q in range(nc + 1):
        stop = cuts[q] if q < nc else n
        if q & 1:
            memcpy(&o[start], &b[start], (stop - start) * sizeof(float))
        else:
            memcpy(&o[start], &a[start], (stop - start) * sizeof(float))
        start = stop


cdef inline double _sbx_betaq(double u, double eta, double beta) noexcept nogil:
    # Deb & Agrawal (1995), bounded form; beta >= 1 (parents inside bounds)
    cdef double alpha, e1 = 1.0 / (eta + 1.0)
    alpha = 2.0 - pow(beta, -(eta + 1.0))
    if u <= 1.0 / alpha:
        return pow(u * alpha, e1)
    return pow(1.0 / (2.0 - u * alpha), e1)


cdef inline void _sbx(const float* a, const float* b, float* o, int64_t n,
                      double eta, double low, double high, bint bounded,
                      Rng* r) noexcept nogil:
    cdef int64_t j
    cdef double x, y, u, beta, bq, y1, y2, c, e1 = 1.0 / (eta + 1.0)
    for j in range(n):
        u = rng_uniform(r)
        x = a[j]
        y = b[j]
        if not bounded:
            if u <= 0.5:
                beta = pow(2.0 * u, e1)
            else:
                beta = pow(1.0 / (2.0 * (1.0 - u)), e1)
            o[j] = <float>(0.5 * ((1.0 + beta) * x + (1.0 - beta) * y))
            continue
        # parents outside the bounds are clamped first (else the spread
        # factor's base could turn negative and give NaN)
        if x < low:
            x = low
        elif x > high:
            x = high
        if y < low:
            y = low
        elif y > high:
            y = high
        if x - y < 1e-14 and y - x < 1e-14:
            o[j] = <float>x
            continue
        y1 = x if x < y else y
        y2 = y if x < y else x
        if x <= y:
            # child near the smaller parent: spread limited by the low bound
            bq = _sbx_betaq(u, eta, 1.0 + 2.0 * (y1 - low) / (y2 - y1))
            c = 0.5 * (y1 + y2 - bq * (y2 - y1))
        else:
            bq = _sbx_betaq(u, eta, 1.0 + 2.0 * (high - y2) / (y2 - y1))
            c = 0.5 * (y1 + y2 + bq * (y2 - y1))
        if c < low:
            c = low
        elif c > high:
            c = high
        o[j] = <float>c


cdef inline void _neuron(const float* a, const float* b, float* o, int64_t n,
                         double p, const int64_t* lay, Rng* r) noexcept nogil:
    # lay = [n_layers, (w_offset, n_in, n_out, b_offset) * n_layers]; unit u
    # of a layer takes column W[:, u] and b[u] from b with probability p.  The
    # unit's coin is hash(key_layer, u): one word per layer, O(1) per unit.
    cdef int64_t n_layers = lay[0], l, u, i, w_off, n_in, n_out, b_off
    cdef uint64_t key
    memcpy(o, a, n * sizeof(float))
    for l in range(n_layers):
        w_off = lay[1 + 4 * l]
        n_in = lay[2 + 4 * l]
        n_out = lay[3 + 4 * l]
        b_off = lay[4 + 4 * l]
        key = rng_next(r)
        for u in range(n_out):
            if _to_unit(_mix64(key + <uint64_t>(u + 1) * GOLDEN)) < p:
                for i in range(n_in):
                    o[w_off + i * n_out + u] = b[w_off + i * n_out + u]
                if b_off >= 0:
                    o[b_off + u] = b[b_off + u]


cdef inline void _patch(const float* a, const float* b, float* o, int64_t n,
                        int64_t H, int64_t W, int64_t mode,
                        Rng* r) noexcept nogil:
    # mode 0 any (one of the three below, uniformly), 1 rectangle,
    # 2 horizontal cut (rows >= c from b), 3 vertical cut (cols >= c from b)
    cdef int64_t r0 = 0, r1 = H, c0 = 0, c1 = W, t, i
    if mode == 0:
        mode = 1 + rng_bounded(r, 3)
    if mode == 1:
        r0 = rng_bounded(r, <uint64_t>H)
        t = rng_bounded(r, <uint64_t>H)
        if t < r0:
            r0, t = t, r0
        r1 = t + 1
        c0 = rng_bounded(r, <uint64_t>W)
        t = rng_bounded(r, <uint64_t>W)
        if t < c0:
            c0, t = t, c0
        c1 = t + 1
    elif mode == 2:
        r0 = 1 + rng_bounded(r, <uint64_t>(H - 1))
    else:
        c0 = 1 + rng_bounded(r, <uint64_t>(W - 1))
    memcpy(o, a, n * sizeof(float))
    for i in range(r0, r1):
        memcpy(&o[i * W + c0], &b[i * W + c0], (c1 - c0) * sizeof(float))


cdef inline void cross_row(int code, const double* p, const int64_t* ip,
                           const float* a, const float* b, float* o, int64_t n,
                           Rng* r) noexcept nogil:
    cdef int64_t j
    cdef double alpha, g
    cdef Rng s
    if code == CX_COPY:
        memcpy(o, a, n * sizeof(float))
    elif code == CX_UNIFORM:
        # p[0] swap prob, p[1] = -1/log1p(-min(p, 1-p))
        if p[0] == 0.5:
            _uniform_half(a, b, o, n, r)
        elif p[0] <= 0.0:
            memcpy(o, a, n * sizeof(float))
        elif p[0] >= 1.0:
            memcpy(o, b, n * sizeof(float))
        elif p[0] < 0.5:
            memcpy(o, a, n * sizeof(float))
            _sparse_take(b, o, n, p[1], r)
        else:
            memcpy(o, b, n * sizeof(float))
            _sparse_take(a, o, n, p[1], r)
    elif code == CX_KPOINT:
        _kpoint(a, b, o, n, <int64_t>p[0], r)
    elif code == CX_BLEND:
        alpha = p[0]
        for j in range(n):
            o[j] = <float>(alpha * a[j] + (1.0 - alpha) * b[j])
    elif code == CX_BLX:
        # c = a + g (b - a), g ~ U(-alpha, 1 + alpha): uniform on the interval
        # [min - alpha d, max + alpha d]; swapping a and b mirrors g
        alpha = p[0]
        s = r[0]
        for j in range(n):
            g = -alpha + (1.0 + 2.0 * alpha) * rng_uniform(&s)
            o[j] = <float>((1.0 - g) * a[j] + g * b[j])
        r[0] = s
    elif code == CX_SBX:
        s = r[0]
        _sbx(a, b, o, n, p[0], p[1], p[2], p[3] != 0.0, &s)
        r[0] = s
    elif code == CX_NEURON:
        _neuron(a, b, o, n, p[0], ip, r)
    elif code == CX_PATCH:
        _patch(a, b, o, n, <int64_t>p[0], <int64_t>p[1], <int64_t>p[2], r)


def _cross(const float[:, ::1] pa, const float[:, ::1] pb, float[:, ::1] out,
           const uint64_t[::1] seeds, int code, const double[::1] prm,
           const int64_t[::1] iprm, int n_threads):
    """out[i] <- cross(pa[i], pb[i]) with the stream seeds[i]."""
    cdef Py_ssize_t n_rows = out.shape[0], i
    cdef int64_t n = out.shape[1]
    cdef Rng r
    cdef const int64_t* ip = NULL
    if iprm.shape[0] > 0:
        ip = &iprm[0]
    for i in prange(n_rows, nogil=True, schedule="guided", num_threads=n_threads):
        r = rng_make(seeds[i])
        cross_row(code, &prm[0], ip, &pa[i, 0], &pb[i, 0], &out[i, 0], n, &r)


def _mate(const float[:, ::1] pop, float[:, ::1] out, const uint64_t[::1] seeds,
          int code, const double[::1] prm, const int64_t[::1] iprm,
          int n_threads):
    """Pairs (2i, 2i+1): out[2i] <- cross(a, b), out[2i+1] <- cross(b, a),
    both with the stream seeds[i] (siblings share their draws)."""
    cdef Py_ssize_t n_pairs = out.shape[0] // 2, i
    cdef int64_t n = out.shape[1]
    cdef Rng r
    cdef const int64_t* ip = NULL
    if iprm.shape[0] > 0:
        ip = &iprm[0]
    for i in prange(n_pairs, nogil=True, schedule="guided", num_threads=n_threads):
        r = rng_make(seeds[i])
        cross_row(code, &prm[0], ip, &pop[2 * i, 0], &pop[2 * i + 1, 0],
                  &out[2 * i, 0], n, &r)
        r = rng_make(seeds[i])
        cross_row(code, &prm[0], ip, &pop[2 * i + 1, 0], &pop[2 * i, 0],
                  &out[2 * i + 1, 0], n, &r)


# ---------------------------------------------------------------------------
# Mutation of one row, in place: a list of ops applied in order
# ---------------------------------------------------------------------------

cdef enum: MUT_GAUSS = 0
cdef enum: MUT_RESET = 1
cdef enum: MUT_NGENE = 2
cdef enum: MUT_FLIP = 3
cdef enum: MUT_POLY = 4
cdef enum: MUT_BLOCK = 5
cdef enum: MUT_CLIP = 6
cdef enum: N_PRM = 8


cdef inline double _poly(double x, double u, double eta, double xl,
                         double xu) noexcept nogil:
    # Deb's bounded polynomial mutation (as DEAP's mutPolynomialBounded)
    cdef double d1, d2, xy, val, dq, mp = 1.0 / (eta + 1.0)
    if x < xl:
        x = xl
    elif x > xu:
        x = xu
    d1 = (x - xl) / (xu - xl)
    d2 = (xu - x) / (xu - xl)
    if u < 0.5:
        xy = 1.0 - d1
        val = 2.0 * u + (1.0 - 2.0 * u) * pow(xy, eta + 1.0)
        dq = pow(val, mp) - 1.0
    else:
        xy = 1.0 - d2
        val = 2.0 * (1.0 - u) + 2.0 * (u - 0.5) * pow(xy, eta + 1.0)
        dq = 1.0 - pow(val, mp)
    x = x + dq * (xu - xl)
    if x < xl:
        x = xl
    elif x > xu:
        x = xu
    return x


cdef inline void _ngene(float* o, int64_t n, int64_t k, Rng* r) noexcept nogil:
    # k distinct genes <- N(0, 1).  Small k: Floyd's sampling with a linear
    # membership test; large k: selection sampling (Knuth's algorithm S).
    cdef int64_t chosen[64]
    cdef int64_t nc = 0, j, t, q, left
    cdef bint seen
    if k <= 64:
        for j in range(n - k, n):
            t = rng_bounded(r, <uint64_t>(j + 1))
            seen = False
            for q in range(nc):
                if chosen[q] == t:
                    seen = True
                    break
            if seen:
                t = j
            chosen[nc] = t
            nc += 1
            o[t] = <float>rng_normal(r)
        return
    left = k
    j = 0
    while left > 0 and j < n:
        if rng_uniform(r) * (n - j) < left:
            o[j] = <float>rng_normal(r)
            left -= 1
        j += 1


cdef inline void _block(float* o, const double* q, Rng* r) noexcept nogil:
    cdef int64_t H = <int64_t>q[0], W = <int64_t>q[1], s = <int64_t>q[2]
    cdef int64_t r0, c0, i, j
    cdef double sigma = q[4]
    r0 = rng_bounded(r, <uint64_t>(H - s + 1))
    c0 = rng_bounded(r, <uint64_t>(W - s + 1))
    for i in range(r0, r0 + s):
        for j in range(c0, c0 + s):
            if q[3] != 0.0:
                o[i * W + j] = <float>(1.0 - o[i * W + j])
            else:
                o[i * W + j] = <float>(o[i * W + j] + sigma * rng_normal(r))


cdef inline void _mut_gauss(float* o, int64_t n, const double* q,
                            const float* sv, Rng* r) noexcept nogil:
    # the loop runs on a local copy of the state (kept in registers)
    cdef Rng s = r[0]
    _mut_gauss_body(o, n, q, sv, &s)
    r[0] = s


cdef inline void _mut_gauss_body(float* o, int64_t n, const double* q,
                                 const float* sv, Rng* r) noexcept nogil:
    # q = [rate, inv_lambda, sigma, aux offset or -1]; sv = per-gene sigmas
    cdef double rate = q[0], inv = q[1], sigma = q[2]
    cdef int64_t j
    if rate <= 0.0:
        return
    if rate >= 1.0:
        if sv == NULL:
            for j in range(n):
                o[j] = <float>(o[j] + sigma * rng_normal(r))
        else:
            for j in range(n):
                o[j] = <float>(o[j] + <double>sv[j] * rng_normal(r))
        return
    j = rng_gap(r, inv, n)
    if sv == NULL:
        while j < n:
            o[j] = <float>(o[j] + sigma * rng_normal(r))
            j += 1 + rng_gap(r, inv, n)
    else:
        while j < n:
            o[j] = <float>(o[j] + <double>sv[j] * rng_normal(r))
            j += 1 + rng_gap(r, inv, n)


cdef inline int64_t _first(double rate, double inv, int64_t n,
                           Rng* r) noexcept nogil:
    # first hit: every gene for rate 1, none for rate 0, else a gap
    if rate >= 1.0:
        return 0
    if rate <= 0.0:
        return n
    return rng_gap(r, inv, n)


cdef inline int64_t _next(int64_t j, double rate, double inv, int64_t n,
                          Rng* r) noexcept nogil:
    if rate >= 1.0:
        return j + 1
    return j + 1 + rng_gap(r, inv, n)


cdef inline void mutate_row(int n_ops, const int32_t* codes, const double* prm,
                            const float* aux, float* o, int64_t n, Rng* r,
                            bint random_ops) noexcept nogil:
    """Apply the ops in order; random_ops=False applies only Clip."""
    cdef Rng s
    cdef int op, code
    cdef const double* q
    cdef int64_t j
    cdef float lo, hi
    cdef const float* sv
    for op in range(n_ops):
        code = codes[op]
        q = &prm[op * N_PRM]
        if code == MUT_CLIP:
            lo = <float>q[0]
            hi = <float>q[1]
            for j in range(n):
                if o[j] < lo:
                    o[j] = lo
                elif o[j] > hi:
                    o[j] = hi
            continue
        if not random_ops:
            continue
        if code == MUT_GAUSS:
            sv = NULL
            if q[3] >= 0.0:
                sv = aux + <int64_t>q[3]
            _mut_gauss(o, n, q, sv, r)
        elif code == MUT_NGENE:
            _ngene(o, n, <int64_t>q[0], r)
        elif code == MUT_BLOCK:
            _block(o, q, r)
        elif code == MUT_RESET:
            # q = [rate, inv_lambda, low, high]
            s = r[0]
            j = _first(q[0], q[1], n, &s)
            while j < n:
                o[j] = <float>(q[2] + (q[3] - q[2]) * rng_uniform(&s))
                j = _next(j, q[0], q[1], n, &s)
            r[0] = s
        elif code == MUT_FLIP:
            s = r[0]
            j = _first(q[0], q[1], n, &s)
            while j < n:
                o[j] = <float>(1.0 - o[j])
                j = _next(j, q[0], q[1], n, &s)
            r[0] = s
        elif code == MUT_POLY:
            # q = [rate, inv_lambda, eta, low, high]
            s = r[0]
            j = _first(q[0], q[1], n, &s)
            while j < n:
                o[j] = <float>_poly(o[j], rng_uniform(&s), q[2], q[3], q[4])
                j = _next(j, q[0], q[1], n, &s)
            r[0] = s


def _mutate(const float[:, ::1] pop, float[:, ::1] out, const uint64_t[::1] seeds,
            const int32_t[::1] codes, const double[:, ::1] prm,
            const float[::1] aux, int n_threads):
    """out[i] <- mutate(pop[i]) with the stream seeds[i]; all ops applied."""
    cdef Py_ssize_t n_rows = out.shape[0], i
    cdef int64_t n = out.shape[1]
    cdef int n_ops = codes.shape[0]
    cdef Rng r
    cdef const float* ap = NULL
    if aux.shape[0] > 0:
        ap = &aux[0]
    for i in prange(n_rows, nogil=True, schedule="guided", num_threads=n_threads):
        r = rng_make(seeds[i])
        memcpy(&out[i, 0], &pop[i, 0], n * sizeof(float))
        mutate_row(n_ops, &codes[0], &prm[0, 0], ap, &out[i, 0], n, &r, True)


# ---------------------------------------------------------------------------
# Fused generation
# ---------------------------------------------------------------------------

def _next_generation(
    const float[:, ::1] parents,     # IN  (P, N)
    float[:, ::1] out,               # OUT (n_out, N); never aliases parents
    int64_t[:, ::1] pairs,           # IN/OUT (n_out, 2): elite rows and, for
                                     # code 0, the selected pairs are given
    const uint64_t[::1] seeds,       # IN  (n_out,) one stream per child row
    Py_ssize_t n_elite,
    int sel_code, int64_t sel_k, const double[::1] sel_f,
    const int64_t[::1] sel_cand,
    int cx_code, const double[::1] cx_prm, const int64_t[::1] cx_iprm,
    double cx_prob,
    const int32_t[::1] mut_codes, const double[:, ::1] mut_prm,
    const float[::1] mut_aux, double mut_prob,
    int n_threads,
):
    """Elites copied, then per child: select, cross, mutate, in one pass."""
    cdef Py_ssize_t n_out = out.shape[0], i
    cdef int64_t n = out.shape[1], pa, pb
    cdef int64_t n_f = sel_f.shape[0], n_cand = sel_cand.shape[0]
    cdef int n_ops = mut_codes.shape[0]
    cdef const double* fp = NULL
    cdef const int64_t* cp = NULL
    cdef const int64_t* ip = NULL
    cdef const float* ap = NULL
    cdef const int32_t* mc = NULL
    cdef const double* mp = NULL
    cdef bint do_cx, do_mut
    cdef Rng r
    if n_f > 0:
        fp = &sel_f[0]
    if n_cand > 0:
        cp = &sel_cand[0]
    if cx_iprm.shape[0] > 0:
        ip = &cx_iprm[0]
    if mut_aux.shape[0] > 0:
        ap = &mut_aux[0]
    if n_ops > 0:
        mc = &mut_codes[0]
        mp = &mut_prm[0, 0]
    for i in prange(n_out, nogil=True, schedule="guided", num_threads=n_threads):
        if i < n_elite:
            memcpy(&out[i, 0], &parents[pairs[i, 0], 0], n * sizeof(float))
            continue
        r = rng_make(seeds[i])
        if sel_code == SEL_PRE:
            pa = pairs[i, 0]
            pb = pairs[i, 1]
        else:
            pa = select_one(&r, sel_code, sel_k, fp, n_f, cp, n_cand)
            pb = select_one(&r, sel_code, sel_k, fp, n_f, cp, n_cand)
            pairs[i, 0] = pa
            pairs[i, 1] = pb
        do_cx = cx_code != CX_COPY and cx_prob > 0.0
        if do_cx and cx_prob < 1.0:
            do_cx = rng_uniform(&r) < cx_prob
        if do_cx:
            cross_row(cx_code, &cx_prm[0], ip, &parents[pa, 0], &parents[pb, 0],
                      &out[i, 0], n, &r)
        else:
            memcpy(&out[i, 0], &parents[pa, 0], n * sizeof(float))
        if n_ops > 0:
            do_mut = mut_prob > 0.0
            if do_mut and mut_prob < 1.0:
                do_mut = rng_uniform(&r) < mut_prob
            mutate_row(n_ops, mc, mp, ap, &out[i, 0], n, &r, do_mut)


def _count_nonfinite(const float[:, ::1] x, int n_threads):
    """Number of NaN/inf values in x (a parallel pass, no temporary)."""
    cdef Py_ssize_t n_rows = x.shape[0], n = x.shape[1], i, j
    cdef int64_t bad = 0
    cdef float v
    for i in prange(n_rows, nogil=True, schedule="guided", num_threads=n_threads):
        for j in range(n):
            v = x[i, j]
            if v - v != 0.0:
                bad += 1
    return bad
