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
from typing import Any

import numpy as np

from .._kernels import qd as _k
from .._rng import STREAMS, uniform
from .._typing import Float32Array, Float64Array
from .._validation import check_array, check_int
from ._archive_base import _ArchiveBase, _check_ranges

__all__ = ["AddInfo", "ArchiveStats", "Elite", "GridArchive", "CVTArchive",
           "k_means_centroids"]


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
        # the centroids in bucket order (the kernel reads a bucket's run)
        self._cent_by_bucket = np.ascontiguousarray(cent[self._items])

    @property
    def centroids(self) -> Float64Array:
        """Copy of the centroids, float64 (cells, measure_dim)."""
        return self._centroids.copy()

    def _indices(self, m: np.ndarray, out: np.ndarray) -> None:
        if self._tree is None:
            _k.nearest_centroid(m, self._cent_by_bucket, self._lo, self._width,
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
