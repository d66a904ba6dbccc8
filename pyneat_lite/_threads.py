"""How many threads a kernel uses: decided here, and only here.

Results never depend on the number of threads (every kernel is parallel over
rows whose arithmetic does not depend on the thread that runs them, and
every random draw is keyed by row); this module only decides speed.

- :func:`effective_n_threads` resolves a user's ``n_threads`` (scikit-learn's
  convention: None = all usable cores, honouring ``OMP_NUM_THREADS``;
  negative counts back; 0 is an error).
- :func:`kernel_threads` is what a kernel call gets: one thread below
  :data:`PARALLEL_MIN_WORK` values of work (waking a pool costs more than
  such a kernel, much more when other processes share the cores), else the
  user's count, capped by the number of parallel rows.
- :func:`numba_threads` applies a user's count to Numba kernels that take
  no thread count (the library's own kernels take the number of parallel
  chunks, which bounds their threads, and OpenMP kernels a thread count).
- :func:`numba_thread_count` is :func:`kernel_threads` for a Numba kernel,
  also capped by what Numba can run; :func:`single_threaded_blas` holds the
  BLAS libraries of the process at one thread (threadpoolctl) for the
  duration of a call.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator

from ._validation import check_int

__all__ = [
    "PARALLEL_MIN_WORK",
    "effective_n_threads",
    "kernel_threads",
    "numba_thread_count",
    "numba_threads",
    "single_threaded_blas",
]

#: Below this many values of work (genes touched, multiply-adds) a kernel runs
#: on one thread.
PARALLEL_MIN_WORK = 1 << 16


def _usable_cpus() -> int:
    try:
        n_cpu = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        n_cpu = os.cpu_count() or 1
    env = os.environ.get("OMP_NUM_THREADS")
    if env:
        with contextlib.suppress(ValueError):
            n_cpu = max(1, min(n_cpu, int(env.split(",")[0])))
    return n_cpu


_N_CPU = _usable_cpus()


def effective_n_threads(n_threads: int | None = None) -> int:
    """Number of threads for a parallel kernel (scikit-learn's convention).

    ``None`` means all usable cores (the CPU affinity of the process, capped
    by ``OMP_NUM_THREADS``, read once at import); a negative value counts back
    from that (``-1`` = all, ``-2`` = all but one); ``0`` is an error.
    """
    if n_threads is None:
        return _N_CPU
    n_threads = check_int(n_threads, "n_threads")
    if n_threads == 0:
        raise ValueError(
            "The 'n_threads' parameter must be a nonzero integer. Got 0 instead."
        )
    if n_threads < 0:
        return max(1, _N_CPU + 1 + n_threads)
    return n_threads


def kernel_threads(n_threads: int | None, work: int, n_rows: int | None = None,
                   min_work: int = PARALLEL_MIN_WORK) -> int:
    """Threads for one kernel call of ``work`` values over ``n_rows`` rows.

    One thread below ``min_work`` (a kernel whose unit of work is cheap, or
    whose parallel region costs more, passes its own threshold).
    ``n_threads`` must already be valid (None or a nonzero int): this runs
    on every kernel call and does not validate.
    """
    if work < min_work:
        return 1
    if n_threads is None:
        nt = _N_CPU
    elif n_threads < 0:
        nt = max(1, _N_CPU + 1 + n_threads)
    else:
        nt = n_threads
    if n_rows is not None:
        nt = min(nt, n_rows)
    return max(1, nt)


@contextlib.contextmanager
def numba_threads(n_threads: int | None) -> Iterator[int | None]:
    """Run the Numba parallel kernels called inside on at most ``n_threads``
    threads (for kernels that take no thread count themselves).

    ``None`` changes nothing (and costs nothing).  Otherwise the count is
    resolved as :func:`effective_n_threads` does (``n_threads`` must already
    be valid), capped by Numba's pool (``NUMBA_NUM_THREADS``), set with
    ``numba.set_num_threads`` (thread-local) and the previous count restored
    on exit.  Yields the count in effect (None when unchanged).
    """
    if n_threads is None:
        yield None
        return
    import numba

    n = min(effective_n_threads(n_threads), numba.config.NUMBA_NUM_THREADS)
    prev = numba.get_num_threads()
    if n == prev:
        yield n
        return
    numba.set_num_threads(n)
    try:
        yield n
    finally:
        numba.set_num_threads(prev)


def numba_thread_count(
    n_threads: int | None, work: int, n_rows: int | None = None,
    min_work: int = PARALLEL_MIN_WORK,
) -> int:
    """:func:`kernel_threads` for a Numba kernel, capped by what Numba runs.

    With ``n_threads=None`` the cap is Numba's current setting for the calling
    thread (``numba.get_num_threads()``: ``numba.set_num_threads`` and
    ``NUMBA_NUM_THREADS`` are honoured); an explicit count is capped by the
    size of Numba's pool (``NUMBA_NUM_THREADS``).  Does not validate.
    """
    nt = kernel_threads(n_threads, work, n_rows, min_work)
    if nt > 1:
        import numba

        cap = (numba.get_num_threads() if n_threads is None
               else numba.config.NUMBA_NUM_THREADS)
        nt = max(1, min(nt, cap))
    return nt


_BLAS_LIBS: list | None = None


def _blas_libs() -> list:
    """threadpoolctl's controllers of the BLAS libraries of the process,
    found once.  SciPy's BLAS (the one ``np.dot`` calls inside Numba code) is
    loaded first, so that it is among them."""
    global _BLAS_LIBS
    if _BLAS_LIBS is None:
        import scipy.linalg.cython_blas  # noqa: F401
        from threadpoolctl import ThreadpoolController

        blas = ThreadpoolController().select(user_api="blas")
        _BLAS_LIBS = list(blas.lib_controllers)
    return _BLAS_LIBS


class single_threaded_blas:  # noqa: N801 - used like a function
    """Context manager: every BLAS library of the process runs one thread,
    then gets its previous count back.

    Process-wide (BLAS has no per-thread setting), so other Python threads
    that call BLAS meanwhile run single-threaded too.  Reference-counted:
    with concurrent users the counts come back when the last one leaves, so
    no user ever sees a multi-threaded BLAS inside its block.
    """

    _lock = threading.Lock()
    _depth = 0
    _saved: list = []

    def __enter__(self) -> None:
        cls = type(self)
        with cls._lock:
            if cls._depth == 0:
                for lib in _blas_libs():
                    before = lib.num_threads
                    if before > 1:
                        lib.set_num_threads(1)
                        cls._saved.append((lib, before))
            cls._depth += 1

    def __exit__(self, *exc: object) -> None:
        cls = type(self)
        with cls._lock:
            cls._depth -= 1
            if cls._depth == 0:
                for lib, before in cls._saved:
                    lib.set_num_threads(before)
                cls._saved.clear()
