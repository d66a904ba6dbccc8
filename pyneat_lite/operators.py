"""Genetic operators: selection, crossover, mutation and a fused generation.

Every operator exists twice: as an object for the GA (``Tournament(k=3)``,
``UniformCrossover()``, ``GaussianMutation(rate=0.1, sigma=0.1)``, ...) and as
a function on arrays.  All of them validate their input here, once, then run a
compiled OpenMP kernel of ``pyneat_lite._operators`` (no Python loop over rows or
genes).

Functional forms
----------------
* selection -> int64 indices ``(n,)``: :func:`tournament_select`,
  :func:`truncation_select`, :func:`roulette_select`, :func:`sus_select`,
  :func:`rank_select`, :func:`random_select`;
* crossover -> one child per row pair ``(n, N)``: :func:`uniform_crossover`,
  :func:`one_point_crossover`, :func:`two_point_crossover`,
  :func:`k_point_crossover`, :func:`blend_crossover`, :func:`blx_crossover`,
  :func:`sbx_crossover`, :func:`neuron_crossover`, :func:`patch_crossover`;
* mutation -> a mutated copy ``(n, N)``: :func:`mutate_gaussian`,
  :func:`mutate_uniform_reset`, :func:`mutate_n_gene_reset`,
  :func:`mutate_bit_flip`, :func:`mutate_polynomial`, :func:`mutate_block`,
  :func:`clip`, and :func:`mutate` for a list of mutation objects;
* :func:`next_generation`: the whole offspring buffer in one pass;
* :func:`standard_normal`, :func:`uniform`: bulk draws (evolution strategies).

Randomness
----------
A draw is keyed by ``(seed, generation, stream, row)``: each row of an output
has its own xoshiro256** generator seeded from
``_validation.row_seeds(seed, generation, STREAMS[stream], n_rows)``.  The
same arguments give bit-identical results whatever the number of threads, and
row ``i`` does not depend on how many rows are drawn.  Streams: ``selection``
(``.select``), ``crossover`` (``.cross``), ``mutation`` (``.mutate``),
``generation`` (:func:`next_generation`, every child draws selection,
crossover and mutation from its own row), ``es_noise``
(:func:`standard_normal` by default).  Normals come from an exact 256-layer
ziggurat (two per 64-bit word in :func:`standard_normal`); mutated genes are
found by geometric gaps (one exponential draw per mutated gene, not one
uniform per gene); uniform crossover with ``swap_prob=0.5`` uses one 64-bit
word per 64 genes.

Conventions
-----------
* Fitness is maximised unless ``minimize=True``.  A NaN fitness is the worst
  value in every selection scheme (never picked by truncation or as an
  elite unless there is nothing else; zero weight for roulette, SUS and last
  rank for rank selection).
* ``cross(a, b)`` returns one child per row pair.  Its sibling -- the second
  child of the classic two-children operators -- is ``cross(b, a)`` with the
  same seed and generation: both use the same random draws with the parents'
  roles swapped.  For blend, BLX and unbounded SBX, ``cross(a, b) +
  cross(b, a) == a + b`` (up to float32 rounding).
* Output buffers (``out=``) are never converted: they must be C-contiguous
  float32 arrays of the exact shape and must not share memory with an input.

References
----------
Goldberg & Deb (1991), "A comparative analysis of selection schemes used in
genetic algorithms"; Baker (1987) for SUS; Eshelman & Schaffer (1993) for
BLX-alpha; Deb & Agrawal (1995) for SBX; Deb & Goyal (1996) for polynomial
mutation; Marsaglia & Tsang (2000) for the ziggurat; Blackman & Vigna (2018)
for xoshiro256**.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from . import _operators as _k
from ._operators import openmp_enabled
from ._rng import (
    STREAMS,
    checked_row_seeds,
    standard_normal,
    uniform,
)
from ._threads import effective_n_threads, kernel_threads
from ._typing import Float32Array, IntArray, SeedLike
from ._validation import (
    check_array,
    check_fitness,
    check_int,
    check_out,
    check_population,
    check_scalar,
)

__all__ = [
    "openmp_enabled",
    "standard_normal",
    "uniform",
    "next_generation",
    "operator_from_config",
    # selection
    "Selection",
    "Tournament",
    "Truncation",
    "Roulette",
    "SUS",
    "Rank",
    "RandomSelection",
    "tournament_select",
    "truncation_select",
    "roulette_select",
    "sus_select",
    "rank_select",
    "random_select",
    # crossover
    "Crossover",
    "UniformCrossover",
    "OnePointCrossover",
    "TwoPointCrossover",
    "KPointCrossover",
    "BlendCrossover",
    "BLXCrossover",
    "SBXCrossover",
    "NeuronCrossover",
    "PatchCrossover",
    "uniform_crossover",
    "one_point_crossover",
    "two_point_crossover",
    "k_point_crossover",
    "blend_crossover",
    "blx_crossover",
    "sbx_crossover",
    "neuron_crossover",
    "patch_crossover",
    # mutation
    "Mutation",
    "GaussianMutation",
    "UniformResetMutation",
    "NGeneResetMutation",
    "BitFlipMutation",
    "PolynomialMutation",
    "BlockMutation",
    "Clip",
    "mutate",
    "mutate_gaussian",
    "mutate_uniform_reset",
    "mutate_n_gene_reset",
    "mutate_bit_flip",
    "mutate_polynomial",
    "mutate_block",
    "clip",
]

# kernel codes, read from their one definition (_operators/_evolution.pxd)
_S, _C, _M = _k.SelectionCode, _k.CrossoverCode, _k.MutationCode
_SEL_PRE, _SEL_TOURNAMENT, _SEL_CDF, _SEL_CAND = (
    int(_S.SEL_PRE), int(_S.SEL_TOURNAMENT), int(_S.SEL_CDF), int(_S.SEL_CAND))
_CX_COPY, _CX_UNIFORM, _CX_KPOINT, _CX_BLEND = (
    int(_C.CX_COPY), int(_C.CX_UNIFORM), int(_C.CX_KPOINT), int(_C.CX_BLEND))
_CX_BLX, _CX_SBX, _CX_NEURON, _CX_PATCH = (
    int(_C.CX_BLX), int(_C.CX_SBX), int(_C.CX_NEURON), int(_C.CX_PATCH))
_MUT_GAUSS, _MUT_RESET, _MUT_NGENE, _MUT_FLIP = (
    int(_M.MUT_GAUSS), int(_M.MUT_RESET), int(_M.MUT_NGENE), int(_M.MUT_FLIP))
_MUT_POLY, _MUT_BLOCK, _MUT_CLIP = (
    int(_M.MUT_POLY), int(_M.MUT_BLOCK), int(_M.MUT_CLIP))
_N_PRM = int(_k.N_PRM)
_MAX_CUTS = int(_k.MAX_CUTS)
_MAX_INDEX = 2**32  # bounded draws use 32-bit multiply-shift

_EMPTY_F64 = np.empty(0, np.float64)
_EMPTY_I64 = np.empty(0, np.int64)
_EMPTY_F32 = np.empty(0, np.float32)


# ---------------------------------------------------------------------------
# shared helpers
# ---------------------------------------------------------------------------


def _seeds(
    seed: SeedLike, generation: int, stream: int, n: int, caller: str
) -> np.ndarray:
    return checked_row_seeds(n, None, seed, generation, stream, caller)


def _sus(out: np.ndarray, cdf: np.ndarray, seed: SeedLike, generation: int,
         caller: str) -> None:
    """Fill ``out`` with SUS picks on ``cdf`` (row 0 of ``selection``)."""
    seed0 = _seeds(seed, generation, STREAMS["selection"], 1, caller)[0]
    _k._sus(out, cdf, np.uint64(seed0))


def _threads(n_threads: int | None, n_rows: int, n_cols: int = 1) -> int:
    if n_threads is not None:
        effective_n_threads(n_threads)  # validates
    return kernel_threads(n_threads, n_rows * n_cols, n_rows)


def _inv_lambda(rate: float) -> float:
    # -1 / log(1 - rate): turns an Exp(1) draw into a Geometric(rate) gap
    if rate <= 0.0 or rate >= 1.0:
        return 0.0
    return -1.0 / math.log1p(-rate)


def _oriented_keys(fitness: np.ndarray, minimize: bool) -> np.ndarray:
    """Fitness turned so that larger is better; NaN becomes -inf (worst)."""
    keys = -fitness if minimize else fitness.copy()
    keys[np.isnan(keys)] = -np.inf
    return keys


def _ranking(keys: np.ndarray) -> np.ndarray:
    """Indices from best to worst; ties keep index order (stable)."""
    return np.argsort(-keys, kind="stable")


def _best_indices(keys: np.ndarray, e: int) -> np.ndarray:
    """The ``e`` best indices, best first; equal to ``_ranking(keys)[:e]``
    (ties by index) but O(P) for small ``e`` (no full sort)."""
    P = keys.shape[0]
    if e == 0:
        return np.empty(0, np.int64)
    if 8 * e >= P:
        return _ranking(keys)[:e]
    t = -np.partition(-keys, e - 1)[e - 1]  # the e-th best key
    above = np.flatnonzero(keys > t)
    ties = np.flatnonzero(keys == t)[: e - above.shape[0]]
    sel = np.concatenate([above, ties])
    return sel[np.lexsort((sel, -keys[sel]))]


def _check_bounds(
    low: Any, high: Any, caller: str, *, strict: bool
) -> tuple[float, float]:
    """``(low, high)`` as finite floats, ``low < high`` (``strict``) or
    ``low <= high``."""
    lo = check_scalar(low, "low", caller=caller)
    hi = check_scalar(high, "high", caller=caller)
    if not (lo < hi if strict else lo <= hi):
        raise ValueError(
            f"The 'low' parameter of {caller} must "
            f"{'be below' if strict else 'not exceed'} 'high'. "
            f"Got low={low!r} and high={high!r} instead."
        )
    return lo, hi


def _check_pair(
    a: Any, b: Any, caller: str
) -> tuple[np.ndarray, np.ndarray]:
    a = check_population(a, "parents_a", caller=caller)
    b = check_population(b, "parents_b", caller=caller)
    if a.shape != b.shape:
        raise ValueError(
            f"The 'parents_b' argument of {caller} must have the shape of "
            f"'parents_a' {a.shape}. Got shape {b.shape} instead."
        )
    return a, b


def _out_like(
    out: Any, shape: tuple[int, int], caller: str, inputs: tuple[np.ndarray, ...]
) -> np.ndarray:
    if out is None:
        return np.empty(shape, np.float32)
    return check_out(out, shape, caller=caller, forbid_alias=inputs)


class _Operator:
    """Common parts: config round-trip, repr, equality."""

    def _cfg(self) -> dict[str, Any]:  # pragma: no cover - overridden
        raise NotImplementedError

    def to_config(self) -> dict[str, Any]:
        """JSON-able description: ``{"type": <class name>, **parameters}``.

        ``operator_from_config(op.to_config())`` rebuilds an equal operator.
        """
        return {"type": type(self).__name__, **self._cfg()}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._cfg().items())
        return f"{type(self).__name__}({args})"

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.to_config() == other.to_config()

    def __hash__(self) -> int:
        return hash(repr(self))


# ---------------------------------------------------------------------------
# selection
# ---------------------------------------------------------------------------


class Selection(_Operator):
    """Base class of the parent-selection schemes.

    Subclasses turn a fitness vector into a plan for the compiled kernel: a
    tournament over oriented fitness, an inverse-CDF draw on cumulative
    weights, or a uniform draw over a candidate list.
    """

    def _plan(
        self, fitness: np.ndarray, keys: np.ndarray, minimize: bool, caller: str
    ) -> tuple[int, int, np.ndarray, np.ndarray]:  # pragma: no cover
        raise NotImplementedError

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
        if fit.shape[0] > _MAX_INDEX:
            raise ValueError(
                f"The population of {caller} must have at most 2**32 "
                f"individuals. Got {fit.shape[0]} instead."
            )
        n = check_int(n, "n", caller=caller, min_val=0)
        keys = _oriented_keys(fit, bool(minimize))
        code, k, f, cand = self._plan(fit, keys, bool(minimize), caller)
        out = np.empty(n, np.int64)
        if n == 0:
            return out
        if code == _SEL_PRE:
            _sus(out, f, seed, generation, caller)
            return out
        seeds = _seeds(seed, generation, STREAMS["selection"], n, caller)
        _k._select(out, seeds, code, k, f, cand, _threads(n_threads, n, k))
        return out


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

    def _plan(self, fitness, keys, minimize, caller):
        if self.k > keys.shape[0]:
            raise ValueError(
                f"The tournament size k of {caller} must be at most the "
                f"population size {keys.shape[0]}. Got k={self.k} instead."
            )
        return _SEL_TOURNAMENT, self.k, keys, _EMPTY_I64


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

    def _plan(self, fitness, keys, minimize, caller):
        m = self.n_kept(keys.shape[0], caller)
        cand = np.ascontiguousarray(_ranking(keys)[:m], dtype=np.int64)
        return _SEL_CAND, 1, _EMPTY_F64, cand


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
        return _SEL_CDF, 1, cdf, _EMPTY_I64


class SUS(Selection):
    """Stochastic universal sampling (Baker 1987).

    Same weights as :class:`Roulette`, but ``n`` equally spaced pointers with
    one random offset: individual ``i`` is picked ``floor(e_i)`` or
    ``ceil(e_i)`` times, ``e_i = n w_i / sum(w)``.  The picks are then shuffled
    (Fisher-Yates, same stream) so that consecutive picks -- future mates --
    are not sorted by index.  Uses a single stream (row 0 of ``selection``).
    """

    def _cfg(self) -> dict[str, Any]:
        return {}

    def _plan(self, fitness, keys, minimize, caller):
        cdf = np.cumsum(_proportional_weights(fitness, minimize, caller))
        return _SEL_PRE, 1, cdf, _EMPTY_I64


class Rank(Selection):
    """Linear ranking selection (Baker 1985).

    Sorted from worst (rank 0) to best (rank ``P - 1``), individual of rank
    ``r`` is drawn with probability
    ``(2 - s) / P + 2 r (s - 1) / (P (P - 1))``, ``s = pressure``: the best is
    expected ``s`` times, the worst ``2 - s`` times per ``P`` draws.  NaN
    fitness ranks last; ties are ranked by index.

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
        order = _ranking(keys)[::-1]  # worst first
        rank = np.empty(P, np.float64)
        rank[order] = np.arange(P, dtype=np.float64)
        if P == 1:
            w = np.ones(1)
        else:
            w = (2.0 - s) / P + 2.0 * rank * (s - 1.0) / (P * (P - 1.0))
        return _SEL_CDF, 1, np.cumsum(w), _EMPTY_I64


