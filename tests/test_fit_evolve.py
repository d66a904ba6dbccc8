"""fit_evolve for PyTorch and Keras, and the losses of its kernel path."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

from pyneat_lite.adapters import keras as pk  # noqa: E402
from pyneat_lite.adapters import torch as pt  # noqa: E402
from pyneat_lite.adapters._fit import population_loss  # noqa: E402


def _regression(n=128, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3)).astype(np.float32)
    y = (np.sin(X[:, :1]) + 0.5 * X[:, 1:2]).astype(np.float32)
    return X, y


def _classification(n=128, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 0).astype(np.int64)
    return X, y


def _torch_loss(module, loss_fn, X, y):
    with torch.no_grad():
        return float(loss_fn(module(torch.from_numpy(X)), torch.as_tensor(y)))


# ------------------------------------------------------------------ kernel path
@pytest.mark.parametrize(
    "last, loss_fn, target",
    [
        (None, nn.MSELoss(), "reg"),
        (None, nn.L1Loss(), "reg"),
        (None, nn.CrossEntropyLoss(), "cls"),
        (None, nn.NLLLoss(), "cls"),
        (nn.Sigmoid(), nn.BCELoss(), "bin"),
        (None, nn.BCEWithLogitsLoss(), "bin"),
    ],
)
def test_numpy_loss_matches_torch(last, loss_fn, target):
    torch.manual_seed(0)
    n_out = 1 if target in ("reg", "bin") else 3
    rng = np.random.default_rng(1)
    X = rng.normal(size=(50, 4)).astype(np.float32)
    y = {
        "reg": rng.normal(size=(50, 1)).astype(np.float32),
        "cls": rng.integers(0, 3, size=50),
        "bin": rng.integers(0, 2, size=(50, 1)).astype(np.float32),
    }[target]
    layers = [nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, n_out)]
    model = nn.Sequential(*layers, *([last] if last is not None else []))
    spec = pt._loss_spec(loss_fn)
    assert spec is not None
    net, _ = pt.from_module(model)
    pop = net.init_population(5, seed=2, scheme="normal")
    got = population_loss(net, pop, X, y, spec)
    want = []
    for row in pop:
        m = pt.to_module(net, row)
        want.append(_torch_loss(m, loss_fn, X, y))
    np.testing.assert_allclose(got, want, rtol=2e-5, atol=1e-6)


@pytest.mark.parametrize(
    "loss, out_act, target",
    [
        ("mse", "linear", "reg"),
        (keras.losses.MeanAbsoluteError(), "linear", "reg"),
        ("categorical_crossentropy", "softmax", "onehot"),
        (keras.losses.CategoricalCrossentropy(from_logits=True), "linear", "onehot"),
        ("sparse_categorical_crossentropy", "softmax", "cls"),
        (keras.losses.SparseCategoricalCrossentropy(from_logits=True), "linear", "cls"),
        ("binary_crossentropy", "sigmoid", "bin"),
        (keras.losses.BinaryCrossentropy(from_logits=True), "linear", "bin"),
    ],
)
def test_numpy_loss_matches_keras_evaluate(loss, out_act, target):
    keras.utils.set_random_seed(0)
    n_out = 1 if target in ("reg", "bin") else 3
    rng = np.random.default_rng(3)
    X = rng.normal(size=(40, 4)).astype(np.float32)
    labels = rng.integers(0, 3, size=40)
    y = {
        "reg": rng.normal(size=(40, 1)).astype(np.float32),
        "onehot": np.eye(3, dtype=np.float32)[labels],
        "cls": labels,
        "bin": rng.integers(0, 2, size=(40, 1)).astype(np.float32),
    }[target]
    model = keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(5, activation="tanh"),
            keras.layers.Dense(n_out, activation=out_act),
        ]
    )
    model.compile(loss=loss)
    spec = pk._loss_spec(model)
    assert spec is not None
    net, genome = pk.from_model(model)
    got = population_loss(net, genome[None], X, y, spec)
    want = model.evaluate(X, y, verbose=0, batch_size=64)
    np.testing.assert_allclose(got[0], want, rtol=2e-5, atol=1e-6)


def _reference_loss(o, t, loss, outputs, eps, floor):
    """NumPy reference of the kernel path's losses: (P,) mean over samples."""
    o = o.astype(np.float64)
    if loss == "mae":
        return np.abs(o - t).mean(axis=(1, 2))
    if loss == "binary_cross_entropy":
        if outputs == "logits":
            per = t * np.logaddexp(0.0, -o) + (1 - t) * np.logaddexp(0.0, o)
        else:
            p = np.clip(o, eps, 1 - eps)
            with np.errstate(divide="ignore"):
                lp, lq = np.maximum(np.log(p), floor), np.maximum(np.log1p(-p), floor)
            per = -(t * lp + (1 - t) * lq)
        return per.mean(axis=(1, 2))
    if outputs == "logits":
        z = o - o.max(axis=-1, keepdims=True)
        logq = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
    elif outputs == "probabilities":
        logq = np.log(np.clip(o / o.sum(axis=-1, keepdims=True), eps, 1 - eps))
    else:
        logq = o
    return -np.where(t != 0, t * logq, 0.0).sum(axis=-1).mean(axis=1)


