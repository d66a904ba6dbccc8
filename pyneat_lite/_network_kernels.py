"""Kernel dispatch of :class:`pyneat_lite.network.Network` (issue 9 split).

The unvalidated forward paths: which Numba kernel runs, on how many
threads, with which per-thread scratch buffers.  Arguments are already
checked by the caller (:mod:`pyneat_lite.network` or library code).
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from ._threads import numba_thread_count, numba_threads, single_threaded_blas

#: Below this many multiply-adds (genomes x samples x weights) a forward runs
#: on one thread.  A parallel region is cheap on an idle machine (a few us)
#: but not on a shared one: with 2 cores under a load of 5-8, a 2-thread
#: ``forward_each`` of a 4-16-2 net at P=1024 (98,304 multiply-adds, ~0.1 ms
#: serially) took 3-17 ms of wall time, the calling thread spinning ~3.7 ms at
#: the barrier for a worker that was not scheduled, and the libgomp worker
#: (Numba's ``omp`` layer) spinning ~5.8 ms after each region (measured with
#: ``benchmarks/bench_forward.py --spin``; OpenBLAS's workers spin the same
#: way after a BLAS call).  About 1 ms of serial work pays for that risk.
FORWARD_PARALLEL_MIN_WORK = 1 << 20


#: ``(TILE_MAX_WIDTH, each_tiled_serial)`` of ``_kernels.each_tiled`` once
#: imported (importing Numba is deferred to the first forward).
_EACH_SMALL: Any = None


def _load_each_small() -> None:
    global _EACH_SMALL
    from ._kernels import each_tiled

    _EACH_SMALL = (each_tiled.TILE_MAX_WIDTH, each_tiled.each_tiled_serial)


class _Scratch(threading.local):
    """Per-thread work buffers of the GEMM path, reused across calls so that
    repeated forwards do not pay for fresh pages every time."""

    def __init__(self) -> None:
        self.buffers: dict[str, np.ndarray] = {}

    def get(self, name: str, size: int) -> np.ndarray:
        buf = self.buffers.get(name)
        if buf is None or buf.size < size:
            buf = np.empty(size, np.float32)
            self.buffers[name] = buf
        return buf[:size]


def _macs(meta: np.ndarray) -> int:
    """Multiply-adds (comparisons for pooling) per sample and genome of a
    layered network's table (columns: see :mod:`pyneat_lite._kernels.conv`)."""
    total = 0
    for r in meta.tolist():
        kind, n_in = r[0], r[1] * r[2] * r[3]
        if kind in (1, 2, 3):  # conv, max and average pooling
            total += (r[1] if kind == 1 else 1) * r[7] * r[8] * r[4] * r[5] * r[6]
        elif kind == 0:
            total += n_in * r[4]
        else:  # RNN, GRU
            total += (n_in + r[4]) * r[4] * (1 if kind == 4 else 3)
    return total


