"""``forward_each`` of small networks: layer by layer over tiles of genomes.

Per genome, a small policy is a chain of dependent steps (layer, activation,
layer, activation: ~100 cycles of latency for a 4-16-2 tanh net) that the
processor cannot overlap with the next genome's; layer-major, the genomes of
a tile are independent within each pass and every elementwise activation is
one long vectorised loop over the tile.

Products are register-blocked (:mod:`.simd`): a wide layer (8 outputs or
more) keeps 16 (then 8) outputs' sums in one block from the bias through the
inputs in order; a 2-output layer keeps its four running sums of both outputs
in one block.  Blocks of 16 outputs, and 2-output layers whose inputs are a
multiple of 4, run as passes over the tile's genomes, each pass adding a fixed
number of inputs (4, resp. 16 or 4) with a straight-line body: a per-genome
loop over a 4-input layer, its trip count unknown to LLVM, cost twice as much
(43 -> 24 us for 4-16-2 tanh at P=1024, one thread, Intel Xeon).  Each
genome's sums are those of ``forward._layer``, in the same order, with the
same fused multiply-adds, and the activation code is the same, so the
outputs are bit-identical to the genome-by-genome path (tests check it).
The first layer reads the inputs in place and the last writes the output
rows in place (a tile's rows are contiguous in both).

Measured (one thread, CPU time, 2-core EPYC under load): 4-16-2 tanh at
P=1024 about 3x faster than the scalar layer-major code it replaces, which
lost most of its time to a 16-wide loop that LLVM's vectoriser never entered
(its vector body is 32-64 values) and to accumulators kept in memory.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ._config import INLINE_OPTS, LINEAR, OPTS, RELU, SOFTMAX, TANH
from .math32 import activate, elementwise, tanh32
from .simd import (
    fma8_bcast,
    fma8_pairs,
    fma16_bcast,
    lane8,
    load8,
    load16,
    store8,
    store16,
    tanh_block,
    zeros8,
)

__all__ = ["TILE_GENOMES", "TILE_MAX_WIDTH", "each_tiled_parallel",
           "each_tiled_serial"]

#: Genomes per tile: the activations of a tile stay in the L1/L2 cache.
TILE_GENOMES = 256
#: Widest layer for which the tiled path is used (slower than genome by
#: genome for wide layers: 24-64-64-4 took 2.5 ms instead of 1.6 ms).
TILE_MAX_WIDTH = 32

_F = np.float32
_U = np.uint64


@njit(**INLINE_OPTS)
def _wide16(w, npar, p0, n, n_in, n_out, n16, wo, bo, src, s0, dst, d0, fuse_tanh):
    """Outputs ``[0, n16)`` of a wide layer in blocks of 16 for the ``n``
    genomes of a tile: passes over the genomes, each adding up to 4 inputs
    to a block (the running sums in ``dst`` between passes), so that the
    loop over genomes has a straight-line body (a per-genome loop over 4
    inputs, with its trip count unknown, cost 2x).  Per lane: the bias, then
    the inputs in order, one fma each; ``tanh`` in the last pass when
    ``fuse_tanh``."""
    n4 = n_in - n_in % _U(4)
    for k0 in range(_U(0), n16, _U(16)):
        j = _U(0)
        while j < n_in:
            four = j < n4
            first = j == _U(0)
            step = _U(4) if four else _U(1)
            last = j + step >= n_in
            for q in range(_U(n)):
                pb = (_U(p0) + q) * npar
                sb = s0 + q * n_in + j
                db = d0 + q * n_out + k0
                c = pb + wo + j * n_out + k0
                acc = load16(w, pb + bo + k0) if first else load16(dst, db)
                acc = fma16_bcast(src[sb], w, c, acc)
                if four:
                    acc = fma16_bcast(src[sb + _U(1)], w, c + n_out, acc)
                    acc = fma16_bcast(src[sb + _U(2)], w, c + _U(2) * n_out, acc)
                    acc = fma16_bcast(src[sb + _U(3)], w, c + _U(3) * n_out, acc)
                if last and fuse_tanh:
                    acc = tanh_block(acc)
                store16(dst, db, acc)
            j += step


@njit(**INLINE_OPTS)
def _pairs_passes(w, npar, p0, n, n_in, wo, bo, src, s0, dst, d0, scratch):
    """A 2-output layer with ``n_in`` a multiple of 4 for the ``n`` genomes of
    a tile: passes over the genomes of up to 16 inputs each (the four running
    sums of both outputs in ``scratch`` between passes), then
    ``b + ((s0 + s1) + (s2 + s3))``: the narrow case's sums, in its order."""
    j = _U(0)
    while j < n_in:
        sixteen = j + _U(16) <= n_in
        first = j == _U(0)
        step = _U(16) if sixteen else _U(4)
        last = j + step >= n_in
        for q in range(_U(n)):
            pb = (_U(p0) + q) * npar
            sb = s0 + q * n_in + j
            c = pb + wo + j * _U(2)
            acc = zeros8() if first else load8(scratch, q * _U(8))
            acc = fma8_pairs(src, sb, w, c, acc)
            if sixteen:
                acc = fma8_pairs(src, sb + _U(4), w, c + _U(8), acc)
                acc = fma8_pairs(src, sb + _U(8), w, c + _U(16), acc)
                acc = fma8_pairs(src, sb + _U(12), w, c + _U(24), acc)
            if last:
                db = d0 + q * _U(2)
                dst[db] = w[pb + bo] + ((lane8(acc, 0) + lane8(acc, 2))
                                        + (lane8(acc, 4) + lane8(acc, 6)))
                dst[db + _U(1)] = w[pb + bo + _U(1)] + (
                    (lane8(acc, 1) + lane8(acc, 3)) + (lane8(acc, 5) + lane8(acc, 7)))
            else:
                store8(scratch, q * _U(8), acc)
        j += step


