"""Structured evaluation of ES populations by the supervised tasks (issue 10).

Two structures, both scored on shared inputs without writing the ``(P,
n_params)`` genomes:

- :class:`~pyneat_lite.algorithms.LowRankPopulation` (``rank=``): ``X @ W``
  of the centre and ``X`` times every member's first factor are two BLAS
  products for the whole population, then one Numba kernel finishes every
  member's forward pass and loss (:mod:`pyneat_lite._kernels.lowrank`);
- :class:`~pyneat_lite.algorithms.AntitheticPopulation` (full-rank
  antithetic pairs): ``X @ W`` of the centre once, one product ``X @
  (scale * z_i)`` per pair for both its members, in one GEMM per block of
  pairs, then each member's later layers and loss in place
  (:mod:`pyneat_lite._kernels.antithetic`).

The numbers agree with scoring the materialised genomes to float32 rounding.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._kernels import antithetic as _pairs
from .._kernels import forward as _forward
from .._kernels import genome_source as _source
from .._kernels import lowrank as _lowrank
from .._network_kernels import FORWARD_PARALLEL_MIN_WORK
from .._threads import numba_thread_count, numba_threads, single_threaded_blas
from ..algorithms._antithetic import AntitheticPopulation
from ..algorithms._lowrank import LowRankPopulation

__all__ = ["STRUCTURED", "check_structured", "evaluate_lowrank", "evaluate_pairs",
           "genome_source"]

#: the structured population types the supervised tasks evaluate
STRUCTURED = (LowRankPopulation, AntitheticPopulation)


def check_structured(net: Any, pop: Any, caller: str) -> None:
    """A structured population must describe genomes of ``net``."""
    if isinstance(pop, LowRankPopulation):
        if pop.network != net:
            raise ValueError(
                f"The 'population' argument of {caller} is a LowRankPopulation of "
                f"the network {pop.network!r}; this task evaluates {net!r}."
            )
    elif pop.shape[1] != net.n_params:
        raise ValueError(
            f"The 'population' argument of {caller} is an AntitheticPopulation of "
            f"{pop.shape[1]} parameters; this task's network has {net.n_params}."
        )


def genome_source(pop: Any) -> tuple[Any, ...]:
    """The :mod:`pyneat_lite._kernels.genome_source` tuple of a structured
    population (kernels form its genomes one at a time from it)."""
    if isinstance(pop, LowRankPopulation):
        return (_source.LOWRANK, pop.mean, pop.scale, pop.noise,
                np.ascontiguousarray(pop.offsets, np.int64), int(pop.rank))
    return (_source.PAIRS, pop.mean, pop.scale, pop.noise,
            np.zeros((1, 3), np.int64), 1)


def _targets(kind: int, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(int64 labels, float32 targets) of a loss code, a dummy for the other."""
    if kind == _lowrank.MSE:
        return np.zeros(1, np.int64), np.ascontiguousarray(y, np.float32)
    return y, np.zeros((1, 1), np.float32)


def evaluate_lowrank(net: Any, pop: LowRankPopulation, X: np.ndarray, y: np.ndarray,
                     kind: int, probabilities: bool,
                     n_threads: int | None) -> np.ndarray:
    """Fitness of a low-rank population from its factors (no genomes)."""
    n0, n1 = net.sizes[0], net.sizes[1]
    r = pop.rank
    z = pop.noise
    h = z.shape[0]
    n_samples = X.shape[0]
    mean = pop.mean.astype(np.float32)
    scale = pop.scale.astype(np.float32)
    w0t = np.ascontiguousarray(mean[:n0 * n1].reshape(n0, n1).T)
    a0 = int(pop.offsets[0, 0])
    a = np.ascontiguousarray(z[:, a0:a0 + r * n0]).reshape(h * r, n0)
    # the products in blocks of samples, so that the kernel's loops read
    # contiguous rows (the last block zero-padded)
    bs = _lowrank.block_size(n_samples)
    n_blocks = -(-n_samples // bs)
    if n_blocks * bs == n_samples:
        xp = X
    else:
        xp = np.zeros((n_blocks * bs, n0), np.float32)
        xp[:n_samples] = X
    h0b = np.empty((n_blocks, n1, bs), np.float32)
    xab = np.empty((n_blocks, h * r, bs), np.float32)
    yi, yf = _targets(kind, y)
    fitness = np.empty(pop.shape[0])
    # per member: its first layer at B * h1 * (r + 1), later layers in full
    later = sum(int(m[0]) * int(m[1]) for m in net.meta[1:])
    work = pop.shape[0] * n_samples * (n1 * (r + 1) + later)
    nt = numba_thread_count(n_threads, work, h)
    with numba_threads(nt if nt > 1 else None), single_threaded_blas():
        _lowrank.products(w0t, xp, h0b, nt)
        _lowrank.products(a, xp, xab, nt)
        _lowrank.structured_fitness(
            h0b, xab, n_samples, mean, scale, z, net.meta, pop.offsets, r,
            pop.antithetic, kind, probabilities, 1e-7, yi, yf, fitness, nt)
    return fitness


def evaluate_pairs(net: Any, pop: AntitheticPopulation, X: np.ndarray, y: np.ndarray,
                   kind: int, probabilities: bool,
                   n_threads: int | None) -> np.ndarray | None:
    """Fitness of a full-rank antithetic population from its pair noise.

    Per pair one first-layer product for both members; ``None`` where the
    structure does not apply (a network with convolution, pooling or
    recurrent layers): the caller then scores ``np.asarray(pop)``.
    """
    if net._stack is not None:
        return None
    n0, n1 = net.sizes[0], net.sizes[1]
    z = pop.noise
    h = z.shape[0]
    n_samples = X.shape[0]
    n_pad = -(-n_samples // 16) * 16  # whole vectors of 16 samples
    if n_pad != n_samples:
        xp = np.zeros((n_pad, n0), np.float32)
        xp[:n_samples] = X
        X = xp
    fitness = np.empty(pop.shape[0])
    w0 = pop.mean[:n0 * n1].astype(np.float32).reshape(n0, n1)
    g = _forward.block_genomes(h, n1, n_samples)
    # per member: half a first layer (one product per pair), the rest in full
    work = pop.shape[0] * n_samples * (net._n_weights - n0 * n1 // 2)
    nt = numba_thread_count(n_threads, work, -(-h // g), FORWARD_PARALLEL_MIN_WORK)
    wcat = net._scratch.get("wcat", nt * n0 * g * n1).reshape(nt, -1)
    ht = net._scratch.get("ht", nt * g * n1 * n_pad).reshape(nt, -1)
    gbuf = np.empty((nt, net.n_params), np.float32)
    yi, yf = _targets(kind, y)
    with numba_threads(nt if nt > 1 else None), single_threaded_blas():
        h0 = np.dot(w0.T, X.T)  # the centre's first layer: one product
        _pairs.pair_fitness(pop.mean, pop.scale, z, X, n_samples, net.meta, h0, yi, yf,
                            kind, probabilities, 1e-7, fitness, g, wcat, ht, gbuf, nt)
    return fitness
