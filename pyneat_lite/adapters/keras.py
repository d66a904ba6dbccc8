"""Keras 3 adapter: move weights between Keras models and genomes.

Works on any Keras 3 backend (tested on ``KERAS_BACKEND=torch``).

- For a ``keras.Sequential`` of ``Dense`` layers (with bias) and supported
  activations, :func:`from_model` returns the equivalent
  :class:`pyneat_lite.Network` and its genome, and :func:`to_model` goes back.
  Keras stores a Dense kernel as ``(in, out)``, the network layout, so no
  transposition is needed (unlike PyTorch's ``(out, in)``).
- For any model, :func:`genome_of` and :func:`set_genome` read and write its
  trainable weights (``model.weights`` whose ``trainable`` flag is set: frozen
  layers and BatchNorm statistics are left out) as one float32 vector. For a
  Dense stack it is the same vector as :func:`from_model`'s genome.

:func:`fit_evolve` is ``deepevolution.fit_evolve``'s interface on top of
pyneat_lite's GA: the best weights end up in the model.

Supported activations: a Dense layer's ``activation`` among ``linear``,
``relu``, ``elu``, ``tanh``, ``sigmoid``, ``softplus``, ``softmax`` and this
module's :func:`sin`, :func:`gaussian`, :func:`step`; or a following
``Activation`` layer with one of those, ``ReLU()``, ``LeakyReLU(0.01)``,
``ELU(alpha=1)`` or ``Softmax(axis=-1)`` layer. Keras's own ``leaky_relu``
function defaults to slope 0.2, not pyneat_lite's 0.01, and is refused. A
leading ``Flatten`` is accepted by :func:`from_model` (the network then takes
flattened inputs) and dropped.

Requires Keras 3: ``pip install pyneat_lite[keras]``.

Examples
--------
>>> import keras
>>> from pyneat_lite.adapters import keras as pk
>>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, "tanh")])
>>> net, genome = pk.from_model(model)
>>> net.sizes
(4, 2)
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

import numpy as np

from .._validation import check_int
from ..activations import LEAKY_RELU_SLOPE
from ..network import Network
from . import _common
from ._common import missing_framework, shared_doc
from ._fit import LossSpec, Search, check_fitness_func
from ._fit import fit_evolve as _fit_evolve


def _default_backend() -> None:
    # Keras 3 defaults to TensorFlow; the [keras] extra installs torch instead,
    # so pick the torch backend when the user chose none and TensorFlow is absent.
    if "KERAS_BACKEND" in os.environ:
        return
    if importlib.util.find_spec("tensorflow") is None and (
        importlib.util.find_spec("torch") is not None
    ):
        os.environ["KERAS_BACKEND"] = "torch"


_default_backend()
try:
    import keras
except ImportError as exc:  # pragma: no cover - exercised with keras hidden
    raise missing_framework("keras", "Keras 3", "keras") from exc
if not keras.__version__.startswith("3"):  # pragma: no cover - Keras 2 installed
    raise ImportError(
        "pyneat_lite.adapters.keras needs Keras 3, found Keras "
        f'{keras.__version__}. Install it with: pip install "pyneat_lite[keras]" '
        '(from a checkout: pip install ".[keras]")'
    )


if TYPE_CHECKING:
    from ..algorithms import Result

__all__ = ["from_model", "to_model", "genome_of", "set_genome", "population_fitness",
           "fit_evolve", "sin", "gaussian", "step"]

_L = keras.layers
_ops = keras.ops


@keras.saving.register_keras_serializable(package="pyneat_lite")
def sin(x: Any) -> Any:
    """Elementwise ``sin(x)``: pyneat_lite's ``"sin"`` activation."""
    return _ops.sin(x)


@keras.saving.register_keras_serializable(package="pyneat_lite")
def gaussian(x: Any) -> Any:
    """Elementwise ``exp(-x**2)``: pyneat_lite's ``"gaussian"`` activation."""
    return _ops.exp(-x * x)


@keras.saving.register_keras_serializable(package="pyneat_lite")
def step(x: Any) -> Any:
    """Elementwise ``1 if x > 0 else 0``: pyneat_lite's ``"step"`` activation."""
    return _ops.cast(_ops.greater(x, 0), x.dtype)


def _to_numpy(x: Any) -> np.ndarray:
    """A backend tensor (or array-like) as a NumPy array.

    torch tensors go through ``.detach().cpu().numpy()``: NumPy 2 warns when
    ``keras.ops.convert_to_numpy`` calls ``np.array`` on them.
    """
    if hasattr(x, "detach") and hasattr(x, "cpu"):
        return x.detach().cpu().numpy()
    if isinstance(x, np.ndarray):
        return x
    return np.asarray(keras.ops.convert_to_numpy(x))


