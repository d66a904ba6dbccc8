"""The policy forward of a fused rollout, 32 lanes (episodes) at a time.

The rollout kernels (:mod:`.rollout`) keep each group's genomes transposed,
lane-minor, for the whole rollout (a genome is copied into its lane once,
when the lane takes it): element ``(i, lane)`` of a flat array at
``i * 32 + lane``.  Here every running sum of 16 lanes is one
:data:`.simd.F16` block (an LLVM vector: one AVX-512 register, two AVX2
ones), from the first input to the output, so that each multiply-add of the
policy is one SIMD instruction for 16 episodes.  (Tuples of scalars were
split into scalars at every loop edge, which cost more than the arithmetic.)

The sums are ``forward_one``'s, in its order, with the same fused
multiply-adds: a wide layer (8 outputs or more) from the bias through the
inputs in order; a narrow one as four running sums over the inputs
``j = 0, 1, 2, 3 mod 4`` (the tail beyond a multiple of 4 in the first),
then ``b + ((s0 + s1) + (s2 + s3))``; and ``tanh`` is
:func:`.simd.tanh_block`, ``tanh32``'s operations; so a rollout's actions
stay those of ``Network.forward_each`` on the same observations, bit for bit.

A wide layer takes its inputs 4 at a time, their 8 blocks held in
registers while every output takes its 8 multiply-adds (one weight load
each, the running sums stored between chunks, ``tanh`` applied as the last
chunk stores); a narrow one runs two outputs at a time over both blocks (16
running sums), each input block loaded once for both outputs.  Offsets
advance by addition, not by an index product per multiply-add.  (Against
one output pair per pass over all inputs, every input block reloaded per
pair: the CartPole policy forward 21 -> 16.5 ns per lane-step, one thread.)
The lane count is the compile-time constant :data:`GROUP_LANES` (LLVM
unrolls the blocks), and the layers go through one inlined layer body, so
that the kernel compiles once, small.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._config import LINEAR, OPTS, RELU, SOFTMAX, TANH
from .math32 import elementwise, exp32
from .simd import add16, fma16, load16, store16, tanh_block, zeros16

__all__ = ["BLOCK_LANES", "GROUP_LANES", "forward_lanes"]

#: Lanes of one block.
BLOCK_LANES = 16
#: Lanes per group of a rollout.  One block alone is bound by the latency of
#: a step (layer, tanh, layer, argmax, dynamics: each waits for the one
#: before); 4 independent sums per layer fill the processor's pipelines.
GROUP_LANES = 32
_U = np.uint64
_B = _U(BLOCK_LANES)


@njit(inline="always", **OPTS)
def _wide_lanes(w, wo, bo, n_in, n_o, act, v, xo, yo):
    """A wide layer (8 outputs or more): inputs in chunks of 4, whose 8
    blocks (4 inputs x 2 blocks of 16 lanes) stay in registers while every
    output takes its 8 multiply-adds (one weight load each), starting from
    the bias or the running sums the previous chunk stored; ``tanh`` is
    applied as the last chunk stores.  Returns whether ``act`` was."""
    L = _U(GROUP_LANES)
    sw = n_o * L  # from one input's weights to the next input's
    n4 = n_in - n_in % _U(4)
    fused = act == TANH and n4 == n_in
    j = _U(0)
    while j < n4:
        xp = xo + j * L
        x0 = load16(v, xp)
        x1 = load16(v, xp + _B)
        x2 = load16(v, xp + L)
        x3 = load16(v, xp + L + _B)
        x4 = load16(v, xp + _U(2) * L)
        x5 = load16(v, xp + _U(2) * L + _B)
        x6 = load16(v, xp + _U(3) * L)
        x7 = load16(v, xp + _U(3) * L + _B)
        first = j == _U(0)
        last = j + _U(4) == n_in
        wp = (wo + j * n_o) * L
        yp = yo
        bp = bo * L
        for _k in range(n_o):
            a0 = load16(w, bp) if first else load16(v, yp)
            a1 = load16(w, bp + _B) if first else load16(v, yp + _B)
            a0 = fma16(x0, load16(w, wp), a0)
            a1 = fma16(x1, load16(w, wp + _B), a1)
            a0 = fma16(x2, load16(w, wp + sw), a0)
            a1 = fma16(x3, load16(w, wp + sw + _B), a1)
            a0 = fma16(x4, load16(w, wp + _U(2) * sw), a0)
            a1 = fma16(x5, load16(w, wp + _U(2) * sw + _B), a1)
            a0 = fma16(x6, load16(w, wp + _U(3) * sw), a0)
            a1 = fma16(x7, load16(w, wp + _U(3) * sw + _B), a1)
            if fused and last:
                a0 = tanh_block(a0)
                a1 = tanh_block(a1)
            store16(v, yp, a0)
            store16(v, yp + _B, a1)
            wp += L
            yp += L
            bp += L
        j += _U(4)
    while j < n_in:  # the inputs beyond a multiple of 4, one at a time
        xp = xo + j * L
        x0 = load16(v, xp)
        x1 = load16(v, xp + _B)
        first = j == _U(0)
        wp = (wo + j * n_o) * L
        yp = yo
        bp = bo * L
        for _k in range(n_o):
            a0 = load16(w, bp) if first else load16(v, yp)
            a1 = load16(w, bp + _B) if first else load16(v, yp + _B)
            store16(v, yp, fma16(x0, load16(w, wp), a0))
            store16(v, yp + _B, fma16(x1, load16(w, wp + _B), a1))
            wp += L
            yp += L
            bp += L
        j += _U(1)
    return fused


@njit(inline="always", **OPTS)
def _narrow_lanes(w, wo, bo, n_in, n_o, v, xo, yo):
    """A narrow layer: per output four running sums over the inputs ``j =
    0, 1, 2, 3 mod 4`` (the tail in the first) for both 16-lane blocks, two
    outputs at a time, each input block loaded once for both outputs."""
    L = _U(GROUP_LANES)
    sw = n_o * L
    n4 = n_in - n_in % _U(4)
    k = _U(0)
    while k < n_o:
        two = k + _U(1) < n_o
        kk = k + _U(1) if two else k  # the odd last output computed twice
        p = zeros16()
        s00, s01, s02, s03 = p, p, p, p  # output k, block 0
        s10, s11, s12, s13 = p, p, p, p  # output k, block 1
        t00, t01, t02, t03 = p, p, p, p  # output kk, block 0
        t10, t11, t12, t13 = p, p, p, p  # output kk, block 1
        xp = xo
        wp = (wo + k) * L
        wq = (wo + kk) * L
        j = _U(0)
        while j < n4:
            for q in range(4):
                xa = load16(v, xp)
                xb = load16(v, xp + _B)
                wa = load16(w, wp)
                wb = load16(w, wp + _B)
                ua = load16(w, wq)
                ub = load16(w, wq + _B)
                if q == 0:
                    s00 = fma16(xa, wa, s00)
                    s10 = fma16(xb, wb, s10)
                    t00 = fma16(xa, ua, t00)
                    t10 = fma16(xb, ub, t10)
                elif q == 1:
                    s01 = fma16(xa, wa, s01)
                    s11 = fma16(xb, wb, s11)
                    t01 = fma16(xa, ua, t01)
                    t11 = fma16(xb, ub, t11)
                elif q == 2:
                    s02 = fma16(xa, wa, s02)
                    s12 = fma16(xb, wb, s12)
                    t02 = fma16(xa, ua, t02)
                    t12 = fma16(xb, ub, t12)
                else:
                    s03 = fma16(xa, wa, s03)
                    s13 = fma16(xb, wb, s13)
                    t03 = fma16(xa, ua, t03)
                    t13 = fma16(xb, ub, t13)
                xp += L
                wp += sw
                wq += sw
            j += _U(4)
        while j < n_in:
            xa = load16(v, xp)
            xb = load16(v, xp + _B)
            s00 = fma16(xa, load16(w, wp), s00)
            s10 = fma16(xb, load16(w, wp + _B), s10)
            t00 = fma16(xa, load16(w, wq), t00)
            t10 = fma16(xb, load16(w, wq + _B), t10)
            xp += L
            wp += sw
            wq += sw
            j += _U(1)
        b = (bo + k) * L
        yp = yo + k * L
        store16(v, yp, add16(load16(w, b), add16(add16(s00, s01), add16(s02, s03))))
        store16(v, yp + _B,
                add16(load16(w, b + _B), add16(add16(s10, s11), add16(s12, s13))))
        if two:
            store16(v, yp + L, add16(load16(w, b + L),
                                     add16(add16(t00, t01), add16(t02, t03))))
            store16(v, yp + L + _B, add16(load16(w, b + L + _B),
                                          add16(add16(t10, t11), add16(t12, t13))))
        k += _U(2)


@njit(inline="always", **OPTS)
def _dense_lanes(w, wo, bo, n_in, n_o, act, v, xo, yo):
    """y[:n_o] = act(x[:n_in]^T W + b) for the 32 lanes (one layer), ``x`` at
    ``v[xo:]`` and ``y`` at ``v[yo:]``; flat lane-minor arrays (element
    ``(i, lane)`` at ``i * 32 + lane``).  Offsets advance by addition (index
    products per multiply-add made the loops bound by integer work)."""
    L = _U(GROUP_LANES)
    xo = _U(xo)
    yo = _U(yo)
    wo = _U(wo)
    bo = _U(bo)
    n_in = _U(n_in)
    n_o = _U(n_o)
    if n_o >= _U(8):
        if _wide_lanes(w, wo, bo, n_in, n_o, act, v, xo, yo):
            return
    else:
        _narrow_lanes(w, wo, bo, n_in, n_o, v, xo, yo)
    n = n_o * L
    if act == TANH:  # the common case: 16 lanes per vector operation
        for i in range(_U(0), n, _B):
            store16(v, yo + i, tanh_block(load16(v, yo + i)))
    elif act == RELU:
        for i in range(n):
            v[yo + i] = max(v[yo + i], np.float32(0.0))
    elif act == SOFTMAX:
        for lane in range(L):
            m = v[yo + lane]
            for k in range(_U(1), n_o):
                m = max(m, v[yo + k * L + lane])
            tot = np.float32(0.0)
            for k in range(n_o):
                e = exp32(v[yo + k * L + lane] - m)
                v[yo + k * L + lane] = e
                tot += e
            inv = np.float32(1.0) / tot
            for k in range(n_o):
                v[yo + k * L + lane] *= inv
    elif act != LINEAR:
        for i in range(n):
            v[yo + i] = elementwise(v[yo + i], act)


@njit(**OPTS)
def forward_lanes(w, meta, v, xo, ao, bo_, oo):
    """Policy forward for the :data:`GROUP_LANES` lanes of a group, on flat
    lane-minor arrays: ``w`` the transposed genomes (n_params * 32); ``v``
    one work array holding the inputs at ``xo`` (n_in * 32), two scratch
    regions at ``ao`` and ``bo_`` (max_width * 32 each) and the outputs at
    ``oo`` (n_out * 32).  Layer ``l`` reads the inputs or the region layer
    ``l - 1`` wrote (``ao`` after even layers, ``bo_`` after odd ones) and
    the last writes the outputs: one layer body for all (inlined once).
    Regions are offsets into one array, not arrays chosen per layer: an
    array variable reassigned in the loop cost a reference-count update per
    layer (atomic operations, ~3 ns per lane-step, 12% of the forward)."""
    n_layers = meta.shape[0]
    src = xo
    for layer in range(n_layers):
        if layer == n_layers - 1:
            dst = oo
        elif layer % 2 == 0:
            dst = ao
        else:
            dst = bo_
        _dense_lanes(w, meta[layer, 2], meta[layer, 3], meta[layer, 0],
                     meta[layer, 1], meta[layer, 4], v, src, dst)
        src = dst
