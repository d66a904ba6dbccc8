"""The digit CNN and the image grid the image demos and examples share:
a small torch CNN trainer, its predictions and class probabilities, and a
PNG grid of 28x28 images.  Public through :mod:`pyneat_lite.tasks.demos`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .._validation import check_array, check_int
from ._demo_checks import _SIDE, _images, _logits, _seed, _torch


def train_digit_cnn(X: Any, y: Any, *, epochs: int = 2, seed: int = 0) -> Any:
    """A small CNN trained by Adam on 28x28 digits.

    Two 5x5 convolutions (8 and 16 channels, ReLU, 2x2 max-pooling) and a
    linear layer to 10 logits; Adam (lr 2e-3), minibatches of 64 in an order
    drawn from ``seed``, ``epochs`` passes. The same seed gives the same
    network (on one machine and thread count, as PyTorch promises).

    Parameters
    ----------
    X : array-like of shape (n, 784) or (n, 28, 28)
        Images with values in [0, 1].
    y : array-like of int, shape (n,)
        Labels in 0..9.
    epochs : int, default=2
    seed : int, default=0

    Returns
    -------
    torch.nn.Sequential
        In evaluation mode; it maps ``(n, 1, 28, 28)`` images to logits.
    """
    caller = "train_digit_cnn"
    X = _images(X, caller, "X")
    y = check_array(y, "y", caller=caller, ndim=1, dtype=np.int64)
    if y.shape[0] != X.shape[0] or np.any((y < 0) | (y > 9)):
        raise ValueError(f"The 'y' argument of {caller} must hold one label in "
                         f"0..9 per image of X. Got {y.shape[0]} labels in "
                         f"[{y.min(initial=0)}, {y.max(initial=0)}] instead.")
    epochs = check_int(epochs, "epochs", caller=caller, min_val=1)
    seed = _seed(seed, caller)
    torch = _torch()
    nn = torch.nn
    torch.manual_seed(seed)
    cnn = nn.Sequential(
        nn.Conv2d(1, 8, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(16 * 4 * 4, 10),
    )
    opt = torch.optim.Adam(cnn.parameters(), lr=2e-3)
    Xt = torch.from_numpy(X.reshape(-1, 1, _SIDE, _SIDE))
    yt = torch.from_numpy(y)
    gen = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        for idx in torch.randperm(len(yt), generator=gen).split(64):
            opt.zero_grad()
            nn.functional.cross_entropy(cnn(Xt[idx]), yt[idx]).backward()
            opt.step()
    return cnn.eval()


def predict_digits(cnn: Any, images: Any) -> np.ndarray:
    """The class ``cnn`` gives each image (argmax of its outputs): (n,) int64."""
    return _logits(cnn, images, "predict_digits").argmax(1).numpy()


def class_probability(cnn: Any, images: Any, label: int) -> np.ndarray:
    """The softmax probability ``cnn`` gives class ``label``, per image.

    Parameters
    ----------
    cnn : torch.nn.Module
        Maps ``(n, 1, 28, 28)`` images to 10 logits (:func:`train_digit_cnn`).
    images : array-like of shape (n, 784)
        One image a row (a population of image genomes).
    label : int
        The class, in 0..9.

    Returns
    -------
    ndarray of shape (n,), float64
    """
    caller = "class_probability"
    label = check_int(label, "label", caller=caller, min_val=0, max_val=9)
    torch = _torch()
    logits = _logits(cnn, images, caller)
    return torch.softmax(logits, dim=1)[:, label].double().numpy()


def save_grid(images: Any, path: str | Path, ncols: int = 8) -> None:
    """Save 28x28 images with values in [0, 1] as one grayscale PNG grid.

    Parameters
    ----------
    images : array-like of shape (n, 784) or (n, 28, 28)
    path : str or Path
        The PNG file; its folder is created if needed.
    ncols : int, default=8
        Images per row; each image has a 1-pixel frame, ink in black (as
        are the frames and the empty cells of the last row).
    """
    from matplotlib.figure import Figure

    flat = _images(images, "save_grid")
    ncols = check_int(ncols, "ncols", caller="save_grid", min_val=1)
    n = flat.shape[0]
    nrows = (n + ncols - 1) // ncols
    cell = _SIDE + 2  # a white pixel on each side
    grid = np.ones((nrows * cell, ncols * cell), np.float32)
    for i in range(n):
        r, c = (k * cell + 1 for k in divmod(i, ncols))
        grid[r : r + _SIDE, c : c + _SIDE] = flat[i].reshape(_SIDE, _SIDE)
    fig = Figure(figsize=(ncols * 0.6, nrows * 0.6))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.imshow(grid, cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
    ax.axis("off")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
