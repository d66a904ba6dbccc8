"""Stride-1 convolutions on zero-padded rows, and the epilogue that adds a
convolution's bias, applies its activation and pools (issue 13; helpers of
:mod:`pyneat_lite._kernels.conv`, no validation here).

Layouts as in :mod:`~pyneat_lite._kernels.conv`: activations of a block of
``nb`` samples are ``(C, nb, H, W)``.  A stride-1 convolution pads its input
into ``(C, nb, Hp, Wp)`` rows (``Hp = OH + kh - 1``, ``Wp = OW + kw - 1``);
then output position ``t = y * Wp + x`` of a sample reads input position
``t + i * Wp + j`` for tap ``(i, j)``, so every tap of every input channel
is one contiguous, shifted row of ``OH * Wp`` values, and the product
``y (C_out, nb, OH, Wp)`` is a sum of scaled rows (the last ``kw - 1``
columns of each output row are junk, never read).

The tap kernel (:func:`taps`) multiplies those rows by the weights directly,
four input channels by four output channels at a time with the 16 weights
held in registers: each input value loaded is used 4 times and each output
value is loaded and stored once per 4 multiply-adds.  On EvoJAX's MNIST
ConvNet (8 -> 16 channels, 5x5 on 14x14) that is about 3x the im2col + BLAS
product it replaced (``benchmarks/bench_forward_layers.py``): with 16 output
channels a BLAS call reuses each packed patch value only 16 times, and the
patches and their packing cost as much as the product.  Each output sums
its terms in a fixed order (taps, then input channels), whatever the
threads.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._config import INLINE_OPTS, LINEAR, OPTS, RELU
from .math32 import elementwise

__all__ = ["AVGPOOL", "MAXPOOL", "conv_rows", "epilogue", "padded_size"]

MAXPOOL = 2
AVGPOOL = 3

_F = np.float32


def padded_size(r: np.ndarray) -> tuple[int, int]:
    """Padded input height and width of a stride-1 convolution row of
    ``Network.meta`` (what :func:`conv_rows` works on), or the plain output
    size otherwise."""
    if r[9] != 1 or r[10] != 1:
        return int(r[5]), int(r[6])
    return int(r[5] + r[7] - 1), int(r[6] + r[8] - 1)


@njit(**INLINE_OPTS)
def _act1(v, act):
    """One activation value (relu and linear without the table's branch)."""
    if act == RELU:
        return max(v, _F(0.0))
    if act == LINEAR:
        return v
    return elementwise(v, act)


@njit(**OPTS)
def _pad_rows(src, c_in, nb, h, w, pt, pl, hp, wp, dst):
    """src (C, nb, H, W) into dst (C, nb, Hp, Wp), zero around."""
    for c in range(c_in):
        for b in range(nb):
            s0 = (c * nb + b) * h * w
            d0 = (c * nb + b) * hp * wp
            for y in range(hp):
                iy = y - pt
                d = d0 + y * wp
                if iy < 0 or iy >= h:
                    for x in range(wp):
                        dst[d + x] = _F(0.0)
                    continue
                dv = dst[d: d + wp]
                sv = src[s0 + iy * w: s0 + iy * w + w]
                for x in range(pl):
                    dv[x] = _F(0.0)
                for x in range(w):
                    dv[pl + x] = sv[x]
                for x in range(pl + w, wp):
                    dv[x] = _F(0.0)


@njit(**OPTS)
def taps(pad, c_in, nb, hp, wp, kh, kw, oh, g, wo, c_out, y):
    """y (C_out, nb, OH, Wp) = the convolution of ``pad`` (C_in, nb, Hp, Wp)
    by the kernel ``g[wo:]`` (``(C_in*kh*kw, C_out)`` row-major, rows in
    ``(c_in, i, j)`` order), without bias.  Reads ``kw - 1`` values past the
    last channel of ``pad`` (junk columns only)."""
    ln = oh * wp
    cs = nb * hp * wp
    ys = nb * ln
    rs = kh * kw * c_out  # genome distance between input channels' rows
    y[: c_out * ys] = _F(0.0)
    for b in range(nb):
        for i in range(kh):
            for j in range(kw):
                sh = b * hp * wp + i * wp + j
                for c0 in range(0, c_in, 4):
                    nc = min(4, c_in - c0)
                    r0 = wo + ((c0 * kh + i) * kw + j) * c_out
                    for o0 in range(0, c_out, 4):
                        if nc == 4 and o0 + 4 <= c_out:
                            _block44(pad, c0 * cs + sh, cs, ln, g, r0 + o0, rs, y,
                                     o0 * ys + b * ln, ys)
                            continue
                        for a in range(nc):  # the channels left: one row at a time
                            p = pad[(c0 + a) * cs + sh: (c0 + a) * cs + sh + ln]
                            for o in range(o0, min(o0 + 4, c_out)):
                                wv = g[r0 + a * rs + o]
                                yv = y[o * ys + b * ln: o * ys + b * ln + ln]
                                for t in range(ln):
                                    yv[t] += wv * p[t]


@njit(**INLINE_OPTS)
def _block44(pad, p0, cs, ln, g, r, rs, y, d, ys):
    """Rows ``d + o * ys`` of ``y`` (o < 4) += the 4 input rows ``p0 + a *
    cs`` (a < 4) times the weights ``g[r + a * rs + o]``: 16 multiply-adds
    per position, the weights in registers."""
    w00 = g[r]
    w01 = g[r + rs]
    w02 = g[r + 2 * rs]
    w03 = g[r + 3 * rs]
    w10 = g[r + 1]
    w11 = g[r + rs + 1]
    w12 = g[r + 2 * rs + 1]
    w13 = g[r + 3 * rs + 1]
    w20 = g[r + 2]
    w21 = g[r + rs + 2]
    w22 = g[r + 2 * rs + 2]
    w23 = g[r + 3 * rs + 2]
    w30 = g[r + 3]
    w31 = g[r + rs + 3]
    w32 = g[r + 2 * rs + 3]
    w33 = g[r + 3 * rs + 3]
    # row views: LLVM vectorises the loop over positions
    x0 = pad[p0: p0 + ln]
    x1 = pad[p0 + cs: p0 + cs + ln]
    x2 = pad[p0 + 2 * cs: p0 + 2 * cs + ln]
    x3 = pad[p0 + 3 * cs: p0 + 3 * cs + ln]
    y0 = y[d: d + ln]
    y1 = y[d + ys: d + ys + ln]
    y2 = y[d + 2 * ys: d + 2 * ys + ln]
    y3 = y[d + 3 * ys: d + 3 * ys + ln]
    for t in range(ln):
        a0 = x0[t]
        a1 = x1[t]
        a2 = x2[t]
        a3 = x3[t]
        y0[t] = y0[t] + w00 * a0 + w01 * a1 + w02 * a2 + w03 * a3
        y1[t] = y1[t] + w10 * a0 + w11 * a1 + w12 * a2 + w13 * a3
        y2[t] = y2[t] + w20 * a0 + w21 * a1 + w22 * a2 + w23 * a3
        y3[t] = y3[t] + w30 * a0 + w31 * a1 + w32 * a2 + w33 * a3


@njit(**INLINE_OPTS)
def _pair_rows(ya, yc, bc, act, is_max, tmp, nx):
    """tmp[x] = act(ya[x] + bc) combined (max or sum) with act(yc[x] + bc),
    x < nx; relu and linear get their own loops (vectorised)."""
    if act == RELU and not is_max:
        for x in range(nx):
            tmp[x] = max(ya[x] + bc, _F(0.0)) + max(yc[x] + bc, _F(0.0))
    elif act == RELU:
        for x in range(nx):
            tmp[x] = max(max(ya[x] + bc, _F(0.0)), max(yc[x] + bc, _F(0.0)))
    elif act == LINEAR and not is_max:
        for x in range(nx):
            tmp[x] = (ya[x] + bc) + (yc[x] + bc)
    else:
        for x in range(nx):
            a = elementwise(ya[x] + bc, act)
            c = elementwise(yc[x] + bc, act)
            tmp[x] = max(a, c) if is_max else a + c


@njit(**OPTS)
def epilogue(y, c_out, nb, oh, wp, g, bo, act, pool, ph, pw, kh, kw, sh, sw, dst):
    """dst (C_out, nb, PH, PW) = pool(act(y + bias)) for a convolution's
    product ``y`` (C_out, nb, OH, Wp): ``pool`` is :data:`MAXPOOL` or
    :data:`AVGPOOL` with window ``kh, kw`` and stride ``sh, sw``; a 1x1
    window of stride 1 is no pooling (then ``PH, PW = OH, OW``).  2x2
    windows take :func:`_pool2x2`; others sum in row order as
    :func:`~pyneat_lite._kernels.conv._pool` does."""
    if kh == 2 and kw == 2:
        _pool2x2(y, c_out, nb, oh, wp, g, bo, act, pool == MAXPOOL, ph, pw, sh, sw, dst)
        return
    is_max = pool == MAXPOOL
    inv = _F(1.0) / _F(kh * kw)
    plain = kh == 1 and kw == 1 and sh == 1 and sw == 1
    for c in range(c_out):
        bc = g[bo + c]
        for b in range(nb):
            s0 = (c * nb + b) * oh * wp
            d0 = (c * nb + b) * ph * pw
            for py in range(ph):
                r0 = s0 + py * sh * wp
                dv = dst[d0 + py * pw: d0 + (py + 1) * pw]
                if plain:
                    ya = y[r0: r0 + wp]  # row views (vectorised)
                    for x in range(pw):
                        dv[x] = _act1(ya[x] + bc, act)
                    continue
                for px in range(pw):
                    s = r0 + px * sw
                    acc = _act1(y[s] + bc, act) if is_max else _F(0.0)
                    for i in range(kh):
                        for j in range(kw):
                            v = _act1(y[s + i * wp + j] + bc, act)
                            if is_max:
                                acc = max(acc, v)
                            else:
                                acc += v
                    dv[px] = acc if is_max else acc * inv


@njit(**OPTS)
def _pool2x2(y, c_out, nb, oh, wp, g, bo, act, is_max, ph, pw, sh, sw, dst):
    """:func:`epilogue` for 2x2 windows in two vectorised passes per
    channel: every row combined with the next one (one long loop over the
    channel's ``nb * OH * Wp`` values, the rows between windows included),
    then pairs of columns.  An average therefore adds the vertical pairs
    first: ``((v00 + v10) + (v01 + v11)) / 4``."""
    inv = _F(0.25)
    ys = nb * oh * wp
    n = ys - wp
    tmp = np.empty(n, np.float32)
    for c in range(c_out):
        _pair_rows(y[c * ys: c * ys + n], y[c * ys + wp: (c + 1) * ys], g[bo + c], act,
                   is_max, tmp, n)
        for b in range(nb):
            d0 = (c * nb + b) * ph * pw
            for py in range(ph):
                t0 = b * oh * wp + py * sh * wp
                tv = tmp[t0: t0 + wp]
                dv = dst[d0 + py * pw: d0 + (py + 1) * pw]
                if is_max:
                    for px in range(pw):
                        dv[px] = max(tv[px * sw], tv[px * sw + 1])
                else:
                    for px in range(pw):
                        dv[px] = (tv[px * sw] + tv[px * sw + 1]) * inv


@njit(**OPTS)
def conv_rows(g, m, src, y, pad, nb):
    """The product of a stride-1 convolution of genome ``g`` (``m`` its row
    of ``Network.meta``) on padded rows: src (C, nb, H, W) -> y (C_out, nb,
    OH, Wp) before bias and activation (junk in the last ``kw-1`` columns of
    each row).  ``pad`` holds ``C * nb * Hp * Wp + kw - 1`` values.  Returns
    ``Wp``."""
    c_in, h, w = m[1], m[2], m[3]
    oh, ow = m[5], m[6]
    kh, kw = m[7], m[8]
    hp = oh + kh - 1
    wp = ow + kw - 1
    _pad_rows(src, c_in, nb, h, w, m[11], m[12], hp, wp, pad)
    taps(pad, c_in, nb, hp, wp, kh, kw, oh, g, m[13], m[4], y)
    return wp