def _numpy(v: Any) -> np.ndarray:
    """float32 copy of a Keras variable's value."""
    return np.array(_to_numpy(v.value), dtype=np.float32)


_A = keras.activations
_FUNCTIONS: dict[Any, str] = {
    _A.linear: "linear",
    _A.relu: "relu",
    _A.elu: "elu",
    _A.tanh: "tanh",
    _A.sigmoid: "sigmoid",
    _A.softplus: "softplus",
    _A.softmax: "softmax",
    sin: "sin",
    gaussian: "gaussian",
    step: "step",
}
_SUPPORTED = (
    "linear, relu, elu, tanh, sigmoid, softplus, softmax, pyneat_lite's sin/gaussian/"
    "step, and the layers ReLU(), LeakyReLU(0.01), ELU(alpha=1), Softmax(axis=-1)"
)


def _activation_of_layer(layer: Any) -> str | None:
    """pyneat_lite name of an activation layer, or None if not one we support."""
    t = type(layer)
    if t is _L.Activation:
        return _FUNCTIONS.get(layer.activation)
    if t is _L.ReLU:
        if layer.max_value is not None or float(layer.threshold) != 0.0:
            return None
        slope = float(layer.negative_slope)
        return {0.0: "relu", LEAKY_RELU_SLOPE: "leaky_relu"}.get(slope)
    if t is _L.LeakyReLU:
        return "leaky_relu" if float(layer.negative_slope) == LEAKY_RELU_SLOPE else None
    if t is _L.ELU:
        return "elu" if float(layer.alpha) == 1.0 else None
    if t is _L.Softmax:
        return "softmax" if layer.axis in (-1, [-1], (-1,)) else None
    return None


class _Keras:
    """Keras 3, as the shared adapter code sees it (``_common.Framework``)."""

    dense_type = _L.Dense
    dense = "Dense"
    others = "models"
    supported = _SUPPORTED
    transposed = False  # a Dense kernel is (in, out), the network layout

    def stack_layers(self, model: Any, caller: str) -> list[Any]:
        _check_model(model, caller)
        if not isinstance(model, keras.Sequential):
            raise TypeError(
                f"The 'model' argument of {caller} must be a keras.Sequential of "
                f"Dense layers and activations. Got {type(model).__name__} "
                "instead; use genome_of/set_genome for other models."
            )
        layers = [la for la in model.layers if not isinstance(la, _L.InputLayer)]
        if layers and type(layers[0]) is _L.Flatten:
            layers = layers[1:]
        return layers

    def own_activation(self, layer: Any, caller: str, label: str) -> str:
        if getattr(layer, "lora_enabled", False):
            raise TypeError(
                f"The 'model' argument of {caller}: Dense layer {label} uses LoRA, "
                "which the network layout does not support."
            )
        act = _FUNCTIONS.get(layer.activation)
        if act is None:
            raise TypeError(
                f"The 'model' argument of {caller}: the activation of Dense layer "
                f"{label} ({getattr(layer.activation, '__name__', layer.activation)})"
                f" is not supported. Supported: {_SUPPORTED}."
            )
        return act

    def activation_of(self, layer: Any) -> str | None:
        return _activation_of_layer(layer)

    def dense_params(self, layer: Any) -> tuple[Any, Any]:
        return layer.kernel, layer.bias

    def build(self, net: Network) -> tuple[Any, list[Any]]:
        by_name = {v: k for k, v in _FUNCTIONS.items()}
        layers: list[Any] = [keras.Input((net.n_in,))]
        denses = []
        for n_out, act in zip(net.sizes[1:], net.activations, strict=True):
            if act == "leaky_relu":
                d = _L.Dense(n_out, activation="linear")
                layers += [d, _L.LeakyReLU(negative_slope=LEAKY_RELU_SLOPE)]
            else:
                d = _L.Dense(n_out, activation=by_name[act])
                layers.append(d)
            denses.append(d)
        return keras.Sequential(layers), denses

    def parameters(self, model: Any, caller: str) -> list[Any]:
        _check_model(model, caller, layer_ok=True)
        return [v for v in model.weights if v.trainable]

    def shape(self, param: Any) -> tuple[int, ...]:
        return tuple(int(k) for k in param.shape)

    def read(self, param: Any) -> np.ndarray:
        return _numpy(param)

    def write(self, param: Any, values: np.ndarray) -> None:
        param.assign(values.astype(param.dtype))

    def no_grad(self) -> AbstractContextManager[Any]:
        return contextlib.nullcontext()

    def to_numpy(self, a: Any) -> np.ndarray:
        return _to_numpy(a)


