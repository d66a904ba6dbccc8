"""The operator base class, the registry and the config round trip, plus the
helpers that selection, crossover, mutation and the fused generation share.

Every concrete operator class is registered in :data:`OPERATORS` (by the
:func:`register` decorator), so that :func:`operator_from_config` can rebuild
it and the contract tests (``tests/test_operator_contract.py``) run their
shared checks on it -- a new operator gets them by being registered.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from typing import Any, TypeVar

import numpy as np

from .. import _operators as _k
from .._rng import checked_row_seeds
from .._threads import effective_n_threads, kernel_threads
from .._typing import SeedLike
from .._validation import check_int, check_out, check_scalar

__all__ = ["OPERATORS", "operator_from_config", "register"]

#: Parameters per operator in the kernels' parameter rows (``_evolution.pxd``).
N_PRM = int(_k.N_PRM)
#: Bounded draws use a 32-bit multiply-shift: indices stay below 2**32.
MAX_INDEX = 2**32

EMPTY_F64 = np.empty(0, np.float64)
EMPTY_I64 = np.empty(0, np.int64)
EMPTY_F32 = np.empty(0, np.float32)

#: Every operator class by name (``"Tournament"`` -> :class:`Tournament`).
OPERATORS: dict[str, type[Operator]] = {}

_T = TypeVar("_T", bound=type)


def register(cls: _T) -> _T:
    """Class decorator: add a concrete operator class to :data:`OPERATORS`."""
    if cls.__name__ in OPERATORS:
        raise ValueError(f"operator name {cls.__name__!r} is already registered")
    OPERATORS[cls.__name__] = cls
    return cls


class Operator(ABC):
    """Common parts of every operator: config round trip, repr, equality.

    Subclasses describe their parameters in ``_cfg()`` (JSON-able values,
    the constructor's keyword names); ``random`` is False for operators that
    draw no random numbers (the same output for every seed).
    """

    #: False for deterministic operators (BlendCrossover, Clip).
    random = True

    @abstractmethod
    def _cfg(self) -> dict[str, Any]:
        """The constructor's parameters (JSON-able), in signature order."""

    def to_config(self) -> dict[str, Any]:
        """JSON-able description: ``{"type": <class name>, **parameters}``.

        ``operator_from_config(op.to_config())`` rebuilds an equal operator.
        """
        return {"type": type(self).__name__, **self._cfg()}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._cfg().items())
        return f"{type(self).__name__}({args})"

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.to_config() == other.to_config()

    def __hash__(self) -> int:
        return hash(repr(self))


def operator_from_config(config: dict[str, Any]) -> Any:
    """Rebuild an operator from ``op.to_config()``.

    Parameters
    ----------
    config : dict
        ``{"type": "Tournament", "k": 3}`` and the like; ``type`` is a key of
        :data:`OPERATORS`.

    Returns
    -------
    Selection, Crossover or Mutation

    Raises
    ------
    TypeError
        ``config`` is not a dict with a ``type`` key.
    ValueError
        Unknown ``type`` or unknown parameter names.

    Examples
    --------
    >>> from pyneat_lite import operators as ops
    >>> ops.operator_from_config({"type": "Tournament", "k": 5})
    Tournament(k=5)
    """
    if not isinstance(config, dict) or "type" not in config:
        raise TypeError(
            "The 'config' argument of operator_from_config must be a dict with "
            f"a 'type' key. Got {config!r} instead."
        )
    params = dict(config)
    name = params.pop("type")
    cls = OPERATORS.get(name)
    if cls is None:
        raise ValueError(
            "The 'type' of operator_from_config must be one of "
            f"{sorted(OPERATORS)}. Got {name!r} instead."
        )
    upgrade = getattr(cls, "_upgrade_config", None)
    if upgrade is not None:  # configs written by an earlier version
        params = upgrade(params)
    try:
        return cls(**params)
    except TypeError as exc:
        raise ValueError(
            f"Bad parameters for {name} in operator_from_config: {exc}. "
            f"Got {params!r} instead."
        ) from exc


# ---------------------------------------------------------------------------
# helpers shared by the operator modules
# ---------------------------------------------------------------------------


def seeds_for(
    seed: SeedLike, generation: int, stream: int, n: int, caller: str
) -> np.ndarray:
    """Validated per-row seeds of a public call (see :mod:`pyneat_lite._rng`)."""
    return checked_row_seeds(n, None, seed, generation, stream, caller)


def threads_for(n_threads: int | None, n_rows: int, n_cols: int = 1) -> int:
    """Validate a public ``n_threads`` and return the kernel's thread count."""
    if n_threads is not None:
        effective_n_threads(n_threads)  # validates
    return kernel_threads(n_threads, n_rows * n_cols, n_rows)


def inv_lambda(rate: float) -> float:
    """``-1 / log(1 - rate)``: turns an Exp(1) draw into a Geometric(rate)
    gap (0 for rates 0 and 1, which the kernels handle apart)."""
    if rate <= 0.0 or rate >= 1.0:
        return 0.0
    return -1.0 / math.log1p(-rate)


def prm(*values: float) -> np.ndarray:
    """One parameter row of a crossover or mutation op (``N_PRM`` doubles)."""
    p = np.zeros(N_PRM, np.float64)
    p[: len(values)] = values
    return p


def out_like(
    out: Any, shape: tuple[int, int], caller: str, inputs: tuple[np.ndarray, ...]
) -> np.ndarray:
    """A new float32 buffer, or the caller's ``out`` checked (never converted)."""
    if out is None:
        return np.empty(shape, np.float32)
    return check_out(out, shape, caller=caller, forbid_alias=inputs)


def check_bounds(
    low: Any, high: Any, caller: str, *, strict: bool
) -> tuple[float, float]:
    """``(low, high)`` as finite floats, ``low < high`` (``strict``) or
    ``low <= high``."""
    lo = check_scalar(low, "low", caller=caller)
    hi = check_scalar(high, "high", caller=caller)
    if not (lo < hi if strict else lo <= hi):
        raise ValueError(
            f"The 'low' parameter of {caller} must "
            f"{'be below' if strict else 'not exceed'} 'high'. "
            f"Got low={low!r} and high={high!r} instead."
        )
    return lo, hi


def check_shape2(shape: Any, caller: str) -> tuple[int, int]:
    """An image shape ``(H, W)`` of positive ints."""
    try:
        H, W = shape
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"The 'shape' parameter of {caller} must be a pair (H, W). "
            f"Got {shape!r} instead."
        ) from exc
    return (check_int(H, "shape[0]", caller=caller, min_val=1),
            check_int(W, "shape[1]", caller=caller, min_val=1))


def check_image_genes(shape: tuple[int, int], n_params: int, caller: str) -> None:
    """Genomes of an image operator must hold ``H * W`` genes."""
    H, W = shape
    if n_params != H * W:
        raise ValueError(
            f"{caller} with shape {shape} needs genomes of {H * W} "
            f"genes. Got {n_params} instead."
        )


def check_rate(rate: Any, caller: str) -> float:
    """A per-gene probability in [0, 1]."""
    return check_scalar(rate, "rate", caller=caller, min_val=0.0, max_val=1.0)
