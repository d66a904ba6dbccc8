"""Every example runs end to end with tiny settings.

The MNIST examples read tests/data/mnist-1000 (the first 1,000 images of the
real MNIST test split), so that they run on a fresh clone.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "torch")

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
MNIST = str(Path(__file__).parent / "data" / "mnist-1000")


def _load(name: str):
    spec = importlib.util.spec_from_file_location(
        f"example_{name}", EXAMPLES / f"{name}.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cartpole_example(tmp_path):
    fig = _load("cartpole").main(
        ["--generations", "20", "--pop", "32", "--out", str(tmp_path)]
    )
    # the reloaded policy plays exactly as the saved one on gymnasium
    assert fig["reloaded"] == fig["gym_check"]
    assert fig["best_fitness"] > 100 and fig["numba_check"] > 100
    assert (tmp_path / "cartpole_policy.npz").is_file()
    assert (tmp_path / "cartpole_fitness.png").stat().st_size > 0


def test_keras_fit_evolve_example(tmp_path):
    fig = _load("keras_fit_evolve").main(
        ["--generations", "3", "--pop", "5", "--out", str(tmp_path)]
    )
    for key in ("loss", "accuracy"):
        assert 0.0 <= fig[f"{key}_test_accuracy"] <= 1.0
        assert (tmp_path / f"keras_fit_evolve_{key}.png").stat().st_size > 0


def test_keras_fit_evolve_example_on_mnist():
    fig = _load("keras_fit_evolve").main(
        ["--data", MNIST, "--generations", "2", "--pop", "5"]
    )
    assert set(fig) == {
        "loss_test_accuracy",
        "loss_seconds",
        "accuracy_test_accuracy",
        "accuracy_seconds",
    }


def test_mnist_classifier_example(tmp_path):
    fig = _load("mnist_classifier").main(
        [
            "--data",
            MNIST,
            "--time-limit",
            "600",  # the generation cap binds, not the clock (the first one JITs)
            "--generations",
            "3",
            "--pop",
            "16",
            "--hidden",
            "8",
            "--out",
            str(tmp_path),
        ]
    )
    assert fig["ga_generations"] == 3 and fig["snes_generations"] == 3
    assert (
        0.0 <= fig["ga_test_accuracy"] <= 1.0
        and 0.0 <= fig["snes_test_accuracy"] <= 1.0
    )
    assert (tmp_path / "mnist_fitness.png").stat().st_size > 0


def test_evolve_digit_image_example(tmp_path):
    argv = ["--data", MNIST, "--generations", "3", "--pop", "16", "--epochs", "1",
            "--prior", "0.5", "--out", str(tmp_path)]
    fig = _load("evolve_digit_image").main(argv)
    assert fig["cnn_accuracy"] > 0.3  # one epoch on 800 images; chance is 0.1
    assert 0.0 <= fig["binary_p7"] <= 1.0 and 0.0 <= fig["grayscale_p7"] <= 1.0
    assert fig["binary_generations"] <= 3
    assert (tmp_path / "evolved_7.png").stat().st_size > 0


def test_gan_generator_example(tmp_path):
    argv = ["--data", MNIST, "--generations", "3", "--pop", "8", "--out", str(tmp_path)]
    fig = _load("gan_generator").main(argv)
    assert fig["generations"] == 3
    # three steps of training already tell real images from generated ones
    assert 0.0 < fig["d_fake"] < fig["d_real"] < 1.0
    pngs = sorted(p.name for p in tmp_path.glob("gan_generation_*.png"))
    assert pngs == [f"gan_generation_{g:04d}.png" for g in range(3)]
