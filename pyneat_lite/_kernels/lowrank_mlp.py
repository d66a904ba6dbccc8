"""The fused two-layer forward pass of a low-rank ES member (issue 10).

:func:`two_layer_block` is the structured kernel's path for networks of one
hidden layer (the MNIST MLPs 784-32-10 and 784-128-10): for one member and
one block of samples it forms the hidden layer from the shared products and
multiplies it by the second layer without the hidden layer ever leaving L1,
16 samples at a time in the lanes of a :data:`.simd.F16` block:

- hidden: ``act(X W + b + sign (X A_i) (s B_i) + sign s e_i)`` for 16
  samples and every hidden unit, both members of an antithetic pair from one
  read of the shared products (the non-antithetic mode takes two blocks of
  16 samples instead), into a scratch of ``2 x hidden x 16`` values;
- second layer: the centre's ``W2`` and the member's ``A2_i`` rows read as
  one table of ``out + r`` rows of ``hidden`` weights (zero rows pad it to
  whole passes), six rows at a time: per hidden unit two loads of the
  hidden lanes feed twelve register accumulators (six rows, two streams),
  the weights being broadcast;
- the outputs, per block: the accumulated centre products plus the bias,
  its noise and the low-rank term ``sign (s B2_i).T (A2_i h)``, laid out
  (output, sample) for the caller's loss (:func:`logsumexp_lanes`: the
  cross-entropy's exponentials 16 samples at a time).

The sums run in a fixed order per member (hidden units in order, one
``fma`` each), so a member's outputs do not depend on the thread that
computes it.  They differ from the generic path's by float32 rounding only.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ._config import LINEAR, OPTS, RELU, TANH
from .math32 import elementwise
from .simd import (
    add16,
    bcast16,
    exp_block,
    fma16,
    load16,
    max16,
    relu16,
    splat16,
    store16,
    sub16,
    tanh_block,
    zeros16,
)

__all__ = ["centre_lanes", "logsumexp_lanes", "second_layer_table", "table_rows",
           "two_layer_block"]

_F = np.float32


@njit(inline="always", **OPTS)
def _act16(v, act_id):
    """relu or tanh of a 16-lane block; other activations pass (the caller
    applies them afterwards, lane by lane)."""
    if act_id == RELU:
        return relu16(v)
    if act_id == TANH:
        return tanh_block(v)
    return v


@njit(inline="always", **OPTS)
def _act_rest(buf, c0, c1, act_id):
    """The activations :func:`_act16` passes but linear, lane by lane on
    ``buf[c0:c1]``."""
    if act_id != RELU and act_id != TANH and act_id != LINEAR:
        for c in range(c0, c1):
            buf[c] = elementwise(buf[c], act_id)


#: rows of the second layer's table per pass over the hidden lanes: 6 rows
#: of two streams are 12 register accumulators
_ROWS = 6


def table_rows(n_out: int, rank: int) -> int:
    """Rows of :func:`second_layer_table` (and of the output scratch):
    ``out + rank`` rounded up to whole passes of :data:`_ROWS`."""
    return -(-(n_out + rank) // _ROWS) * _ROWS


@njit(**OPTS)
def second_layer_table(mean, meta, rank):
    """The second layer as a float32 table of :func:`table_rows` rows of
    ``hidden`` weights: first the columns of the centre's weight matrix (row
    ``k``: the weights of output ``k``), then ``rank`` rows the caller fills
    per member with its ``A2_i``, then zeros."""
    n1, n2 = meta[1, 0], meta[1, 1]
    wo = meta[1, 2]
    n_rows = -(-(n2 + rank) // _ROWS) * _ROWS
    t = np.zeros(n_rows * n1, np.float32)
    for k in range(n2):
        for j in range(n1):
            t[k * n1 + j] = mean[wo + j * n2 + k]
    return t


@njit(**OPTS)
def centre_lanes(h0b, bias, out):
    """out[s, v, j, :] = h0b[s, j, 16 v:16 v + 16] + bias[j]: the centre's
    first layer of each block of 16 samples contiguous, (unit, lane)."""
    n_blocks, n1, width = h0b.shape
    for s in range(n_blocks):
        for v in range(width // 16):
            for j in range(n1):
                b = bias[j]
                for c in range(16):
                    out[s, v, j, c] = h0b[s, j, 16 * v + c] + b


@njit(inline="always", **OPTS)
def _hidden(hl, xbf, width, v0, v1, i, rank, n1, dk, bq, act_id, antithetic, hbuf):
    """The hidden lanes of two streams into hbuf: antithetic, the block v0 of
    16 samples of the member and of its mirror; else blocks v0 and v1 of the
    member.  hl: :func:`centre_lanes` of the block of samples, flat."""
    x0 = i * rank * width
    xa0 = load16(xbf, x0 + 16 * v0)
    xa1 = load16(xbf, x0 + 16 * v1)
    for j in range(n1):
        dj = splat16(dk[j])
        b0 = splat16(bq[0, j])
        d = fma16(xa0, b0, dj)
        for q in range(1, rank):
            d = fma16(load16(xbf, x0 + q * width + 16 * v0), splat16(bq[q, j]), d)
        base = load16(hl, (v0 * n1 + j) * 16)
        p0 = add16(base, d)
        if antithetic:
            p1 = sub16(base, d)
        else:
            d1 = fma16(xa1, b0, dj)
            for q in range(1, rank):
                d1 = fma16(load16(xbf, x0 + q * width + 16 * v1), splat16(bq[q, j]),
                           d1)
            p1 = add16(load16(hl, (v1 * n1 + j) * 16), d1)
        store16(hbuf, j * 16, _act16(p0, act_id))
        store16(hbuf, (n1 + j) * 16, _act16(p1, act_id))
    _act_rest(hbuf, 0, 2 * n1 * 16, act_id)


@njit(inline="always", **OPTS)
def _second(hbuf, table, n1, n_rows, out0, out1, width, c0, c1):
    """Rows ``k`` of table times the hidden lanes of both streams, into
    out0[k * width + c0 ...] and out1[k * width + c1 ...], six rows (twelve
    register accumulators) per pass over the hidden lanes."""
    for k in range(0, n_rows, _ROWS):
        a0 = zeros16()
        a1 = zeros16()
        a2 = zeros16()
        a3 = zeros16()
        a4 = zeros16()
        a5 = zeros16()
        m0 = zeros16()
        m1 = zeros16()
        m2 = zeros16()
        m3 = zeros16()
        m4 = zeros16()
        m5 = zeros16()
        t = k * n1
        for j in range(n1):
            hp = load16(hbuf, j * 16)
            hm = load16(hbuf, (n1 + j) * 16)
            w = bcast16(table, t + j)
            a0 = fma16(hp, w, a0)
            m0 = fma16(hm, w, m0)
            w = bcast16(table, t + n1 + j)
            a1 = fma16(hp, w, a1)
            m1 = fma16(hm, w, m1)
            w = bcast16(table, t + 2 * n1 + j)
            a2 = fma16(hp, w, a2)
            m2 = fma16(hm, w, m2)
            w = bcast16(table, t + 3 * n1 + j)
            a3 = fma16(hp, w, a3)
            m3 = fma16(hm, w, m3)
            w = bcast16(table, t + 4 * n1 + j)
            a4 = fma16(hp, w, a4)
            m4 = fma16(hm, w, m4)
            w = bcast16(table, t + 5 * n1 + j)
            a5 = fma16(hp, w, a5)
            m5 = fma16(hm, w, m5)
        store16(out0, k * width + c0, a0)
        store16(out0, (k + 1) * width + c0, a1)
        store16(out0, (k + 2) * width + c0, a2)
        store16(out0, (k + 3) * width + c0, a3)
        store16(out0, (k + 4) * width + c0, a4)
        store16(out0, (k + 5) * width + c0, a5)
        store16(out1, k * width + c1, m0)
        store16(out1, (k + 1) * width + c1, m1)
        store16(out1, (k + 2) * width + c1, m2)
        store16(out1, (k + 3) * width + c1, m3)
        store16(out1, (k + 4) * width + c1, m4)
        store16(out1, (k + 5) * width + c1, m5)


@njit(inline="always", **OPTS)
def _finish(o, nb, n2, rank, mean, scale, z, i, sign, meta, offs):
    """o[k, :nb] += b2 + sign s e2 + sign (s B2).T @ (A2 h) (rows n2.. of o
    hold A2 h)."""
    bo, wo = meta[1, 3], meta[1, 2]
    bfo, eo = offs[1, 1], offs[1, 2]
    s = sign * scale[wo] / _F(math.sqrt(rank))
    for k in range(n2):
        bk = mean[bo + k] + sign * scale[bo + k] * z[i, eo + k]
        for c in range(nb):
            o[k, c] += bk
        for q in range(rank):
            bq = s * z[i, bfo + q * n2 + k]
            for c in range(nb):
                o[k, c] += bq * o[n2 + q, c]


@njit(**OPTS)
def two_layer_block(hl, xb, nb, mean, scale, z, i, meta, offs, rank, antithetic,
                    dk, bq, table, hbuf, out_p, out_m):
    """Outputs of member ``i`` (and of its mirror) on one block of samples.

    hl: (width / 16, hidden, 16) :func:`centre_lanes` of the block (the
    centre's first layer and bias); xb: (h r, width) ``(X A).T`` of every
    member, both C-contiguous, ``nb <= width`` real samples (the rest
    padding, ``width`` a multiple of 16).  dk: the member's ``s e`` of the
    first bias (hidden,); bq: ``s B_i / sqrt(r)`` (rank, hidden); table:
    :func:`second_layer_table` with the member's ``A2_i`` rows; hbuf (2
    hidden 16,): scratch.  Writes the outputs of the member into out_p
    (:func:`table_rows`, width) and of its mirror (antithetic) into out_m,
    before the output activation; rows ``out ..`` hold ``A2_i h``.
    """
    n1, n2 = meta[0, 1], meta[1, 1]
    n_rows = out_p.shape[0]
    width = xb.shape[1]
    hlf = hl.reshape(-1)
    xbf = xb.reshape(-1)
    opf = out_p.reshape(-1)
    omf = out_m.reshape(-1)
    act_id = meta[0, 4]
    n_vec = -(-nb // 16)
    if antithetic:
        for v in range(n_vec):
            _hidden(hlf, xbf, width, v, v, i, rank, n1, dk, bq, act_id, True, hbuf)
            _second(hbuf, table, n1, n_rows, opf, omf, width, 16 * v, 16 * v)
        _finish(out_m, nb, n2, rank, mean, scale, z, i, _F(-1.0), meta, offs)
    else:
        for v in range(0, n_vec, 2):
            v1 = min(v + 1, n_vec - 1)  # an odd last block is computed twice
            _hidden(hlf, xbf, width, v, v1, i, rank, n1, dk, bq, act_id, False, hbuf)
            _second(hbuf, table, n1, n_rows, opf, opf, width, 16 * v, 16 * v1)
    _finish(out_p, nb, n2, rank, mean, scale, z, i, _F(1.0), meta, offs)


@njit(inline="always", **OPTS)
def logsumexp_lanes(o, n_out, nb, red, red2):
    """red[c] = max_k o[k, c], red2[c] = sum_k exp32(o[k, c] - red[c]) for
    the samples c < nb, 16 at a time (rows of o a multiple of 16 long): the
    scalar loops' numbers (:func:`.simd.exp_block` is :func:`.math32.exp32` lane
    by lane, the sums in the same order)."""
    w = o.shape[1]
    of = o.reshape(-1)
    for c in range(0, nb, 16):
        m = load16(of, c)
        for k in range(1, n_out):
            m = max16(m, load16(of, k * w + c))
        t = zeros16()
        for k in range(n_out):
            t = add16(t, exp_block(sub16(load16(of, k * w + c), m)))
        store16(red, c, m)
        store16(red2, c, t)