def _check_model(model: Any, caller: str, layer_ok: bool = False) -> None:
    """TypeError unless ``model`` is a Keras model (or layer), ValueError
    unless it is built."""
    if not isinstance(model, (keras.Model, _L.Layer) if layer_ok else keras.Model):
        raise TypeError(
            f"The 'model' argument of {caller} must be a keras.Model. "
            f"Got {type(model).__name__} instead."
        )
    if not model.built:
        raise ValueError(
            f"The 'model' argument of {caller} must be built: give it an input "
            "shape (keras.Input((n,)) as first layer) or call it once."
        )


_FW = _Keras()


@shared_doc
def from_model(model: Any) -> tuple[Network, np.ndarray]:
    """The network and genome equivalent to a Sequential of Dense layers.

    Parameters
    ----------
    model : keras.Sequential
        Built; ``Dense`` layers with bias and supported activations (see the
        module docstring).

    Returns
    -------
    {net_returned}
    genome : ndarray of shape (net.n_params,), float32
        Each kernel ``(in, out)`` then its bias, layer after layer.

    Raises
    ------
    TypeError
        If ``model`` is not such a Sequential (the message names the layer).
    """
    return _common.from_stack(_FW, model, "from_model")


def to_model(net: Network, genome: Any) -> Any:
    """A new built ``keras.Sequential`` computing ``net.forward(genome, .)``.

    Parameters
    ----------
    net : Network
        The architecture.
    genome : array-like of shape (net.n_params,)
        The weights in the network layout.

    Returns
    -------
    keras.Sequential
        ``Input((net.n_in,))`` then one ``Dense`` per layer; a
        ``leaky_relu`` layer becomes a linear Dense plus ``LeakyReLU(0.01)``
        (Keras's ``leaky_relu`` function has another slope).
    """
    return _common.to_stack(_FW, net, genome, "to_model")


def genome_of(model: Any) -> np.ndarray:
    """The trainable weights of ``model`` as one float32 vector.

    Parameters
    ----------
    model : keras.Model
        Any built model (a CNN too).

    Returns
    -------
    ndarray of shape (n,), float32
        The variables of ``model.weights`` whose ``trainable`` flag is set,
        each flattened in C order, concatenated (a copy).
    """
    return _common.genome_of(_FW, model)


def set_genome(model: Any, genome: Any) -> Any:
    """Write ``genome`` into the trainable weights of ``model``, in place.

    The inverse of :func:`genome_of`; each variable keeps its dtype.

    Parameters
    ----------
    model : keras.Model
        Any built model.
    genome : array-like of shape (n,)
        ``n`` must be the model's number of trainable weight values.

    Returns
    -------
    keras.Model
        ``model`` itself.
    """
    return _common.set_genome(_FW, model, genome)


def population_fitness(
    model: Any, population: Any, fn: Callable[[Any], float]
) -> np.ndarray:
    """Score every genome of ``population`` through ``model``.

    For each row the genome is written into ``model`` (as by
    :func:`set_genome`) and ``fn(model)`` is called; the model's original
    weights are restored afterwards.

    Parameters
    ----------
    model : keras.Model
        Any built model.
    population : array-like of shape (P, n)
        Genomes in :func:`genome_of` layout.
    fn : callable
        ``fn(model) -> float``, higher is better.

    Returns
    -------
    ndarray of shape (P,), float64
    """
    return _common.population_fitness(_FW, model, population, fn)


