"""The emitters' base class and bounds check (private; the public names are
in :mod:`pyneat_lite.qd.emitters`)."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from .._rng import resolve_seed
from .._typing import Float32Array
from .._validation import check_array, check_int
from .archives import _ArchiveBase


def _check_bounds(bounds: Any, n: int,
                  caller: str) -> tuple[np.ndarray, np.ndarray] | None:
    if bounds is None:
        return None
    b = np.asarray(bounds, dtype=np.float64)
    if b.shape == (2,):
        b = np.tile(b, (n, 1))
    if b.shape != (n, 2) or np.isnan(b).any() or not (b[:, 0] <= b[:, 1]).all():
        raise ValueError(
            f"The 'bounds' parameter of {caller} must be one (low, high) pair or "
            f"{n} of them with low <= high. Got shape {b.shape} instead."
        )
    return np.ascontiguousarray(b[:, 0]), np.ascontiguousarray(b[:, 1])


class Emitter:
    """Base class of the emitters (not instantiated directly).

    Parameters
    ----------
    archive : GridArchive or CVTArchive
        The archive the emitter samples from and is ranked against.
    x0 : array-like of shape (solution_dim,)
        Starting point (the parent while the archive is empty).
    batch_size : int
        Genomes per :meth:`ask`.
    seed : int, optional
        Randomness key; None draws one from the OS.  Emitters of one
        scheduler need different seeds.
    """

    #: registry name
    name: ClassVar[str] = ""

    def __init__(self, archive: _ArchiveBase, x0: Any, batch_size: int,
                 seed: Any, caller: str) -> None:
        if not isinstance(archive, _ArchiveBase):
            raise TypeError(
                f"The 'archive' argument of {caller} must be a GridArchive or "
                f"CVTArchive. Got {type(archive).__name__} instead."
            )
        self._archive = archive
        n = archive.solution_dim
        x = check_array(x0, "x0", caller=caller, ndim=1, dtype=np.float64)
        if x.shape[0] != n:
            raise ValueError(
                f"The 'x0' argument of {caller} must have {n} values (the "
                f"archive's solution_dim). Got shape {x.shape} instead."
            )
        self._x0 = x.copy()
        self._batch_size = check_int(batch_size, "batch_size", caller=caller,
                                     min_val=1)
        self._seed = resolve_seed(seed, caller=caller)
        self._itrs = 0  # completed tells: the generation key of the draws

    @property
    def archive(self) -> _ArchiveBase:
        """The archive this emitter feeds."""
        return self._archive

    @property
    def batch_size(self) -> int:
        """Genomes per ask."""
        return self._batch_size

    @property
    def seed(self) -> int:
        return self._seed

    @property
    def x0(self) -> np.ndarray:
        """Copy of the starting point."""
        return self._x0.copy()

    def ask(self) -> Float32Array:
        """The next ``batch_size`` genomes, float32 (batch_size, solution_dim).

        Asking again before :meth:`tell` returns the same genomes.
        """
        raise NotImplementedError  # pragma: no cover - abstract

    def tell(self, solutions: np.ndarray, objective: np.ndarray,
             measures: np.ndarray, status: np.ndarray, value: np.ndarray) -> None:
        """Learn from the archive's verdict on the last :meth:`ask`
        (the scheduler calls this with validated arrays)."""
        self._itrs += 1

    # checkpoints: JSON configuration, JSON scalars and arrays
    def _config(self) -> dict[str, Any]:
        return {"batch_size": self._batch_size, "seed": self._seed}

    def _state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        return {"itrs": self._itrs}, {"x0": self._x0}

    def _set_state(self, scalars: dict[str, Any],
                   arrays: dict[str, np.ndarray]) -> None:
        self._itrs = int(scalars["itrs"])