@njit(**OPTS)
def _tile_layer(w, npar, p0, n, layer, meta, src, s0, dst, d0, scratch):
    """Rows ``d0 + q * n_out`` of ``dst`` = act(row ``s0 + q * n_in`` of
    ``src`` @ W + b) for genomes ``p0 + q``, q < n; ``w`` is the population
    flattened (genome ``p`` at ``p * npar``), ``src`` and ``dst`` flat;
    ``scratch`` holds ``8 * n`` floats."""
    n_in = _U(meta[layer, 0])
    n_out = _U(meta[layer, 1])
    wo = _U(meta[layer, 2])
    bo = _U(meta[layer, 3])
    npar = _U(npar)
    s0 = _U(s0)
    d0 = _U(d0)
    n4 = n_in - n_in % _U(4)
    act = meta[layer, 4]
    if n_out >= _U(8):  # as _layer's wide case: bias, then inputs in order
        n16 = n_out - n_out % _U(16)
        fuse_tanh = act == TANH and n16 == n_out
        _wide16(w, npar, p0, n, n_in, n_out, n16, wo, bo, src, s0, dst, d0, fuse_tanh)
        if fuse_tanh:
            return
        n8 = n_out - n_out % _U(8)  # the outputs past n16, genome by genome
        for q in range(_U(n) if n16 < n_out else _U(0)):
            pb = (_U(p0) + q) * npar
            sb = s0 + q * n_in
            db = d0 + q * n_out
            k0 = n16
            while k0 < n8:
                acc = load8(w, pb + bo + k0)
                for j in range(n_in):
                    acc = fma8_bcast(src[sb + j], w, pb + wo + j * n_out + k0, acc)
                store8(dst, db + k0, acc)
                k0 += _U(8)
            for k in range(n8, n_out):
                a = w[pb + bo + k]
                for j in range(n_in):
                    a += src[sb + j] * w[pb + wo + j * n_out + k]
                dst[db + k] = a
    elif n_out == _U(2) and n4 == n_in:
        _pairs_passes(w, npar, p0, n, n_in, wo, bo, src, s0, dst, d0, scratch)
    elif n_out == _U(2):  # four running sums of both outputs in one block
        for q in range(_U(n)):
            pb = (_U(p0) + q) * npar
            sb = s0 + q * n_in
            acc = zeros8()
            j = _U(0)
            while j < n4:
                acc = fma8_pairs(src, sb + j, w, pb + wo + j * _U(2), acc)
                j += _U(4)
            # lane 2 r + k: running sum r of output k (tail in sum 0)
            a0 = lane8(acc, 0)
            a1 = lane8(acc, 1)
            for j in range(n4, n_in):
                a0 += src[sb + j] * w[pb + wo + j * _U(2)]
                a1 += src[sb + j] * w[pb + wo + j * _U(2) + _U(1)]
            db = d0 + q * _U(2)
            dst[db] = w[pb + bo] + ((a0 + lane8(acc, 2))
                                    + (lane8(acc, 4) + lane8(acc, 6)))
            dst[db + _U(1)] = w[pb + bo + _U(1)] + ((a1 + lane8(acc, 3))
                                                    + (lane8(acc, 5) + lane8(acc, 7)))
    else:  # as _layer's narrow case: four running sums, j mod 4
        for q in range(_U(n)):
            pb = (_U(p0) + q) * npar
            sb = s0 + q * n_in
            db = d0 + q * n_out
            for k in range(n_out):
                r0 = _F(0.0)
                r1 = _F(0.0)
                r2 = _F(0.0)
                r3 = _F(0.0)
                c = pb + wo + k
                j = _U(0)
                while j < n4:  # (a stepped range costs a division per output)
                    r0 += src[sb + j] * w[c + j * n_out]
                    r1 += src[sb + j + _U(1)] * w[c + (j + _U(1)) * n_out]
                    r2 += src[sb + j + _U(2)] * w[c + (j + _U(2)) * n_out]
                    r3 += src[sb + j + _U(3)] * w[c + (j + _U(3)) * n_out]
                    j += _U(4)
                for j in range(n4, n_in):
                    r0 += src[sb + j] * w[c + j * n_out]
                dst[db + k] = w[pb + bo + k] + ((r0 + r1) + (r2 + r3))
    if act == LINEAR:
        return
    m = _U(n) * n_out
    if act == SOFTMAX:
        for q in range(_U(n)):
            db = d0 + q * n_out
            activate(dst[db : db + n_out], n_out, act)
    elif act == TANH:  # 16 values per vector operation, tanh32's bits
        i = d0
        while i + _U(16) <= d0 + m:
            store16(dst, i, tanh_block(load16(dst, i)))
            i += _U(16)
        for r in range(i, d0 + m):
            dst[r] = tanh32(dst[r])
    elif act == RELU:
        for i in range(d0, d0 + m):
            dst[i] = max(dst[i], _F(0.0))
    else:
        for i in range(d0, d0 + m):
            dst[i] = elementwise(dst[i], act)


