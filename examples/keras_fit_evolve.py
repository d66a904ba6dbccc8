"""Evolve a Keras Dense model with ``fit_evolve``: negative loss, then accuracy.

``pyneat_lite.adapters.keras.fit_evolve`` has ``deepevolution.fit_evolve``'s
interface (population 16, top 4 kept, children by uniform crossover, 20% of
their weights mutated by N(0, 0.03)). The model here is a plain Dense stack
compiled with a cross-entropy, so with the default fitness (the negative
loss) the whole population is evaluated by pyneat_lite's kernels; with a
custom ``fitness_func(model, x, y)`` (accuracy below) each individual goes
through Keras. Either way the best weights end up in the model.

Data: scikit-learn's 8x8 digits by default (no download), or MNIST IDX files
with ``--data DIR`` (8,000 train / 2,000 test images at most, stratified).

Usage::

    KERAS_BACKEND=torch python examples/keras_fit_evolve.py
        [--data DIR] [--generations 300] [--pop 16] [--seed 0] [--out DIR]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import pyneat_lite as pn  # noqa: E402
from pyneat_lite.adapters import keras as pk  # noqa: E402


def load(data: str | None) -> tuple[np.ndarray, ...]:
    if data is None:
        X, y = pn.datasets.load_digits()
        return pn.datasets.train_test_split(X, y, test_size=360, seed=0)
    X, y = pn.datasets.load_mnist(data)
    X, y = X[:10_000], y[:10_000]
    return pn.datasets.train_test_split(X, y, test_size=len(y) // 5, seed=0)


def build(n_in: int, seed: int) -> keras.Model:
    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [
            keras.Input((n_in,)),
            keras.layers.Dense(32, activation="tanh"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def accuracy(model: keras.Model, x: np.ndarray, y: np.ndarray) -> float:
    """Fitness: training accuracy (a direct call is much faster than predict)."""
    out = model(x, training=False)
    out = out.detach().cpu().numpy() if hasattr(out, "detach") else np.asarray(out)
    return float((out.argmax(axis=1) == y).mean())


def main(argv: list[str] | None = None) -> dict[str, float]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--data", default=None, help="MNIST IDX directory (default: digits)"
    )
    ap.add_argument("--generations", type=int, default=300)
    ap.add_argument("--pop", type=int, default=16)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=None, help="where to save the fitness plots")
    args = ap.parse_args(argv)

    Xtr, Xte, ytr, yte = load(args.data)
    figures: dict[str, float] = {}
    for name, fitness_func in (("negative loss", None), ("accuracy", accuracy)):
        model = build(Xtr.shape[1], args.seed)
        t0 = time.perf_counter()
        result = pk.fit_evolve(
            model,
            Xtr,
            ytr,
            max_generations=args.generations,
            population=args.pop,
            fitness_func=fitness_func,
            verbose=2,
            seed=args.seed,
        )
        elapsed = time.perf_counter() - t0
        loss, train_acc = model.evaluate(Xtr, ytr, batch_size=len(ytr), verbose=0)
        test_acc = accuracy(model, Xte, yte)
        print(
            f"fitness = {name}: {args.generations} generations in {elapsed:.1f} s; "
            f"train loss {loss:.3f}, train accuracy {train_acc:.3f}, "
            f"test accuracy {test_acc:.3f}"
        )
        key = "loss" if fitness_func is None else "accuracy"
        figures[f"{key}_test_accuracy"] = test_acc
        figures[f"{key}_seconds"] = elapsed
        if args.out:
            Path(args.out).mkdir(parents=True, exist_ok=True)
            result.plot(Path(args.out) / f"keras_fit_evolve_{key}.png")
    return figures


if __name__ == "__main__":
    main()
