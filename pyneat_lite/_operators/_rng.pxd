# The counter-based RNG of the operators, for any Cython module to cimport:
#
#     from pyneat_lite._operators._rng cimport Rng, rng_make, rng_normal
#
# A stream is one row: its 64-bit seed comes from ``pyneat_lite._rng.row_seeds
# (seed, generation, stream, n_rows)`` (never from a thread), ``rng_make``
# turns it into a xoshiro256** state (Blackman & Vigna 2018) filled by four
# splitmix64 steps, and every draw of that row comes from that state only --
# so results do not depend on the number of OpenMP threads.
#
# * ``rng_uniform``: ``((x >> 11) + 0.5) * 2**-53``, strictly inside (0, 1);
# * ``rng_bounded(r, n)``: exactly uniform in [0, n), n <= 2**32 (Lemire 2019,
#   multiply-shift on the upper 32 bits of a word, with rejection);
# * ``rng_normal``: the 256-layer Marsaglia-Tsang ziggurat on one 64-bit word
#   (8 bits layer, 1 sign, 52 abscissa; NumPy's legacy double layout), exact;
#   ``rng_fill_normal32`` fills a float32 row two normals per word (23-bit
#   abscissas, NumPy's float32 layout);
# * ``rng_exponential``: the 256-layer exponential ziggurat (53 bits);
# * ``rng_gap(r, inv_lambda, limit)``: a Geometric(rate) gap,
#   ``floor(E / lambda)`` with ``E ~ Exp(1)`` and
#   ``inv_lambda = -1 / log1p(-rate)``, capped at ``limit``.
#
# The fast paths are ``cdef inline`` here and read the compile-time tables of
# ``_ziggurat.pxd``; the rare slow paths (0.7% of normals, 1.1% of
# exponentials, Lemire's rejections, the normal tail) are compiled once in
# ``_rng.pyx`` and declared below: inlined, they would bloat every hot loop
# (Gaussian mutation ran 30% slower).  The 23-bit normal's slow path is the
# exception, inline: its one caller is the bulk fill, where a call through the
# module's C API cost 4%.  Every slow path receives a *copy* of the state, and hot
# loops should work on a local copy too (``cdef Rng s = r[0]`` ... ``r[0] =
# s``): a state whose address reaches an out-of-line call cannot stay in
# registers (2x on Gaussian mutation).
#
# Inside ``prange``, create the state by assignment (``r = rng_make(seed)``):
# an assigned variable is thread-private, a field-by-field write is not.

from libc.math cimport exp
from libc.stdint cimport int64_t, uint32_t, uint64_t

from ._ziggurat cimport (
    PNL_Z23_K,
    PNL_Z23_W,
    PNL_ZE_K,
    PNL_ZE_W,
    PNL_ZIG_F,
    PNL_ZIG_K,
    PNL_ZIG_W,
)

cdef struct Rng:
    uint64_t s0
    uint64_t s1
    uint64_t s2
    uint64_t s3

cdef extern from *:
    """
    #define PNL_GOLDEN 0x9E3779B97F4A7C15ULL
    """
    const uint64_t GOLDEN "PNL_GOLDEN"  # splitmix64 increment (2**64 / phi)

# out-of-line slow paths (``_rng.pyx``); x is the word that missed the
# rectangle of its layer; negative: the sign of a tail draw
cdef int64_t _bounded_slow(Rng* r, uint64_t n, uint64_t m) noexcept nogil
cdef double _normal_slow(Rng* r, uint64_t x) noexcept nogil
cdef double _normal_tail(Rng* r, uint64_t negative) noexcept nogil
cdef double _exponential_slow(Rng* r, uint64_t x) noexcept nogil


cdef inline uint64_t _mix64(uint64_t z) noexcept nogil:
    # splitmix64 finaliser (also a good 64-bit hash)
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


cdef inline double rng_normal(Rng* r) noexcept nogil:
    """Standard normal from one word (99.3% of draws), else the slow path."""
    cdef uint64_t x = rng_next(r)
    cdef int idx = <int>(x & 0xFF)
    cdef uint64_t rabs = (x >> 9) & 0x000FFFFFFFFFFFFFULL
    cdef double v
    cdef Rng t
    if rabs < PNL_ZIG_K[idx]:
        v = <double><int64_t>rabs * PNL_ZIG_W[idx]
        return -v if (x >> 8) & 1 else v
    t = r[0]
    v = _normal_slow(&t, x)
    r[0] = t
    return v


cdef inline double _normal32_slow(Rng* r, uint32_t x) noexcept nogil:
    # outside a layer's rectangle; PNL_ZIG_F serves both resolutions (the f
    # values do not depend on the abscissa bits)
    cdef uint32_t rabs
    cdef int idx
    cdef double v
    while True:
        idx = <int>(x & 0xFF)
        rabs = (x >> 9) & 0x7FFFFFU
        v = <double>rabs * PNL_Z23_W[idx]
        if (x >> 8) & 1:
            v = -v
        if rabs < PNL_Z23_K[idx]:
            return v
        if idx == 0:
            return _normal_tail(r, (rabs >> 8) & 1)
        else:
            if ((PNL_ZIG_F[idx - 1] - PNL_ZIG_F[idx]) * rng_uniform(r) + PNL_ZIG_F[idx]
                    < exp(-0.5 * v * v)):
                return v
        x = <uint32_t>(rng_next(r) & 0xFFFFFFFFULL)


cdef inline double rng_normal32(Rng* r, uint32_t x) noexcept nogil:
    """Normal from a 32-bit draw x (8 bits layer, 1 sign, 23 abscissa), the
    layout of NumPy's float32 ziggurat; a rejection draws further words from
    r and uses their low halves."""
    cdef int idx = <int>(x & 0xFF)
    cdef uint32_t rabs = (x >> 9) & 0x7FFFFFU
    cdef double v
    cdef Rng t
    if rabs < PNL_Z23_K[idx]:
        v = <double>rabs * PNL_Z23_W[idx]
        return -v if (x >> 8) & 1 else v
    t = r[0]
    v = _normal32_slow(&t, x)
    r[0] = t
    return v


cdef inline void rng_fill_normal32(Rng* r, float* o, int64_t n) noexcept nogil:
    """o[0:n] <- N(0, 1) float32: word w gives o[j] from its low half and
    o[j + 1] from its high half; an odd last value uses a word's low half."""
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


cdef inline double rng_exponential(Rng* r) noexcept nogil:
    """Exp(1) from one word (98.9% of draws), else the slow path."""
    cdef uint64_t x = rng_next(r)
    cdef int idx = <int>(x & 0xFF)
    cdef uint64_t ri = x >> 11
    cdef double v
    cdef Rng t
    if ri < PNL_ZE_K[idx]:
        return <double><int64_t>ri * PNL_ZE_W[idx]
    t = r[0]
    v = _exponential_slow(&t, x)
    r[0] = t
    return v


cdef inline int64_t rng_gap(Rng* r, double inv_lambda, int64_t limit) noexcept nogil:
    """Genes skipped before the next hit: floor(E / lambda) ~ Geometric(rate),
    capped at limit.  inv_lambda = -1 / log1p(-rate) > 0."""
    cdef double g = rng_exponential(r) * inv_lambda
    if g >= <double>limit:
        return limit
    return <int64_t>g  # truncation == floor for g >= 0
