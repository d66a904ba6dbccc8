"""The archives' shared base (private): buffers, batch insertion, statistics,
sampling and checkpoints of :class:`~pyneat_lite.qd.archives.GridArchive` and
:class:`~pyneat_lite.qd.archives.CVTArchive`, and the validation of measure
ranges.  The insertion rule is described in :mod:`pyneat_lite.qd.archives`.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from .. import checkpoint
from .._kernels import qd as _k
from .._rng import STREAMS, uniform
from .._typing import Float64Array
from .._validation import check_array, check_int, check_scalar

if TYPE_CHECKING:
    from .archives import AddInfo, ArchiveStats, Elite


_OUT_OF_RANGE = ("clip", "ignore", "raise")


def _check_ranges(ranges: Any, caller: str, n: int | None = None) -> Float64Array:
    try:
        r = np.asarray(ranges, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"The 'ranges' parameter of {caller} must be a sequence of (low, high) "
            f"pairs. Got {ranges!r} instead."
        ) from exc
    if r.ndim != 2 or r.shape[1] != 2 or r.shape[0] == 0 or (
            n is not None and r.shape[0] != n):
        want = f"{n} " if n is not None else ""
        raise ValueError(
            f"The 'ranges' parameter of {caller} must be {want}(low, high) pairs, "
            f"one per measure. Got shape {r.shape} instead."
        )
    if not np.isfinite(r).all() or not (r[:, 0] < r[:, 1]).all():
        raise ValueError(
            f"The 'ranges' parameter of {caller} must hold finite pairs with "
            f"low < high. Got {r.tolist()} instead."
        )
    return np.ascontiguousarray(r)



def check_objective(objective: Any, n: int, caller: str, shape_note: str) -> np.ndarray:
    """``objective`` as a float64 ``(n,)`` C-contiguous array, or a clear error.

    A float64 ``(n,)`` C-contiguous array (what most objectives are) is
    returned as it is; ``shape_note`` ends the shape message's ``(n,`` part.
    """
    obj = objective
    if (type(obj) is np.ndarray and obj.dtype == np.float64
            and obj.shape == (n,) and obj.flags.c_contiguous):
        return obj
    obj = np.asarray(objective)
    if obj.dtype.kind not in "biuf":
        raise TypeError(
            f"The 'objective' argument of {caller} must hold real numbers. "
            f"Got dtype {obj.dtype} instead."
        )
    obj = np.ascontiguousarray(obj, dtype=np.float64)
    if obj.shape != (n,):
        raise ValueError(
            f"The 'objective' argument of {caller} must have shape ({n},"
            f"{shape_note}. Got shape {obj.shape} instead."
        )
    return obj

class _ArchiveBase:
    """Buffers, insertion, statistics and checkpoints shared by the archives
    (not instantiated directly).  Subclasses set ``cells``, the measure
    ranges and implement :meth:`_indices`."""

    _checkpoint_protocol: ClassVar[int] = checkpoint.PROTOCOL

    def _init_buffers(self, solution_dim: int, measure_dim: int, cells: int,
                      learning_rate: Any, threshold_min: Any, qd_score_offset: Any,
                      out_of_range: str, caller: str) -> None:
        self._caller = caller
        self._solution_dim = check_int(solution_dim, "solution_dim", caller=caller,
                                       min_val=1)
        lr = check_scalar(learning_rate, "learning_rate", caller=caller,
                          min_val=0.0, max_val=1.0)
        if isinstance(threshold_min, bool) or not isinstance(
                threshold_min, (int, float, np.integer, np.floating)):
            raise TypeError(
                f"The 'threshold_min' parameter of {caller} must be a real number "
                f"or -inf. Got {threshold_min!r} instead."
            )
        tmin = float(threshold_min)
        if math.isnan(tmin) or tmin == math.inf:
            raise ValueError(
                f"The 'threshold_min' parameter of {caller} must be finite or "
                f"-inf. Got {threshold_min!r} instead."
            )
        if tmin == -math.inf and lr != 1.0:
            raise ValueError(
                f"The 'learning_rate' parameter of {caller} must be 1.0 when "
                f"threshold_min is -inf (CMA-ME acceptance); a soft threshold "
                f"needs a finite threshold_min. Got learning_rate={lr!r}."
            )
        self._learning_rate = lr
        self._threshold_min = tmin
        self._qd_score_offset = check_scalar(qd_score_offset, "qd_score_offset",
                                             caller=caller)
        if out_of_range not in _OUT_OF_RANGE:
            raise ValueError(
                f"The 'out_of_range' parameter of {caller} must be one of "
                f"{_OUT_OF_RANGE}. Got {out_of_range!r} instead."
            )
        self._out_of_range = out_of_range
        self._measure_dim = measure_dim
        self._cells = cells
        self._occupied = np.zeros(cells, dtype=np.bool_)
        self._objective = np.zeros(cells, dtype=np.float64)
        self._threshold = np.full(cells, tmin, dtype=np.float64)
        self._solutions = np.zeros((cells, self._solution_dim), dtype=np.float32)
        self._measures = np.zeros((cells, measure_dim), dtype=np.float64)
        self._n_elites = 0
        # the statistics' partial sums and maxima per block of _k.BLOCK
        # cells, updated by each insertion (O(changed cells), not O(cells))
        n_blocks = -(-cells // _k.BLOCK)
        self._block_sum = np.zeros(n_blocks, dtype=np.float64)
        self._block_max = np.full(n_blocks, -np.inf, dtype=np.float64)
        self._block_mark = np.zeros(n_blocks, dtype=np.bool_)

    # --------------------------------------------------------------- properties
    @property
    def cells(self) -> int:
        """Number of cells."""
        return self._cells

    @property
    def solution_dim(self) -> int:
        """Genome length."""
        return self._solution_dim

    @property
    def measure_dim(self) -> int:
        """Number of measures."""
        return self._measure_dim

    @property
    def learning_rate(self) -> float:
        """CMA-MAE archive learning rate (1: CMA-ME / MAP-Elites)."""
        return self._learning_rate

    @property
    def threshold_min(self) -> float:
        """Threshold of an empty cell (-inf: CMA-ME / MAP-Elites)."""
        return self._threshold_min

    @property
    def qd_score_offset(self) -> float:
        """Subtracted from every objective in the QD score."""
        return self._qd_score_offset

    @property
    def lower_bounds(self) -> Float64Array:
        """Lower end of each measure's range."""
        return self._ranges[:, 0].copy()

    @property
    def upper_bounds(self) -> Float64Array:
        """Upper end of each measure's range."""
        return self._ranges[:, 1].copy()

    def __len__(self) -> int:
        return self._n_elites

    @property
    def empty(self) -> bool:
        """Whether no cell is occupied."""
        return self._n_elites == 0

    # ---------------------------------------------------------------- insertion
    def _check_measures(self, measures: Any, n: int | None, caller: str) -> np.ndarray:
        if (type(measures) is np.ndarray and measures.dtype == np.float64
                and measures.ndim == 2 and measures.flags.c_contiguous
                and measures.shape[1] == self._measure_dim
                and (n is None or measures.shape[0] == n)
                and self._out_of_range != "raise"):
            # already what check_array would return (non-finite values are
            # allowed): the scheduler's per-iteration path skips its copies
            return measures
        m = check_array(measures, "measures", caller=caller, ndim=2,
                        dtype=np.float64, finite=False, allow_empty=True)
        if m.shape[1] != self._measure_dim or (n is not None and m.shape[0] != n):
            rows = n if n is not None else "batch"
            raise ValueError(
                f"The 'measures' argument of {caller} must have shape "
                f"({rows}, {self._measure_dim}). Got shape {m.shape} instead."
            )
        if self._out_of_range == "raise":
            lo, hi = self._ranges[:, 0], self._ranges[:, 1]
            with np.errstate(invalid="ignore"):
                bad = np.isfinite(m).all(axis=1) & ((m < lo) | (m > hi)).any(axis=1)
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise ValueError(
                    f"The 'measures' argument of {caller} must lie within the "
                    f"archive's ranges {self._ranges.tolist()} (out_of_range="
                    f"'raise'). Got {int(bad.sum())} rows outside, the first "
                    f"being row {i}: {m[i].tolist()}."
                )
        return m

    def index_of(self, measures: Any) -> np.ndarray:
        """Cell index of each row of ``measures`` (float (batch, measure_dim)).

        Out-of-range rows go to the nearest edge cell (``out_of_range="clip"``,
        pyribs' rule), get -1 (``"ignore"``) or raise (``"raise"``); rows with
        non-finite measures get -1.
        """
        m = self._check_measures(measures, None, f"{type(self).__name__}.index_of")
        out = np.empty(m.shape[0], dtype=np.int64)
        self._indices(m, out)
        return out

    def add(self, solutions: Any, objective: Any, measures: Any) -> AddInfo:
        """Insert a batch (see :mod:`pyneat_lite.qd.archives` for the rule).

        Parameters
        ----------
        solutions : array-like of shape (batch, solution_dim)
            Genomes (stored as float32).
        objective : array-like of shape (batch,)
            Higher is better.  NaN and infinite values count as the worst
            objective: such rows are never inserted (value -inf).
        measures : array-like of shape (batch, measure_dim)
            Measures; a row with a non-finite measure is never inserted.

        Returns
        -------
        AddInfo
            Status and value of each row.
        """
        caller = f"{type(self).__name__}.add"
        sol = check_array(solutions, "solutions", caller=caller, ndim=2,
                          finite=False, allow_empty=True)
        if sol.shape[1] != self._solution_dim:
            raise ValueError(
                f"The 'solutions' argument of {caller} must have shape (batch, "
                f"{self._solution_dim}). Got shape {sol.shape} instead."
            )
        n = sol.shape[0]
        obj = check_objective(objective, n, caller, "), one value per solution")
        m = self._check_measures(measures, n, caller)
        status = np.empty(n, dtype=np.int32)
        value = np.empty(n, dtype=np.float64)
        idx = np.empty(n, dtype=np.int64)
        self._add_unchecked(sol, obj, m, idx, status, value)
        from .archives import AddInfo  # archives imports this module

        return AddInfo(status, value)

    def _add_unchecked(self, sol: np.ndarray, obj: np.ndarray, m: np.ndarray,
                       idx: np.ndarray, status: np.ndarray, value: np.ndarray,
                       touched: np.ndarray | None = None) -> None:
        """:meth:`add` on validated, C-contiguous arrays into given outputs
        (``touched``: int64 scratch of at least the batch's rows, or None)."""
        n = sol.shape[0]
        if n == 0:
            return
        self._indices(m, idx)
        if touched is None:
            touched = np.empty(n, dtype=np.int64)
        self._n_elites += int(_k.batch_add(
            idx, obj, sol, m, self._occupied, self._objective, self._threshold,
            self._solutions, self._measures, self._learning_rate,
            self._threshold_min, status, value, touched, self._block_sum,
            self._block_max, self._block_mark))

    def clear(self) -> None:
        """Empty every cell (thresholds back to ``threshold_min``)."""
        self._occupied[:] = False
        self._objective[:] = 0.0
        self._threshold[:] = self._threshold_min
        self._solutions[:] = 0.0
        self._measures[:] = 0.0
        self._n_elites = 0
        self._block_sum[:] = 0.0
        self._block_max[:] = -np.inf

    # -------------------------------------------------------------- statistics
    @property
    def stats(self) -> ArchiveStats:
        """Coverage, QD score (with ``qd_score_offset``), best and mean
        objective of the elites."""
        from .archives import ArchiveStats  # archives imports this module

        return ArchiveStats(*self._stats_values())

    def _stats_values(self) -> tuple[int, float, float, float, float, float]:
        """The fields of :attr:`stats`, without building it (the scheduler
        records them every iteration)."""
        n = self._n_elites
        cells = self._cells
        if n == 0:
            return 0, 0.0, 0.0, 0.0, math.nan, math.nan
        total, best = _k.archive_sums(self._block_sum, self._block_max)
        qd = total - n * self._qd_score_offset
        return n, n / cells, qd, qd / cells, best, total / n

    @property
    def best(self) -> Elite | None:
        """The elite with the highest objective (the lowest cell index on
        ties), None when the archive is empty."""
        if self._n_elites == 0:
            return None
        masked = np.where(self._occupied, self._objective, -np.inf)
        return self._elite(int(np.argmax(masked)))

    def _elite(self, c: int) -> Elite:
        from .archives import Elite  # archives imports this module

        return Elite(c, self._solutions[c].copy(), float(self._objective[c]),
                     self._measures[c].copy(), float(self._threshold[c]))

    def elite(self, index: int) -> Elite | None:
        """The elite of cell ``index`` (None when the cell is empty)."""
        c = check_int(index, "index", caller=f"{type(self).__name__}.elite",
                      min_val=0, max_val=self._cells - 1)
        return self._elite(c) if self._occupied[c] else None

    def data(self) -> dict[str, np.ndarray]:
        """Copies of the occupied cells' entries, by increasing cell index:
        ``"index"``, ``"solution"``, ``"objective"``, ``"measures"``,
        ``"threshold"``."""
        idx = np.flatnonzero(self._occupied)
        return {"index": idx, "solution": self._solutions[idx],
                "objective": self._objective[idx], "measures": self._measures[idx],
                "threshold": self._threshold[idx]}

    @property
    def occupied(self) -> np.ndarray:
        """Copy of the occupancy mask, bool (cells,)."""
        return self._occupied.copy()

    @property
    def objectives(self) -> Float64Array:
        """Copy of the per-cell objectives, NaN where empty."""
        return np.where(self._occupied, self._objective, np.nan)

    @property
    def thresholds(self) -> Float64Array:
        """Copy of the per-cell thresholds (``threshold_min`` where empty)."""
        return self._threshold.copy()

    def sample_elites(self, n: int, *, seed: int, generation: int = 0,
                      stream: int = STREAMS["qd_select"]) -> np.ndarray:
        """Cell indices of ``n`` elites drawn uniformly with replacement.

        The draw is keyed by ``(seed, generation, stream, row)``
        (:mod:`pyneat_lite._rng`), so it is reproducible.

        Raises
        ------
        IndexError
            If the archive is empty.
        """
        caller = f"{type(self).__name__}.sample_elites"
        n = check_int(n, "n", caller=caller, min_val=0)
        if self._n_elites == 0:
            raise IndexError(f"{caller}: the archive is empty, there is no elite "
                             "to sample.")
        occ = np.flatnonzero(self._occupied)
        u = uniform(n, 1, seed=seed, generation=generation, stream=stream)[:, 0]
        return occ[np.minimum((u * occ.shape[0]).astype(np.int64), occ.shape[0] - 1)]

    # ------------------------------------------------------------- checkpoints
    def save(self, path: Any) -> None:
        """Write the archive to ``path`` (load it back with ``pn.load``)."""
        checkpoint.save(self, path)

    def _state_arrays(self) -> dict[str, np.ndarray]:
        return {"occupied": self._occupied, "objective": self._objective,
                "threshold": self._threshold, "solutions": self._solutions,
                "measures": self._measures}

    def _state(self) -> tuple[dict[str, Any], dict[str, Any], dict[str, np.ndarray]]:
        return self._params(), {"n_elites": self._n_elites}, self._state_arrays()

    def _set_state(self, scalars: dict[str, Any], arrays: dict[str, np.ndarray],
                   prefix: str = "") -> None:
        for name, cur in self._state_arrays().items():
            a = arrays.get(prefix + name)
            if a is None or a.shape != cur.shape or a.dtype != cur.dtype:
                raise ValueError(
                    f"checkpoint array {prefix + name!r} is missing or does not "
                    f"match this archive ({cur.shape} {cur.dtype})"
                )
            np.copyto(cur, a)
        n = int(scalars["n_elites"])
        if n != int(np.count_nonzero(self._occupied)):
            raise ValueError("checkpoint archive's n_elites does not match its "
                             "occupancy")
        self._n_elites = n
        _k.refresh_blocks(self._occupied, self._objective, self._block_sum,
                          self._block_max)

    @classmethod
    def _from_checkpoint(cls, params: dict[str, Any], scalars: dict[str, Any],
                         arrays: dict[str, np.ndarray]) -> _ArchiveBase:
        archive = cls._from_params(params, arrays)
        archive._set_state(scalars, arrays)
        return archive

    def _common_params(self) -> dict[str, Any]:
        return {"solution_dim": self._solution_dim, "ranges": self._ranges.tolist(),
                "learning_rate": self._learning_rate,
                "threshold_min": self._threshold_min,
                "qd_score_offset": self._qd_score_offset,
                "out_of_range": self._out_of_range}

    # ------------------------------------------------------------------- hooks
    def _indices(self, m: np.ndarray, out: np.ndarray) -> None:
        raise NotImplementedError  # pragma: no cover - abstract

    def _params(self) -> dict[str, Any]:
        raise NotImplementedError  # pragma: no cover - abstract

    @classmethod
    def _from_params(cls, params: dict[str, Any],
                     arrays: dict[str, np.ndarray]) -> _ArchiveBase:
        raise NotImplementedError  # pragma: no cover - abstract

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(solution_dim={self._solution_dim}, "
                f"cells={self._cells}, learning_rate={self._learning_rate:g}, "
                f"threshold_min={self._threshold_min:g}, elites={self._n_elites})")
