# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Cython kernels of the operators: bulk draws, selection, crossover,
mutation and the fused generation.

Kernels take arrays and plain numbers and do no validation: the wrappers in
``pyneat_lite/operators/`` validate once and then call them.  The operator
codes they switch on are the ``cpdef enum`` of ``_evolution.pxd``; the random
draws come from the counter-based generator of ``_rng.pxd`` (one stream per
row, seeded from ``pyneat_lite._rng.row_seeds``), so the output does not
depend on the number of OpenMP threads or on the schedule.

Loops run ``schedule="guided"``: rows are handed out in shrinking chunks, so a
thread that the OS delays (other processes on the cores) does not hold the
others back; results are unchanged.  Mutated genes are found by geometric
gaps (one exponential draw per mutated gene instead of a uniform per gene)
and uniform crossover with swap probability 1/2 uses one word per 64 genes.
"""

from cython.parallel cimport parallel, prange
from libc.math cimport pow
from libc.stdint cimport int32_t, int64_t, uint32_t, uint64_t
from libc.string cimport memcpy, memset

from ._openmp cimport PNL_OPENMP, omp_get_num_threads, omp_get_thread_num
from ._rng cimport (
    GOLDEN,
    Rng,
    _mix64,
    _to_unit,
    rng_bounded,
    rng_fill_normal32,
    rng_gap,
    rng_make,
    rng_next,
    rng_normal,
    rng_uniform,
)


def openmp_enabled():
    """True when the extension was compiled with OpenMP."""
    return bool(PNL_OPENMP)


# ---------------------------------------------------------------------------
# Test hook: which threads ran the last parallel kernel
# ---------------------------------------------------------------------------
# Each thread of a kernel's parallel region writes its own slot (no race):
# the team size it sees.  Costs one store per thread and call.  Concurrent
# kernel calls from several Python threads mix their reports (results are
# unaffected).

cdef enum: TEAM_SLOTS = 256
cdef int _team[TEAM_SLOTS]


cdef inline void _team_reset() noexcept nogil:
    memset(_team, 0, sizeof(_team))


cdef inline void _team_note() noexcept nogil:
    cdef int t = omp_get_thread_num()
    if t < TEAM_SLOTS:
        _team[t] = omp_get_num_threads()


def _last_team():
    """Test hook: the OpenMP team of the last parallel kernel call, one entry
    per thread that entered its parallel region (thread id order), each the
    team size that thread saw (``omp_get_num_threads()``): ``[1]`` for a
    serial call, ``[2, 2]`` when two threads ran."""
    cdef int t
    return [_team[t] for t in range(TEAM_SLOTS) if _team[t]]


# ---------------------------------------------------------------------------
# Bulk draws
# ---------------------------------------------------------------------------

def _standard_normal(float[:, ::1] out, const uint64_t[::1] seeds, int n_threads):
    """out (R, C) float32 <- N(0, 1); row r from seeds[r], two normals per
    64-bit word (23-bit ziggurat)."""
    cdef Py_ssize_t n_rows = out.shape[0], n_cols = out.shape[1]
    cdef Py_ssize_t i
    cdef Rng r
    _team_reset()
    with nogil, parallel(num_threads=n_threads):
        _team_note()
        for i in prange(n_rows, schedule="guided"):
            r = rng_make(seeds[i])
            rng_fill_normal32(&r, &out[i, 0], n_cols)


def _uniform(double[:, ::1] out, const uint64_t[::1] seeds, int n_threads):
    """out (R, C) float64 <- U(0, 1); row r from seeds[r]."""
    cdef Py_ssize_t n_rows = out.shape[0], n_cols = out.shape[1]
    cdef Py_ssize_t i, j
    cdef Rng r
    _team_reset()
    with nogil, parallel(num_threads=n_threads):
        _team_note()
        for i in prange(n_rows, schedule="guided"):
            r = rng_make(seeds[i])
            for j in range(n_cols):
                out[i, j] = rng_uniform(&r)


# ---------------------------------------------------------------------------
# Selection (one index per draw)
# ---------------------------------------------------------------------------
# codes: 1 tournament (k, keys = fitness oriented so larger is better, NaN ->
# -inf), 2 inverse-CDF on cumulative weights (roulette, rank), 3 uniform over
# a candidate list (truncation, random).  Code 0 = indices precomputed.



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
    _team_reset()
    with nogil, parallel(num_threads=n_threads):
        _team_note()
        for i in prange(n, schedule="guided"):
            r = rng_make(seeds[i])
            out[i] = select_one(&r, code, k, fp, n_f, cp, n_cand)


def _sus(int64_t[::1] out, const double[::1] cdf, uint64_t seed):
    """Stochastic universal sampling then a Fisher-Yates shuffle (one stream,
    serial: the team report says one thread)."""
    cdef Py_ssize_t n = out.shape[0], i, j
    cdef Py_ssize_t p = cdf.shape[0]
    cdef double total = cdf[p - 1], step, x
    cdef int64_t tmp
    cdef Rng r
    _team_reset()
    _team_note()  # outside a parallel region: thread 0 of a team of 1
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
                      double gene_prob, bint exchange, Rng* r) noexcept nogil:
    # Deb & Agrawal (1995) as Deb's code and DEAP's cxSimulatedBinaryBounded:
    # a gene is crossed with probability gene_prob (else it is a's), and a
    # crossed gene is the child on a's side or on b's side with probability
    # 1/2 each -- the exchange that makes SBX a recombination.  Draws per
    # gene: crossed? (gene_prob < 1), u (spread factor), side (exchange);
    # cross(b, a) with the same draws is the sibling, so a pair is Deb's two
    # children.  gene_prob=1 without exchange is the library's former SBX
    # (each child on its own parent's side), kept for old checkpoints.
    cdef int64_t j
    cdef double x, y, u, beta, bq, y1, y2, c, e1 = 1.0 / (eta + 1.0)
    cdef bint near_b
    for j in range(n):
        if gene_prob < 1.0 and not (rng_uniform(r) < gene_prob):
            x = a[j]  # not crossed: the first parent's, within the bounds
            if bounded:
                if x < low:
                    x = low
                elif x > high:
                    x = high
            o[j] = <float>x
            continue
        u = rng_uniform(r)
        near_b = exchange and rng_uniform(r) < 0.5
        x = a[j]
        y = b[j]
        if not bounded:
            if u <= 0.5:
                beta = pow(2.0 * u, e1)
            else:
                beta = pow(1.0 / (2.0 * (1.0 - u)), e1)
            if near_b:
                o[j] = <float>(0.5 * ((1.0 - beta) * x + (1.0 + beta) * y))
            else:
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
        if (x <= y) != near_b:
            # the child near the smaller parent: spread limited by the low bound
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
        _sbx(a, b, o, n, p[0], p[1], p[2], p[3] != 0.0, p[4], p[5] != 0.0, &s)
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
    _team_reset()
    with nogil, parallel(num_threads=n_threads):
        _team_note()
        for i in prange(n_rows, schedule="guided"):
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
    _team_reset()
    with nogil, parallel(num_threads=n_threads):
        _team_note()
        for i in prange(n_pairs, schedule="guided"):
            r = rng_make(seeds[i])
            cross_row(code, &prm[0], ip, &pop[2 * i, 0], &pop[2 * i + 1, 0],
                      &out[2 * i, 0], n, &r)
            r = rng_make(seeds[i])
            cross_row(code, &prm[0], ip, &pop[2 * i + 1, 0], &pop[2 * i, 0],
                      &out[2 * i + 1, 0], n, &r)


# ---------------------------------------------------------------------------
# Mutation of one row, in place: a list of ops applied in order
# ---------------------------------------------------------------------------



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
    _team_reset()
    with nogil, parallel(num_threads=n_threads):
        _team_note()
        for i in prange(n_rows, schedule="guided"):
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
    _team_reset()
    with nogil, parallel(num_threads=n_threads):
        _team_note()
        for i in prange(n_out, schedule="guided"):
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
