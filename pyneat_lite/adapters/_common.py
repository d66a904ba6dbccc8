"""What the torch and Keras adapters share: one layer walk, one genome access.

Each adapter describes its framework once, as an object following the
:class:`Framework` protocol (how to list a model's layers and parameters,
read and write one parameter, recognise a dense layer and an activation);
everything else is written once, here:

- :func:`parse_stack`: the walk of a Sequential of dense layers and
  activations into sizes, activation names and dense layers, with the error
  messages naming the offending layer;
- :func:`from_stack` / :func:`to_stack`: network + genome from such a model,
  and back;
- :func:`framework_order`: the permutation between a framework's parameter
  order and the network layout (PyTorch stores kernels ``(out, in)``);
- :func:`genome_of`, :func:`set_genome`, :func:`population_fitness`: all of
  a model's parameters as one float32 vector, in the framework's own order;
- :func:`missing_framework`: the ``ImportError`` naming the extra to install.

The search behind both ``fit_evolve`` functions is in :mod:`._fit`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any, Protocol

import numpy as np

from .._validation import check_genome, check_population
from ..network import Network

__all__ = [
    "Framework",
    "missing_framework",
    "parse_stack",
    "from_stack",
    "to_stack",
    "framework_order",
    "genome_of",
    "set_genome",
    "population_fitness",
    "shared_doc",
    "read_all",
    "write_all",
    "score_rows",
]


def missing_framework(adapter: str, package: str, extra: str) -> ImportError:
    """The error raised when an adapter's framework cannot be imported."""
    return ImportError(
        f"pyneat_lite.adapters.{adapter} needs {package}, which could not be "
        f'imported. Install it with: pip install "pyneat_lite[{extra}]" '
        f'(from a checkout: pip install ".[{extra}]")'
    )


class Framework(Protocol):
    """One framework, as the shared adapter code sees it.

    Attributes
    ----------
    dense_type : type
        The dense layer class (``torch.nn.Linear``, ``keras.layers.Dense``);
        subclasses are not dense layers (their forward may differ).
    dense : str
        The dense layer's class name in messages (``"Linear"``, ``"Dense"``).
    others : str
        What the framework calls other models in messages (``"modules"``).
    supported : str
        The supported activations, listed in messages.
    transposed : bool
        True when a dense kernel is stored ``(out, in)`` (PyTorch), False
        when it is stored ``(in, out)``, the network layout (Keras).
    """

    dense_type: type
    dense: str
    others: str
    supported: str
    transposed: bool

    def stack_layers(self, model: Any, caller: str) -> list[Any]:
        """The layers of a Sequential, nested ones flattened, a leading
        Flatten dropped; TypeError/ValueError for any other model."""
        ...

    def own_activation(self, layer: Any, caller: str, label: str) -> str:
        """The activation a dense layer applies itself (``"linear"`` for
        PyTorch); TypeError when it is not supported, or the layer is not a
        plain dense layer (Keras's LoRA)."""
        ...

    def activation_of(self, layer: Any) -> str | None:
        """pyneat_lite name of an activation layer, None if not supported."""
        ...

    def dense_params(self, layer: Any) -> tuple[Any, Any]:
        """The kernel and bias parameters of a dense layer (bias None when
        the layer has none)."""
        ...

    def build(self, net: Network) -> tuple[Any, list[Any]]:
        """A new float32 Sequential of ``net``'s architecture and its dense
        layers (weights to be written)."""
        ...

    def parameters(self, model: Any, caller: str) -> list[Any]:
        """The parameters making up the genome of any model, in order;
        TypeError/ValueError when ``model`` is not a model."""
        ...

    def shape(self, param: Any) -> tuple[int, ...]:
        """The shape of one parameter."""
        ...

    def read(self, param: Any) -> np.ndarray:
        """A float32 NumPy copy of one parameter."""
        ...

    def write(self, param: Any, values: np.ndarray) -> None:
        """Write ``values`` (float32, the parameter's shape) into ``param``,
        keeping its dtype and device."""
        ...

    def no_grad(self) -> AbstractContextManager[Any]:
        """A context in which models are called without autograd."""
        ...

    def to_numpy(self, a: Any) -> np.ndarray:
        """A tensor or array-like as a NumPy array."""
        ...