@pytest.mark.parametrize(
    "loss, outputs, eps, floor",
    [
        ("mae", "probabilities", 0.0, -np.inf),
        ("cross_entropy", "logits", 0.0, -np.inf),
        ("cross_entropy", "probabilities", 1e-7, -np.inf),
        ("cross_entropy", "log_probabilities", 0.0, -np.inf),
        ("binary_cross_entropy", "logits", 0.0, -np.inf),
        ("binary_cross_entropy", "probabilities", 1e-7, -np.inf),
        ("binary_cross_entropy", "probabilities", 0.0, -100.0),
    ],
)
def test_target_loss_kernel_matches_numpy(loss, outputs, eps, floor):
    from pyneat_lite._kernels import losses

    rng = np.random.default_rng(5)
    z = rng.standard_normal((9, 50, 4)).astype(np.float32)
    out = 1 / (1 + np.exp(-3 * z)) if outputs == "probabilities" else z
    out[0, 0, 0] = 0.0 if outputs == "probabilities" else out[0, 0, 0]
    if loss == "cross_entropy":  # one-hot rows and soft rows
        t = np.eye(4)[rng.integers(0, 4, 50)]
        t[::3] = rng.dirichlet(np.ones(4), size=len(t[::3]))
    else:
        t = rng.integers(0, 2, (50, 4)).astype(np.float64)
        t[0, 0] = 1.0  # out 0 where the target is 1: log clamped at the floor
    want = _reference_loss(out, t, loss, outputs, eps, floor)
    kind = {"mae": losses.MAE, "cross_entropy": losses.CROSS_ENTROPY,
            "binary_cross_entropy": losses.BINARY_CROSS_ENTROPY}[loss]
    code = {"probabilities": losses.PROBABILITIES, "logits": losses.LOGITS,
            "log_probabilities": losses.LOG_PROBABILITIES}[outputs]
    # (thread invariance: tests/test_task_kernels.py, with two threads running)
    got = np.full(11, np.nan)
    losses.neg_target_loss(out, t, kind, code, eps, floor, got, 2)
    assert np.isnan(got[:2]).all()  # written at lo + p only
    np.testing.assert_allclose(-got[2:], want, rtol=1e-12)
    if loss == "binary_cross_entropy" and floor == -100.0:
        assert np.isfinite(got[2:]).all()  # torch's BCELoss never gives inf


def test_unknown_losses_take_the_framework_path():
    assert pt._loss_spec(nn.MSELoss(reduction="sum")) is None
    assert pt._loss_spec(nn.CrossEntropyLoss(label_smoothing=0.1)) is None
    assert pt._loss_spec(lambda a, b: (a - b).abs().mean()) is None
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(loss="huber")
    assert pk._loss_spec(model) is None


# ----------------------------------------------------------------------- torch
def test_torch_fit_evolve_kernel_path_improves_and_keeps_best():
    torch.manual_seed(0)
    X, y = _regression()
    model = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 1))
    loss_fn = nn.MSELoss()
    before = _torch_loss(model, loss_fn, X, y)
    result = pt.fit_evolve(model, X, y, loss_fn, max_generations=40, seed=0)
    after = _torch_loss(model, loss_fn, X, y)
    assert after < 0.5 * before
    # the best weights are in the model, in genome_of layout
    np.testing.assert_array_equal(pt.genome_of(model), result.best)
    assert after == pytest.approx(-result.best_fitness, rel=1e-5)
    assert len(result.history["max"]) == 40
    # elitism: the best fitness never decreases
    assert np.all(np.diff(result.history["max"]) >= 0)
    # same seed, same run
    torch.manual_seed(0)
    model3 = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 1))
    r3 = pt.fit_evolve(model3, X, y, loss_fn, max_generations=40, seed=0)
    np.testing.assert_array_equal(r3.best, result.best)


