"""Multi-objective selection: NSGA-II's non-dominated sorting and crowding.

Deb, Pratap, Agarwal & Meyarivan, "A Fast and Elitist Multiobjective Genetic
Algorithm: NSGA-II", IEEE TEC 6(2), 2002.  Fitness has one column per
objective, shape ``(P, n_obj)`` (a 1-D fitness is one objective); every
objective is maximised unless ``minimize=True``.  A row with a NaN or
infinite objective is the worst: it sits in a last front of its own, with
crowding distance 0.  The sort and the crowding distance are Numba kernels
(``pyneat_lite/_kernels/nsga.py``); parents are then drawn by the library's
tournament kernel on one key per individual that orders by front, then by
crowding distance (ties: the earlier index, as everywhere).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _operators as _k
from .. import _ranking
from .._kernels import nsga as _nsga
from .._rng import STREAMS
from .._typing import Float64Array, IntArray, SeedLike
from .._validation import check_int
from ._base import EMPTY_I64, MAX_INDEX, register, seeds_for, threads_for
from .selection import _TOURNAMENT, Selection

__all__ = ["NSGA2"]


def _check_objectives(fitness: Any, caller: str) -> np.ndarray:
    """``fitness`` as a float64 ``(P, n_obj)`` array (1-D: one objective)."""
    if isinstance(fitness, (str, bytes)):
        raise TypeError(
            f"The 'fitness' argument of {caller} must be a numeric array. "
            f"Got {type(fitness).__name__} instead."
        )
    arr = np.asarray(fitness)
    if arr.dtype.kind not in "biuf":
        raise TypeError(
            f"The 'fitness' argument of {caller} must hold real numbers. "
            f"Got dtype {arr.dtype} instead."
        )
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(
            f"The 'fitness' argument of {caller} must have shape (P,) or "
            f"(P, n_obj) with P >= 1 and n_obj >= 1. Got shape "
            f"{np.shape(fitness)} instead."
        )
    if arr.shape[0] > MAX_INDEX:
        raise ValueError(
            f"The population of {caller} must have at most 2**32 individuals. "
            f"Got {arr.shape[0]} instead."
        )
    return np.ascontiguousarray(arr, dtype=np.float64)


@register
class NSGA2(Selection):
    """NSGA-II selection (Deb et al. 2002): non-dominated fronts, crowding.

    ``select`` draws parents by the crowded-comparison tournament (the
    better front wins, then the larger crowding distance; ``k=2`` is Deb's
    binary tournament); :meth:`survivors` is NSGA-II's elitist environmental
    selection (whole fronts, the last one cut by crowding distance);
    :meth:`rank` returns the fronts and crowding distances.  As the
    ``selection`` of :class:`~pyneat_lite.GA`, the GA is NSGA-II: ``tell``
    takes ``(pop_size, n_obj)`` objectives, parents + offspring are cut by
    :meth:`survivors` and the parents drawn by the crowded tournament (see
    the GA's docstring).  In ``next_generation`` the fitness is one
    objective, and the operator is a tournament on it.

    Parameters
    ----------
    k : int, default 2
        Tournament size, at least 1 and at most the population size.

    Examples
    --------
    >>> import numpy as np, pyneat_lite as pn
    >>> F = np.array([[1.0, 4.0], [2.0, 2.0], [3.0, 3.0], [4.0, 1.0]])
    >>> front, crowd = pn.NSGA2().rank(F, minimize=True)
    >>> front.tolist()
    [0, 0, 1, 0]
    >>> pn.NSGA2().survivors(F, 3, minimize=True).tolist()
    [0, 3, 1]
    """

    #: fitness may have one column per objective
    multi_objective = True

    def __init__(self, k: int = 2) -> None:
        self.k = check_int(k, "k", caller="NSGA2", min_val=1)

    def _cfg(self) -> dict[str, Any]:
        return {"k": self.k}

    def _check_size(self, n_pop: int, caller: str) -> None:
        if self.k > n_pop:
            raise ValueError(
                f"The tournament size k of {caller} must be at most the "
                f"population size {n_pop}. Got k={self.k} instead."
            )

    # ------------------------------------------------------------ ranking
    @staticmethod
    def _rank_oriented(
        F: np.ndarray, n_threads: int | None
    ) -> tuple[IntArray, Float64Array]:
        """Fronts and crowding of the oriented objectives ``F`` (larger is
        better; rows with non-finite values go last)."""
        p = F.shape[0]
        good = np.isfinite(F).all(axis=1)
        front = np.empty(p, np.int64)
        crowd = np.zeros(p, np.float64)
        if good.all():
            n_fronts = _nsga.non_dominated_rank(F, front, n_threads)
            _nsga.crowding_distance(F, front, n_fronts, crowd)
            return front, crowd
        idx = np.flatnonzero(good)
        sub = np.ascontiguousarray(F[idx])
        r = np.empty(idx.shape[0], np.int64)
        c = np.zeros(idx.shape[0], np.float64)
        n_fronts = _nsga.non_dominated_rank(sub, r, n_threads) if idx.size else 0
        if idx.size:
            _nsga.crowding_distance(sub, r, n_fronts, c)
        front[:] = n_fronts  # the non-finite rows: one last front
        front[idx] = r
        crowd[idx] = c
        return front, crowd

    @staticmethod
    def _keys(front: IntArray, crowd: Float64Array) -> Float64Array:
        """One key per row, larger is better: the front first, then the
        crowding distance (``c / (1 + c)`` stays below 1, inf maps to 1)."""
        with np.errstate(invalid="ignore"):
            c = np.where(np.isinf(crowd), 1.0, crowd / (1.0 + crowd))
        return -front.astype(np.float64) + 0.5 * c

    def _oriented(self, fitness: Any, minimize: bool, caller: str,
                  n_threads: int | None) -> np.ndarray:
        F = _check_objectives(fitness, caller)
        if n_threads is not None:
            threads_for(n_threads, 1)  # validates
        return -F if minimize else F

    def rank(
        self, fitness: Any, *, minimize: bool = False, n_threads: int | None = None
    ) -> tuple[IntArray, Float64Array]:
        """Non-dominated front and crowding distance of every individual.

        Parameters
        ----------
        fitness : array-like of shape (P, n_obj) or (P,)
            Objectives, maximised unless ``minimize``.
        minimize : bool, default False
        n_threads : int, optional
            Threads of the dominance kernel (``None``: all cores).

        Returns
        -------
        front : int64 array of shape (P,)
            0 for the non-dominated individuals, 1 for those dominated only
            by front 0, ...; rows with a non-finite objective get the last.
        crowding : float64 array of shape (P,)
            Crowding distance within the front (inf at its ends).
        """
        F = self._oriented(fitness, bool(minimize), "NSGA2.rank", n_threads)
        return self._rank_oriented(F, n_threads)

    def survivors(
        self, fitness: Any, n: int, *, minimize: bool = False,
        n_threads: int | None = None,
    ) -> IntArray:
        """The ``n`` best individuals by front, then crowding distance
        (NSGA-II's selection of the next parents from parents + offspring).

        Returns
        -------
        int64 array of shape (n,)
            Distinct indices, best first (ties: the earlier index).
        """
        caller = "NSGA2.survivors"
        F = self._oriented(fitness, bool(minimize), caller, n_threads)
        n = check_int(n, "n", caller=caller, min_val=0, max_val=F.shape[0])
        front, crowd = self._rank_oriented(F, n_threads)
        return np.ascontiguousarray(_ranking.order(self._keys(front, crowd))[:n])

    # ---------------------------------------------------------- selection
    def _plan(self, fitness, keys, minimize, caller):
        # next_generation's one objective (keys: larger is better, -inf worst)
        F = np.ascontiguousarray(np.where(np.isfinite(keys), keys, np.nan)[:, None])
        front, crowd = self._rank_oriented(F, None)
        return _TOURNAMENT, self.k, self._keys(front, crowd), EMPTY_I64

    def _plan_keys(self, keys: Float64Array) -> tuple[int, int, Float64Array,
                                                      IntArray]:
        # a multi-objective GA's parents, ranked by the GA (keys of _keys)
        return _TOURNAMENT, self.k, keys, EMPTY_I64

    def select(
        self,
        fitness: Any,
        n: int,
        *,
        seed: SeedLike,
        generation: int = 0,
        minimize: bool = False,
        n_threads: int | None = None,
    ) -> IntArray:
        """Draw ``n`` parents by crowded-comparison tournaments.

        Parameters
        ----------
        fitness : array-like of shape (P, n_obj) or (P,)
            Objectives, maximised unless ``minimize``; a row with a NaN or
            infinite value is the worst.
        n : int
            Number of indices to draw.
        seed, generation : int
            Randomness key; draw ``i`` uses row ``i`` of the ``selection``
            stream.
        minimize : bool, default False
        n_threads : int, optional
            Threads (``None``: all cores).

        Returns
        -------
        int64 array of shape (n,)
        """
        caller = "NSGA2.select"
        F = self._oriented(fitness, bool(minimize), caller, n_threads)
        n = check_int(n, "n", caller=caller, min_val=0)
        self._check_size(F.shape[0], caller)
        seeds = seeds_for(seed, generation, STREAMS["selection"], n, caller)
        nt = threads_for(n_threads, n, self.k)
        front, crowd = self._rank_oriented(F, n_threads)
        keys = self._keys(front, crowd)
        out = np.empty(n, np.int64)
        if n:
            _k._select(out, seeds, _TOURNAMENT, self.k, keys, EMPTY_I64, nt)
        return out
