"""Numba kernels of NSGA-II: fast non-dominated sort and crowding distance.

Deb, Pratap, Agarwal & Meyarivan, "A Fast and Elitist Multiobjective Genetic
Algorithm: NSGA-II", IEEE TEC 6(2), 2002, sections III-A and III-B.  No
validation here (``pyneat_lite.operators`` validates once).  Objectives are
oriented: larger is better in every column.  The dominance matrix is built
in parallel over rows (each entry is a comparison, so the result does not
depend on the thread count); the peeling of the fronts and the crowding
distance are serial and use stable sorts, so ties resolve by index.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .._threads import kernel_threads
from ._config import INLINE_OPTS, OPTS

__all__ = ["crowding_distance", "non_dominated_rank"]

# Below this many comparisons the dominance matrix is built on one thread
# (about 1 ms serially): measured, a 200 x 200 x 2 matrix took 41 ms on two
# woken threads of the loaded 2-core machine.
_MIN_WORK = 1 << 20


@njit(**INLINE_OPTS)
def _dominates(F, a, b):
    """Whether row ``a`` dominates row ``b`` (>= everywhere, > somewhere)."""
    better = False
    for m in range(F.shape[1]):
        if F[a, m] < F[b, m]:
            return False
        if F[a, m] > F[b, m]:
            better = True
    return better


@njit(**INLINE_OPTS)
def _dom_rows(F, D, i0, i1):
    p = F.shape[0]
    for i in range(i0, i1):
        for j in range(p):
            D[i, j] = _dominates(F, i, j)


@njit(**OPTS)
def _dom_seq(F, D):
    _dom_rows(F, D, 0, F.shape[0])


@njit(parallel=True, **OPTS)
def _dom_par(F, D, n_chunks):
    p = F.shape[0]
    for c in prange(n_chunks):
        _dom_rows(F, D, c * p // n_chunks, (c + 1) * p // n_chunks)


@njit(**OPTS)
def _peel(D, rank):
    """Deb's fast non-dominated sort on the dominance matrix ``D``
    (``D[i, j]``: i dominates j): ``rank[i]`` = 0 for the first front, ...
    Returns the number of fronts."""
    p = D.shape[0]
    count = np.zeros(p, np.int64)  # how many dominate i
    for i in range(p):
        for j in range(p):
            if D[j, i]:
                count[i] += 1
    front = np.empty(p, np.int64)
    nxt = np.empty(p, np.int64)
    n_front = 0
    for i in range(p):
        if count[i] == 0:
            front[n_front] = i
            n_front += 1
    r = 0
    while n_front > 0:
        n_next = 0
        for t in range(n_front):
            i = front[t]
            rank[i] = r
            for j in range(p):
                if D[i, j]:
                    count[j] -= 1
                    if count[j] == 0:
                        nxt[n_next] = j
                        n_next += 1
        # keep each front in index order (the tie rule)
        nxt[:n_next] = np.sort(nxt[:n_next])
        front[:n_next] = nxt[:n_next]
        n_front = n_next
        r += 1
    return r


def non_dominated_rank(F, rank, n_threads=None):
    """``rank[i]``: the index of row ``i``'s non-dominated front (0 = best).

    F: float64 (P, M), larger is better, no NaN; rank: int64 (P,).
    Returns the number of fronts.  O(M P**2) comparisons (parallel over
    rows) and a P x P boolean matrix.
    """
    p = F.shape[0]
    D = np.empty((p, p), np.bool_)
    nt = kernel_threads(n_threads, p * p * F.shape[1], p, min_work=_MIN_WORK)
    if nt == 1:
        _dom_seq(F, D)
    else:
        _dom_par(F, D, nt)
    return _peel(D, rank)


@njit(**OPTS)
def crowding_distance(F, rank, n_fronts, out):
    """Crowding distance of every row within its front (Deb et al. 2002,
    figure 2): per objective, the front sorted (stably) by that objective,
    its two ends get ``inf``, an interior member the gap between its
    neighbours divided by the front's range; summed over objectives.

    F: float64 (P, M); rank: int64 (P,); out: float64 (P,).
    """
    p, m = F.shape
    for i in range(p):
        out[i] = 0.0
    counts = np.zeros(n_fronts + 1, np.int64)
    for i in range(p):
        counts[rank[i] + 1] += 1
    for r in range(n_fronts):
        counts[r + 1] += counts[r]
    members = np.empty(p, np.int64)
    fill = counts[:n_fronts].copy()
    for i in range(p):
        members[fill[rank[i]]] = i
        fill[rank[i]] += 1
    vals = np.empty(p)
    for r in range(n_fronts):
        a, b = counts[r], counts[r + 1]
        k = b - a
        if k <= 2:
            for t in range(a, b):
                out[members[t]] = np.inf
            continue
        for obj in range(m):
            for t in range(k):
                vals[t] = F[members[a + t], obj]
            idx = np.argsort(vals[:k], kind="mergesort")
            lo = vals[idx[0]]
            hi = vals[idx[k - 1]]
            out[members[a + idx[0]]] = np.inf
            out[members[a + idx[k - 1]]] = np.inf
            span = hi - lo
            if span <= 0.0:
                continue
            for t in range(1, k - 1):
                i = members[a + idx[t]]
                out[i] += (vals[idx[t + 1]] - vals[idx[t - 1]]) / span
