"""The digit judges (issue 11) on known data: real digits, noise, fooling-like images.

The judge is built from the judge's side of the shipped 1,000-image subset
(501 images); the real digits it is tested on are the other side, which it
never saw. Every judge and feature is checked against a brute-force NumPy reference.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.linalg
import threadpoolctl

import pyneat_lite as pn
from pyneat_lite.tasks.judges import (
    JUDGE_SEED,
    DigitJudge,
    Verdict,
    deskew,
    frechet_distance,
    gradient_histograms,
    judge_split,
)

MNIST = Path(__file__).parent / "data" / "mnist-1000"


@pytest.fixture(scope="module")
def split():
    X, y = pn.datasets.load_mnist(MNIST)
    return (X, y, *judge_split(X, y))


@pytest.fixture(scope="module")
def judge(split):
    _, _, _, Xj, _, yj = split
    return DigitJudge(Xj, yj, seed=0)


def test_split_is_disjoint_stratified_and_fixed(split):
    X, y, Xm, Xj, ym, yj = split
    assert len(ym) + len(yj) == len(y)
    counts = np.bincount(y, minlength=10)
    assert np.array_equal(np.bincount(yj, minlength=10), np.round(counts / 2))
    # together the two parts are X, each image once (rows sorted as bytes)
    both = np.concatenate([Xm, Xj])
    key = lambda A: np.sort(A.view(np.dtype((np.void, A.shape[1] * 4))).ravel())  # noqa: E731
    assert np.array_equal(key(both), key(X))
    again = judge_split(X, y, seed=JUDGE_SEED)
    assert np.array_equal(again[1], Xj) and np.array_equal(again[3], yj)
    other = judge_split(X, y, seed=JUDGE_SEED + 1)
    assert not np.array_equal(other[1], Xj)


def test_deskew_makes_a_slanted_bar_upright():
    # a bar from (4, 18) down to (23, 9): ink with covariance between row and column
    img = np.zeros((28, 28), np.float32)
    for r in range(4, 24):
        c = 18 - (r - 4) * 9 / 19
        img[r, int(c)] = 1.0 - (c - int(c))
        img[r, int(c) + 1] = c - int(c)
    out = deskew(img.reshape(1, -1)).reshape(28, 28)
    rows, cols = np.mgrid[:28, :28]

    def cov(a):
        w = a / a.sum()
        mr, mc = (w * rows).sum(), (w * cols).sum()
        return (w * (rows - mr) * (cols - mc)).sum(), (w * (rows - mr) ** 2).sum()

    c_in, v_in = cov(img)
    c_out, v_out = cov(out)
    assert abs(c_in / v_in) > 0.4 and abs(c_out / v_out) < 0.02
    assert out.sum() == pytest.approx(img.sum(), rel=0.02)  # ink kept
    # an upright image (symmetric about its centre row) is left as it is
    upright = np.zeros((28, 28), np.float32)
    upright[5:23, 12:15] = 1.0
    assert np.allclose(deskew(upright.reshape(1, -1)), upright.ravel(), atol=1e-6)


def test_gradient_histograms_match_a_loop():
    rng = np.random.default_rng(3)
    imgs = rng.random((2, 784), dtype=np.float32)
    H = gradient_histograms(imgs)
    for n in range(2):
        p = np.pad(imgs[n].reshape(28, 28).astype(np.float64), 1)
        ref = np.zeros((7, 7, 8))
        for r in range(28):
            for c in range(28):
                gx = p[r + 1, c + 2] - p[r + 1, c]
                gy = p[r + 2, c + 1] - p[r, c + 1]
                pos = (np.arctan2(gy, gx) + np.pi) * 8 / (2 * np.pi)
                lo = int(np.floor(pos))
                f = pos - lo
                ref[r // 4, c // 4, lo % 8] += np.hypot(gx, gy) * (1 - f)
                ref[r // 4, c // 4, (lo + 1) % 8] += np.hypot(gx, gy) * f
        ref = np.sqrt(ref.ravel())
        assert np.allclose(H[n], ref / np.linalg.norm(ref), atol=1e-5)
    # a contrast change does not change the histogram
    assert np.allclose(gradient_histograms(imgs * 0.5), H, atol=1e-5)


def test_knn_and_distances_match_brute_force(split, judge):
    _, _, Xm, Xj, _, yj = split
    imgs = Xm[:25]
    proba = judge.knn_proba(imgs)
    dist = judge.nearest_distance(imgs)
    D = deskew(Xj).astype(np.float64)
    h, b = judge.bandwidth, judge.background
    for i, img in enumerate(imgs):
        d = np.sqrt(((Xj.astype(np.float64) - img) ** 2).sum(1))
        assert dist[i] == pytest.approx(d.min(), abs=1e-3)
        d2 = ((D - deskew(img[None]).astype(np.float64)) ** 2).sum(1)
        near = np.argsort(d2)[: judge.k]
        w = np.exp(-d2[near] / (2 * h * h))
        ref = np.bincount(yj[near], weights=w, minlength=10) / (
            w.sum() + np.exp(-b * b / (2 * h * h)))
        assert np.allclose(proba[i], ref, atol=1e-4)
    # the kernel's scale: the median leave-one-out distance among deskewed digits
    dd = np.array([np.sqrt(((D - row) ** 2).sum(1)) for row in D])
    np.fill_diagonal(dd, np.inf)
    assert judge.knn_scale == pytest.approx(np.median(dd.min(1)), abs=1e-3)
    assert h == pytest.approx(0.125 * judge.knn_scale)
    # far from every real digit (an image of uniform noise): no confident class
    far = judge.knn_proba(np.random.default_rng(0).random((5, 784)))
    assert far.max() < 1e-3
    # leave-one-out nearest-neighbour distances of the real digits, per class
    X64 = Xj.astype(np.float64)
    d = np.array([np.sqrt(((X64 - row) ** 2).sum(1)) for row in X64])
    np.fill_diagonal(d, np.inf)
    loo = d.min(1)
    assert np.allclose(judge.real_distances, loo, atol=1e-3)
    for c in range(10):
        assert judge.thresholds[c] == pytest.approx(
            np.percentile(loo[yj == c], 95), abs=1e-3)
    assert judge.threshold_all == pytest.approx(np.percentile(loo, 95), abs=1e-3)


def test_classifier_is_a_softmax_regression_on_gradient_histograms(split, judge):
    _, _, Xm, Xj, ym, _ = split
    # the components are the top right-singular vectors of the centred
    # histograms of the deskewed digits
    Hj = gradient_histograms(deskew(Xj))
    with threadpoolctl.threadpool_limits(1):  # multi-threaded LAPACK crawls under load
        _, s, Vt = np.linalg.svd(Hj - Hj.mean(0), full_matrices=False)
    k = judge._h_components.shape[0]
    assert np.allclose(np.abs(np.sum(judge._h_components * Vt[:k], 1)), 1.0,
                       atol=1e-3)
    Hm = gradient_histograms(deskew(Xm))
    F = (Hm - Hj.mean(0)) @ judge._h_components.T / (s[:k] / np.sqrt(len(Xj)))
    (W, b), = judge.net.unflatten(judge.genome)
    logits = F @ W + b
    ref = np.exp(logits - logits.max(1, keepdims=True))
    ref /= ref.sum(1, keepdims=True)
    assert np.allclose(judge.classifier_proba(Xm), ref, atol=1e-4)
    # it learnt: held-out accuracy far above chance (0.938 on 499 images;
    # 0.979 when built from 5,000 MNIST test images)
    assert (ref.argmax(1) == ym).mean() > 0.9
    assert judge.classifier_accuracy > 0.95


def test_real_digits_are_judged_their_own_label(split, judge):
    _, _, Xm, _, ym, _ = split
    lenient = judge(Xm, confidence=0.5)
    assert (lenient.labels == ym).mean() > 0.8  # 0.84 measured
    strict = judge(Xm)  # confidence 0.9
    # 0.81 measured (0.91 with a judge built from 5,000 MNIST test images)
    assert (strict.labels == ym).mean() > 0.75 and strict.n_classes == 10
    assert strict.realism_fraction > 0.85  # 0.90: the threshold is a 95th percentile
    sevens = judge(Xm[ym == 7])
    assert np.array_equal(judge(Xm[ym == 7], label=7).agreed, sevens.labels == 7)
    sevens = judge(Xm[ym == 7], label=7)
    assert sevens.agree_fraction > 0.85 and sevens.pass_fraction > 0.8  # 0.94, 0.90
    # the same 7s are no 1s
    assert judge(Xm[ym == 7], label=1, confidence=0.5).agree_fraction < 0.1


def test_noise_and_fooling_like_images_fail(split, judge):
    _, _, Xm, _, ym, _ = split
    rng = np.random.default_rng(0)
    uniform = rng.random((200, 784), dtype=np.float32)
    # sparse random ink: the start of the pixel-space fooling search
    sparse = (rng.random((200, 784)) < 0.12).astype(np.float32)
    inverted = 1.0 - Xm[:200]
    for imgs in (uniform, sparse, inverted):
        v = judge(imgs)
        assert v.realism_fraction == 0.0 and v.pass_fraction == 0.0
        assert v.agree_fraction < 0.1
    # a real 7 with scattered noise added (what fooling pixels look like)
    noisy7 = np.clip(Xm[ym == 7] + (rng.random((49, 784)) < 0.15), 0, 1)
    assert judge(noisy7, label=7).pass_fraction == 0.0


def test_frechet_distance_matches_scipy_and_separates_noise(split, judge):
    rng = np.random.default_rng(1)
    A = rng.normal(size=(300, 6))
    B = rng.normal(size=(200, 6)) @ rng.normal(size=(6, 6)) + 0.5
    mu1, mu2 = A.mean(0), B.mean(0)
    c1, c2 = np.cov(A, rowvar=False), np.cov(B, rowvar=False)
    ref = ((mu1 - mu2) ** 2).sum() + np.trace(c1 + c2 - 2 * scipy.linalg.sqrtm(c1 @ c2)
                                              ).real
    assert frechet_distance(A, B) == pytest.approx(ref, rel=1e-6)
    assert frechet_distance(A, A) == pytest.approx(0.0, abs=1e-8)
    _, _, Xm, Xj, _, _ = split
    assert np.allclose(judge.features(Xj).mean(0), 0.0, atol=1e-4)
    real = judge.frechet_distance(Xm[:100])
    noise = judge.frechet_distance(rng.random((100, 784)))
    assert real < noise / 3  # the GAN's goal holds for real digits


def test_verdict_figures_are_consistent(judge):
    lab = np.array([0, 3, -1, 3, -1, 7])
    v = Verdict(knn_proba=np.zeros((6, 10)), classifier_proba=np.zeros((6, 10)),
                labels=lab, distance=np.arange(6.0), threshold=np.full(6, 2.5),
                agreed=lab >= 0, realistic=np.arange(6.0) <= 2.5, label=None,
                confidence=0.9)
    assert v.n == 6 and v.n_classes == 3
    assert v.agree_fraction == pytest.approx(4 / 6)
    assert v.realism_fraction == pytest.approx(3 / 6)
    assert v.pass_fraction == pytest.approx(2 / 6)
    assert "67% judged a digit" in str(v)


def test_same_seed_same_judge(split, judge):
    _, _, _, Xj, _, yj = split
    again = DigitJudge(Xj, yj, seed=0, generations=1000)
    assert np.array_equal(again.genome, judge.genome)


def test_bad_input(split, judge):
    _, _, Xm, Xj, _, yj = split
    with pytest.raises(ValueError, match="'images' argument of DigitJudge.*28x28"):
        judge(np.zeros((3, 100)))
    with pytest.raises(ValueError, match="'label' .*DigitJudge"):
        judge(Xm[:3], label=10)
    with pytest.raises(ValueError, match="'confidence'"):
        judge(Xm[:3], confidence=1.5)
    with pytest.raises(ValueError, match="'y' argument of DigitJudge"):
        DigitJudge(Xj, np.full(len(yj), 11))
    with pytest.raises(ValueError, match="at least 2 images of each class"):
        DigitJudge(Xj[yj < 9], yj[yj < 9])
    with pytest.raises(ValueError, match="'judge_fraction'"):
        judge_split(Xj, yj, judge_fraction=1.0)
    with pytest.raises(ValueError, match="at least 2 rows"):
        frechet_distance(np.zeros((1, 3)), np.zeros((5, 3)))
    with pytest.raises(ValueError, match="'images' argument of deskew.*28x28"):
        deskew(np.zeros((2, 100)))
    with pytest.raises(ValueError, match="'cell' argument of gradient_histograms"):
        gradient_histograms(Xj[:2], cell=5)
