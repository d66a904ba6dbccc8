"""Weight initialisation of :meth:`Network.init_population`: the schemes and
their draws, from the library's random streams (:mod:`pyneat_lite._rng`).

Row ``r`` of a population comes from the stream keyed by ``(seed, 0,
STREAMS["init"], r)``, so any genome can be regenerated alone and the result
does not depend on the population size beyond it, nor on the thread count.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ._rng import STREAMS, fill_standard_normal, resolve_seed, uniform
from ._validation import check_scalar

__all__ = ["INIT_SCHEMES", "init_population"]

#: Weight initialisation schemes accepted by :meth:`Network.init_population`.
INIT_SCHEMES: tuple[str, ...] = (
    "glorot_uniform",
    "he_normal",
    "normal",
    "uniform",
    "zeros",
)

# Uniform values are drawn as float64 in blocks of rows of at least this many
# values (8 MiB), then written as float32.
_BLOCK_VALUES = 2**20


def init_population(
    layout: Sequence[Any], n_params: int, pop_size: int, seed: Any, scheme: str,
    scheme_kw: dict[str, float], caller: str,
) -> np.ndarray:
    """Validate ``scheme`` and its keywords, then draw ``(pop_size, n_params)``.

    ``layout`` is :attr:`Network.layout`; ``pop_size`` is already valid.
    """
    allowed = {"normal": {"std"}, "uniform": {"low", "high"}}
    if scheme not in INIT_SCHEMES:
        raise ValueError(
            f"The 'scheme' parameter of {caller} must be one of "
            f"{', '.join(INIT_SCHEMES)}. Got {scheme!r} instead."
        )
    extra = set(scheme_kw) - allowed.get(scheme, set())
    if extra:
        raise TypeError(
            f"The {scheme!r} scheme of {caller} accepts the keywords "
            f"{sorted(allowed.get(scheme, set()))}. Got {sorted(extra)} instead."
        )
    if scheme == "uniform":
        low = check_scalar(scheme_kw.get("low", -0.05), "low", caller=caller)
        high = check_scalar(scheme_kw.get("high", 0.05), "high", caller=caller)
        if not low < high:
            raise ValueError(
                f"The 'low' and 'high' parameters of {caller} must satisfy "
                f"low < high. Got low={low!r}, high={high!r} instead."
            )
    if scheme == "normal":
        std = check_scalar(scheme_kw.get("std", 0.05), "std", caller=caller,
                           min_val=0.0)
    seed = resolve_seed(seed, caller=caller)  # validated before any allocation
    pop = np.zeros((pop_size, n_params), np.float32)
    if scheme == "zeros":
        return pop
    if scheme in ("he_normal", "normal"):
        fill_standard_normal(pop, seed, 0, STREAMS["init"], None)
        for lay in layout:
            scale = std if scheme == "normal" else np.sqrt(2.0 / lay.w_shape[0])
            pop[:, lay.w_offset : lay.b_offset] *= np.float32(scale)
    else:
        # U(lo, lo + width) per layer
        if scheme == "uniform":
            affine = [(low, high - low)] * len(layout)
        else:
            lims = [np.sqrt(6.0 / (lay.w_shape[0] + lay.w_shape[1])) for lay in layout]
            affine = [(-lim, 2.0 * lim) for lim in lims]
        # float64 draws a block of rows at a time: 8 MiB or 1/16 of the
        # population, whichever is more (few blocks: each one regenerates
        # the row seeds up to its last row)
        step = max(1, _BLOCK_VALUES // n_params, -(-pop_size // 16))
        for r0 in range(0, pop_size, step):
            r1 = min(pop_size, r0 + step)
            u = uniform(r1 - r0, n_params, seed=seed, generation=0,
                        stream=STREAMS["init"], rows=np.arange(r0, r1))
            for lay, (lo, width) in zip(layout, affine, strict=True):
                w = u[:, lay.w_offset : lay.b_offset]
                w *= width
                w += lo
                pop[r0:r1, lay.w_offset : lay.b_offset] = w
    for lay in layout:  # biases: zero
        pop[:, lay.b_offset : lay.b_offset + lay.b_size] = 0.0
    return pop