class RandomSelection(Selection):
    """Uniform selection, ignoring fitness."""

    def _cfg(self) -> dict[str, Any]:
        return {}

    def _plan(self, fitness, keys, minimize, caller):
        return _SEL_CAND, 1, _EMPTY_F64, np.arange(keys.shape[0], dtype=np.int64)


def tournament_select(fitness: Any, n: int, *, k: int = 3, seed: SeedLike,
                      generation: int = 0, minimize: bool = False,
                      n_threads: int | None = None) -> IntArray:
    """``Tournament(k).select(...)``: ``n`` winners of size-``k`` tournaments."""
    return Tournament(k).select(fitness, n, seed=seed, generation=generation,
                                minimize=minimize, n_threads=n_threads)


def truncation_select(fitness: Any, n: int, *, fraction: float | None = None,
                      top_k: int | None = None, seed: SeedLike,
                      generation: int = 0, minimize: bool = False,
                      n_threads: int | None = None) -> IntArray:
    """``Truncation(fraction, top_k).select(...)``: uniform among the best."""
    return Truncation(fraction, top_k).select(
        fitness, n, seed=seed, generation=generation, minimize=minimize,
        n_threads=n_threads)


def roulette_select(fitness: Any, n: int, *, seed: SeedLike, generation: int = 0,
                    minimize: bool = False,
                    n_threads: int | None = None) -> IntArray:
    """``Roulette().select(...)``: fitness-proportional draws."""
    return Roulette().select(fitness, n, seed=seed, generation=generation,
                             minimize=minimize, n_threads=n_threads)


