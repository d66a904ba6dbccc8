"""Numba kernels for one step of a population of recurrent policies (issue
13; no validation here).

A network of :class:`~pyneat_lite.layers.Dense`, :class:`~pyneat_lite.layers.RNN`
and :class:`~pyneat_lite.layers.GRU` layers is described by the int64 table of
:mod:`.conv` (kind, input and output sizes in columns 1 and 4, ``w_offset``,
``b_offset``, activation id in columns 13-15).  Every genome ``p`` has its
own state row ``state[p]``: the states of its recurrent layers one after the
other (``units`` values each).  A step reads the input row and the state
row, writes the output row, and overwrites the state row with the new
states.

Genome layout (see :mod:`pyneat_lite.layers`): an RNN layer's kernel is ``W
(n_in + units, units)`` (input rows, then state rows) and its bias; a GRU's
is ``W (n_in + units, 3 * units)`` with the gate columns ``r, z, n``, then
the input bias and the state bias (``3 * units`` each), PyTorch's equations.

Parallel over genomes only, each genome's arithmetic in a fixed order: the
results do not depend on the number of threads.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ._config import OPTS
from .conv import GRU, RNN
from .math32 import activate, sigmoid32, tanh32

__all__ = ["step_each"]

_F = np.float32
_U = np.uint64


@njit(**OPTS)
def _affine(g, wo, stride, n_cols, src, n_src, dst):
    """dst[:n_cols] += src[:n_src] @ W[:n_src, :n_cols] for the row-major
    matrix ``W`` at ``g[wo]`` with rows of ``stride`` values (rows scaled and
    added: vectorised over the outputs).  Offsets are uint64: with signed
    ones Numba must wrap negative indices, which keeps LLVM from vectorising
    (see :mod:`.forward`)."""
    for j in range(n_src):
        v = src[j]
        base = wo + j * stride
        for k in range(n_cols):
            dst[k] += v * g[base + k]


@njit(**OPTS)
def _step_row(g, p, meta, x, state, buf_a, buf_b, gi, gh):
    """One step of genome ``g`` (row ``p``) on input ``x[p]``; updates
    ``state[p]``.  Returns the buffer holding the output."""
    src = buf_a
    dst = buf_b
    hs = state[p]
    for j in range(x.shape[1]):
        src[j] = x[p, j]
    s0 = _U(0)
    for layer in range(meta.shape[0]):
        kind = meta[layer, 0]
        n_in = _U(meta[layer, 1] * meta[layer, 2] * meta[layer, 3])
        u = _U(meta[layer, 4])
        wo = _U(meta[layer, 13])
        bo = _U(meta[layer, 14])
        act = meta[layer, 15]
        if kind != GRU:  # Dense or RNN
            for k in range(u):
                dst[k] = g[bo + k]
            _affine(g, wo, u, u, src, n_in, dst)
            if kind == RNN:
                for j in range(u):
                    v = hs[s0 + j]
                    base = wo + (n_in + j) * u
                    for k in range(u):
                        dst[k] += v * g[base + k]
            activate(dst, u, act)
            if kind == RNN:
                for k in range(u):
                    hs[s0 + k] = dst[k]
                s0 += u
        else:  # GRU: gi = x W_x + b_i, gh = h W_h + b_h over the gates r, z, n
            u3 = _U(3) * u
            for k in range(u3):
                gi[k] = g[bo + k]
                gh[k] = g[bo + u3 + k]
            _affine(g, wo, u3, u3, src, n_in, gi)
            for j in range(u):
                v = hs[s0 + j]
                base = wo + (n_in + j) * u3
                for k in range(u3):
                    gh[k] += v * g[base + k]
            for k in range(u):
                r = sigmoid32(gi[k] + gh[k])
                z = sigmoid32(gi[u + k] + gh[u + k])
                n = tanh32(gi[_U(2) * u + k] + r * gh[_U(2) * u + k])
                dst[k] = (_F(1.0) - z) * n + z * hs[s0 + k]
            for k in range(u):
                hs[s0 + k] = dst[k]
            s0 += u
        src, dst = dst, src
    return src


@njit(**OPTS)
def _range(w, x, meta, state, width, out, lo, hi):
    buf_a = np.empty(width, np.float32)
    buf_b = np.empty(width, np.float32)
    gi = np.empty(3 * width, np.float32)
    gh = np.empty(3 * width, np.float32)
    n_out = out.shape[1]
    for p in range(lo, hi):
        res = _step_row(w[p], p, meta, x, state, buf_a, buf_b, gi, gh)
        for k in range(n_out):
            out[p, k] = res[k]


@njit(parallel=True, **OPTS)
def _parallel(w, x, meta, state, width, out, n_chunks):
    n = w.shape[0]
    for c in prange(n_chunks):
        _range(w, x, meta, state, width, out, c * n // n_chunks,
               (c + 1) * n // n_chunks)


def step_each(population, inputs, meta, state, width, out, n_chunks):
    """out[p], state[p] = net(population[p], inputs[p], state[p]) for every p.

    population float32 (P, n_params); inputs float32 (P, n_in); state float32
    (P, state_size), updated in place; out float32 (P, n_out); ``width`` the
    widest layer (scratch length); ``n_chunks`` <= 1 serial, else that many
    parallel blocks of genomes (the caller sets Numba's thread count).
    """
    if n_chunks <= 1:
        _range(population, inputs, meta, state, width, out, 0, population.shape[0])
    else:
        _parallel(population, inputs, meta, state, width, out, n_chunks)
