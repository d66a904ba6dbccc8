"""Loss and metric reductions of population outputs (no validation here).

Each kernel reduces the outputs ``out`` (float32 ``(Pc, B, n_out)``, a chunk
of genomes on the same ``B`` samples) to one float64 fitness per genome,
written at ``fitness[lo + p]`` (higher is better).  A genome's sum runs over
its samples in order on one thread, so the result is bit-identical whatever
the number of threads; the serial and parallel twins share the per-genome
code.  :mod:`pyneat_lite.tasks.supervised` validates once and calls these.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .._threads import kernel_threads
from ._config import EXACT_INLINE_OPTS, EXACT_OPTS

__all__ = ["accuracy", "neg_cross_entropy", "neg_mse"]

# np.float64, not float(): Numba's float() of a float32 stays float32, which
# would compute the log-sum-exp and the squared errors in float32.
_F64 = np.float64


# ------------------------------------------------------------ one genome
@njit(**EXACT_INLINE_OPTS)
def _accuracy_one(out, p, y):
    n_samples, n_out = out.shape[1], out.shape[2]
    hits = 0
    for b in range(n_samples):
        best = 0
        for j in range(1, n_out):
            if out[p, b, j] > out[p, b, best]:  # first maximum, as np.argmax
                best = j
        if best == y[b]:
            hits += 1
    return hits / n_samples


@njit(**EXACT_INLINE_OPTS)
def _cross_entropy_one(out, p, y, probabilities, eps):
    n_samples, n_out = out.shape[1], out.shape[2]
    total = 0.0
    for b in range(n_samples):
        if probabilities:
            total -= np.log(max(_F64(out[p, b, y[b]]), eps))
        else:  # logits: log-sum-exp shifted by the max stays finite
            m = _F64(out[p, b, 0])
            for j in range(1, n_out):
                m = max(m, _F64(out[p, b, j]))
            s = 0.0
            for j in range(n_out):
                s += np.exp(_F64(out[p, b, j]) - m)
            total += m + np.log(s) - _F64(out[p, b, y[b]])
    return -total / n_samples


@njit(**EXACT_INLINE_OPTS)
def _mse_one(out, p, y):
    n_samples, n_out = out.shape[1], out.shape[2]
    total = 0.0
    for b in range(n_samples):
        for j in range(n_out):
            d = _F64(out[p, b, j]) - _F64(y[b, j])
            total += d * d
    return -total / (n_samples * n_out)


# ------------------------------------------------------- serial / parallel
# The parallel twins split the genomes into n_chunks contiguous chunks, one
# prange iteration each: at most n_chunks threads run.
@njit(**EXACT_OPTS)
def _accuracy_seq(out, y, fitness, lo):
    for p in range(out.shape[0]):
        fitness[lo + p] = _accuracy_one(out, p, y)


@njit(parallel=True, **EXACT_OPTS)
def _accuracy_par(out, y, fitness, lo, n_chunks):
    n = out.shape[0]
    for c in prange(n_chunks):
        for p in range(c * n // n_chunks, (c + 1) * n // n_chunks):
            fitness[lo + p] = _accuracy_one(out, p, y)


@njit(**EXACT_OPTS)
def _cross_entropy_seq(out, y, probabilities, eps, fitness, lo):
    for p in range(out.shape[0]):
        fitness[lo + p] = _cross_entropy_one(out, p, y, probabilities, eps)


@njit(parallel=True, **EXACT_OPTS)
def _cross_entropy_par(out, y, probabilities, eps, fitness, lo, n_chunks):
    n = out.shape[0]
    for c in prange(n_chunks):
        for p in range(c * n // n_chunks, (c + 1) * n // n_chunks):
            fitness[lo + p] = _cross_entropy_one(out, p, y, probabilities, eps)


@njit(**EXACT_OPTS)
def _mse_seq(out, y, fitness, lo):
    for p in range(out.shape[0]):
        fitness[lo + p] = _mse_one(out, p, y)


@njit(parallel=True, **EXACT_OPTS)
def _mse_par(out, y, fitness, lo, n_chunks):
    n = out.shape[0]
    for c in prange(n_chunks):
        for p in range(c * n // n_chunks, (c + 1) * n // n_chunks):
            fitness[lo + p] = _mse_one(out, p, y)


# ------------------------------------------------------------- dispatch
# n_threads: None or a nonzero int, already validated by the caller.
def accuracy(out, y, fitness, lo, n_threads=None):
    """``fitness[lo + p]`` <- fraction of samples whose argmax (first maximum)
    is the label; ``y`` int64 (B,)."""
    nt = kernel_threads(n_threads, out.size, out.shape[0])
    if nt == 1:
        _accuracy_seq(out, y, fitness, lo)
    else:
        _accuracy_par(out, y, fitness, lo, nt)


def neg_cross_entropy(out, y, probabilities, eps, fitness, lo, n_threads=None):
    """``fitness[lo + p]`` <- minus the mean cross-entropy; ``out`` read as
    probabilities (clipped at ``eps`` before the log) or, with
    ``probabilities=False``, as logits (stable log-softmax)."""
    nt = kernel_threads(n_threads, out.size, out.shape[0])
    if nt == 1:
        _cross_entropy_seq(out, y, probabilities, eps, fitness, lo)
    else:
        _cross_entropy_par(out, y, probabilities, eps, fitness, lo, nt)


def neg_mse(out, y, fitness, lo, n_threads=None):
    """``fitness[lo + p]`` <- minus the mean squared error over samples and
    outputs; ``y`` float32 (B, n_out)."""
    nt = kernel_threads(n_threads, out.size, out.shape[0])
    if nt == 1:
        _mse_seq(out, y, fitness, lo)
    else:
        _mse_par(out, y, fitness, lo, nt)
