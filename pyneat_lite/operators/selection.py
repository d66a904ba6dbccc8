"""Parent selection: tournament, truncation, roulette, SUS, rank, random.

Each scheme turns a fitness vector into a plan for the compiled kernel: a
tournament over oriented fitness, an inverse-CDF draw on cumulative weights,
or a uniform draw over a candidate list.  Fitness is maximised unless
``minimize=True``; NaN is the worst fitness in every scheme.  Ranks follow
the one rule of :mod:`pyneat_lite._ranking` (ties: the earlier index ranks
better).

Goldberg & Deb (1991), "A comparative analysis of selection schemes used in
genetic algorithms"; Baker (1985) for linear ranking, Baker (1987) for SUS.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any

import numpy as np

from .. import _operators as _k
from .. import _ranking
from .._rng import STREAMS, row_seeds
from .._typing import IntArray, SeedLike
from .._validation import check_fitness, check_int, check_scalar
from ._base import (
    EMPTY_F64,
    EMPTY_I64,
    MAX_INDEX,
    Operator,
    register,
    seeds_for,
    threads_for,
)

__all__ = [
    "SUS",
    "RandomSelection",
    "Rank",
    "Roulette",
    "Selection",
    "Tournament",
    "Truncation",
]

_SEL = _k.SelectionCode
_PRE = int(_SEL.SEL_PRE)
_TOURNAMENT = int(_SEL.SEL_TOURNAMENT)
_CDF = int(_SEL.SEL_CDF)
_CAND = int(_SEL.SEL_CAND)


def _oriented_keys(fitness: np.ndarray, minimize: bool) -> np.ndarray:
    """Fitness turned so that larger is better; NaN becomes -inf (worst)."""
    keys = -fitness if minimize else fitness.copy()
    keys[np.isnan(keys)] = -np.inf
    return keys


def _best_indices(keys: np.ndarray, e: int) -> np.ndarray:
    """The ``e`` best indices, best first: ``_ranking.order(keys)[:e]`` (ties
    by index), in O(P) for small ``e`` of a large population (no full sort)."""
    P = keys.shape[0]
    if e == 0:
        return np.empty(0, np.int64)
    if 8 * e >= P or P <= 512:
        # a small sort costs less than the five NumPy calls below
        return _ranking.order(keys)[:e]
    t = -np.partition(-keys, e - 1)[e - 1]  # the e-th best key
    above = np.flatnonzero(keys > t)
    ties = np.flatnonzero(keys == t)[: e - above.shape[0]]
    sel = np.concatenate([above, ties])
    return sel[np.lexsort((sel, -keys[sel]))]


def _sus_picks(out: np.ndarray, cdf: np.ndarray, seed: int, generation: int) -> None:
    """Fill ``out`` with SUS picks on ``cdf`` (row 0 of the ``selection``
    stream); ``seed`` already resolved."""
    _k._sus(out, cdf, row_seeds(seed, generation, STREAMS["selection"], 1)[0])


class Selection(Operator):
    """Base class of the parent-selection schemes."""

    def _check_size(self, n_pop: int, caller: str) -> None:  # noqa: B027
        """Raise if the scheme cannot run on ``n_pop`` individuals (checked
        once per population size, not per generation).  Most schemes run on
        any size."""

    @abstractmethod
    def _plan(
        self, fitness: np.ndarray, keys: np.ndarray, minimize: bool, caller: str
    ) -> tuple[int, int, np.ndarray, np.ndarray]:
        """Kernel plan ``(code, k, f, cand)`` for one fitness vector.

        ``keys`` is the oriented fitness (larger is better, NaN -> -inf); the
        population size has passed :meth:`_check_size`.
        """

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
        """Draw ``n`` parent indices.

        Parameters
        ----------
        fitness : array-like of shape (P,)
            Fitness of each individual, higher is better unless ``minimize``.
            NaN is the worst fitness.
        n : int
            Number of indices to draw.
        seed, generation : int
            Randomness key; draw ``i`` uses row ``i`` of the ``selection``
            stream.
        minimize : bool, default False
            Lower fitness is better.
        n_threads : int, optional
            OpenMP threads (``None``: all cores).

        Returns
        -------
        int64 array of shape (n,)
            Indices in ``[0, P)``.
        """
        caller = f"{type(self).__name__}.select"
        fit = np.asarray(fitness) if not isinstance(fitness, np.ndarray) else fitness
        if fit.ndim != 1:
            raise ValueError(
                f"The 'fitness' argument of {caller} must be a 1-D array. "
                f"Got shape {fit.shape} instead."
            )
        fit = check_fitness(fit, fit.shape[0], caller=caller)
        if fit.shape[0] == 0:
            raise ValueError(
                f"The 'fitness' argument of {caller} must not be empty. "
                "Got shape (0,) instead."
            )
        if fit.shape[0] > MAX_INDEX:
            raise ValueError(
                f"The population of {caller} must have at most 2**32 "
                f"individuals. Got {fit.shape[0]} instead."
            )
        n = check_int(n, "n", caller=caller, min_val=0)
        self._check_size(fit.shape[0], caller)
        keys = _oriented_keys(fit, bool(minimize))
        code, k, f, cand = self._plan(fit, keys, bool(minimize), caller)
        # SUS draws from one stream (row 0); the others from one row per draw
        n_rows = 1 if code == _PRE or n == 0 else n
        seeds = seeds_for(seed, generation, STREAMS["selection"], n_rows, caller)
        nt = threads_for(n_threads, n, k)
        out = np.empty(n, np.int64)
        if n == 0:
            return out
        if code == _PRE:
            _k._sus(out, f, seeds[0])
        else:
            _k._select(out, seeds, code, k, f, cand, nt)
        return out


@register
class Tournament(Selection):
    """Tournament selection: the best of ``k`` individuals drawn uniformly
    with replacement (as DEAP's ``selTournament``).

    With distinct fitness values, the individual of rank ``r`` (1 = best) of
    ``P`` is picked with probability ``((P - r + 1)**k - (P - r)**k) / P**k``.
    Ties go to the aspirant drawn first.

    Parameters
    ----------
    k : int, default 3
        Tournament size, at least 1 and at most the population size.
    """

    def __init__(self, k: int = 3) -> None:
        self.k = check_int(k, "k", caller="Tournament", min_val=1)

    def _cfg(self) -> dict[str, Any]:
        return {"k": self.k}

    def _check_size(self, n_pop, caller):
        if self.k > n_pop:
            raise ValueError(
                f"The tournament size k of {caller} must be at most the "
                f"population size {n_pop}. Got k={self.k} instead."
            )

    def _plan(self, fitness, keys, minimize, caller):
        return _TOURNAMENT, self.k, keys, EMPTY_I64


@register
class Truncation(Selection):
    """Truncation selection: uniform among the best individuals.

    Parameters
    ----------
    fraction : float in (0, 1], optional
        Keep the best ``max(1, floor(fraction * P))`` individuals.
    top_k : int, optional
        Keep the best ``top_k`` individuals (at most the population size).
        Give ``fraction`` or ``top_k``, not both; with neither,
        ``fraction=0.5``.
    """

    def __init__(self, fraction: float | None = None, top_k: int | None = None):
        if fraction is not None and top_k is not None:
            raise ValueError(
                "Truncation takes either 'fraction' or 'top_k', not both. "
                f"Got fraction={fraction!r} and top_k={top_k!r} instead."
            )
        self.top_k = (
            None if top_k is None
            else check_int(top_k, "top_k", caller="Truncation", min_val=1)
        )
        if fraction is None and top_k is None:
            fraction = 0.5
        self.fraction = (
            None if fraction is None
            else check_scalar(fraction, "fraction", caller="Truncation",
                              min_val=0.0, max_val=1.0, include_min=False)
        )

    def _cfg(self) -> dict[str, Any]:
        return {"fraction": self.fraction, "top_k": self.top_k}

    def n_kept(self, pop_size: int, caller: str = "Truncation") -> int:
        """Number of individuals kept out of ``pop_size``."""
        if self.top_k is not None:
            if self.top_k > pop_size:
                raise ValueError(
                    f"The 'top_k' parameter of {caller} must be at most the "
                    f"population size {pop_size}. Got {self.top_k} instead."
                )
            return self.top_k
        return max(1, int(self.fraction * pop_size))

    def _check_size(self, n_pop, caller):
        self.n_kept(n_pop, caller)

    def _plan(self, fitness, keys, minimize, caller):
        m = self.n_kept(keys.shape[0], caller)
        return _CAND, 1, EMPTY_F64, _best_indices(keys, m)


def _proportional_weights(
    fitness: np.ndarray, minimize: bool, caller: str
) -> np.ndarray:
    finite = fitness[~np.isnan(fitness)]
    if np.isinf(finite).any():
        raise ValueError(
            f"The 'fitness' argument of {caller} must not hold infinite values "
            "(fitness-proportional selection). Got "
            f"{int(np.isinf(finite).sum())} infinite values instead."
        )
    if minimize:
        # windowing: weight = distance to the worst; the worst gets 0
        worst = finite.max() if finite.size else 0.0
        w = worst - fitness
    else:
        if finite.size and finite.min() < 0:
            raise ValueError(
                f"The 'fitness' argument of {caller} must be non-negative for "
                "fitness-proportional selection when maximizing. Got a minimum "
                f"of {finite.min()!r} instead. Shift the fitness or use Rank()."
            )
        w = fitness.copy()
    w[np.isnan(w)] = 0.0
    if not w.sum() > 0:
        w = np.ones_like(w)  # all weights zero: every individual alike
    return w


@register
class Roulette(Selection):
    """Fitness-proportional (roulette-wheel) selection.

    Maximizing, individual ``i`` is drawn with probability ``f_i / sum(f)``;
    negative fitness is an error (shift it, or use :class:`Rank`).
    Minimizing, the weights are ``max(f) - f_i`` (windowing: the worst gets
    no weight).  NaN fitness has weight 0; if every weight is 0 the draw is
    uniform.
    """

    def _cfg(self) -> dict[str, Any]:
        return {}

    def _plan(self, fitness, keys, minimize, caller):
        cdf = np.cumsum(_proportional_weights(fitness, minimize, caller))
        return _CDF, 1, cdf, EMPTY_I64


@register
class SUS(Selection):
    """Stochastic universal sampling (Baker 1987).

    Same weights as :class:`Roulette`, but ``n`` equally spaced pointers with
    one random offset: individual ``i`` is picked ``floor(e_i)`` or
    ``ceil(e_i)`` times, ``e_i = n w_i / sum(w)``.  The picks are then shuffled
    (Fisher-Yates, same stream) so that consecutive picks -- future mates --
    are not sorted by index.  Uses a single stream (row 0 of ``selection``),
    so :meth:`select` runs on one thread whatever ``n_threads``.
    """

    def _cfg(self) -> dict[str, Any]:
        return {}

    def _plan(self, fitness, keys, minimize, caller):
        cdf = np.cumsum(_proportional_weights(fitness, minimize, caller))
        return _PRE, 1, cdf, EMPTY_I64


@register
class Rank(Selection):
    """Linear ranking selection (Baker 1985).

    Sorted from worst (rank 0) to best (rank ``P - 1``), individual of rank
    ``r`` is drawn with probability
    ``(2 - s) / P + 2 r (s - 1) / (P (P - 1))``, ``s = pressure``: the best is
    expected ``s`` times, the worst ``2 - s`` times per ``P`` draws.  NaN
    fitness ranks last; of equal fitness the earlier index ranks better
    (:func:`pyneat_lite._ranking.ranks`).

    Parameters
    ----------
    pressure : float in [1, 2], default 1.5
        Selection pressure ``s`` (1: uniform).
    """

    def __init__(self, pressure: float = 1.5) -> None:
        self.pressure = check_scalar(pressure, "pressure", caller="Rank",
                                     min_val=1.0, max_val=2.0)

    def _cfg(self) -> dict[str, Any]:
        return {"pressure": self.pressure}

    def _plan(self, fitness, keys, minimize, caller):
        P = keys.shape[0]
        s = self.pressure
        if P == 1:
            w = np.ones(1)
        else:
            rank = _ranking.ranks(keys)  # P - 1 for the best
            w = (2.0 - s) / P + 2.0 * rank * (s - 1.0) / (P * (P - 1.0))
        return _CDF, 1, np.cumsum(w), EMPTY_I64


@register
class RandomSelection(Selection):
    """Uniform selection, ignoring fitness."""

    def _cfg(self) -> dict[str, Any]:
        return {}

    def _plan(self, fitness, keys, minimize, caller):
        return _CAND, 1, EMPTY_F64, np.arange(keys.shape[0], dtype=np.int64)
