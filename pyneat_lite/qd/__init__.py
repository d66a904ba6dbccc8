"""Quality diversity: archives of elites over behaviour measures.

A repertoire of good solutions that differ in behaviour instead of one best
genome (pyribs' archives + emitters + scheduler, on the library's buffers).

- :mod:`.archives`: :class:`GridArchive`, :class:`CVTArchive` (MAP-Elites
  cells, the CMA-MAE soft threshold, statistics, heatmaps).
- :mod:`.emitters`: :class:`GaussianEmitter` (MAP-Elites),
  :class:`IsoLineEmitter`, :class:`EvolutionStrategyEmitter` (SepCMAES with
  improvement ranking: CMA-ME, CMA-MAE; restarts).
- :mod:`.scheduler`: :class:`Scheduler` (``ask()`` / ``tell(objective,
  measures)``, ``run``, checkpoints).
- :mod:`.presets`: :data:`QD_ALGORITHMS` -- :func:`map_elites`,
  :func:`iso_line`, :func:`cma_me`, :func:`cma_mae`: a whole search from a
  genome length, the measures' ranges and one seed.
- :mod:`.novelty`: :class:`NoveltyArchive` (k-nearest-neighbour novelty, novelty
  with local competition) as the ranking of any ES or GA.
"""

from __future__ import annotations

from .archives import (
    AddInfo,
    ArchiveStats,
    CVTArchive,
    Elite,
    GridArchive,
    k_means_centroids,
)
from .emitters import (
    EMITTERS,
    Emitter,
    EvolutionStrategyEmitter,
    GaussianEmitter,
    IsoLineEmitter,
)
from .novelty import NoveltyArchive, NoveltyInfo, non_dominated_rank
from .presets import QD_ALGORITHMS, cma_mae, cma_me, iso_line, map_elites
from .scheduler import QD_HISTORY_KEYS, QDResult, Scheduler

__all__ = [
    "EMITTERS",
    "QD_ALGORITHMS",
    "QD_HISTORY_KEYS",
    "AddInfo",
    "Emitter",
    "EvolutionStrategyEmitter",
    "GaussianEmitter",
    "IsoLineEmitter",
    "NoveltyArchive",
    "NoveltyInfo",
    "QDResult",
    "Scheduler",
    "ArchiveStats",
    "CVTArchive",
    "Elite",
    "GridArchive",
    "k_means_centroids",
    "non_dominated_rank",
    "map_elites",
    "iso_line",
    "cma_me",
    "cma_mae",
]
