"""Numba kernels of the quality-diversity ES emitters: every emitter of a
scheduler in one call.

No validation here (``pyneat_lite.qd`` validates once).  ``E`` emitters of
one kind share a batch size ``b`` and a genome length ``n``; their separable
CMA-ES states are stacked -- means, diagonal covariances, paths and scales
float64 (E, n), step sizes (E,) -- and their samples are rows
``e * b .. (e + 1) * b`` of one float32 (E * b, n) noise array.  One call
draws the row seeds of all emitters, one samples (and clips) all the
populations, one ranks every batch by improvement and updates every state.

The update is :meth:`pyneat_lite.SepCMAES._tell` written out in the same
order of operations (no fastmath, not even contraction; the path norm is
NumPy's pairwise sum), so an emitter updated here is bit-identical to its
strategy told the ranks (``tests/test_qd_scheduler.py`` checks this).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ._config import EXACT_INLINE_OPTS, EXACT_OPTS
from .rng import seed_sequence_state

__all__ = ["group_row_seeds", "group_sample", "group_sep_tell", "pairwise_sum_sq"]

#: the constants of one parent count ``k`` (a row of the ``consts`` table)
CS, DS, CC, C1, CMU, CHI_N, MUEFF, PS_COEF, PC_COEF = range(9)
N_CONSTS = 9


@njit(**EXACT_INLINE_OPTS)
def _words(x, out, at):
    # SeedSequence's coercion of a non-negative int: 32-bit words, lowest
    # first, one zero word for 0
    if x == 0:
        out[at] = np.uint32(0)
        return at + 1
    while x > 0:
        out[at] = np.uint32(x & np.uint64(0xFFFFFFFF))
        at += 1
        x = x >> np.uint64(32)
    return at


@njit(**EXACT_OPTS)
def group_row_seeds(seeds, generations, stream, batch, out):
    """``out[e * batch:(e + 1) * batch]`` <- the row seeds of
    ``row_seeds(seeds[e], generations[e], stream, batch)`` for every e
    (``SeedSequence(seed, spawn_key=(generation, stream))``, bit for bit).

    seeds : uint64 (E,); generations : int64 (E,); out : uint64 (E * batch,).
    """
    words = np.zeros(12, np.uint32)
    for e in range(seeds.shape[0]):
        at = _words(np.uint64(seeds[e]), words, 0)
        while at < 4:  # zero-padded to the pool size when a spawn key follows
            words[at] = np.uint32(0)
            at += 1
        at = _words(np.uint64(generations[e]), words, at)
        at = _words(np.uint64(stream), words, at)
        seed_sequence_state(words[:at], out[e * batch:(e + 1) * batch])


@njit(**EXACT_OPTS)
def group_sample(means, scales, z, lower, upper, clip, raw, out):
    """``raw[r] = means[e] + scales[e] * z[r]`` (float32) for the rows r of
    emitter ``e = r // b``, and ``out[r]`` the same clipped to ``[lower,
    upper]`` when ``clip`` (the clip of float32 values by float64 bounds, as
    ``np.clip``).  The arithmetic of ``_kernels.es.sample_population``."""
    n_em, n = means.shape
    b = z.shape[0] // n_em
    for e in range(n_em):
        for i in range(e * b, (e + 1) * b):
            for j in range(n):
                d = scales[e, j] * z[i, j]
                v = np.float32(means[e, j] + d)
                raw[i, j] = v
                if clip:
                    w = np.float64(v)
                    if w < lower[j]:
                        w = lower[j]
                    elif w > upper[j]:
                        w = upper[j]
                    out[i, j] = w
                else:
                    out[i, j] = v


@njit(**EXACT_INLINE_OPTS)
def _pairwise(a, i0, n):
    # numpy's pairwise summation (loops_utils.h: DOUBLE_pairwise_sum) of
    # a[i0:i0 + n], the sum np.add.reduce returns for a contiguous array
    if n < 8:
        res = 0.0
        for i in range(i0, i0 + n):
            res += a[i]
        return res
    if n <= 128:
        r0 = a[i0]
        r1 = a[i0 + 1]
        r2 = a[i0 + 2]
        r3 = a[i0 + 3]
        r4 = a[i0 + 4]
        r5 = a[i0 + 5]
        r6 = a[i0 + 6]
        r7 = a[i0 + 7]
        i = 8
        while i < n - (n % 8):
            r0 += a[i0 + i]
            r1 += a[i0 + i + 1]
            r2 += a[i0 + i + 2]
            r3 += a[i0 + i + 3]
            r4 += a[i0 + i + 4]
            r5 += a[i0 + i + 5]
            r6 += a[i0 + i + 6]
            r7 += a[i0 + i + 7]
            i += 8
        res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
        while i < n:
            res += a[i0 + i]
            i += 1
        return res
    return -1.0  # never: callers split larger arrays first


@njit(**EXACT_OPTS)
def pairwise_sum_sq(x, sq):
    """``np.add.reduce(x * x)`` bit for bit (``sq`` is float64 scratch of
    x's shape): numpy's pairwise summation, halved above 128 values."""
    n = x.shape[0]
    for j in range(n):
        sq[j] = x[j] * x[j]
    if n <= 128:
        return _pairwise(sq, 0, n)
    # DOUBLE_pairwise_sum's recursion, post-order with explicit stacks (a
    # recursive kernel cannot be cached): nodes (start, length, stage) and
    # the partial sums of finished children
    node_i = np.empty(64, np.int64)
    node_n = np.empty(64, np.int64)
    stage = np.empty(64, np.int64)
    vals = np.empty(64, np.float64)
    top = 0
    nv = 0
    node_i[0] = 0
    node_n[0] = n
    stage[0] = 0
    while top >= 0:
        m = node_n[top]
        if m <= 128:
            vals[nv] = _pairwise(sq, node_i[top], m)
            nv += 1
            top -= 1
            continue
        h = m // 2
        h -= h % 8
        if stage[top] == 0:  # left half next
            stage[top] = 1
            node_i[top + 1] = node_i[top]
            node_n[top + 1] = h
            stage[top + 1] = 0
            top += 1
        elif stage[top] == 1:  # then the right half
            stage[top] = 2
            node_i[top + 1] = node_i[top] + h
            node_n[top + 1] = m - h
            stage[top + 1] = 0
            top += 1
        else:  # both done: left + right
            nv -= 1
            vals[nv - 1] = vals[nv - 1] + vals[nv]
            top -= 1
    return vals[0]


@njit(**EXACT_INLINE_OPTS)
def _rank(status, value, r0, b, two_stage, order):
    # stable insertion sort of rows r0 .. r0 + b: status descending (two-stage
    # only), then value descending, ties by index -- np.lexsort((arange,
    # -value, -status)) and np.argsort(-value, kind="stable")
    for i in range(b):
        order[i] = i
    for i in range(1, b):
        cur = order[i]
        s = status[r0 + cur]
        v = value[r0 + cur]
        k = i - 1
        while k >= 0:
            o = order[k]
            so = status[r0 + o]
            vo = value[r0 + o]
            before = s > so if two_stage and s != so else -v < -vo
            if not before:
                break
            order[k + 1] = o
            k -= 1
        order[k + 1] = cur


@njit(**EXACT_OPTS)
def group_sep_tell(status, value, z, two_stage, filter_rule, weights, consts,
                   means, cov, pc, ps, scales, steps, generations, converged,
                   added, order):
    """Rank every emitter's batch and update its separable CMA-ES state.

    status int32 (E * b,), value float64 (E * b,): the archive's verdict;
    z float32 (E * b, n): the noise the batches were sampled from.  Parents:
    the top ``b // 2`` of the ranking ("mu"), or with ``filter_rule`` the
    ``k`` rows that entered the archive (no update when none did).
    weights float64 (b + 1, b) and consts float64 (b + 1, N_CONSTS): the
    recombination weights and constants of ``k`` parents in row ``k``.
    The states (means, cov, pc, ps, scales float64 (E, n), steps float64
    (E,)) are updated in place; generations int64 (E,) are the strategies'
    generations before this tell.  converged (bool (E,)) is set where the
    strategy has converged (step size below 1e-11, condition of the diagonal
    covariance above 1e14, or a flat ranking), added (bool (E,)) where a row
    entered the archive; order is int64 (E * b,), each batch's ranking.
    """
    n_em, n = means.shape
    b = z.shape[0] // n_em
    zw = np.empty(n, np.float64)
    zsq = np.empty(n, np.float64)
    sq = np.empty(n, np.float64)
    for e in range(n_em):
        r0 = e * b
        o = order[r0:r0 + b]
        _rank(status, value, r0, b, two_stage, o)
        n_added = 0
        for i in range(b):
            if status[r0 + i] > 0:
                n_added += 1
        added[e] = n_added > 0
        k = n_added if filter_rule else b // 2
        if k > 0:
            w = weights[k]
            cst = consts[k]
            for j in range(n):
                zw[j] = 0.0
                zsq[j] = 0.0
            for t in range(k):
                i = r0 + o[t]
                a = w[t]
                for j in range(n):
                    v = np.float64(z[i, j])
                    zw[j] += a * v
                    zsq[j] += a * v * v
            cs = cst[CS]
            cc = cst[CC]
            c1 = cst[C1]
            cmu = cst[CMU]
            step = steps[e]
            for j in range(n):
                yw = math.sqrt(cov[e, j]) * zw[j]
                means[e, j] += step * yw
                ps[e, j] *= 1.0 - cs
                ps[e, j] += cst[PS_COEF] * zw[j]
            ps_norm = math.sqrt(pairwise_sum_sq(ps[e], sq))
            g = generations[e] + 1
            h_sig = (ps_norm / math.sqrt(1.0 - math.pow(1.0 - cs, 2.0 * g))
                     / cst[CHI_N]) < (1.4 + 2.0 / (n + 1.0))
            decay = 1.0 - c1 - cmu + (0.0 if h_sig else c1 * cc * (2.0 - cc))
            for j in range(n):
                yw = math.sqrt(cov[e, j]) * zw[j]
                pc[e, j] *= 1.0 - cc
                if h_sig:
                    pc[e, j] += cst[PC_COEF] * yw
                cov[e, j] *= decay + cmu * zsq[j]
                cov[e, j] += c1 * pc[e, j] * pc[e, j]
            step *= math.exp((cs / cst[DS]) * (ps_norm / cst[CHI_N] - 1.0))
            steps[e] = step
            for j in range(n):
                scales[e, j] = math.sqrt(cov[e, j]) * step
        c_max = cov[e, 0]
        c_min = cov[e, 0]
        for j in range(1, n):
            c_max = max(c_max, cov[e, j])
            c_min = min(c_min, cov[e, j])
        first = value[r0 + o[0]]
        last = value[r0 + o[b - 1]]
        converged[e] = (steps[e] * math.sqrt(c_max) < 1e-11
                        or c_max > 1e14 * c_min
                        or (math.isfinite(first) and math.isfinite(last)
                            and abs(first - last) < 1e-12))
