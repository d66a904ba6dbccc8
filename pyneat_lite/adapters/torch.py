"""PyTorch adapter: move weights between ``torch.nn`` modules and genomes.

Two kinds of conversion:

- For an ``nn.Sequential`` of ``nn.Linear`` layers, each optionally followed by
  one supported activation module, :func:`from_module` returns the equivalent
  :class:`pyneat_lite.Network` and its genome, and :func:`to_module` goes back.
  The genome is in the network layout (kernel ``W`` of shape ``(in, out)``
  then bias, layer after layer); PyTorch stores ``Linear.weight`` as
  ``(out, in)``, so these two functions transpose.
- For an ``nn.Sequential`` of ``Conv2d``, ``MaxPool2d``, ``AvgPool2d``,
  ``Flatten`` and ``Linear`` modules, or a :class:`RecurrentSequential` of
  ``RNN`` / ``GRU`` (one layer, ``batch_first``) and ``Linear`` modules, the
  same two functions map to and from a network of
  :mod:`pyneat_lite.layers` (``from_module(model, input_shape=(C, H, W))``
  for images).
- For any module (a CNN too), :func:`genome_of` and :func:`set_genome` read and
  write all of ``module.parameters()`` as one float32 vector, in PyTorch's own
  order and layout (``torch.nn.utils.parameters_to_vector``): evolve that
  vector with any algorithm, and score it with :func:`population_fitness`.
  Buffers (e.g. BatchNorm running statistics) are not part of the genome.

:func:`fit_evolve` evolves a module's weights in place, like
``deepevolution.fit_evolve`` does for Keras.

Supported activation modules (PyTorch <-> pyneat_lite name): ``Identity``
(linear), ``ReLU``, ``LeakyReLU`` (negative_slope 0.01), ``ELU`` (alpha 1),
``Tanh``, ``Sigmoid``, ``Softplus`` (beta 1), ``Softmax`` (dim -1 or 1), and
this module's :class:`Sin`, :class:`Gaussian` and :class:`Step`. A leading
``nn.Flatten`` is accepted by :func:`from_module` (the network then takes
flattened inputs) and dropped.

Requires PyTorch: ``pip install pyneat_lite[torch]``.

Examples
--------
>>> import torch.nn as nn
>>> from pyneat_lite.adapters import torch as pt
>>> model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2))
>>> net, genome = pt.from_module(model)
>>> net.sizes, genome.shape
((4, 8, 2), (58,))
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

import numpy as np

from ._common import missing_framework

try:
    import torch
    from torch import nn
except ImportError as exc:  # pragma: no cover - exercised with torch hidden
    raise missing_framework("torch", "PyTorch", "torch") from exc

from ..activations import LEAKY_RELU_SLOPE
from ..network import Network
from . import _common
from ._common import shared_doc
from ._fit import LossSpec, Search, check_fitness_func
from ._fit import fit_evolve as _fit_evolve

if TYPE_CHECKING:
    from ..algorithms import Result

__all__ = ["from_module", "to_module", "genome_of", "set_genome", "population_fitness",
           "fit_evolve", "Sin", "Gaussian", "Step", "RecurrentSequential"]


class Sin(nn.Module):
    """Elementwise ``sin(x)``: pyneat_lite's ``"sin"`` activation."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sin(x)


class Gaussian(nn.Module):
    """Elementwise ``exp(-x**2)``: pyneat_lite's ``"gaussian"`` activation."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.exp(-x * x)


class Step(nn.Module):
    """Elementwise ``1 if x > 0 else 0``: pyneat_lite's ``"step"`` activation."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x > 0).to(x.dtype)


