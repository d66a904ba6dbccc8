"""Observation normalisation inside the fused rollouts (ARS V2 state
normalisation, Mania et al. 2018; no validation here).

``norm`` float64 ``(3, obs_dim)``: row 0 the shift ``c`` (the normaliser's
mean), row 1 the scale ``sqrt(var + eps)``, ``norm[2, 0]`` the clip bound.
Every observation ``x`` a policy is fed adds ``x - c`` and ``(x - c)**2``
to its genome's row of ``moments`` (float64 ``(P, 2, obs_dim)``; shifted
sums, so that the variance does not cancel when the mean is large); with
``mode == 2`` the policy then sees ``float32(clip((x - c) / scale, -clip,
clip))``, the float64 arithmetic of
:meth:`pyneat_lite.gym.ObsNormalizer.normalize`, bit for bit.  ``mode == 1``
collects the sums only (a normaliser that has seen nothing yet: the policy
sees the raw observation).  A genome is in one lane at a time and its sums
run in step order, so they do not depend on lanes, groups or threads.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._config import EXACT_INLINE_OPTS

__all__ = ["NORM_NONE", "NORM_STATS", "NORM_APPLY", "normalize_lanes"]

NORM_NONE = 0
NORM_STATS = 1
NORM_APPLY = 2


@njit(**EXACT_INLINE_OPTS)
def normalize_lanes(obs, genome, mode, norm, moments):
    """Sums of the observations ``obs`` (float32 ``(obs_dim, L)``) of the
    lanes holding a genome (``genome[lane] >= 0``) into ``moments``; with
    ``mode == 2`` normalise ``obs`` in place."""
    clip = norm[2, 0]
    for i in range(obs.shape[0]):
        c = norm[0, i]
        scale = norm[1, i]
        for lane in range(obs.shape[1]):
            g = genome[lane]
            d = np.float64(obs[i, lane]) - c
            if g >= 0:
                moments[g, 0, i] += d
                moments[g, 1, i] += d * d
            if mode == 2:
                obs[i, lane] = np.float32(min(max(d / scale, -clip), clip))
