"""Novelty search: an archive of behaviours and the novelty ranking.

Lehman & Stanley (2011) replace the objective by *novelty*: the mean
distance of a behaviour (a point in measure space) to its ``k`` nearest
neighbours among the behaviours seen so far.  :class:`NoveltyArchive` keeps
those behaviours (pyribs' ``ProximityArchive``: a behaviour whose novelty
reaches ``novelty_threshold`` is added) and turns a population's measures
into a higher-is-better score that any algorithm of the library can be told:

- ``mode="novelty"``: the novelty itself (pyribs' ranker "nov");
- ``mode="nslc"``: novelty search with local competition (Lehman & Stanley
  2011b): the rank in a non-dominated sort of (novelty, local competition),
  local competition being how many of the ``k`` nearest neighbours have a
  lower objective; ties inside a front by crowding distance (NSGA-II).

The distances come from one parallel kernel (:mod:`pyneat_lite._kernels.qd`),
rows independent and summed in a fixed order, so the scores do not depend on
the number of threads.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from .. import checkpoint
from .._kernels import qd as _k
from .._threads import numba_thread_count
from .._typing import Float32Array, Float64Array
from .._validation import check_array, check_int, check_scalar

__all__ = ["NoveltyArchive", "NoveltyInfo", "non_dominated_rank"]

_MODES = ("novelty", "nslc")


@dataclass(frozen=True)
class NoveltyInfo:
    """What :meth:`NoveltyArchive.add` reports for each row.

    Attributes
    ----------
    novelty : float64 array of shape (batch,)
    local_competition : int64 array of shape (batch,)
        Neighbours (of the ``k`` nearest) with a lower objective; zeros when
        no objective was given.
    added : bool array of shape (batch,)
    """

    novelty: np.ndarray
    local_competition: np.ndarray
    added: np.ndarray


def _crowding(costs: np.ndarray) -> np.ndarray:
    """NSGA-II crowding distance of the rows of one front (inf at the ends)."""
    n, m = costs.shape
    dist = np.zeros(n)
    if n <= 2:
        dist[:] = np.inf
        return dist
    for j in range(m):
        order = np.argsort(costs[:, j], kind="stable")
        col = costs[order, j]
        span = col[-1] - col[0]
        dist[order[0]] = dist[order[-1]] = np.inf
        if span > 0:
            dist[order[1:-1]] += (col[2:] - col[:-2]) / span
    return dist


def non_dominated_rank(objectives: Any) -> Float64Array:
    """Higher-is-better score from a non-dominated sort of several
    higher-is-better objectives (rows of ``objectives``, shape (n, m)).

    The first front ranks best; inside a front a larger crowding distance
    ranks better (NSGA-II), then the earlier index.  Returns ``n - 1`` for
    the best row down to 0 for the worst (a valid fitness for any algorithm).
    """
    f = check_array(objectives, "objectives", caller="non_dominated_rank", ndim=2,
                    dtype=np.float64)
    n = f.shape[0]
    # dominance matrix: i dominates j when it is >= everywhere and > somewhere
    ge = (f[:, None, :] >= f[None, :, :]).all(axis=2)
    gt = (f[:, None, :] > f[None, :, :]).any(axis=2)
    dom = ge & gt
    n_dominators = dom.sum(axis=0)
    remaining = np.ones(n, dtype=bool)
    order: list[np.ndarray] = []
    while remaining.any():
        front = np.flatnonzero(remaining & (n_dominators == 0))
        crowd = _crowding(f[front])
        # larger crowding first, then the earlier index (lexsort: last key first)
        order.append(front[np.lexsort((front, -crowd))])
        remaining[front] = False
        n_dominators = n_dominators - dom[front].sum(axis=0)
        n_dominators[~remaining] = -1
    ranked = np.concatenate(order)
    score = np.empty(n, dtype=np.float64)
    score[ranked] = np.arange(n - 1, -1, -1, dtype=np.float64)
    return score


class NoveltyArchive:
    """Behaviours seen so far, for novelty search (pyribs' ProximityArchive).

    Parameters
    ----------
    measure_dim : int
        Number of measures (the behaviour descriptor's length).
    k_neighbors : int, default=15
        Neighbours of the novelty average (fewer while the archive is small).
    novelty_threshold : float, default=0.0
        A behaviour enters the archive when its novelty is at least this.
        0 keeps every behaviour (novelty against the whole history).
    include_batch : bool, default=True
        Also count the other rows of the batch as neighbours (Lehman &
        Stanley: novelty against the archive and the current population);
        False is pyribs' rule (the archive alone).
    solution_dim : int, optional
        Also keep each added genome (float32), e.g. to read back the
        behaviours' solutions.
    n_threads : int, optional
        Threads of the distance kernel (results do not depend on it).

    Notes
    -----
    While the archive (and, with ``include_batch``, the rest of the batch) is
    empty, novelty is ``novelty_threshold``, as in pyribs.
    """

    _checkpoint_protocol: ClassVar[int] = checkpoint.PROTOCOL

    def __init__(self, measure_dim: int, *, k_neighbors: int = 15,
                 novelty_threshold: float = 0.0, include_batch: bool = True,
                 solution_dim: int | None = None,
                 n_threads: int | None = None) -> None:
        caller = "NoveltyArchive"
        self._m = check_int(measure_dim, "measure_dim", caller=caller, min_val=1)
        self._k = check_int(k_neighbors, "k_neighbors", caller=caller, min_val=1)
        self._threshold = check_scalar(novelty_threshold, "novelty_threshold",
                                       caller=caller, min_val=0.0)
        self._include_batch = bool(include_batch)
        self._sol_dim = None if solution_dim is None else check_int(
            solution_dim, "solution_dim", caller=caller, min_val=1)
        self._n_threads = n_threads
        self._n = 0
        self._measures = np.zeros((64, self._m), dtype=np.float64)
        self._objective = np.zeros(64, dtype=np.float64)
        self._solutions = (None if self._sol_dim is None
                           else np.zeros((64, self._sol_dim), dtype=np.float32))

    def __len__(self) -> int:
        return self._n

    @property
    def k_neighbors(self) -> int:
        return self._k

    @property
    def novelty_threshold(self) -> float:
        return self._threshold

    @property
    def measures(self) -> Float64Array:
        """Copy of the archived behaviours, float64 (len, measure_dim)."""
        return self._measures[: self._n].copy()

    @property
    def objectives(self) -> Float64Array:
        """Copy of the archived objectives (NaN where none was given)."""
        return self._objective[: self._n].copy()

    @property
    def solutions(self) -> Float32Array | None:
        """Copy of the archived genomes (None without ``solution_dim``)."""
        return None if self._solutions is None else self._solutions[: self._n].copy()

    # ------------------------------------------------------------------ scores
    def _check(self, measures: Any, objective: Any, caller: str
               ) -> tuple[np.ndarray, np.ndarray | None]:
        m = check_array(measures, "measures", caller=caller, ndim=2,
                        dtype=np.float64, finite=False, allow_empty=True)
        if m.shape[1] != self._m:
            raise ValueError(
                f"The 'measures' argument of {caller} must have shape (batch, "
                f"{self._m}). Got shape {m.shape} instead."
            )
        obj = None
        if objective is not None:
            obj = np.ascontiguousarray(objective, dtype=np.float64)
            if obj.shape != (m.shape[0],):
                raise ValueError(
                    f"The 'objective' argument of {caller} must have shape "
                    f"({m.shape[0]},), one value per row of measures. Got shape "
                    f"{obj.shape} instead."
                )
        return m, obj

    def _scores(self, m: np.ndarray, obj: np.ndarray | None
                ) -> tuple[np.ndarray, np.ndarray]:
        """Novelty and local competition of validated rows; rows with a
        non-finite measure get novelty -inf (the worst) and no neighbours."""
        b = m.shape[0]
        finite = np.isfinite(m).all(axis=1)
        nov = np.full(b, -np.inf)
        lc = np.zeros(b, dtype=np.int64)
        q = np.ascontiguousarray(m[finite])
        nq = q.shape[0]
        if self._include_batch:
            points = np.concatenate([q, self._measures[: self._n]])
            skip = True
        else:
            points = self._measures[: self._n]
            skip = False
        n_pts = points.shape[0] - (1 if skip else 0)
        if nq == 0:
            return nov, lc
        if n_pts <= 0:
            nov[finite] = self._threshold
            return nov, lc
        out = np.empty(nq)
        nn = np.empty((nq, self._k if obj is not None else 0), dtype=np.int64)
        nt = numba_thread_count(self._n_threads, nq * points.shape[0] * self._m, nq)
        _k.knn_mean_distance(q, np.ascontiguousarray(points), points.shape[0],
                             self._k, skip, out, nn, nt)
        nov[finite] = out
        if obj is not None:
            # local competition: neighbours with a lower objective
            if skip:
                pobj = np.concatenate([obj[finite], self._objective[: self._n]])
            else:
                pobj = self._objective[: self._n]
            valid = nn >= 0
            with np.errstate(invalid="ignore"):
                lower = pobj[np.where(valid, nn, 0)] < obj[finite][:, None]
            lc[finite] = (lower & valid).sum(axis=1)
        return nov, lc

    def novelty(self, measures: Any) -> Float64Array:
        """Novelty of each row of ``measures`` (float64 (batch,)); a row with
        a non-finite measure gets -inf."""
        m, _ = self._check(measures, None, "NoveltyArchive.novelty")
        return self._scores(m, None)[0]

    def rank(self, measures: Any, objective: Any = None, *,
             mode: str = "novelty") -> Float64Array:
        """Higher-is-better score of each row, to tell an algorithm.

        Parameters
        ----------
        measures : array-like of shape (batch, measure_dim)
        objective : array-like of shape (batch,), optional
            Needed by ``mode="nslc"`` (higher is better; NaN counts worst).
        mode : {"novelty", "nslc"}
            Novelty itself, or the non-dominated rank of (novelty, local
            competition) (:func:`non_dominated_rank`).
        """
        caller = "NoveltyArchive.rank"
        if mode not in _MODES:
            raise ValueError(f"The 'mode' argument of {caller} must be one of "
                             f"{_MODES}. Got {mode!r} instead.")
        if mode == "nslc" and objective is None:
            raise ValueError(f"{caller}(mode='nslc') needs the 'objective' of the "
                             "rows (local competition compares them).")
        m, obj = self._check(measures, objective, caller)
        nov, lc = self._scores(m, obj)
        if mode == "novelty":
            return nov
        finite_nov = np.where(np.isfinite(nov), nov, -1.0)
        lc_f = np.where(np.isnan(obj), -1.0, lc.astype(np.float64))
        return non_dominated_rank(np.stack([finite_nov, lc_f], axis=1))

    # ---------------------------------------------------------------- insertion
    def add(self, measures: Any, objective: Any = None,
            solutions: Any = None) -> NoveltyInfo:
        """Score a batch and add the rows whose novelty reaches the threshold.

        Novelty is computed against the archive before the batch (and the
        batch itself with ``include_batch``); rows with non-finite measures
        are never added.
        """
        caller = "NoveltyArchive.add"
        m, obj = self._check(measures, objective, caller)
        sol = None
        if self._sol_dim is not None:
            if solutions is None:
                raise ValueError(f"The 'solutions' argument of {caller} is "
                                 "required (the archive keeps genomes).")
            sol = check_array(solutions, "solutions", caller=caller, ndim=2,
                              finite=False, allow_empty=True)
            if sol.shape != (m.shape[0], self._sol_dim):
                raise ValueError(
                    f"The 'solutions' argument of {caller} must have shape "
                    f"({m.shape[0]}, {self._sol_dim}). Got shape {sol.shape} "
                    "instead."
                )
        nov, lc = self._scores(m, obj)
        added = np.isfinite(nov) & (nov >= self._threshold)
        idx = np.flatnonzero(added)
        self._append(m[idx], None if obj is None else obj[idx],
                     None if sol is None else sol[idx])
        return NoveltyInfo(nov, lc, added)

    def _append(self, m: np.ndarray, obj: np.ndarray | None,
                sol: np.ndarray | None) -> None:
        k = m.shape[0]
        need = self._n + k
        if need > self._measures.shape[0]:
            cap = max(need, 2 * self._measures.shape[0])
            self._measures = np.resize(self._measures, (cap, self._m))
            self._objective = np.resize(self._objective, cap)
            if self._solutions is not None:
                self._solutions = np.resize(self._solutions, (cap, self._sol_dim))
        s = slice(self._n, need)
        self._measures[s] = m
        self._objective[s] = np.nan if obj is None else obj
        if self._solutions is not None and sol is not None:
            self._solutions[s] = sol
        self._n = need

    def fitness(self, fn: Callable[[Float32Array], Any], *, mode: str = "novelty",
                add: bool = True) -> Callable[[Float32Array], Float64Array]:
        """Wrap ``fn(population) -> (objective, measures)`` into a fitness
        ``population -> score`` for ``algo.run`` / ``algo.tell``.

        Each call scores the population (:meth:`rank`) and, with ``add``,
        adds it to the archive (:meth:`add`).  ``fitness.last`` holds the
        last ``(objective, measures)``.
        """
        if mode not in _MODES:
            raise ValueError(f"The 'mode' argument of NoveltyArchive.fitness must "
                             f"be one of {_MODES}. Got {mode!r} instead.")

        def score(pop: Float32Array) -> Float64Array:
            objective, measures = fn(pop)
            s = self.rank(measures, objective, mode=mode)
            if add:
                self.add(measures, objective,
                         pop if self._sol_dim is not None else None)
            score.last = (objective, measures)  # type: ignore[attr-defined]
            return s

        score.last = None  # type: ignore[attr-defined]
        return score

    # ------------------------------------------------------------- checkpoints
    def save(self, path: Any) -> None:
        """Write the archive to ``path`` (``pn.load`` reads it back)."""
        checkpoint.save(self, path)

    def _state(self) -> tuple[dict[str, Any], dict[str, Any], dict[str, np.ndarray]]:
        params = {"measure_dim": self._m, "k_neighbors": self._k,
                  "novelty_threshold": self._threshold,
                  "include_batch": self._include_batch,
                  "solution_dim": self._sol_dim, "n_threads": self._n_threads}
        arrays = {"measures": self.measures, "objective": self.objectives}
        if self._solutions is not None:
            arrays["solutions"] = self.solutions
        return params, {"n": self._n}, arrays

    @classmethod
    def _from_checkpoint(cls, params: dict[str, Any], scalars: dict[str, Any],
                         arrays: dict[str, np.ndarray]) -> NoveltyArchive:
        a = cls(**params)
        n = int(scalars["n"])
        sol = arrays.get("solutions")
        a._append(np.ascontiguousarray(arrays["measures"][:n]), arrays["objective"][:n],
                  None if sol is None else sol[:n])
        return a

    def __repr__(self) -> str:
        return (f"NoveltyArchive(measure_dim={self._m}, k_neighbors={self._k}, "
                f"novelty_threshold={self._threshold:g}, size={self._n})")