def forward_unchecked(
    net: Any,
    pop: np.ndarray,
    X: np.ndarray,
    out: np.ndarray,
    n_threads: int | None = None,
    method: str = "auto",
    chunk_size: int | None = None,
) -> None:
    """:meth:`Network.forward` without validation, for library code.

    ``pop`` float32 C-contiguous ``(P, n_params)``, ``X`` float32
    C-contiguous ``(B, n_in)`` (finite), ``out`` float32 C-contiguous
    ``(P, B, n_out)`` not sharing memory with them; ``n_threads`` None or
    a nonzero int; ``method`` and ``chunk_size`` already valid.
    """
    if net._stack is not None:
        _stack_forward(net, pop, X, out, n_threads, method, chunk_size)
        return
    from ._kernels import forward as kernels

    n_pop, n_samples = pop.shape[0], X.shape[0]
    h1 = net.sizes[1]
    if method == "auto":
        method = "gemm" if kernels.use_gemm(net.n_in, h1, n_samples) else "loops"
    work = n_pop * n_samples * net._n_weights
    if method == "loops":
        nt = numba_thread_count(n_threads, work, n_pop, FORWARD_PARALLEL_MIN_WORK)
        with numba_threads(nt if nt > 1 else None):
            kernels.forward_shared_direct(pop, X, net.meta, net.max_width, out,
                                          nt)
        return
    g = kernels.block_genomes(n_pop, h1, n_samples, chunk_size)
    nt = numba_thread_count(n_threads, work, -(-n_pop // g),
                            FORWARD_PARALLEL_MIN_WORK)
    wcat = net._scratch.get("wcat", nt * net.n_in * g * h1).reshape(nt, -1)
    ht = net._scratch.get("ht", nt * g * h1 * n_samples).reshape(nt, -1)
    with numba_threads(nt if nt > 1 else None), single_threaded_blas():
        kernels.forward_shared_gemm(pop, X, net.meta, out, g, wcat, ht, nt)


def fitness_unchecked(net: Any, pop: np.ndarray, X: np.ndarray, y: np.ndarray,
                      metric: str, fitness: np.ndarray,
                      n_threads: int | None = None,
                      chunk_size: int | None = None) -> bool:
    """Classification fitness of every genome without writing its outputs.

    ``metric`` "accuracy" or "cross_entropy" (probabilities when the last
    activation is softmax, clipped at 1e-7, else logits), exactly as
    :class:`pyneat_lite.tasks.Classification` with the loss kernels, bit
    for bit.  ``y`` int64 (B,) valid labels; ``fitness`` float64 (P,);
    arrays as in :func:`forward_unchecked`.  Returns False, doing
    nothing, where the fused path does not apply (layered networks; few
    samples, where the loops path is used): the caller then runs the
    forward and the loss kernels itself.
    """
    from ._kernels import forward as kernels

    n_pop, n_samples = pop.shape[0], X.shape[0]
    h1 = net.sizes[1]
    if net._stack is not None or not kernels.use_gemm(net.n_in, h1, n_samples):
        return False
    if metric == "accuracy":
        mode = kernels.ACCURACY
    elif net.activations[-1] == "softmax":
        mode = kernels.CROSS_ENTROPY_PROBS
    else:
        mode = kernels.CROSS_ENTROPY_LOGITS
    g = kernels.block_genomes(n_pop, h1, n_samples, chunk_size)
    nt = numba_thread_count(n_threads, n_pop * n_samples * net._n_weights,
                            -(-n_pop // g), FORWARD_PARALLEL_MIN_WORK)
    wcat = net._scratch.get("wcat", nt * net.n_in * g * h1).reshape(nt, -1)
    ht = net._scratch.get("ht", nt * g * h1 * n_samples).reshape(nt, -1)
    with numba_threads(nt if nt > 1 else None), single_threaded_blas():
        kernels.fitness_shared_gemm(pop, X, net.meta, y, mode, 1e-7, fitness, g,
                                    wcat, ht, nt)
    return True


def _stack_forward(net: Any, pop: np.ndarray, X: np.ndarray, out: np.ndarray,
                   n_threads: int | None, method: str,
                   chunk_size: int | None) -> None:
    """:func:`forward_unchecked` of a layered network."""
    from ._kernels import conv

    n_pop, n_samples = pop.shape[0], X.shape[0]
    m0 = net.meta[0]
    if m0[0] == conv.CONV and method != "loops":
        # first convolution: rows of one GEMM = genomes x channels
        g = chunk_size or max(1, -(-conv.GEMM_TARGET_ROWS // int(m0[4])))
        g = max(1, min(g, -(-n_pop // 8)))
        g = -(-n_pop // -(-n_pop // g))  # evened out
    else:
        g = 1
    nb = conv.block_samples(net.meta, g, n_samples)
    work = n_pop * n_samples * net._n_weights
    nt = numba_thread_count(n_threads, work, -(-n_pop // g), FORWARD_PARALLEL_MIN_WORK)
    # too few genome blocks for the threads (one genome on a test set, the
    # prefix of a split network): the threads share the sample blocks
    nt_s = numba_thread_count(n_threads, work, -(-n_samples // nb),
                              FORWARD_PARALLEL_MIN_WORK)
    by_samples = nt_s > nt
    nt = max(nt, nt_s)
    with numba_threads(nt if nt > 1 else None), single_threaded_blas():
        conv.stack_forward_shared(pop, X, net.meta, g, nb, out, nt, by_samples)


def forward_each_unchecked(
    net: Any, pop: np.ndarray, inputs: np.ndarray, out: np.ndarray,
    n_threads: int | None = None, state: np.ndarray | None = None,
) -> None:
    """:meth:`Network.forward_each` without validation, for library code
    (arrays float32 C-contiguous of the documented shapes, ``inputs``
    finite, ``out`` not sharing memory with them; ``state`` given exactly
    for recurrent networks)."""
    n_pop = pop.shape[0]
    work = n_pop * net._n_weights
    nt = numba_thread_count(n_threads, work, n_pop, FORWARD_PARALLEL_MIN_WORK)
    if net.recurrent:
        from ._kernels import recurrent

        with numba_threads(nt if nt > 1 else None):
            recurrent.step_each(pop, inputs, net.meta, state, net.max_width, out,
                                nt)
        return
    if net._stack is not None:
        from ._kernels import conv

        with numba_threads(nt if nt > 1 else None), single_threaded_blas():
            conv.stack_forward_each(pop, inputs, net.meta, out, nt)
        return
    if work < FORWARD_PARALLEL_MIN_WORK:
        # a step of a small policy costs microseconds: straight to the
        # one-thread tiled kernel (no context, no import, no wrapper)
        if _EACH_SMALL is None:
            _load_each_small()
        if net.max_width <= _EACH_SMALL[0]:
            _EACH_SMALL[1](pop, inputs, net.meta, net.max_width, out)
            return
    from ._kernels import forward as kernels

    with numba_threads(nt):
        kernels.forward_each_kernel(pop, inputs, net.meta, net.max_width, out, nt)
