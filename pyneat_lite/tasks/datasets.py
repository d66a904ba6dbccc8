"""Datasets: MNIST from its IDX files, scikit-learn's digits, a stratified split.

The IDX format (LeCun, Cortes, Burges) is a big-endian header -- a magic
number (2051 for images, 2049 for labels), then the dimensions as 32-bit
unsigned integers -- followed by the uint8 payload.  Files may be raw or
gzip-compressed; every malformed file gives an error that names the file.
"""

from __future__ import annotations

import gzip
import math
import os
from pathlib import Path

import numpy as np

from .._rng import resolve_seed
from .._typing import SeedLike
from .._validation import check_array, check_int, check_scalar

__all__ = ["load_mnist", "load_digits", "read_idx", "train_test_split"]

_IMAGES_MAGIC = 2051
_LABELS_MAGIC = 2049
# The usual file stems of the MNIST distribution.
_STEMS = {
    "images": "{kind}-images-idx3-ubyte",
    "labels": "{kind}-labels-idx1-ubyte",
}


def _read_bytes(path: Path) -> bytes:
    if path.suffix == ".gz":
        try:
            with gzip.open(path, "rb") as f:
                return f.read()
        except (OSError, EOFError) as exc:
            raise ValueError(
                f"Cannot decompress the IDX file {str(path)!r}: {exc}. The file is "
                "truncated or not a gzip file."
            ) from exc
    return path.read_bytes()


def read_idx(path: str | os.PathLike, magic: int | None = None) -> np.ndarray:
    """Read one IDX file (raw or ``.gz``) into a uint8 array.

    Parameters
    ----------
    path : str or path-like
        The file.  A name ending in ``.gz`` is decompressed.
    magic : int, optional
        The expected magic number (2051 for images, 2049 for labels).

    Returns
    -------
    ndarray of uint8
        Shape given by the header: ``(n, rows, cols)`` for images, ``(n,)`` for
        labels.

    Raises
    ------
    ValueError
        A wrong magic number, a non-uint8 element type, or a payload shorter or
        longer than the header announces; the message names the file.
    """
    path = Path(path)
    data = _read_bytes(path)
    if len(data) < 4:
        raise ValueError(
            f"The IDX file {str(path)!r} is truncated: it has {len(data)} bytes, "
            "fewer than the 4-byte magic number."
        )
    got_magic = int.from_bytes(data[:4], "big")
    if magic is not None and got_magic != magic:
        raise ValueError(
            f"The IDX file {str(path)!r} has magic number {got_magic}; expected "
            f"{magic} ({'images' if magic == _IMAGES_MAGIC else 'labels'})."
        )
    dtype_code, ndim = data[2], data[3]
    if data[0] != 0 or data[1] != 0 or dtype_code != 0x08:
        raise ValueError(
            f"The IDX file {str(path)!r} has magic number {got_magic}: only "
            "unsigned-byte IDX files (0x00000801 + ndim) are supported."
        )
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(
            f"The IDX file {str(path)!r} is truncated: its header needs {header} "
            f"bytes, the file has {len(data)}."
        )
    shape = tuple(
        int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)
    )
    expected = math.prod(shape)  # Python ints: a forged header cannot overflow
    got = len(data) - header
    if got < expected:
        raise ValueError(
            f"The IDX file {str(path)!r} is truncated: the header announces shape "
            f"{shape} ({expected} bytes), the payload has {got} bytes."
        )
    if got > expected:
        raise ValueError(
            f"The IDX file {str(path)!r} has {got - expected} bytes after the "
            f"{expected} announced by its header (shape {shape})."
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape).copy()


def _find(directory: Path, stem: str) -> Path:
    # Both the canonical "-idx3-ubyte" names and the ".idx3-ubyte" variant.
    for name in (stem, stem.replace("-idx", ".idx")):
        for candidate in (directory / name, directory / (name + ".gz")):
            if candidate.is_file():
                return candidate
    raise FileNotFoundError(
        f"No IDX file {stem!r} (raw or .gz) in the directory {str(directory)!r}."
    )


