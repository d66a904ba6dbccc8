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

__all__ = ["accuracy", "neg_cross_entropy", "neg_mse", "neg_target_loss", "MAE",
           "CROSS_ENTROPY", "BINARY_CROSS_ENTROPY", "PROBABILITIES", "LOGITS",
           "LOG_PROBABILITIES"]

#: ``kind`` codes of :func:`neg_target_loss` (the losses of PyTorch and Keras
#: that the adapters' fit_evolve recomputes)
MAE, CROSS_ENTROPY, BINARY_CROSS_ENTROPY = 0, 1, 2
#: ``outputs`` codes of :func:`neg_target_loss`: how a cross-entropy reads them
PROBABILITIES, LOGITS, LOG_PROBABILITIES = 0, 1, 2

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
def _max_sum_exp(out, p, b):
    """``m = max_j out[p, b, j]`` and ``sum_j exp(out[p, b, j] - m)``: the
    log-sum-exp of a row of logits shifted by its max, which stays finite."""
    n_out = out.shape[2]
    m = _F64(out[p, b, 0])
    for j in range(1, n_out):
        m = max(m, _F64(out[p, b, j]))
    s = 0.0
    for j in range(n_out):
        s += np.exp(_F64(out[p, b, j]) - m)
    return m, s


@njit(**EXACT_INLINE_OPTS)
def _cross_entropy_one(out, p, y, probabilities, eps):
    n_samples = out.shape[1]
    total = 0.0
    for b in range(n_samples):
        if probabilities:
            total -= np.log(max(_F64(out[p, b, y[b]]), eps))
        else:  # logits
            m, s = _max_sum_exp(out, p, b)
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


@njit(**EXACT_INLINE_OPTS)
def _target_loss_one(out, p, t, kind, outputs, eps, log_floor):
    """Minus the mean over samples of a per-sample loss against dense float64
    targets ``t`` (B, n_out); see :func:`neg_target_loss`."""
    n_samples, n_out = out.shape[1], out.shape[2]
    total = 0.0
    for b in range(n_samples):
        per = 0.0
        if kind == MAE:
            for j in range(n_out):
                per += abs(_F64(out[p, b, j]) - t[b, j])
            per /= n_out
        elif kind == BINARY_CROSS_ENTROPY:
            for j in range(n_out):
                z = _F64(out[p, b, j])
                y = t[b, j]
                if outputs == LOGITS:
                    # -log(sigmoid(z)) = softplus(-z), -log(1 - sigmoid(z)) =
                    # softplus(z), softplus(x) = max(x, 0) + log1p(exp(-|x|))
                    tail = np.log1p(np.exp(-abs(z)))
                    per += y * (max(-z, 0.0) + tail) + (1.0 - y) * (max(z, 0.0) + tail)
                else:
                    if z < eps:  # written so that NaN stays NaN, as np.clip
                        z = eps
                    elif z > 1.0 - eps:
                        z = 1.0 - eps
                    lp = np.log(z)
                    lq = np.log1p(-z)
                    if lp < log_floor:
                        lp = log_floor
                    if lq < log_floor:
                        lq = log_floor
                    per -= y * lp + (1.0 - y) * lq
            per /= n_out
        elif outputs == LOGITS:  # cross-entropy of a log-softmax
            m, s = _max_sum_exp(out, p, b)
            log_s = np.log(s)
            for j in range(n_out):
                if t[b, j] != 0.0:  # a zero target adds nothing, even to -inf
                    per -= t[b, j] * ((_F64(out[p, b, j]) - m) - log_s)
        elif outputs == PROBABILITIES:  # renormalised, clipped (Keras)
            s = 0.0
            for j in range(n_out):
                s += _F64(out[p, b, j])
            for j in range(n_out):
                if t[b, j] != 0.0:
                    q = _F64(out[p, b, j]) / s
                    if q < eps:
                        q = eps
                    elif q > 1.0 - eps:
                        q = 1.0 - eps
                    per -= t[b, j] * np.log(q)
        else:  # log-probabilities (PyTorch's NLLLoss)
            for j in range(n_out):
                if t[b, j] != 0.0:
                    per -= t[b, j] * _F64(out[p, b, j])
        total += per
    return -total / n_samples


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


@njit(**EXACT_OPTS)
def _target_loss_seq(out, t, kind, outputs, eps, log_floor, fitness, lo):
    for p in range(out.shape[0]):
        fitness[lo + p] = _target_loss_one(out, p, t, kind, outputs, eps, log_floor)


@njit(parallel=True, **EXACT_OPTS)
def _target_loss_par(out, t, kind, outputs, eps, log_floor, fitness, lo, n_chunks):
    n = out.shape[0]
    for c in prange(n_chunks):
        for p in range(c * n // n_chunks, (c + 1) * n // n_chunks):
            fitness[lo + p] = _target_loss_one(out, p, t, kind, outputs, eps,
                                               log_floor)


def neg_target_loss(out, t, kind, outputs, eps, log_floor, fitness, lo,
                    n_threads=None):
    """``fitness[lo + p]`` <- minus the mean over samples of a framework loss.

    ``t`` float64 (B, n_out): dense targets (class labels one-hot).
    ``kind`` :data:`MAE` (mean over outputs of ``|out - t|``),
    :data:`CROSS_ENTROPY` (``-sum_j t_j log q_j``, ``q`` read from the
    outputs as ``outputs`` says: :data:`PROBABILITIES` renormalised to sum 1
    and clipped to ``[eps, 1 - eps]``, Keras's convention; :data:`LOGITS`,
    a stable log-softmax; :data:`LOG_PROBABILITIES`, used as they are) or
    :data:`BINARY_CROSS_ENTROPY` (mean over outputs; :data:`LOGITS` through
    softplus, otherwise probabilities clipped to ``[eps, 1 - eps]`` and each
    logarithm clamped from below at ``log_floor``, PyTorch's ``BCELoss`` uses
    -100; ``eps=0`` and ``log_floor=-inf`` turn either off).
    """
    nt = kernel_threads(n_threads, out.size, out.shape[0])
    if nt == 1:
        _target_loss_seq(out, t, kind, outputs, eps, log_floor, fitness, lo)
    else:
        _target_loss_par(out, t, kind, outputs, eps, log_floor, fitness, lo, nt)
