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

from collections.abc import Callable
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
from ._fit import Search, check_fitness_func
from ._fit import fit_evolve as _fit_evolve
from ._torch_fit import _evaluation_mode, _loss_spec, _to_numpy, _to_tensor
from ._torch_layers import _flatten_sequential, _from_layered, _is_layered, _to_layered

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
