"""Argument checks and configuration parsing of
:class:`pyneat_lite.network.Network` (issue 9 split).

The constructor's two forms, ``from_config``, the layered network's
derived attributes, and the checks and conversions of the population, the
inputs, ``state``, ``out``, a genome to view and per-layer weights.  Every
error names the argument and the expectation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ._layout import LayerLayout, StackSpec
from ._network_kernels import _macs, _Scratch
from ._threads import effective_n_threads
from ._validation import (
    check_array,
    check_genome,
    check_int,
    check_out,
    check_population,
)


def check_init_args(sizes: Any, activations: Any, layers: Any,
                    input_shape: Any) -> bool:
    """Whether ``Network(...)`` was called in the layered form; TypeError
    for a mix of the two forms or a missing argument."""
    if layers is not None or input_shape is not None:
        if sizes is not None or activations is not None:
            raise TypeError(
                "Network takes either sizes and activations, or layers= and "
                "input_shape=, not both."
            )
        if layers is None or input_shape is None:
            raise TypeError(
                "Network(layers=..., input_shape=...) needs both arguments: the "
                "layer list and the shape of one input (n, or (C, H, W))."
            )
        return True
    if sizes is None or activations is None:
        raise TypeError(
            "Network needs sizes and activations (a stack of dense layers), or "
            "layers= and input_shape= (see pyneat_lite.layers)."
        )
    return False


def dense_form(spec: StackSpec) -> tuple[list[int], list[str]] | None:
    """``(sizes, activations)`` of a stack of dense layers on vectors (built
    as the sizes form, its kernels and its equality), else None."""
    from .layers import Dense

    if len(spec.input_shape) == 1 and all(type(lay) is Dense for lay in spec.layers):
        sizes = [spec.input_shape[0], *(lay.units for lay in spec.layers)]
        return sizes, [lay.activation for lay in spec.layers]
    return None


def stack_attributes(spec: StackSpec) -> dict[str, Any]:
    """The attributes of a layered network, in the order they are set."""
    n_in = int(np.prod(spec.input_shape))
    # flat width after every layer with parameters
    widths = [int(np.prod(s)) for lay, s in zip(spec.layers, spec.shapes,
                                                strict=True) if lay.has_params]
    return {
        "_stack": spec,
        "input_shape": spec.input_shape,
        "recurrent": spec.recurrent,
        "state_size": int(sum(lay.units for lay in spec.layers
                              if getattr(lay, "recurrent", False))),
        "layout": spec.layout,
        "meta": spec.meta,
        "n_in": n_in,
        "n_out": int(np.prod(spec.shapes[-1])),
        "n_layers": len(spec.layout),
        "n_params": spec.layout[-1].b_offset + spec.layout[-1].b_size,
        "activations": tuple(lay.activation for lay in spec.layout),
        "sizes": (n_in, *widths),
        "max_width": int(max(int(np.prod(s)) for s in
                             (spec.input_shape, *spec.shapes))),
        # multiply-adds per sample and genome
        "_n_weights": _macs(spec.meta),
        "_scratch": _Scratch(),
    }


def from_config(cls: Any, config: Any) -> Any:
    """:meth:`Network.from_config`: check ``config`` and build ``cls``."""
    if not isinstance(config, dict):
        raise TypeError(
            "The 'config' argument of Network.from_config must be a dict. "
            f"Got {type(config).__name__} instead."
        )
    if set(config) == {"layers", "input_shape"}:
        from .layers import layer_from_config

        if not isinstance(config["layers"], (list, tuple)):
            raise ValueError(
                "The 'layers' entry of Network.from_config's config must be a "
                f"list of layer configs. Got {config['layers']!r} instead."
            )
        return cls(layers=[layer_from_config(c) for c in config["layers"]],
                   input_shape=config["input_shape"])
    unknown = set(config) - {"sizes", "activations"}
    missing = {"sizes", "activations"} - set(config)
    if unknown or missing:
        raise ValueError(
            "The 'config' argument of Network.from_config must have exactly the "
            "keys 'sizes' and 'activations' (or 'layers' and 'input_shape'). "
            f"Got keys {sorted(config)} instead."
        )
    return cls(config["sizes"], config["activations"])


def population(net: Any, x: Any, caller: str, name: str) -> tuple[np.ndarray, bool]:
    """(P, n_params) float32 array and whether a single 1-D genome was given
    (neither is checked for NaN: see :meth:`Network.forward`)."""
    arr = check_array(x, name, caller=caller, ndim=(1, 2), finite=False)
    if arr.ndim == 1:
        arr = check_genome(arr, name, caller=caller, n_params=net.n_params,
                           finite=False)
        return arr.reshape(1, -1), True
    return check_population(arr, name, caller=caller, n_params=net.n_params,
                            finite=False), False


def inputs(net: Any, X: Any, caller: str, name: str = "X") -> np.ndarray:
    """Inputs as (B, n_in) float32; images may come as (B, C, H, W)."""
    if len(net.input_shape) == 3:
        X = check_array(X, name, caller=caller, ndim=(2, 4), finite=True)
        if X.ndim == 4:
            if X.shape[1:] != net.input_shape:
                raise ValueError(
                    f"The {name!r} argument of {caller} must have shape (B, "
                    f"{', '.join(map(str, net.input_shape))}) or (B, {net.n_in})"
                    f" (channels-first images). Got shape {X.shape} instead."
                )
            X = X.reshape(X.shape[0], net.n_in)
        return X
    return check_array(X, name, caller=caller, ndim=2, finite=True)


def check_stateless(net: Any, caller: str) -> None:
    """:meth:`Network.forward` is not for recurrent networks."""
    if net.recurrent:
        raise ValueError(
            f"{caller}: this network has recurrent layers (RNN, GRU), whose "
            "output depends on a state; use forward_each(population, inputs, "
            "state=...) one step at a time."
        )


def check_forward_args(net: Any, X: np.ndarray, method: str, chunk_size: Any,
                       caller: str) -> int | None:
    """``X``'s columns, ``method`` and ``chunk_size`` (returned checked) of
    :meth:`Network.forward`."""
    if X.shape[1] != net.n_in:
        raise ValueError(
            f"The 'X' argument of {caller} must have {net.n_in} columns "
            f"(n_in). Got shape {X.shape} instead."
        )
    if method not in ("auto", "gemm", "loops"):
        raise ValueError(
            f"The 'method' parameter of {caller} must be 'auto', 'gemm' or "
            f"'loops'. Got {method!r} instead."
        )
    if chunk_size is not None:
        chunk_size = check_int(chunk_size, "chunk_size", caller=caller, min_val=1)
    return chunk_size


_F32 = np.dtype(np.float32)


def step_arrays_ready(net: Any, pop: Any, x: Any, out: Any) -> bool:
    """Whether :meth:`Network.forward_each`'s arrays pass every check as they
    are: ndarrays of float32, C-contiguous, of the right shapes, ``inputs``
    finite, ``out`` (when given) writeable and apart from both (the common
    case of a loop that reuses its buffers, checked in about a microsecond).
    False sends the caller to :func:`step_args`, which converts or raises."""
    if type(pop) is not np.ndarray or type(x) is not np.ndarray \
            or pop.dtype != _F32 or x.dtype != _F32 or pop.ndim != 2:
        return False
    n = pop.shape[0]
    if n == 0 or pop.shape[1] != net.n_params or x.shape != (n, net.n_in) \
            or not pop.flags.c_contiguous or not x.flags.c_contiguous:
        return False
    if out is not None:
        if type(out) is not np.ndarray or out.dtype != _F32 \
                or out.shape != (n, net.n_out):
            return False
        fl = out.flags
        if not (fl.c_contiguous and fl.writeable) or np.may_share_memory(out, pop) \
                or np.may_share_memory(out, x):
            return False
    if _ALL_FINITE is None:
        _load_all_finite()
    return bool(_ALL_FINITE(x))


_ALL_FINITE: Any = None


def _load_all_finite() -> None:
    """Import the Numba check on first use (``import pyneat_lite`` stays
    free of Numba; an import statement per call costs about 1 us)."""
    global _ALL_FINITE
    from ._kernels.each_tiled import all_finite

    _ALL_FINITE = all_finite


def step_args(net: Any, population: Any, inputs_: Any, out: Any, state: Any,
              n_threads: int | None, caller: str
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(pop, inputs, out)`` of :meth:`Network.forward_each`, checked (and
    ``out`` allocated when None), ``state`` checked."""
    pop = check_population(
        population, caller=caller, n_params=net.n_params, finite=False
    )
    x = inputs(net, inputs_, caller, "inputs")
    n_pop = pop.shape[0]
    if x.shape != (n_pop, net.n_in):
        raise ValueError(
            f"The 'inputs' argument of {caller} must have shape ({n_pop}, "
            f"{net.n_in}) (one row of n_in values per genome). Got shape "
            f"{x.shape} instead."
        )
    check_state(net, state, pop, x, caller)
    out = _output(out, (n_pop, net.n_out), caller, pop, x, n_threads)
    if state is not None and np.shares_memory(out, state):
        raise ValueError(
            f"The 'out' argument of {caller} must not share memory with 'state'."
        )
    return pop, x, out


