"""The fused generation: select, cross and mutate a whole offspring buffer in
one compiled pass.

:func:`next_generation` is the public, validating entry.  It builds a
:class:`_GenerationPlan` -- everything that does not change from one
generation to the next, validated once: the operators' kernel parameter
arrays, elitism, probabilities and shapes -- and runs it.  An algorithm
builds the plan once, in its constructor, and calls the unchecked
:meth:`_GenerationPlan.run` every generation (``GA._ask``): no argument
checks, no seed resolution and no NaN scan of the parent buffer per
generation, the same numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import _operators as _k
from .._rng import STREAMS, resolve_seed, row_seeds
from .._threads import kernel_threads
from .._typing import Float32Array, IntArray, SeedLike
from .._validation import (
    check_fitness,
    check_int,
    check_out,
    check_population,
    check_scalar,
)
from ._base import EMPTY_I64, MAX_INDEX, prm, threads_for
from .crossover import Crossover
from .mutation import Mutation, _as_mutation_list, _compile_mutations
from .selection import Selection, _best_indices, _oriented_keys, _sus_picks

__all__ = ["next_generation"]

_PRE = int(_k.SelectionCode.SEL_PRE)
_CX_COPY = int(_k.CrossoverCode.CX_COPY)


class _GenerationPlan:
    """One GA generation's fixed part, validated once; :meth:`run` per
    generation.

    Parameters
    ----------
    selection, crossover, mutation, elitism, crossover_prob, mutation_prob
        As in :func:`next_generation`.
    n_parents, n_out, n_params : int
        Shapes of the parent buffer ``(n_parents, n_params)`` and of the
        offspring buffer ``(n_out, n_params)`` that :meth:`run` will get.
    caller : str
        Name used in error messages (``"GA"``, ``"next_generation"``).

    Raises
    ------
    TypeError, ValueError
        Bad operators, ranges, or operators that cannot work on these shapes
        (a tournament larger than the population, a crossover for another
        genome length, ...).

    Notes
    -----
    The plan reads the operators' parameters when it is built: an operator
    changed afterwards needs a new plan.
    """

    __slots__ = (
        "selection", "elitism", "crossover_prob", "mutation_prob", "n_parents",
        "n_out", "n_params", "caller", "pairs", "_cx", "_mut",
    )

    def __init__(
        self,
        selection: Selection,
        crossover: Crossover | None = None,
        mutation: Mutation | Sequence[Mutation] | None = None,
        *,
        elitism: int = 0,
        crossover_prob: float = 1.0,
        mutation_prob: float = 1.0,
        n_parents: int,
        n_out: int,
        n_params: int,
        caller: str = "next_generation",
    ) -> None:
        if not isinstance(selection, Selection):
            raise TypeError(
                f"The 'selection' argument of {caller} must be a Selection "
                f"(Tournament(k=3), Truncation(), ...). Got {selection!r} instead."
            )
        if crossover is not None and not isinstance(crossover, Crossover):
            raise TypeError(
                f"The 'crossover' argument of {caller} must be a Crossover or "
                f"None. Got {crossover!r} instead."
            )
        ops = _as_mutation_list(mutation, caller)
        P = check_int(n_parents, "n_parents", caller=caller, min_val=1)
        n_out = check_int(n_out, "n_out", caller=caller, min_val=0)
        N = check_int(n_params, "n_params", caller=caller, min_val=1)
        if P > MAX_INDEX:
            raise ValueError(
                f"The 'parents' argument of {caller} must have at most 2**32 "
                f"rows. Got {P} instead."
            )
        self.elitism = check_int(elitism, "elitism", caller=caller, min_val=0,
                                 max_val=min(P, n_out))
        self.crossover_prob = check_scalar(crossover_prob, "crossover_prob",
                                           caller=caller, min_val=0.0, max_val=1.0)
        self.mutation_prob = check_scalar(mutation_prob, "mutation_prob",
                                          caller=caller, min_val=0.0, max_val=1.0)
        selection._check_size(P, caller)
        self.selection = selection
        if crossover is None:
            self._cx = (_CX_COPY, prm(), EMPTY_I64)
        else:
            self._cx = crossover._params(N, caller)
        self._mut = _compile_mutations(ops, N, caller)
        self.n_parents, self.n_out, self.n_params = P, n_out, N
        self.caller = caller
        #: parent indices of each row of the last run (reused buffer)
        self.pairs = np.empty((n_out, 2), np.int64)

    def run(
        self,
        parents: Float32Array,
        fitness: np.ndarray,
        out: Float32Array,
        seed: int,
        generation: int,
        minimize: bool,
        n_threads: int | None,
        keys: np.ndarray | None = None,
    ) -> IntArray:
        """Write one generation into ``out``; unchecked.

        ``parents`` float32 C ``(n_parents, n_params)``, ``fitness`` float64
        ``(n_parents,)``, ``out`` float32 C ``(n_out, n_params)`` not aliasing
        ``parents``, ``seed`` a resolved int, ``n_threads`` None or a valid
        count.  Only the fitness-dependent part is computed here: oriented
        fitness, the selection's plan (which may still reject a fitness that
        its scheme cannot use, e.g. negative values for roulette), elites,
        row seeds.  Returns :attr:`pairs`, overwritten by the next run.
        ``keys`` (float64 ``(n_parents,)``, larger is better) replaces the
        fitness for a multi-objective selection (NSGA2's front and crowding
        keys); the elites are then the best by those keys.
        """
        if keys is None:
            keys = _oriented_keys(fitness, minimize)
            sel_code, sel_k, sel_f, sel_cand = self.selection._plan(
                fitness, keys, minimize, self.caller)
        else:
            sel_code, sel_k, sel_f, sel_cand = self.selection._plan_keys(keys)
        pairs, e, n_out = self.pairs, self.elitism, self.n_out
        if e:
            pairs[:e] = _best_indices(keys, e)[:, None]
        if sel_code == _PRE and n_out > e:
            # SUS: 2 picks per child from one stream, as SUS().select would
            _sus_picks(pairs[e:].reshape(-1), sel_f, seed, generation)
        seeds = row_seeds(seed, generation, STREAMS["generation"], n_out)
        cx_code, cx_prm, cx_iprm = self._cx
        codes, table, aux = self._mut
        _k._next_generation(
            parents, out, pairs, seeds, e,
            sel_code, sel_k, sel_f, sel_cand,
            cx_code, cx_prm, cx_iprm, self.crossover_prob,
            codes, table, aux, self.mutation_prob,
            kernel_threads(n_threads, n_out * self.n_params, n_out),
        )
        return pairs


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
    if not isinstance(out, np.ndarray) or out.ndim != 2:
        raise TypeError(
            f"The 'out' argument of {caller} must be a 2-D float32 numpy array "
            f"with {N} columns. Got "
            f"{getattr(out, 'shape', type(out).__name__)} instead."
        )
    out = check_out(out, (out.shape[0], N), caller=caller, forbid_alias=(parents,))
    fit = check_fitness(fitness, P, caller=caller)
    plan = _GenerationPlan(
        selection, crossover, mutation, elitism=elitism,
        crossover_prob=crossover_prob, mutation_prob=mutation_prob,
        n_parents=P, n_out=out.shape[0], n_params=N, caller=caller,
    )
    seed = resolve_seed(seed, caller=caller)
    generation = check_int(generation, "generation", caller=caller, min_val=0)
    nt = threads_for(n_threads, out.shape[0], N)  # validates n_threads
    if check_finite:
        bad = _k._count_nonfinite(parents, nt)
        if bad:
            raise ValueError(
                f"The 'parents' argument of {caller} must be finite. Got {bad} "
                "NaN or infinite values instead."
            )
    return plan.run(parents, fit, out, seed, generation, bool(minimize), n_threads)
