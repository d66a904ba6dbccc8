"""One genome of a structured ES population, formed where a kernel needs it.

Policy rollouts and per-member forward passes (one input row per member)
read each member's weights on their own, so a structured population is
evaluated there by writing one member's genome at a time into a small
per-thread (or per-lane) buffer: no ``(P, n_params)`` array.  The genome is
written with exactly the arithmetic that materialises the population
(:func:`pyneat_lite._kernels.es.sample_population` for antithetic pairs,
:func:`pyneat_lite._kernels.lowrank.materialize` for low-rank factors), so a
rollout of the structure equals the rollout of the genomes bit for bit.

A *source* is the tuple ``(kind, mean, scale, z, offs, rank)``: ``kind``
:data:`DENSE` (the genomes themselves, the other fields unused),
:data:`PAIRS` (member ``i < h`` is ``mean + scale z_i``, member ``h + i``
``mean - scale z_i``; ``z`` float32 (h, N)) or :data:`LOWRANK` (the noise
rows of :mod:`.lowrank`, ``offs`` its offsets; member ``h + i``, if any, is
the mirror of sample ``i``).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from ._config import EXACT_INLINE_OPTS, EXACT_OPTS, OPTS
from .forward import forward_one

__all__ = ["DENSE", "LOWRANK", "PAIRS", "dense_source", "forward_each_source",
           "form_genome", "load_lane"]

DENSE, PAIRS, LOWRANK = 0, 1, 2

_F64 = np.float64


def dense_source():
    """The source of a plain population (its fields unused)."""
    return (DENSE, np.zeros(1), np.zeros(1), np.zeros((1, 1), np.float32),
            np.zeros((1, 3), np.int64), 1)


@njit(**EXACT_OPTS)
def form_genome(source, meta, g, out, acc):
    """Write genome ``g`` of a structured source into ``out`` (float32
    (N,)); ``acc`` float64 scratch of length >= the widest layer."""
    kind, mean, scale, z, offs, rank = source
    h = z.shape[0]
    plus = g < h
    i = g if plus else g - h
    if kind == PAIRS:
        zi = z[i]
        for j in range(out.shape[0]):
            d = scale[j] * zi[j]  # sample_population's arithmetic
            out[j] = mean[j] + d if plus else mean[j] - d
        return
    c = 1.0 / math.sqrt(rank)
    zi = z[i]
    for layer in range(meta.shape[0]):
        n_in, n_out = meta[layer, 0], meta[layer, 1]
        wo, bo = meta[layer, 2], meta[layer, 3]
        ao, bfo, eo = offs[layer, 0], offs[layer, 1], offs[layer, 2]
        # lowrank.materialize's arithmetic: row j of s A.T B in float64
        # (the mirror as mean + (-s) A.T B, the same bits as mean - s A.T B)
        s = scale[wo] * c if plus else -scale[wo] * c
        for j in range(n_in):
            for k in range(n_out):
                acc[k] = 0.0
            for q in range(rank):
                a = s * _F64(zi[ao + q * n_in + j])
                for k in range(n_out):
                    acc[k] += a * _F64(zi[bfo + q * n_out + k])
            base = wo + j * n_out
            for k in range(n_out):
                out[base + k] = mean[base + k] + acc[k]
        for k in range(n_out):
            p = bo + k
            d = scale[p] * _F64(zi[eo + k])
            out[p] = mean[p] + d if plus else mean[p] - d


@njit(**EXACT_INLINE_OPTS)
def load_lane(source, population, meta, g, W, lane, genome, acc):
    """``W[:, lane]`` = genome ``g``: a row of ``population`` (source
    :data:`DENSE`) or formed from the structure through ``genome`` (float32
    (N,) scratch)."""
    if source[0] == DENSE:
        for i in range(W.shape[0]):
            W[i, lane] = population[g, i]
        return
    form_genome(source, meta, g, genome, acc)
    for i in range(W.shape[0]):
        W[i, lane] = genome[i]


@njit(**OPTS)
def _each_rows(source, g0, inputs, meta, max_width, out, lo, hi):
    n_params = meta[meta.shape[0] - 1, 3] + meta[meta.shape[0] - 1, 1]
    genome = np.empty(n_params, np.float32)
    acc = np.empty(max_width, np.float64)
    buf_a = np.empty(max_width, np.float32)
    buf_b = np.empty(max_width, np.float32)
    for p in range(lo, hi):
        form_genome(source, meta, g0 + p, genome, acc)
        forward_one(genome, inputs[p], meta, buf_a, buf_b, out[p])


@njit(**OPTS)
def _each_serial(source, g0, inputs, meta, max_width, out):
    _each_rows(source, g0, inputs, meta, max_width, out, 0, out.shape[0])


@njit(parallel=True, **OPTS)
def _each_parallel(source, g0, inputs, meta, max_width, out, n_chunks):
    n = out.shape[0]
    for c in prange(n_chunks):
        _each_rows(source, g0, inputs, meta, max_width, out, c * n // n_chunks,
                   (c + 1) * n // n_chunks)


def forward_each_source(source, g0, inputs, meta, max_width, out, n_chunks=1):
    """out[p] = net(genome g0 + p of ``source``, inputs[p]) for every p,
    each genome formed in a per-thread buffer (``forward_one``'s arithmetic:
    the outputs of ``forward_each`` on the materialised genomes, bit for
    bit).  inputs float32 (P, n_in); out float32 (P, n_out)."""
    if n_chunks <= 1:
        _each_serial(source, g0, inputs, meta, max_width, out)
    else:
        _each_parallel(source, g0, inputs, meta, max_width, out, n_chunks)
