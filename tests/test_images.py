"""Image genomes and priors (issue 11): NumPy references on the shipped MNIST subset."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import threadpoolctl

import pyneat_lite as pn
from pyneat_lite.tasks import images as im

MNIST = Path(__file__).parent / "data" / "mnist-1000"


@pytest.fixture(scope="module")
def digits():
    return pn.datasets.load_mnist(MNIST)


@pytest.fixture(scope="module")
def basis(digits):
    return im.PCABasis(digits[0], n_components=30)


def test_pca_basis_matches_numpy_svd(digits, basis):
    X = digits[0].astype(np.float64)
    with threadpoolctl.threadpool_limits(1):  # multi-threaded LAPACK crawls under load
        _, s, Vt = np.linalg.svd(X - X.mean(0), full_matrices=False)
    assert np.allclose(np.abs(np.sum(basis.components * Vt[:30], 1)), 1.0, atol=1e-3)
    assert np.allclose(basis.scale, s[:30] / np.sqrt(len(X)), rtol=1e-3)
    assert basis.explained == pytest.approx((s[:30] ** 2).sum() / (s**2).sum(),
                                            rel=1e-4)
    # the real digits' coefficients have unit variance on every component
    Z = basis.encode(digits[0])
    assert np.allclose(Z.std(0), 1.0, atol=1e-3)
    assert np.allclose(Z.mean(0), 0.0, atol=1e-3)


def test_decode_is_the_inverse_of_encode_on_the_span(basis):
    rng = np.random.default_rng(0)
    Z = rng.standard_normal((16, 30)).astype(np.float32)
    raw = basis.decode(Z, clip=False)
    ref = basis.mean + (Z * basis.scale) @ basis.components
    assert np.allclose(raw, ref, atol=1e-5)
    assert np.allclose(basis.encode(raw), Z, atol=1e-3)
    img = basis.decode(Z)
    assert img.shape == (16, 784) and img.min() >= 0.0 and img.max() <= 1.0
    assert np.array_equal(img, np.clip(raw, 0.0, 1.0))
    assert basis.decode(Z[0]).shape == (1, 784)  # one genome: one image


def test_priors_match_numpy(digits):
    X, _ = digits
    rng = np.random.default_rng(1)
    Z = rng.standard_normal((50, 30)) * np.linspace(0.2, 3, 50)[:, None]
    assert np.allclose(im.gaussian_prior(Z),
                       np.maximum(0, (Z.astype(np.float32).astype(np.float64) ** 2)
                                  .mean(1) - 1), atol=1e-6)
    assert im.gaussian_prior(np.zeros((2, 30))).tolist() == [0.0, 0.0]
    imgs = X[:40]
    assert np.allclose(im.ink(imgs), imgs.astype(np.float64).sum(1))
    target = 100.0
    assert np.allclose(im.ink_penalty(imgs, target, 0.1),
                       np.maximum(0, np.abs(imgs.sum(1) - target) / target - 0.1),
                       atol=1e-5)
    tv_ref = []
    for img in imgs.reshape(-1, 28, 28).astype(np.float64):
        tot = sum(abs(img[r, c] - img[r, c + 1]) for r in range(28) for c in range(27))
        tot += sum(abs(img[r, c] - img[r + 1, c]) for r in range(27) for c in range(28))
        tv_ref.append(tot / (2 * 28 * 27))
    assert np.allclose(im.total_variation(imgs), tv_ref, atol=1e-6)
    # scattered pixels pay the smoothness penalty, real strokes do not
    ref = float(np.percentile(im.total_variation(X), 95))
    salt = (rng.random((20, 784)) < 0.15).astype(np.float32)
    assert np.all(im.smoothness_penalty(salt, ref) > 0.5)
    assert np.mean(im.smoothness_penalty(X, ref) == 0) >= 0.95


def test_nearest_real_matches_brute_force(digits):
    X, y = digits
    sevens = X[y == 7]
    near = im.NearestReal(sevens)
    X64 = sevens.astype(np.float64)
    d = np.array([np.sqrt(((X64 - row) ** 2).sum(1)) for row in X64])
    np.fill_diagonal(d, np.inf)
    assert near.threshold == pytest.approx(np.percentile(d.min(1), 95), abs=1e-3)
    others = X[y != 7][:30]
    ref = np.array([np.sqrt(((X64 - o) ** 2).sum(1)).min() for o in others])
    assert np.allclose(near.distance(others), ref, atol=1e-3)
    assert np.allclose(near(others), np.maximum(0, ref / near.threshold - 1),
                       atol=1e-5)
    assert np.all(near(sevens) == 0.0)  # each is its own nearest real 7


def test_bad_input(digits, basis):
    with pytest.raises(ValueError, match="'genomes' argument of PCABasis.decode"):
        basis.decode(np.zeros((2, 29)))
    with pytest.raises(ValueError, match="'X' argument of PCABasis.*28x28"):
        im.PCABasis(np.zeros((10, 100)))
    with pytest.raises(ValueError, match="'n_components'"):
        im.PCABasis(digits[0][:5], n_components=6)
    with pytest.raises(ValueError, match="'target'"):
        im.ink_penalty(digits[0][:2], 0.0)
    with pytest.raises(ValueError, match="at least 2 images"):
        im.NearestReal(digits[0][:1])
