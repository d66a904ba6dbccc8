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

A wide layer keeps two outputs of the 32 lanes (4 blocks, 4 independent
sums) in registers over its inputs, each input block loaded once for both,
and offsets advance by addition, not by an index product per multiply-add.
The lane count is the compile-time constant :data:`GROUP_LANES` (LLVM
unrolls the blocks), and the layers go through one inlined layer body, so
that the kernel compiles once, small.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._config import LINEAR, OPTS, RELU, SOFTMAX, TANH
from .math32 import elementwise, exp32
from .simd import add16, fma16_lanes, load16, store16, tanh_block, zeros16

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
def _dense_lanes(w, wo, bo, n_in, n_o, act, v, xo, yo):
    """y[:n_o] = act(x[:n_in]^T W + b) for the 32 lanes (one layer), ``x`` at
    ``v[xo:]`` and ``y`` at ``v[yo:]``; flat lane-minor arrays (element
    ``(i, lane)`` at ``i * 32 + lane``)."""
    L = _U(GROUP_LANES)
    xo = _U(xo)
    yo = _U(yo)
    wo = _U(wo)
    bo = _U(bo)
    n_in = _U(n_in)
    n_o = _U(n_o)
    sw = n_o * L  # from one input's weights to the next input's
    if n_o >= _U(8):
        # Wide layer: outputs k and k + 1 of the 32 lanes, 4 sums in
        # registers, each input block loaded once for both (the odd last
        # output alone); offsets stepped by addition (index products per
        # multiply-add made the loop bound by integer work: 2x slower).
        k = _U(0)
        while k < n_o:
            two = k + _U(1) < n_o
            b = (bo + k) * L
            a0 = load16(w, b)
            a1 = load16(w, b + _B)
            a2 = load16(w, b + L) if two else a0
            a3 = load16(w, b + L + _B) if two else a1
            xp = _U(0)
            wp = (wo + k) * L
            for _j in range(n_in):
                a0 = fma16_lanes(v, xo + xp, w, wp, a0)
                a1 = fma16_lanes(v, xo + xp + _B, w, wp + _B, a1)
                if two:
                    a2 = fma16_lanes(v, xo + xp, w, wp + L, a2)
                    a3 = fma16_lanes(v, xo + xp + _B, w, wp + L + _B, a3)
                xp += L
                wp += sw
            o = k * L
            store16(v, yo + o, a0)
            store16(v, yo + o + _B, a1)
            if two:
                store16(v, yo + o + L, a2)
                store16(v, yo + o + L + _B, a3)
            k += _U(2)
    else:
        n4 = n_in - n_in % _U(4)
        for k in range(n_o):
            for lb in range(_U(0), L, _B):
                s0 = zeros16()
                s1 = zeros16()
                s2 = zeros16()
                s3 = zeros16()
                xp = lb
                wp = (wo + k) * L + lb
                j = _U(0)
                while j < n4:
                    s0 = fma16_lanes(v, xo + xp, w, wp, s0)
                    s1 = fma16_lanes(v, xo + xp + L, w, wp + sw, s1)
                    s2 = fma16_lanes(v, xo + xp + _U(2) * L, w, wp + _U(2) * sw, s2)
                    s3 = fma16_lanes(v, xo + xp + _U(3) * L, w, wp + _U(3) * sw, s3)
                    xp += _U(4) * L
                    wp += _U(4) * sw
                    j += _U(4)
                while j < n_in:
                    s0 = fma16_lanes(v, xo + xp, w, wp, s0)
                    xp += L
                    wp += sw
                    j += _U(1)
                store16(v, yo + k * L + lb,
                        add16(load16(w, (bo + k) * L + lb),
                              add16(add16(s0, s1), add16(s2, s3))))
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
