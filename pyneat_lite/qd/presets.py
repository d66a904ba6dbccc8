"""Ready-made quality-diversity searches: the registry :data:`QD_ALGORITHMS`.

Each entry builds a :class:`~pyneat_lite.qd.Scheduler` -- archive(s) and
emitters -- for a genome length and the measures' ranges, the way pyribs'
tutorials assemble MAP-Elites, CMA-ME and CMA-MAE, with one call and one
seed.  Every entry has the same signature, so code (and the contract tests in
``tests/test_qd_contract.py``) can be driven by the registry:

``QD_ALGORITHMS[name](solution_dim, ranges, *, cells=(20, 20), n_emitters=5,
batch_size=32, sigma=0.1, x0=None, seed=None, n_threads=None, **options)``

``cells`` is a tuple of grid dimensions (a :class:`GridArchive`) or an int
(a :class:`CVTArchive` of that many centroids).  The emitters' seeds are
drawn from ``seed`` (``SeedSequence(seed).generate_state``), so one seed
fixes the whole search, whatever the number of threads.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from .._rng import resolve_seed
from .._validation import check_int
from ._emitter_base import Emitter
from ._es_emitter import EvolutionStrategyEmitter
from .archives import CVTArchive, GridArchive, _ArchiveBase
from .emitters import GaussianEmitter, IsoLineEmitter
from .scheduler import Scheduler

__all__ = ["QD_ALGORITHMS", "map_elites", "iso_line", "cma_me", "cma_mae"]


def _archive(solution_dim: int, ranges: Any, cells: Any, seed: int,
             **kw: Any) -> _ArchiveBase:
    if isinstance(cells, (int, np.integer)) and not isinstance(cells, bool):
        return CVTArchive(solution_dim, int(cells), ranges, seed=seed, **kw)
    if isinstance(cells, (tuple, list)):
        return GridArchive(solution_dim, tuple(cells), ranges, **kw)
    raise TypeError(
        "The 'cells' parameter of QD_ALGORITHMS entries must be a tuple of grid "
        f"dimensions or an int (CVT centroids). Got {cells!r} instead."
    )


def _setup(name: str, solution_dim: Any, n_emitters: Any, x0: Any,
           seed: Any) -> tuple[int, np.ndarray, list[int], int]:
    dim = check_int(solution_dim, "solution_dim", caller=name, min_val=1)
    n = check_int(n_emitters, "n_emitters", caller=name, min_val=1)
    s = resolve_seed(seed, caller=name)
    seeds = [int(v >> np.uint64(1)) for v in
             np.random.SeedSequence(s).generate_state(n + 1, np.uint64)]
    start = np.zeros(dim) if x0 is None else x0
    return n, start, seeds, seeds[n] % (2**31)


def map_elites(solution_dim: int, ranges: Any, *, cells: Any = (20, 20),
               n_emitters: int = 5, batch_size: int = 32, sigma: float = 0.1,
               x0: Any = None, seed: Any = None, n_threads: int | None = None,
               bounds: Any = None) -> Scheduler:
    """MAP-Elites (Mouret & Clune 2015): an elite plus Gaussian noise.

    Parameters
    ----------
    solution_dim : int
        Genome length.
    ranges : sequence of (low, high)
        Range of each measure.
    cells : tuple of int or int, default=(20, 20)
        Grid dimensions, or the number of CVT centroids.
    n_emitters : int, default=5
        :class:`GaussianEmitter` s, ``batch_size`` genomes each.
    batch_size : int, default=32
    sigma : float, default=0.1
        Mutation standard deviation.
    x0 : array-like of shape (solution_dim,), optional
        Parent while the archive is empty (zeros).
    seed : int, optional
        Fixes the whole search.
    n_threads : int, optional
        Accepted for the common signature (these emitters have no threaded
        kernel).
    bounds : (low, high) or array-like of shape (solution_dim, 2), optional
        Clip the genomes.
    """
    n, start, seeds, arch_seed = _setup("map_elites", solution_dim, n_emitters,
                                        x0, seed)
    a = _archive(solution_dim, ranges, cells, arch_seed)
    em: list[Emitter] = [GaussianEmitter(a, start, sigma=sigma,
                                         batch_size=batch_size, bounds=bounds,
                                         seed=seeds[i]) for i in range(n)]
    return Scheduler(a, em)


def iso_line(solution_dim: int, ranges: Any, *, cells: Any = (20, 20),
             n_emitters: int = 5, batch_size: int = 32, sigma: float = 0.01,
             x0: Any = None, seed: Any = None, n_threads: int | None = None,
             line_sigma: float = 0.2, bounds: Any = None) -> Scheduler:
    """MAP-Elites with iso+line variation (Vassiliades & Mouret 2018);
    ``sigma`` is the isotropic part, ``line_sigma`` the step along the line
    between two elites; the rest as in :func:`map_elites`."""
    n, start, seeds, arch_seed = _setup("iso_line", solution_dim, n_emitters, x0,
                                        seed)
    a = _archive(solution_dim, ranges, cells, arch_seed)
    em: list[Emitter] = [IsoLineEmitter(a, start, iso_sigma=sigma,
                                        line_sigma=line_sigma,
                                        batch_size=batch_size, bounds=bounds,
                                        seed=seeds[i]) for i in range(n)]
    return Scheduler(a, em)


def cma_me(solution_dim: int, ranges: Any, *, cells: Any = (20, 20),
           n_emitters: int = 5, batch_size: int = 32, sigma: float = 0.1,
           x0: Any = None, seed: Any = None, n_threads: int | None = None,
           es: str = "sep_cma", selection_rule: str = "mu",
           restart_rule: str | int = "no_improvement",
           bounds: Any = None) -> Scheduler:
    """CMA-ME (Fontaine et al. 2020): evolution-strategy emitters ranked by
    two-stage improvement on a plain archive.

    ``sigma`` is the strategies' initial step size; ``es``,
    ``selection_rule``, ``restart_rule`` and ``bounds`` go to every
    :class:`EvolutionStrategyEmitter`; the rest as in :func:`map_elites`.
    """
    n, start, seeds, arch_seed = _setup("cma_me", solution_dim, n_emitters, x0,
                                        seed)
    a = _archive(solution_dim, ranges, cells, arch_seed)
    em: list[Emitter] = [
        EvolutionStrategyEmitter(a, start, sigma0=sigma, ranker="2imp", es=es,
                                 selection_rule=selection_rule,
                                 restart_rule=restart_rule, batch_size=batch_size,
                                 bounds=bounds, seed=seeds[i], n_threads=n_threads)
        for i in range(n)]
    return Scheduler(a, em)


def cma_mae(solution_dim: int, ranges: Any, *, cells: Any = (20, 20),
            n_emitters: int = 5, batch_size: int = 32, sigma: float = 0.1,
            x0: Any = None, seed: Any = None, n_threads: int | None = None,
            learning_rate: float = 0.01, threshold_min: float = 0.0,
            es: str = "sep_cma", selection_rule: str = "mu",
            restart_rule: str | int = "basic", bounds: Any = None) -> Scheduler:
    """CMA-MAE (Fontaine & Nikolaidis 2023): emitters ranked by improvement
    over the soft threshold of an archive with ``learning_rate`` and
    ``threshold_min`` (the lowest objective worth keeping), plus a result
    archive that keeps the best elite per cell (what the statistics report).

    The rest as in :func:`cma_me` (pyribs' tutorial: ``restart_rule="basic"``).
    """
    n, start, seeds, arch_seed = _setup("cma_mae", solution_dim, n_emitters, x0,
                                        seed)
    if not (isinstance(threshold_min, (int, float, np.integer, np.floating))
            and math.isfinite(float(threshold_min))):
        raise ValueError(
            "The 'threshold_min' parameter of cma_mae must be a finite real "
            f"number (a soft threshold starts from it). Got {threshold_min!r} "
            "instead."
        )
    a = _archive(solution_dim, ranges, cells, arch_seed,
                 learning_rate=learning_rate, threshold_min=threshold_min)
    if isinstance(a, CVTArchive):  # the same centroids, computed once
        result: _ArchiveBase = CVTArchive(solution_dim, a.centroids, ranges)
    else:
        result = _archive(solution_dim, ranges, cells, arch_seed)
    em: list[Emitter] = [
        EvolutionStrategyEmitter(a, start, sigma0=sigma, ranker="imp", es=es,
                                 selection_rule=selection_rule,
                                 restart_rule=restart_rule, batch_size=batch_size,
                                 bounds=bounds, seed=seeds[i], n_threads=n_threads)
        for i in range(n)]
    return Scheduler(a, em, result)


#: name -> factory of a :class:`Scheduler` (the common signature above)
QD_ALGORITHMS: dict[str, Callable[..., Scheduler]] = {
    "map_elites": map_elites,
    "iso_line": iso_line,
    "cma_me": cma_me,
    "cma_mae": cma_mae,
}
