"""Numba kernels of quality diversity: cell lookup, batch insertion, novelty.

No validation here (``pyneat_lite.qd`` validates once).  An archive is a set
of flat buffers indexed by cell -- ``occupied`` (bool (C,)), ``objective``
and ``threshold`` (float64 (C,)), ``solutions`` (float32 (C, n)) and
``measures`` (float64 (C, m)) -- and one call inserts a whole batch.

Batch insertion follows the CMA-MAE rule (Fontaine & Nikolaidis 2023,
appendix H; the semantics of pyribs' ``add``): a candidate can enter its cell
when its objective beats the cell's threshold (``threshold_min`` for an empty
cell); of the candidates of one cell the best enters (the earliest on ties);
the cell's threshold becomes ``r * t + (1 - r) * mean`` with
``r = (1 - learning_rate) ** k`` over the ``k`` candidates that beat it (the
closed form of ``k`` sequential updates ``t <- (1 - a) t + a f`` by their
mean), or, with ``threshold_min = -inf`` (CMA-ME / MAP-Elites), the best
objective.  Statuses and values are computed against the archive as it was
before the batch.  The kernels are sequential: a batch is a few hundred
rows, far below what a thread pool repays, and the order of the per-cell sums
is then the batch order, whatever the number of threads.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from ._config import EXACT_INLINE_OPTS, EXACT_OPTS

__all__ = [
    "grid_index",
    "batch_add",
    "archive_sums",
    "refresh_blocks",
    "knn_mean_distance",
    "nearest_centroid",
    "variation",
]

#: cells per block of the archive statistics' partial sums
BLOCK = 32

#: out-of-range policies of :func:`grid_index`
CLIP = 0
IGNORE = 1


@njit(**EXACT_OPTS)
def grid_index(measures, lower, upper, scale, dims, mode, out):
    """Flat (C-order) grid cell of each row of ``measures``.

    measures : float64 (B, m); lower, upper, scale : float64 (m,) with
    ``scale = dims / (upper - lower)``; dims : int64 (m,); mode : CLIP (an
    out-of-range coordinate goes to the edge cell) or IGNORE (the row gets
    -1).  A non-finite coordinate always gives -1.
    """
    n_rows, m = measures.shape
    for i in range(n_rows):
        flat = 0
        for d in range(m):
            x = measures[i, d]
            if not math.isfinite(x):
                flat = -1
                break
            if mode == IGNORE and (x < lower[d] or x > upper[d]):
                flat = -1
                break
            c = math.floor((x - lower[d]) * scale[d])
            # clip; the upper bound itself belongs to the last cell
            if c < 0:
                c = 0
            elif c >= dims[d]:
                c = dims[d] - 1
            flat = flat * dims[d] + c
        out[i] = flat


@njit(**EXACT_OPTS)
def batch_add(idx, objective, solutions, measures, occupied, obj_store,
              thr_store, sol_store, meas_store, learning_rate, threshold_min,
              status, value, touched, block_sum, block_max, block_mark):
    """Insert one batch; returns the number of newly occupied cells.

    idx : int64 (B,) cell per row, -1 = never inserted; objective : float64
    (B,) (non-finite = never inserted, value -inf); solutions float32 (B, n);
    measures float64 (B, m).  status int32 (B,) and value float64 (B,) are
    written (0 not added, 1 improved a cell, 2 new cell; value = objective
    minus the cell's threshold, with 0 / threshold_min for a new cell).
    touched is int64 (B,) scratch.  The candidates of a cell are gathered in
    a small hash table of the batch (not in per-cell arrays of the archive:
    a batch touches a few hundred cells, and cold per-cell scratch would
    cost a cache miss each).  The per-block sums and maxima of the
    objectives (:func:`refresh_blocks`) of the blocks holding a changed cell
    are recomputed; block_mark (bool (blocks,), False) is scratch left as
    found.
    """
    n_rows = idx.shape[0]
    cma_me = threshold_min == -np.inf
    size = 1
    while size < 2 * n_rows:
        size *= 2
    h_key = np.full(size, -1, np.int64)
    h_slot = np.empty(size, np.int64)
    cnt = np.zeros(n_rows, np.int64)
    ssum = np.zeros(n_rows, np.float64)
    best = np.empty(n_rows, np.int64)
    n_touched = 0
    for i in range(n_rows):
        c = idx[i]
        f = objective[i]
        if c < 0 or not math.isfinite(f):
            status[i] = 0
            value[i] = -np.inf
            continue
        occ = occupied[c]
        thr = thr_store[c] if occ else threshold_min
        if f > thr:
            if occ:
                status[i] = 1
                value[i] = f - thr
            else:
                status[i] = 2
                value[i] = f - (0.0 if cma_me else threshold_min)
            h = (c * 40503) & (size - 1)  # linear probing
            while h_key[h] != -1 and h_key[h] != c:
                h = (h + 1) & (size - 1)
            if h_key[h] == -1:
                h_key[h] = c
                h_slot[h] = n_touched
                touched[n_touched] = c
                best[n_touched] = i
                n_touched += 1
            t = h_slot[h]
            if cnt[t] > 0 and f > objective[best[t]]:
                best[t] = i
            cnt[t] += 1
            ssum[t] += f
        else:
            status[i] = 0
            value[i] = f - thr
    n_new = 0
    n_sol = solutions.shape[1]
    n_meas = measures.shape[1]
    for t in range(n_touched):
        c = touched[t]
        b = best[t]
        k = cnt[t]
        if cma_me:
            new_thr = objective[b]
        else:
            old = thr_store[c] if occupied[c] else threshold_min
            ratio = (1.0 - learning_rate) ** k
            new_thr = ratio * old + (ssum[t] / k) * (1.0 - ratio)
        if not occupied[c]:
            occupied[c] = True
            n_new += 1
        obj_store[c] = objective[b]
        thr_store[c] = new_thr
        for j in range(n_sol):
            sol_store[c, j] = solutions[b, j]
        for j in range(n_meas):
            meas_store[c, j] = measures[b, j]
    for t in range(n_touched):
        blk = touched[t] // BLOCK
        if not block_mark[blk]:
            block_mark[blk] = True
            _refresh_block(occupied, obj_store, blk, block_sum, block_max)
    for t in range(n_touched):
        block_mark[touched[t] // BLOCK] = False
    return n_new


@njit(**EXACT_INLINE_OPTS)
def _refresh_block(occupied, objective, blk, block_sum, block_max):
    total = 0.0
    top = -np.inf
    for c in range(blk * BLOCK, min((blk + 1) * BLOCK, occupied.shape[0])):
        if occupied[c]:
            f = objective[c]
            total += f
            if f > top:
                top = f
    block_sum[blk] = total
    block_max[blk] = top


@njit(**EXACT_OPTS)
def refresh_blocks(occupied, objective, block_sum, block_max):
    """Every block's (sum, max) of its occupied cells' objectives, in cell
    order (sum 0 and max -inf for an empty block); blocks are
    :data:`BLOCK` consecutive cells."""
    for blk in range(block_sum.shape[0]):
        _refresh_block(occupied, objective, blk, block_sum, block_max)


@njit(**EXACT_OPTS)
def archive_sums(block_sum, block_max):
    """(sum, max) of the occupied cells' objectives from the per-block sums
    and maxima, blocks in order (sum 0 and max -inf when empty): O(cells /
    BLOCK) per call, kept current by :func:`batch_add`."""
    total = 0.0
    top = -np.inf
    for b in range(block_sum.shape[0]):
        total += block_sum[b]
        if block_max[b] > top:
            top = block_max[b]
    return total, top


@njit(**EXACT_OPTS)
def _knn_rows(queries, points, n_points, k, skip_self, out, nn, i0, i1):
    m = queries.shape[1]
    kk = min(k, n_points - (1 if skip_self else 0))
    buf = np.empty(max(kk, 1), np.float64)
    idx = np.empty(max(kk, 1), np.int64)
    for i in range(i0, i1):
        for t in range(nn.shape[1]):
            nn[i, t] = -1
        if kk <= 0:
            out[i] = 0.0
            continue
        filled = 0
        for p in range(n_points):
            if skip_self and p == i:
                continue
            s = 0.0
            for d in range(m):
                e = queries[i, d] - points[p, d]
                s += e * e
            if filled == kk and s >= buf[kk - 1]:
                continue
            # insertion into the sorted k best (an equal distance keeps the
            # earlier point first)
            pos = filled if filled < kk else kk - 1
            while pos > 0 and buf[pos - 1] > s:
                if pos < kk:
                    buf[pos] = buf[pos - 1]
                    idx[pos] = idx[pos - 1]
                pos -= 1
            buf[pos] = s
            idx[pos] = p
            if filled < kk:
                filled += 1
        tot = 0.0
        for t in range(kk):
            tot += math.sqrt(buf[t])
            if t < nn.shape[1]:
                nn[i, t] = idx[t]
        out[i] = tot / kk


@njit(**EXACT_OPTS)
def _knn_seq(queries, points, n_points, k, skip_self, out, nn):
    _knn_rows(queries, points, n_points, k, skip_self, out, nn, 0, queries.shape[0])


@njit(parallel=True, **EXACT_OPTS)
def _knn_par(queries, points, n_points, k, skip_self, out, nn, n_chunks):
    n = queries.shape[0]
    for c in prange(n_chunks):
        _knn_rows(queries, points, n_points, k, skip_self, out, nn,
                  c * n // n_chunks, (c + 1) * n // n_chunks)


def knn_mean_distance(queries, points, n_points, k, skip_self, out, nn, n_threads):
    """Mean Euclidean distance of each query to its ``k`` nearest of
    ``points[:n_points]`` (fewer when there are fewer points; 0 with none),
    and their indices in ``nn`` (int64 (Q, k) or (Q, 0); -1 where fewer),
    nearest first, an equal distance to the earlier point first.

    With ``skip_self`` query ``i`` is point ``i`` and is left out.  The
    distances are summed in increasing order, so the result does not depend
    on the thread count (rows are independent).
    """
    if n_threads > 1:
        _knn_par(queries, points, n_points, k, skip_self, out, nn,
                 min(n_threads, queries.shape[0]))
    else:
        _knn_seq(queries, points, n_points, k, skip_self, out, nn)


@njit(**EXACT_OPTS)
def variation(sol_store, first, second, z, iso_sigma, line_sigma, x0, lower,
              upper, clip, out):
    """Gaussian and iso+line offspring (Vassiliades & Mouret 2018), one pass.

    Row ``i`` is ``a + iso_sigma * z[i, :n] + line_sigma * z[i, n] * (b - a)``
    with ``a = sol_store[first[i]]`` and ``b = sol_store[second[i]]`` (``x0``
    for both when ``first[i] < 0``: an empty archive), clipped to
    ``[lower, upper]`` when ``clip``.  ``line_sigma = 0`` is the Gaussian
    (MAP-Elites) emitter; z is float32 (B, n + 1).
    """
    n_rows, n = out.shape
    for i in range(n_rows):
        f = first[i]
        s = second[i]
        line = line_sigma * z[i, n]
        for j in range(n):
            if f < 0:
                a = x0[j]
                d = 0.0
            else:
                a = np.float64(sol_store[f, j])
                d = np.float64(sol_store[s, j]) - a
            v = a + iso_sigma * z[i, j] + line * d
            if clip:
                if v < lower[j]:
                    v = lower[j]
                elif v > upper[j]:
                    v = upper[j]
            out[i, j] = v


@njit(**EXACT_INLINE_OPTS)
def _bucket_scan(x0, x1, centroids, starts, items, flat, best, best_j):
    for t in range(starts[flat], starts[flat + 1]):
        j = items[t]
        e0 = x0 - centroids[t, 0]
        e1 = x1 - centroids[t, 1]
        s = 0.0
        s += e0 * e0
        s += e1 * e1
        if s < best or (s == best and j < best_j):
            best = s
            best_j = j
    return best, best_j


@njit(**EXACT_INLINE_OPTS)
def _nearest_2d(x0, x1, centroids, lower, width, grid, starts, items, q0, q1,
                g_max):
    # the search of _nearest_rows for two measures, rings as plain loops
    # (the same buckets in the same order, hence the same ties)
    g0 = grid[0]
    g1 = grid[1]
    best = np.inf
    best_j = -1
    for r in range(g_max):
        for o0 in range(-r, r + 1):
            b0 = q0 + o0
            if b0 < 0 or b0 >= g0:
                continue
            edge = o0 == -r or o0 == r
            step = 1 if edge else 2 * r
            o1 = -r
            while o1 <= r:
                b1 = q1 + o1
                if b1 >= 0 and b1 < g1:
                    best, best_j = _bucket_scan(x0, x1, centroids, starts, items,
                                                b0 * g1 + b1, best, best_j)
                if step == 0:
                    break
                o1 += step
        lim = np.inf
        if q0 - r > 0:
            lim = min(lim, x0 - (lower[0] + (q0 - r) * width[0]) - 1e-9 * width[0])
        if q0 + r + 1 < g0:
            lim = min(lim, lower[0] + (q0 + r + 1) * width[0] - x0 - 1e-9 * width[0])
        if q1 - r > 0:
            lim = min(lim, x1 - (lower[1] + (q1 - r) * width[1]) - 1e-9 * width[1])
        if q1 + r + 1 < g1:
            lim = min(lim, lower[1] + (q1 + r + 1) * width[1] - x1 - 1e-9 * width[1])
        if best_j >= 0 and (lim == np.inf or (lim > 0.0 and best < lim * lim)):
            break
    return best_j


@njit(**EXACT_OPTS)
def _nearest_rows(queries, centroids, lower, width, grid, starts, items, out,
                  i0, i1):
    m = queries.shape[1]
    qb = np.empty(m, np.int64)
    off = np.empty(m, np.int64)
    g_max = 0
    for d in range(m):
        g_max = max(g_max, grid[d])
    for i in range(i0, i1):
        ok = True
        for d in range(m):
            x = queries[i, d]
            if not math.isfinite(x):
                ok = False
                break
            b = math.floor((x - lower[d]) / width[d])
            qb[d] = 0 if b < 0 else (grid[d] - 1 if b >= grid[d] else b)
        if not ok:
            out[i] = -1
            continue
        if m == 2:
            out[i] = _nearest_2d(queries[i, 0], queries[i, 1], centroids, lower,
                                 width, grid, starts, items, qb[0], qb[1], g_max)
            continue
        best = np.inf
        best_j = -1
        for r in range(g_max):
            # every bucket at Chebyshev distance exactly r from the query's
            # bucket: an odometer over the cube [-r, r]^m, shell only
            for d in range(m):
                off[d] = -r
            while True:
                shell = False
                inside = True
                flat = 0
                for d in range(m):
                    o = off[d]
                    if o == r or o == -r:
                        shell = True
                    b = qb[d] + o
                    if b < 0 or b >= grid[d]:
                        inside = False
                    flat = flat * grid[d] + b
                if shell and inside:
                    for t in range(starts[flat], starts[flat + 1]):
                        j = items[t]
                        s = 0.0
                        for d in range(m):
                            e = queries[i, d] - centroids[t, d]
                            s += e * e
                        if s < best or (s == best and j < best_j):
                            best = s
                            best_j = j
                # next offset
                d = m - 1
                while d >= 0:
                    off[d] += 1
                    if off[d] <= r:
                        break
                    off[d] = -r
                    d -= 1
                if d < 0:
                    break
            # a centroid outside the searched box of buckets is farther than
            # the query's distance to the box's nearest face (faces on the
            # grid's edge bound nothing: every centroid is bucketed inside);
            # the margin of 1e-9 bucket widths covers the rounding of the
            # bucketing, so the search stays exact
            lim = np.inf
            for d in range(m):
                x = queries[i, d]
                if qb[d] - r > 0:
                    lo_face = lower[d] + (qb[d] - r) * width[d]
                    lim = min(lim, x - lo_face - 1e-9 * width[d])
                if qb[d] + r + 1 < grid[d]:
                    hi_face = lower[d] + (qb[d] + r + 1) * width[d]
                    lim = min(lim, hi_face - x - 1e-9 * width[d])
            if best_j >= 0 and (lim == np.inf or (lim > 0.0 and best < lim * lim)):
                break
        out[i] = best_j


@njit(**EXACT_OPTS)
def nearest_centroid(queries, centroids, lower, width, grid, starts, items, out):
    """Index of the nearest centroid of each query row (-1 for non-finite).

    An exact search over a uniform bucket grid (``grid`` buckets of
    ``width`` per dimension from ``lower``; bucket ``b`` holds the centroids
    ``items[starts[b]:starts[b + 1]]``, whose coordinates are the same rows
    of ``centroids``: sorted by bucket, so that a ring of buckets is a few
    contiguous runs of memory), ring by ring until no farther ring can hold
    a nearer centroid; ties go to the lower centroid index.
    """
    _nearest_rows(queries, centroids, lower, width, grid, starts, items, out, 0,
                  queries.shape[0])