# ------------------------------------------------------------------ the walk
def parse_stack(
    fw: Framework, model: Any, caller: str
) -> tuple[list[int], list[str], list[Any]]:
    """Sizes, activation names and dense layers of a supported Sequential.

    A supported model alternates dense layers (with bias) and at most one
    supported activation each; a dense layer with an activation of its own
    (Keras) may be followed by an activation layer only when its own is
    linear. Raises TypeError, or ValueError for mismatched sizes, naming the
    offending layer.
    """
    layers = fw.stack_layers(model, caller)

    def is_dense(layer: Any) -> bool:
        return type(layer) is fw.dense_type

    sizes: list[int] = []
    acts: list[str] = []
    denses: list[Any] = []
    i = 0
    while i < len(layers):
        layer = layers[i]
        label = f"{i} ({layer!r})"
        if not is_dense(layer):
            raise TypeError(
                f"The 'model' argument of {caller} must alternate {fw.dense} layers "
                f"and at most one supported activation each. Layer {label} is where "
                f"a {fw.dense} layer was expected; use genome_of/set_genome for "
                f"other {fw.others}."
            )
        kernel, bias = fw.dense_params(layer)
        if bias is None:
            raise TypeError(
                f"The 'model' argument of {caller}: {fw.dense} layer {label} has no "
                "bias, which the network layout does not support; use "
                "genome_of/set_genome instead."
            )
        act = fw.own_activation(layer, caller, label)
        n_out, n_in = fw.shape(kernel) if fw.transposed else fw.shape(kernel)[::-1]
        if sizes and n_in != sizes[-1]:
            raise ValueError(
                f"The 'model' argument of {caller}: {fw.dense} layer {label} takes "
                f"{n_in} inputs but the previous layer gives {sizes[-1]}."
            )
        if not sizes:
            sizes.append(n_in)
        sizes.append(n_out)
        denses.append(layer)
        if i + 1 < len(layers) and not is_dense(layers[i + 1]):
            nxt = layers[i + 1]
            name = fw.activation_of(nxt)
            if name is None or act != "linear":
                raise TypeError(
                    f"The 'model' argument of {caller}: layer {i + 1} ({nxt!r}) "
                    f"cannot follow {fw.dense} layer {label}: a {fw.dense} layer "
                    "with linear activation may be followed by one supported "
                    f"activation. Supported: {fw.supported}."
                )
            act = name
            i += 1
        acts.append(act)
        i += 1
    if not denses:
        raise TypeError(
            f"The 'model' argument of {caller} must contain at least one "
            f"{fw.dense} layer."
        )
    return sizes, acts, denses


def from_stack(fw: Framework, model: Any, caller: str) -> tuple[Network, np.ndarray]:
    """The network and genome (network layout) of a supported Sequential."""
    sizes, acts, denses = parse_stack(fw, model, caller)
    net = Network(sizes, acts)
    weights = []
    for layer in denses:
        kernel, bias = fw.dense_params(layer)
        W = fw.read(kernel)
        weights.append((W.T if fw.transposed else W, fw.read(bias)))
    return net, net.flatten(weights)


def to_stack(fw: Framework, net: Any, genome: Any, caller: str) -> Any:
    """A new Sequential of ``fw`` computing ``net.forward(genome, .)``."""
    if not isinstance(net, Network):
        raise TypeError(
            f"The 'net' argument of {caller} must be a pyneat_lite.Network. "
            f"Got {type(net).__name__} instead."
        )
    genome = check_genome(genome, caller=caller, n_params=net.n_params)
    model, denses = fw.build(net)
    for layer, (W, b) in zip(denses, net.unflatten(genome), strict=True):
        kernel, bias = fw.dense_params(layer)
        fw.write(kernel, np.ascontiguousarray(W.T) if fw.transposed else W)
        fw.write(bias, b)
    return model


def framework_order(fw: Framework, net: Network) -> np.ndarray | None:
    """Index array ``perm`` with ``network_genome = framework_genome[perm]``.

    The parameters of a dense stack are, layer after layer, the kernel then
    the bias, at the network's offsets; a transposed framework stores the
    kernel ``(out, in)`` row-major. None when the two layouts are the same.
    """
    if not fw.transposed:
        return None
    perm = np.arange(net.n_params, dtype=np.intp)
    for lay in net.layout:
        n_in, n_out = lay.w_shape
        stored = np.arange(n_out * n_in, dtype=np.intp).reshape(n_out, n_in)
        perm[lay.w_offset : lay.b_offset] = lay.w_offset + stored.T.ravel()
    return perm


# ------------------------------------------------------------ genome access
def _n_values(fw: Framework, params: list[Any]) -> int:
    return int(sum(int(np.prod(fw.shape(p))) for p in params))


def read_all(fw: Framework, params: list[Any]) -> np.ndarray:
    """The values of ``params`` as one float32 vector (unchecked)."""
    if not params:
        return np.zeros(0, dtype=np.float32)
    return np.concatenate([fw.read(p).ravel() for p in params])