def _loss_spec(model: Any) -> LossSpec | None:
    """Description of the compiled loss, or None if not recognised.

    Recognised: the loss names and functions ``mean_squared_error``,
    ``mean_absolute_error``, ``categorical_crossentropy``,
    ``sparse_categorical_crossentropy``, ``binary_crossentropy`` (and their
    aliases such as ``"mse"``), and the matching ``keras.losses`` classes with
    ``sum_over_batch_size`` reduction, ``axis=-1``, no label smoothing and no
    ignored class.
    """
    K = keras.losses
    kinds = (
        ("mse", K.mean_squared_error, K.MeanSquaredError),
        ("mae", K.mean_absolute_error, K.MeanAbsoluteError),
        ("categorical", K.categorical_crossentropy, K.CategoricalCrossentropy),
        ("sparse_categorical", K.sparse_categorical_crossentropy,
         K.SparseCategoricalCrossentropy),
        ("binary", K.binary_crossentropy, K.BinaryCrossentropy),
    )
    by_fn = {fn: kind for kind, fn, _ in kinds}
    by_class = {cls: kind for kind, _, cls in kinds}
    loss = getattr(model, "loss", None)
    config: dict[str, Any] = {}
    if isinstance(loss, str):
        try:
            loss = K.get(loss)
        except ValueError:
            return None
    if type(loss) in by_class:
        kind = by_class[type(loss)]
        config = loss.get_config()
        if config.get("reduction") != "sum_over_batch_size":
            return None
    elif callable(loss) and not isinstance(loss, K.Loss):
        kind = by_fn.get(loss)
    else:
        return None
    if kind is None:
        return None
    if (
        config.get("axis", -1) != -1
        or config.get("label_smoothing", 0.0) != 0.0
        or config.get("ignore_class") is not None
    ):
        return None
    if kind in ("mse", "mae"):
        return LossSpec(kind)
    outputs = "logits" if config.get("from_logits", False) else "probabilities"
    return LossSpec("binary_cross_entropy" if kind == "binary" else "cross_entropy",
                    outputs=outputs, labels=kind == "sparse_categorical",
                    eps=float(keras.config.epsilon()))


def _has_regularization(model: Any) -> bool:
    for layer in model.layers:
        for attr in ("kernel_regularizer", "bias_regularizer", "activity_regularizer"):
            if getattr(layer, attr, None) is not None:
                return True
    return False


@shared_doc
def fit_evolve(
    model: Any,
    x: Any,
    y: Any,
    max_generations: int = 100,
    population: int = 16,
    top_k: int = 4,
    mutation_rate: float = 0.2,
    mutation_std: float = 0.03,
    verbose: int = 0,
    fitness_func: Callable[[Any, Any, Any], float] | None = None,
    *,
    init_std: float = 0.3,
    seed: int | None = None,
    batch_size: int = 1024,
) -> Result:
    """Evolve the weights of a Keras model on ``(x, y)``; the best end up in it.

    {method}

    Parameters
    ----------
    model : keras.Model
        Built; compiled with a loss unless ``fitness_func`` is given. Its
        trainable weights are overwritten with the best found.
    x, y : array-like
        Training data, passed to the loss or to ``fitness_func``.
    {search}
    fitness_func : callable, optional
        ``fitness_func(model, x, y) -> float``, higher is better. Default:
        the negative loss of the compiled model on ``(x, y)``.
    {start}
    batch_size : int, default=1024
        Batch size of ``model.evaluate`` when the default fitness runs
        through Keras.

    Returns
    -------
    {returns}

    Notes
    -----
    When ``fitness_func`` is None, the model is a Dense stack accepted by
    :func:`from_model`, has no regularizers, and its compiled loss is mean
    squared or absolute error or a binary, categorical or sparse categorical
    cross-entropy (``sum_over_batch_size``, no label smoothing), the whole
    population is evaluated by pyneat_lite's forward kernels. Otherwise each
    individual is written into the model and evaluated through Keras
    (``model.evaluate``, or ``fitness_func``).
    """
    caller = "fit_evolve"
    vs = _FW.parameters(model, caller)
    check_fitness_func(fitness_func, caller)
    if fitness_func is None and not getattr(model, "compiled", False):
        raise ValueError(
            "fit_evolve's default fitness is the negative loss of the compiled "
            "model: call model.compile(loss=...) first, or pass fitness_func."
        )
    if not vs:
        raise ValueError("The model of fit_evolve has no trainable weights to evolve.")
    search = Search.checked(
        caller, max_generations=max_generations, population=population,
        top_k=top_k, mutation_rate=mutation_rate, mutation_std=mutation_std,
        init_std=init_std, verbose=verbose, seed=seed,
    )
    batch_size = check_int(batch_size, "batch_size", caller=caller, min_val=1)
    spec = None
    # Frozen layers would be evolved by the kernel path, and a regularizer's
    # penalty is not in the loss: keep those models in Keras.
    if (fitness_func is None and len(vs) == len(model.weights)
            and not _has_regularization(model)):
        spec = _loss_spec(model)

    def objective() -> Callable[[Any], float]:
        if fitness_func is not None:
            return lambda m: float(fitness_func(m, x, y))

        def negative_loss(m: Any) -> float:
            res = m.evaluate(x, y, batch_size=batch_size, verbose=0)
            return -float(res[0] if isinstance(res, (list, tuple)) else res)

        return negative_loss

    return _fit_evolve(_FW, model, x, y, search, spec=spec, objective=objective,
                       caller=caller)
