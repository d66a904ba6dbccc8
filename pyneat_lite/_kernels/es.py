"""Numba kernels of the evolution strategies: sampling and moment sums.

No validation here (``pyneat_lite.algorithms`` validates once).  Both
kernels are memory-bound passes over a ``(P, N)`` float32 array.  The
parallel versions split rows (sampling) or blocks of columns (moments) into
``n_chunks`` contiguous chunks, one ``prange`` iteration each, and sum over
rows in a fixed order, so the result is bit-identical whatever the number of
threads (a BLAS ``gemv`` may split the row sum across threads and round
differently) and identical to the serial versions, which small problems use
because waking a thread pool costs more than they do.  The choice and the
thread count come from :func:`pyneat_lite._threads.kernel_threads`; a prange
over ``n_chunks`` iterations runs on at most that many threads.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .._threads import kernel_threads
from ._config import EXACT_INLINE_OPTS, EXACT_OPTS

__all__ = ["sample_population", "weighted_moments"]

# Columns per parallel block: 2 KiB of float64 accumulators stay in L1.
_BLOCK = 256
# Values below which both kernels run on one thread: about a millisecond of
# serial work (sampling 617k values took 0.3 ms, the moments of 308k 0.06-0.11
# ms on the Intel Xeon).  A parallel call of such a pass saves at most half
# of that and, when the cores are shared, costs more than the pass whenever
# the second thread waits to be scheduled (measured: the 308k moments took
# 1.4-2.6 ms of the calling thread's CPU on two threads at load 2-5).
PARALLEL_MIN_VALUES = 1 << 21


# --------------------------------------------------------------- sampling
@njit(**EXACT_INLINE_OPTS)
def _sample_rows(mean, scale, z, out, antithetic, i0, i1):
    h = z.shape[0]
    n = z.shape[1]
    for i in range(i0, i1):
        for j in range(n):
            d = scale[j] * z[i, j]
            out[i, j] = mean[j] + d
            if antithetic:
                out[h + i, j] = mean[j] - d


@njit(**EXACT_OPTS)
def _sample_population_seq(mean, scale, z, out, antithetic):
    """mean, scale: float64 (N,); z: float32 (h, N); out: float32 (P, N).

    ``out[i] = mean + scale * z[i]`` for i < h; with ``antithetic`` also
    ``out[h + i] = mean - scale * z[i]`` (P == 2h).
    """
    _sample_rows(mean, scale, z, out, antithetic, 0, z.shape[0])


@njit(parallel=True, **EXACT_OPTS)
def _sample_population_par(mean, scale, z, out, antithetic, n_chunks):
    """:func:`_sample_population_seq` over ``n_chunks`` chunks of rows."""
    h = z.shape[0]
    for c in prange(n_chunks):
        _sample_rows(mean, scale, z, out, antithetic, c * h // n_chunks,
                     (c + 1) * h // n_chunks)


# ---------------------------------------------------------------- moments
@njit(**EXACT_INLINE_OPTS)
def _moments_cols(z, rows, w1, w2, out1, out2, j0, j1, squares):
    for j in range(j0, j1):
        out1[j] = 0.0
        out2[j] = 0.0
    for r in range(rows.shape[0]):
        i = rows[r]
        a = w1[r]
        c = w2[r]
        if squares:
            for j in range(j0, j1):
                v = np.float64(z[i, j])
                out1[j] += a * v
                out2[j] += c * v * v
        else:  # the square sums are not wanted (all-zero weights): skipped
            for j in range(j0, j1):
                out1[j] += a * np.float64(z[i, j])


@njit(**EXACT_OPTS)
def _weighted_moments_seq(z, rows, w1, w2, out1, out2, squares):
    """z: float32 (h, N); rows: int64 (k,); w1, w2: float64 (k,);
    out1, out2: float64 (N,).

    ``out1[j] = sum_k w1[k] * z[rows[k], j]`` and
    ``out2[j] = sum_k w2[k] * z[rows[k], j] ** 2``, rows summed in order
    (``squares`` False: ``out2`` zero, for all-zero ``w2``).
    """
    _moments_cols(z, rows, w1, w2, out1, out2, 0, z.shape[1], squares)


@njit(parallel=True, **EXACT_OPTS)
def _weighted_moments_par(z, rows, w1, w2, out1, out2, squares, n_chunks):
    """:func:`_weighted_moments_seq` over ``n_chunks`` chunks of column
    blocks (each column's sum is the serial one)."""
    n = z.shape[1]
    n_blocks = (n + _BLOCK - 1) // _BLOCK
    for c in prange(n_chunks):
        for b in range(c * n_blocks // n_chunks, (c + 1) * n_blocks // n_chunks):
            j0 = b * _BLOCK
            _moments_cols(z, rows, w1, w2, out1, out2, j0, min(n, j0 + _BLOCK),
                          squares)


# --------------------------------------------------------------- dispatch
def sample_population(mean, scale, z, out, antithetic, n_threads=None):
    """``out = mean + scale * z`` (and ``mean - scale * z`` below it with
    ``antithetic``); serial or parallel over rows by
    :func:`~pyneat_lite._threads.kernel_threads` (``n_threads`` already
    valid: None or a nonzero int)."""
    nt = kernel_threads(n_threads, out.size, z.shape[0], PARALLEL_MIN_VALUES)
    if nt == 1:
        _sample_population_seq(mean, scale, z, out, antithetic)
    else:
        _sample_population_par(mean, scale, z, out, antithetic, nt)


def weighted_moments(z, rows, w1, w2, out1, out2, n_threads=None):
    """``out1 = sum_k w1[k] z[rows[k]]``, ``out2 = sum_k w2[k] z[rows[k]]**2``;
    serial or parallel over column blocks, as :func:`sample_population`.
    All-zero ``w2`` (OpenES, ARS) skips the square sums: ``out2`` is zero."""
    n_blocks = -(-z.shape[1] // _BLOCK)
    nt = kernel_threads(n_threads, rows.shape[0] * z.shape[1], n_blocks,
                        PARALLEL_MIN_VALUES)
    squares = bool(w2.any())
    if nt == 1:
        _weighted_moments_seq(z, rows, w1, w2, out1, out2, squares)
    else:
        _weighted_moments_par(z, rows, w1, w2, out1, out2, squares, nt)
