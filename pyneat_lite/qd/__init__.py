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
from .scheduler import QD_HISTORY_KEYS, QDResult, Scheduler

__all__ = [
    "EMITTERS",
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
]
