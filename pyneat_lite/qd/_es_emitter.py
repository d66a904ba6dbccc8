"""The evolution-strategy emitter: CMA-ME and CMA-MAE (private; public as
:class:`pyneat_lite.qd.EvolutionStrategyEmitter`)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import _ranking
from .._rng import STREAMS, row_seeds
from .._typing import Float32Array
from .._validation import check_int, check_scalar
from ..algorithms.cmaes import CMAES, cma_parameters
from ..algorithms.sepcma import SepCMAES
from ._emitter_base import Emitter, _check_bounds
from ._es_group import SepGroup
from .archives import _ArchiveBase

__all__ = ["EvolutionStrategyEmitter"]


_RANKERS = ("imp", "2imp")
_RESTARTS = ("basic", "no_improvement")
_SELECTIONS = ("mu", "filter")
#: es= name -> strategy class
_STRATEGIES: dict[str, type] = {"sep_cma": SepCMAES, "cmaes": CMAES}
# the attributes of a CMAES that depend on its number of parents
_CMA_PARENT_ATTRS = ("_params", "_weights", "_mueff", "_cs", "_ds", "_cc", "_c1",
                     "_cmu", "_chi_n", "_wsum")


class EvolutionStrategyEmitter(Emitter):
    """SepCMAES or CMAES driven by archive improvement: CMA-ME and CMA-MAE.

    Each batch is ranked by improvement and the top half (``mu``, log-linear
    weights) updates the strategy.  With ``ranker="2imp"`` genomes that
    filled a new cell rank first, then those that improved a cell, each
    group by value (CMA-ME; use an archive with ``learning_rate=1``,
    ``threshold_min=-inf``); with ``ranker="imp"`` they rank by value
    alone, the improvement over the cell's soft threshold (CMA-MAE, with an
    archive of ``learning_rate < 1`` and a finite ``threshold_min``).

    Parameters
    ----------
    archive, x0, batch_size, seed
        As in :class:`Emitter`; ``x0`` is the first centre.
    sigma0 : float, default=0.5
        Initial step size (also after every restart).
    ranker : {"2imp", "imp"}, default="2imp"
        Two-stage improvement (CMA-ME) or improvement (CMA-MAE).
    es : {"sep_cma", "cmaes"}, default="sep_cma"
        The strategy: :class:`~pyneat_lite.SepCMAES` (diagonal covariance,
        O(batch_size * solution_dim) per batch; a scheduler steps all such
        emitters of one kind in one kernel call) or the full-covariance
        :class:`~pyneat_lite.CMAES` without active weights (pyribs'
        CMAEvolutionStrategy; O(batch_size * solution_dim**2) per batch).
    selection_rule : {"mu", "filter"}, default="mu"
        The parents of the update: the top half of the ranking ("mu"), or
        only the ``k`` genomes that entered the archive, with the weights
        and learning rates of ``k`` parents ("filter", pyribs' default; no
        update when none entered).
    restart_rule : {"basic", "no_improvement"} or int, default="no_improvement"
        When to restart from a random elite: "basic" when the strategy has
        converged (step size times the largest axis below 1e-11, condition
        number of the covariance above 1e14, or all improvement values of a
        batch within 1e-12); "no_improvement" also when no genome of a batch entered the
        archive; an int ``k`` also after ``k`` batches in a row without one.
    bounds : (low, high) or array-like of shape (solution_dim, 2), optional
        Clip the genomes to these bounds (the strategy learns from its
        unclipped samples; pyribs resamples instead).
    n_threads : int, optional
        Threads of the strategy's kernels (results do not depend on it).

    Notes
    -----
    The default strategy is separable CMA-ES (Ros & Hansen 2008); pyribs'
    emitter uses full CMA-ES by default (``es="cmaes"`` here).
    """

    name = "es"

    def __init__(self, archive: _ArchiveBase, x0: Any, *, sigma0: float = 0.5,
                 ranker: str = "2imp", es: str = "sep_cma",
                 selection_rule: str = "mu",
                 restart_rule: str | int = "no_improvement", batch_size: int = 36,
                 bounds: Any = None, seed: Any = None,
                 n_threads: int | None = None) -> None:
        caller = type(self).__name__
        super().__init__(archive, x0, batch_size, seed, caller)
        self._bounds_arg = None if bounds is None else np.asarray(
            bounds, dtype=np.float64).tolist()
        b = _check_bounds(bounds, archive.solution_dim, caller)
        self._lower, self._upper = b if b is not None else (None, None)
        self._out = np.empty((self._batch_size, archive.solution_dim), np.float32)
        if self._batch_size < 2:
            raise ValueError(
                f"The 'batch_size' parameter of {caller} must be at least 2 (a "
                f"strategy ranks its samples). Got {batch_size!r} instead."
            )
        self._sigma0 = check_scalar(sigma0, "sigma0", caller=caller, min_val=0.0,
                                    include_min=False)
        if ranker not in _RANKERS:
            raise ValueError(
                f"The 'ranker' parameter of {caller} must be one of {_RANKERS}. "
                f"Got {ranker!r} instead."
            )
        self._ranker = ranker
        if selection_rule not in _SELECTIONS:
            raise ValueError(
                f"The 'selection_rule' parameter of {caller} must be one of "
                f"{_SELECTIONS}. Got {selection_rule!r} instead."
            )
        self._selection_rule = selection_rule
        if isinstance(restart_rule, str):
            if restart_rule not in _RESTARTS:
                raise ValueError(
                    f"The 'restart_rule' parameter of {caller} must be one of "
                    f"{_RESTARTS} or a positive int. Got {restart_rule!r} instead."
                )
        else:
            check_int(restart_rule, "restart_rule", caller=caller, min_val=1)
        self._restart_rule = restart_rule
        self._n_threads = n_threads
        self._restarts = 0
        self._stall = 0
        if es not in _STRATEGIES:
            raise ValueError(
                f"The 'es' parameter of {caller} must be one of "
                f"{tuple(_STRATEGIES)}. Got {es!r} instead."
            )
        self._es_kind = es
        self._cma_sets: dict[int, dict[str, Any]] = {}  # CMAES: k -> parameters
        self._es = self._new_es(self._x0)
        # the group whose buffers hold the strategy's arrays (None: its own),
        # and the group of this emitter alone that its own tell uses
        self._group: SepGroup | None = None
        self._solo: SepGroup | None = None

    def _new_es(self, x0: np.ndarray) -> Any:
        # one strategy seed per restart, from the emitter's own key
        es_seed = int(row_seeds(self._seed, self._restarts, STREAMS["qd_select"],
                                1)[0] >> np.uint64(1))
        extra = {"active": False} if self._es_kind == "cmaes" else {}
        return _STRATEGIES[self._es_kind](
            self._archive.solution_dim, self._batch_size, sigma=self._sigma0,
            mu=self._batch_size // 2, x0=x0, seed=es_seed, hall_of_fame_size=1,
            n_threads=self._n_threads, **extra)

    @property
    def restarts(self) -> int:
        """Restarts so far."""
        return self._restarts

    @property
    def mean(self) -> Float32Array:
        """The strategy's current centre."""
        return self._es.mean

    @property
    def step_size(self) -> float:
        """The strategy's current global step size."""
        return self._es.step_size

    def ask(self) -> Float32Array:
        pop = self._es.ask()
        if self._lower is None:
            return pop
        np.clip(pop, self._lower, self._upper, out=self._out)
        return self._out

    def tell(self, solutions, objective, measures, status, value) -> None:
        status = np.ascontiguousarray(status, dtype=np.int32)
        value = np.ascontiguousarray(value, dtype=np.float64)
        if self._es_kind == "sep_cma":
            # one kernel call ranks the batch and updates the strategy: the
            # same code as the scheduler's fused step over its ES emitters
            if self._solo is None:
                self._solo = SepGroup([self])
            self._solo.tell(status, value)
            return
        self._itrs += 1
        # rank by improvement (ties by index); only the order reaches the
        # strategy, so its fitness is the rank (finite where a value is -inf)
        if self._ranker == "imp":
            order = _ranking.order(value)
        else:
            order = np.lexsort((np.arange(value.shape[0]), -value, -status))
        b = self._batch_size
        score = np.empty(b, dtype=np.float64)
        score[order] = np.arange(b - 1, -1, -1, dtype=np.float64)
        added = bool(np.any(status > 0))
        k = int(np.count_nonzero(status > 0)) if self._selection_rule == "filter" \
            else b // 2
        es = self._es
        # the strategy's unchecked update (what its public tell runs after
        # validation, NaN policy, hall of fame and history), with k parents
        es._evaluations += b
        if k > 0:
            if k == es._params.mu:
                es._tell(score, score)
            else:
                self._cma_tell_parents(es, score, k)
        es._generation += 1
        es._pending = False
        es._told = True
        self._stall = 0 if added else self._stall + 1
        first, last = value[order[0]], value[order[-1]]
        ev = es._d * es._d  # C's eigenvalues at the last decomposition
        converged = (es.step_size * math.sqrt(float(ev.max())) < 1e-11
                     or float(ev.max()) > 1e14 * float(ev.min())
                     or (math.isfinite(first) and math.isfinite(last)
                         and abs(first - last) < 1e-12))
        if converged or self._rule_restart(added):
            self._restart()

    def _cma_tell_parents(self, es: CMAES, score: np.ndarray, k: int) -> None:
        """CMAES's update with ``k`` parents: its weights and learning rates
        for ``k`` (:func:`~pyneat_lite.algorithms.cmaes.cma_parameters`), the
        strategy's own restored afterwards."""
        import dataclasses

        if k not in self._cma_sets:
            p = dataclasses.replace(es._params, mu=k)
            c = {"_" + n: v for n, v in cma_parameters(
                p.n_params, p.pop_size, k, p.active).items()}
            c["_params"] = p
            c["_wsum"] = float(c["_weights"].sum())
            self._cma_sets[k] = c
        own = {n: getattr(es, n) for n in _CMA_PARENT_ATTRS}
        try:
            for n, v in self._cma_sets[k].items():
                setattr(es, n, v)
            es._tell(score, score)
        finally:
            for n, v in own.items():
                setattr(es, n, v)

    def _rule_restart(self, added: bool) -> bool:
        """The restart rule's verdict after a batch (convergence aside)."""
        rule = self._restart_rule
        if rule == "no_improvement":
            return not added
        if isinstance(rule, int):
            return self._stall >= rule
        return False

    def _restart(self) -> None:
        self._restarts += 1
        self._stall = 0
        if self._archive.empty:
            x0 = self._x0
        else:
            c = self._archive.sample_elites(1, seed=self._seed,
                                            generation=self._itrs)[0]
            x0 = self._archive._solutions[c].astype(np.float64)
        self._es = self._new_es(x0)
        self._group = None  # the new strategy's arrays are its own

    def _config(self) -> dict[str, Any]:
        return {**super()._config(), "sigma0": self._sigma0, "ranker": self._ranker,
                "es": self._es_kind, "selection_rule": self._selection_rule,
                "restart_rule": self._restart_rule, "bounds": self._bounds_arg,
                "n_threads": self._n_threads}

    def _state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        scalars, arrays = super()._state()
        es_params, es_scalars, es_arrays = self._es._state()
        scalars.update(restarts=self._restarts, stall=self._stall,
                       es_params=es_params, es_scalars=es_scalars)
        arrays.update({f"es/{k}": v for k, v in es_arrays.items()})
        return scalars, arrays

    def _set_state(self, scalars, arrays) -> None:
        super()._set_state(scalars, arrays)
        self._restarts = int(scalars["restarts"])
        self._stall = int(scalars["stall"])
        es_arrays = {k[3:]: v for k, v in arrays.items() if k.startswith("es/")}
        self._es = _STRATEGIES[self._es_kind]._from_checkpoint(
            scalars["es_params"], scalars["es_scalars"], es_arrays)
        self._group = None
