"""The multi-objective side of the GA (``GA(selection=pn.NSGA2())``): NSGA-II.

The GA keeps the parents' objectives ``(mu, n_obj)`` (the user's sign);
:func:`check_objectives` validates a told fitness, :func:`survivors` is the
elitist (mu + lambda) cut of parents + offspring by non-dominated front and
crowding distance (Deb et al. 2002), :func:`parent_keys` the crowded
tournament's keys of the parents, and :class:`ParetoFront` what users get.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._typing import Float32Array, Float64Array, IntArray

__all__ = ["ParetoFront", "check_objectives", "parent_keys", "survivors"]


@dataclass(frozen=True)
class ParetoFront:
    """The non-dominated parents of a multi-objective GA.

    Attributes
    ----------
    genomes : float32 array of shape (k, n_params)
        The parents in front 0, in the parents' order (by crowding distance,
        the boundary points first).
    objectives : float64 array of shape (k, n_obj)
        Their objectives, in the user's sign.
    """

    genomes: Float32Array
    objectives: Float64Array

    def __len__(self) -> int:
        return int(self.objectives.shape[0])


def check_objectives(fitness: Any, n: int, n_obj: int | None,
                     caller: str) -> Float64Array:
    """``fitness`` as float64 ``(n, n_obj)`` (a 1-D fitness is one
    objective); ``n_obj`` None accepts any number of columns."""
    if isinstance(fitness, (str, bytes)):
        raise TypeError(
            f"The 'fitness' argument of {caller} must be a numeric array. "
            f"Got {type(fitness).__name__} instead."
        )
    try:
        arr = np.asarray(fitness)
    except Exception as exc:  # pragma: no cover - exotic objects
        raise TypeError(
            f"The 'fitness' argument of {caller} must be a numeric array. "
            f"Got {type(fitness).__name__} instead."
        ) from exc
    if arr.dtype.kind not in "biuf":
        raise TypeError(
            f"The 'fitness' argument of {caller} must hold real numbers. "
            f"Got dtype {arr.dtype} instead."
        )
    if arr.ndim == 1:
        arr = arr[:, None]
    want = f"({n}, {n_obj})" if n_obj is not None else f"({n}, n_objectives)"
    if (arr.ndim != 2 or arr.shape[0] != n or arr.shape[1] == 0
            or (n_obj is not None and arr.shape[1] != n_obj)):
        raise ValueError(
            f"The 'fitness' argument of {caller} must have shape {want}: one "
            "row per genome, one column per objective (the number of objectives "
            f"is fixed by the first tell). Got shape {np.shape(fitness)} instead."
        )
    return np.ascontiguousarray(arr, dtype=np.float64)


def _oriented(objectives: Float64Array, minimize: bool) -> Float64Array:
    return np.ascontiguousarray(-objectives if minimize else objectives)


def survivors(selection: Any, pool: Float64Array, mu: int, minimize: bool,
              n_threads: int | None) -> IntArray:
    """Indices of the ``mu`` rows of ``pool`` kept by NSGA-II: whole fronts,
    the last one cut by crowding distance, best first (ties: the earlier
    row, so a parent placed first stays ahead of an equal child)."""
    return np.asarray(selection.survivors(pool, mu, minimize=minimize,
                                          n_threads=n_threads))


def parent_keys(selection: Any, objectives: Float64Array, minimize: bool,
                n_threads: int | None) -> Float64Array:
    """The crowded tournament's key of every parent (larger is better:
    front first, then crowding distance within the parents)."""
    front, crowd = selection._rank_oriented(_oriented(objectives, minimize), n_threads)
    return np.asarray(selection._keys(front, crowd))


def front_zero(selection: Any, objectives: Float64Array, minimize: bool,
               n_threads: int | None) -> np.ndarray:
    """Boolean mask of the non-dominated rows (finite objectives only)."""
    front, _ = selection._rank_oriented(_oriented(objectives, minimize), n_threads)
    return (front == 0) & np.isfinite(objectives).all(axis=1)
