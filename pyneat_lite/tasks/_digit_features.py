"""Features of 28x28 digit images for the judges: deskewing and gradient histograms.

Both are plain NumPy on a batch ``(n, 784)`` float32 and depend on nothing
learnt, so a judge's features of an image never depend on what else is judged.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import check_array, check_int

_SIDE = 28


def _flat(images: Any, caller: str) -> np.ndarray:
    arr = check_array(images, "images", caller=caller, ndim=(2, 3))
    flat = arr.reshape(arr.shape[0], -1)
    if flat.shape[1] != _SIDE * _SIDE:
        raise ValueError(
            f"The 'images' argument of {caller} must hold 28x28 images (784 values "
            f"each), as (n, 784) or (n, 28, 28). Got shape {arr.shape} instead."
        )
    return flat


def deskew(images: Any) -> np.ndarray:
    """Shear each image horizontally so that its principal axis is vertical.

    The shear ``alpha = cov(row, col) / var(row)`` of each image's ink (its
    second moments) is undone about the ink's centre row, with linear
    interpolation along the rows; a slanted 1 becomes upright. It removes
    the largest within-class variation of handwritten digits, so distances
    and classifiers compare shapes rather than slants.

    Parameters
    ----------
    images : array-like of shape (n, 784) or (n, 28, 28)

    Returns
    -------
    ndarray of shape (n, 784), float32
    """
    im = _flat(images, "deskew").reshape(-1, _SIDE, _SIDE).astype(np.float64)
    r = np.arange(_SIDE, dtype=np.float64)
    rows, cols = im.sum(2), im.sum(1)
    tot = rows.sum(1) + 1e-9  # a blank image: no shear
    dr = r[None, :] - ((rows * r).sum(1) / tot)[:, None]  # (n, 28) offsets
    dc = r[None, :] - ((cols * r).sum(1) / tot)[:, None]
    var_r = (rows * dr**2).sum(1) / tot
    cov = np.einsum("nrc,nr,nc->n", im, dr, dc) / tot
    alpha = cov / np.maximum(var_r, 1e-9)
    # output pixel (row, col) reads the input at col + alpha * (row - centre)
    src = r[None, None, :] + (alpha[:, None] * dr)[:, :, None]
    c0 = np.floor(src)
    frac = src - c0
    c0 = c0.astype(np.int64)

    def take(c: np.ndarray) -> np.ndarray:
        inside = (c >= 0) & (c < _SIDE)
        v = np.take_along_axis(im, np.clip(c, 0, _SIDE - 1), axis=2)
        return np.where(inside, v, 0.0)

    out = take(c0) * (1.0 - frac) + take(c0 + 1) * frac
    return out.reshape(-1, _SIDE * _SIDE).astype(np.float32)


def gradient_histograms(images: Any, cell: int = 4, bins: int = 8) -> np.ndarray:
    """Histograms of oriented gradients (HOG, Dalal and Triggs 2005), one row an image.

    Central-difference gradients; each pixel's gradient magnitude is split
    linearly between the two nearest of ``bins`` signed orientations and
    summed over ``cell x cell`` cells; the square roots of the sums, scaled
    to unit Euclidean norm per image (so that ink contrast -- binary or
    grayscale strokes -- does not change the vector's scale).

    Parameters
    ----------
    images : array-like of shape (n, 784) or (n, 28, 28)
    cell : int, default=4
        Side of a cell; it must divide 28.
    bins : int, default=8

    Returns
    -------
    ndarray of shape (n, (28 // cell) ** 2 * bins), float32
    """
    caller = "gradient_histograms"
    im = _flat(images, caller).reshape(-1, _SIDE, _SIDE).astype(np.float32)
    cell = check_int(cell, "cell", caller=caller, min_val=1, max_val=_SIDE)
    bins = check_int(bins, "bins", caller=caller, min_val=2)
    if _SIDE % cell:
        raise ValueError(f"The 'cell' argument of {caller} must divide 28. Got "
                         f"{cell} instead.")
    p = np.pad(im, ((0, 0), (1, 1), (1, 1)))
    gx = p[:, 1:-1, 2:] - p[:, 1:-1, :-2]
    gy = p[:, 2:, 1:-1] - p[:, :-2, 1:-1]
    mag = np.sqrt(gx * gx + gy * gy)
    pos = (np.arctan2(gy, gx) + np.pi) * (bins / (2.0 * np.pi))
    lo = np.floor(pos)
    frac = pos - lo
    lo = lo.astype(np.int64) % bins
    hi = (lo + 1) % bins
    n, g = im.shape[0], _SIDE // cell
    hist = np.empty((n, g, g, bins), np.float32)
    for o in range(bins):
        w = mag * ((lo == o) * (1.0 - frac) + (hi == o) * frac)
        hist[..., o] = w.reshape(n, g, cell, g, cell).sum((2, 4))
    h = np.sqrt(hist.reshape(n, -1))
    h /= np.linalg.norm(h, axis=1, keepdims=True) + 1e-6
    return h


def pca(A: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean, top ``n`` principal axes (rows) and the standard deviations along them."""
    mean = A.mean(0)
    _, s, Vt = np.linalg.svd(A - mean, full_matrices=False)
    n = min(n, Vt.shape[0])
    return (mean, np.ascontiguousarray(Vt[:n], np.float32),
            (s[:n] / np.sqrt(A.shape[0])).astype(np.float32))
