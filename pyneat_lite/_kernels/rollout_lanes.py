"""The policy forward of a fused rollout, 8 lanes (episodes) at a time.

The rollout kernels (:mod:`.rollout`) keep each group's genomes transposed,
lane-minor, for the whole rollout (a genome is copied into its lane once,
when the lane takes it): element ``(i, lane)`` of a flat array at
``i * 8 + lane``.  Here every running sum of the 8 lanes is one
:data:`.simd.F8` block (an LLVM vector), from the first input to the output,
so that each multiply-add of the policy is one SIMD instruction for 8
episodes.  The tuples of 8 scalars used before were split into scalars at
every loop edge (LLVM does not keep an aggregate in a vector register across
a loop), which cost more than the arithmetic.

The sums are ``forward_one``'s, in its order, with the same fused
multiply-adds: a wide layer (8 outputs or more) from the bias through the
inputs in order; a narrow one as four running sums over the inputs
``j = 0, 1, 2, 3 mod 4`` (the tail beyond a multiple of 4 in the first),
then ``b + ((s0 + s1) + (s2 + s3))``; so a rollout's actions stay those of
``Network.forward_each`` on the same observations, bit for bit.

A wide layer keeps 4 blocks (32 lanes) of one output in registers over its
inputs, and offsets advance by addition, not by an index product per
multiply-add; a group's lane count (:data:`GROUP_LANES`) is a compile-time
constant, so LLVM unrolls the blocks.  Measured (4-16-2 tanh policy, one
thread, CPU time, loaded 2-core Intel Xeon, AVX-512): the policy forward went
from 36-38 to about 26 ns per lane-step; relu and the other elementwise
activations, which went through the generic activation switch per value
(about 130 ns per lane-step for relu), now cost what linear does.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._config import LINEAR, OPTS, RELU, SOFTMAX, TANH
from .math32 import elementwise, exp32, tanh32_inline
from .simd import add8, fma8_lanes, load8, store8, zeros8

__all__ = ["BLOCK_LANES", "GROUP_LANES", "forward_lanes"]

#: Lanes of one F8 block.
BLOCK_LANES = 8
#: Lanes per group of a rollout: 4 blocks.  One block alone is bound by the
#: latency of a step (layer, tanh, layer, argmax, dynamics: each waits for
#: the one before, and the next step for the dynamics); 4 independent blocks
#: per layer fill the processor's pipelines.  Measured (CartPole, 4-16-2
#: policies, one thread, loaded 2-core EPYC): the policy's forward went from
#: about 14 to about 4 ns per lane-step.
GROUP_LANES = 32
_U = np.uint64


@njit(inline="always", **OPTS)
def _dense_lanes(w, wo, bo, n_in, n_o, act, x, y, n_lanes):
    """y[:n_o] = act(x[:n_in]^T W + b) for all lanes (one layer); flat
    lane-minor arrays (element ``(i, lane)`` at ``i * n_lanes + lane``),
    unsigned offsets, ``n_lanes`` a multiple of 8."""
    L = _U(n_lanes)
    wo = _U(wo)
    bo = _U(bo)
    n_in = _U(n_in)
    n_o = _U(n_o)
    sw = n_o * L  # from one input's weights to the next input's
    if n_o >= _U(8):
        # Wide layer: 4 blocks (32 lanes) of one output in registers at a
        # time, offsets stepped by addition (index products per
        # multiply-add made the loop bound by integer work: 2x slower).
        l32 = L - L % _U(32)
        for k in range(n_o):
            for lb in range(_U(0), l32, _U(32)):
                b = (bo + k) * L + lb
                a0 = load8(w, b)
                a1 = load8(w, b + _U(8))
                a2 = load8(w, b + _U(16))
                a3 = load8(w, b + _U(24))
                xp = lb
                wp = (wo + k) * L + lb
                for _j in range(n_in):
                    a0 = fma8_lanes(x, xp, w, wp, a0)
                    a1 = fma8_lanes(x, xp + _U(8), w, wp + _U(8), a1)
                    a2 = fma8_lanes(x, xp + _U(16), w, wp + _U(16), a2)
                    a3 = fma8_lanes(x, xp + _U(24), w, wp + _U(24), a3)
                    xp += L
                    wp += sw
                o = k * L + lb
                store8(y, o, a0)
                store8(y, o + _U(8), a1)
                store8(y, o + _U(16), a2)
                store8(y, o + _U(24), a3)
            for lb in range(l32, L, _U(BLOCK_LANES)):
                acc = load8(w, (bo + k) * L + lb)
                xp = lb
                wp = (wo + k) * L + lb
                for _j in range(n_in):
                    acc = fma8_lanes(x, xp, w, wp, acc)
                    xp += L
                    wp += sw
                store8(y, k * L + lb, acc)
    else:
        n4 = n_in - n_in % _U(4)
        for k in range(n_o):
            for lb in range(_U(0), L, _U(BLOCK_LANES)):
                s0 = zeros8()
                s1 = zeros8()
                s2 = zeros8()
                s3 = zeros8()
                xp = lb
                wp = (wo + k) * L + lb
                j = _U(0)
                while j < n4:
                    s0 = fma8_lanes(x, xp, w, wp, s0)
                    s1 = fma8_lanes(x, xp + L, w, wp + sw, s1)
                    s2 = fma8_lanes(x, xp + _U(2) * L, w, wp + _U(2) * sw, s2)
                    s3 = fma8_lanes(x, xp + _U(3) * L, w, wp + _U(3) * sw, s3)
                    xp += _U(4) * L
                    wp += _U(4) * sw
                    j += _U(4)
                while j < n_in:
                    s0 = fma8_lanes(x, xp, w, wp, s0)
                    xp += L
                    wp += sw
                    j += _U(1)
                store8(y, k * L + lb,
                       add8(load8(w, (bo + k) * L + lb),
                            add8(add8(s0, s1), add8(s2, s3))))
    n = n_o * L
    if act == TANH:  # the common case: its own loop, SIMD over lanes
        for i in range(n):
            y[i] = tanh32_inline(y[i])
    elif act == RELU:
        for i in range(n):
            y[i] = max(y[i], np.float32(0.0))
    elif act == SOFTMAX:
        for lane in range(L):
            m = y[lane]
            for k in range(_U(1), n_o):
                m = max(m, y[k * L + lane])
            tot = np.float32(0.0)
            for k in range(n_o):
                e = exp32(y[k * L + lane] - m)
                y[k * L + lane] = e
                tot += e
            inv = np.float32(1.0) / tot
            for k in range(n_o):
                y[k * L + lane] *= inv
    elif act != LINEAR:
        for i in range(n):
            y[i] = elementwise(y[i], act)


@njit(inline="always", **OPTS)
def _forward(w, meta, x, buf_a, buf_b, out, L):
    n_layers = meta.shape[0]
    if n_layers == 1:
        _dense_lanes(w, meta[0, 2], meta[0, 3], meta[0, 0], meta[0, 1], meta[0, 4],
                     x, out, L)
        return
    _dense_lanes(w, meta[0, 2], meta[0, 3], meta[0, 0], meta[0, 1], meta[0, 4],
                 x, buf_a, L)
    for layer in range(1, n_layers - 1):
        if layer % 2 == 1:
            _dense_lanes(w, meta[layer, 2], meta[layer, 3], meta[layer, 0],
                         meta[layer, 1], meta[layer, 4], buf_a, buf_b, L)
        else:
            _dense_lanes(w, meta[layer, 2], meta[layer, 3], meta[layer, 0],
                         meta[layer, 1], meta[layer, 4], buf_b, buf_a, L)
    last = n_layers - 1
    src = buf_a if last % 2 == 1 else buf_b
    _dense_lanes(w, meta[last, 2], meta[last, 3], meta[last, 0], meta[last, 1],
                 meta[last, 4], src, out, L)


@njit(**OPTS)
def forward_lanes(w, meta, x, buf_a, buf_b, out):
    """Policy forward for every lane, on flat lane-minor arrays: ``w`` the
    transposed genomes (n_params * L), ``x`` inputs (n_in * L), ``out``
    (n_out * L), ``buf_a``/``buf_b`` scratch (max_width * L); L, the
    number of lanes, is ``x.size // n_in``, a multiple of 8."""
    L = x.size // meta[0, 0]
    if L == GROUP_LANES:
        # a rollout's group: the lane count a compile-time constant, so
        # that LLVM unrolls the lane blocks (1.7x faster, measured)
        _forward(w, meta, x, buf_a, buf_b, out, GROUP_LANES)
    else:
        _forward(w, meta, x, buf_a, buf_b, out, L)
