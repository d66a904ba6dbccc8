"""Archives of quality diversity: a grid and a centroidal Voronoi tessellation.

An archive keeps at most one elite per cell of the measure space in flat
buffers allocated once: ``occupied`` (bool (cells,)), ``objective`` and
``threshold`` (float64 (cells,), the library's fitness dtype), ``solutions``
(float32 (cells, solution_dim), the genome layout) and ``measures`` (float64
(cells, measure_dim)).  :meth:`add` inserts a whole batch with one kernel
call (:mod:`pyneat_lite._kernels.qd`), resolving several candidates for one
cell in the same batch as pyribs does; no Python loop runs over cells or
solutions.

The CMA-MAE soft threshold (Fontaine & Nikolaidis 2023): a candidate enters
its cell when its objective beats the cell's threshold, which starts at
``threshold_min`` and moves towards the objectives that beat it at rate
``learning_rate``.  ``learning_rate=1`` with ``threshold_min=-inf`` (the
defaults) is the plain MAP-Elites / CMA-ME acceptance: the threshold is the
elite's objective.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from .. import checkpoint
from .._kernels import qd as _k
from .._rng import STREAMS, uniform
from .._typing import Float32Array, Float64Array
from .._validation import check_array, check_int, check_scalar

__all__ = ["AddInfo", "ArchiveStats", "Elite", "GridArchive", "CVTArchive",
           "k_means_centroids"]

_OUT_OF_RANGE = ("clip", "ignore", "raise")


@dataclass(frozen=True)
class AddInfo:
    """What :meth:`GridArchive.add` reports for each row of a batch.

    Attributes
    ----------
    status : int32 array of shape (batch,)
        0 not added, 1 improved an occupied cell, 2 filled an empty cell
        (against the archive as it was before the batch: two rows that fill
        the same empty cell both get 2).
    value : float64 array of shape (batch,)
        Objective minus the cell's threshold (for a new cell minus
        ``threshold_min``, or minus 0 when that is -inf: CMA-ME's
        improvement values); -inf for a row that can never be inserted
        (non-finite objective or measures, measures ignored as out of range).
    """

    status: np.ndarray
    value: np.ndarray


@dataclass(frozen=True)
class ArchiveStats:
    """Summary of an archive (pyribs' ``ArchiveStats``).

    Attributes
    ----------
    num_elites : int
    coverage : float
        ``num_elites / cells``.
    qd_score : float
        Sum over elites of ``objective - qd_score_offset``.
    norm_qd_score : float
        ``qd_score / cells``.
    obj_max, obj_mean : float
        Of the elites' objectives (NaN when empty).
    """

    num_elites: int
    coverage: float
    qd_score: float
    norm_qd_score: float
    obj_max: float
    obj_mean: float


@dataclass(frozen=True)
class Elite:
    """One elite: its cell, genome, objective, measures and cell threshold."""

    index: int
    solution: Float32Array
    objective: float
    measures: Float64Array
    threshold: float


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
        # per-cell scratch of the insertion kernel, left as found by each call
        self._cnt = np.zeros(cells, dtype=np.int64)
        self._ssum = np.zeros(cells, dtype=np.float64)
        self._best = np.full(cells, -1, dtype=np.int64)

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
        """Insert a batch (see the module docstring for the rule).

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
        obj = np.asarray(objective)
        if obj.dtype.kind not in "biuf":
            raise TypeError(
                f"The 'objective' argument of {caller} must hold real numbers. "
                f"Got dtype {obj.dtype} instead."
            )
        obj = np.ascontiguousarray(obj, dtype=np.float64)
        if obj.shape != (n,):
            raise ValueError(
                f"The 'objective' argument of {caller} must have shape ({n},), "
                f"one value per solution. Got shape {obj.shape} instead."
            )
        m = self._check_measures(measures, n, caller)
        status = np.empty(n, dtype=np.int32)
        value = np.empty(n, dtype=np.float64)
        idx = np.empty(n, dtype=np.int64)
        self._add_unchecked(sol, obj, m, idx, status, value)
        return AddInfo(status, value)

    def _add_unchecked(self, sol: np.ndarray, obj: np.ndarray, m: np.ndarray,
                       idx: np.ndarray, status: np.ndarray,
                       value: np.ndarray) -> None:
        """:meth:`add` on validated, C-contiguous arrays into given outputs."""
        n = sol.shape[0]
        if n == 0:
            return
        self._indices(m, idx)
        touched = np.empty(n, dtype=np.int64)
        self._n_elites += int(_k.batch_add(
            idx, obj, sol, m, self._occupied, self._objective, self._threshold,
            self._solutions, self._measures, self._learning_rate,
            self._threshold_min, status, value, self._cnt, self._ssum, self._best,
            touched))

    def clear(self) -> None:
        """Empty every cell (thresholds back to ``threshold_min``)."""
        self._occupied[:] = False
        self._objective[:] = 0.0
        self._threshold[:] = self._threshold_min
        self._solutions[:] = 0.0
        self._measures[:] = 0.0
        self._n_elites = 0

    # -------------------------------------------------------------- statistics
    @property
    def stats(self) -> ArchiveStats:
        """Coverage, QD score (with ``qd_score_offset``), best and mean
        objective of the elites."""
        n = self._n_elites
        cells = self._cells
        if n == 0:
            return ArchiveStats(0, 0.0, 0.0, 0.0, math.nan, math.nan)
        total, best = _k.archive_sums(self._occupied, self._objective)
        qd = total - n * self._qd_score_offset
        return ArchiveStats(n, n / cells, qd, qd / cells, best, total / n)

    @property
    def best(self) -> Elite | None:
        """The elite with the highest objective (the lowest cell index on
        ties), None when the archive is empty."""
        if self._n_elites == 0:
            return None
        masked = np.where(self._occupied, self._objective, -np.inf)
        return self._elite(int(np.argmax(masked)))

    def _elite(self, c: int) -> Elite:
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


def _figure(ax: Any, caller: str) -> tuple[Any, Any]:
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise ImportError(
            f"{caller} requires matplotlib. Install it with "
            "`pip install pyneat_lite[plot]`."
        ) from exc
    if ax is None:
        fig = Figure(figsize=(6.0, 5.0))
        return fig, fig.subplots()
    return ax.figure, ax


class GridArchive(_ArchiveBase):
    """An archive with one cell per box of a regular grid over the measures.

    Parameters
    ----------
    solution_dim : int
        Genome length.
    dims : sequence of int
        Cells along each measure (the archive has ``prod(dims)`` cells,
        numbered in C order).
    ranges : sequence of (low, high)
        Range of each measure; ``high`` belongs to the last cell.
    learning_rate : float, default=1.0
        CMA-MAE archive learning rate in [0, 1].
    threshold_min : float, default=-inf
        Threshold of an empty cell; -inf (with ``learning_rate=1``) is plain
        MAP-Elites / CMA-ME acceptance.
    qd_score_offset : float, default=0.0
        Subtracted from every objective in the QD score (pyribs' offset; use
        a lower bound of the objective so that every elite counts positive).
    out_of_range : {"clip", "ignore", "raise"}, default="clip"
        Measures outside the ranges go to the nearest edge cell (pyribs'
        rule), are never inserted, or raise ``ValueError``.

    Examples
    --------
    >>> import numpy as np
    >>> from pyneat_lite.qd import GridArchive
    >>> a = GridArchive(solution_dim=3, dims=(10, 10), ranges=[(-1, 1), (-1, 1)])
    >>> info = a.add(np.zeros((2, 3)), [1.0, 2.0], [[0.05, 0.05], [0.06, 0.04]])
    >>> info.status.tolist(), a.stats.num_elites, a.best.objective
    ([2, 2], 1, 2.0)
    """

    def __init__(self, solution_dim: int, dims: Any, ranges: Any, *,
                 learning_rate: float = 1.0, threshold_min: float = -math.inf,
                 qd_score_offset: float = 0.0, out_of_range: str = "clip") -> None:
        caller = "GridArchive"
        if isinstance(dims, (int, np.integer)):
            dims = (dims,)
        try:
            d = [check_int(x, "dims", caller=caller, min_val=1) for x in dims]
        except TypeError as exc:
            raise TypeError(
                f"The 'dims' parameter of {caller} must be a sequence of positive "
                f"integers. Got {dims!r} instead."
            ) from exc
        if not d:
            raise ValueError(f"The 'dims' parameter of {caller} must not be empty.")
        self._dims = np.asarray(d, dtype=np.int64)
        self._ranges = _check_ranges(ranges, caller, len(d))
        cells = int(np.prod(self._dims))
        self._scale = self._dims / (self._ranges[:, 1] - self._ranges[:, 0])
        self._init_buffers(solution_dim, len(d), cells, learning_rate,
                           threshold_min, qd_score_offset, out_of_range, caller)
        self._mode = _k.IGNORE if out_of_range == "ignore" else _k.CLIP

    @property
    def dims(self) -> tuple[int, ...]:
        """Cells along each measure."""
        return tuple(int(x) for x in self._dims)

    def boundaries(self) -> list[Float64Array]:
        """Cell edges along each measure (``dims[i] + 1`` values each)."""
        return [np.linspace(lo, hi, int(n) + 1)
                for (lo, hi), n in zip(self._ranges, self._dims, strict=True)]

    def _indices(self, m: np.ndarray, out: np.ndarray) -> None:
        _k.grid_index(m, self._ranges[:, 0].copy(), self._ranges[:, 1].copy(),
                      self._scale, self._dims, self._mode, out)

    def _params(self) -> dict[str, Any]:
        return {"dims": self.dims, **self._common_params()}

    @classmethod
    def _from_params(cls, params: dict[str, Any],
                     arrays: dict[str, np.ndarray]) -> GridArchive:
        p = dict(params)
        return cls(p.pop("solution_dim"), p.pop("dims"), p.pop("ranges"), **p)

    def heatmap(self, path: Any = None, *, ax: Any = None, cmap: str = "viridis",
                vmin: float | None = None, vmax: float | None = None,
                labels: tuple[str, str] = ("measure 0", "measure 1")) -> Any:
        """Draw a 2-D archive's objectives as an image (empty cells blank).

        Parameters
        ----------
        path : str or path-like, optional
            Save the figure there (format from the extension).
        ax : matplotlib Axes, optional
            Draw into this axes instead of a new figure.
        cmap, vmin, vmax
            Colour map and its limits (default: the elites' range).
        labels : (str, str), default=("measure 0", "measure 1")
            Axis labels.

        Returns
        -------
        matplotlib.figure.Figure

        Raises
        ------
        ValueError
            If the archive does not have exactly two measures.
        ImportError
            If matplotlib is not installed.
        """
        caller = "GridArchive.heatmap"
        if self._measure_dim != 2:
            raise ValueError(f"{caller} draws 2-D archives; this one has "
                             f"{self._measure_dim} measures.")
        fig, ax = _figure(ax, caller)
        grid = self.objectives.reshape(self.dims)
        (x0, x1), (y0, y1) = self._ranges
        # rows of the image are the second measure, growing upwards
        im = ax.imshow(grid.T, origin="lower", extent=(x0, x1, y0, y1),
                       aspect="auto", cmap=cmap, vmin=vmin, vmax=vmax,
                       interpolation="nearest")
        fig.colorbar(im, ax=ax, label="objective")
        ax.set_xlabel(labels[0])
        ax.set_ylabel(labels[1])
        s = self.stats
        ax.set_title(f"{s.num_elites} elites, coverage {100 * s.coverage:.1f}%")
        if path is not None:
            fig.savefig(path)
        return fig


def k_means_centroids(cells: int, ranges: Any, *, samples: int = 100_000,
                      iterations: int = 20, seed: int = 0) -> Float64Array:
    """Centroids of a CVT: Lloyd's k-means on uniform samples of the ranges.

    ``cells`` initial centroids are the first samples; each iteration assigns
    every sample to its nearest centroid (scipy's cKDTree) and moves each
    centroid to the mean of its samples (a centroid without samples stays).
    Deterministic for a given seed.

    Returns
    -------
    float64 array of shape (cells, len(ranges))
    """
    caller = "k_means_centroids"
    cells = check_int(cells, "cells", caller=caller, min_val=1)
    samples = check_int(samples, "samples", caller=caller, min_val=cells)
    iterations = check_int(iterations, "iterations", caller=caller, min_val=0)
    r = _check_ranges(ranges, caller)
    from scipy.spatial import cKDTree

    m = r.shape[0]
    u = uniform(samples, m, seed=seed, generation=0, stream=STREAMS["qd_cvt"])
    x = r[:, 0] + u * (r[:, 1] - r[:, 0])
    cent = x[:cells].copy()
    for _ in range(iterations):
        _, lab = cKDTree(cent).query(x, workers=1)
        counts = np.bincount(lab, minlength=cells)
        has = counts > 0
        for d in range(m):
            sums = np.bincount(lab, weights=x[:, d], minlength=cells)
            cent[has, d] = sums[has] / counts[has]
    return cent


class CVTArchive(_ArchiveBase):
    """An archive whose cells are the Voronoi cells of fixed centroids.

    Parameters
    ----------
    solution_dim : int
        Genome length.
    centroids : int or array-like of shape (cells, measure_dim)
        The centroids, or their number: then they are computed once by
        :func:`k_means_centroids` over ``ranges`` with ``samples`` and
        ``seed``.
    ranges : sequence of (low, high)
        Range of each measure.
    samples : int, default=100_000
        Uniform samples for k-means.
    seed : int, default=0
        Seed of the k-means samples.
    learning_rate, threshold_min, qd_score_offset
        As in :class:`GridArchive`.
    out_of_range : {"clip", "ignore", "raise"}, default="clip"
        Measures outside the ranges go to their nearest centroid anyway,
        are never inserted, or raise ``ValueError``.

    Notes
    -----
    The nearest centroid is found by a kernel searching a uniform bucket grid
    built once (up to 3 measures; exact, ties to the lower centroid index),
    or by scipy's cKDTree beyond 3 measures.
    """

    def __init__(self, solution_dim: int, centroids: Any, ranges: Any, *,
                 samples: int = 100_000, seed: int = 0, learning_rate: float = 1.0,
                 threshold_min: float = -math.inf, qd_score_offset: float = 0.0,
                 out_of_range: str = "clip") -> None:
        caller = "CVTArchive"
        self._ranges = _check_ranges(ranges, caller)
        m = self._ranges.shape[0]
        self._samples = check_int(samples, "samples", caller=caller, min_val=1)
        self._seed = check_int(seed, "seed", caller=caller, min_val=0)
        if isinstance(centroids, (int, np.integer)) and not isinstance(centroids,
                                                                       bool):
            cent = k_means_centroids(int(centroids), self._ranges,
                                     samples=max(self._samples, int(centroids)),
                                     seed=self._seed)
        else:
            cent = check_array(centroids, "centroids", caller=caller, ndim=2,
                               dtype=np.float64)
            if cent.shape[1] != m:
                raise ValueError(
                    f"The 'centroids' parameter of {caller} must have {m} columns "
                    f"(one per range). Got shape {cent.shape} instead."
                )
            cent = cent.copy()
        self._centroids = cent
        self._build_lookup()
        self._init_buffers(solution_dim, m, cent.shape[0], learning_rate,
                           threshold_min, qd_score_offset, out_of_range, caller)

    def _build_lookup(self) -> None:
        """Nearest-centroid search structure, built once: a uniform bucket
        grid over the ranges (about one centroid per bucket) searched by a
        kernel for up to 3 measures, scipy's cKDTree beyond."""
        cent = self._centroids
        n, m = cent.shape
        self._tree = None
        if m > 3:
            from scipy.spatial import cKDTree

            self._tree = cKDTree(cent)
            return
        g = max(1, int(math.floor(n ** (1.0 / m))))
        lo = self._ranges[:, 0].copy()
        width = (self._ranges[:, 1] - lo) / g
        self._grid = np.full(m, g, dtype=np.int64)
        b = np.clip(np.floor((cent - lo) / width), 0, g - 1).astype(np.int64)
        flat = np.zeros(n, dtype=np.int64)
        for d in range(m):
            flat = flat * g + b[:, d]
        self._items = np.argsort(flat, kind="stable").astype(np.int64)
        self._starts = np.searchsorted(flat[self._items],
                                       np.arange(g ** m + 1)).astype(np.int64)
        self._lo = lo
        self._width = width

    @property
    def centroids(self) -> Float64Array:
        """Copy of the centroids, float64 (cells, measure_dim)."""
        return self._centroids.copy()

    def _indices(self, m: np.ndarray, out: np.ndarray) -> None:
        if self._tree is None:
            _k.nearest_centroid(m, self._centroids, self._lo, self._width,
                                self._grid, self._starts, self._items, out)
        else:
            self._tree_indices(m, out)
        if self._out_of_range == "ignore":
            with np.errstate(invalid="ignore"):
                outside = ((m < self._ranges[:, 0]) | (m > self._ranges[:, 1])).any(1)
            out[outside] = -1

    def _tree_indices(self, m: np.ndarray, out: np.ndarray) -> None:
        finite = np.isfinite(m).all(axis=1)
        if finite.all():
            _, lab = self._tree.query(m, workers=1)
            out[:] = lab
        else:
            out[:] = -1
            if finite.any():
                _, lab = self._tree.query(m[finite], workers=1)
                out[finite] = lab

    def _params(self) -> dict[str, Any]:
        return {"cells": self._cells, "samples": self._samples, "seed": self._seed,
                **self._common_params()}

    def _state_arrays(self) -> dict[str, np.ndarray]:
        return {"centroids": self._centroids, **super()._state_arrays()}

    @classmethod
    def _from_params(cls, params: dict[str, Any],
                     arrays: dict[str, np.ndarray]) -> CVTArchive:
        p = dict(params)
        p.pop("cells")
        cent = next(v for k, v in arrays.items() if k.endswith("centroids"))
        return cls(p.pop("solution_dim"), cent, p.pop("ranges"), **p)

    def heatmap(self, path: Any = None, *, ax: Any = None, cmap: str = "viridis",
                vmin: float | None = None, vmax: float | None = None,
                labels: tuple[str, str] = ("measure 0", "measure 1"),
                marker_size: float = 4.0) -> Any:
        """Draw a 2-D archive's elites at their centroids, coloured by
        objective (see :meth:`GridArchive.heatmap`)."""
        caller = "CVTArchive.heatmap"
        if self._measure_dim != 2:
            raise ValueError(f"{caller} draws 2-D archives; this one has "
                             f"{self._measure_dim} measures.")
        fig, ax = _figure(ax, caller)
        occ = self._occupied
        c = self._centroids
        ax.scatter(c[~occ, 0], c[~occ, 1], s=marker_size, c="0.9", marker="s",
                   linewidths=0)
        sc = ax.scatter(c[occ, 0], c[occ, 1], s=marker_size, c=self._objective[occ],
                        cmap=cmap, vmin=vmin, vmax=vmax, marker="s", linewidths=0)
        fig.colorbar(sc, ax=ax, label="objective")
        (x0, x1), (y0, y1) = self._ranges
        ax.set_xlim(x0, x1)
        ax.set_ylim(y0, y1)
        ax.set_xlabel(labels[0])
        ax.set_ylabel(labels[1])
        s = self.stats
        ax.set_title(f"{s.num_elites} elites, coverage {100 * s.coverage:.1f}%")
        if path is not None:
            fig.savefig(path)
        return fig