def _activation_name(m: nn.Module) -> str | None:
    """pyneat_lite name of an activation module, or None if not supported."""
    simple = {
        nn.Identity: "linear",
        nn.ReLU: "relu",
        nn.Tanh: "tanh",
        nn.Sigmoid: "sigmoid",
        Sin: "sin",
        Gaussian: "gaussian",
        Step: "step",
    }
    if type(m) in simple:
        return simple[type(m)]
    if type(m) is nn.LeakyReLU and m.negative_slope == LEAKY_RELU_SLOPE:
        return "leaky_relu"
    if type(m) is nn.ELU and m.alpha == 1.0:
        return "elu"
    # torch's threshold (linear above beta*x > 20) differs from log1p(exp(x))
    # by less than float32 resolution there.
    if type(m) is nn.Softplus and m.beta == 1.0:
        return "softplus"
    if type(m) is nn.Softmax and m.dim in (-1, 1):
        return "softmax"
    return None


def _activation_module(name: str) -> nn.Module | None:
    table: dict[str, Callable[[], nn.Module] | None] = {
        "linear": None,
        "relu": nn.ReLU,
        "leaky_relu": lambda: nn.LeakyReLU(LEAKY_RELU_SLOPE),
        "elu": nn.ELU,
        "tanh": nn.Tanh,
        "sigmoid": nn.Sigmoid,
        "softplus": nn.Softplus,
        "sin": Sin,
        "gaussian": Gaussian,
        "step": Step,
        "softmax": lambda: nn.Softmax(dim=-1),
    }
    make = table[name]
    return None if make is None else make()


def _flatten_sequential(model: nn.Module) -> list[nn.Module]:
    out: list[nn.Module] = []
    for child in model.children():
        if type(child) is nn.Sequential:
            out.extend(_flatten_sequential(child))
        else:
            out.append(child)
    return out


class _Torch:
    """PyTorch, as the shared adapter code sees it (``_common.Framework``)."""

    dense_type = nn.Linear
    dense = "Linear"
    others = "modules"
    supported = (
        "Identity, ReLU, LeakyReLU(0.01), ELU(alpha=1), Tanh, Sigmoid, "
        "Softplus(beta=1), Softmax(dim=-1), and pyneat_lite's Sin, Gaussian, Step"
    )
    transposed = True  # Linear.weight is (out, in)

    def stack_layers(self, model: Any, caller: str) -> list[nn.Module]:
        if not isinstance(model, nn.Module):
            raise TypeError(
                f"The 'model' argument of {caller} must be a torch.nn.Module. "
                f"Got {type(model).__name__} instead."
            )
        if not isinstance(model, nn.Sequential):
            raise TypeError(
                f"The 'model' argument of {caller} must be an nn.Sequential of "
                f"Linear layers and activations. Got {type(model).__name__} "
                "instead; use genome_of/set_genome for other modules."
            )
        layers = _flatten_sequential(model)
        if layers and type(layers[0]) is nn.Flatten:
            if layers[0].start_dim != 1 or layers[0].end_dim != -1:
                raise TypeError(
                    f"The 'model' argument of {caller}: only nn.Flatten(start_dim=1, "
                    "end_dim=-1) is supported as first layer."
                )
            layers = layers[1:]
        return layers

    def own_activation(self, layer: Any, caller: str, label: str) -> str:
        return "linear"

    def activation_of(self, layer: Any) -> str | None:
        return _activation_name(layer)

    def dense_params(self, layer: Any) -> tuple[Any, Any]:
        return layer.weight, layer.bias

    def build(self, net: Network) -> tuple[nn.Sequential, list[nn.Linear]]:
        mods: list[nn.Module] = []
        linears = []
        for n_in, n_out, act in zip(
            net.sizes[:-1], net.sizes[1:], net.activations, strict=True
        ):
            linears.append(nn.Linear(n_in, n_out))
            mods.append(linears[-1])
            act_mod = _activation_module(act)
            if act_mod is not None:
                mods.append(act_mod)
        return nn.Sequential(*mods), linears

    def parameters(self, model: Any, caller: str) -> list[Any]:
        return list(_check_module(model, caller).parameters())

    def shape(self, param: Any) -> tuple[int, ...]:
        return tuple(param.shape)

    def read(self, param: Any) -> np.ndarray:
        return param.detach().cpu().to(torch.float32).numpy().copy()

    def write(self, param: Any, values: np.ndarray) -> None:
        with torch.no_grad():
            param.copy_(torch.from_numpy(values))

    def no_grad(self) -> AbstractContextManager[Any]:
        return torch.no_grad()

    def to_numpy(self, a: Any) -> np.ndarray:
        return _to_numpy(a)