def _split(fw: Framework, params: list[Any], genome: np.ndarray) -> Iterator[Any]:
    """``(param, values)`` pairs: ``genome`` cut in the parameters' shapes."""
    offset = 0
    for p in params:
        shape = tuple(fw.shape(p))
        k = int(np.prod(shape))
        yield p, genome[offset : offset + k].reshape(shape)
        offset += k


def write_all(fw: Framework, params: list[Any], genome: np.ndarray) -> None:
    """Write ``genome`` (checked float32 of the right length) into ``params``."""
    for p, values in _split(fw, params, genome):
        fw.write(p, values)


def genome_of(fw: Framework, model: Any, caller: str = "genome_of") -> np.ndarray:
    """All parameters of ``model`` as one float32 vector (a copy)."""
    return read_all(fw, fw.parameters(model, caller))


def set_genome(
    fw: Framework, model: Any, genome: Any, caller: str = "set_genome"
) -> Any:
    """Write ``genome`` into the parameters of ``model``; returns ``model``."""
    params = fw.parameters(model, caller)
    genome = check_genome(genome, caller=caller, n_params=_n_values(fw, params))
    write_all(fw, params, genome)
    return model


def population_fitness(
    fw: Framework,
    model: Any,
    population: Any,
    fn: Callable[[Any], Any],
    caller: str = "population_fitness",
) -> np.ndarray:
    """``fn(model)`` with each genome of ``population`` written in: (P,) float64.

    ``fn`` runs under ``fw.no_grad()``; the model's original parameters are
    written back at the end, also when ``fn`` raises.
    """
    params = fw.parameters(model, caller)
    if not callable(fn):
        raise TypeError(
            f"The 'fn' argument of {caller} must be callable. "
            f"Got {type(fn).__name__} instead."
        )
    pop = check_population(population, caller=caller,
                           n_params=_n_values(fw, params))
    return score_rows(fw, model, params, pop, fn)


def score_rows(fw: Framework, model: Any, params: list[Any], pop: np.ndarray,
           fn: Callable[[Any], Any]) -> np.ndarray:
    """:func:`population_fitness` on checked arguments (fit_evolve's loop)."""
    original = read_all(fw, params)
    out = np.empty(pop.shape[0], dtype=np.float64)
    try:
        with fw.no_grad():
            for i in range(pop.shape[0]):
                write_all(fw, params, pop[i])
                out[i] = float(fn(model))
    finally:
        write_all(fw, params, original)
    return out


# ------------------------------------------------------------- docstrings
# The parts of the two adapters' docstrings that describe shared behaviour
# (filled in by :func:`shared_doc`, so that they are written once).
_DOC_PARTS = {
    "{net_returned}": """net : Network
        Same sizes and activations; ``net.forward(genome, X)`` equals
        ``model(X)`` within float32 rounding.""",
    "{method}": """The search is ``deepevolution.fit_evolve``'s: a population of
    ``population`` weight vectors (the model's current weights, and copies
    with N(0, ``init_std``) noise); each generation keeps the ``top_k``
    best and breeds the rest from them by uniform crossover plus Gaussian
    noise on a fraction ``mutation_rate`` of the weights (a
    :class:`pyneat_lite.GA`).""",
    "{search}": """max_generations : int, default=100
    population : int, default=16
    top_k : int, default=4
        Number of best individuals kept and used as parents.
    mutation_rate : float, default=0.2
        Fraction of a child's weights that get noise.
    mutation_std : float, default=0.03
        Standard deviation of that noise.
    verbose : {0, 1, 2}, default=0
        0 silent, 1 a line per generation, 2 a tqdm progress bar.""",
    "{start}": """init_std : float, default=0.3
        Standard deviation of the noise added to the model's weights to make
        the first population (row 0 keeps the weights unchanged). 0.3 is what
        deepevolution documents (its code adds 0.03).
    seed : int, optional
        Seed of the search (None: fresh entropy).""",
    "{returns}": """Result
        ``best`` (in :func:`genome_of` layout), ``best_fitness``, ``history``
        (per-generation fitness statistics), ``plot(path)``.""",
}


def shared_doc(func: Callable[..., Any]) -> Callable[..., Any]:
    """Fill the shared fields (``{net_returned}``; ``{method}``, ``{search}``,
    ``{start}``, ``{returns}`` of ``fit_evolve``) of an adapter's docstring."""
    if func.__doc__:  # None under python -OO
        for key, text in _DOC_PARTS.items():
            func.__doc__ = func.__doc__.replace(key, text)
    return func
