"""PyTorch adapter: move weights between ``torch.nn`` modules and genomes.

Two kinds of conversion:

- For an ``nn.Sequential`` of ``nn.Linear`` layers, each optionally followed by
  one supported activation module, :func:`from_module` returns the equivalent
  :class:`pyneat_lite.Network` and its genome, and :func:`to_module` goes back.
  The genome is in the network layout (kernel ``W`` of shape ``(in, out)``
  then bias, layer after layer); PyTorch stores ``Linear.weight`` as
  ``(out, in)``, so these two functions transpose.
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
from typing import TYPE_CHECKING, Any

import numpy as np

from ._common import missing_framework

try:
    import torch
    from torch import nn
except ImportError as exc:  # pragma: no cover - exercised with torch hidden
    raise missing_framework("torch", "PyTorch", "torch") from exc

from .._validation import check_genome
from ..network import Network
from ._common import (
    LossSpec,
    check_fitness_func,
    evolve,
    network_data,
    population_loss,
    score_population,
)

if TYPE_CHECKING:
    from ..algorithms import Result

__all__ = [
    "from_module",
    "to_module",
    "genome_of",
    "set_genome",
    "population_fitness",
    "fit_evolve",
    "Sin",
    "Gaussian",
    "Step",
]


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
    from ..activations import LEAKY_RELU_SLOPE

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
    from ..activations import LEAKY_RELU_SLOPE

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


def _parse_stack(
    model: Any, caller: str
) -> tuple[list[int], list[str], list[nn.Linear]]:
    """Sizes, activations and Linear layers of a supported Sequential.

    Raises TypeError, naming the offending layer, when ``model`` is not a
    Sequential of Linear layers each followed by at most one supported
    activation module.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(
            f"The 'model' argument of {caller} must be a torch.nn.Module. "
            f"Got {type(model).__name__} instead."
        )
    if not isinstance(model, nn.Sequential):
        raise TypeError(
            f"The 'model' argument of {caller} must be an nn.Sequential of Linear "
            f"layers and activations. Got {type(model).__name__} instead; use "
            "genome_of/set_genome for other modules."
        )
    layers = _flatten_sequential(model)
    if layers and type(layers[0]) is nn.Flatten:
        if layers[0].start_dim != 1 or layers[0].end_dim != -1:
            raise TypeError(
                f"The 'model' argument of {caller}: only nn.Flatten(start_dim=1, "
                "end_dim=-1) is supported as first layer."
            )
        layers = layers[1:]
    sizes: list[int] = []
    acts: list[str] = []
    linears: list[nn.Linear] = []
    i = 0
    while i < len(layers):
        lin = layers[i]
        if type(lin) is not nn.Linear:
            raise TypeError(
                f"The 'model' argument of {caller} must alternate Linear layers and "
                f"at most one supported activation each. Layer {i} is "
                f"{lin!r} where a Linear layer was expected; use genome_of/"
                "set_genome for other modules."
            )
        if lin.bias is None:
            raise TypeError(
                f"The 'model' argument of {caller}: Linear layer {i} has no bias "
                "(bias=False), which the network layout does not support; use "
                "genome_of/set_genome instead."
            )
        if sizes and lin.in_features != sizes[-1]:
            raise ValueError(
                f"The 'model' argument of {caller}: Linear layer {i} takes "
                f"{lin.in_features} inputs but the previous layer gives {sizes[-1]}."
            )
        if not sizes:
            sizes.append(lin.in_features)
        sizes.append(lin.out_features)
        linears.append(lin)
        act = "linear"
        if i + 1 < len(layers) and type(layers[i + 1]) is not nn.Linear:
            name = _activation_name(layers[i + 1])
            if name is None:
                raise TypeError(
                    f"The 'model' argument of {caller}: layer {i + 1} "
                    f"({layers[i + 1]!r}) is not a supported activation. Supported: "
                    "Identity, ReLU, LeakyReLU(0.01), ELU(alpha=1), Tanh, Sigmoid, "
                    "Softplus(beta=1), Softmax(dim=-1), and pyneat_lite's Sin, "
                    "Gaussian, Step."
                )
            act = name
            i += 1
        acts.append(act)
        i += 1
    if not linears:
        raise TypeError(
            f"The 'model' argument of {caller} must contain at least one Linear layer."
        )
    return sizes, acts, linears


