"""Plain NumPy reference for the network forward pass (float64, no Numba).

Independent of pyneat_lite on purpose: the genome layout is re-derived here
from the sizes (kernel ``(n_in, n_out)`` row-major, then bias, layer after
layer), so a layout bug in the package cannot hide in its own reference.
"""

from __future__ import annotations

import numpy as np

__all__ = ["ACTIVATION_REFS", "activation_ref", "n_params_ref", "forward_ref",
           "forward_population_ref"]


def _sigmoid(z):
    out = np.empty_like(z)
    pos = z >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-z[pos]))
    e = np.exp(z[~pos])
    out[~pos] = e / (1.0 + e)
    return out


def _softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


ACTIVATION_REFS = {
    "linear": lambda z: z,
    "relu": lambda z: np.maximum(z, 0.0),
    "leaky_relu": lambda z: np.where(z > 0, z, 0.01 * z),
    "elu": lambda z: np.where(z > 0, z, np.expm1(np.minimum(z, 0.0))),
    "tanh": np.tanh,
    "sigmoid": _sigmoid,
    "softplus": lambda z: np.logaddexp(0.0, z),
    "sin": np.sin,
    "gaussian": lambda z: np.exp(-np.minimum(z * z, 700.0)),
    "step": lambda z: (z > 0).astype(z.dtype),
    "softmax": _softmax,
}


def activation_ref(name: str, z: np.ndarray) -> np.ndarray:
    """Activation ``name`` of ``z`` (float64; softmax over the last axis)."""
    with np.errstate(over="ignore", under="ignore"):
        return ACTIVATION_REFS[name](np.asarray(z, dtype=np.float64))


def n_params_ref(sizes) -> int:
    return int(sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:], strict=True)))


def forward_ref(sizes, activations, genome, X) -> np.ndarray:
    """One genome on inputs ``X`` (B, n_in) -> (B, n_out), float64."""
    g = np.asarray(genome, dtype=np.float64)
    h = np.asarray(X, dtype=np.float64)
    off = 0
    for n_in, n_out, act in zip(sizes[:-1], sizes[1:], activations, strict=True):
        W = g[off : off + n_in * n_out].reshape(n_in, n_out)
        off += n_in * n_out
        b = g[off : off + n_out]
        off += n_out
        h = activation_ref(act, h @ W + b)
    assert off == g.size
    return h


def forward_population_ref(sizes, activations, population, X) -> np.ndarray:
    """Every genome on the same inputs -> (P, B, n_out), float64."""
    return np.stack([forward_ref(sizes, activations, g, X) for g in population])