def check_state(net: Any, state: Any, pop: np.ndarray, inputs: np.ndarray,
                caller: str) -> None:
    """``state`` of :meth:`Network.forward_each`: required exactly for a
    recurrent network, a writeable C-contiguous float32 ``(P, state_size)``
    array sharing no memory with the population or the inputs."""
    n_pop = pop.shape[0]
    if net.recurrent:
        if state is None:
            raise ValueError(
                f"The 'state' argument of {caller} is required: this network has "
                "recurrent layers (RNN, GRU). Pass state=net.init_state(P) and "
                "keep it from step to step."
            )
        if not isinstance(state, np.ndarray) or state.dtype != np.float32 \
                or not state.flags.c_contiguous or not state.flags.writeable:
            raise TypeError(
                f"The 'state' argument of {caller} must be a writeable "
                "C-contiguous float32 numpy array (it is updated in place; "
                "net.init_state(P) makes one)."
            )
        if state.shape != (n_pop, net.state_size):
            raise ValueError(
                f"The 'state' argument of {caller} must have shape ({n_pop}, "
                f"{net.state_size}) (population, state_size). Got shape "
                f"{state.shape} instead."
            )
        if np.shares_memory(state, pop) or np.shares_memory(state, inputs):
            raise ValueError(
                f"The 'state' argument of {caller} must not share memory with "
                "the population or the inputs."
            )
    elif state is not None:
        raise ValueError(
            f"The 'state' argument of {caller} is only for networks with "
            "recurrent layers (RNN, GRU); this one has none."
        )


