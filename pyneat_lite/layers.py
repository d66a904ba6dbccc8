"""Layer specs for :class:`~pyneat_lite.network.Network`: dense, convolution,
pooling, flatten and recurrent layers (issue 13).

``Network(sizes, activations)`` describes a stack of dense layers.  A list of
the layer objects below, with the shape of one input, describes the rest::

    net = pn.Network(layers=[pn.Conv2D(8, 5, padding="same", activation="relu"),
                             pn.AvgPool2D(2),
                             pn.Conv2D(16, 5, padding="same", activation="relu"),
                             pn.AvgPool2D(2),
                             pn.Flatten(),
                             pn.Dense(10, "softmax")],
                     input_shape=(1, 28, 28))

Recurrent layers (:class:`RNN`, :class:`GRU`, mixed with :class:`Dense`
ones) carry a state from one step to the next: ``state = net.init_state(P)``,
then ``net.forward_each(population, inputs, state=state)`` each step (it
updates ``state`` in place); ``state[:] = 0`` (or ``state[done] = 0``)
starts new episodes.

A list of :class:`Dense` layers only is the same network as the sizes form
(``Network(layers=[Dense(32, "tanh"), Dense(10)], input_shape=64) ==
Network([64, 32, 10], ["tanh", "linear"])``), with the same kernels.

Data layout
-----------
* Images are channels-first, as in PyTorch: one input is ``(C, H, W)``, and
  the network takes rows of ``C * H * W`` values (or arrays ``(B, C, H, W)``).
  :class:`Flatten` keeps that ``(c, h, w)`` order, so a ``Dense`` layer after
  it reads the same vector as ``nn.Linear`` after ``nn.Flatten``.
* Genome, layer after layer (pooling and flatten have no parameters):

  - :class:`Dense`: kernel ``W (n_in, units)`` row-major, then bias ``(units,)``.
  - :class:`Conv2D`: kernel ``W (C_in * kh * kw, channels)`` row-major, the
    rows in ``(c_in, i, j)`` order (so ``W.reshape(C_in, kh, kw, channels)``;
    a PyTorch ``Conv2d.weight`` ``(channels, C_in, kh, kw)`` is
    ``W.T.reshape(...)``), then bias ``(channels,)``.  A convolution is then
    one matrix product of the patches (im2col) with ``W``.
  - :class:`RNN` (Elman): ``W (n_in + units, units)``, the rows of the input
    then those of the previous state, then bias ``(units,)``:
    ``h' = act([x, h] @ W + b)``.
  - :class:`GRU`: ``W (n_in + units, 3 * units)`` (input rows, then state
    rows; columns are the gates ``r, z, n``, PyTorch's order), then the
    biases ``(2 * 3 * units,)``: input bias ``b_i`` then state bias ``b_h``,
    each over ``r, z, n``.  As ``nn.GRU``: ``r = sigmoid(x W_ir + b_ir + h
    W_hr + b_hr)``, ``z`` likewise, ``n = tanh(x W_in + b_in + r * (h W_hn +
    b_hn))``, ``h' = (1 - z) * n + z * h``.

  :attr:`Network.layout` has one :class:`~pyneat_lite.network.LayerLayout`
  per layer with parameters, with these ``w_shape`` and ``b_size``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from ._validation import check_int
from .activations import activation_id

__all__ = ["Dense", "Conv2D", "MaxPool2D", "AvgPool2D", "Flatten", "RNN", "GRU",
           "LAYER_TYPES", "layer_from_config"]


def _pair(value: Any, name: str, layer: str, min_val: int = 1) -> tuple[int, int]:
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(
                f"The {name!r} argument of {layer} must be an int or a pair of ints. "
                f"Got {value!r} instead."
            )
        return (check_int(value[0], name, caller=layer, min_val=min_val),
                check_int(value[1], name, caller=layer, min_val=min_val))
    v = check_int(value, name, caller=layer, min_val=min_val)
    return (v, v)


def _act(name: Any, layer: str, allow_softmax: bool = True) -> str:
    activation_id(name)  # validates: unknown names list the valid ones
    if name == "softmax" and not allow_softmax:
        raise ValueError(
            f"The 'activation' argument of {layer} cannot be 'softmax' (it normalises "
            "over the units of a Dense layer only). Got 'softmax' instead."
        )
    return str(name)


class _Layer:
    """Common behaviour of the layer specs (frozen dataclasses)."""

    has_params = False
    recurrent = False

    def to_config(self) -> dict[str, Any]:
        """JSON-serialisable description, ``{"type": ..., **arguments}``."""
        cfg: dict[str, Any] = {"type": type(self).__name__}
        for k, v in asdict(self).items():  # type: ignore[call-overload]
            cfg[k] = list(v) if isinstance(v, tuple) else v
        return cfg


@dataclass(frozen=True)
class Dense(_Layer):
    """Fully connected layer: ``act(x @ W + b)``.

    Parameters
    ----------
    units : int
        Output width, >= 1.
    activation : str
        Activation name (default ``"linear"``); see
        :data:`pyneat_lite.ACTIVATIONS`.
    """

    units: int
    activation: str = "linear"
    has_params = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "units", check_int(self.units, "units", caller="Dense",
                                                      min_val=1))
        object.__setattr__(self, "activation", _act(self.activation, "Dense"))


@dataclass(frozen=True)
class Conv2D(_Layer):
    """2-D convolution (cross-correlation, as PyTorch and Keras) over
    channels-first images.

    Parameters
    ----------
    channels : int
        Output channels, >= 1.
    kernel : int or (int, int)
        Kernel height and width.
    stride : int or (int, int)
        Default 1.
    padding : {"valid", "same"} or int
        ``"valid"``: no padding.  ``"same"``: zero padding so that the output
        is ``ceil(input / stride)`` (the extra row or column, if any, at the
        bottom or right, as TensorFlow; PyTorch's ``padding="same"`` for
        stride 1).  An int: that many zero rows and columns on every side
        (PyTorch's ``padding=p``).
    activation : str
        Activation name (default ``"linear"``); not ``"softmax"``.
    """

    channels: int
    kernel: Any
    stride: Any = 1
    padding: Any = "valid"
    activation: str = "linear"
    has_params = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "channels", check_int(self.channels, "channels",
                                                         caller="Conv2D", min_val=1))
        object.__setattr__(self, "kernel", _pair(self.kernel, "kernel", "Conv2D"))
        object.__setattr__(self, "stride", _pair(self.stride, "stride", "Conv2D"))
        pad = self.padding
        if isinstance(pad, str):
            if pad not in ("valid", "same"):
                raise ValueError(
                    "The 'padding' argument of Conv2D must be 'valid', 'same' or an "
                    f"int >= 0. Got {pad!r} instead."
                )
        else:
            pad = check_int(pad, "padding", caller="Conv2D", min_val=0)
        object.__setattr__(self, "padding", pad)
        object.__setattr__(self, "activation",
                           _act(self.activation, "Conv2D", allow_softmax=False))


@dataclass(frozen=True)
class _Pool(_Layer):
    size: Any = 2
    stride: Any = None

    def __post_init__(self) -> None:
        name = type(self).__name__
        object.__setattr__(self, "size", _pair(self.size, "size", name))
        stride = self.size if self.stride is None else self.stride
        object.__setattr__(self, "stride", _pair(stride, "stride", name))


@dataclass(frozen=True)
class MaxPool2D(_Pool):
    """Max pooling over windows ``size`` (int or pair) moved by ``stride``
    (default: ``size``), no padding (PyTorch's ``MaxPool2d(size, stride)``)."""


@dataclass(frozen=True)
class AvgPool2D(_Pool):
    """Average pooling over windows ``size`` moved by ``stride`` (default:
    ``size``), no padding (PyTorch's ``AvgPool2d(size, stride)``)."""


@dataclass(frozen=True)
class Flatten(_Layer):
    """Images ``(C, H, W)`` to vectors of ``C * H * W`` values in that order
    (no parameters, no work: the layout is already flat)."""


@dataclass(frozen=True)
class RNN(_Layer):
    """Elman recurrent layer: ``h' = act([x, h] @ W + b)``; the layer's
    output is ``h'``.  Needs :meth:`Network.forward_each` with a state.

    Parameters
    ----------
    units : int
        State width, >= 1.
    activation : str
        Default ``"tanh"`` (as ``nn.RNN``); not ``"softmax"``.
    """

    units: int
    activation: str = "tanh"
    has_params = True
    recurrent = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "units", check_int(self.units, "units", caller="RNN",
                                                      min_val=1))
        object.__setattr__(self, "activation",
                           _act(self.activation, "RNN", allow_softmax=False))


@dataclass(frozen=True)
class GRU(_Layer):
    """Gated recurrent unit with PyTorch's equations and gate order (see the
    module notes); the layer's output is the new state.  Needs
    :meth:`Network.forward_each` with a state.

    Parameters
    ----------
    units : int
        State width, >= 1.
    """

    units: int
    activation: str = field(default="tanh", init=False)
    has_params = True
    recurrent = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "units", check_int(self.units, "units", caller="GRU",
                                                      min_val=1))

    def to_config(self) -> dict[str, Any]:
        return {"type": "GRU", "units": self.units}


#: Layer classes by name (for configs).
LAYER_TYPES: dict[str, type] = {
    c.__name__: c for c in (Dense, Conv2D, MaxPool2D, AvgPool2D, Flatten, RNN, GRU)}


def layer_from_config(cfg: Any) -> _Layer:
    """Inverse of a layer's ``to_config``."""
    if not isinstance(cfg, dict) or cfg.get("type") not in LAYER_TYPES:
        raise ValueError(
            "A layer config must be a dict with 'type' one of "
            f"{', '.join(LAYER_TYPES)}. Got {cfg!r} instead."
        )
    kw = {k: v for k, v in cfg.items() if k != "type"}
    return LAYER_TYPES[cfg["type"]](**kw)  # type: ignore[no-any-return]
