"""Quality diversity: archives of elites over behaviour measures.

A repertoire of good solutions that differ in behaviour instead of one best
genome (pyribs' archives + emitters + scheduler, on the library's buffers).

- :mod:`.archives`: :class:`GridArchive`, :class:`CVTArchive` (MAP-Elites
  cells, the CMA-MAE soft threshold, statistics, heatmaps).
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

__all__ = [
    "AddInfo",
    "ArchiveStats",
    "CVTArchive",
    "Elite",
    "GridArchive",
    "k_means_centroids",
]