def sus_select(fitness: Any, n: int, *, seed: SeedLike, generation: int = 0,
               minimize: bool = False, n_threads: int | None = None) -> IntArray:
    """``SUS().select(...)``: stochastic universal sampling."""
    return SUS().select(fitness, n, seed=seed, generation=generation,
                        minimize=minimize, n_threads=n_threads)


def rank_select(fitness: Any, n: int, *, pressure: float = 1.5, seed: SeedLike,
                generation: int = 0, minimize: bool = False,
                n_threads: int | None = None) -> IntArray:
    """``Rank(pressure).select(...)``: linear ranking."""
    return Rank(pressure).select(fitness, n, seed=seed, generation=generation,
                                 minimize=minimize, n_threads=n_threads)


def random_select(fitness: Any, n: int, *, seed: SeedLike, generation: int = 0,
                  minimize: bool = False,
                  n_threads: int | None = None) -> IntArray:
    """``RandomSelection().select(...)``: uniform indices."""
    return RandomSelection().select(fitness, n, seed=seed, generation=generation,
                                    minimize=minimize, n_threads=n_threads)


# ---------------------------------------------------------------------------
# crossover
# ---------------------------------------------------------------------------


class Crossover(_Operator):
    """Base class of the crossover operators (one child per parent pair)."""

    def _params(
        self, n_params: int, caller: str
    ) -> tuple[int, np.ndarray, np.ndarray]:  # pragma: no cover
        raise NotImplementedError

    def cross(
        self,
        parents_a: Any,
        parents_b: Any,
        *,
        seed: SeedLike,
        generation: int = 0,
        out: Float32Array | None = None,
        n_threads: int | None = None,
    ) -> Float32Array:
        """Cross row ``i`` of ``parents_a`` with row ``i`` of ``parents_b``.

        Parameters
        ----------
        parents_a, parents_b : array-like of shape (n, N)
            First and second parent of each pair (float32, finite).
        seed, generation : int
            Randomness key; pair ``i`` uses row ``i`` of the ``crossover``
            stream.  ``cross(parents_b, parents_a)`` with the same key gives
            the siblings.
        out : float32 array of shape (n, N), optional
            Output buffer (must not share memory with the parents).
        n_threads : int, optional
            OpenMP threads (``None``: all cores).

        Returns
        -------
        float32 array of shape (n, N)
            One child per pair.
        """
        caller = f"{type(self).__name__}.cross"
        a, b = _check_pair(parents_a, parents_b, caller)
        code, prm, iprm = self._params(a.shape[1], caller)
        out = _out_like(out, a.shape, caller, (a, b))
        seeds = _seeds(seed, generation, STREAMS["crossover"], a.shape[0], caller)
        _k._cross(a, b, out, seeds, code, prm, iprm, _threads(n_threads, *a.shape))
        return out


    def mate(
        self,
        population: Any,
        *,
        seed: SeedLike,
        generation: int = 0,
        out: Float32Array | None = None,
        n_threads: int | None = None,
    ) -> Float32Array:
        """Cross consecutive rows pairwise, two children per pair (DEAP style).

        Rows ``2i`` and ``2i + 1`` are the parents of pair ``i``; row ``2i``
        of the result is ``cross(a, b)`` and row ``2i + 1`` its sibling
        ``cross(b, a)``, both with the same draws (stream ``crossover``, row
        ``i``), so that e.g. blend children keep the parents' mean.

        Parameters
        ----------
        population : array-like of shape (2m, N)
            An even number of rows.
        seed, generation : int
            Randomness key.
        out : float32 array of shape (2m, N), optional
            Must not share memory with ``population``.
        n_threads : int, optional

        Returns
        -------
        float32 array of shape (2m, N)
        """
        caller = f"{type(self).__name__}.mate"
        pop = check_population(population, "population", caller=caller)
        if pop.shape[0] % 2:
            raise ValueError(
                f"The 'population' argument of {caller} must have an even number "
                f"of rows (parent pairs). Got {pop.shape[0]} rows instead."
            )
        code, prm, iprm = self._params(pop.shape[1], caller)
        out = _out_like(out, pop.shape, caller, (pop,))
        seeds = _seeds(seed, generation, STREAMS["crossover"], pop.shape[0] // 2,
                       caller)
        _k._mate(pop, out, seeds, code, prm, iprm,
                 _threads(n_threads, pop.shape[0] // 2, 2 * pop.shape[1]))
        return out


def _prm(*values: float) -> np.ndarray:
    p = np.zeros(_N_PRM, np.float64)
    p[: len(values)] = values
    return p


class UniformCrossover(Crossover):
    """Uniform crossover: each gene from the second parent with probability
    ``swap_prob``, else from the first, at the same position.

    With ``swap_prob=0.5`` one random 64-bit word decides 64 genes; otherwise
    the genes taken from the rarer parent are found by geometric gaps.

    Parameters
    ----------
    swap_prob : float in [0, 1], default 0.5
    """

    def __init__(self, swap_prob: float = 0.5) -> None:
        self.swap_prob = check_scalar(swap_prob, "swap_prob",
                                      caller="UniformCrossover",
                                      min_val=0.0, max_val=1.0)

    def _cfg(self) -> dict[str, Any]:
        return {"swap_prob": self.swap_prob}

    def _params(self, n_params, caller):
        p = self.swap_prob
        return _CX_UNIFORM, _prm(p, _inv_lambda(min(p, 1.0 - p))), _EMPTY_I64


class KPointCrossover(Crossover):
    """k-point crossover: ``k`` distinct cut points in ``[1, N - 1]``; the
    child takes segments alternately from the first and second parent,
    starting with the first.

    Parameters
    ----------
    k : int in [1, 256], default 3
        Number of cuts; needs ``N >= k + 1`` genes.
    """

    def __init__(self, k: int = 3) -> None:
        self.k = check_int(k, "k", caller=type(self).__name__, min_val=1,
                           max_val=_MAX_CUTS)

    def _cfg(self) -> dict[str, Any]:
        return {"k": self.k}

    def _params(self, n_params, caller):
        if n_params < self.k + 1:
            raise ValueError(
                f"{caller} with k={self.k} cut points needs genomes of at least "
                f"{self.k + 1} genes. Got {n_params} instead."
            )
        return _CX_KPOINT, _prm(self.k), _EMPTY_I64


class OnePointCrossover(KPointCrossover):
    """One-point crossover: ``a[:c] + b[c:]``, ``c`` uniform in ``[1, N-1]``."""

    def __init__(self) -> None:
        self.k = 1

    def _cfg(self) -> dict[str, Any]:
        return {}


class TwoPointCrossover(KPointCrossover):
    """Two-point crossover: ``a[:c1] + b[c1:c2] + a[c2:]``,
    ``1 <= c1 < c2 <= N - 1``."""

    def __init__(self) -> None:
        self.k = 2

    def _cfg(self) -> dict[str, Any]:
        return {}


class BlendCrossover(Crossover):
    """Arithmetic (blend) crossover: ``child = alpha a + (1 - alpha) b``.

    Deterministic.  ``alpha=0.5`` gives the parents' average (the sibling,
    ``cross(b, a)``, is the same average), as in the DEAP tutorial GA that
    averages two parents.

    Parameters
    ----------
    alpha : float in [0, 1], default 0.5
    """

    def __init__(self, alpha: float = 0.5) -> None:
        self.alpha = check_scalar(alpha, "alpha", caller="BlendCrossover",
                                  min_val=0.0, max_val=1.0)

    def _cfg(self) -> dict[str, Any]:
        return {"alpha": self.alpha}

    def _params(self, n_params, caller):
        return _CX_BLEND, _prm(self.alpha), _EMPTY_I64


class BLXCrossover(Crossover):
    """BLX-alpha crossover (Eshelman & Schaffer 1993).

    Each gene is ``a + g (b - a)`` with ``g ~ U(-alpha, 1 + alpha)``: uniform
    on ``[min - alpha d, max + alpha d]``, ``d = |a - b|``.  The sibling
    ``cross(b, a)`` uses the mirrored weight, so the pair keeps the parents'
    mean.  (DEAP's ``cxBlend`` draws the same ``g``.)

    Parameters
    ----------
    alpha : float >= 0, default 0.5
    """

    def __init__(self, alpha: float = 0.5) -> None:
        self.alpha = check_scalar(alpha, "alpha", caller="BLXCrossover",
                                  min_val=0.0)

    def _cfg(self) -> dict[str, Any]:
        return {"alpha": self.alpha}

    def _params(self, n_params, caller):
        return _CX_BLX, _prm(self.alpha), _EMPTY_I64


class SBXCrossover(Crossover):
    """Simulated binary crossover (Deb & Agrawal 1995), every gene crossed.

    Unbounded: ``child = ((1 + beta) a + (1 - beta) b) / 2`` with the spread
    factor ``beta`` of distribution index ``eta``; the sibling ``cross(b, a)``
    completes the pair, whose mean is the parents' mean.  Bounded (``low`` and
    ``high`` given): Deb's bounded variant (as DEAP's
    ``cxSimulatedBinaryBounded``), the child clipped to the bounds; the mean
    is then only approximately kept.

    Parameters
    ----------
    eta : float >= 0, default 15.0
        Larger values give children closer to their parents.
    low, high : float, optional
        Bounds, both or neither, ``low < high``.
    """

    def __init__(self, eta: float = 15.0, low: float | None = None,
                 high: float | None = None) -> None:
        self.eta = check_scalar(eta, "eta", caller="SBXCrossover", min_val=0.0)
        if (low is None) != (high is None):
            raise ValueError(
                "SBXCrossover takes both 'low' and 'high' or neither. "
                f"Got low={low!r} and high={high!r} instead."
            )
        self.low: float | None = None
        self.high: float | None = None
        if low is not None:
            self.low, self.high = _check_bounds(low, high, "SBXCrossover",
                                                strict=True)

    def _cfg(self) -> dict[str, Any]:
        return {"eta": self.eta, "low": self.low, "high": self.high}

    def _params(self, n_params, caller):
        bounded = self.low is not None
        return (_CX_SBX,
                _prm(self.eta, self.low if bounded else 0.0,
                     self.high if bounded else 0.0, 1.0 if bounded else 0.0),
                _EMPTY_I64)


def _layout_rows(network: Any) -> list[tuple[int, int, int, int]]:
    """(w_offset, n_in, n_out, b_offset) per layer from a Network, an object
    with ``.layout``, or a sequence of layer records / dicts."""
    layout = getattr(network, "layout", network)
    if layout is None or isinstance(layout, (str, bytes)):
        raise TypeError(
            "The 'network' argument of NeuronCrossover must be a Network (or an "
            "object with a .layout). Got "
            f"{type(network).__name__} instead."
        )
    rows = []
    try:
        for lay in layout:
            get = (lay.get if isinstance(lay, dict)
                   else lambda name, _l=lay: getattr(_l, name))
            n_in, n_out = (int(v) for v in get("w_shape"))
            w_off = int(get("w_offset"))
            b_off = int(get("b_offset"))
            b_size = int(get("b_size"))
            if b_size != n_out or min(w_off, b_off, n_in, n_out) < 0:
                raise ValueError(f"inconsistent layer record {lay!r}")
            rows.append((w_off, n_in, n_out, b_off))
    except (TypeError, KeyError, AttributeError, ValueError) as exc:
        raise TypeError(
            "The 'network' argument of NeuronCrossover must provide a layout: "
            "records with w_offset, w_shape=(n_in, n_out), b_offset and "
            f"b_size=n_out. Got {type(network).__name__} instead ({exc})."
        ) from exc
    if not rows:
        raise ValueError(
            "The 'network' argument of NeuronCrossover must have at least one "
            "layer. Got an empty layout instead."
        )
    return rows


class NeuronCrossover(Crossover):
    """Neuron-wise uniform crossover for network genomes.

    Each unit (output neuron) of each layer comes whole from one parent: its
    incoming weights (column ``u`` of that layer's ``W``, stored row-major
    ``(n_in, n_out)``) and its bias travel together.  The unit is taken from
    the second parent with probability ``swap_prob``.

    Parameters
    ----------
    network : Network, object with ``.layout``, or a list of layer records
        Records have ``w_offset``, ``w_shape=(n_in, n_out)``, ``b_offset``,
        ``b_size`` (attributes or dict keys), as ``Network.layout``.
    swap_prob : float in [0, 1], default 0.5
    """

    def __init__(self, network: Any, swap_prob: float = 0.5) -> None:
        self.layers = _layout_rows(network)
        self.swap_prob = check_scalar(swap_prob, "swap_prob",
                                      caller="NeuronCrossover",
                                      min_val=0.0, max_val=1.0)
        self.n_params = max(max(w + i * o, b + o) for w, i, o, b in self.layers)

    def _cfg(self) -> dict[str, Any]:
        return {
            "network": [
                {"w_offset": w, "w_shape": [i, o], "b_offset": b, "b_size": o}
                for w, i, o, b in self.layers
            ],
            "swap_prob": self.swap_prob,
        }

    def __repr__(self) -> str:
        return (f"NeuronCrossover(<{len(self.layers)} layers, "
                f"{self.n_params} params>, swap_prob={self.swap_prob!r})")

    def _params(self, n_params, caller):
        if n_params != self.n_params:
            raise ValueError(
                f"{caller} was built for genomes of {self.n_params} parameters "
                f"(its network layout). Got genomes of {n_params} instead."
            )
        iprm = np.array([len(self.layers)] + [v for row in self.layers for v in row],
                        dtype=np.int64)
        return _CX_NEURON, _prm(self.swap_prob), iprm


_PATCH_MODES = {"any": 0, "rect": 1, "horizontal": 2, "vertical": 3}


def _check_shape2(shape: Any, caller: str) -> tuple[int, int]:
    try:
        H, W = shape
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"The 'shape' parameter of {caller} must be a pair (H, W). "
            f"Got {shape!r} instead."
        ) from exc
    return (check_int(H, "shape[0]", caller=caller, min_val=1),
            check_int(W, "shape[1]", caller=caller, min_val=1))


def _check_image_genes(shape: tuple[int, int], n_params: int, caller: str) -> None:
    H, W = shape
    if n_params != H * W:
        raise ValueError(
            f"{caller} with shape {shape} needs genomes of {H * W} "
            f"genes. Got {n_params} instead."
        )


class PatchCrossover(Crossover):
    """2-D crossover for image genomes of shape ``(H, W)`` (row-major).

    The child is the first parent with a region taken from the second:

    * ``"rect"``: a random rectangle (corners uniform, inclusive);
    * ``"horizontal"``: the rows below a random cut ``c`` in ``[1, H - 1]``;
    * ``"vertical"``: the columns right of a random cut in ``[1, W - 1]``;
    * ``"any"`` (default): one of the three, uniformly, per child.

    Parameters
    ----------
    shape : (H, W)
        Image shape; genomes must have ``H * W`` genes.
    mode : {"any", "rect", "horizontal", "vertical"}
    """

    def __init__(self, shape: tuple[int, int], mode: str = "any") -> None:
        self.shape = _check_shape2(shape, "PatchCrossover")
        if mode not in _PATCH_MODES:
            raise ValueError(
                "The 'mode' parameter of PatchCrossover must be one of "
                f"{sorted(_PATCH_MODES)}. Got {mode!r} instead."
            )
        H, W = self.shape
        if (mode in ("any", "horizontal") and H < 2) or (
                mode in ("any", "vertical") and W < 2):
            raise ValueError(
                f"PatchCrossover mode {mode!r} needs a cut inside the image. "
                f"Got shape {self.shape} instead."
            )
        self.mode = mode

    def _cfg(self) -> dict[str, Any]:
        return {"shape": list(self.shape), "mode": self.mode}

    def _params(self, n_params, caller):
        _check_image_genes(self.shape, n_params, caller)
        H, W = self.shape
        return _CX_PATCH, _prm(H, W, _PATCH_MODES[self.mode]), _EMPTY_I64


def uniform_crossover(parents_a: Any, parents_b: Any, *, swap_prob: float = 0.5,
                      seed: SeedLike, generation: int = 0,
                      out: Float32Array | None = None,
                      n_threads: int | None = None) -> Float32Array:
    """``UniformCrossover(swap_prob).cross(...)``."""
    return UniformCrossover(swap_prob).cross(
        parents_a, parents_b, seed=seed, generation=generation, out=out,
        n_threads=n_threads)


def one_point_crossover(parents_a: Any, parents_b: Any, *, seed: SeedLike,
                        generation: int = 0, out: Float32Array | None = None,
                        n_threads: int | None = None) -> Float32Array:
    """``OnePointCrossover().cross(...)``."""
    return OnePointCrossover().cross(parents_a, parents_b, seed=seed,
                                     generation=generation, out=out,
                                     n_threads=n_threads)


def two_point_crossover(parents_a: Any, parents_b: Any, *, seed: SeedLike,
                        generation: int = 0, out: Float32Array | None = None,
                        n_threads: int | None = None) -> Float32Array:
    """``TwoPointCrossover().cross(...)``."""
    return TwoPointCrossover().cross(parents_a, parents_b, seed=seed,
                                     generation=generation, out=out,
                                     n_threads=n_threads)


def k_point_crossover(parents_a: Any, parents_b: Any, *, k: int = 3,
                      seed: SeedLike, generation: int = 0,
                      out: Float32Array | None = None,
                      n_threads: int | None = None) -> Float32Array:
    """``KPointCrossover(k).cross(...)``."""
    return KPointCrossover(k).cross(parents_a, parents_b, seed=seed,
                                    generation=generation, out=out,
                                    n_threads=n_threads)


def blend_crossover(parents_a: Any, parents_b: Any, *, alpha: float = 0.5,
                    seed: SeedLike = 0, generation: int = 0,
                    out: Float32Array | None = None,
                    n_threads: int | None = None) -> Float32Array:
    """``BlendCrossover(alpha).cross(...)`` (deterministic: seed unused)."""
    return BlendCrossover(alpha).cross(parents_a, parents_b, seed=seed,
                                       generation=generation, out=out,
                                       n_threads=n_threads)


def blx_crossover(parents_a: Any, parents_b: Any, *, alpha: float = 0.5,
                  seed: SeedLike, generation: int = 0,
                  out: Float32Array | None = None,
                  n_threads: int | None = None) -> Float32Array:
    """``BLXCrossover(alpha).cross(...)``."""
    return BLXCrossover(alpha).cross(parents_a, parents_b, seed=seed,
                                     generation=generation, out=out,
                                     n_threads=n_threads)


def sbx_crossover(parents_a: Any, parents_b: Any, *, eta: float = 15.0,
                  low: float | None = None, high: float | None = None,
                  seed: SeedLike, generation: int = 0,
                  out: Float32Array | None = None,
                  n_threads: int | None = None) -> Float32Array:
    """``SBXCrossover(eta, low, high).cross(...)``."""
    return SBXCrossover(eta, low, high).cross(parents_a, parents_b, seed=seed,
                                              generation=generation, out=out,
                                              n_threads=n_threads)


def neuron_crossover(parents_a: Any, parents_b: Any, *, network: Any,
                     swap_prob: float = 0.5, seed: SeedLike, generation: int = 0,
                     out: Float32Array | None = None,
                     n_threads: int | None = None) -> Float32Array:
    """``NeuronCrossover(network, swap_prob).cross(...)``."""
    return NeuronCrossover(network, swap_prob).cross(
        parents_a, parents_b, seed=seed, generation=generation, out=out,
        n_threads=n_threads)


def patch_crossover(parents_a: Any, parents_b: Any, *, shape: tuple[int, int],
                    mode: str = "any", seed: SeedLike, generation: int = 0,
                    out: Float32Array | None = None,
                    n_threads: int | None = None) -> Float32Array:
    """``PatchCrossover(shape, mode).cross(...)``."""
    return PatchCrossover(shape, mode).cross(parents_a, parents_b, seed=seed,
                                             generation=generation, out=out,
                                             n_threads=n_threads)


# ---------------------------------------------------------------------------
# mutation
# ---------------------------------------------------------------------------


class Mutation(_Operator):
    """Base class of the mutation operators (applied to each row)."""

    #: False for deterministic repairs (Clip) that next_generation applies to
    #: every child, whatever ``mutation_prob``.
    random = True

    def _params(
        self, n_params: int, caller: str
    ) -> tuple[int, np.ndarray, np.ndarray | None]:  # pragma: no cover
        raise NotImplementedError

    def mutate(
        self,
        population: Any,
        *,
        seed: SeedLike,
        generation: int = 0,
        out: Float32Array | None = None,
        n_threads: int | None = None,
    ) -> Float32Array:
        """Return a mutated copy of ``population``.

        Parameters
        ----------
        population : array-like of shape (n, N)
            float32 genomes, finite.
        seed, generation : int
            Randomness key; row ``i`` uses row ``i`` of the ``mutation``
            stream.
        out : float32 array of shape (n, N), optional
            Output buffer (must not share memory with ``population``).
        n_threads : int, optional
            OpenMP threads (``None``: all cores).

        Returns
        -------
        float32 array of shape (n, N)
        """
        return mutate(population, [self], seed=seed, generation=generation,
                      out=out, n_threads=n_threads,
                      caller=f"{type(self).__name__}.mutate")


def _check_rate(rate: Any, caller: str) -> float:
    return check_scalar(rate, "rate", caller=caller, min_val=0.0, max_val=1.0)


class GaussianMutation(Mutation):
    """Add ``N(0, sigma_j**2)`` noise to each gene with probability ``rate``.

    Parameters
    ----------
    rate : float in [0, 1], default 0.1
        Per-gene mutation probability.
    sigma : float >= 0, default 0.1
        Noise standard deviation.
    sigma_vector : array-like of shape (N,), optional
        Per-gene standard deviations (non-negative); replaces ``sigma``.
    """

    def __init__(self, rate: float = 0.1, sigma: float = 0.1,
                 sigma_vector: Any = None) -> None:
        self.rate = _check_rate(rate, "GaussianMutation")
        self.sigma = check_scalar(sigma, "sigma", caller="GaussianMutation",
                                  min_val=0.0)
        if sigma_vector is not None:
            sv = check_array(sigma_vector, "sigma_vector",
                             caller="GaussianMutation", ndim=1).copy()
            if (sv < 0).any():
                raise ValueError(
                    "The 'sigma_vector' argument of GaussianMutation must be "
                    f"non-negative. Got a minimum of {sv.min()!r} instead."
                )
            sv.flags.writeable = False
            sigma_vector = sv
        self.sigma_vector = sigma_vector

    def _cfg(self) -> dict[str, Any]:
        sv = None if self.sigma_vector is None else self.sigma_vector.tolist()
        return {"rate": self.rate, "sigma": self.sigma, "sigma_vector": sv}

    def __repr__(self) -> str:
        if self.sigma_vector is None:
            return super().__repr__()
        return (f"GaussianMutation(rate={self.rate!r}, sigma={self.sigma!r}, "
                f"sigma_vector=<{self.sigma_vector.shape[0]} values>)")

    def _params(self, n_params, caller):
        aux = None
        if self.sigma_vector is not None:
            if self.sigma_vector.shape[0] != n_params:
                raise ValueError(
                    f"The 'sigma_vector' of GaussianMutation in {caller} must "
                    f"have {n_params} values (n_params). Got "
                    f"{self.sigma_vector.shape[0]} instead."
                )
            aux = self.sigma_vector
        return (_MUT_GAUSS, _prm(self.rate, _inv_lambda(self.rate), self.sigma, -1.0),
                aux)


class UniformResetMutation(Mutation):
    """Replace each gene with probability ``rate`` by ``U(low, high)``."""

    def __init__(self, rate: float = 0.1, low: float = -1.0,
                 high: float = 1.0) -> None:
        self.rate = _check_rate(rate, "UniformResetMutation")
        self.low, self.high = _check_bounds(low, high, "UniformResetMutation",
                                            strict=False)

    def _cfg(self) -> dict[str, Any]:
        return {"rate": self.rate, "low": self.low, "high": self.high}

    def _params(self, n_params, caller):
        return (_MUT_RESET,
                _prm(self.rate, _inv_lambda(self.rate), self.low, self.high), None)


class NGeneResetMutation(Mutation):
    """Replace ``n`` distinct random genes of each individual with ``N(0, 1)``
    draws (the mutation of the hand-written NumPy GAN GAs)."""

    def __init__(self, n: int = 1) -> None:
        self.n = check_int(n, "n", caller="NGeneResetMutation", min_val=0)

    def _cfg(self) -> dict[str, Any]:
        return {"n": self.n}

    def _params(self, n_params, caller):
        if self.n > n_params:
            raise ValueError(
                f"The 'n' parameter of NGeneResetMutation in {caller} must be at "
                f"most the genome length {n_params}. Got {self.n} instead."
            )
        return _MUT_NGENE, _prm(self.n), None


class BitFlipMutation(Mutation):
    """Flip each gene of a binary (0.0/1.0) genome with probability ``rate``:
    ``x -> 1 - x``."""

    def __init__(self, rate: float = 0.01) -> None:
        self.rate = _check_rate(rate, "BitFlipMutation")

    def _cfg(self) -> dict[str, Any]:
        return {"rate": self.rate}

    def _params(self, n_params, caller):
        return _MUT_FLIP, _prm(self.rate, _inv_lambda(self.rate)), None


class PolynomialMutation(Mutation):
    """Deb's bounded polynomial mutation (as DEAP's ``mutPolynomialBounded``)
    of each gene with probability ``rate``; results stay in ``[low, high]``.

    Parameters
    ----------
    rate : float in [0, 1], default 0.1
    eta : float >= 0, default 20.0
        Distribution index: larger values give smaller steps.
    low, high : float, default -1.0, 1.0
        Bounds, ``low < high``.
    """

    def __init__(self, rate: float = 0.1, eta: float = 20.0, low: float = -1.0,
                 high: float = 1.0) -> None:
        self.rate = _check_rate(rate, "PolynomialMutation")
        self.eta = check_scalar(eta, "eta", caller="PolynomialMutation",
                                min_val=0.0)
        self.low, self.high = _check_bounds(low, high, "PolynomialMutation",
                                            strict=True)

    def _cfg(self) -> dict[str, Any]:
        return {"rate": self.rate, "eta": self.eta, "low": self.low,
                "high": self.high}

    def _params(self, n_params, caller):
        return (_MUT_POLY,
                _prm(self.rate, _inv_lambda(self.rate), self.eta, self.low,
                     self.high), None)


_BLOCK_MODES = {"perturb": 0, "flip": 1}


class BlockMutation(Mutation):
    """Mutate one random ``size x size`` block of an image genome ``(H, W)``.

    The block's top-left corner is uniform over the valid positions.
    ``mode="perturb"`` adds ``N(0, sigma**2)`` to each gene of the block;
    ``mode="flip"`` maps ``x -> 1 - x`` (binary or [0, 1] images).

    Parameters
    ----------
    shape : (H, W)
    size : int, default 3
        Block side, at most ``min(H, W)``.
    mode : {"perturb", "flip"}
    sigma : float >= 0, default 0.1
    """

    def __init__(self, shape: tuple[int, int], size: int = 3,
                 mode: str = "perturb", sigma: float = 0.1) -> None:
        self.shape = _check_shape2(shape, "BlockMutation")
        self.size = check_int(size, "size", caller="BlockMutation", min_val=1,
                              max_val=min(self.shape))
        if mode not in _BLOCK_MODES:
            raise ValueError(
                "The 'mode' parameter of BlockMutation must be one of "
                f"{sorted(_BLOCK_MODES)}. Got {mode!r} instead."
            )
        self.mode = mode
        self.sigma = check_scalar(sigma, "sigma", caller="BlockMutation",
                                  min_val=0.0)

    def _cfg(self) -> dict[str, Any]:
        return {"shape": list(self.shape), "size": self.size, "mode": self.mode,
                "sigma": self.sigma}

    def _params(self, n_params, caller):
        _check_image_genes(self.shape, n_params, caller)
        H, W = self.shape
        return (_MUT_BLOCK,
                _prm(H, W, self.size, _BLOCK_MODES[self.mode], self.sigma), None)


class Clip(Mutation):
    """Clip every gene to ``[low, high]`` (a repair, not random).

    In :func:`next_generation`, ``Clip`` applies to every child, also those
    that ``mutation_prob`` left unmutated.
    """

    random = False

    def __init__(self, low: float = -1.0, high: float = 1.0) -> None:
        self.low, self.high = _check_bounds(low, high, "Clip", strict=False)

    def _cfg(self) -> dict[str, Any]:
        return {"low": self.low, "high": self.high}

    def _params(self, n_params, caller):
        return _MUT_CLIP, _prm(self.low, self.high), None


def _as_mutation_list(mutation: Any, caller: str) -> list[Mutation]:
    if mutation is None:
        return []
    ops = list(mutation) if isinstance(mutation, (list, tuple)) else [mutation]
    for op in ops:
        if not isinstance(op, Mutation):
            raise TypeError(
                f"The 'mutation' argument of {caller} must be a Mutation or a "
                "list of Mutation objects (GaussianMutation, Clip, ...). Got "
                f"{type(op).__name__} instead."
            )
    return ops


def _compile_mutations(
    ops: list[Mutation], n_params: int, caller: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    codes = np.empty(len(ops), np.int32)
    prm = np.zeros((max(len(ops), 1), _N_PRM), np.float64)
    aux_parts: list[np.ndarray] = []
    offset = 0
    for i, op in enumerate(ops):
        code, p, aux = op._params(n_params, caller)
        codes[i] = code
        prm[i] = p
        if aux is not None:
            prm[i, 3] = offset  # Gaussian: per-gene sigma start in aux
            aux_parts.append(aux)
            offset += aux.shape[0]
    aux_all = (np.ascontiguousarray(np.concatenate(aux_parts), dtype=np.float32)
               if aux_parts else _EMPTY_F32)
    return codes, prm, aux_all


def mutate(
    population: Any,
    mutations: Mutation | Sequence[Mutation],
    *,
    seed: SeedLike,
    generation: int = 0,
    out: Float32Array | None = None,
    n_threads: int | None = None,
    caller: str = "mutate",
) -> Float32Array:
    """Apply one mutation or a list of them, in order, to every row.

    Parameters
    ----------
    population : array-like of shape (n, N)
    mutations : Mutation or sequence of Mutation
        E.g. ``[GaussianMutation(0.1, 0.1), Clip(-1, 1)]``.
    seed, generation : int
        Randomness key (``mutation`` stream, one row each).
    out : float32 array of shape (n, N), optional
        Must not share memory with ``population``.
    n_threads : int, optional

    Returns
    -------
    float32 array of shape (n, N)
    """
    pop = check_population(population, "population", caller=caller)
    ops = _as_mutation_list(mutations, caller)
    out = _out_like(out, pop.shape, caller, (pop,))
    if not ops:
        np.copyto(out, pop)
        return out
    codes, prm, aux = _compile_mutations(ops, pop.shape[1], caller)
    seeds = _seeds(seed, generation, STREAMS["mutation"], pop.shape[0], caller)
    _k._mutate(pop, out, seeds, codes, prm, aux, _threads(n_threads, *pop.shape))
    return out


def mutate_gaussian(population: Any, *, rate: float = 0.1, sigma: float = 0.1,
                    sigma_vector: Any = None, seed: SeedLike,
                    generation: int = 0, out: Float32Array | None = None,
                    n_threads: int | None = None) -> Float32Array:
    """``GaussianMutation(rate, sigma, sigma_vector).mutate(...)``."""
    return GaussianMutation(rate, sigma, sigma_vector).mutate(
        population, seed=seed, generation=generation, out=out,
        n_threads=n_threads)


def mutate_uniform_reset(population: Any, *, rate: float = 0.1, low: float = -1.0,
                         high: float = 1.0, seed: SeedLike, generation: int = 0,
                         out: Float32Array | None = None,
                         n_threads: int | None = None) -> Float32Array:
    """``UniformResetMutation(rate, low, high).mutate(...)``."""
    return UniformResetMutation(rate, low, high).mutate(
        population, seed=seed, generation=generation, out=out,
        n_threads=n_threads)


def mutate_n_gene_reset(population: Any, *, n: int = 1, seed: SeedLike,
                        generation: int = 0, out: Float32Array | None = None,
                        n_threads: int | None = None) -> Float32Array:
    """``NGeneResetMutation(n).mutate(...)``."""
    return NGeneResetMutation(n).mutate(population, seed=seed,
                                        generation=generation, out=out,
                                        n_threads=n_threads)


def mutate_bit_flip(population: Any, *, rate: float = 0.01, seed: SeedLike,
                    generation: int = 0, out: Float32Array | None = None,
                    n_threads: int | None = None) -> Float32Array:
    """``BitFlipMutation(rate).mutate(...)``."""
    return BitFlipMutation(rate).mutate(population, seed=seed,
                                        generation=generation, out=out,
                                        n_threads=n_threads)


def mutate_polynomial(population: Any, *, rate: float = 0.1, eta: float = 20.0,
                      low: float = -1.0, high: float = 1.0, seed: SeedLike,
                      generation: int = 0, out: Float32Array | None = None,
                      n_threads: int | None = None) -> Float32Array:
    """``PolynomialMutation(rate, eta, low, high).mutate(...)``."""
    return PolynomialMutation(rate, eta, low, high).mutate(
        population, seed=seed, generation=generation, out=out,
        n_threads=n_threads)


def mutate_block(population: Any, *, shape: tuple[int, int], size: int = 3,
                 mode: str = "perturb", sigma: float = 0.1, seed: SeedLike,
                 generation: int = 0, out: Float32Array | None = None,
                 n_threads: int | None = None) -> Float32Array:
    """``BlockMutation(shape, size, mode, sigma).mutate(...)``."""
    return BlockMutation(shape, size, mode, sigma).mutate(
        population, seed=seed, generation=generation, out=out,
        n_threads=n_threads)


def clip(population: Any, low: float = -1.0, high: float = 1.0, *,
         out: Float32Array | None = None,
         n_threads: int | None = None) -> Float32Array:
    """``Clip(low, high).mutate(...)``: every gene clipped to ``[low, high]``."""
    return Clip(low, high).mutate(population, seed=0, generation=0, out=out,
                                  n_threads=n_threads)


# ---------------------------------------------------------------------------
# config round trip
# ---------------------------------------------------------------------------

_REGISTRY: dict[str, type[_Operator]] = {
    cls.__name__: cls
    for cls in (
        Tournament, Truncation, Roulette, SUS, Rank, RandomSelection,
        UniformCrossover, OnePointCrossover, TwoPointCrossover, KPointCrossover,
        BlendCrossover, BLXCrossover, SBXCrossover, NeuronCrossover,
        PatchCrossover, GaussianMutation, UniformResetMutation,
        NGeneResetMutation, BitFlipMutation, PolynomialMutation, BlockMutation,
        Clip,
    )
}


def operator_from_config(config: dict[str, Any]) -> Any:
    """Rebuild an operator from ``op.to_config()``.

    Parameters
    ----------
    config : dict
        ``{"type": "Tournament", "k": 3}`` and the like.

    Returns
    -------
    Selection, Crossover or Mutation

    Raises
    ------
    ValueError
        Unknown ``type`` or unknown parameter names.
    """
    if not isinstance(config, dict) or "type" not in config:
        raise TypeError(
            "The 'config' argument of operator_from_config must be a dict with "
            f"a 'type' key. Got {config!r} instead."
        )
    params = dict(config)
    name = params.pop("type")
    cls = _REGISTRY.get(name)
    if cls is None:
        raise ValueError(
            "The 'type' of operator_from_config must be one of "
            f"{sorted(_REGISTRY)}. Got {name!r} instead."
        )
    try:
        return cls(**params)
    except TypeError as exc:
        raise ValueError(
            f"Bad parameters for {name} in operator_from_config: {exc}. "
            f"Got {params!r} instead."
        ) from exc


# ---------------------------------------------------------------------------
# fused generation, bulk draws
# ---------------------------------------------------------------------------


def next_generation(
    parents: Float32Array,
    fitness: Any,
    out: Float32Array,
    *,
    selection: Selection,
    crossover: Crossover | None = None,
    mutation: Mutation | Sequence[Mutation] | None = None,
    elitism: int = 0,
    crossover_prob: float = 1.0,
    mutation_prob: float = 1.0,
    seed: SeedLike,
    generation: int,
    minimize: bool = False,
    n_threads: int | None = None,
    check_finite: bool = True,
) -> IntArray:
    """Write a whole offspring buffer in one compiled pass.

    Rows ``0 .. elitism-1`` of ``out`` are the ``elitism`` best parents, best
    first, copied unchanged.  Every other row ``i`` is one child, made with
    the random stream of row ``i`` (stream ``generation``): two parents
    selected, crossed with probability ``crossover_prob`` (else a copy of the
    first parent), then mutated with probability ``mutation_prob`` (the
    mutation list in order; each operator then applies its own per-gene
    rate).  :class:`Clip` in the list applies to every child.  Each child row
    is written once, in parallel over rows; no Python loop runs per
    individual.

    Parameters
    ----------
    parents : float32 array of shape (P, N)
        C-contiguous parent buffer (finite unless ``check_finite=False``).
    fitness : array-like of shape (P,)
        Higher is better unless ``minimize``; NaN is the worst.
    out : float32 array of shape (n_out, N)
        Offspring buffer, C-contiguous; ``n_out`` may differ from ``P``.
        Must not share memory with ``parents``.
    selection : Selection
        ``Tournament``, ``Truncation``, ``Roulette``, ``SUS``, ``Rank`` or
        ``RandomSelection``.
    crossover : Crossover, optional
        ``None``: children are copies of their first parent (then mutated).
    mutation : Mutation or sequence of Mutation, optional
    elitism : int, default 0
        Number of best parents copied first, at most ``min(P, n_out)``.
    crossover_prob, mutation_prob : float in [0, 1], default 1.0
        Per-child probabilities.
    seed, generation : int
        Randomness key.  SUS draws its pointers from row 0 of the
        ``selection`` stream, as ``SUS().select(fitness, 2 * n_children)``.
    minimize : bool, default False
    n_threads : int, optional
        OpenMP threads (``None``: all cores).  Results do not depend on it.
    check_finite : bool, default True
        Reject non-finite parents (one extra parallel read of ``parents``).

    Returns
    -------
    int64 array of shape (n_out, 2)
        Parent indices of each row of ``out``; an elite row has both equal to
        its index.

    Raises
    ------
    ValueError, TypeError
        Bad shapes, dtypes, ranges, or an ``out`` that aliases ``parents``.

    Examples
    --------
    >>> import numpy as np
    >>> from pyneat_lite import operators as ops
    >>> parents = np.zeros((8, 5), np.float32)
    >>> out = np.empty_like(parents)
    >>> pairs = ops.next_generation(
    ...     parents, np.arange(8.0), out, selection=ops.Tournament(3),
    ...     crossover=ops.UniformCrossover(),
    ...     mutation=ops.GaussianMutation(0.1, 0.1), elitism=2,
    ...     seed=0, generation=0)
    >>> pairs[:2].tolist()
    [[7, 7], [6, 6]]
    """
    caller = "next_generation"
    parents = check_population(parents, "parents", caller=caller, finite=False)
    P, N = parents.shape
    if P > _MAX_INDEX:
        raise ValueError(
            f"The 'parents' argument of {caller} must have at most 2**32 rows. "
            f"Got {P} instead."
        )
    if not isinstance(out, np.ndarray) or out.ndim != 2:
        raise TypeError(
            f"The 'out' argument of {caller} must be a 2-D float32 numpy array "
            f"with {N} columns. Got "
            f"{getattr(out, 'shape', type(out).__name__)} instead."
        )
    out = check_out(out, (out.shape[0], N), caller=caller, forbid_alias=(parents,))
    n_out = out.shape[0]
    fit = check_fitness(fitness, P, caller=caller)
    if not isinstance(selection, Selection):
        raise TypeError(
            f"The 'selection' argument of {caller} must be a Selection "
            f"(Tournament(k=3), Truncation(), ...). Got {selection!r} instead."
        )
    if crossover is not None and not isinstance(crossover, Crossover):
        raise TypeError(
            f"The 'crossover' argument of {caller} must be a Crossover or None. "
            f"Got {crossover!r} instead."
        )
    ops = _as_mutation_list(mutation, caller)
    elitism = check_int(elitism, "elitism", caller=caller, min_val=0,
                        max_val=min(P, n_out))
    crossover_prob = check_scalar(crossover_prob, "crossover_prob", caller=caller,
                                  min_val=0.0, max_val=1.0)
    mutation_prob = check_scalar(mutation_prob, "mutation_prob", caller=caller,
                                 min_val=0.0, max_val=1.0)
    nt = _threads(n_threads, n_out, N)
    if check_finite:
        bad = _k._count_nonfinite(parents, nt)
        if bad:
            raise ValueError(
                f"The 'parents' argument of {caller} must be finite. Got {bad} "
                "NaN or infinite values instead."
            )
    if crossover is None:
        cx_code, cx_prm, cx_iprm = _CX_COPY, _prm(), _EMPTY_I64
    else:
        cx_code, cx_prm, cx_iprm = crossover._params(N, caller)
    codes, prm, aux = _compile_mutations(ops, N, caller)

    keys = _oriented_keys(fit, bool(minimize))
    sel_code, sel_k, sel_f, sel_cand = selection._plan(fit, keys, bool(minimize),
                                                       caller)
    pairs = np.empty((n_out, 2), np.int64)
    if elitism:
        pairs[:elitism] = _best_indices(keys, elitism)[:, None]
    n_children = n_out - elitism
    if sel_code == _SEL_PRE and n_children:
        picks = np.empty(2 * n_children, np.int64)
        _sus(picks, sel_f, seed, generation, caller)
        pairs[elitism:] = picks.reshape(n_children, 2)
    seeds = _seeds(seed, generation, STREAMS["generation"], n_out, caller)
    _k._next_generation(
        parents, out, pairs, seeds, elitism,
        sel_code, sel_k, sel_f, sel_cand,
        cx_code, cx_prm, cx_iprm, crossover_prob,
        codes, prm, aux, mutation_prob, nt,
    )
    return pairs
