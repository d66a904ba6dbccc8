"""The running observation normaliser shared by :mod:`pyneat_lite.gym` and
:mod:`pyneat_lite.envs` (ARS V2 state normalisation).

Private: both modules (and ARS V2) import :class:`ObsNormalizer` from here,
and their stateful fitness callables (``envs.Rollout``, ``gym.Evaluate``)
their ``get_state``/``set_state`` (:func:`fitness_state`,
:func:`set_fitness_state`: one format for both).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._validation import check_scalar

__all__ = ["ObsNormalizer", "fitness_state", "set_fitness_state"]


class ObsNormalizer:
    """Running mean and variance of observations (Chan et al.'s parallel update).

    ``normalize`` maps ``x`` to ``clip((x - mean) / sqrt(var + eps), -clip,
    clip)``; ``update`` merges a batch of raw observations into the
    statistics.  :func:`pyneat_lite.gym.evaluate` and
    :func:`pyneat_lite.envs.rollout` normalize with the statistics frozen for
    the whole call (every genome of a generation sees the same mapping) and
    update them afterwards with the observations of that call (ARS V2's
    state normalisation, Mania et al. 2018).

    Parameters
    ----------
    shape : int or tuple of int
        Shape of one observation.
    clip : float, default=10.0
    eps : float, default=1e-8
    """

    def __init__(self, shape: int | tuple[int, ...], clip: float = 10.0,
                 eps: float = 1e-8) -> None:
        self.shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
        self.clip = check_scalar(clip, "clip", caller="ObsNormalizer", min_val=0.0,
                                 include_min=False)
        self.eps = check_scalar(eps, "eps", caller="ObsNormalizer", min_val=0.0)
        self.count = 0.0
        self.mean = np.zeros(self.shape)
        self.var = np.ones(self.shape)

    def update(self, batch: np.ndarray) -> None:
        """Merge observations ``batch`` of shape ``(n, *shape)``."""
        batch = np.asarray(batch, np.float64).reshape((-1, *self.shape))
        if batch.shape[0] == 0:
            return
        self.merge(batch.shape[0], batch.mean(axis=0), batch.var(axis=0))

    def merge(self, n: float, b_mean: np.ndarray, b_var: np.ndarray) -> None:
        """Merge a batch of ``n`` observations given by its mean and (biased)
        variance, of shape ``shape`` each (Chan et al.'s parallel update)."""
        if n == 0:
            return
        total = self.count + n
        delta = b_mean - self.mean
        m2 = self.var * self.count + b_var * n + delta**2 * self.count * n / total
        self.mean = self.mean + delta * n / total
        self.var = m2 / total
        self.count = total

    def normalize(self, obs: np.ndarray) -> np.ndarray:
        """Normalized float32 observations (same shape as ``obs``)."""
        if self.count == 0:
            return np.asarray(obs, np.float32)
        z = (np.asarray(obs, np.float64) - self.mean) / np.sqrt(self.var + self.eps)
        return np.clip(z, -self.clip, self.clip).astype(np.float32)

    def get_state(self) -> dict[str, np.ndarray]:
        """Arrays to store in a checkpoint: ``count``, ``mean``, ``var``."""
        return {"count": np.array(self.count), "mean": self.mean.copy(),
                "var": self.var.copy()}

    def set_state(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`get_state` returned."""
        mean = np.asarray(state["mean"], np.float64)
        var = np.asarray(state["var"], np.float64)
        if mean.shape != self.shape or var.shape != self.shape:
            raise ValueError(
                f"The 'state' argument of ObsNormalizer.set_state must hold mean and "
                f"var of shape {self.shape}. Got {mean.shape} and {var.shape} instead."
            )
        self.count = float(np.asarray(state["count"]))
        self.mean = mean.copy()
        self.var = var.copy()

    def __repr__(self) -> str:
        return f"ObsNormalizer(shape={self.shape}, count={self.count:g})"


def fitness_state(generation: int, normalizer: ObsNormalizer | None) -> dict[str, Any]:
    """The state of a stateful environment fitness, for checkpoints:
    ``generation`` and, with a normaliser, its arrays as ``obs_count``,
    ``obs_mean`` and ``obs_var`` (the keys are the format)."""
    state: dict[str, Any] = {"generation": np.array(generation)}
    if normalizer is not None:
        state.update({f"obs_{k}": v for k, v in normalizer.get_state().items()})
    return state


def set_fitness_state(state: dict[str, Any], normalizer: ObsNormalizer | None) -> int:
    """Restore :func:`fitness_state`'s ``normalizer`` arrays (in place) and
    return its ``generation``."""
    if normalizer is not None:
        normalizer.set_state({k: state[f"obs_{k}"] for k in ("count", "mean", "var")})
    return int(np.asarray(state["generation"]))
