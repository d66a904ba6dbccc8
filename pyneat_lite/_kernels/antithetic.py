"""Numba kernels of full-rank antithetic ES populations (no validation here).

An antithetic population is ``mean +- scale * z_i`` (``h`` noise rows ``z_i``
of length ``N``; member ``i`` is the plus side, member ``h + i`` its mirror).
With shared inputs ``X (B, in)`` the first layer of both members of a pair
is ``X @ W +- X @ D_i`` with ``D_i = scale * z_i`` over the first weight
matrix: ``X @ W`` of the centre is one BLAS product for the whole population
(by the caller), and a pair needs one product ``X @ D_i``, not two.  The
pairs' first-layer noise goes side by side into one GEMM per block of pairs
(as the full-rank GEMM path of :mod:`.forward` does with genomes), then each
member of the pair finishes its forward pass on blocks of samples -- first
layer ``h0 +- hd + b``, later layers with its own weights, written exactly
as :func:`pyneat_lite._kernels.es.sample_population` writes them -- and
reduces it to its fitness in place.  A network of one hidden layer (not
softmax) takes its samples 16 at a time in vector lanes instead: bias and
activation straight into the second layer's register accumulators
(:func:`.lowrank_mlp._second`), a softmax cross-entropy from the logits
(``log(max(p, eps))`` as a cap, no probabilities).  Scratch per thread:
the block's noise ``(in, g h1)``, its products ``(g h1, B)`` and one
genome's later layers; no ``(P, B, hidden)`` buffer.

Every member's arithmetic is the same whichever thread runs it (blocks of
pairs depend on the sizes only, BLAS runs single-threaded), so the fitness
is bit-identical for any number of threads.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ._config import EXACT_OPTS, OPTS, SOFTMAX
from .forward import FINISH_BLOCK, _act_rows, _dense_rows
from .lowrank import CROSS_ENTROPY, MSE, _ce_logits_block, _loss_block
from .lowrank_mlp import _ROWS, _act16, _act_rest, _second
from .simd import add16, fma16, load16, splat16, store16

__all__ = ["pair_fitness"]

_U = np.uint64


@njit(**EXACT_OPTS)
def _member_rest(mean, scale, z, i, plus, meta, gm):
    """``gm`` = the genome of member ``(i, plus)`` but its first weight
    matrix: ``mean +- scale * z_i`` in float64, rounded once -- the
    arithmetic of ``sample_population`` (EXACT_OPTS: no contraction)."""
    for layer in range(meta.shape[0]):
        if layer > 0:
            wo = meta[layer, 2]
            for j in range(wo, wo + meta[layer, 0] * meta[layer, 1]):
                d = scale[j] * z[i, j]
                gm[j] = mean[j] + d if plus else mean[j] - d
        bo = meta[layer, 3]
        for j in range(bo, bo + meta[layer, 1]):
            d = scale[j] * z[i, j]
            gm[j] = mean[j] + d if plus else mean[j] - d


@njit(**OPTS)
def _finish_member(gm, h0, hd, r0, sign, n_samples, meta, buf_a, buf_b, red, red2, yi,
                   yf, kind, probabilities, eps):
    """Forward pass and score total of one member: first layer ``h0 + sign *
    hd[r0:r0 + h1] + b`` (layout (neuron, sample)), later layers from
    ``gm``, on blocks of ``buf_a.shape[1]`` samples; the scores as the
    low-rank kernel's (float32 log-sum-exp vectorised over samples: the
    float64 one of the loss kernels costs more than the later layers)."""
    n_layers = meta.shape[0]
    h1 = _U(meta[0, 1])
    n_samples = _U(n_samples)
    block = _U(buf_a.shape[1])
    n_out = _U(meta[n_layers - 1, 1])
    z = _U(0)
    bo = _U(meta[0, 3])
    total = 0.0
    for s0 in range(z, n_samples, block):
        nb = min(block, n_samples - s0)
        for k in range(h1):
            bk = gm[bo + k]
            for c in range(nb):
                buf_a[k, c] = h0[k, s0 + c] + sign * hd[r0 + k, s0 + c] + bk
        _act_rows(buf_a, z, h1, z, nb, meta[0, 4], red)
        in_a = True
        for layer in range(1, n_layers):
            m = _U(meta[layer, 1])
            if in_a:
                _dense_rows(gm, meta, layer, buf_a, z, z, buf_b, nb)
                _act_rows(buf_b, z, m, z, nb, meta[layer, 4], red)
            else:
                _dense_rows(gm, meta, layer, buf_b, z, z, buf_a, nb)
                _act_rows(buf_a, z, m, z, nb, meta[layer, 4], red)
            in_a = not in_a
        res = buf_a if in_a else buf_b
        total += _loss_block(res, np.int64(n_out), np.int64(nb), np.int64(s0), kind,
                             probabilities, eps, yi, yf, red, red2)
    return total


@njit(inline="always", **OPTS)
def _hidden_lanes(h0f, hdf, stride, r0, sign, c0, c1, n1, gm, bo, act_id, hbuf):
    """Hidden lanes of two streams of 16 samples (columns c0 and c1) of one
    member into hbuf: ``act(sign * hd + h0 + b)``, unit ``j`` of stream ``t``
    at ``(t (n1 + 1) + j) 16`` (unit ``n1`` of each stream: the ones that
    carry the second layer's bias)."""
    sg = splat16(sign)
    nh = n1 + 1
    for j in range(n1):
        b = splat16(gm[bo + j])
        rh = j * stride
        rd = (r0 + j) * stride
        p0 = add16(fma16(sg, load16(hdf, rd + c0), load16(h0f, rh + c0)), b)
        p1 = add16(fma16(sg, load16(hdf, rd + c1), load16(h0f, rh + c1)), b)
        store16(hbuf, j * 16, _act16(p0, act_id))
        store16(hbuf, (nh + j) * 16, _act16(p1, act_id))
    _act_rest(hbuf, 0, n1 * 16, act_id)
    _act_rest(hbuf, nh * 16, (nh + n1) * 16, act_id)


@njit(**OPTS)
def _finish_two_layer(gm, h0, hd, r0, sign, n_samples, meta, table, hbuf, obuf, red,
                      red2, yi, yf, kind, probabilities, eps):
    """:func:`_finish_member` of a network of one hidden layer (not softmax):
    16 samples per vector (h0 and hd padded to whole vectors), the hidden
    lanes of two vectors at a time straight into the second layer's
    register accumulators (:func:`.lowrank_mlp._second`, the member's
    weights and bias in ``table``), outputs (out, sample) on blocks of
    ``obuf.shape[1]`` samples; a softmax cross-entropy from the logits,
    without the probabilities."""
    n1, n2 = meta[0, 1], meta[1, 1]
    nh = n1 + 1
    wo, bo2 = meta[1, 2], meta[1, 3]
    for k in range(n2):  # the member's second layer, (output, hidden + bias)
        for j in range(n1):
            table[k * nh + j] = gm[wo + j * n2 + k]
        table[k * nh + n1] = gm[bo2 + k]
    n_rows = obuf.shape[0]
    width = obuf.shape[1]
    stride = h0.shape[1]
    h0f = h0.reshape(-1)
    hdf = hd.reshape(-1)
    obf = obuf.reshape(-1)
    bo = meta[0, 3]
    act1, act2 = meta[0, 4], meta[1, 4]
    from_logits = kind == CROSS_ENTROPY and probabilities and act2 == SOFTMAX
    total = 0.0
    for s0 in range(0, n_samples, width):
        nb = min(width, n_samples - s0)
        n_vec = -(-nb // 16)
        for v in range(0, n_vec, 2):
            v1 = min(v + 1, n_vec - 1)  # an odd last vector is computed twice
            _hidden_lanes(h0f, hdf, stride, r0, sign, s0 + 16 * v, s0 + 16 * v1, n1,
                          gm, bo, act1, hbuf)
            _second(hbuf, table, nh, n_rows, obf, obf, width, 16 * v, 16 * v1)
        if from_logits:
            total += _ce_logits_block(obuf, n2, nb, s0, yi, red, red2, True, eps)
        else:
            _act_rows(obuf, _U(0), _U(n2), _U(0), _U(nb), act2, red)
            total += _loss_block(obuf, np.int64(n2), np.int64(nb), np.int64(s0), kind,
                                 probabilities, eps, yi, yf, red, red2)
    return total


@njit(**OPTS)
def _pair_blocks(mean, scale, z, X, n_samples, meta, h0, g, width, wcat, ht, gbuf, slot,
                 b0, b1, yi, yf, kind, probabilities, eps, fitness):
    """Blocks ``b0..b1`` of ``g`` pairs with scratch row ``slot``."""
    h = z.shape[0]
    n_in = X.shape[1]
    n_pad = X.shape[0]
    n_out = meta[meta.shape[0] - 1, 1]
    h1 = meta[0, 1]
    hu = _U(h1)
    wo0 = _U(meta[0, 2])
    xt = X.T  # F-ordered view: BLAS reads it transposed, no copy
    buf_a = np.empty((width, FINISH_BLOCK), np.float32)
    buf_b = np.empty((width, FINISH_BLOCK), np.float32)
    red = np.empty(FINISH_BLOCK, np.float32)
    red2 = np.empty(FINISH_BLOCK, np.float32)
    gm = gbuf[slot]
    div = n_samples * (n_out if kind == MSE else 1)
    # one hidden layer (not softmax): 16-sample vectors, register accumulators
    fused = meta.shape[0] == 2 and meta[0, 4] != SOFTMAX
    nh = h1 + 1
    n_rows = -(-n_out // _ROWS) * _ROWS
    table = np.zeros(n_rows * nh, np.float32)  # rows n_out..: zeros
    hbuf = np.ones(2 * nh * 16, np.float32)  # units h1 and 2 h1 + 1: ones
    obuf = np.empty((n_rows, FINISH_BLOCK), np.float32)
    for bl in range(b0, b1):
        p0 = bl * g
        pc = min(g, h - p0)
        # the pairs' first-layer noise D_i = scale * z_i side by side
        w = wcat[slot, : n_in * pc * h1].reshape((n_in, pc * h1))
        for q in range(pc):
            zi = z[p0 + q]
            col = _U(q) * hu
            for j in range(_U(n_in)):
                src = wo0 + j * hu
                for k in range(hu):
                    w[j, col + k] = scale[src + k] * zi[src + k]
        hd = ht[slot, : pc * h1 * n_pad].reshape((pc * h1, n_pad))
        np.dot(w.T, xt, hd)  # one product per pair, for both its members
        for q in range(pc):
            i = p0 + q
            for si in range(2):
                plus = si == 0
                _member_rest(mean, scale, z, i, plus, meta, gm)
                sign = np.float32(1.0) if plus else np.float32(-1.0)
                if fused:
                    total = _finish_two_layer(gm, h0, hd, _U(q) * hu, sign, n_samples,
                                              meta, table, hbuf, obuf, red, red2, yi,
                                              yf, kind, probabilities, eps)
                else:
                    total = _finish_member(gm, h0, hd, _U(q) * hu, sign, n_samples,
                                           meta, buf_a, buf_b, red, red2, yi, yf, kind,
                                           probabilities, eps)
                fitness[i if plus else h + i] = total / div


@njit(**OPTS)
def _pair_serial(mean, scale, z, X, n_samples, meta, h0, g, width, wcat, ht, gbuf, yi,
                 yf, kind, probabilities, eps, fitness):
    n_blocks = (z.shape[0] + g - 1) // g
    _pair_blocks(mean, scale, z, X, n_samples, meta, h0, g, width, wcat, ht, gbuf, 0, 0,
                 n_blocks, yi, yf, kind, probabilities, eps, fitness)


@njit(parallel=True, **OPTS)
def _pair_parallel(mean, scale, z, X, n_samples, meta, h0, g, width, wcat, ht, gbuf, yi,
                   yf, kind, probabilities, eps, fitness, n_chunks):
    n_blocks = (z.shape[0] + g - 1) // g
    for c in prange(n_chunks):
        # a contiguous run of whole blocks per thread: which thread runs a
        # block changes nothing in its arithmetic
        _pair_blocks(mean, scale, z, X, n_samples, meta, h0, g, width, wcat, ht, gbuf,
                     c, c * n_blocks // n_chunks, (c + 1) * n_blocks // n_chunks, yi,
                     yf, kind, probabilities, eps, fitness)


def pair_fitness(mean, scale, z, X, n_samples, meta, h0, yi, yf, kind, probabilities,
                 eps, fitness, g, wcat, ht, gbuf, n_chunks=1):
    """Fitness of every member of an antithetic population on shared inputs.

    mean, scale: float64 (N,); z: float32 (h, N) noise rows (member ``i`` is
    ``mean + scale * z_i``, member ``h + i`` ``mean - scale * z_i``); X:
    float32 C (Bp, in), the ``n_samples`` inputs then zero rows up to a
    multiple of 16 (whole vectors of samples); meta: int64 Dense layer
    table; h0: float32 C (h1, Bp), ``(X @ W0).T`` of the centre's first
    weight matrix (rounded to float32).
    ``kind``, ``probabilities``, ``eps``, ``yi``, ``yf``: the scores of
    :func:`pyneat_lite._kernels.lowrank.structured_fitness` (accuracy, minus
    the mean cross-entropy, minus the mean squared error); fitness: float64
    (2h,) output.  ``g`` pairs per block; scratch rows per thread: wcat
    float32 (n_chunks, in g h1), ht float32 (n_chunks, g h1 Bp), gbuf float32
    (n_chunks, N).  The caller holds BLAS at one thread.
    """
    width = int(meta[:, 1].max())
    if n_chunks <= 1:
        _pair_serial(mean, scale, z, X, n_samples, meta, h0, g, width, wcat, ht, gbuf,
                     yi, yf, kind, probabilities, eps, fitness)
    else:
        _pair_parallel(mean, scale, z, X, n_samples, meta, h0, g, width, wcat, ht,
                       gbuf, yi, yf, kind, probabilities, eps, fitness, n_chunks)
