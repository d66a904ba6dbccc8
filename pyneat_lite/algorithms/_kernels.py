"""Numba kernels of the evolution strategies (no validation here).

Both kernels are memory-bound passes over a ``(P, N)`` float32 array.  The
parallel versions split blocks of columns over threads and sum over rows in a
fixed order, so the result is bit-identical whatever the number of threads
(a BLAS ``gemv`` may split the row sum across threads and round differently)
and identical to the serial versions, which small problems use because
waking a thread pool costs more than they do.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

# Columns per parallel block: 2 KiB of float64 accumulators stay in L1.
_BLOCK = 256
# Below this many float32 elements (P * N) the serial kernels are faster.
PARALLEL_MIN_SIZE = 1 << 17


@njit(cache=True, parallel=True)
def _sample_population_par(mean, scale, z, out, antithetic):  # pragma: no cover
    """mean, scale: float64 (N,); z: float32 (h, N); out: float32 (P, N).

    ``out[i] = mean + scale * z[i]`` for i < h; with ``antithetic`` also
    ``out[h + i] = mean - scale * z[i]`` (P == 2h).
    """
    h = z.shape[0]
    n = z.shape[1]
    for i in prange(h):
        for j in range(n):
            d = scale[j] * z[i, j]
            out[i, j] = mean[j] + d
            if antithetic:
                out[h + i, j] = mean[j] - d


@njit(cache=True)
def _sample_population_seq(mean, scale, z, out, antithetic):  # pragma: no cover
    """Serial twin of :func:`_sample_population_par`."""
    h = z.shape[0]
    n = z.shape[1]
    for i in range(h):
        for j in range(n):
            d = scale[j] * z[i, j]
            out[i, j] = mean[j] + d
            if antithetic:
                out[h + i, j] = mean[j] - d


@njit(cache=True, parallel=True)
def _weighted_moments_par(z, rows, w1, w2, out1, out2):  # pragma: no cover
    """z: float32 (h, N); rows: int64 (k,); w1, w2: float64 (k,);
    out1, out2: float64 (N,).

    ``out1[j] = sum_k w1[k] * z[rows[k], j]`` and
    ``out2[j] = sum_k w2[k] * z[rows[k], j] ** 2``, rows summed in order.
    """
    n = z.shape[1]
    k = rows.shape[0]
    n_blocks = (n + _BLOCK - 1) // _BLOCK
    for b in prange(n_blocks):
        j0 = b * _BLOCK
        j1 = min(n, j0 + _BLOCK)
        for j in range(j0, j1):
            out1[j] = 0.0
            out2[j] = 0.0
        for r in range(k):
            i = rows[r]
            a = w1[r]
            c = w2[r]
            for j in range(j0, j1):
                v = np.float64(z[i, j])
                out1[j] += a * v
                out2[j] += c * v * v


@njit(cache=True)
def _weighted_moments_seq(z, rows, w1, w2, out1, out2):  # pragma: no cover
    """Serial twin of :func:`_weighted_moments_par` (same summation order)."""
    n = z.shape[1]
    k = rows.shape[0]
    for j in range(n):
        out1[j] = 0.0
        out2[j] = 0.0
    for r in range(k):
        i = rows[r]
        a = w1[r]
        c = w2[r]
        for j in range(n):
            v = np.float64(z[i, j])
            out1[j] += a * v
            out2[j] += c * v * v


def sample_population(mean, scale, z, out, antithetic):
    """Dispatch to the serial or parallel sampling kernel by size."""
    if out.size >= PARALLEL_MIN_SIZE:
        _sample_population_par(mean, scale, z, out, antithetic)
    else:
        _sample_population_seq(mean, scale, z, out, antithetic)


def weighted_moments(z, rows, w1, w2, out1, out2):
    """Dispatch to the serial or parallel moment kernel by size."""
    if rows.shape[0] * z.shape[1] >= PARALLEL_MIN_SIZE:
        _weighted_moments_par(z, rows, w1, w2, out1, out2)
    else:
        _weighted_moments_seq(z, rows, w1, w2, out1, out2)
