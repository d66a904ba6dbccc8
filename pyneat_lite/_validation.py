"""Validation helpers shared by every public wrapper.

Kernels (``_kernels/``, ``_operators``) never validate; the Python layer
calls these once, before any kernel runs.  Messages follow scikit-learn's shape:
the argument, the caller, the expectation, then "Got ... instead.".
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

__all__ = [
    "check_array",
    "check_population",
    "check_genome",
    "check_fitness",
    "check_scalar",
    "check_int",
    "check_out",
    "check_scale",
    "MAX_SCALE",
]

#: Largest standard deviation of float32 noise: ``MAX_SCALE * z`` stays
#: finite in float32 for every normal draw ``|z| < 64`` (beyond 64 standard
#: deviations the probability is below 1e-890, never drawn in practice).
MAX_SCALE = float(np.finfo(np.float32).max) / 64

def _where(caller: str | None) -> str:
    return f" of {caller}" if caller else ""


def check_array(
    x: Any,
    name: str,
    *,
    caller: str | None = None,
    ndim: int | tuple[int, ...] | None = None,
    dtype: Any = np.float32,
    finite: bool = True,
    allow_empty: bool = False,
) -> np.ndarray:
    """Convert ``x`` to a C-contiguous array of ``dtype`` and check its rank.

    Conversion happens once; an array that is already C-contiguous with the
    right dtype is returned unchanged (no copy).
    """
    if x is None:
        raise TypeError(
            f"The {name!r} argument{_where(caller)} must be an array. Got None instead."
        )
    if not hasattr(x, "dtype"):
        try:
            x = np.asarray(x)
        except (TypeError, ValueError) as exc:
            raise TypeError(
                f"The {name!r} argument{_where(caller)} must be convertible to a "
                f"{np.dtype(dtype).name} array. Got {type(x).__name__} instead."
            ) from exc
    if np.dtype(getattr(x, "dtype", None)).kind == "c" and np.dtype(dtype).kind != "c":
        # NumPy would drop the imaginary part with a warning only
        raise TypeError(
            f"The {name!r} argument{_where(caller)} must hold real numbers. "
            f"Got a complex array instead."
        )
    try:
        arr = np.ascontiguousarray(x, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"The {name!r} argument{_where(caller)} must be convertible to a "
            f"{np.dtype(dtype).name} array. Got {type(x).__name__} instead."
        ) from exc
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if arr.ndim not in allowed:
            want = " or ".join(f"{d}-D" for d in allowed)
            raise ValueError(
                f"The {name!r} argument{_where(caller)} must be a {want} array. "
                f"Got an array of shape {arr.shape} instead."
            )
    if not allow_empty and arr.size == 0:
        raise ValueError(
            f"The {name!r} argument{_where(caller)} must not be empty. "
            f"Got shape {arr.shape} instead."
        )
    if finite and arr.dtype.kind == "f" and not np.isfinite(arr).all():
        n_bad = int(arr.size - np.count_nonzero(np.isfinite(arr)))
        raise ValueError(
            f"The {name!r} argument{_where(caller)} must be finite. "
            f"Got {n_bad} NaN or infinite values instead."
        )
    return arr


def check_population(
    population: Any,
    name: str = "population",
    *,
    caller: str | None = None,
    n_params: int | None = None,
    finite: bool = True,
) -> np.ndarray:
    """Return ``population`` as a C-contiguous float32 array of shape (P, N).

    ``finite=True`` rejects NaN and infinite values (a population a user
    starts from); evaluation entries pass ``finite=False``: a population under
    evaluation may hold NaN genomes, which give NaN outputs and count as the
    worst fitness.  :func:`check_genome` follows the same rule.
    """
    arr = check_array(population, name, caller=caller, ndim=2, finite=finite)
    if n_params is not None and arr.shape[1] != n_params:
        raise ValueError(
            f"The {name!r} argument{_where(caller)} must be a 2-D array with "
            f"{n_params} columns (n_params). Got shape {arr.shape} instead."
        )
    return arr


def check_genome(
    genome: Any,
    name: str = "genome",
    *,
    caller: str | None = None,
    n_params: int | None = None,
    finite: bool = True,
) -> np.ndarray:
    """Return ``genome`` as a C-contiguous float32 array of shape (N,).

    The NaN rule is that of :func:`check_population`: ``finite=True`` (the
    default) rejects NaN and infinite values, for a genome that starts
    something (an ES centre, weights loaded into a model); evaluation entries
    (``Network.forward``) pass ``finite=False``, as they do for populations: a
    genome with NaN is legitimate under evaluation, it gives NaN outputs and
    counts as the worst fitness.
    """
    arr = check_array(genome, name, caller=caller, ndim=1, finite=finite)
    if n_params is not None and arr.shape[0] != n_params:
        raise ValueError(
            f"The {name!r} argument{_where(caller)} must have {n_params} values "
            f"(n_params). Got shape {arr.shape} instead."
        )
    return arr


def check_fitness(
    fitness: Any,
    n: int,
    *,
    name: str = "fitness",
    caller: str | None = None,
    allow_nonfinite: bool = True,
) -> np.ndarray:
    """Return ``fitness`` as a float64 array of shape (n,).

    NaN and infinite values are allowed by default: callers treat them as the
    worst fitness (see the algorithms' documentation).
    """
    if isinstance(fitness, (str, bytes)):
        raise TypeError(
            f"The {name!r} argument{_where(caller)} must be a numeric array. "
            f"Got {type(fitness).__name__} instead."
        )
    try:
        arr = np.asarray(fitness)
    except Exception as exc:  # pragma: no cover - exotic objects
        raise TypeError(
            f"The {name!r} argument{_where(caller)} must be a numeric array. "
            f"Got {type(fitness).__name__} instead."
        ) from exc
    if arr.dtype.kind not in "biuf":
        raise TypeError(
            f"The {name!r} argument{_where(caller)} must hold real numbers. "
            f"Got dtype {arr.dtype} instead."
        )
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.shape != (n,):
        raise ValueError(
            f"The {name!r} argument{_where(caller)} must have shape ({n},). "
            f"Got shape {arr.shape} instead."
        )
    if not allow_nonfinite and not np.isfinite(arr).all():
        raise ValueError(
            f"The {name!r} argument{_where(caller)} must be finite. "
            f"Got {int(np.sum(~np.isfinite(arr)))} NaN or infinite values instead."
        )
    return arr


def check_scalar(
    x: Any,
    name: str,
    *,
    caller: str | None = None,
    min_val: float | None = None,
    max_val: float | None = None,
    include_min: bool = True,
    include_max: bool = True,
) -> float:
    """Return ``x`` as a finite Python float within the given bounds."""
    if isinstance(x, bool) or not isinstance(x, (numbers.Real, np.floating)):
        raise TypeError(
            f"The {name!r} parameter{_where(caller)} must be a real number. "
            f"Got {x!r} ({type(x).__name__}) instead."
        )
    v = float(x)
    if not np.isfinite(v):
        raise ValueError(
            f"The {name!r} parameter{_where(caller)} must be finite. Got {x!r} instead."
        )
    _check_range(v, name, caller, min_val, max_val, include_min, include_max, x)
    return v


def check_int(
    x: Any,
    name: str,
    *,
    caller: str | None = None,
    min_val: int | None = None,
    max_val: int | None = None,
) -> int:
    """Return ``x`` as a Python int within ``[min_val, max_val]``."""
    if isinstance(x, bool) or not isinstance(x, (numbers.Integral, np.integer)):
        raise TypeError(
            f"The {name!r} parameter{_where(caller)} must be an integer. "
            f"Got {x!r} ({type(x).__name__}) instead."
        )
    v = int(x)
    _check_range(v, name, caller, min_val, max_val, True, True, x)
    return v


def check_scale(
    x: Any,
    name: str,
    *,
    caller: str | None = None,
    allow_zero: bool = False,
) -> float:
    """Return ``x`` as a float standard deviation of float32 noise: finite,
    positive (or zero with ``allow_zero``) and below :data:`MAX_SCALE`, so
    that the genomes it makes are finite."""
    v = check_scalar(x, name, caller=caller, min_val=0.0, include_min=allow_zero)
    if v >= MAX_SCALE:
        raise ValueError(
            f"The {name!r} parameter{_where(caller)} must be below {MAX_SCALE:.3g}: "
            "larger noise overflows float32 genomes to infinity. "
            f"Got {x!r} instead."
        )
    return v


def _check_range(v, name, caller, lo, hi, inc_lo, inc_hi, orig) -> None:
    bad_lo = lo is not None and (v < lo if inc_lo else v <= lo)
    bad_hi = hi is not None and (v > hi if inc_hi else v >= hi)
    if bad_lo or bad_hi:
        left = "-inf" if lo is None else repr(lo)
        right = "inf" if hi is None else repr(hi)
        lb = "[" if inc_lo and lo is not None else "("
        rb = "]" if inc_hi and hi is not None else ")"
        raise ValueError(
            f"The {name!r} parameter{_where(caller)} must be in the range "
            f"{lb}{left}, {right}{rb}. Got {orig!r} instead."
        )


def check_out(
    out: Any,
    shape: tuple[int, ...],
    *,
    name: str = "out",
    caller: str | None = None,
    dtype: Any = np.float32,
    forbid_alias: tuple[np.ndarray, ...] = (),
) -> np.ndarray:
    """Check a caller-provided output buffer; it is never converted.

    A bad ``out`` is an error, as in NumPy ufuncs: it must be a C-contiguous,
    writeable array of exactly ``shape`` and ``dtype``, and must not share
    memory with any array in ``forbid_alias``.
    """
    if not isinstance(out, np.ndarray):
        raise TypeError(
            f"The {name!r} argument{_where(caller)} must be a numpy.ndarray. "
            f"Got {type(out).__name__} instead."
        )
    if out.dtype != np.dtype(dtype):
        raise TypeError(
            f"The {name!r} argument{_where(caller)} must have dtype "
            f"{np.dtype(dtype).name}. Got {out.dtype} instead."
        )
    if tuple(out.shape) != tuple(shape):
        raise ValueError(
            f"The {name!r} argument{_where(caller)} must have shape {tuple(shape)}. "
            f"Got shape {out.shape} instead."
        )
    if not out.flags.c_contiguous:
        raise ValueError(
            f"The {name!r} argument{_where(caller)} must be C-contiguous. "
            "Got a non-contiguous array instead."
        )
    if not out.flags.writeable:
        raise ValueError(
            f"The {name!r} argument{_where(caller)} must be writeable. "
            "Got a read-only array instead."
        )
    for other in forbid_alias:
        if other is not None and np.shares_memory(out, other):
            raise ValueError(
                f"The {name!r} argument{_where(caller)} must not share memory with "
                "its input. Got an aliasing buffer instead."
            )
    return out
