"""Numba kernels for networks of convolution, pooling and dense layers on a
whole population with shared inputs (issue 13; no validation here).

The network is described by the int64 table ``Network.meta`` of a layered
network, one row per layer with work (``Flatten`` has none and no row):

====  =======================================================================
col   meaning
====  =======================================================================
0     kind: :data:`DENSE`, :data:`CONV`, :data:`MAXPOOL`, :data:`AVGPOOL`
1-3   input ``C, H, W`` (a vector of ``n`` values is ``n, 1, 1``)
4-6   output ``C, H, W``
7-8   kernel (or pooling window) ``kh, kw``
9-10  stride ``sh, sw``
11-12 zero padding at the top and left (the bottom and right get what the
      output size needs)
13-14 ``w_offset, b_offset`` in the genome (-1 without parameters)
15    activation id
====  =======================================================================

Genome layout (see :mod:`pyneat_lite.layers`): a convolution's kernel is
``W (C_in * kh * kw, C_out)`` row-major, rows in ``(c_in, i, j)`` order, then
its bias; a dense layer's is ``W (n_in, n_out)`` then the bias.

Activations inside the kernels are laid out per genome and per block of
``nb`` samples as ``(C, nb, H, W)``: channel-major, so that a convolution is
the product ``W.T (C_out, K) @ cols (K, nb*OH*OW)`` whose result is already
the next layer's ``(C_out, nb, OH, OW)`` -- no transpose between layers.

Work division (measured, see ``benchmarks/bench_forward_layers.py``): the
first convolution reads the shared inputs, so its patches (im2col) are built
once per block of samples and thread, and multiplied with the kernels of a
block of ``g`` genomes side by side in one BLAS call; later layers run per
genome (their inputs differ per genome).  With blocks of one genome (at most
8 genomes) a stride-1 first convolution takes the padded rows below instead:
patches for one kernel cost more than the product (one genome on 1,024
images, one thread: 60.8 -> 40.8 ms).  A stride-1 convolution works on
zero-padded rows ``(C, nb, Hp, Wp)`` (:mod:`.conv_rows`): its taps are
contiguous shifted rows, multiplied by the weights directly, 4 input by 4
output channels at a time (no patch matrix), and its bias and activation
are fused with a pooling layer that follows it (one pass over the product).
Other convolutions take a plain im2col and a BLAS product.  Threads take
contiguous runs of genome blocks, or of sample blocks when there are fewer
genome blocks than threads (one genome on a test set); the blocks of genomes
and of samples depend on the network and the sizes only, so results are
bit-identical for any number of threads (the caller holds BLAS at one thread).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ._config import LINEAR, OPTS, RELU
from .conv_rows import AVGPOOL, MAXPOOL, conv_rows, epilogue, padded_size
from .math32 import activate, elementwise

__all__ = ["DENSE", "CONV", "MAXPOOL", "AVGPOOL", "RNN", "GRU", "META_COLS",
           "stack_forward_shared", "stack_forward_each", "scratch_sizes",
           "block_samples"]

DENSE = 0
CONV = 1
RNN = 4
GRU = 5
META_COLS = 16

_F = np.float32


def scratch_sizes(meta: np.ndarray) -> tuple[int, int, int]:
    """Per-sample lengths of the work buffers: activations (also the padded
    inputs and the row-wide products of stride-1 convolutions), patches
    (other convolutions), dense rows (the kernels multiply them by the
    samples of a block)."""
    act = 1
    col = 1
    row = 1
    for r in meta:
        act = max(act, int(r[1] * r[2] * r[3]), int(r[4] * r[5] * r[6]))
        if r[0] == CONV and r[9] == 1 and r[10] == 1:
            hp, wp = padded_size(r)
            act = max(act, int(r[1] * hp * wp), int(r[4] * r[5] * wp))
        elif r[0] == CONV:
            col = max(col, int(r[1] * r[7] * r[8] * r[5] * r[6]))
        if r[0] == DENSE:
            row = max(row, int(r[1] * r[2] * r[3]), int(r[4]))
    return act, col, row


@njit(**OPTS)
def _im2col(src, c_in, nb, h, w, kh, kw, sh, sw, pt, pl, oh, ow, col):
    """Patches of ``src`` (C, nb, H, W) into ``col`` (C*kh*kw, nb*OH*OW),
    zero outside the image."""
    n = nb * oh * ow
    for c in range(c_in):
        for i in range(kh):
            for j in range(kw):
                base = ((c * kh + i) * kw + j) * n
                for b in range(nb):
                    for y in range(oh):
                        o = base + (b * oh + y) * ow
                        iy = y * sh + i - pt
                        if iy < 0 or iy >= h:
                            for x in range(ow):
                                col[o + x] = _F(0.0)
                            continue
                        s = ((c * nb + b) * h + iy) * w
                        for x in range(ow):
                            ix = x * sw + j - pl
                            if 0 <= ix < w:
                                col[o + x] = src[s + ix]
                            else:
                                col[o + x] = _F(0.0)


@njit(**OPTS)
def _bias_act(dst, c_out, n, g, bo, act):
    """dst (C_out, n) += bias, then the elementwise activation."""
    for c in range(c_out):
        bc = g[bo + c]
        base = c * n
        if act == RELU:
            for k in range(n):
                dst[base + k] = max(dst[base + k] + bc, _F(0.0))
        elif act == LINEAR:
            for k in range(n):
                dst[base + k] += bc
        else:
            for k in range(n):
                dst[base + k] = elementwise(dst[base + k] + bc, act)


@njit(**OPTS)
def _epilogue_at(meta, layer, y, nb, wp, g, dst):
    """Bias and activation of convolution ``layer`` on its product ``y``
    (C_out, nb, OH, Wp) into ``dst``, fused with the pooling layer after it
    if there is one.  Returns the last layer done."""
    m = meta[layer]
    if layer + 1 < meta.shape[0] and MAXPOOL <= meta[layer + 1][0] <= AVGPOOL:
        pm = meta[layer + 1]
        epilogue(y, m[4], nb, m[5], wp, g, m[14], m[15], pm[0], pm[5], pm[6],
                 pm[7], pm[8], pm[9], pm[10], dst)
        return layer + 1
    epilogue(y, m[4], nb, m[5], wp, g, m[14], m[15], AVGPOOL, m[5], m[6], 1, 1, 1, 1,
             dst)
    return layer


@njit(**OPTS)
def _conv(g, m, src, dst, col, nb):
    """One convolution layer of genome ``g``: src (C, nb, H, W) -> dst."""
    c_in, h, w = m[1], m[2], m[3]
    c_out, oh, ow = m[4], m[5], m[6]
    kh, kw = m[7], m[8]
    k = c_in * kh * kw
    n = nb * oh * ow
    _im2col(src, c_in, nb, h, w, kh, kw, m[9], m[10], m[11], m[12], oh, ow, col)
    wm = g[m[13]: m[13] + k * c_out].reshape((k, c_out))
    cm = col[: k * n].reshape((k, n))
    out = dst[: c_out * n].reshape((c_out, n))
    np.dot(wm.T, cm, out)
    _bias_act(dst, c_out, n, g, m[14], m[15])


@njit(**OPTS)
def _pool(m, src, dst, nb):
    """Max or average pooling, src (C, nb, H, W) -> dst (C, nb, OH, OW)."""
    c_in, h, w = m[1], m[2], m[3]
    oh, ow = m[5], m[6]
    kh, kw, sh, sw = m[7], m[8], m[9], m[10]
    is_max = m[0] == MAXPOOL
    inv = _F(1.0) / _F(kh * kw)
    for c in range(c_in):
        for b in range(nb):
            s0 = (c * nb + b) * h * w
            d0 = (c * nb + b) * oh * ow
            for y in range(oh):
                for x in range(ow):
                    s = s0 + y * sh * w + x * sw
                    acc = src[s] if is_max else _F(0.0)
                    for i in range(kh):
                        for j in range(kw):
                            v = src[s + i * w + j]
                            if is_max:
                                acc = max(acc, v)
                            else:
                                acc += v
                    dst[d0 + y * ow + x] = acc if is_max else acc * inv


@njit(**OPTS)
def _dense(g, m, src, dst, rows, nb, o, s0, last):
    """Dense layer: src (C, nb, H*W) read as nb vectors of C*H*W values in
    (c, h, w) order.  Writes dst (n_out, nb), or the outputs ``o[s0 + b]``
    for the last layer."""
    c_in = m[1]
    hw = m[2] * m[3]
    n_in = c_in * hw
    n_out = m[4]
    # sample-major copy of the inputs, then one BLAS product
    xs = rows[: nb * n_in].reshape((nb, n_in))
    for c in range(c_in):
        for b in range(nb):
            s = (c * nb + b) * hw
            for q in range(hw):
                xs[b, c * hw + q] = src[s + q]
    ys = rows[nb * n_in: nb * (n_in + n_out)].reshape((nb, n_out))
    wm = g[m[13]: m[13] + n_in * n_out].reshape((n_in, n_out))
    np.dot(xs, wm, ys)
    bo = m[14]
    for b in range(nb):
        for k in range(n_out):
            ys[b, k] += g[bo + k]
        activate(ys[b], n_out, m[15])
    if last:
        for b in range(nb):
            for k in range(n_out):
                o[s0 + b, k] = ys[b, k]
    else:
        for k in range(n_out):
            for b in range(nb):
                dst[k * nb + b] = ys[b, k]


@njit(**OPTS)
def _run_layers(g, meta, first, buf_a, buf_b, col, rows, pad, yb, nb, o, s0):
    """Layers ``first..`` of genome ``g`` on the block in ``buf_a``; the
    network's outputs for samples ``s0..s0+nb`` go to ``o`` (B, n_out).

    Stride-1 convolutions run on padded rows (:func:`.conv_rows.conv_rows`),
    their bias and activation fused with a pooling layer that follows; other
    convolutions take :func:`_im2col`."""
    n_layers = meta.shape[0]
    src = buf_a
    dst = buf_b
    layer = first
    while layer < n_layers:
        m = meta[layer]
        kind = m[0]
        last = layer == n_layers - 1
        if kind == DENSE:
            _dense(g, m, src, dst, rows, nb, o, s0, last)
            if last:
                return
        elif kind == CONV and m[9] == 1 and m[10] == 1:
            wp = conv_rows(g, m, src, yb, pad, nb)
            layer = _epilogue_at(meta, layer, yb, nb, wp, g, dst)
        elif kind == CONV:
            _conv(g, m, src, dst, col, nb)
        else:
            _pool(m, src, dst, nb)
        src, dst = dst, src
        layer += 1
    # the network ends with a convolution or pooling: (C, nb, HW) -> rows
    m = meta[n_layers - 1]
    c_out = m[4]
    hw = m[5] * m[6]
    for c in range(c_out):
        for b in range(nb):
            s = (c * nb + b) * hw
            for q in range(hw):
                o[s0 + b, c * hw + q] = src[s + q]


@njit(**OPTS)
def _load_inputs(X, r0, nb, c_in, hw, dst):
    """Rows ``X[r0:r0+nb]`` (sample-major, (c, h, w) per row) into the
    channel-major layout (C, nb, H*W)."""
    for c in range(c_in):
        for b in range(nb):
            d = (c * nb + b) * hw
            s = c * hw
            for q in range(hw):
                dst[d + q] = X[r0 + b, s + q]


@njit(**OPTS)
def _shared_range(pop, X, meta, g, nb, act_len, col_len, row_len, out, bl0, bl1,
                  sb0, sb1):
    """Genome blocks ``bl0..bl1`` of ``g`` genomes on the sample blocks
    ``sb0..sb1`` of ``nb`` samples each."""
    n_pop = pop.shape[0]
    n_samples = min(X.shape[0], sb1 * nb)
    m0 = meta[0]
    c_in0, hw0 = m0[1], m0[2] * m0[3]
    buf_x = np.empty(c_in0 * hw0 * nb, np.float32)
    buf_a = np.empty(act_len * nb, np.float32)
    buf_b = np.empty(act_len * nb, np.float32)
    col = np.empty(col_len * nb, np.float32)
    rows = np.empty(row_len * 2 * nb, np.float32)
    # padded rows with one sample's worth of slack (read by junk columns)
    pad = np.zeros(act_len * (nb + 1), np.float32)
    yb = np.empty(act_len * nb, np.float32)
    # the shared patches and one GEMM per genome block, unless a block is one
    # genome and the convolution has stride 1 (padded rows are faster then)
    first_conv = m0[0] == CONV and not (g == 1 and m0[9] == 1 and m0[10] == 1)
    # first-convolution buffers (unit sizes when the network starts otherwise)
    k0 = m0[1] * m0[7] * m0[8] if first_conv else 1
    c0 = m0[4] if first_conv else 1
    ohw0 = m0[5] * m0[6] if first_conv else 1
    col0 = np.empty(k0 * ohw0 * nb, np.float32)
    wcat = np.empty((g * c0, k0), np.float32)
    h0 = np.empty(g * c0 * ohw0 * nb, np.float32)
    for s0 in range(sb0 * nb, n_samples, nb):
        nbb = min(nb, n_samples - s0)
        _load_inputs(X, s0, nbb, c_in0, hw0, buf_x)
        n0 = nbb * ohw0
        if first_conv:
            _im2col(buf_x, c_in0, nbb, m0[2], m0[3], m0[7], m0[8], m0[9], m0[10],
                    m0[11], m0[12], m0[5], m0[6], col0)
        cm = col0[: k0 * n0].reshape((k0, n0))
        for bl in range(bl0, bl1):
            p0 = bl * g
            pc = min(g, n_pop - p0)
            if first_conv:
                # the first-layer kernels of pc genomes side by side: one GEMM
                wo = m0[13]
                for q in range(pc):
                    for r in range(k0):
                        for c in range(c0):
                            wcat[q * c0 + c, r] = pop[p0 + q, wo + r * c0 + c]
                hm = h0[: pc * c0 * n0].reshape((pc * c0, n0))
                np.dot(wcat[: pc * c0], cm, hm)
                for q in range(pc):
                    gq = pop[p0 + q]
                    blk = h0[q * c0 * n0: (q + 1) * c0 * n0]
                    done = _epilogue_at(meta, 0, blk, nbb, m0[6], gq, buf_a)
                    _run_layers(gq, meta, done + 1, buf_a, buf_b, col, rows, pad, yb,
                                nbb, out[p0 + q], s0)
            else:
                for q in range(pc):
                    buf_a[: c_in0 * hw0 * nbb] = buf_x[: c_in0 * hw0 * nbb]
                    _run_layers(pop[p0 + q], meta, 0, buf_a, buf_b, col, rows, pad,
                                yb, nbb, out[p0 + q], s0)


@njit(parallel=True, **OPTS)
def _shared_parallel(pop, X, meta, g, nb, act_len, col_len, row_len, out, n_chunks,
                     by_samples):
    n_blocks = (pop.shape[0] + g - 1) // g
    n_sblocks = (X.shape[0] + nb - 1) // nb
    for c in prange(n_chunks):
        # a contiguous run of whole blocks per thread, of genomes or (few
        # genomes, many samples: one genome on a test set, the prefix of a
        # split network) of samples; a block's arithmetic is the same
        # whichever thread runs it
        if by_samples:
            _shared_range(pop, X, meta, g, nb, act_len, col_len, row_len, out, 0,
                          n_blocks, c * n_sblocks // n_chunks,
                          (c + 1) * n_sblocks // n_chunks)
        else:
            _shared_range(pop, X, meta, g, nb, act_len, col_len, row_len, out,
                          c * n_blocks // n_chunks, (c + 1) * n_blocks // n_chunks, 0,
                          n_sblocks)


def stack_forward_shared(pop, X, meta, g, nb, out, n_chunks, by_samples=False):
    """out[p, b] = net(pop[p], X[b]) for a layered network.

    pop float32 (P, n_params); X float32 (B, n_in) rows in (c, h, w) order;
    meta int64 (L, 16); out float32 (P, B, n_out).  ``g`` genomes per block
    of the first convolution's GEMM, ``nb`` samples per block; ``n_chunks``
    threads, each taking a run of genome blocks (``by_samples`` False;
    ``n_chunks`` <= their number) or of sample blocks (True; <= their
    number).  The blocks depend on ``g`` and ``nb`` only, so the results are
    bit-identical either way and for any ``n_chunks``.  The caller sets
    Numba's thread count and holds BLAS at one thread.
    """
    act_len, col_len, row_len = scratch_sizes(meta)
    n_blocks = -(-pop.shape[0] // g)
    if n_chunks <= 1:
        _shared_range(pop, X, meta, g, nb, act_len, col_len, row_len, out, 0, n_blocks,
                      0, -(-X.shape[0] // nb))
    else:
        _shared_parallel(pop, X, meta, g, nb, act_len, col_len, row_len, out,
                         n_chunks, by_samples)


@njit(**OPTS)
def _each_range(pop, X, meta, act_len, col_len, row_len, out, lo, hi):
    m0 = meta[0]
    n_in = m0[1] * m0[2] * m0[3]
    buf_a = np.empty(act_len, np.float32)
    buf_b = np.empty(act_len, np.float32)
    col = np.empty(col_len, np.float32)
    rows = np.empty(row_len * 2, np.float32)
    pad = np.zeros(act_len * 2, np.float32)
    yb = np.empty(act_len, np.float32)
    for p in range(lo, hi):
        for j in range(n_in):
            buf_a[j] = X[p, j]
        _run_layers(pop[p], meta, 0, buf_a, buf_b, col, rows, pad, yb, 1,
                    out[p:p + 1], 0)


@njit(parallel=True, **OPTS)
def _each_parallel(pop, X, meta, act_len, col_len, row_len, out, n_chunks):
    n = pop.shape[0]
    for c in prange(n_chunks):
        _each_range(pop, X, meta, act_len, col_len, row_len, out,
                    c * n // n_chunks, (c + 1) * n // n_chunks)


def stack_forward_each(pop, X, meta, out, n_chunks):
    """out[p] = net(pop[p], X[p]) for a layered network without recurrent
    layers (one input row per genome).  Shapes as
    :func:`stack_forward_shared`, ``X`` (P, n_in), ``out`` (P, n_out)."""
    act_len, col_len, row_len = scratch_sizes(meta)
    if n_chunks <= 1:
        _each_range(pop, X, meta, act_len, col_len, row_len, out, 0, pop.shape[0])
    else:
        _each_parallel(pop, X, meta, act_len, col_len, row_len, out, n_chunks)


def block_samples(meta: np.ndarray, g: int, n_samples: int) -> int:
    """Samples per block of :func:`stack_forward_shared`: as many as keep the
    largest work buffer of a thread -- an activation, the patches or the
    product of the first convolution for ``g`` genomes -- within
    :data:`BLOCK_VALUES`."""
    act_len, col_len, _ = scratch_sizes(meta)
    m0 = meta[0]
    first = 1
    if m0[0] == CONV:
        first = int(max(m0[1] * m0[7] * m0[8], g * m0[4]) * m0[5] * m0[6])
    return max(1, min(n_samples, BLOCK_VALUES // max(act_len, col_len, first)))


#: Rows (genomes x channels) to aim for in the first convolution's GEMM.
GEMM_TARGET_ROWS = 64
#: Work buffers per thread, in float32 values (activations or patches of a
#: block of samples): 1 MiB, so that a block's data stays in the L2 cache.
BLOCK_VALUES = 2**18
