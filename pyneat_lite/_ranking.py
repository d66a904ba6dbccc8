"""The one ranking rule of the library.

Higher scores rank better; of equal scores, the one at the **earlier index
ranks better** (first come, first served -- the rule of the hall of fame,
of rank selection and of the NES utilities).  Every ranking in the package
(fitness shaping, selection, elites, survivors, the hall of fame) goes
through :func:`order` or :func:`ranks`, so the rule is written once.
"""

from __future__ import annotations

import numpy as np

__all__ = ["order", "ranks"]


def order(score: np.ndarray) -> np.ndarray:
    """Indices from best to worst (int64); ties by index, earlier first.

    ``score`` is higher-is-better with no NaN (map NaN to ``-inf`` first).
    """
    return np.argsort(-np.asarray(score, dtype=np.float64), kind="stable")


def ranks(score: np.ndarray) -> np.ndarray:
    """Rank of each entry as float64: ``n - 1`` for the best, 0 for the worst.

    Of equal scores the earlier index gets the higher rank.
    """
    score = np.asarray(score, dtype=np.float64)
    n = score.shape[0]
    r = np.empty(n, dtype=np.float64)
    r[order(score)] = np.arange(n - 1, -1, -1, dtype=np.float64)
    return r
