"""Argument checks of the demos (seed, 28x28 images) and their PyTorch import.

Private to :mod:`pyneat_lite.tasks.demos`, which holds the public names.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import check_array, check_int

_SIDE = 28  # MNIST images are 28x28
_PIXELS = _SIDE * _SIDE


def _torch() -> Any:
    try:
        import torch
    except ImportError:
        raise ImportError('this demo needs PyTorch: pip install "pyneat_lite[torch]" '
                          '(from a checkout: pip install ".[torch]")') from None
    return torch


def _seed(seed: Any, caller: str) -> int:
    return check_int(seed, "seed", caller=caller, min_val=0)


def _images(images: Any, caller: str, name: str = "images") -> np.ndarray:
    """``images`` as C-contiguous float32 ``(n, 784)`` (rows flattened)."""
    arr = check_array(images, name, caller=caller, ndim=(1, 2, 3))
    flat = arr.reshape(-1, arr.shape[-1]) if arr.ndim < 3 else arr.reshape(len(arr), -1)
    if flat.shape[1] != _PIXELS:
        raise ValueError(
            f"The {name!r} argument of {caller} must hold 28x28 images ({_PIXELS} "
            f"values each). Got shape {arr.shape} instead."
        )
    return flat


def _logits(cnn: Any, images: Any, caller: str) -> Any:
    torch = _torch()
    flat = _images(images, caller)
    with torch.no_grad():
        return cnn(torch.from_numpy(flat.reshape(-1, 1, _SIDE, _SIDE)))
