"""The activation table: names <-> integer ids the Numba kernels understand.

Kernels take activations as small integers, never as callables: a jitted
function passed as an argument makes a kernel uncacheable and recompiles it
for every function.  The numerics live in :mod:`pyneat_lite._kernels.math32`;
this module only owns the names, so importing it does not start Numba.

Definitions (``x`` is the pre-activation, all arithmetic in float32):

=============  ==============================================================
name           value
=============  ==============================================================
linear         ``x``
relu           ``max(x, 0)``
leaky_relu     ``x`` if ``x > 0`` else ``0.01 * x`` (PyTorch's default slope)
elu            ``x`` if ``x > 0`` else ``exp(x) - 1`` (alpha = 1)
tanh           ``tanh(x)``
sigmoid        ``1 / (1 + exp(-x))``, evaluated without overflow for any ``x``
softplus       ``log(1 + exp(x))``, as ``max(x, 0) + log1p(exp(-|x|))``
sin            ``sin(x)``
gaussian       ``exp(-x**2)``
step           ``1`` if ``x > 0`` else ``0``
softmax        ``exp(x - max(x)) / sum(exp(x - max(x)))`` over the layer's
               outputs of one sample (subtracting the max keeps it finite)
=============  ==============================================================

Examples
--------
>>> from pyneat_lite.activations import ACTIVATIONS, activation_id
>>> activation_id("tanh") == ACTIVATIONS["tanh"]
True
"""

from __future__ import annotations

__all__ = ["ACTIVATIONS", "ACTIVATION_NAMES", "LEAKY_RELU_SLOPE", "activation_id"]

#: Activation name -> integer id used by the kernels.  The ids are part of the
#: kernels' contract (``Network.meta``); never renumber, only append.
ACTIVATIONS: dict[str, int] = {
    "linear": 0,
    "relu": 1,
    "leaky_relu": 2,
    "elu": 3,
    "tanh": 4,
    "sigmoid": 5,
    "softplus": 6,
    "sin": 7,
    "gaussian": 8,
    "step": 9,
    "softmax": 10,
}

#: Names in id order: ``ACTIVATION_NAMES[i]`` is the name of id ``i``.
ACTIVATION_NAMES: tuple[str, ...] = tuple(sorted(ACTIVATIONS, key=ACTIVATIONS.get))

#: Negative slope of ``leaky_relu`` (PyTorch's ``nn.LeakyReLU`` default).
LEAKY_RELU_SLOPE: float = 0.01


def activation_id(name: str) -> int:
    """Integer id of the activation ``name``.

    Parameters
    ----------
    name : str
        One of the keys of :data:`ACTIVATIONS` (case-sensitive).

    Returns
    -------
    int
        The id the kernels understand.

    Raises
    ------
    TypeError
        If ``name`` is not a string.
    ValueError
        If ``name`` is not a known activation; the message lists the valid names.
    """
    if not isinstance(name, str):
        raise TypeError(
            f"An activation must be given by name (a str). Got {name!r} "
            f"({type(name).__name__}) instead."
        )
    try:
        return ACTIVATIONS[name]
    except KeyError:
        valid = ", ".join(ACTIVATION_NAMES)
        raise ValueError(
            f"Unknown activation {name!r}. Valid names are: {valid}."
        ) from None