def _output(out: Any, shape: tuple[int, ...], caller: str, pop: np.ndarray,
            X: np.ndarray, n_threads: int | None) -> np.ndarray:
    """Validate ``n_threads`` and ``out`` (or allocate it) for a forward."""
    if n_threads is not None:
        effective_n_threads(n_threads)  # validates
    if out is None:
        return np.empty(shape, np.float32)
    return check_out(out, shape, caller=caller, forbid_alias=(pop, X))


def check_genome_view(genome: Any, n_params: int, caller: str) -> None:
    """``genome`` of :meth:`Network.unflatten`: already a C-contiguous
    float32 ``(n_params,)`` numpy array (views into it are returned)."""
    if not isinstance(genome, np.ndarray):
        raise TypeError(
            f"The 'genome' argument of {caller} must be a numpy.ndarray (views "
            f"are returned). Got {type(genome).__name__} instead."
        )
    if genome.dtype != np.float32 or not genome.flags.c_contiguous:
        raise TypeError(
            f"The 'genome' argument of {caller} must be a C-contiguous float32 "
            f"array. Got dtype {genome.dtype}, "
            f"C-contiguous={genome.flags.c_contiguous} instead."
        )
    if genome.shape != (n_params,):
        raise ValueError(
            f"The 'genome' argument of {caller} must have shape "
            f"({n_params},) (n_params). Got shape {genome.shape} instead."
        )


def flatten_weights(layout: tuple[LayerLayout, ...], n_params: int,
                    weights: Sequence[tuple[Any, Any]], caller: str) -> np.ndarray:
    """:meth:`Network.flatten`: check the ``(W, b)`` pairs and copy them into
    a new float32 genome."""
    weights = list(weights)
    if len(weights) != len(layout):
        raise ValueError(
            f"The 'weights' argument of {caller} must hold one (W, b) pair per "
            f"layer ({len(layout)}). Got {len(weights)} items instead."
        )
    genome = np.empty(n_params, np.float32)
    for i, (pair, lay) in enumerate(zip(weights, layout, strict=True)):
        if len(pair) != 2:
            raise ValueError(
                f"The 'weights[{i}]' argument of {caller} must be a (W, b) pair. "
                f"Got {len(pair)} items instead."
            )
        w = np.asarray(pair[0], dtype=np.float32)
        b = np.asarray(pair[1], dtype=np.float32)
        if w.shape != lay.w_shape or b.shape != (lay.b_size,):
            raise ValueError(
                f"The 'weights[{i}]' argument of {caller} must have W of shape "
                f"{lay.w_shape} and b of shape ({lay.b_size},). Got W {w.shape} "
                f"and b {b.shape} instead."
            )
        genome[lay.w_offset : lay.b_offset] = w.ravel()
        genome[lay.b_offset : lay.b_offset + lay.b_size] = b
    return genome



def split(net: Any, index: Any) -> tuple[Any, Any]:
    """:meth:`Network.split`: the networks of ``layers[:index]`` and
    ``layers[index:]`` (a leading :class:`~pyneat_lite.Flatten` of the
    suffix dropped: the suffix reads flat rows)."""
    from .layers import Flatten

    caller = "Network.split"
    layers = net.layers
    if net.recurrent:
        raise ValueError(f"{caller} needs a network without recurrent layers (their "
                         "state runs through every step). Got a recurrent network.")
    index = check_int(index, "index", caller=caller, min_val=1,
                      max_val=len(layers) - 1)
    if net._stack is None:
        shape: tuple[int, ...] = (net.sizes[index],)
    else:
        shape = net._stack.shapes[index - 1]
    rest = list(layers[index:])
    if isinstance(rest[0], Flatten):
        rest, shape = rest[1:], (int(np.prod(shape)),)
    cls = type(net)
    try:
        prefix = cls(layers=list(layers[:index]), input_shape=net.input_shape)
        suffix = cls(layers=rest, input_shape=shape if len(shape) == 3 else shape[0])
    except ValueError as err:
        raise ValueError(f"The 'index' argument of {caller} must leave a layer with "
                         f"parameters on each side. Got {index} instead "
                         f"({err})") from None
    return prefix, suffix
