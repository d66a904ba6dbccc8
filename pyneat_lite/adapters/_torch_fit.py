"""The PyTorch adapter's helpers for :func:`pyneat_lite.adapters.torch.fit_evolve`:
which torch losses the library's kernels compute, tensor conversions and
evaluation mode (private)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np

from ._common import missing_framework

try:
    import torch
    from torch import nn
except ImportError as exc:  # pragma: no cover - exercised with torch hidden
    raise missing_framework("torch", "PyTorch", "torch") from exc

from ._fit import LossSpec


def _loss_spec(loss_fn: Any) -> LossSpec | None:
    """Description of a torch loss module, or None if not recognised."""
    if getattr(loss_fn, "reduction", None) != "mean":
        return None
    t = type(loss_fn)
    if t is nn.MSELoss:
        return LossSpec("mse")
    if t is nn.L1Loss:
        return LossSpec("mae")
    if getattr(loss_fn, "weight", None) is not None:
        return None
    if t is nn.CrossEntropyLoss:
        if loss_fn.label_smoothing != 0.0:
            return None
        return LossSpec("cross_entropy", outputs="logits", labels=True)
    if t is nn.NLLLoss:
        return LossSpec("cross_entropy", outputs="log_probabilities", labels=True)
    if t is nn.BCELoss:  # torch clamps each log at -100
        return LossSpec("binary_cross_entropy", log_floor=-100.0)
    if t is nn.BCEWithLogitsLoss and loss_fn.pos_weight is None:
        return LossSpec("binary_cross_entropy", outputs="logits")
    return None


def _to_numpy(a: Any) -> np.ndarray:
    if isinstance(a, torch.Tensor):
        return a.detach().cpu().numpy()
    return np.asarray(a)


def _to_tensor(a: Any, like_float: torch.dtype) -> torch.Tensor:
    if isinstance(a, torch.Tensor):
        return a
    arr = np.asarray(a)
    if arr.dtype.kind == "f":
        return torch.as_tensor(arr, dtype=like_float)
    return torch.as_tensor(arr)


@contextlib.contextmanager
def _evaluation_mode(module: nn.Module) -> Iterator[None]:
    """``module.eval()`` inside, its training flag restored after."""
    was_training = module.training
    module.eval()
    try:
        yield
    finally:
        module.train(was_training)
