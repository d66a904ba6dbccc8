"""The genome layout of a :class:`~pyneat_lite.network.Network`: sizes and
activations checked, and where every layer's parameters sit in a genome."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from ._validation import check_int
from .activations import activation_id

__all__ = ["LayerLayout", "StackSpec", "parse_spec", "parse_layers"]

_MAX_PARAMS = np.iinfo(np.int64).max


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
    n_params = sum(a * b + b for a, b in zip(sizes_t[:-1], sizes_t[1:], strict=False))
    if n_params > _MAX_PARAMS:
        # offsets are int64 in the kernels' meta table; Python ints would not
        # fail until NumPy converts them (an OverflowError naming nothing)
        raise ValueError(
            "The 'sizes' argument of Network must give at most 2**63 - 1 "
            f"parameters (int64 offsets). Got {n_params} parameters for "
            f"sizes {list(sizes_t)} instead."
        )
    n_layers = len(sizes_t) - 1
    if isinstance(activations, str):
        acts = (activations,) * n_layers
    else:
        if isinstance(activations, bytes) or not hasattr(activations, "__iter__"):
            raise TypeError(
                "The 'activations' argument of Network must be an activation "
                "name or a sequence of names, one per layer. Got "
                f"{activations!r} ({type(activations).__name__}) instead."
            )
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


class StackSpec(NamedTuple):
    """A layered network as :func:`parse_layers` reads it."""

    input_shape: tuple[int, ...]
    layers: tuple[object, ...]
    shapes: tuple[tuple[int, ...], ...]   # output shape of every layer
    layout: tuple[LayerLayout, ...]
    meta: np.ndarray                      # int64 (n_rows, 16), see _kernels.conv
    recurrent: bool                       # has RNN or GRU layers


def _conv_out(n: int, k: int, s: int, padding: object) -> tuple[int, int]:
    """(output size, leading zero padding) of one axis."""
    if padding == "same":
        out = -(-n // s)
        return out, max((out - 1) * s + k - n, 0) // 2
    p = 0 if padding == "valid" else int(padding)  # type: ignore[call-overload]
    return (n + 2 * p - k) // s + 1, p


def parse_layers(layers: Sequence[object], input_shape: object) -> StackSpec:
    """Check a layer list against its input shape and lay out its genome (see
    :mod:`pyneat_lite.layers` for the rules and :mod:`pyneat_lite._kernels.conv`
    for the table)."""
    from ._kernels import conv as codes
    from .layers import GRU, RNN, AvgPool2D, Conv2D, Flatten, MaxPool2D, _Layer

    caller = "Network"
    if isinstance(input_shape, (int, np.integer)) and not isinstance(input_shape, bool):
        input_shape = (input_shape,)
    if not isinstance(input_shape, (tuple, list)) or len(input_shape) not in (1, 3):
        raise ValueError(
            "The 'input_shape' argument of Network must be an int n (vectors) or a "
            f"triple (C, H, W) (channels-first images). Got {input_shape!r} instead."
        )
    shape = tuple(check_int(v, f"input_shape[{i}]", caller=caller, min_val=1)
                  for i, v in enumerate(input_shape))
    if isinstance(layers, (str, bytes)) or not hasattr(layers, "__len__") or not layers:
        raise ValueError(
            "The 'layers' argument of Network must be a non-empty list of layers "
            f"(pyneat_lite.Dense, Conv2D, ...). Got {layers!r} instead."
        )
    layers = tuple(layers)
    rows: list[list[int]] = []
    layout: list[LayerLayout] = []
    shapes: list[tuple[int, ...]] = []
    offset = 0
    # the kernels' layout of the current activations, (C, H, W): Flatten
    # changes the shape but not the layout, which the next Dense reads
    phys = shape if len(shape) == 3 else (shape[0], 1, 1)
    recurrent = any(getattr(lay, "recurrent", False) for lay in layers)
    for i, lay in enumerate(layers):
        name = f"layers[{i}] ({type(lay).__name__})"
        if not isinstance(lay, _Layer):
            raise TypeError(
                f"The 'layers[{i}]' argument of Network must be a layer (pyneat_lite."
                f"Dense, Conv2D, ...). Got {type(lay).__name__} instead."
            )
        image = len(shape) == 3
        cin, hin, win = shape if image else (shape[0], 1, 1)
        row = [0] * codes.META_COLS
        row[1:4] = list(phys)
        row[13] = row[14] = -1
        if recurrent and not isinstance(lay, (RNN, GRU)) and (
                image or type(lay).__name__ != "Dense"):
            raise ValueError(
                f"{name} of Network: a network with recurrent layers (RNN, GRU) may "
                "hold only Dense, RNN and GRU layers, on vector inputs."
            )
        if isinstance(lay, Flatten):
            shape = (cin * hin * win,)
            shapes.append(shape)
            continue
        if isinstance(lay, (Conv2D, MaxPool2D, AvgPool2D)):
            if not image:
                raise ValueError(
                    f"{name} of Network needs an image input (C, H, W). Got a vector "
                    f"of {shape[0]} values instead (input_shape=(C, H, W) for images; "
                    "no convolution or pooling after Flatten or Dense)."
                )
            if isinstance(lay, Conv2D):
                (kh, kw), (sh, sw), pad = lay.kernel, lay.stride, lay.padding
            else:
                (kh, kw), (sh, sw), pad = lay.size, lay.stride, "valid"
            ph = pad if pad == "same" else (0 if pad == "valid" else pad)
            if pad != "same" and (hin + 2 * ph < kh or win + 2 * ph < kw):  # type: ignore[operator]
                raise ValueError(
                    f"{name} of Network: its window {kh}x{kw} is larger than its "
                    f"input {hin}x{win}" + (f" padded by {ph}" if ph else "")
                    + f" (input shape {shape})."
                )
            oh, pt = _conv_out(hin, kh, sh, pad)
            ow, pl = _conv_out(win, kw, sw, pad)
            cout = lay.channels if isinstance(lay, Conv2D) else cin
            row[4:13] = [cout, oh, ow, kh, kw, sh, sw, pt, pl]
            if isinstance(lay, Conv2D):
                row[0] = codes.CONV
                k = cin * kh * kw
                layout.append(LayerLayout(offset, (k, cout), offset + k * cout, cout,
                                          lay.activation))
                row[13], row[14] = offset, offset + k * cout
                row[15] = activation_id(lay.activation)
                offset += k * cout + cout
            else:
                row[0] = codes.MAXPOOL if isinstance(lay, MaxPool2D) else codes.AVGPOOL
            shape = phys = (cout, oh, ow)
        else:  # Dense, RNN, GRU
            if image:
                raise ValueError(
                    f"{name} of Network needs a vector input. Got an image of shape "
                    f"{shape} instead: put a Flatten() before it."
                )
            units = lay.units  # type: ignore[attr-defined]
            n_in = shape[0]
            if isinstance(lay, RNN):
                row[0], n_rows, n_cols, n_bias = codes.RNN, n_in + units, units, units
            elif isinstance(lay, GRU):
                row[0], n_rows = codes.GRU, n_in + units
                n_cols, n_bias = 3 * units, 6 * units
            else:
                row[0], n_rows, n_cols, n_bias = codes.DENSE, n_in, units, units
            row[4:7] = [units, 1, 1]
            act = lay.activation  # type: ignore[attr-defined]
            layout.append(LayerLayout(offset, (n_rows, n_cols),
                                      offset + n_rows * n_cols, n_bias, act))
            row[13], row[14] = offset, offset + n_rows * n_cols
            row[15] = activation_id(act)
            offset += n_rows * n_cols + n_bias
            shape = (units,)
            phys = (units, 1, 1)
        shapes.append(shape)
        rows.append(row)
    if not layout:
        raise ValueError(
            "The 'layers' argument of Network must hold at least one layer with "
            "parameters (Dense, Conv2D, RNN, GRU)."
        )
    if not rows:  # pragma: no cover - a layer with parameters makes a row
        raise AssertionError
    meta = np.array(rows, np.int64).reshape(len(rows), codes.META_COLS)
    meta.flags.writeable = False
    return StackSpec(shape_in(input_shape), layers, tuple(shapes), tuple(layout), meta,
                     recurrent)


def shape_in(input_shape: object) -> tuple[int, ...]:
    """``input_shape`` as a tuple of ints (already validated)."""
    if isinstance(input_shape, (tuple, list)):
        return tuple(int(v) for v in input_shape)
    return (int(input_shape),)  # type: ignore[call-overload]