_FW = _Torch()


@shared_doc
def from_module(model: nn.Module,
                input_shape: Any = None) -> tuple[Network, np.ndarray]:
    """The network and genome equivalent to a Sequential of Linear layers
    (or of the layers of :mod:`pyneat_lite.layers`).

    Parameters
    ----------
    model : torch.nn.Sequential
        ``Linear`` layers (with bias), each followed by at most one supported
        activation module (see the module docstring); nested Sequentials are
        flattened and a leading ``nn.Flatten()`` is dropped.  Also
        ``Conv2d`` (groups 1, dilation 1, bias, zero padding: ``"valid"``,
        ``"same"`` or equal on both axes; a preceding ``ZeroPad2d`` that
        makes TensorFlow's "same" is read as ``"same"``), each optionally
        followed by an activation, ``MaxPool2d`` / ``AvgPool2d`` (no padding,
        no ceil mode) and ``Flatten()``; and ``RNN`` (tanh or relu) / ``GRU``
        modules with one layer, ``batch_first=True``, bias, unidirectional
        (as in :class:`RecurrentSequential`).  An RNN's two biases are summed
        into the network's one.
    input_shape : (C, H, W), optional
        Required when the model starts with a convolution or pooling (a
        module does not know its image size).

    Returns
    -------
    {net_returned}
    genome : ndarray of shape (net.n_params,), float32
        The weights in the network layout: each ``Linear.weight`` (out, in) is
        transposed to the kernel ``W`` (in, out), then the bias.

    Raises
    ------
    TypeError
        If ``model`` is not such a Sequential (the message names the layer).
    """
    if _is_layered(model):
        return _from_layered(model, input_shape, "from_module")
    if input_shape is not None:
        n_in = _common.parse_stack(_FW, model, "from_module")[0][0]
        if tuple(np.atleast_1d(input_shape)) != (n_in,):
            raise ValueError(
                "The 'input_shape' argument of from_module must match the model's "
                f"first Linear layer ({n_in} inputs). Got {input_shape!r} instead."
            )
    return _common.from_stack(_FW, model, "from_module")


def to_module(net: Network, genome: Any) -> nn.Sequential:
    """A new ``nn.Sequential`` computing ``net.forward(genome, .)``.

    Parameters
    ----------
    net : Network
        The architecture.
    genome : array-like of shape (net.n_params,)
        The weights in the network layout (kernel ``(in, out)``, then bias).

    Returns
    -------
    torch.nn.Sequential
        float32 ``Linear`` layers (weights transposed to ``(out, in)``), each
        followed by its activation module (none for ``"linear"``).  For a
        network with convolution layers, the matching ``Conv2d``,
        ``MaxPool2d``, ``AvgPool2d`` and ``Flatten`` modules too (a strided
        ``"same"`` convolution gets a ``ZeroPad2d`` before it); it takes
        ``(B, C, H, W)`` images.  For a recurrent network, a
        :class:`RecurrentSequential` of ``RNN`` / ``GRU`` (batch_first) and
        ``Linear`` modules, taking sequences ``(B, T, n_in)`` from a zero
        state.
    """
    if isinstance(net, Network) and net._stack is not None:
        return _to_layered(net, genome, "to_module")
    return _common.to_stack(_FW, net, genome, "to_module")


