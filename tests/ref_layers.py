"""Plain NumPy reference for layered networks (float64, no Numba).

Independent of pyneat_lite on purpose: the genome layout of every layer
(documented in pyneat_lite/layers.py) is re-derived here from the layer
arguments, and the convolution is computed by a direct sum over the kernel
window, not by im2col.  Layers are given as plain tuples:

- ("dense", units, act)
- ("conv", channels, (kh, kw), (sh, sw), padding, act)   padding: "valid",
  "same" or an int
- ("maxpool", (kh, kw), (sh, sw)), ("avgpool", (kh, kw), (sh, sw))
- ("flatten",)
- ("rnn", units, act), ("gru", units)
"""

from __future__ import annotations

import numpy as np
from ref_forward import activation_ref

__all__ = ["stack_forward_ref", "stack_n_params_ref", "recurrent_step_ref", "ref_spec"]


def _pads(n, k, s, padding):
    if padding == "same":
        out = -(-n // s)
        total = max((out - 1) * s + k - n, 0)
        return out, total // 2, total - total // 2
    p = 0 if padding == "valid" else int(padding)
    return (n + 2 * p - k) // s + 1, p, p


def _conv(x, W, b, stride, padding):
    """x (B, C, H, W) float64, W (C_out, C, kh, kw) -> (B, C_out, OH, OW)."""
    B, C, H, Wd = x.shape
    co, _, kh, kw = W.shape
    sh, sw = stride
    oh, pt, pb = _pads(H, kh, sh, padding)
    ow, pl, pr = _pads(Wd, kw, sw, padding)
    xp = np.zeros((B, C, H + pt + pb + kh, Wd + pl + pr + kw))
    xp[:, :, pt:pt + H, pl:pl + Wd] = x
    y = np.zeros((B, co, oh, ow))
    for i in range(kh):
        for j in range(kw):
            patch = xp[:, :, i:i + sh * oh:sh, j:j + sw * ow:sw][:, :, :oh, :ow]
            y += np.einsum("bchw,oc->bohw", patch, W[:, :, i, j])
    return y + b[None, :, None, None]


def _pool(x, size, stride, op):
    B, C, H, Wd = x.shape
    kh, kw = size
    sh, sw = stride
    oh, ow = (H - kh) // sh + 1, (Wd - kw) // sw + 1
    win = np.stack([x[:, :, i:i + sh * oh:sh, j:j + sw * ow:sw][:, :, :oh, :ow]
                    for i in range(kh) for j in range(kw)])
    return win.max(axis=0) if op == "max" else win.mean(axis=0)


def ref_spec(layers):
    """The reference's tuples for pyneat_lite layer specs (read by attribute
    and class name only: no pyneat_lite import)."""
    out = []
    for lay in layers:
        if type(lay).__name__ == "Conv2D":
            out.append(("conv", lay.channels, lay.kernel, lay.stride, lay.padding,
                        lay.activation))
        elif type(lay).__name__ in ("MaxPool2D", "AvgPool2D"):
            out.append((type(lay).__name__[:7].lower(),
                        lay.size, lay.stride))
        elif type(lay).__name__ == "Flatten":
            out.append(("flatten",))
        else:
            out.append(("dense", lay.units, lay.activation))
    return out


def stack_n_params_ref(layers, input_shape) -> int:
    g = np.zeros(10**7)
    return _run(layers, input_shape, g, np.zeros((1, int(np.prod(input_shape)))),
                count_only=True)


def _run(layers, input_shape, genome, X, count_only=False):
    g = np.asarray(genome, dtype=np.float64)
    x = np.asarray(X, dtype=np.float64).reshape((X.shape[0], *input_shape))
    off = 0

    def take(n):
        nonlocal off
        v = g[off:off + n]
        off += n
        return v

    for spec in layers:
        kind = spec[0]
        if kind == "dense":
            units, act = spec[1], spec[2]
            n_in = x.shape[1]
            W = take(n_in * units).reshape(n_in, units)
            b = take(units)
            x = activation_ref(act, x @ W + b)
        elif kind == "conv":
            co, (kh, kw), stride, padding, act = spec[1:]
            c = x.shape[1]
            # genome: (c_in * kh * kw, c_out) rows in (c, i, j) order
            W = take(c * kh * kw * co).reshape(c, kh, kw, co).transpose(3, 0, 1, 2)
            b = take(co)
            x = activation_ref(act, _conv(x, W, b, stride, padding))
        elif kind in ("maxpool", "avgpool"):
            x = _pool(x, spec[1], spec[2], kind[:3])
        elif kind == "flatten":
            x = x.reshape(x.shape[0], -1)
        else:
            raise ValueError(kind)
    if count_only:
        return off
    assert off == g.size, (off, g.size)
    return x.reshape(x.shape[0], -1)


def stack_forward_ref(layers, input_shape, population, X) -> np.ndarray:
    """Every genome on the same inputs X (B, n_in) -> (P, B, n_out), float64."""
    return np.stack([_run(layers, input_shape, p, X) for p in population])


def _sig(z):
    return 1.0 / (1.0 + np.exp(-z))


def recurrent_step_ref(layers, n_in, genome, x, states):
    """One step of a dense/RNN/GRU stack for one genome: x (n_in,), states a
    list (one float64 vector per recurrent layer, updated in place);
    returns the output (float64)."""
    g = np.asarray(genome, dtype=np.float64)
    h = np.asarray(x, dtype=np.float64)
    off = 0
    r_i = 0

    def take(n):
        nonlocal off
        v = g[off:off + n]
        off += n
        return v

    for spec in layers:
        kind = spec[0]
        n = h.size
        if kind == "dense":
            W = take(n * spec[1]).reshape(n, spec[1])
            h = activation_ref(spec[2], h @ W + take(spec[1]))
        elif kind == "rnn":
            u = spec[1]
            W = take((n + u) * u).reshape(n + u, u)
            b = take(u)
            s = states[r_i]
            new = activation_ref(spec[2], np.concatenate([h, s]) @ W + b)
            states[r_i][:] = new
            h = new
            r_i += 1
        elif kind == "gru":
            u = spec[1]
            W = take((n + u) * 3 * u).reshape(n + u, 3 * u)
            bi = take(3 * u)
            bh = take(3 * u)
            s = states[r_i]
            gi = h @ W[:n] + bi
            gh = s @ W[n:] + bh
            r = _sig(gi[:u] + gh[:u])
            z = _sig(gi[u:2 * u] + gh[u:2 * u])
            cand = np.tanh(gi[2 * u:] + r * gh[2 * u:])
            new = (1 - z) * cand + z * s
            states[r_i][:] = new
            h = new
            r_i += 1
        else:
            raise ValueError(kind)
    assert off == g.size
    return h
