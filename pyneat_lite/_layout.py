"""The genome layout of a :class:`~pyneat_lite.network.Network`: sizes and
activations checked, and where every layer's parameters sit in a genome."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from ._validation import check_int
from .activations import activation_id

__all__ = ["LayerLayout", "parse_spec"]


class LayerLayout(NamedTuple):
    """Where one layer's parameters sit in a genome.

    Attributes
    ----------
    w_offset : int
        Index of ``W[0, 0]`` in the genome.
    w_shape : tuple of int
        ``(n_in, n_out)``; ``W`` is stored row-major.
    b_offset : int
        Index of ``b[0]`` (always ``w_offset + n_in * n_out``).
    b_size : int
        ``n_out``.
    activation : str
        Name of the layer's activation.
    """

    w_offset: int
    w_shape: tuple[int, int]
    b_offset: int
    b_size: int
    activation: str


def parse_spec(
    sizes: Sequence[int], activations: str | Sequence[str]
) -> tuple[tuple[int, ...], tuple[str, ...], tuple[LayerLayout, ...], np.ndarray]:
    """``(sizes, activations, layout, meta)`` of a network, validated (see
    :class:`~pyneat_lite.network.Network` for the rules and errors)."""
    if isinstance(sizes, (str, bytes)) or not hasattr(sizes, "__len__"):
        raise TypeError(
            "The 'sizes' argument of Network must be a sequence of ints "
            f"[n_in, h1, ..., n_out]. Got {sizes!r} instead."
        )
    sizes_t = tuple(
        check_int(s, f"sizes[{i}]", caller="Network", min_val=1)
        for i, s in enumerate(sizes)
    )
    if len(sizes_t) < 2:
        raise ValueError(
            "The 'sizes' argument of Network must have at least two sizes "
            f"[n_in, ..., n_out]. Got {list(sizes_t)} instead."
        )
    n_layers = len(sizes_t) - 1
    if isinstance(activations, str):
        acts = (activations,) * n_layers
    else:
        acts = tuple(activations)
        if len(acts) != n_layers:
            raise ValueError(
                "The 'activations' argument of Network must have one name per "
                f"layer ({n_layers} for sizes {list(sizes_t)}) or be a single "
                f"name. Got {len(acts)} names instead."
            )
    ids = [activation_id(a) for a in acts]

    layout = []
    meta = np.empty((n_layers, 5), np.int64)
    offset = 0
    for i in range(n_layers):
        n_in, n_out = sizes_t[i], sizes_t[i + 1]
        w_off = offset
        b_off = w_off + n_in * n_out
        offset = b_off + n_out
        layout.append(LayerLayout(w_off, (n_in, n_out), b_off, n_out, acts[i]))
        meta[i] = (n_in, n_out, w_off, b_off, ids[i])
    meta.flags.writeable = False
    return sizes_t, acts, tuple(layout), meta
