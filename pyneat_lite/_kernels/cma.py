"""Numba kernels of the full-covariance strategies (CMA-ES, xNES).

No validation here (``pyneat_lite.algorithms`` validates once).  The
population-sized kernels are parallel over ``n_chunks`` contiguous chunks of
rows, one ``prange`` iteration each; every output value is summed in a fixed
order by one thread, so results are bit-identical whatever the number of
threads.  Inner loops run over contiguous columns with one accumulator per
column, which LLVM vectorises without reordering any sum.

Layout: the eigenvectors (or the columns of a factor ``A``) are stored as
the rows of ``BT`` (``BT[k] = B[:, k]``), so ``B v = sum_k v[k] BT[k]`` is a
sequence of contiguous axpys.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .._threads import kernel_threads
from ._config import INLINE_OPTS, OPTS

# Below this many multiply-adds a kernel runs on one thread (about 0.3 ms of
# vectorised serial work; the forward passes use the same bound).  Measured:
# a 17 x 100 x 100 sampling (170,000 multiply-adds, ~40 us) ran 10x slower on
# two woken threads of the loaded 2-core machine than on one.
_MIN_MADDS = 1 << 20

__all__ = [
    "add_products",
    "gram",
    "jacobi_eigh",
    "rank_update",
    "recombine",
    "sample_transformed",
    "transpose_times",
]


# --------------------------------------------------------------- sampling
@njit(**INLINE_OPTS)
def _sample_rows(mean, step, BT, d, z, y, out, i0, i1):
    n = z.shape[1]
    for i in range(i0, i1):
        for j in range(n):
            y[i, j] = 0.0
        for k in range(n):
            c = d[k] * np.float64(z[i, k])
            for j in range(n):
                y[i, j] += c * BT[k, j]
        for j in range(n):
            out[i, j] = np.float32(mean[j] + step * y[i, j])


@njit(**OPTS)
def _sample_seq(mean, step, BT, d, z, y, out):
    _sample_rows(mean, step, BT, d, z, y, out, 0, z.shape[0])


@njit(parallel=True, **OPTS)
def _sample_par(mean, step, BT, d, z, y, out, n_chunks):
    p = z.shape[0]
    for c in prange(n_chunks):
        _sample_rows(mean, step, BT, d, z, y, out, c * p // n_chunks,
                     (c + 1) * p // n_chunks)


def sample_transformed(mean, step, BT, d, z, y, out, n_threads=None):
    """``y[i] = B (d * z[i])`` and ``out[i] = float32(mean + step * y[i])``.

    mean, d: float64 (N,); step: float; BT: float64 (N, N) with
    ``BT[k] = B[:, k]``; z: float32 (P, N); y: float64 (P, N); out: float32
    (P, N).  Serial or parallel over rows (``n_threads`` already valid).
    """
    p, n = z.shape
    nt = kernel_threads(n_threads, p * n * n, p, min_work=_MIN_MADDS)
    if nt == 1:
        _sample_seq(mean, step, BT, d, z, y, out)
    else:
        _sample_par(mean, step, BT, d, z, y, out, nt)


# ------------------------------------------------------ covariance update
@njit(**INLINE_OPTS)
def _rank_rows(C, decay, c1, pc, w, Y, rows, a0, a1):
    n = C.shape[1]
    for a in range(a0, a1):
        ca = c1 * pc[a]
        for b in range(n):
            C[a, b] = decay * C[a, b] + ca * pc[b]
        for r in range(rows.shape[0]):
            i = rows[r]
            s = w[r] * Y[i, a]
            if s != 0.0:
                for b in range(n):
                    C[a, b] += s * Y[i, b]


@njit(**OPTS)
def _rank_seq(C, decay, c1, pc, w, Y, rows):
    _rank_rows(C, decay, c1, pc, w, Y, rows, 0, C.shape[0])


@njit(parallel=True, **OPTS)
def _rank_par(C, decay, c1, pc, w, Y, rows, n_chunks):
    n = C.shape[0]
    for c in prange(n_chunks):
        _rank_rows(C, decay, c1, pc, w, Y, rows, c * n // n_chunks,
                   (c + 1) * n // n_chunks)


def rank_update(C, decay, c1, pc, w, Y, rows, n_threads=None):
    """In place: ``C = decay * C + c1 * pc pc^T + sum_r w[r] Y[rows[r]]
    Y[rows[r]]^T``, each entry summed over ``r`` in order.

    C: float64 (N, N); pc: float64 (N,); w: float64 (k,); Y: float64 or
    float32 (P, N); rows: int64 (k,).  Serial or parallel over rows of ``C``.
    """
    n = C.shape[0]
    nt = kernel_threads(n_threads, (rows.shape[0] + 1) * n * n, n,
                        min_work=_MIN_MADDS)
    if nt == 1:
        _rank_seq(C, decay, c1, pc, w, Y, rows)
    else:
        _rank_par(C, decay, c1, pc, w, Y, rows, nt)


# ------------------------------------------------------------ small sums
@njit(**OPTS)
def recombine(z, y, order, w, mu, cmu, active, BT, zw, yw, bz, wc):
    """The sums of a CMA-ES generation, in one pass.

    z: float32 (P, N) draws; y: float64 (P, N) steps ``B (d * z)``; order:
    int64 (P,) best first; w: float64 (P,) weights by rank.  Writes
    ``zw = sum_{r<mu} w[r] z[order[r]]``, ``yw`` likewise from ``y``,
    ``bz = B zw`` (= ``C^(-1/2) yw``) and the rank-mu coefficients by rank
    ``wc[r] = cmu * w[r]``, times ``N / ||z[order[r]]||**2`` for the
    negative weights when ``active`` (``||C^(-1/2) y||**2 = ||z||**2``).
    """
    n = z.shape[1]
    for j in range(n):
        zw[j] = 0.0
        yw[j] = 0.0
    for r in range(mu):
        i = order[r]
        c = w[r]
        for j in range(n):
            zw[j] += c * np.float64(z[i, j])
            yw[j] += c * y[i, j]
    for j in range(n):
        bz[j] = 0.0
    for k in range(n):
        c = zw[k]
        for j in range(n):
            bz[j] += c * BT[k, j]
    for r in range(w.shape[0]):
        wc[r] = cmu * w[r]
        if active and r >= mu:
            i = order[r]
            sq = 0.0
            for j in range(n):
                v = np.float64(z[i, j])
                sq += v * v
            wc[r] *= n / max(sq, 1e-300)



# --------------------------------------------------- small eigenproblems
@njit(**OPTS)
def jacobi_eigh(C, w, V):
    """Eigendecomposition of the symmetric ``C`` (its lower triangle) by
    cyclic Jacobi rotations (Golub & Van Loan, algorithm 8.5.3).

    C: float64 (N, N), not modified; w: float64 (N,) eigenvalues, ascending;
    V: float64 (N, N), eigenvectors as columns.  For small N (a few dozen)
    it is faster than LAPACK through NumPy, and it uses no BLAS, so its
    result is the same whatever the BLAS thread count.
    """
    n = C.shape[0]
    A = np.empty((n, n))
    for i in range(n):
        for j in range(i + 1):
            A[i, j] = C[i, j]
            A[j, i] = C[i, j]
    U = np.eye(n)
    for _sweep in range(100):
        off = 0.0
        diag = 0.0
        for i in range(n):
            diag += A[i, i] * A[i, i]
            for j in range(i):
                off += A[i, j] * A[i, j]
        if off <= 1e-32 * diag or off == 0.0:
            break
        for p in range(n - 1):
            for q in range(p + 1, n):
                apq = A[p, q]
                if apq == 0.0:
                    continue
                theta = (A[q, q] - A[p, p]) / (2.0 * apq)
                t = 1.0 / (abs(theta) + np.sqrt(theta * theta + 1.0))
                if theta < 0.0:
                    t = -t
                c = 1.0 / np.sqrt(t * t + 1.0)
                s = t * c
                for k in range(n):  # columns p, q of A J
                    akp = A[k, p]
                    akq = A[k, q]
                    A[k, p] = c * akp - s * akq
                    A[k, q] = s * akp + c * akq
                for k in range(n):  # rows p, q of J^T (A J)
                    apk = A[p, k]
                    aqk = A[q, k]
                    A[p, k] = c * apk - s * aqk
                    A[q, k] = s * apk + c * aqk
                A[p, q] = 0.0
                A[q, p] = 0.0
                for k in range(n):
                    ukp = U[k, p]
                    ukq = U[k, q]
                    U[k, p] = c * ukp - s * ukq
                    U[k, q] = s * ukp + c * ukq
    d = np.empty(n)
    for i in range(n):
        d[i] = A[i, i]
    idx = np.argsort(d)
    for j in range(n):
        w[j] = d[idx[j]]
        for k in range(n):
            V[k, j] = U[k, idx[j]]


# ------------------------------------------------------------------ xNES
@njit(**OPTS)
def gram(z, G):
    """``G = z z^T`` in float64: z float32 (P, N), G float64 (P, P); each
    entry summed over columns in order (serial: P * P * N / 2 values)."""
    p, n = z.shape
    for i in range(p):
        for j in range(i + 1):
            s = 0.0
            for k in range(n):
                s += np.float64(z[i, k]) * np.float64(z[j, k])
            G[i, j] = s
            G[j, i] = s


@njit(**OPTS)
def transpose_times(Q, Y, R):
    """``R = Q^T Y``: Q float64 (P, P), Y float64 (P, N), R float64 (P, N);
    each row an ordered sum of rows of ``Y`` (serial: P * P * N values)."""
    p, n = Y.shape
    for r in range(p):
        for j in range(n):
            R[r, j] = 0.0
        for s in range(p):
            c = Q[s, r]
            for j in range(n):
                R[r, j] += c * Y[s, j]


@njit(**INLINE_OPTS)
def _add_rows(M, scale, A, R, a0, a1):
    n = M.shape[1]
    for a in range(a0, a1):
        for r in range(A.shape[0]):
            c = np.float64(A[r, a])
            for b in range(n):
                M[a, b] += c * R[r, b]
        for b in range(n):
            M[a, b] *= scale


@njit(**OPTS)
def _add_seq(M, scale, A, R):
    _add_rows(M, scale, A, R, 0, M.shape[0])


@njit(parallel=True, **OPTS)
def _add_par(M, scale, A, R, n_chunks):
    n = M.shape[0]
    for c in prange(n_chunks):
        _add_rows(M, scale, A, R, c * n // n_chunks, (c + 1) * n // n_chunks)


def add_products(M, scale, A, R, n_threads=None):
    """In place: ``M = scale * (M + A^T R)``, each entry summed over the rows
    of ``A`` in order.

    M: float64 (N, N); A: float32 or float64 (P, N); R: float64 (P, N).
    Serial or parallel over rows of ``M``.
    """
    n = M.shape[0]
    nt = kernel_threads(n_threads, A.shape[0] * n * n, n, min_work=_MIN_MADDS)
    if nt == 1:
        _add_seq(M, scale, A, R)
    else:
        _add_par(M, scale, A, R, nt)
