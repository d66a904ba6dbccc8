"""Fitness shaping: rank-based transforms used by the evolution strategies.

All functions take a *score* (higher is better; non-finite values have
already been mapped to ``-inf`` by the algorithm) and return float64 weights.
Ranks follow the library's one rule (:mod:`pyneat_lite._ranking`): of equal
scores, the earlier index ranks better; :func:`ranks` is that module's.
Ranking makes the strategies invariant to monotone transforms of the fitness,
which is what lets one set of defaults serve accuracy, cross-entropy and game
scores alike (Wierstra et al. 2014, section 3.1).
"""

from __future__ import annotations

import functools

import numpy as np

from .._ranking import order, ranks
from .._typing import Float64Array

__all__ = ["ranks", "centered_ranks", "nes_utilities"]


def centered_ranks(score: Float64Array) -> Float64Array:
    """Ranks scaled to ``[-0.5, 0.5]`` (Salimans et al. 2017).

    Parameters
    ----------
    score : float64 array of shape (n,)
        Higher is better.

    Returns
    -------
    float64 array of shape (n,)
        ``ranks(score) / (n - 1) - 0.5`` (0.5 for the best; of equal
        scores the earlier index gets the larger value); all zeros when
        ``n == 1``.
    """
    n = score.shape[0]
    if n < 2:
        return np.zeros(n, dtype=np.float64)
    out = np.empty(n, dtype=np.float64)
    out[order(score)] = _centered_by_rank(n)
    return out


@functools.lru_cache(maxsize=16)
def _centered_by_rank(n: int) -> Float64Array:
    """``ranks / (n - 1) - 0.5``, best first (read-only; cached per ``n``)."""
    u = np.arange(n - 1, -1, -1, dtype=np.float64) / (n - 1) - 0.5
    u.flags.writeable = False
    return u


def nes_utilities(score: Float64Array) -> Float64Array:
    """The NES utility values ``max(0, log(n/2 + 1) - log(k))`` normalised to
    sum to one, minus ``1/n`` (Wierstra et al. 2014, eq. 11).

    Parameters
    ----------
    score : float64 array of shape (n,)
        Higher is better.

    Returns
    -------
    float64 array of shape (n,)
        Utility of each entry; they sum to zero, the best gets the largest
        (of equal scores, the earlier index).
    """
    n = score.shape[0]
    out = np.empty(n, dtype=np.float64)
    out[order(score)] = _nes_weights(n)
    return out


@functools.lru_cache(maxsize=16)
def _nes_weights(n: int) -> Float64Array:
    """The utilities by rank, best first (read-only; cached per ``n``)."""
    k = np.arange(1, n + 1, dtype=np.float64)  # rank 1 = best
    u = np.maximum(0.0, np.log(n / 2.0 + 1.0) - np.log(k))
    u = u / u.sum() - 1.0 / n
    u.flags.writeable = False
    return u
