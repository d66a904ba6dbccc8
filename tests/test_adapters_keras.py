"""Keras 3 adapter (run on KERAS_BACKEND=torch): conversions both ways."""

from __future__ import annotations

import importlib
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import pyneat_lite as pn  # noqa: E402
from pyneat_lite.adapters import keras as pk  # noqa: E402

L = keras.layers
ATOL = 2e-6


def _np(x):
    # torch tensors: keras.ops.convert_to_numpy warns under NumPy 2
    if hasattr(x, "value"):
        x = x.value
    return x.detach().cpu().numpy() if hasattr(x, "detach") else np.asarray(x)


def _predict(model, X):
    return _np(model(X, training=False))


def test_from_model_matches_keras_every_activation():
    keras.utils.set_random_seed(0)
    acts = [
        "relu",
        "elu",
        "tanh",
        "sigmoid",
        "softplus",
        pk.sin,
        pk.gaussian,
        pk.step,
        "linear",
        "softmax",
    ]
    layers = [keras.Input((5,))] + [L.Dense(6, activation=a) for a in acts]
    layers += [
        L.Dense(4),
        L.LeakyReLU(negative_slope=0.01),
        L.Dense(3),
        L.ReLU(),
        L.Dense(3),
        L.Activation("tanh"),
        L.Dense(3),
        L.ELU(),
        L.Dense(2),
        L.Softmax(),
    ]
    model = keras.Sequential(layers)
    net, genome = pk.from_model(model)
    assert net.activations == (
        "relu", "elu", "tanh", "sigmoid", "softplus", "sin", "gaussian", "step",
        "linear", "softmax", "leaky_relu", "relu", "tanh", "elu", "softmax",
    )
    assert net.n_params == model.count_params()
    X = np.random.default_rng(0).normal(size=(40, 5)).astype(np.float32)
    np.testing.assert_allclose(net.forward(genome, X), _predict(model, X), atol=ATOL)


def test_keras_kernel_is_network_layout_no_transpose():
    model = keras.Sequential(
        [keras.Input((3,)), L.Dense(2, activation="tanh"), L.Dense(4)]
    )
    net, genome = pk.from_model(model)
    (W0, b0), (W1, b1) = net.unflatten(genome)
    k0, bias0, k1, bias1 = (_np(v.value) for v in model.weights)
    np.testing.assert_array_equal(W0, k0)  # Dense kernel is (in, out) already
    np.testing.assert_array_equal(b0, bias0)
    np.testing.assert_array_equal(W1, k1)
    np.testing.assert_array_equal(b1, bias1)
    np.testing.assert_array_equal(pk.genome_of(model), genome)


def test_to_model_matches_network_and_round_trips():
    net = pn.Network([6, 8, 5, 3], ["leaky_relu", "softplus", "softmax"])
    genome = net.init_population(1, seed=4)[0]
    model = pk.to_model(net, genome)
    X = np.random.default_rng(1).normal(size=(21, 6)).astype(np.float32)
    np.testing.assert_allclose(_predict(model, X), net.forward(genome, X), atol=ATOL)
    net2, genome2 = pk.from_model(model)
    assert net2 == net
    np.testing.assert_array_equal(genome2, genome)


def test_to_model_and_torch_adapter_agree():
    # the two adapters transpose differently; the same genome must give the
    # same function in both frameworks
    import torch

    from pyneat_lite.adapters import torch as pt

    net = pn.Network([4, 7, 2], ["tanh", "sigmoid"])
    genome = net.init_population(1, seed=5)[0]
    X = np.random.default_rng(2).normal(size=(9, 4)).astype(np.float32)
    with torch.no_grad():
        t_out = pt.to_module(net, genome)(torch.from_numpy(X)).numpy()
    np.testing.assert_allclose(_predict(pk.to_model(net, genome), X), t_out, atol=ATOL)