class _Residual(nn.Module):
    """Not a Sequential: evaluated through PyTorch."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Linear(3, 8)
        self.b = nn.Linear(8, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.b(torch.tanh(self.a(x))) + x[:, :1]


def test_torch_fit_evolve_framework_path_and_fitness_func():
    torch.manual_seed(1)
    X, y = _regression(seed=1)
    model = _Residual()
    loss_fn = nn.MSELoss()
    before = _torch_loss(model, loss_fn, X, y)
    result = pt.fit_evolve(
        model, X, y, loss_fn, max_generations=8, population=8, top_k=2, seed=0
    )
    after = _torch_loss(model, loss_fn, X, y)
    assert after < before
    assert after == pytest.approx(-result.best_fitness, rel=1e-5)
    assert model.training  # the training flag is restored

    Xc, yc = _classification()
    clf = nn.Sequential(nn.Linear(3, 2))

    def accuracy(m, x, t):
        return (m(x).argmax(1) == t).float().mean()

    start = float(accuracy(clf, torch.from_numpy(Xc), torch.from_numpy(yc)))
    r = pt.fit_evolve(
        clf,
        Xc,
        yc,
        fitness_func=accuracy,
        max_generations=8,
        population=8,
        top_k=2,
        seed=0,
    )
    final = float(accuracy(clf, torch.from_numpy(Xc), torch.from_numpy(yc)))
    assert final == pytest.approx(r.best_fitness) and final >= start
    assert final > 0.65 and final > start


def test_torch_fit_evolve_bad_arguments():
    model = nn.Sequential(nn.Linear(3, 1))
    X, y = _regression()
    with pytest.raises(TypeError, match="loss_fn"):
        pt.fit_evolve(model, X, y)
    with pytest.raises(ValueError, match="top_k"):
        pt.fit_evolve(model, X, y, nn.MSELoss(), population=4, top_k=4)
    with pytest.raises(ValueError, match="3 features"):
        pt.fit_evolve(model, X[:, :2], y, nn.MSELoss())
    with pytest.raises(ValueError, match="verbose"):
        pt.fit_evolve(model, X, y, nn.MSELoss(), verbose=3)
    with pytest.raises(ValueError, match="'y' argument of fit_evolve must have 1"):
        pt.fit_evolve(model, X, np.hstack([y, y]), nn.MSELoss())
    clf = nn.Sequential(nn.Linear(3, 2))
    with pytest.raises(ValueError, match=r"'y' argument of fit_evolve .*\[0, 1\]"):
        pt.fit_evolve(clf, X, np.full(len(X), 2), nn.CrossEntropyLoss())


# ----------------------------------------------------------------------- keras
def _keras_classifier():
    model = keras.Sequential(
        [
            keras.Input((3,)),
            keras.layers.Dense(8, activation="tanh"),
            keras.layers.Dense(2, activation="softmax"),
        ]
    )
    model.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def test_keras_fit_evolve_default_fitness_improves_loss(capsys):
    keras.utils.set_random_seed(0)
    X, y = _classification()
    model = _keras_classifier()
    before = model.evaluate(X, y, verbose=0)[0]
    result = pk.fit_evolve(model, X, y, max_generations=30, verbose=1, seed=0)
    after = model.evaluate(X, y, verbose=0)[0]
    assert after < 0.6 * before
    assert after == pytest.approx(-result.best_fitness, rel=1e-5)
    np.testing.assert_array_equal(pk.genome_of(model), result.best)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 30 and lines[-1].startswith("[Generation 30 / 30]")


def test_keras_fit_evolve_accuracy_fitness_and_framework_loss(capsys):
    keras.utils.set_random_seed(1)
    X, y = _classification(seed=2)
    model = _keras_classifier()

    def accuracy(m, x, t):
        p = m(x, training=False).detach().cpu().numpy()
        return float((p.argmax(1) == t).mean())

    start = accuracy(model, X, y)
    result = pk.fit_evolve(
        model,
        X,
        y,
        max_generations=8,
        population=8,
        top_k=2,
        fitness_func=accuracy,
        verbose=2,
        seed=0,
    )
    assert accuracy(model, X, y) == result.best_fitness
    assert result.best_fitness > max(0.7, start)
    assert "8/8" in capsys.readouterr().err  # the tqdm bar

    # a regularized model goes through model.evaluate (the penalty counts)
    reg = keras.Sequential(
        [
            keras.Input((3,)),
            keras.layers.Dense(
                2, activation="softmax", kernel_regularizer=keras.regularizers.L2(0.01)
            ),
        ]
    )
    reg.compile(loss="sparse_categorical_crossentropy")
    before = reg.evaluate(X, y, verbose=0)
    r = pk.fit_evolve(reg, X, y, max_generations=3, population=4, top_k=2, seed=0)
    after = reg.evaluate(X, y, verbose=0)
    assert after <= before and after == pytest.approx(-r.best_fitness, rel=1e-5)


def test_keras_fit_evolve_bad_arguments():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    X, y = _regression()
    with pytest.raises(ValueError, match="compile"):
        pk.fit_evolve(model, X, y)
    model.compile(loss="mse")
    with pytest.raises(ValueError, match="population"):
        pk.fit_evolve(model, X, y, population=1)
    with pytest.raises(TypeError, match="fitness_func"):
        pk.fit_evolve(model, X, y, fitness_func=3)