class RecurrentSequential(nn.Sequential):
    """A Sequential of ``nn.RNN`` / ``nn.GRU`` (one layer, batch_first) and
    ``nn.Linear`` + activation modules, on sequences: ``forward(x)`` with
    ``x (B, T, n_in)`` returns ``(B, T, n_out)``, every recurrent module
    starting from a zero state (what :func:`to_module` returns for a
    recurrent network; stepping the network with ``forward_each`` from
    ``init_state`` gives the same outputs)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        for m in self:
            x = m(x)[0] if isinstance(m, (nn.RNN, nn.GRU)) else m(x)
        return x


_LAYERED_TYPES = (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d, nn.RNN, nn.GRU, nn.ZeroPad2d)


def _is_layered(model: Any) -> bool:
    if not isinstance(model, nn.Sequential):
        return False
    mods = _flatten_sequential(model)
    return any(isinstance(m, _LAYERED_TYPES) for m in mods) or any(
        type(m) is nn.Flatten for m in mods[1:])


def _pair_of(v: Any) -> tuple[int, int]:
    return (int(v), int(v)) if isinstance(v, int) else (int(v[0]), int(v[1]))


def _from_layered(model: nn.Module, input_shape: Any,
                  caller: str) -> tuple[Network, np.ndarray]:
    """Network and genome of a Sequential with convolution, pooling or
    recurrent modules."""
    from .. import layers as lyr

    mods = _flatten_sequential(model)
    specs: list[Any] = []
    params: list[tuple[np.ndarray, np.ndarray]] = []
    pad_before: tuple[int, int, int, int] | None = None
    i = 0

    def bad(j: int, why: str) -> TypeError:
        return TypeError(f"The 'model' argument of {caller}: module {j} "
                         f"({mods[j]!r}) {why}")

    def activation_after(j: int) -> str:
        if j + 1 < len(mods) and _activation_name(mods[j + 1]) is not None \
                and type(mods[j + 1]) is not nn.Identity:
            return _activation_name(mods[j + 1])  # type: ignore[return-value]
        return "linear"

    while i < len(mods):
        m = mods[i]
        t = type(m)
        if t is nn.Identity:
            i += 1
            continue
        if t is nn.ZeroPad2d:
            pad_before = tuple(int(v) for v in m.padding)  # type: ignore[assignment]
            if i + 1 >= len(mods) or type(mods[i + 1]) is not nn.Conv2d:
                raise bad(i, "must be followed by a Conv2d.")
            i += 1
            continue
        if t is nn.Conv2d:
            if m.groups != 1 or tuple(m.dilation) != (1, 1) or m.bias is None \
                    or m.padding_mode != "zeros":
                raise bad(i, "must have groups=1, dilation=1, a bias and zero "
                             "padding.")
            kernel, stride = _pair_of(m.kernel_size), _pair_of(m.stride)
            if isinstance(m.padding, str):
                pad: Any = m.padding
            elif m.padding[0] != m.padding[1]:
                raise bad(i, "must pad both axes alike.")
            else:
                pad = int(m.padding[0])
            if pad_before is not None:
                if pad not in (0, "valid"):
                    raise bad(i, "after ZeroPad2d must have padding 0.")
                pl, pr, pt, pb = pad_before
                # an equal padding, or TensorFlow's "same" (checked below)
                pad = pl if pl == pr == pt == pb else "same"
                pad_before_used = pad_before
                pad_before = None
            else:
                pad_before_used = None
            act = activation_after(i)
            if act == "softmax":
                raise bad(i + 1, "softmax cannot follow a Conv2d.")
            spec = lyr.Conv2D(m.out_channels, kernel, stride, pad, act)
            specs.append(spec)
            if pad_before_used is not None and pad == "same":
                _check_same_pad(specs, input_shape, pad_before_used, i, bad)
            w = m.weight.detach().cpu().to(torch.float32).numpy()
            params.append((w.reshape(w.shape[0], -1).T.copy(),
                           m.bias.detach().cpu().to(torch.float32).numpy().copy()))
            i += 2 if act != "linear" else 1
            continue
        if t in (nn.MaxPool2d, nn.AvgPool2d):
            ok = _pair_of(m.padding) == (0, 0) and not m.ceil_mode
            if t is nn.MaxPool2d:
                ok = ok and _pair_of(m.dilation) == (1, 1) and not m.return_indices
            else:
                ok = ok and m.divisor_override is None
            if not ok:
                raise bad(i, "must have no padding and ceil_mode=False (and "
                             "dilation 1).")
            cls = lyr.MaxPool2D if t is nn.MaxPool2d else lyr.AvgPool2D
            specs.append(cls(_pair_of(m.kernel_size), _pair_of(m.stride)))
            i += 1
            continue
        if t is nn.Flatten:
            if m.start_dim != 1 or m.end_dim != -1:
                raise bad(i, "must be Flatten(start_dim=1, end_dim=-1).")
            specs.append(lyr.Flatten())
            i += 1
            continue
        if t is nn.Linear:
            if m.bias is None:
                raise bad(i, "has no bias, which the layout does not support.")
            act = activation_after(i)
            specs.append(lyr.Dense(m.out_features, act))
            params.append((m.weight.detach().cpu().to(torch.float32).numpy().T.copy(),
                           m.bias.detach().cpu().to(torch.float32).numpy().copy()))
            i += 2 if act != "linear" else 1
            continue
        if t in (nn.RNN, nn.GRU):
            if m.num_layers != 1 or not m.batch_first or m.bidirectional \
                    or not m.bias or getattr(m, "proj_size", 0):
                raise bad(i, "must have num_layers=1, batch_first=True, bias=True "
                             "and be unidirectional.")
            rd = {k: v.detach().cpu().to(torch.float32).numpy()
                  for k, v in m.named_parameters()}
            W = np.concatenate([rd["weight_ih_l0"].T, rd["weight_hh_l0"].T])
            if t is nn.RNN:
                specs.append(lyr.RNN(m.hidden_size, m.nonlinearity))
                b = rd["bias_ih_l0"] + rd["bias_hh_l0"]
            else:
                specs.append(lyr.GRU(m.hidden_size))
                b = np.concatenate([rd["bias_ih_l0"], rd["bias_hh_l0"]])
            params.append((np.ascontiguousarray(W), b))
            i += 1
            continue
        raise bad(i, "is not supported here: Linear, Conv2d, MaxPool2d, AvgPool2d, "
                     "Flatten, ZeroPad2d, RNN and GRU, each Linear or Conv2d "
                     f"followed by at most one activation ({_Torch.supported}).")
    first = next(m for m in mods if not isinstance(m, nn.ZeroPad2d))
    if isinstance(first, nn.Linear):
        shape: Any = first.in_features
    elif isinstance(first, (nn.RNN, nn.GRU)):
        shape = first.input_size
    else:
        if input_shape is None:
            raise TypeError(
                f"The 'input_shape' argument of {caller} is required for a model "
                f"that starts with {type(first).__name__} (a convolution or "
                "pooling does not know its image size): (C, H, W)."
            )
        shape = input_shape
    if input_shape is not None and tuple(np.atleast_1d(input_shape)) != tuple(
            np.atleast_1d(shape)):
        raise ValueError(
            f"The 'input_shape' argument of {caller} must match the model's first "
            f"layer ({shape}). Got {input_shape!r} instead."
        )
    net = Network(layers=specs, input_shape=shape)
    for k, lay in enumerate(net.layout):
        if params[k][0].shape != lay.w_shape:
            raise ValueError(
                f"The 'model' argument of {caller}: the layer with parameters number "
                f"{k} takes {params[k][0].shape[0]} inputs but the previous layers "
                f"give {lay.w_shape[0]} (input_shape {shape})."
            )
    return net, net.flatten(params)


def _check_same_pad(specs: list[Any], input_shape: Any,
                    pads: tuple[int, int, int, int], j: int, bad: Any) -> None:
    """A ZeroPad2d + Conv2d read as "same" must pad as "same" does."""
    if input_shape is None:
        raise TypeError("The 'input_shape' argument of from_module is required "
                        "for a model with an asymmetric ZeroPad2d.")
    probe = Network(layers=specs, input_shape=input_shape)
    m = probe.meta[-1]
    h, w = int(m[2]), int(m[3])
    oh, ow = int(m[5]), int(m[6])
    kh, kw, sh, sw = (int(v) for v in m[7:11])
    want = (int(m[12]), (ow - 1) * sw + kw - w - int(m[12]),
            int(m[11]), (oh - 1) * sh + kh - h - int(m[11]))
    if tuple(pads) != want:
        raise bad(j, f"after ZeroPad2d{tuple(pads)} is neither an equal padding nor "
                     f"'same' ({want}).")


def _to_layered(net: Network, genome: Any, caller: str) -> nn.Module:
    """Torch modules computing a layered network (see :func:`to_module`)."""
    from .. import layers as lyr
    from .._validation import check_genome

    genome = check_genome(genome, caller=caller, n_params=net.n_params)
    weights = iter(net.unflatten(genome))
    meta = iter(net.meta)
    mods: list[nn.Module] = []
    shape = net.input_shape
    for lay in net.layers:
        if isinstance(lay, lyr.Flatten):
            mods.append(nn.Flatten())
            continue
        m = next(meta)
        if isinstance(lay, lyr.Conv2D):
            W, b = next(weights)
            cin, cout = int(m[1]), lay.channels
            pad: Any = lay.padding
            if pad == "same" and lay.stride != (1, 1):
                h, w = int(m[2]), int(m[3])
                oh, ow = int(m[5]), int(m[6])
                (kh, kw), (sh, sw) = lay.kernel, lay.stride
                pt, pl = int(m[11]), int(m[12])
                mods.append(nn.ZeroPad2d((pl, (ow - 1) * sw + kw - w - pl, pt,
                                          (oh - 1) * sh + kh - h - pt)))
                pad = 0
            conv = nn.Conv2d(cin, cout, lay.kernel, lay.stride, pad)
            with torch.no_grad():
                conv.weight.copy_(torch.from_numpy(np.ascontiguousarray(
                    W.T.reshape(cout, cin, *lay.kernel))))
                conv.bias.copy_(torch.from_numpy(b.copy()))
            mods.append(conv)
        elif isinstance(lay, (lyr.MaxPool2D, lyr.AvgPool2D)):
            cls = nn.MaxPool2d if isinstance(lay, lyr.MaxPool2D) else nn.AvgPool2d
            mods.append(cls(lay.size, lay.stride))
            continue
        elif isinstance(lay, lyr.Dense):
            W, b = next(weights)
            lin = nn.Linear(W.shape[0], W.shape[1])
            with torch.no_grad():
                lin.weight.copy_(torch.from_numpy(np.ascontiguousarray(W.T)))
                lin.bias.copy_(torch.from_numpy(b.copy()))
            mods.append(lin)
        else:  # RNN, GRU
            W, b = next(weights)
            n_in = int(m[1])
            if isinstance(lay, lyr.RNN):
                if lay.activation not in ("tanh", "relu"):
                    raise ValueError(
                        f"The 'net' argument of {caller}: torch.nn.RNN has only tanh "
                        f"and relu; this RNN layer uses {lay.activation!r}."
                    )
                rec: nn.Module = nn.RNN(n_in, lay.units, nonlinearity=lay.activation,
                                        batch_first=True)
                b_ih, b_hh = b, np.zeros_like(b)
            else:
                rec = nn.GRU(n_in, lay.units, batch_first=True)
                b_ih, b_hh = b[: b.size // 2], b[b.size // 2:]
            with torch.no_grad():
                rec.weight_ih_l0.copy_(torch.from_numpy(np.ascontiguousarray(
                    W[:n_in].T)))
                rec.weight_hh_l0.copy_(torch.from_numpy(np.ascontiguousarray(
                    W[n_in:].T)))
                rec.bias_ih_l0.copy_(torch.from_numpy(b_ih.copy()))
                rec.bias_hh_l0.copy_(torch.from_numpy(b_hh.copy()))
            mods.append(rec)
            continue
        act = _activation_module(lay.activation)
        if act is not None:
            mods.append(act)
    assert shape is not None
    if net.recurrent:
        return RecurrentSequential(*mods)
    return nn.Sequential(*mods)


def _check_module(module: Any, caller: str) -> nn.Module:
    if not isinstance(module, nn.Module):
        raise TypeError(
            f"The 'module' argument of {caller} must be a torch.nn.Module. "
            f"Got {type(module).__name__} instead."
        )
    return module


def genome_of(module: nn.Module) -> np.ndarray:
    """All parameters of ``module`` as one float32 vector.

    The order is ``module.parameters()`` and each tensor is flattened in its
    own layout (``Linear.weight`` is ``(out, in)``): the same vector as
    ``torch.nn.utils.parameters_to_vector``. For a Linear stack in the network
    layout, use :func:`from_module` instead.

    Parameters
    ----------
    module : torch.nn.Module
        Any module (a CNN too). Buffers are not included.

    Returns
    -------
    ndarray of shape (n,), float32
        A copy; ``n`` is the total number of parameter values.
    """
    return _common.genome_of(_FW, module)


def set_genome(module: nn.Module, genome: Any) -> nn.Module:
    """Write ``genome`` into the parameters of ``module``, in place.

    The inverse of :func:`genome_of`: same order and layout; each parameter
    keeps its dtype and device.

    Parameters
    ----------
    module : torch.nn.Module
        Any module.
    genome : array-like of shape (n,)
        ``n`` must be the module's total number of parameter values.

    Returns
    -------
    torch.nn.Module
        ``module`` itself.
    """
    return _common.set_genome(_FW, module, genome)


def population_fitness(
    module: nn.Module,
    population: Any,
    fn: Callable[[nn.Module], float],
) -> np.ndarray:
    """Score every genome of ``population`` through ``module``.

    For each row, the genome is written into ``module`` (as by
    :func:`set_genome`) and ``fn(module)`` is called under
    ``torch.no_grad()``; the module's original parameters are restored
    afterwards. Use it as an algorithm's fitness function with
    ``lambda pop: population_fitness(model, pop, fn)``.

    Parameters
    ----------
    module : torch.nn.Module
        Any module.
    population : array-like of shape (P, n)
        Genomes in :func:`genome_of` layout.
    fn : callable
        ``fn(module) -> float``, higher is better (a number or a 0-d tensor).

    Returns
    -------
    ndarray of shape (P,), float64
    """
    return _common.population_fitness(_FW, module, population, fn)


def _loss_spec(loss_fn: Any) -> LossSpec | None:
    """Description of a torch loss module, or None if not recognised."""
    if getattr(loss_fn, "reduction", None) != "mean":
        return None
    t = type(loss_fn)
    if t is nn.MSELoss:
        return LossSpec("mse")
    if t is nn.L1Loss:
        return LossSpec("mae")
    if getattr(loss_fn, "weight", None) is not None:
        return None
    if t is nn.CrossEntropyLoss:
        if loss_fn.label_smoothing != 0.0:
            return None
        return LossSpec("cross_entropy", outputs="logits", labels=True)
    if t is nn.NLLLoss:
        return LossSpec("cross_entropy", outputs="log_probabilities", labels=True)
    if t is nn.BCELoss:  # torch clamps each log at -100
        return LossSpec("binary_cross_entropy", log_floor=-100.0)
    if t is nn.BCEWithLogitsLoss and loss_fn.pos_weight is None:
        return LossSpec("binary_cross_entropy", outputs="logits")
    return None


def _to_numpy(a: Any) -> np.ndarray:
    if isinstance(a, torch.Tensor):
        return a.detach().cpu().numpy()
    return np.asarray(a)


def _to_tensor(a: Any, like_float: torch.dtype) -> torch.Tensor:
    if isinstance(a, torch.Tensor):
        return a
    arr = np.asarray(a)
    if arr.dtype.kind == "f":
        return torch.as_tensor(arr, dtype=like_float)
    return torch.as_tensor(arr)


@shared_doc
def fit_evolve(
    module: nn.Module,
    x: Any,
    y: Any,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], Any] | None = None,
    max_generations: int = 100,
    population: int = 16,
    top_k: int = 4,
    mutation_rate: float = 0.2,
    mutation_std: float = 0.03,
    verbose: int = 0,
    fitness_func: Callable[[nn.Module, Any, Any], float] | None = None,
    *,
    init_std: float = 0.3,
    seed: int | None = None,
) -> Result:
    """Evolve the weights of ``module`` on ``(x, y)``; the best end up in it.

    {method}

    Parameters
    ----------
    module : torch.nn.Module
        The model; its parameters are overwritten with the best weights found.
    x, y : array-like or torch.Tensor
        Training data, passed to the loss or to ``fitness_func``.
    loss_fn : callable, optional
        ``loss_fn(module(x), y)`` -> scalar, lower is better (e.g.
        ``nn.MSELoss()``). Required unless ``fitness_func`` is given. The
        default fitness is ``-loss_fn(module(x), y)``.
    {search}
    fitness_func : callable, optional
        ``fitness_func(module, x, y) -> float``, higher is better; replaces
        the negative loss.
    {start}

    Returns
    -------
    {returns}

    Notes
    -----
    When ``fitness_func`` is None, ``module`` is a Sequential accepted by
    :func:`from_module` and ``loss_fn`` is one of ``nn.MSELoss``,
    ``nn.L1Loss``, ``nn.CrossEntropyLoss``, ``nn.NLLLoss``, ``nn.BCELoss``,
    ``nn.BCEWithLogitsLoss`` (mean reduction, no class weights), the whole
    population is evaluated by pyneat_lite's forward kernels; otherwise each
    individual is written into the module and evaluated through PyTorch.
    """
    caller = "fit_evolve"
    module = _check_module(module, caller)
    if fitness_func is None and loss_fn is None:
        raise TypeError(
            "fit_evolve needs a loss: pass loss_fn (e.g. torch.nn.MSELoss()) or "
            "fitness_func(module, x, y)."
        )
    check_fitness_func(fitness_func, caller)
    if loss_fn is not None and not callable(loss_fn):
        raise TypeError(
            "The 'loss_fn' argument of fit_evolve must be callable. "
            f"Got {type(loss_fn).__name__} instead."
        )

    search = Search.checked(
        caller, max_generations=max_generations, population=population,
        top_k=top_k, mutation_rate=mutation_rate, mutation_std=mutation_std,
        init_std=init_std, verbose=verbose, seed=seed,
    )

    def objective() -> Callable[[nn.Module], float]:
        params = list(module.parameters())
        ftype = params[0].dtype if params else torch.float32
        xt, yt = _to_tensor(x, ftype), _to_tensor(y, ftype)
        if fitness_func is None:
            return lambda m: -float(loss_fn(m(xt), yt))
        return lambda m: float(fitness_func(m, xt, yt))

    return _fit_evolve(
        _FW, module, x, y, search,
        spec=None if fitness_func is not None else _loss_spec(loss_fn),
        objective=objective, context=lambda: _evaluation_mode(module),
        caller=caller,
    )


@contextlib.contextmanager
def _evaluation_mode(module: nn.Module) -> Iterator[None]:
    """``module.eval()`` inside, its training flag restored after."""
    was_training = module.training
    module.eval()
    try:
        yield
    finally:
        module.train(was_training)
