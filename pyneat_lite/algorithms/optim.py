"""Gradient-ascent steps used by the evolution strategies.

Each step updates ``params`` in place from an ascent direction ``grad`` and
its own state arrays, which the strategy owns (so that checkpoints hold them).

- Adam: Kingma & Ba, "Adam: A Method for Stochastic Optimization", ICLR 2015.
- SGD with (heavy-ball) momentum: Polyak 1964.
- ClipUp: Toklu, Liskowski & Srivastava, "ClipUp: A Simple and Powerful
  Optimizer for Distribution-based Policy Evolution", PPSN 2020.
"""

from __future__ import annotations

import math

import numpy as np

from .._typing import Float64Array

__all__ = ["OPTIMIZERS", "adam_step", "sgd_step", "clipup_step", "l2_norm"]

OPTIMIZERS = ("adam", "sgd", "clipup")


def l2_norm(x: Float64Array) -> float:
    """Euclidean norm, the same whatever the number of threads."""
    # A pairwise sum (np.add.reduce, what np.sum calls, without its Python
    # overhead) rather than np.linalg.norm: a multithreaded BLAS dot could
    # round differently with the thread count.
    return math.sqrt(float(np.add.reduce(x * x)))


def adam_step(
    params: Float64Array,
    grad: Float64Array,
    m: Float64Array,
    v: Float64Array,
    t: int,
    lr: float,
    beta1: float = 0.9,
    beta2: float = 0.999,
    eps: float = 1e-8,
    work: tuple[Float64Array, Float64Array] | None = None,
) -> None:
    """One Adam ascent step; ``t`` is the 1-based step number.

    ``work``: two float64 scratch arrays of ``params``' shape (the caller's,
    reused every step: no temporaries); the same numbers either way.
    """
    w1, w2 = work if work is not None else (np.empty_like(m), np.empty_like(m))
    m *= beta1
    m += np.multiply(1.0 - beta1, grad, out=w1)
    v *= beta2
    np.multiply(1.0 - beta2, grad, out=w1)
    v += np.multiply(w1, grad, out=w1)
    # params += lr * (m / c1) / (sqrt(v / c2) + eps), operation by operation
    np.multiply(np.divide(m, 1.0 - beta1**t, out=w1), lr, out=w1)
    np.sqrt(np.divide(v, 1.0 - beta2**t, out=w2), out=w2)
    w2 += eps
    params += np.divide(w1, w2, out=w1)


def sgd_step(
    params: Float64Array,
    grad: Float64Array,
    velocity: Float64Array,
    lr: float,
    momentum: float = 0.9,
) -> None:
    """One SGD ascent step with heavy-ball momentum."""
    velocity *= momentum
    velocity += grad
    params += lr * velocity


def clipup_step(
    params: Float64Array,
    grad: Float64Array,
    velocity: Float64Array,
    step_size: float,
    max_speed: float,
    momentum: float = 0.9,
) -> None:
    """One ClipUp ascent step: normalised gradient, momentum, speed clipped to
    ``max_speed`` (Toklu et al. 2020, algorithm 1)."""
    norm = l2_norm(grad)
    if norm > 0.0:
        velocity *= momentum
        velocity += (step_size / norm) * grad
    else:
        velocity *= momentum
    speed = l2_norm(velocity)
    if speed > max_speed:
        velocity *= max_speed / speed
    params += velocity