@pytest.mark.parametrize(
    "layers, exc, match",
    [
        ([L.Conv1D(2, 3)], TypeError, "Conv1D"),
        ([L.Dense(2, activation="leaky_relu")], TypeError, "not supported"),
        ([L.Dense(2, use_bias=False)], TypeError, "bias"),
        ([L.Dense(2, activation="tanh"), L.ReLU()], TypeError, "cannot follow"),
        ([L.Dense(2), L.LeakyReLU()], TypeError, "cannot follow"),
    ],
)
def test_from_model_rejects_unsupported(layers, exc, match):
    shape = (6, 3) if isinstance(layers[0], L.Conv1D) else (3,)
    model = keras.Sequential([keras.Input(shape), *layers])
    with pytest.raises(exc, match=match):
        pk.from_model(model)


def test_from_model_needs_built_sequential():
    with pytest.raises(ValueError, match="built"):
        pk.from_model(keras.Sequential([L.Dense(2)]))
    inp = keras.Input((3,))
    functional = keras.Model(inp, L.Dense(2)(inp))
    with pytest.raises(TypeError, match="Sequential"):
        pk.from_model(functional)
    with pytest.raises(TypeError, match="keras.Model"):
        pk.from_model("model")


def test_genome_of_set_genome_cnn_skips_frozen_and_statistics():
    keras.utils.set_random_seed(1)
    model = keras.Sequential(
        [
            keras.Input((6, 6, 1)),
            L.Conv2D(2, 3),
            L.BatchNormalization(),
            L.Flatten(),
            L.Dense(3),
        ]
    )
    model.layers[-1].trainable = False
    g = pk.genome_of(model)
    # conv kernel+bias, BN gamma+beta; not the BN statistics, not the frozen Dense
    assert g.size == 3 * 3 * 1 * 2 + 2 + 2 + 2
    new = np.random.default_rng(0).normal(size=g.size).astype(np.float32)
    assert pk.set_genome(model, new) is model
    np.testing.assert_array_equal(pk.genome_of(model), new)
    conv = model.layers[0]
    np.testing.assert_array_equal(_np(conv.kernel.value).ravel(), new[:18])
    np.testing.assert_array_equal(_np(conv.bias.value), new[18:20])
    with pytest.raises(ValueError, match=f"{g.size} values"):
        pk.set_genome(model, new[:-1])


def test_population_fitness_matches_loop_and_restores():
    model = keras.Sequential([keras.Input((3,)), L.Dense(2, activation="tanh")])
    X = np.random.default_rng(3).normal(size=(5, 3)).astype(np.float32)
    original = pk.genome_of(model)
    pop = np.random.default_rng(4).normal(size=(4, original.size)).astype(np.float32)
    got = pk.population_fitness(model, pop, lambda m: float(_predict(m, X).sum()))
    net, _ = pk.from_model(model)
    np.testing.assert_allclose(got, net.forward(pop, X).sum(axis=(1, 2)), rtol=1e-5)
    np.testing.assert_array_equal(pk.genome_of(model), original)


def test_missing_keras_gives_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "keras", None)
    monkeypatch.delitem(sys.modules, "pyneat_lite.adapters.keras")
    with pytest.raises(ImportError, match=r'pip install "pyneat_lite\[keras\]" '
                       r'\(from a checkout: pip install "\.\[keras\]"\)'):
        importlib.import_module("pyneat_lite.adapters.keras")


def test_torch_backend_is_chosen_when_none_is_set():
    """Without KERAS_BACKEND and without TensorFlow, the adapter picks torch
    instead of failing on Keras's TensorFlow default."""
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    code = (
        "from pyneat_lite.adapters import keras as pk; import keras; "
        "print(keras.backend.backend())"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True,
        timeout=300, check=True,
    )
    assert out.stdout.strip().splitlines()[-1] == "torch"


def test_to_numpy_accepts_plain_sequences_and_tensors():
    """Regression: a non-tensor, non-ndarray input used to recurse forever."""
    from pyneat_lite.adapters.keras import _to_numpy

    np.testing.assert_array_equal(_to_numpy([1.0, 2.0]), np.array([1.0, 2.0]))
    t = keras.ops.convert_to_tensor(np.arange(3, dtype=np.float32))
    np.testing.assert_array_equal(_to_numpy(t), np.arange(3, dtype=np.float32))
