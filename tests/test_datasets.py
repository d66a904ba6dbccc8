"""Datasets: the IDX reader against the committed MNIST subset and hand-made
malformed files; digits standardization; the stratified split."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import numpy as np
import pytest

import pyneat_lite as pn

DATA = Path(__file__).parent / "data" / "mnist-1000"
SHARED = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "mnist"


def _idx_bytes(arr: np.ndarray, magic: int) -> bytes:
    header = magic.to_bytes(4, "big") + b"".join(
        int(d).to_bytes(4, "big") for d in arr.shape)
    return header + arr.astype(np.uint8).tobytes()


def _write_pair(directory: Path, images: bytes, labels: bytes, gz: bool) -> None:
    for stem, data in (("t10k-images-idx3-ubyte", images),
                       ("t10k-labels-idx1-ubyte", labels)):
        if gz:
            (directory / (stem + ".gz")).write_bytes(gzip.compress(data))
        else:
            (directory / stem).write_bytes(data)


def test_committed_subset_is_real_mnist():
    X, y = pn.datasets.load_mnist(DATA)
    assert X.shape == (1000, 784) and X.dtype == np.float32
    assert y.shape == (1000,) and y.dtype == np.int64
    assert X.min() >= 0.0 and X.max() <= 1.0
    # the first labels of the MNIST test split are well known
    assert y[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert np.bincount(y, minlength=10).tolist() == [85, 126, 116, 107, 110, 87, 87,
                                                      99, 89, 94]
    Xu, _ = pn.datasets.load_mnist(DATA, normalize=False, flatten=False)
    assert Xu.shape == (1000, 28, 28) and Xu.dtype == np.uint8
    np.testing.assert_allclose(Xu.reshape(1000, -1) / 255.0, X, rtol=1e-6)
    # digests of the payloads (images, labels as uint8), fixed when the subset
    # was cut from ../shared/data/mnist
    img_md5 = "1524e1bd745c8715b390a8741bb5a6d3"
    lab_md5 = "e1d2a4a26f7e83d7b1e8cfda6097b91c"
    assert hashlib.md5(Xu.tobytes()).hexdigest() == img_md5
    assert hashlib.md5(y.astype(np.uint8).tobytes()).hexdigest() == lab_md5


def test_subset_matches_shared_data_when_present():
    if not SHARED.is_dir():  # a fresh clone has no ../shared: nothing to compare
        return
    X, y = pn.datasets.load_mnist(SHARED)
    Xs, ys = pn.datasets.load_mnist(DATA)
    assert X.shape == (10000, 784)
    np.testing.assert_array_equal(X[:1000], Xs)
    np.testing.assert_array_equal(y[:1000], ys)


@pytest.mark.parametrize("gz", [False, True])
def test_raw_and_gz_roundtrip(tmp_path, gz):
    rng = np.random.default_rng(0)
    imgs = rng.integers(0, 256, (5, 3, 4), dtype=np.uint8)
    labs = rng.integers(0, 10, 5, dtype=np.uint8)
    _write_pair(tmp_path, _idx_bytes(imgs, 2051), _idx_bytes(labs, 2049), gz)
    X, y = pn.datasets.load_mnist(tmp_path, normalize=False, flatten=False)
    np.testing.assert_array_equal(X, imgs)
    np.testing.assert_array_equal(y, labs)


def test_wrong_magic_names_file(tmp_path):
    imgs = np.zeros((2, 2, 2), np.uint8)
    labs = np.zeros(2, np.uint8)
    _write_pair(tmp_path, _idx_bytes(imgs, 2049), _idx_bytes(labs, 2049), False)
    with pytest.raises(ValueError, match=r"t10k-images-idx3-ubyte.*magic number 2049"):
        pn.datasets.load_mnist(tmp_path)


def test_truncated_file_names_file(tmp_path):
    imgs = np.zeros((3, 2, 2), np.uint8)
    labs = np.zeros(3, np.uint8)
    _write_pair(tmp_path, _idx_bytes(imgs, 2051)[:-1], _idx_bytes(labs, 2049), True)
    with pytest.raises(ValueError, match=r"t10k-images-idx3-ubyte.gz.*truncated"):
        pn.datasets.load_mnist(tmp_path)
    # a cut gzip stream
    raw = gzip.compress(_idx_bytes(imgs, 2051))
    (tmp_path / "t10k-images-idx3-ubyte.gz").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ValueError, match=r"t10k-images-idx3-ubyte.gz"):
        pn.datasets.load_mnist(tmp_path)
    # a header cut short
    (tmp_path / "t10k-images-idx3-ubyte.gz").write_bytes(gzip.compress(b"\x00\x00\x08"))
    with pytest.raises(ValueError, match="truncated"):
        pn.datasets.load_mnist(tmp_path)


def test_mismatched_counts_name_both_files(tmp_path):
    _write_pair(tmp_path, _idx_bytes(np.zeros((3, 2, 2), np.uint8), 2051),
                _idx_bytes(np.zeros(4, np.uint8), 2049), False)
    with pytest.raises(ValueError, match=r"3 images.*4 labels"):
        pn.datasets.load_mnist(tmp_path)


def test_missing_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="t10k-images-idx3-ubyte"):
        pn.datasets.load_mnist(tmp_path)
    with pytest.raises(FileNotFoundError, match="directory"):
        pn.datasets.load_mnist(tmp_path / "nope")


def test_load_digits_standardized():
    from sklearn.datasets import load_digits

    X, y = pn.datasets.load_digits()
    ref = load_digits()
    assert X.shape == (1797, 64) and X.dtype == np.float32
    np.testing.assert_array_equal(y, ref.target)
    std = ref.data.std(axis=0)
    varying = std > 0
    np.testing.assert_allclose(X[:, varying].mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(X[:, varying].std(axis=0), 1.0, atol=1e-4)
    np.testing.assert_array_equal(X[:, ~varying], 0.0)


def test_train_test_split_stratified():
    X, y = pn.datasets.load_mnist(DATA)
    Xtr, Xte, ytr, yte = pn.datasets.train_test_split(X, y, test_size=0.2, seed=0)
    assert len(Xtr) + len(Xte) == 1000 and len(ytr) == len(Xtr)
    counts = np.bincount(y, minlength=10)
    np.testing.assert_array_equal(np.bincount(yte, minlength=10),
                                  np.round(0.2 * counts).astype(int))
    # a partition: every row exactly once
    rows = {r.tobytes() for r in np.concatenate([Xtr, Xte])}
    assert len(rows) == len({r.tobytes() for r in X})
    again = pn.datasets.train_test_split(X, y, test_size=0.2, seed=0)
    np.testing.assert_array_equal(again[3], yte)
    with pytest.raises(ValueError, match="same length"):
        pn.datasets.train_test_split(X, y[:-1])