def from_module(model: nn.Module) -> tuple[Network, np.ndarray]:
    """The network and genome equivalent to a Sequential of Linear layers.

    Parameters
    ----------
    model : torch.nn.Sequential
        ``Linear`` layers (with bias), each followed by at most one supported
        activation module (see the module docstring); nested Sequentials are
        flattened and a leading ``nn.Flatten()`` is dropped.

    Returns
    -------
    net : Network
        Same sizes and activations; ``net.forward(genome, X)`` equals
        ``model(X)`` within float32 rounding.
    genome : ndarray of shape (net.n_params,), float32
        The weights in the network layout: each ``Linear.weight`` (out, in) is
        transposed to the kernel ``W`` (in, out), then the bias.

    Raises
    ------
    TypeError
        If ``model`` is not such a Sequential (the message names the layer).
    """
    sizes, acts, linears = _parse_stack(model, "from_module")
    net = Network(sizes, acts)
    genome = np.empty(net.n_params, dtype=np.float32)
    weights = []
    with torch.no_grad():
        for lin in linears:
            W = lin.weight.detach().cpu().to(torch.float32).numpy().T
            b = lin.bias.detach().cpu().to(torch.float32).numpy()
            weights.append((W, b))
    genome[:] = net.flatten(weights)
    return net, genome


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
        followed by its activation module (none for ``"linear"``).
    """
    if not isinstance(net, Network):
        raise TypeError(
            "The 'net' argument of to_module must be a pyneat_lite.Network. "
            f"Got {type(net).__name__} instead."
        )
    genome = check_genome(genome, caller="to_module", n_params=net.n_params)
    mods: list[nn.Module] = []
    with torch.no_grad():
        for (W, b), act in zip(net.unflatten(genome), net.activations, strict=True):
            lin = nn.Linear(W.shape[0], W.shape[1])
            lin.weight.copy_(torch.from_numpy(np.ascontiguousarray(W.T)))
            lin.bias.copy_(torch.from_numpy(np.ascontiguousarray(b)))
            mods.append(lin)
            act_mod = _activation_module(act)
            if act_mod is not None:
                mods.append(act_mod)
    return nn.Sequential(*mods)


def _network_permutation(net: Network) -> np.ndarray:
    """Index array ``perm`` with ``network_genome = torch_genome[perm]``.

    The torch layout (``parameters()`` of a Linear stack) is, per layer,
    ``weight`` (out, in) row-major then ``bias``; the network layout is the
    transposed kernel (in, out) then the bias, at the same offsets.
    """
    perm = np.empty(net.n_params, dtype=np.intp)
    for lay in net.layout:
        n_in, n_out = lay.w_shape
        torch_w = np.arange(n_out * n_in, dtype=np.intp).reshape(n_out, n_in)
        perm[lay.w_offset : lay.b_offset] = lay.w_offset + torch_w.T.ravel()
        perm[lay.b_offset : lay.b_offset + lay.b_size] = np.arange(
            lay.b_offset, lay.b_offset + lay.b_size
        )
    return perm


def _check_module(module: Any, caller: str) -> nn.Module:
    if not isinstance(module, nn.Module):
        raise TypeError(
            f"The 'module' argument of {caller} must be a torch.nn.Module. "
            f"Got {type(module).__name__} instead."
        )
    return module


def _n_params(module: nn.Module) -> int:
    return int(sum(p.numel() for p in module.parameters()))


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
    module = _check_module(module, "genome_of")
    parts = [
        p.detach().cpu().reshape(-1).to(torch.float32) for p in module.parameters()
    ]
    if not parts:
        return np.zeros(0, dtype=np.float32)
    return torch.cat(parts).numpy().copy()


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
    module = _check_module(module, "set_genome")
    genome = check_genome(genome, caller="set_genome", n_params=_n_params(module))
    src = torch.from_numpy(genome)
    offset = 0
    with torch.no_grad():
        for p in module.parameters():
            k = p.numel()
            p.copy_(src[offset : offset + k].view(p.shape))
            offset += k
    return module


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
    module = _check_module(module, "population_fitness")
    return score_population(
        module,
        population,
        fn,
        n_params=_n_params(module),
        read=genome_of,
        write=set_genome,
        context=torch.no_grad,
    )


def _loss_spec(loss_fn: Any) -> LossSpec | None:
    """NumPy description of a torch loss module, or None if not recognised."""
    if getattr(loss_fn, "reduction", None) != "mean":
        return None
    t = type(loss_fn)
    if t is nn.MSELoss:
        return LossSpec("mse")
    if t is nn.L1Loss:
        return LossSpec("mae")
    if t is nn.CrossEntropyLoss:
        if loss_fn.weight is not None or loss_fn.label_smoothing != 0.0:
            return None
        return LossSpec("sparse_categorical", from_logits=True)
    if t is nn.NLLLoss:
        return None if loss_fn.weight is not None else LossSpec("nll")
    if t is nn.BCELoss:
        return (
            None if loss_fn.weight is not None else LossSpec("binary", log_floor=-100.0)
        )
    if t is nn.BCEWithLogitsLoss:
        if loss_fn.weight is not None or loss_fn.pos_weight is not None:
            return None
        return LossSpec("binary", from_logits=True)
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

    The search is ``deepevolution.fit_evolve``'s: a population of
    ``population`` weight vectors (the module's current weights, and copies
    with N(0, ``init_std``) noise); each generation keeps the ``top_k``
    best and breeds the rest from them by uniform crossover plus Gaussian
    noise on a fraction ``mutation_rate`` of the weights (a
    :class:`pyneat_lite.GA`).

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
    max_generations : int, default=100
    population : int, default=16
    top_k : int, default=4
        Number of best individuals kept and used as parents.
    mutation_rate : float, default=0.2
        Fraction of a child's weights that get noise.
    mutation_std : float, default=0.03
        Standard deviation of that noise.
    verbose : {0, 1, 2}, default=0
        0 silent, 1 a line per generation, 2 a tqdm progress bar.
    fitness_func : callable, optional
        ``fitness_func(module, x, y) -> float``, higher is better; replaces
        the negative loss.
    init_std : float, default=0.3
        Standard deviation of the noise added to the model's weights to make
        the first population (row 0 keeps the weights unchanged). 0.3 is what
        deepevolution documents (its code adds 0.03).
    seed : int, optional
        Seed of the search (None: fresh entropy).

    Returns
    -------
    Result
        ``best`` (in :func:`genome_of` layout), ``best_fitness``, ``history``
        (per-generation fitness statistics), ``plot(path)``.

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

    evo: dict[str, Any] = dict(
        max_generations=max_generations,
        population=population,
        top_k=top_k,
        mutation_rate=mutation_rate,
        mutation_std=mutation_std,
        init_std=init_std,
        verbose=verbose,
        seed=seed,
        caller=caller,
    )
    fast = None
    if fitness_func is None:
        spec = _loss_spec(loss_fn)
        if spec is not None:
            try:
                net, start = from_module(module)
            except (TypeError, ValueError):
                net = None
            if net is not None:
                fast = (net, start, spec)

    if fast is not None:
        net, _, spec = fast
        xa, ya = network_data(net, x, y, spec, caller, _to_numpy)
        # The search runs in the module's own layout (so that result.best and
        # the hall of fame match genome_of); one gather per generation gives
        # the network layout the kernels read.
        perm = _network_permutation(net)

        def evaluate(pop: np.ndarray) -> np.ndarray:
            return -population_loss(net, pop[:, perm], xa, ya, spec)

        result = evolve(genome_of(module), evaluate, **evo)
        set_genome(module, result.best)
        return result

    params = list(module.parameters())
    ftype = params[0].dtype if params else torch.float32
    xt, yt = _to_tensor(x, ftype), _to_tensor(y, ftype)
    if fitness_func is None:

        def fn(m: nn.Module) -> float:
            return -float(loss_fn(m(xt), yt))
    else:

        def fn(m: nn.Module) -> float:
            return float(fitness_func(m, xt, yt))

    start = genome_of(module)
    was_training = module.training
    module.eval()
    try:
        result = evolve(start, lambda pop: population_fitness(module, pop, fn), **evo)
    finally:
        module.train(was_training)
    set_genome(module, result.best)
    return result