def load_mnist(
    path: str | os.PathLike,
    kind: str = "t10k",
    *,
    normalize: bool = True,
    flatten: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Load MNIST (or any IDX image/label pair) from a directory.

    Parameters
    ----------
    path : str or path-like
        Directory holding ``{kind}-images-idx3-ubyte`` and
        ``{kind}-labels-idx1-ubyte``, raw or with a ``.gz`` suffix.
    kind : str, default="t10k"
        File prefix: ``"t10k"`` (test split) or ``"train"``.
    normalize : bool, default=True
        Scale pixels to float32 in [0, 1]; otherwise keep uint8.
    flatten : bool, default=True
        Return images as ``(n, rows * cols)``; otherwise ``(n, rows, cols)``.

    Returns
    -------
    X : ndarray
        Images, float32 in [0, 1] (or uint8).
    y : ndarray of int64, shape (n,)
        Labels.

    Raises
    ------
    FileNotFoundError
        A file is missing.
    ValueError
        Wrong magic number, truncated file or images/labels counts that differ;
        the message names the file(s).

    Examples
    --------
    >>> X, y = pn.datasets.load_mnist("../shared/data/mnist")  # doctest: +SKIP
    >>> X.shape, y.shape  # doctest: +SKIP
    ((10000, 784), (10000,))
    """
    directory = Path(path)
    if not directory.is_dir():
        raise FileNotFoundError(
            f"The 'path' argument of load_mnist must be a directory. Got {str(path)!r}."
        )
    img_path = _find(directory, _STEMS["images"].format(kind=kind))
    lab_path = _find(directory, _STEMS["labels"].format(kind=kind))
    images = read_idx(img_path, _IMAGES_MAGIC)
    labels = read_idx(lab_path, _LABELS_MAGIC)
    if images.ndim != 3:
        raise ValueError(
            f"The IDX file {str(img_path)!r} must hold a 3-D image array. "
            f"Got shape {images.shape}."
        )
    if labels.ndim != 1:
        raise ValueError(
            f"The IDX file {str(lab_path)!r} must hold a 1-D label array. "
            f"Got shape {labels.shape}."
        )
    if images.shape[0] != labels.shape[0]:
        raise ValueError(
            f"Mismatched counts: {str(img_path)!r} holds {images.shape[0]} images "
            f"but {str(lab_path)!r} holds {labels.shape[0]} labels."
        )
    X = images.reshape(images.shape[0], -1) if flatten else images
    if normalize:
        X = X.astype(np.float32) * np.float32(1.0 / 255.0)
    return X, labels.astype(np.int64)


def load_digits(*, standardize: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 8x8 digits (1,797 images, 10 classes) as float32.

    Parameters
    ----------
    standardize : bool, default=True
        Subtract each pixel's mean and divide by its standard deviation (a
        constant pixel keeps std 1), computed over the whole set.

    Returns
    -------
    X : ndarray of float32, shape (1797, 64)
    y : ndarray of int64, shape (1797,)

    Raises
    ------
    ImportError
        scikit-learn is not installed (``pip install scikit-learn``).
    """
    try:
        from sklearn.datasets import load_digits as _sk_load_digits
    except ImportError as exc:  # pragma: no cover - sklearn is a test dependency
        raise ImportError(
            "load_digits requires scikit-learn: pip install scikit-learn"
        ) from exc
    data = _sk_load_digits()
    X = data.data.astype(np.float64)
    if standardize:
        mean = X.mean(axis=0)
        std = X.std(axis=0)
        std[std == 0] = 1.0
        X = (X - mean) / std
    return X.astype(np.float32), data.target.astype(np.int64)


def train_test_split(
    X: np.ndarray,
    y: np.ndarray,
    *,
    test_size: float | int = 0.2,
    seed: SeedLike = 0,
    stratify: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Split ``X, y`` into train and test parts, stratified by label.

    Parameters
    ----------
    X : array-like of shape (n, ...)
    y : array-like of int, shape (n,)
    test_size : float or int, default=0.2
        Fraction in (0, 1) or a number of test samples.
    seed : int, default=0
        Seed of the shuffle (``numpy.random.default_rng``).
    stratify : bool, default=True
        Keep each class's share in both parts (per class, ``round(share *
        count)`` samples go to the test part).

    Returns
    -------
    X_train, X_test, y_train, y_test : ndarray
    """
    X = np.asarray(X)
    y = check_array(y, "y", caller="train_test_split", ndim=1, dtype=np.int64)
    if X.shape[0] != y.shape[0]:
        raise ValueError(
            "The 'X' and 'y' arguments of train_test_split must have the same "
            f"length. Got {X.shape[0]} and {y.shape[0]} instead."
        )
    n = y.shape[0]
    if isinstance(test_size, (int, np.integer)) and not isinstance(test_size, bool):
        n_test = check_int(test_size, "test_size", caller="train_test_split",
                           min_val=1, max_val=n - 1)
        frac = n_test / n
    else:
        frac = check_scalar(test_size, "test_size", caller="train_test_split",
                            min_val=0.0, max_val=1.0, include_min=False,
                            include_max=False)
        n_test = max(1, int(round(frac * n)))
    rng = np.random.default_rng(np.random.SeedSequence(resolve_seed(seed)))
    if stratify:
        test_idx = []
        for c in np.unique(y):
            idx = np.flatnonzero(y == c)
            rng.shuffle(idx)
            test_idx.append(idx[: int(round(frac * idx.size))])
        test = np.sort(np.concatenate(test_idx))
    else:
        test = np.sort(rng.permutation(n)[:n_test])
    mask = np.zeros(n, bool)
    mask[test] = True
    return X[~mask], X[mask], y[~mask], y[mask]
