"""Emitters: where the next candidates of a quality-diversity search come from.

An emitter proposes ``batch_size`` float32 genomes from the archive
(:meth:`Emitter.ask`) and learns from how they fared in it
(:meth:`Emitter.tell` with the archive's statuses and values).  Every random
draw is keyed by ``(seed, iteration, stream, row)`` (:mod:`pyneat_lite._rng`),
so a search is reproducible bit for bit whatever the number of threads, and
an emitter's whole state is a few numbers and arrays (checkpoints).

- :class:`GaussianEmitter`: an elite plus isotropic Gaussian noise
  (MAP-Elites, Mouret & Clune 2015).
- :class:`IsoLineEmitter`: an elite plus isotropic noise plus a Gaussian step
  along the line to another elite (Vassiliades & Mouret 2018).
- :class:`EvolutionStrategyEmitter`: the library's :class:`~pyneat_lite.SepCMAES`
  ranked by archive improvement -- two-stage improvement ("2imp", CMA-ME,
  Fontaine et al. 2020) or improvement over the soft threshold ("imp",
  CMA-MAE, Fontaine & Nikolaidis 2023) -- restarted from a random elite when
  it stalls.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from .._kernels import qd as _k
from .._rng import STREAMS, fill_standard_normal, resolve_seed, row_seeds
from .._typing import Float32Array
from .._validation import check_array, check_int, check_scalar
from ..algorithms.sepcma import SepCMAES
from ._es_group import SepGroup
from .archives import _ArchiveBase

__all__ = ["Emitter", "GaussianEmitter", "IsoLineEmitter",
           "EvolutionStrategyEmitter", "EMITTERS"]


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


class IsoLineEmitter(Emitter):
    """Iso+line variation of random elites (Vassiliades & Mouret 2018).

    Each genome is ``a + iso_sigma * N(0, I) + line_sigma * N(0, 1) * (b - a)``
    for two elites ``a``, ``b`` drawn uniformly from the archive (``x0``
    while it is empty).

    Parameters
    ----------
    archive, x0, batch_size, seed
        As in :class:`Emitter`.
    iso_sigma : float, default=0.01
        Isotropic standard deviation.
    line_sigma : float, default=0.2
        Standard deviation along the line between the two elites.
    bounds : (low, high) or array-like of shape (solution_dim, 2), optional
        Clip the genomes to these bounds.
    """

    name = "iso_line"

    def __init__(self, archive: _ArchiveBase, x0: Any, *, iso_sigma: float = 0.01,
                 line_sigma: float = 0.2, batch_size: int = 64, bounds: Any = None,
                 seed: Any = None) -> None:
        caller = type(self).__name__
        super().__init__(archive, x0, batch_size, seed, caller)
        self._iso = check_scalar(iso_sigma, "iso_sigma", caller=caller, min_val=0.0)
        self._line = check_scalar(line_sigma, "line_sigma", caller=caller,
                                  min_val=0.0)
        self._bounds_arg = None if bounds is None else np.asarray(
            bounds, dtype=np.float64).tolist()
        b = _check_bounds(bounds, archive.solution_dim, caller)
        n = archive.solution_dim
        self._clip = b is not None
        self._lower, self._upper = b if b is not None else (np.zeros(n), np.zeros(n))
        self._z = np.empty((self._batch_size, n + 1), dtype=np.float32)
        self._out = np.empty((self._batch_size, n), dtype=np.float32)
        self._asked_at = -1

    def _parents(self) -> tuple[np.ndarray, np.ndarray]:
        b = self._batch_size
        if self._archive.empty:
            none = np.full(b, -1, dtype=np.int64)
            return none, none
        idx = self._archive.sample_elites(2 * b, seed=self._seed,
                                          generation=self._itrs)
        return idx[:b], idx[b:]

    def ask(self) -> Float32Array:
        if self._asked_at == self._itrs:
            return self._out
        first, second = self._parents()
        fill_standard_normal(self._z, self._seed, self._itrs, STREAMS["qd_noise"], 1)
        _k.variation(self._archive._solutions, first, second, self._z, self._iso,
                     self._line, self._x0, self._lower, self._upper, self._clip,
                     self._out)
        self._asked_at = self._itrs
        return self._out

    def tell(self, solutions, objective, measures, status, value) -> None:
        super().tell(solutions, objective, measures, status, value)

    def _config(self) -> dict[str, Any]:
        return {**super()._config(), "iso_sigma": self._iso,
                "line_sigma": self._line, "bounds": self._bounds_arg}

    def _set_state(self, scalars, arrays) -> None:
        super()._set_state(scalars, arrays)
        self._asked_at = -1


class GaussianEmitter(IsoLineEmitter):
    """An elite drawn uniformly from the archive plus ``N(0, sigma^2 I)``
    (MAP-Elites; ``x0`` plus noise while the archive is empty).

    Parameters
    ----------
    archive, x0, batch_size, seed
        As in :class:`Emitter`.
    sigma : float, default=0.1
        Standard deviation of the mutation.
    bounds : (low, high) or array-like of shape (solution_dim, 2), optional
        Clip the genomes to these bounds.
    """

    name = "gaussian"

    def __init__(self, archive: _ArchiveBase, x0: Any, *, sigma: float = 0.1,
                 batch_size: int = 64, bounds: Any = None, seed: Any = None) -> None:
        check_scalar(sigma, "sigma", caller=type(self).__name__, min_val=0.0)
        super().__init__(archive, x0, iso_sigma=sigma, line_sigma=0.0,
                         batch_size=batch_size, bounds=bounds, seed=seed)

    @property
    def sigma(self) -> float:
        return self._iso

    def _config(self) -> dict[str, Any]:
        c = super()._config()
        c["sigma"] = c.pop("iso_sigma")
        c.pop("line_sigma")
        return c


_RANKERS = ("imp", "2imp")
_RESTARTS = ("basic", "no_improvement")
_SELECTIONS = ("mu", "filter")


class EvolutionStrategyEmitter(Emitter):
    """SepCMAES driven by archive improvement: CMA-ME and CMA-MAE.

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
    selection_rule : {"mu", "filter"}, default="mu"
        The parents of the update: the top half of the ranking ("mu"), or
        only the ``k`` genomes that entered the archive, with the weights
        and learning rates of ``k`` parents ("filter", pyribs' default; no
        update when none entered).
    restart_rule : {"basic", "no_improvement"} or int, default="no_improvement"
        When to restart from a random elite: "basic" when the strategy has
        converged (step size below 1e-11, condition number of the diagonal
        covariance above 1e14, or all improvement values of a batch within
        1e-12); "no_improvement" also when no genome of a batch entered the
        archive; an int ``k`` also after ``k`` batches in a row without one.
    bounds : (low, high) or array-like of shape (solution_dim, 2), optional
        Clip the genomes to these bounds (the strategy learns from its
        unclipped samples; pyribs resamples instead).
    n_threads : int, optional
        Threads of the strategy's kernels (results do not depend on it).

    Notes
    -----
    The strategy is separable CMA-ES (diagonal covariance, Ros & Hansen 2008),
    so a batch costs O(batch_size * solution_dim); pyribs' emitter uses full
    CMA-ES by default.
    """

    name = "es"

    def __init__(self, archive: _ArchiveBase, x0: Any, *, sigma0: float = 0.5,
                 ranker: str = "2imp", selection_rule: str = "mu",
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
        self._es_kind = "sep_cma"
        self._es = self._new_es(self._x0)
        # the group whose buffers hold the strategy's arrays (None: its own),
        # and the group of this emitter alone that its own tell uses
        self._group: SepGroup | None = None
        self._solo: SepGroup | None = None

    def _new_es(self, x0: np.ndarray) -> SepCMAES:
        # one strategy seed per restart, from the emitter's own key
        es_seed = int(row_seeds(self._seed, self._restarts, STREAMS["qd_select"],
                                1)[0] >> np.uint64(1))
        return SepCMAES(self._archive.solution_dim, self._batch_size,
                        sigma=self._sigma0, mu=self._batch_size // 2, x0=x0,
                        seed=es_seed, hall_of_fame_size=1,
                        n_threads=self._n_threads)

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
        # one kernel call ranks the batch and updates the strategy: the same
        # code as the scheduler's fused step over all its ES emitters
        if self._solo is None:
            self._solo = SepGroup([self])
        self._solo.tell(np.ascontiguousarray(status, dtype=np.int32),
                        np.ascontiguousarray(value, dtype=np.float64))

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
                "selection_rule": self._selection_rule,
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
        self._es = SepCMAES._from_checkpoint(scalars["es_params"],
                                             scalars["es_scalars"], es_arrays)
        self._group = None


#: short name -> emitter class (checkpoints rebuild emitters from it)
EMITTERS: dict[str, type[Emitter]] = {
    "gaussian": GaussianEmitter,
    "iso_line": IsoLineEmitter,
    "es": EvolutionStrategyEmitter,
}
