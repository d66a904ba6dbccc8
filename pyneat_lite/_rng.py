"""The random streams: one scheme for every random draw of the library.

Every draw is keyed by ``(seed, generation, stream, row)`` and never by
thread, so a run gives the same numbers whatever the number of threads, and
any subset of rows can be regenerated alone (a worker that rebuilds its share
of an ES population from the seed, a checkpoint that resumes mid-run).

- :data:`STREAMS` names the consumers of randomness (one id each).
- :func:`resolve_seed` turns a user's seed into the int kept in checkpoints.
- :func:`row_seeds` gives one 64-bit seed per row:
  ``SeedSequence(seed, spawn_key=(generation, stream))``, prefix-stable.
- :func:`standard_normal` and :func:`uniform` draw whole blocks of rows from
  those seeds with the counter-based xoshiro256** generator of the Cython
  kernels (the evolution strategies' noise, initial populations).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _operators as _k
from ._threads import effective_n_threads, kernel_threads
from ._typing import Float32Array, Float64Array, SeedLike
from ._validation import check_int, check_out

__all__ = ["STREAMS", "resolve_seed", "row_seeds", "standard_normal", "uniform"]

#: One stream id per consumer of randomness.
STREAMS = {
    "init": 1,
    "selection": 2,
    "crossover": 3,
    "mutation": 4,
    "generation": 5,  # the fused GA generation kernel
    "es_noise": 6,
    "batch": 7,  # minibatch sampling of supervised tasks
    "env": 8,  # environment resets
    "shuffle": 9,
    "restarts": 10,  # seeds and draws of restarted strategies (Restarts)
    # quality diversity (pyneat_lite.qd)
    "qd_select": 20,  # elites drawn as parents / restart points
    "qd_noise": 21,  # emitters' Gaussian noise
    "qd_cvt": 22,  # k-means samples of a CVT archive
}


def resolve_seed(seed: SeedLike, *, caller: str | None = None) -> int:
    """Turn ``seed`` into a non-negative int that can be stored in checkpoints.

    ``None`` draws fresh entropy from the OS once; a ``SeedSequence`` gives its
    entropy (its spawn key is ignored; pass an int for full control).
    """
    if seed is None:
        return int(np.random.SeedSequence().entropy)
    if isinstance(seed, np.random.SeedSequence):
        return int(seed.entropy)
    return check_int(seed, "seed", caller=caller, min_val=0)


def row_seeds(seed: int, generation: int, stream: int, n_rows: int) -> np.ndarray:
    """One independent 64-bit seed per row for (seed, generation, stream).

    Stateless: ``SeedSequence(seed, spawn_key=(generation, stream))``, so a
    given row always gets the same stream, whatever the number of threads and
    whatever was drawn before; the first ``k`` seeds do not depend on
    ``n_rows`` (prefix-stable).
    """
    # the same words as SeedSequence(...).generate_state(n_rows, np.uint64),
    # from one compiled call (SeedSequence's Python-level assembly costs
    # ~40 us, and this runs once or twice per generation); the Numba module
    # is imported on first use, not with the package
    words = _SEED_WORDS or _load_seed_words()
    return words(seed, (int(generation), int(stream)), n_rows)


_SEED_WORDS: Any = None


def _load_seed_words() -> Any:
    global _SEED_WORDS
    from ._kernels.rng import seed_sequence_words

    _SEED_WORDS = seed_sequence_words
    return seed_sequence_words


def checked_row_seeds(
    n_rows: int, rows: Any, seed: SeedLike, generation: int, stream: int, caller: str
) -> np.ndarray:
    """Validate a public draw's key and return its per-row seeds.

    ``rows`` (1-D non-negative ints, or None for ``range(n_rows)``) are the
    global row ids to draw.
    """
    s = resolve_seed(seed, caller=caller)
    g = check_int(generation, "generation", caller=caller, min_val=0)
    stream = check_int(stream, "stream", caller=caller, min_val=0)
    if rows is None:
        return row_seeds(s, g, stream, n_rows)
    r = np.asarray(rows)
    if r.ndim != 1 or r.dtype.kind not in "iu":
        raise TypeError(
            f"The 'rows' argument of {caller} must be a 1-D integer array. "
            f"Got {r.dtype} array of shape {r.shape} instead."
        )
    if r.shape[0] != n_rows:
        raise ValueError(
            f"The 'rows' argument of {caller} must have n_rows={n_rows} "
            f"entries. Got {r.shape[0]} instead."
        )
    if n_rows == 0:
        return np.empty(0, np.uint64)
    if r.min() < 0:
        raise ValueError(
            f"The 'rows' argument of {caller} must be non-negative. "
            f"Got {int(r.min())} instead."
        )
    # row_seeds is prefix-stable: row j's seed does not depend on the count
    return row_seeds(s, g, stream, int(r.max()) + 1)[r]


def fill_standard_normal(
    out: Float32Array, seed: int, generation: int, stream: int, n_threads: int | None
) -> None:
    """Unchecked :func:`standard_normal` into ``out`` (library-internal)."""
    n_rows, n_cols = out.shape
    if n_rows and n_cols:
        seeds = row_seeds(seed, generation, stream, n_rows)
        _k._standard_normal(out, seeds, kernel_threads(n_threads, n_rows * n_cols,
                                                       n_rows))


def standard_normal(
    n_rows: int,
    n_cols: int,
    *,
    seed: SeedLike,
    generation: int,
    stream: int = STREAMS["es_noise"],
    rows: Any = None,
    out: Float32Array | None = None,
    n_threads: int | None = None,
) -> Float32Array:
    """Standard normal float32 draws, one independent stream per row.

    Row ``r`` is drawn from the stream keyed by ``(seed, generation, stream,
    rows[r])`` (``r`` itself when ``rows`` is None), so any subset of rows
    can be regenerated alone -- e.g. by a worker that evaluates
    ``mean + sigma * eps[rows]`` -- and the result does not depend on the
    number of threads.  256-layer ziggurat (Marsaglia & Tsang 2000, exact
    by rejection) on the two 32-bit halves of each xoshiro256** word -- 23
    bits of abscissa per draw, the layout of NumPy's float32 normals; parallel
    over rows.

    Parameters
    ----------
    n_rows, n_cols : int
        Output shape.
    seed, generation : int
        Randomness key.
    stream : int, default STREAMS["es_noise"]
        Stream id (see :data:`STREAMS`).
    rows : array-like of int, shape (n_rows,), optional
        Global row ids of the rows to draw.
    out : float32 array of shape (n_rows, n_cols), optional
        C-contiguous output buffer.
    n_threads : int, optional
        OpenMP threads (``None``: all cores).

    Returns
    -------
    float32 array of shape (n_rows, n_cols)

    Examples
    --------
    >>> from pyneat_lite.operators import standard_normal
    >>> eps = standard_normal(4, 3, seed=0, generation=0)
    >>> part = standard_normal(2, 3, seed=0, generation=0, rows=[1, 3])
    >>> bool((part == eps[[1, 3]]).all())
    True
    """
    caller = "standard_normal"
    n_rows = check_int(n_rows, "n_rows", caller=caller, min_val=0)
    n_cols = check_int(n_cols, "n_cols", caller=caller, min_val=0)
    if out is None:
        out = np.empty((n_rows, n_cols), np.float32)
    else:
        check_out(out, (n_rows, n_cols), caller=caller)
    seeds = checked_row_seeds(n_rows, rows, seed, generation, stream, caller)
    if n_threads is not None:
        effective_n_threads(n_threads)  # validates
    if n_rows and n_cols:
        _k._standard_normal(out, seeds, kernel_threads(n_threads, n_rows * n_cols,
                                                       n_rows))
    return out


def uniform(
    n_rows: int,
    n_cols: int,
    *,
    seed: SeedLike,
    generation: int,
    stream: int = STREAMS["es_noise"],
    rows: Any = None,
    n_threads: int | None = None,
) -> Float64Array:
    """Uniform float64 draws in the open interval (0, 1), one stream per row.

    Same keying as :func:`standard_normal`; value ``((x >> 11) + 0.5) / 2**53``
    of each 64-bit word ``x``.

    Returns
    -------
    float64 array of shape (n_rows, n_cols)
    """
    caller = "uniform"
    n_rows = check_int(n_rows, "n_rows", caller=caller, min_val=0)
    n_cols = check_int(n_cols, "n_cols", caller=caller, min_val=0)
    out = np.empty((n_rows, n_cols), np.float64)
    seeds = checked_row_seeds(n_rows, rows, seed, generation, stream, caller)
    if n_threads is not None:
        effective_n_threads(n_threads)  # validates
    if n_rows and n_cols:
        _k._uniform(out, seeds, kernel_threads(n_threads, n_rows * n_cols, n_rows))
    return out