@njit(**OPTS)
def _tiled_range(population, inputs, meta, max_width, out, lo, hi):
    n_layers = meta.shape[0]
    npar = population.shape[1]
    w = population.reshape(population.size)
    x = inputs.reshape(inputs.size)
    y = out.reshape(out.size)
    n_in = inputs.shape[1]
    n_out = out.shape[1]
    buf_a = np.empty(TILE_GENOMES * max_width, np.float32)
    buf_b = np.empty(TILE_GENOMES * max_width, np.float32)
    scratch = np.empty(TILE_GENOMES * 8, np.float32)
    for p0 in range(lo, hi, TILE_GENOMES):
        n = min(TILE_GENOMES, hi - p0)
        # one call site, its offsets int64 whatever the layer (a literal 0
        # would compile _tile_layer once more per combination: 4 variants)
        src = x
        s0 = p0 * n_in
        for layer in range(n_layers):
            if layer == n_layers - 1:
                dst = y
                d0 = p0 * n_out
            else:
                dst = buf_a if layer % 2 == 0 else buf_b
                d0 = 0
            _tile_layer(w, npar, p0, n, layer, meta, src, s0, dst, d0, scratch)
            src = dst
            s0 = d0


@njit(**OPTS)
def each_tiled_serial(population, inputs, meta, max_width, out):
    """out[p] = net(population[p], inputs[p]), tile by tile, one thread."""
    _tiled_range(population, inputs, meta, max_width, out, 0,
                 population.shape[0])


@njit(parallel=True, **OPTS)
def each_tiled_parallel(population, inputs, meta, max_width, out, n_chunks):
    """:func:`each_tiled_serial` over ``n_chunks`` contiguous blocks in
    parallel (block edges change no genome's arithmetic)."""
    n = population.shape[0]
    for c in prange(n_chunks):
        _tiled_range(population, inputs, meta, max_width, out,
                     c * n // n_chunks, (c + 1) * n // n_chunks)


@njit(**OPTS)
def all_finite(x):
    """Whether a C-contiguous float32 array holds no NaN or infinity: an
    integer max over the exponent bits (vectorised, order-free), for the
    input check of a step that costs a few microseconds."""
    u = x.reshape(x.size).view(np.uint32)
    m = np.uint32(0)
    for i in range(u.size):
        m = max(m, u[i] & np.uint32(0x7F800000))
    return m != np.uint32(0x7F800000)
