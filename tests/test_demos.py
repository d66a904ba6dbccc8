"""The demo tasks shared by the command and the examples (tasks/demos.py)."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import pyneat_lite as pn
from pyneat_lite.tasks import demos

MNIST = str(Path(__file__).parent / "data" / "mnist-1000")


@pytest.fixture(scope="module")
def split():
    return demos.mnist_split(MNIST)


def test_mnist_split_is_stratified_with_a_fifth_held_out(split):
    Xtr, Xte, ytr, yte = split
    X, y = pn.datasets.load_mnist(MNIST)
    # stratified: a fifth of every class (rounded per class) is held out
    np.testing.assert_array_equal(np.bincount(yte, minlength=10),
                                  np.round(np.bincount(y, minlength=10) / 5))
    assert len(ytr) + len(yte) == 1000 and Xte.shape == (len(yte), 784)
    # the two parts partition the images
    rows = {r.tobytes() for r in X}
    assert {r.tobytes() for r in Xtr} | {r.tobytes() for r in Xte} == rows


def test_train_digit_cnn_learns_and_is_reproducible(split):
    Xtr, Xte, ytr, yte = split
    cnn = demos.train_digit_cnn(Xtr, ytr, epochs=2, seed=3)
    assert not cnn.training
    acc = float(np.mean(demos.predict_digits(cnn, Xte) == yte))
    assert acc > 0.4  # chance is 0.1
    again = demos.train_digit_cnn(Xtr, ytr, epochs=2, seed=3)
    for a, b in zip(cnn.parameters(), again.parameters(), strict=True):
        assert torch.equal(a, b)
    with pytest.raises(ValueError, match="'y' argument of train_digit_cnn"):
        demos.train_digit_cnn(Xtr, ytr + 5, epochs=1)
    with pytest.raises(ValueError, match="28x28 images"):
        demos.train_digit_cnn(Xtr[:, :100], ytr)


def test_class_probability_is_the_softmax_of_the_logits():
    torch.manual_seed(0)
    cnn = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 10)).eval()
    images = np.random.default_rng(0).random((5, 784)).astype(np.float32)
    W = cnn[1].weight.detach().numpy().astype(np.float64)
    b = cnn[1].bias.detach().numpy().astype(np.float64)
    z = images @ W.T + b
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    got = demos.class_probability(cnn, images, 7)
    assert got.dtype == np.float64 and got.shape == (5,)
    np.testing.assert_allclose(got, p[:, 7], rtol=1e-5)
    np.testing.assert_array_equal(demos.predict_digits(cnn, images), z.argmax(1))
    with pytest.raises(ValueError, match="label"):
        demos.class_probability(cnn, images, 10)


def test_gan_game_scores_then_trains_the_discriminator(split):
    Xtr = split[0]
    net = pn.Network([100, 784], "sigmoid")
    game = demos.GANGame(net, Xtr, n_latents=4, seed=1)
    pop = net.init_population(3, seed=0)
    before = [p.detach().clone() for p in game.disc.parameters()]

    # reference: each genome alone, through a copy of the untrained discriminator
    ref_disc = torch.nn.Sequential(torch.nn.Linear(784, 128),
                                   torch.nn.LeakyReLU(0.2), torch.nn.Linear(128, 1))
    ref_disc.load_state_dict(game.disc.state_dict())
    want = []
    for genome in pop:
        imgs = 1 / (1 + np.exp(-(game.z.astype(np.float64) @ net.unflatten(genome)[0][0]
                                 + net.unflatten(genome)[0][1])))
        with torch.no_grad():
            d = torch.sigmoid(ref_disc(torch.from_numpy(imgs.astype(np.float32))))
        want.append(float(np.log(d.double().numpy()).mean()))

    fitness = game(pop)
    np.testing.assert_allclose(fitness, want, rtol=1e-4)
    np.testing.assert_array_equal(game.best, pop[int(np.argmax(want))])
    assert game.last_fake.shape == (12, 784) and game.last_real.shape == (12, 784)
    # one Adam step moved the discriminator and lowered its loss on that batch
    assert any(not torch.equal(a, b) for a, b in
               zip(before, game.disc.parameters(), strict=True))
    x = torch.cat([game.last_real, game.last_fake])
    t = torch.cat([torch.ones(12, 1), torch.zeros(12, 1)])
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    with torch.no_grad():
        assert bce(game.disc(x), t) < bce(ref_disc(x), t)
    # its verdict: the mean probability of "real"
    with torch.no_grad():
        d = float(torch.sigmoid(game.disc(game.last_fake)).mean())
    assert game.discriminate(game.last_fake) == pytest.approx(d)
    assert game.discriminate(game.samples(pop[0])) == pytest.approx(
        float(torch.sigmoid(game.disc(torch.from_numpy(net.forward(pop[0], game.z))))
              .mean().detach()))


def test_gan_game_rejects_bad_arguments(split):
    with pytest.raises(ValueError, match="784 outputs"):
        demos.GANGame(pn.Network([100, 10], "sigmoid"), split[0])
    with pytest.raises(ValueError, match="d_lr"):
        demos.GANGame(pn.Network([100, 784], "sigmoid"), split[0], d_lr=0.0)
    with pytest.raises(ValueError, match="28x28"):
        demos.GANGame(pn.Network([100, 784], "sigmoid"), split[0][:, :50])


def test_save_grid_places_each_image_in_its_cell(tmp_path):
    from matplotlib.image import imread

    images = np.zeros((3, 28, 28), np.float32)
    images[1] = 1.0  # full ink: black in cell (0, 1); no ink: white
    path = tmp_path / "sub" / "grid.png"
    demos.save_grid(images, path, ncols=2)
    png = imread(path)[..., :3].mean(-1)  # white 1, black 0
    assert png.shape == (120, 120)  # 2 x 2 cells of 0.6 in at 100 dpi
    # each cell: 30 grid pixels drawn as 60; the image inside a 1-pixel frame
    inner = png.reshape(2, 60, 2, 60)[:, 2:58, :, 2:58].mean(axis=(1, 3))
    np.testing.assert_allclose(inner, [[1, 0], [1, 0]], atol=0.02)  # (1, 1) empty
    frame = png.reshape(2, 60, 2, 60)[:, :2, :, :].mean()
    assert frame < 0.02  # the frames are ink
    with pytest.raises(ValueError, match="28x28"):
        demos.save_grid(np.zeros((2, 30)), path)


def test_builders_give_the_commands_tasks():
    cp = demos.cartpole(seed=0)
    assert (cp.n_params, cp.algorithm, cp.pop, cp.target) == (114, "ga", 64, 500.0)
    ret = cp.fitness(np.zeros((2, 114), np.float32))
    assert ret.shape == (2,) and np.all(ret >= 1)
    dg = demos.digits(seed=0)
    assert (dg.n_params, dg.algorithm, dg.generations) == (2410, "snes", 150)
    pop = dg.init_population(4, 0)
    # the fitness is minus the cross-entropy on the 1437 training images
    X, y = pn.datasets.load_digits()
    Xtr, _, ytr, _ = pn.datasets.train_test_split(X, y, test_size=360, seed=0)
    net = pn.Network([64, 32, 10], ["tanh", "softmax"])
    p = net.forward(pop, Xtr).astype(np.float64)
    want = np.log(np.maximum(p[:, np.arange(len(ytr)), ytr], 1e-7)).mean(1)
    np.testing.assert_allclose(dg.fitness(pop), want, rtol=1e-5)
    with pytest.raises(ValueError, match="seed"):
        demos.digits(seed=-1)


def test_demos_import_without_torch(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)
    monkeypatch.delitem(sys.modules, "pyneat_lite.tasks.demos")
    fresh = importlib.import_module("pyneat_lite.tasks.demos")
    assert fresh.digits().n_params == 2410
    with pytest.raises(ImportError, match=r'pip install "pyneat_lite\[torch\]" '
                       r'\(from a checkout: pip install "\.\[torch\]"\)'):
        fresh.train_digit_cnn(np.zeros((2, 784)), np.zeros(2, int))
