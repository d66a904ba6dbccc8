"""Per-generation statistics of a run (``Algorithm.history``, ``Result.history``).

One row per ``tell``: the generation index, min / mean / max / std of the
finite fitness values (in the user's sign; NaN when none is finite), the
number of non-finite values, the cumulative evaluations and the seconds since
the first ``ask`` (summed over resumed runs).

The four statistics are computed for blocks of generations at once, when a
block is full or the history is read: one vectorised pass instead of a
handful of NumPy calls per generation (which cost more than the arithmetic
at small population sizes).  The figures are bit-identical to
``finite.min()``, ``.mean()``, ``.max()`` and ``.std()`` of each generation:
the same pairwise sums along each row, then one division (except where
finite values near 1e308 overflow those sums: such rows are computed scaled by
their largest magnitude, so the mean and std stay finite).
"""

from __future__ import annotations

import math

import numpy as np

from .._typing import Float64Array

__all__ = ["History", "HISTORY_KEYS"]

HISTORY_KEYS = (
    "generation",
    "min",
    "mean",
    "max",
    "std",
    "n_nonfinite",
    "evaluations",
    "time",
)
_INT_KEYS = frozenset(("generation", "n_nonfinite", "evaluations"))
_STATS = ("min", "mean", "max", "std")
# At most this many float64 values wait for their statistics (8 MiB), and at
# most _MAX_ROWS generations.
_MAX_PENDING = 1 << 20
_MAX_ROWS = 64


def _statistics(rows: Float64Array) -> tuple[np.ndarray, ...]:
    """min, mean, max, std of each row of a C-contiguous (k, n) block."""
    n = rows.shape[1]
    with np.errstate(over="ignore", invalid="ignore"):  # see History._flush
        mean = np.add.reduce(rows, axis=1) / n
        dev = rows - mean[:, None]
        np.multiply(dev, dev, out=dev)
        std = np.sqrt(np.add.reduce(dev, axis=1) / n)
    return np.minimum.reduce(rows, axis=1), mean, np.maximum.reduce(rows, axis=1), std


class History:
    """Append-only per-generation statistics.

    Parameters
    ----------
    pop_size : int
        Fitness values per generation.
    """

    def __init__(self, pop_size: int) -> None:
        self._columns: dict[str, list[float]] = {key: [] for key in HISTORY_KEYS}
        rows = max(1, min(_MAX_ROWS, _MAX_PENDING // pop_size))
        self._pending = np.empty((rows, pop_size), dtype=np.float64)
        self._pending_nan: list[bool] = []
        # the columns as arrays up to some length (append-only lists: only
        # the new tail is converted by the next arrays())
        self._arrays: dict[str, np.ndarray] = {}

    def resize(self, pop_size: int) -> None:
        """Take ``pop_size`` fitness values per generation from now on (the
        generations recorded so far keep their statistics)."""
        self._flush()
        rows = max(1, min(_MAX_ROWS, _MAX_PENDING // pop_size))
        self._pending = np.empty((rows, pop_size), dtype=np.float64)

    def __len__(self) -> int:
        return len(self._columns["generation"])

    def record(
        self,
        generation: int,
        fitness: Float64Array,
        n_nonfinite: int,
        evaluations: int,
        elapsed: float,
        has_nan: bool = True,
    ) -> None:
        """Append one generation.

        ``fitness`` holds NaN where not finite (the statistics skip those;
        ``has_nan=False`` promises there is none); ``n_nonfinite`` is the
        count the user's fitness had.
        """
        k = len(self._pending_nan)
        self._pending[k] = fitness
        self._pending_nan.append(bool(has_nan))
        c = self._columns
        c["generation"].append(generation)
        c["n_nonfinite"].append(n_nonfinite)
        c["evaluations"].append(evaluations)
        c["time"].append(elapsed)
        if k + 1 == self._pending.shape[0]:
            self._flush()

    def _flush(self) -> None:
        """Compute the statistics of the generations waiting for them."""
        k = len(self._pending_nan)
        if k == 0:
            return
        block = self._pending[:k]
        out = np.empty((4, k), dtype=np.float64)
        clean = [i for i, nan in enumerate(self._pending_nan) if not nan]
        if len(clean) == k:
            out[:] = _statistics(block)
        else:
            if clean:
                out[:, clean] = _statistics(block[clean])
            for i, nan in enumerate(self._pending_nan):
                if nan:
                    row = block[i]
                    finite = row[~np.isnan(row)]
                    if finite.size:
                        out[:, i] = [v[0] for v in _statistics(finite[None, :])]
                    else:
                        out[:, i] = math.nan
        # finite fitness near the float64 limit (1e308) overflows the sums;
        # those rows are recomputed scaled by their largest magnitude
        mn, mean, mx, std = out
        for i in np.flatnonzero(np.isfinite(mn) & np.isfinite(mx)
                                & ~(np.isfinite(mean) & np.isfinite(std))):
            row = block[i]
            row = row[~np.isnan(row)]
            scale = max(abs(float(mn[i])), abs(float(mx[i])))
            _, m, _, sd = _statistics(row[None, :] / scale)
            mean[i], std[i] = m[0] * scale, sd[0] * scale
        for key, values in zip(_STATS, out.tolist(), strict=True):
            self._columns[key].extend(values)
        self._pending_nan.clear()

    def last(self) -> dict[str, float | int]:
        """The last row as a dict of Python numbers (empty before any row):
        what a per-generation logger writes, without copying the columns."""
        if not len(self):
            return {}
        self._flush()
        return {key: values[-1] for key, values in self._columns.items()}

    @property
    def last_time(self) -> float | None:
        """The ``time`` of the last row (None when empty)."""
        t = self._columns["time"]
        return t[-1] if t else None

    def arrays(self) -> dict[str, np.ndarray]:
        """The columns as new arrays (int64 counts, float64 statistics)."""
        self._flush()
        out = {}
        for key, values in self._columns.items():
            done = self._arrays.get(key)
            n = 0 if done is None else done.shape[0]
            if done is None or n != len(values):
                tail = np.asarray(values[n:],
                                  dtype=np.int64 if key in _INT_KEYS else np.float64)
                done = tail if done is None else np.concatenate([done, tail])
                self._arrays[key] = done
            out[key] = done.copy()
        return out

    def load(self, arrays: dict[str, np.ndarray]) -> None:
        """Replace the content with :meth:`arrays` output (checkpoints)."""
        self._pending_nan.clear()
        self._columns = {key: arrays[key].tolist() for key in HISTORY_KEYS}
        self._arrays = {}
