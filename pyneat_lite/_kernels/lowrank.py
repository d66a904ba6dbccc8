"""Numba kernels of low-rank ES populations (no validation here).

A low-rank population (EGGROLL: Sarkar et al., "Evolution Strategies at the
Hyperscale", arXiv 2511.16652, 2025) perturbs every weight matrix ``W (in,
out)`` of member ``i`` by ``s / sqrt(r) * A_i.T @ B_i`` with factors ``A_i
(r, in)`` and ``B_i (r, out)``, and every bias by full-rank noise ``s * e_i``;
with antithetic sampling member ``h + i`` is the mirror ``mean - noise_i``.
``s`` is the per-coordinate scale of the strategy, constant within a weight
matrix.

Noise storage: one float32 row of length ``m`` per sample (``h`` rows), per
layer ``A`` (r, in) row-major, ``B`` (r, out) row-major, then ``e`` (out,),
at the offsets of :func:`noise_offsets`: ``O(P r (in + out))`` values, not
``O(P in out)``.

Structured evaluation with shared inputs ``X (B, in)``: ``X @ W`` of the
centre is one BLAS product for the whole population and ``X`` times every
member's ``A`` factor another (both by the caller); then one ``prange`` over
members finishes each member's forward pass on blocks of samples, laid out
(neuron, sample) so the loops vectorise over samples, and reduces it to its
fitness in place (a network of one hidden layer, the MNIST MLPs, takes the
fused path of :mod:`.lowrank_mlp`: 16 samples per vector, the hidden layer
kept in L1, the second layer in register accumulators; 2.5x faster on
784-128-10).  An antithetic pair shares its first-layer perturbation
``X @ dW`` and differs by its sign.  The first layer of a member costs
``B r out`` (plus ``B out`` for the bias), not ``B in out``; a later layer,
whose input differs per member, costs ``B in out`` for the centre's product
plus ``B r (in + out)`` for the perturbation.  No ``(P, B, hidden)`` buffer:
a member's activations live in scratch of ``width x nb`` values (``nb``
the block of samples, :func:`block_size`).

Every member's arithmetic is the same whichever thread runs it, so the
fitness is bit-identical for any number of threads.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from ._config import EXACT_OPTS, LINEAR, OPTS, RELU, SOFTMAX, TANH
from .lowrank_mlp import (
    centre_lanes,
    logsumexp_lanes,
    second_layer_table,
    two_layer_block,
)
from .math32 import elementwise, tanh32
from .math32 import exp32_inline as exp32
from .math32 import log32_inline as log32

__all__ = ["ACCURACY", "CROSS_ENTROPY", "MSE", "block_size", "noise_offsets",
           "materialize",
           "products", "structured_fitness", "weight_moments"]

#: ``kind`` codes of :func:`structured_fitness`
ACCURACY, CROSS_ENTROPY, MSE = 0, 1, 2

_F = np.float32
_F64 = np.float64
#: most samples per block of a member's forward pass: long rows for the
#: vectorised loops (256 ran the 784-32-10 and 784-128-10 kernels 15-30%
#: faster than 64), short enough that a block's activations (width x 256
#: float32) stay in L2
_NB_MAX = 256


def block_size(n_samples: int) -> int:
    """Samples per block of the structured kernels for ``n_samples`` inputs:
    as few blocks of at most 256 as cover them, each a multiple of 16
    (whole vectors), so that the padding of the last block stays small."""
    n_blocks = -(-n_samples // _NB_MAX)
    per_block = -(-n_samples // n_blocks)
    return -(-per_block // 16) * 16


def noise_offsets(meta: np.ndarray, rank: int) -> tuple[np.ndarray, int]:
    """``(offs, m)``: per layer the offsets of ``A``, ``B`` and ``e`` in a
    noise row (int64 (L, 3)), and the row length ``m``."""
    n_layers = meta.shape[0]
    offs = np.empty((n_layers, 3), np.int64)
    o = 0
    for layer in range(n_layers):
        n_in, n_out = int(meta[layer, 0]), int(meta[layer, 1])
        offs[layer, 0] = o
        o += rank * n_in
        offs[layer, 1] = o
        o += rank * n_out
        offs[layer, 2] = o
        o += n_out
    return offs, o


# ------------------------------------------------------------ materialise
@njit(**EXACT_OPTS)
def _materialize_rows(mean, scale, z, meta, offs, rank, antithetic, out, i0, i1):
    h = z.shape[0]
    c = 1.0 / math.sqrt(rank)
    acc = np.empty(int(meta[:, 1].max()), np.float64)
    for i in range(i0, i1):
        zi = z[i]
        op = out[i]
        om = out[h + i] if antithetic else out[i]
        for layer in range(meta.shape[0]):
            n_in, n_out = meta[layer, 0], meta[layer, 1]
            wo, bo = meta[layer, 2], meta[layer, 3]
            ao, bfo, eo = offs[layer, 0], offs[layer, 1], offs[layer, 2]
            s = scale[wo] * c
            for j in range(n_in):
                # row j of s A.T B in float64, then mean +- it rounded once;
                # row views keep the inner loops free of index arithmetic
                for k in range(n_out):
                    acc[k] = 0.0
                for q in range(rank):
                    a = s * _F64(zi[ao + q * n_in + j])
                    bq = zi[bfo + q * n_out:bfo + (q + 1) * n_out]
                    for k in range(n_out):
                        acc[k] += a * _F64(bq[k])
                base = wo + j * n_out
                mrow = mean[base:base + n_out]
                prow = op[base:base + n_out]
                for k in range(n_out):
                    prow[k] = mrow[k] + acc[k]
                if antithetic:
                    nrow = om[base:base + n_out]
                    for k in range(n_out):
                        nrow[k] = mrow[k] - acc[k]
            for k in range(n_out):
                p = bo + k
                d = scale[p] * _F64(zi[eo + k])
                op[p] = mean[p] + d
                if antithetic:
                    om[p] = mean[p] - d


@njit(parallel=True, **EXACT_OPTS)
def _materialize_par(mean, scale, z, meta, offs, rank, antithetic, out, n_chunks):
    h = z.shape[0]
    for ch in prange(n_chunks):
        _materialize_rows(mean, scale, z, meta, offs, rank, antithetic, out,
                          ch * h // n_chunks, (ch + 1) * h // n_chunks)


@njit(**EXACT_OPTS)
def _materialize_seq(mean, scale, z, meta, offs, rank, antithetic, out):
    _materialize_rows(mean, scale, z, meta, offs, rank, antithetic, out, 0,
                      z.shape[0])


def materialize(mean, scale, z, meta, offs, rank, antithetic, out, n_chunks=1):
    """Write the genomes of a low-rank population into ``out``.

    mean, scale: float64 (N,); z: float32 (h, m) noise rows; meta, offs:
    int64 layer tables; out: float32 (P, N), P = 2h with ``antithetic``
    (member ``h + i`` is ``mean - noise_i``), else h.  Each value is computed
    in float64 and rounded once.
    """
    if n_chunks <= 1:
        _materialize_seq(mean, scale, z, meta, offs, rank, antithetic, out)
    else:
        _materialize_par(mean, scale, z, meta, offs, rank, antithetic, out,
                         n_chunks)


# ------------------------------------------------------------ the update
#: input rows of a weight matrix per tile of :func:`weight_moments`: fixed,
#: so that the products BLAS computes (hence the bits) never depend on the
#: thread count
_G1_ROWS = 128


@njit(**OPTS)
def _g1_tiles(z, bw, ao, n_in, rank, rows, g1, wo, t0, t1):
    h = z.shape[0]
    n_out = bw.shape[1]
    # one scratch per call (per chunk), not per tile: the tile's slice of
    # every sample's A factor, float64, as (h r, rows)
    at = np.empty((h * rank, rows), np.float64)
    for t in range(t0, t1):
        j0 = t * rows
        j1 = min(n_in, j0 + rows)
        w = j1 - j0
        if w < rows:  # the last, narrower tile: its own contiguous scratch
            at = np.empty((h * rank, w), np.float64)
        for i in range(h):
            for q in range(rank):
                src = z[i, ao + q * n_in + j0:ao + q * n_in + j1]
                dst = at[i * rank + q]
                for jj in range(w):
                    dst[jj] = np.float64(src[jj])
        # the product lands in g1's rows j0:j1 of the matrix
        np.dot(at.T, bw, g1[wo + j0 * n_out:wo + j1 * n_out].reshape(w, n_out))


@njit(parallel=True, **OPTS)
def _g1_par(z, bw, ao, n_in, rank, rows, g1, wo, n_tiles, n_chunks):
    for ch in prange(n_chunks):
        _g1_tiles(z, bw, ao, n_in, rank, rows, g1, wo, ch * n_tiles // n_chunks,
                  (ch + 1) * n_tiles // n_chunks)


def weight_moments(z, w1, w2, meta, offs, rank, g1, g2, n_chunks=1):
    """The ES moment sums of a low-rank population, without its genomes.

    With ``Z_i`` the full noise vector of sample ``i`` (``A_i.T @ B_i /
    sqrt(r)`` per weight matrix, ``e_i`` per bias), writes
    ``g1 = sum_i w1[i] Z_i`` (float64, a full-rank matrix per layer: one
    single-threaded BLAS product ``A_cat.T @ (w1 * B_cat)`` per fixed tile of
    :data:`_G1_ROWS` input rows, tiles in parallel over ``n_chunks``: the
    same bits for any thread count) and
    ``g2``: per bias coordinate ``sum_i w2[i] Z_i**2``, per weight matrix
    (one value over the block) its mean over the matrix, ``sum_i w2[i]
    ||Z_i||_F**2 / (in out)``, computed from the ``r x r`` Gram matrices of
    the factors.  ``w2`` may be None (``g2`` untouched).  The caller holds
    BLAS at one thread (the Gram sums must not depend on the thread count).
    """
    h = z.shape[0]
    c2 = 1.0 / rank
    for layer in range(meta.shape[0]):
        n_in, n_out = int(meta[layer, 0]), int(meta[layer, 1])
        wo, bo = int(meta[layer, 2]), int(meta[layer, 3])
        ao, bfo, eo = (int(v) for v in offs[layer])
        b = z[:, bfo:bfo + rank * n_out].astype(np.float64).reshape(h, rank, n_out)
        e = z[:, eo:eo + n_out].astype(np.float64)
        bw = (b * (w1 * c2 ** 0.5)[:, None, None]).reshape(h * rank, n_out)
        n_tiles = -(-n_in // _G1_ROWS)
        if n_chunks <= 1 or n_tiles <= 1:
            _g1_tiles(z, bw, ao, n_in, rank, _G1_ROWS, g1, wo, 0, n_tiles)
        else:
            _g1_par(z, bw, ao, n_in, rank, _G1_ROWS, g1, wo, n_tiles,
                    min(n_chunks, n_tiles))
        g1[bo:bo + n_out] = np.dot(w1, e)
        if w2 is not None:
            a = z[:, ao:ao + rank * n_in].astype(np.float64).reshape(h, rank, n_in)
            ga = np.matmul(a, a.transpose(0, 2, 1))  # (h, r, r)
            gb = np.matmul(b, b.transpose(0, 2, 1))
            fro = (ga * gb).sum(axis=(1, 2)) * c2  # ||Z_i||_F**2
            g2[wo:wo + n_in * n_out] = float(np.dot(w2, fro)) / (n_in * n_out)
            g2[bo:bo + n_out] = np.dot(w2, e * e)


# ------------------------------------------------- structured evaluation
@njit(inline="always", **OPTS)
def _act_block(a, n_rows, nb, act_id, red):
    """Activation of a[:n_rows, :nb] laid out (neuron, sample); softmax over
    the neurons of each sample."""
    if act_id == LINEAR:
        return
    if act_id == SOFTMAX:
        for c in range(nb):
            red[c] = a[0, c]
        for r in range(1, n_rows):
            for c in range(nb):
                red[c] = max(red[c], a[r, c])
        for r in range(n_rows):
            for c in range(nb):
                a[r, c] = exp32(a[r, c] - red[c])
        for c in range(nb):
            red[c] = a[0, c]
        for r in range(1, n_rows):
            for c in range(nb):
                red[c] += a[r, c]
        for c in range(nb):
            red[c] = _F(1.0) / red[c]
        for r in range(n_rows):
            for c in range(nb):
                a[r, c] *= red[c]
        return
    for r in range(n_rows):
        if act_id == RELU:
            for c in range(nb):
                a[r, c] = max(a[r, c], _F(0.0))
        elif act_id == TANH:
            for c in range(nb):
                a[r, c] = tanh32(a[r, c])
        else:
            for c in range(nb):
                a[r, c] = elementwise(a[r, c], act_id)


@njit(inline="always", **OPTS)
def _dense_lowrank(src, dst, ha, mean, scale, z, i, sign, meta, offs, rank, layer):
    """dst = (W + sign s A.T B / sqrt(r)).T @ src + b + sign s e for layer
    ``layer`` of sample ``i``; ``src`` (in, nb), ``dst`` (out, nb), ``ha``
    (r, nb), all C-contiguous.  The centre's product is one single-threaded
    BLAS call (the caller holds BLAS at one thread)."""
    n_in, n_out = meta[layer, 0], meta[layer, 1]
    wo, bo = meta[layer, 2], meta[layer, 3]
    ao, bfo, eo = offs[layer, 0], offs[layer, 1], offs[layer, 2]
    nb = src.shape[1]
    for k in range(n_out):
        bk = mean[bo + k] + sign * scale[bo + k] * z[i, eo + k]
        for c in range(nb):
            dst[k, c] = bk
    # four input rows per pass over a row of dst: a quarter of the loads and
    # stores of dst, which bound this loop
    n4 = n_in - n_in % 4
    for j in range(0, n4, 4):
        for k in range(n_out):
            w0 = mean[wo + j * n_out + k]
            w1 = mean[wo + (j + 1) * n_out + k]
            w2 = mean[wo + (j + 2) * n_out + k]
            w3 = mean[wo + (j + 3) * n_out + k]
            for c in range(nb):
                dst[k, c] += (w0 * src[j, c] + w1 * src[j + 1, c]
                              + w2 * src[j + 2, c] + w3 * src[j + 3, c])
    for j in range(n4, n_in):
        for k in range(n_out):
            w = mean[wo + j * n_out + k]
            for c in range(nb):
                dst[k, c] += w * src[j, c]
    # the member's own product ha = A @ src: r x in x nb
    for q in range(rank):
        for c in range(nb):
            ha[q, c] = _F(0.0)
        for j in range(n_in):
            a = z[i, ao + q * n_in + j]
            for c in range(nb):
                ha[q, c] += a * src[j, c]
    s = sign * scale[wo] / _F(math.sqrt(rank))
    for k in range(n_out):
        for q in range(rank):
            bq = s * z[i, bfo + q * n_out + k]
            for c in range(nb):
                dst[k, c] += bq * ha[q, c]


@njit(inline="always", **OPTS)
def _ce_logits_block(o, n_out, nb, s0, yi, red, red2, capped, eps):
    """Sum over the samples of a block of the log-softmax of the target,
    from the logits ``o`` (n_out, nb); ``capped``: of ``log(max(p, eps))``,
    the loss of softmax probabilities, without writing them (``log`` is
    increasing: the cap is ``log32(eps)``).  float32 per sample, summed in
    float64 in sample order."""
    total = 0.0
    if o.shape[1] % 16 == 0:
        logsumexp_lanes(o, n_out, nb, red, red2)
    else:
        for c in range(nb):
            red[c] = o[0, c]
        for k in range(1, n_out):
            for c in range(nb):
                red[c] = max(red[c], o[k, c])
        for c in range(nb):
            red2[c] = _F(0.0)
        for k in range(n_out):
            for c in range(nb):
                red2[c] += exp32(o[k, c] - red[c])
    for c in range(nb):  # contiguous: vectorised (the gather below is not)
        red2[c] = log32(red2[c])
    for c in range(nb):  # max - logit first: exact when they are close
        red2[c] = (red[c] - o[yi[s0 + c], c]) + red2[c]
    if capped:
        cap = -log32(_F(eps))
        for c in range(nb):
            red2[c] = min(red2[c], cap)
    for c in range(nb):
        total -= _F64(red2[c])
    return total


@njit(inline="always", **OPTS)
def _loss_block(o, n_out, nb, s0, kind, probabilities, eps, yi, yf, red, red2):
    """Sum over the samples of a block of the per-sample score (hits, log
    likelihood, minus the squared error), float64.  The per-sample log
    likelihoods are float32 (:func:`exp32`, :func:`log32`, vectorised over
    samples), summed in float64 in sample order."""
    total = 0.0
    if kind == ACCURACY:
        # running max and its first index, vectorised over samples
        for c in range(nb):
            red[c] = o[0, c]
            red2[c] = _F(0.0)
        for k in range(1, n_out):
            kf = _F(k)
            for c in range(nb):
                if o[k, c] > red[c]:  # first maximum, as np.argmax
                    red[c] = o[k, c]
                    red2[c] = kf
        for c in range(nb):
            if red2[c] == _F(yi[s0 + c]):
                total += 1.0
    elif kind == CROSS_ENTROPY:
        # per-sample logs in float32 (log32 vectorises; a float64 log per
        # sample stayed scalar and cost as much as the forward pass)
        if probabilities:
            e32 = _F(eps)
            for c in range(nb):
                red[c] = log32(max(o[yi[s0 + c], c], e32))
            for c in range(nb):
                total += _F64(red[c])
        else:
            total = _ce_logits_block(o, n_out, nb, s0, yi, red, red2, False, eps)
    else:
        for c in range(nb):
            for k in range(n_out):
                d = _F64(o[k, c]) - _F64(yf[s0 + c, k])
                total -= d * d
    return total


@njit(**OPTS)
def _fitness_rows(h0b, xab, n_samples, mean, scale, z, meta, offs, rank, antithetic,
                  kind, probabilities, eps, yi, yf, width, fitness, i0, i1):
    h = z.shape[0]
    n_layers = meta.shape[0]
    n1 = meta[0, 1]
    n_out = meta[n_layers - 1, 1]
    bo0 = meta[0, 3]
    bf0, e0 = offs[0, 1], offs[0, 2]
    s0w = scale[meta[0, 2]] / _F(math.sqrt(rank))
    blk_n = h0b.shape[2]
    buf_a = np.empty(width * blk_n, np.float32)
    buf_b = np.empty(width * blk_n, np.float32)
    hbuf = np.empty(rank * blk_n, np.float32)
    dk = np.empty(n1, np.float32)
    bq = np.empty((rank, n1), np.float32)
    red = np.empty(blk_n, np.float32)
    red2 = np.empty(blk_n, np.float32)
    n_signs = 2 if antithetic else 1
    # one hidden layer (not softmax): the fused path of lowrank_mlp
    fused = n_layers == 2 and meta[0, 4] != SOFTMAX
    if fused:
        table = second_layer_table(mean, meta, rank)
        n_rows = table.shape[0] // n1
        ao1 = offs[1, 0]
        hid = np.empty(2 * n1 * 16, np.float32)
        out_p = np.empty((n_rows, blk_n), np.float32)
        out_m = np.empty((n_rows, blk_n), np.float32)
        lanes = np.empty((h0b.shape[0], blk_n // 16, n1, 16), np.float32)
        centre_lanes(h0b, mean[bo0:bo0 + n1], lanes)
    for i in range(i0, i1):
        # the member's first-layer perturbation: bias noise and s * B factor
        for k in range(n1):
            dk[k] = scale[bo0 + k] * z[i, e0 + k]
        for q in range(rank):
            for k in range(n1):
                bq[q, k] = s0w * z[i, bf0 + q * n1 + k]
        tot_p = 0.0
        tot_m = 0.0
        if fused:
            for q in range(rank):
                for j in range(n1):
                    table[(n_out + q) * n1 + j] = z[i, ao1 + q * n1 + j]
            for blk in range(h0b.shape[0]):
                s0 = blk * blk_n
                nb = min(blk_n, n_samples - s0)
                two_layer_block(lanes[blk], xab[blk], nb, mean, scale, z, i, meta,
                                offs, rank, antithetic, dk, bq, table, hid, out_p,
                                out_m)
                _act_block(out_p, n_out, nb, meta[1, 4], red)
                tot_p += _loss_block(out_p, n_out, nb, s0, kind, probabilities, eps,
                                     yi, yf, red, red2)
                if antithetic:
                    _act_block(out_m, n_out, nb, meta[1, 4], red)
                    tot_m += _loss_block(out_m, n_out, nb, s0, kind, probabilities,
                                         eps, yi, yf, red, red2)
            div = n_samples * (n_out if kind == MSE else 1)
            fitness[i] = tot_p / div
            if antithetic:
                fitness[h + i] = tot_m / div
            continue
        for blk in range(h0b.shape[0]):
            s0 = blk * blk_n
            nb = min(blk_n, n_samples - s0)
            hb = h0b[blk]  # (h1, blk_n), C-contiguous: the loops below vectorise
            xb = xab[blk]
            ha = hbuf[:rank * nb].reshape((rank, nb))
            for si in range(n_signs):
                sign = _F(1.0) if si == 0 else _F(-1.0)
                # first layer: centre (shared GEMM) + sign * low-rank delta
                # (from the shared X @ A): B * out * (r + 1), not B * in * out
                cur = buf_a[:n1 * nb].reshape((n1, nb))
                row = i * rank
                for k in range(n1):  # with the first factor's term, one pass
                    d = sign * dk[k] + mean[bo0 + k]
                    b = sign * bq[0, k]
                    for c in range(nb):
                        cur[k, c] = hb[k, c] + d + b * xb[row, c]
                for q in range(1, rank):
                    row = i * rank + q
                    for k in range(n1):
                        b = sign * bq[q, k]
                        for c in range(nb):
                            cur[k, c] += b * xb[row, c]
                _act_block(cur, n1, nb, meta[0, 4], red)
                in_a = True
                for layer in range(1, n_layers):
                    n_in, m = meta[layer, 0], meta[layer, 1]
                    if in_a:
                        src = buf_a[:n_in * nb].reshape((n_in, nb))
                        cur = buf_b[:m * nb].reshape((m, nb))
                    else:
                        src = buf_b[:n_in * nb].reshape((n_in, nb))
                        cur = buf_a[:m * nb].reshape((m, nb))
                    _dense_lowrank(src, cur, ha, mean, scale, z, i, sign, meta, offs,
                                   rank, layer)
                    _act_block(cur, m, nb, meta[layer, 4], red)
                    in_a = not in_a
                t = _loss_block(cur, n_out, nb, s0, kind, probabilities, eps, yi, yf,
                                red, red2)
                if si == 0:
                    tot_p += t
                else:
                    tot_m += t
        div = n_samples * (n_out if kind == MSE else 1)
        fitness[i] = tot_p / div
        if antithetic:
            fitness[h + i] = tot_m / div


@njit(**OPTS)
def _fitness_seq(h0b, xab, n_samples, mean, scale, z, meta, offs, rank, antithetic,
                 kind, probabilities, eps, yi, yf, width, fitness):
    _fitness_rows(h0b, xab, n_samples, mean, scale, z, meta, offs, rank, antithetic,
                  kind, probabilities, eps, yi, yf, width, fitness, 0, z.shape[0])


@njit(parallel=True, **OPTS)
def _fitness_par(h0b, xab, n_samples, mean, scale, z, meta, offs, rank, antithetic,
                 kind, probabilities, eps, yi, yf, width, fitness, n_chunks):
    h = z.shape[0]
    for ch in prange(n_chunks):
        _fitness_rows(h0b, xab, n_samples, mean, scale, z, meta, offs, rank,
                      antithetic, kind, probabilities, eps, yi, yf, width, fitness,
                      ch * h // n_chunks, (ch + 1) * h // n_chunks)


def structured_fitness(h0b, xab, n_samples, mean, scale, z, meta, offs, rank,
                       antithetic, kind, probabilities, eps, yi, yf, fitness,
                       n_chunks=1):
    """Fitness of every member of a low-rank population on shared inputs.

    The products come in blocks of ``nb`` samples (:func:`block_size`; see
    :func:`products`): h0b float32 (n_blocks, h1, nb), ``(X @ W0).T`` of
    the centre per block; xab float32 (n_blocks, h r, nb), ``X`` times
    every sample's first factor ``A0_i`` (rows ``i r .. i r + r - 1``);
    ``n_samples`` real samples (the last block may be padded).  mean, scale:
    float32 (N,) centre and per-coordinate scale; z: float32 (h, m) noise
    rows; meta, offs: int64 layer tables; kind: :data:`ACCURACY` (fraction
    of argmax hits), :data:`CROSS_ENTROPY` (minus the mean; ``probabilities``
    reads the outputs as probabilities clipped at ``eps``, else as logits)
    or :data:`MSE` (minus the mean squared error); yi: int64 (B,) labels; yf:
    float32 (B, n_out) targets; fitness: float64 (P,) output.
    """
    width = int(meta[:, 1].max())
    if n_chunks <= 1:
        _fitness_seq(h0b, xab, n_samples, mean, scale, z, meta, offs, rank,
                     antithetic, kind, probabilities, eps, yi, yf, width, fitness)
    else:
        _fitness_par(h0b, xab, n_samples, mean, scale, z, meta, offs, rank,
                     antithetic, kind, probabilities, eps, yi, yf, width, fitness,
                     n_chunks)


# ------------------------------------------------------ shared products
#: rows of ``a`` per BLAS call of :func:`products`: fixed, so that which
#: products BLAS computes together (hence the last bits) never depends on
#: the thread count
_GEMM_ROWS = 256


@njit(**OPTS)
def _products_items(a, xp, out, t0, t1):
    n_rows, n_in = a.shape
    n_rb = (n_rows + _GEMM_ROWS - 1) // _GEMM_ROWS
    af = a.reshape(-1)
    for t in range(t0, t1):
        sb = t // n_rb
        r0 = (t % n_rb) * _GEMM_ROWS
        r1 = min(n_rows, r0 + _GEMM_ROWS)
        blk = af[r0 * n_in:r1 * n_in].reshape((r1 - r0, n_in))
        nb = out.shape[2]
        xs = xp[sb * nb:(sb + 1) * nb]
        of = out[sb].reshape(-1)
        dst = of[r0 * nb:r1 * nb].reshape((r1 - r0, nb))
        np.dot(blk, xs.T, dst)


@njit(**OPTS)
def _products_seq(a, xp, out):
    n_items = out.shape[0] * ((a.shape[0] + _GEMM_ROWS - 1) // _GEMM_ROWS)
    _products_items(a, xp, out, 0, n_items)


@njit(parallel=True, **OPTS)
def _products_par(a, xp, out, n_chunks):
    n_items = out.shape[0] * ((a.shape[0] + _GEMM_ROWS - 1) // _GEMM_ROWS)
    for ch in prange(n_chunks):
        _products_items(a, xp, out, ch * n_items // n_chunks,
                        (ch + 1) * n_items // n_chunks)


def products(a, xp, out, n_chunks=1):
    """``out[s] = a @ xp[s nb:(s + 1) nb].T`` for every block ``s`` of ``nb``
    samples: a float32 (R, in) C, xp float32 (n_blocks nb, in) C (the
    inputs, zero-padded to whole blocks), out float32 (n_blocks, R, nb)
    C.  Single-threaded BLAS calls on fixed (block, rows) tiles, ``n_chunks``
    runs of tiles in parallel; the caller holds BLAS at one thread."""
    n_items = out.shape[0] * -(-a.shape[0] // _GEMM_ROWS)
    if n_chunks <= 1 or n_items <= 1:
        _products_seq(a, xp, out)
    else:
        _products_par(a, xp, out, min(n_chunks, n_items))
