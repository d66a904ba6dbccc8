"""Weight initialisation of :meth:`Network.init_population`: the schemes and
their draws, from the library's random streams (:mod:`pyneat_lite._rng`).

Genomes are drawn row after row from one NumPy stream, so the first ``k``
rows do not depend on the population size.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ._rng import STREAMS, resolve_seed
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
    pop = np.empty((pop_size, n_params), np.float32)
    if scheme == "zeros":
        pop.fill(0.0)
        return pop
    ss = np.random.SeedSequence(
        resolve_seed(seed, caller=caller), spawn_key=(STREAMS["init"],)
    )
    rng = np.random.default_rng(ss)
    if scheme in ("glorot_uniform", "uniform"):
        rng.random(dtype=np.float32, out=pop)  # U[0, 1), then affine per layer
    else:
        rng.standard_normal(dtype=np.float32, out=pop)
    for lay in layout:
        n_in, n_out = lay.w_shape
        w = pop[:, lay.w_offset : lay.b_offset]
        if scheme == "glorot_uniform":
            lim = np.float32(np.sqrt(6.0 / (n_in + n_out)))
            w *= 2 * lim
            w -= lim
        elif scheme == "uniform":
            w *= np.float32(high - low)
            w += np.float32(low)
        elif scheme == "he_normal":
            w *= np.float32(np.sqrt(2.0 / n_in))
        else:  # normal
            w *= np.float32(std)
    for lay in layout:  # biases: zero
        pop[:, lay.b_offset : lay.b_offset + lay.b_size] = 0.0
    return pop
