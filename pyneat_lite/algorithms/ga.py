"""Genetic algorithm with pluggable selection, crossover and mutation.

Holland, "Adaptation in Natural and Artificial Systems" (1975); Goldberg,
"Genetic Algorithms in Search, Optimization and Machine Learning" (1989);
the (mu + lambda) and (mu, lambda) replacements of Schwefel, "Numerical
Optimization of Computer Models" (1981), as in DEAP's ``eaMuPlusLambda`` /
``eaMuCommaLambda``.  Each generation is one call of
:func:`pyneat_lite.operators.next_generation`, which selects, crosses and
mutates every child in a single compiled pass into a preallocated buffer.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _ranking
from .. import operators as ops
from .._operators import _count_nonfinite
from .._rng import STREAMS, fill_standard_normal
from .._typing import Float32Array, Float64Array
from .._validation import check_array
from ..operators.selection import SUS, Roulette, _proportional_weights
from . import _multiobjective as _mo
from ._ga_params import REPLACEMENTS, GAParams
from ._multiobjective import ParetoFront
from .base import Algorithm

__all__ = ["GA", "GAParams", "REPLACEMENTS"]


class GA(Algorithm):
    """Genetic algorithm over float32 genomes.

    Parameters
    ----------
    n_params : int
        Genome length.
    pop_size : int, default=64
        Genomes per generation (lambda for "plus"/"comma").
    selection : Selection, default=Tournament(k=3)
        Parent selection.
    crossover : Crossover or None, default=UniformCrossover()
        None: children are mutated copies of one parent.
    mutation : Mutation, list of Mutation, or None, optional
        Applied in order to each child chosen with ``mutation_prob``.
        Default ``GaussianMutation(rate=0.05, sigma=0.05)``.
    elitism : int, optional
        Best parents copied unchanged into the next generation (best first).
        Default 2 for "generational" (1 if ``pop_size`` is 2), 0 otherwise.
        Must be < ``pop_size``.
    crossover_prob : float, default=0.9
        Probability that a child comes from crossover (else a copy of its
        first parent).
    mutation_prob : float, default=1.0
        Probability that a child is mutated.
    replacement : {"generational", "plus", "comma"}, optional
        "generational" (the default): the children (with the elites) replace
        the parents.  "plus": (mu + lambda) -- the ``mu`` best of parents and
        children survive (the default with a multi-objective selection).
        "comma": (mu, lambda) -- the ``mu`` best children survive (needs
        ``pop_size >= mu``).  In both, ``selection`` picks mating parents
        among the ``mu`` survivors.
    mu : int, optional
        Survivors for "plus"/"comma"; default ``pop_size // 2``
        (``pop_size`` with a multi-objective selection).
    initial_population : array-like, optional
        Either ``(pop_size, n_params)`` genomes, or one genome
        ``(n_params,)`` -- e.g. a trained model's weights -- which is row 0
        as is while the other rows add ``N(0, init_sigma)`` noise to it.
        Default: ``N(0, init_sigma)`` genomes.
    init_sigma : float, default=0.1
        Standard deviation of the initial genomes / noise.
    reevaluate_elites : bool, default=False
        Elites are always part of the evaluated population (its size never
        drifts).  False: an elite keeps the fitness it had when selected
        (right for deterministic fitness).  True: its new evaluation is used,
        which keeps a lucky draw of a noisy fitness from dominating.
    minimize : bool, default=False
        Lower fitness is better.
    seed : int, SeedSequence or None, default=None
        Resolved to an int and kept in :attr:`seed`.
    hall_of_fame_size : int, default=10
        Distinct best genomes kept.
    n_threads : int, optional
        OpenMP threads of the operator kernel; results do not depend on it.

    Notes
    -----
    Multi-objective (``selection=pn.NSGA2()``): the GA is NSGA-II (Deb et
    al. 2002).  ``tell`` takes ``(pop_size, n_obj)`` objectives (all
    maximised unless ``minimize``; the number of objectives is fixed by the
    first tell; a row with a NaN or infinite objective is the worst), the
    ``mu`` survivors of parents + children are whole non-dominated fronts,
    the last cut by crowding distance, and mating parents are drawn by the
    crowded binary tournament on the survivors' fronts and crowding
    distances.  :attr:`pareto_front` (and ``Result.pareto_front``) is the
    survivors' first front.  The hall of fame, :attr:`best` and the history
    follow the first objective.

    The three classic setups, written with this class (``n`` = genome length)::

        # DEAP's eaSimple tutorial: tournament of 5, blend crossover
        # averaging the parents (cxpb 0.6), Gaussian mutation sigma 0.1 of
        # each gene with probability 0.25 (mutpb 0.3), no elitism
        pn.GA(n_params=n, pop_size=300, selection=pn.Tournament(k=5),
              crossover=pn.BlendCrossover(alpha=0.5), crossover_prob=0.6,
              mutation=pn.GaussianMutation(rate=0.25, sigma=0.1),
              mutation_prob=0.3, elitism=0)

        # deepevolution's fit_evolve: 16 genomes = model weights + N(0, 0.3),
        # top 4 kept, children take 50% of each parent's weights, 20% of
        # child weights get N(0, 0.03) noise
        pn.GA(n_params=n, pop_size=16, initial_population=weights,
              init_sigma=0.3, selection=pn.Truncation(top_k=4),
              crossover=pn.UniformCrossover(swap_prob=0.5),
              mutation=pn.GaussianMutation(rate=0.2, sigma=0.03), elitism=4)

        # truncation GA: parents among the top 20%, one-point crossover,
        # n-gene reset mutation
        pn.GA(n_params=n, pop_size=100, selection=pn.Truncation(fraction=0.2),
              crossover=pn.OnePointCrossover(),
              mutation=pn.NGeneResetMutation(n=10), elitism=1)

    deepevolution pairs each two of the top 4 exhaustively; here the pairs
    are drawn from the top 4 at random, the same scheme in distribution.

    Examples
    --------
    >>> import numpy as np, pyneat_lite as pn
    >>> ga = pn.GA(n_params=20, seed=0)
    >>> r = ga.run(lambda pop: -np.sum(pop ** 2, axis=1), generations=50)
    >>> bool(r.best_fitness > -0.05)
    True
    """

    name = "ga"
    Params = GAParams
    _STATE_ARRAYS = (
        "_parents",
        "_parent_fitness",
        "_offspring",
        "_spare",
        "_elite_fitness",
        "_parent_objectives",  # multi-objective only (None otherwise)
    )
    _STATE_SCALARS = ("_has_parents",)

    def __init__(
        self,
        n_params: int,
        pop_size: int = 64,
        *,
        selection: Any = None,
        crossover: Any = "default",
        mutation: Any = "default",
        elitism: int | None = None,
        crossover_prob: float = 0.9,
        mutation_prob: float = 1.0,
        replacement: str | None = None,
        mu: int | None = None,
        initial_population: Any = None,
        init_sigma: float = 0.1,
        reevaluate_elites: bool = False,
        minimize: bool = False,
        seed: Any = None,
        hall_of_fame_size: int = 10,
        n_threads: int | None = None,
    ) -> None:
        super().__init__(locals())
        p = self._params
        P, N, mu = p.pop_size, p.n_params, p.survivors
        #: NSGA-II: the parents' objectives (mu, n_obj), allocated at the
        #: first tell; the told objectives wait in _told_objectives
        self._multi = bool(getattr(p.selection, "multi_objective", False))
        self._parent_objectives: Float64Array | None = None
        self._told_objectives: Float64Array | None = None
        self._parents = np.zeros((mu, N), dtype=np.float32)
        self._parent_fitness = np.full(mu, np.nan, dtype=np.float64)
        self._offspring = np.zeros((P, N), dtype=np.float32)
        # survivor buffer of (mu + lambda) / (mu, lambda); empty otherwise
        n_spare = mu if p.replacement != "generational" else 0
        self._spare = np.zeros((n_spare, N), dtype=np.float32)
        self._elite_fitness = np.full(p.elitism, np.nan, dtype=np.float64)
        self._has_parents = False
        if p.replacement == "plus":
            # parents then children, higher is better (the survivors' ranking)
            self._pool_score = np.empty(mu + P, dtype=np.float64)
            self._pool_fitness = np.empty(mu + P, dtype=np.float64)
        self._generation_plan = ops._GenerationPlan(
            self.selection, self.crossover, self.mutation, elitism=self.elitism,
            crossover_prob=self.crossover_prob, mutation_prob=self.mutation_prob,
            n_parents=self.mu, n_out=P, n_params=N, caller=type(self).__name__,
        )
        self._init_population(initial_population)

    @property
    def mu(self) -> int:
        """Parents kept per generation (``pop_size`` for "generational")."""
        return self._params.survivors

    # ----------------------------------------------------------------- setup
    def _init_population(self, initial: Any) -> None:
        c = type(self).__name__
        P, N = self.pop_size, self.n_params
        if initial is None:
            fill_standard_normal(
                self._offspring, self.seed, 0, STREAMS["init"], self._kernel_threads()
            )
            self._offspring *= np.float32(self.init_sigma)
            return
        arr = check_array(initial, "initial_population", caller=c, ndim=(1, 2))
        if arr.ndim == 1:
            if arr.shape[0] != N:
                raise ValueError(
                    f"The 'initial_population' parameter of {c} must be a genome of "
                    f"{N} values or a ({P}, {N}) population. Got shape {arr.shape} "
                    "instead."
                )
            fill_standard_normal(
                self._offspring, self.seed, 0, STREAMS["init"], self._kernel_threads()
            )
            self._offspring *= np.float32(self.init_sigma)
            self._offspring += arr
            self._offspring[0] = arr
            return
        if arr.shape != (P, N):
            raise ValueError(
                f"The 'initial_population' parameter of {c} must be a genome of "
                f"{N} values or a ({P}, {N}) population. Got shape {arr.shape} "
                "instead."
            )
        self._offspring[...] = arr

    # ------------------------------------------------------------------ hooks
    def _current_population(self) -> Float32Array:
        return self._offspring

    @property
    def population(self) -> Float32Array:
        """Copy of the current parents (after a tell) or the initial
        population (before the first tell), float32 (mu, n_params)."""
        if not self._has_parents:
            return self._offspring.copy()
        return self._parents.copy()

    @property
    def parent_fitness(self) -> Float64Array:
        """Copy of the fitness of :attr:`population`'s rows (NaN if unknown)."""
        if not self._has_parents:
            return np.full(self.pop_size, np.nan)
        return self._parent_fitness.copy()

    @property
    def pareto_front(self) -> ParetoFront | None:
        """The non-dominated parents with their objectives (a multi-objective
        selection, after a tell; None otherwise)."""
        if not self._multi or not self._has_parents or self._parent_objectives is None:
            return None
        F = self._parent_objectives
        mask = _mo.front_zero(self.selection, F, self.minimize, self._params.n_threads)
        return ParetoFront(self._parents[mask].copy(), F[mask].copy())

    def _ask(self) -> Float32Array:
        if not self._has_parents:
            return self._offspring  # the initial population
        keys = None
        if self._multi:
            keys = _mo.parent_keys(self.selection, self._parent_objectives,
                                   self.minimize, self._params.n_threads)
        pairs = self._generation_plan.run(
            self._parents,
            self._parent_fitness,
            self._offspring,
            self.seed,
            self._generation,
            self.minimize,
            self._kernel_threads(),
            keys,
        )
        if self.elitism:
            self._elite_fitness[:] = self._parent_fitness[pairs[: self.elitism, 0]]
        return self._offspring

    def _checked_fitness(self, fitness: Any, n_pop: int) -> Float64Array:
        if not self._multi:
            return super()._checked_fitness(fitness, n_pop)
        prev = self._parent_objectives
        n_obj = None if prev is None else prev.shape[1]
        F = _mo.check_objectives(fitness, n_pop, n_obj, self._tell_caller)
        self._told_objectives = F
        # the first objective feeds the hall of fame and the history; a row
        # with any non-finite objective is a non-finite fitness there
        first = F[:, 0].copy()
        first[~np.isfinite(F).all(axis=1)] = np.nan
        return first

    def _check_told(self, fitness: Float64Array) -> None:
        # the told genomes become the parents: every row must be finite (one
        # parallel read of the population)
        self._raise_if_nonfinite(
            _count_nonfinite(self._offspring, self._kernel_threads()))
        if isinstance(self.selection, (Roulette, SUS)):
            # fitness-proportional selection rejects negative (maximizing)
            # fitness; say so at this tell, not at the next ask
            f = np.where(np.isfinite(fitness), fitness, np.nan)
            _proportional_weights(f, self.minimize, self._tell_caller)

    def _adjust_fitness(self, fitness: Float64Array) -> bool:
        e = self.elitism
        if e and self._has_parents and not self.reevaluate_elites:
            fitness[:e] = self._elite_fitness
            return True
        return False

    def _tell(self, fitness: Float64Array, score: Float64Array) -> None:
        p = self._params
        if p.replacement == "generational":
            # swap the two buffers: the children become the parents
            self._parents, self._offspring = self._offspring, self._parents
            self._parent_fitness[:] = fitness
            self._has_parents = True
            return
        mu = p.mu
        if p.replacement == "plus" and self._has_parents:
            # (mu + lambda): parents first, so a tie keeps the parent
            pool_score, pool_fit = self._pool_score, self._pool_fitness
            pf = self._parent_fitness
            if p.minimize:
                np.negative(pf, out=pool_score[:mu])
            else:
                pool_score[:mu] = pf
            np.copyto(pool_score[:mu], -np.inf, where=np.isnan(pf))
            pool_score[mu:] = score
            pool_fit[:mu] = pf
            pool_fit[mu:] = fitness
            n_par = mu
        else:
            pool_score, pool_fit, n_par = score, fitness, 0
        if self._multi:
            told = self._told_objectives
            assert told is not None
            pool_obj = told
            if n_par:
                assert self._parent_objectives is not None
                pool_obj = np.concatenate([self._parent_objectives, told])
            keep = _mo.survivors(self.selection, pool_obj, mu, p.minimize, p.n_threads)
            self._parent_objectives = np.ascontiguousarray(pool_obj[keep])
            self._told_objectives = None
            # the survivors best first (by front and crowding)
            both = (np.concatenate([self._parents, self._offspring]) if n_par
                    else self._offspring)
            np.take(both, keep, axis=0, out=self._spare)
            self._parent_fitness[:] = pool_fit[keep]
            self._parents, self._spare = self._spare, self._parents
            self._has_parents = True
            return
        keep = _ranking.order(pool_score)[:mu]
        # survivors: kept parents first, then kept children (each group best
        # first), gathered straight into the spare buffer
        from_par = keep[keep < n_par]
        from_off = keep[keep >= n_par]
        a = from_par.shape[0]
        np.take(self._parents, from_par, axis=0, out=self._spare[:a])
        np.take(self._offspring, from_off - n_par, axis=0, out=self._spare[a:])
        self._parent_fitness[:a] = pool_fit[from_par]
        self._parent_fitness[a:] = pool_fit[from_off]
        self._parents, self._spare = self._spare, self._parents
        self._has_parents = True
