"""ProcessPool: worker processes fed through shared memory.

Worker side first (module-level functions pickle by reference), then the
evaluator.  Every worker runs a watchdog thread that blocks on the read end
of a pipe whose only write end the parent holds: when the parent dies (even
by ``kill -9``) the pipe reaches end-of-file, the worker unlinks the shared
memory it knows and exits.  With the workers gone the forkserver and
multiprocessing's resource tracker exit too (they wait for their last
client), and the tracker unlinks any segment left.
"""

from __future__ import annotations

import contextlib
import copy
import multiprocessing as mp
import os
import pickle
import sys
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_EXCEPTION, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import shared_memory
from multiprocessing.connection import Connection
from typing import Any

import numpy as np

from .._validation import check_int, check_population
from ._common import (
    DEFAULT_TIMEOUT,
    _batched,
    _check_fn,
    _check_timeout,
    _chunk_size,
    _dumps,
    _Evaluator,
    _per_genome,
    _reraise_bad_return,
    _Span,
    _spans,
)
from ._seeds import ESSpec, as_spec

# --------------------------------------------------------------------------
# Worker side
# --------------------------------------------------------------------------
_WORKER: dict[str, Any] = {"segments": {}, "fn_key": None, "fn": None,
                           "names": set()}


def _watch_parent(alive: Connection) -> None:
    """Block until the parent's end of ``alive`` closes, then clean up and exit."""
    with contextlib.suppress(EOFError, OSError):
        alive.recv_bytes()
    # The parent closes its end only after this worker was shut down or
    # killed, so reaching here means the parent died: nobody else will unlink
    # the segments this worker saw.
    for name in list(_WORKER["names"]):
        _shm_unlink(name)
    os._exit(1)


def _shm_unlink(name: str) -> None:
    """Unlink a segment by name without opening it (no tracker round trip)."""
    try:
        import _posixshmem
    except ImportError:  # pragma: no cover - Windows: segments die with handles
        return
    from multiprocessing import resource_tracker

    try:
        _posixshmem.shm_unlink("/" + name)
    except OSError:
        return  # gone already (another worker, or the parent before it died)
    resource_tracker.unregister("/" + name, "shared_memory")


def _worker_init(alive: Connection) -> None:
    threading.Thread(target=_watch_parent, args=(alive,), daemon=True,
                     name="pyneat_lite-parent-watch").start()


def _attach(name: str) -> shared_memory.SharedMemory:
    seg = _WORKER["segments"].get(name)
    if seg is None:
        # The parent owns and unlinks every segment; forget older ones here.
        for old in _WORKER["segments"].values():
            old.close()
        _WORKER["segments"].clear()
        _WORKER["names"].add(name)
        seg = shared_memory.SharedMemory(name=name)
        _WORKER["segments"][name] = seg
    return seg


def _load_fn(fn_name: str, fn_len: int, fn_key: int) -> Any:
    if _WORKER["fn_key"] != fn_key:
        _WORKER["names"].add(fn_name)
        fseg = shared_memory.SharedMemory(name=fn_name)
        try:
            _WORKER["fn"] = pickle.loads(bytes(fseg.buf[:fn_len]))
        finally:
            fseg.close()
        _WORKER["fn_key"] = fn_key
    return copy.copy(_WORKER["fn"])  # stateful callables: same snapshot per chunk


def _pool_task(pop_name: str, shape: tuple[int, int], fn_name: str, fn_len: int,
               fn_key: int, span: _Span, batched: bool) -> np.ndarray:
    pop_seg = _attach(pop_name)
    # A writable view: read-only arrays would make Numba compile a second
    # specialization of every kernel; the parent never reads the segment back.
    pop = np.ndarray(shape, np.float32, buffer=pop_seg.buf)[span.lo:span.hi]
    fn = _load_fn(fn_name, fn_len, fn_key)
    caller = "ProcessPool.evaluate"
    if batched:
        return _batched(fn, pop, span.lo, caller)
    return _per_genome(fn, pop, span.lo, caller)


def _pool_es_task(spec_name: str, meta: tuple, fn_name: str, fn_len: int,
                  fn_key: int, span: _Span, batched: bool) -> np.ndarray:
    n, scale, seed, generation, pop_size, antithetic, stream = meta
    buf = _attach(spec_name).buf
    mean = np.ndarray((n,), np.float64, buffer=buf)
    if scale is None:  # a vector, after the mean in the segment
        scale = np.ndarray((n,), np.float64, buffer=buf, offset=8 * n)
    spec = ESSpec._trusted(mean, scale, seed, generation, pop_size, antithetic,
                           stream)
    fn = _load_fn(fn_name, fn_len, fn_key)
    return _spec_chunk(fn, spec, span, batched, "ProcessPool.evaluate_es")


def _spec_chunk(fn: Any, spec: ESSpec, span: _Span, batched: bool,
                caller: str) -> np.ndarray:
    """Rebuild the genomes of ``span`` from ``spec`` and evaluate them (worker
    side); antithetic pairs share one noise draw."""
    lo, hi, n = span.lo, span.hi, spec.n_params
    if span.mirror:
        if batched:
            rows = spec._paired_rows(lo, hi, np.empty((2 * (hi - lo), n), np.float32),
                                     n_threads=1)
            return _batched(fn, rows, lo, caller, label=str(span))
        # one pair at a time: a worker's memory stays O(n_params)
        pair = np.empty((2, n), np.float32)
        out = np.empty(2 * (hi - lo))
        for i in range(lo, hi):
            spec._paired_rows(i, i + 1, pair, n_threads=1)
            out[i - lo] = _per_genome(fn, pair[:1], i, caller)[0]
            out[hi - lo + i - lo] = _per_genome(fn, pair[1:], i + span.mirror,
                                                caller)[0]
        return out
    if batched:
        return _batched(fn, spec.rows(lo, hi, n_threads=1), lo, caller)
    row = np.empty((1, n), np.float32)
    out = np.empty(hi - lo)
    for i in range(lo, hi):
        spec.rows(i, i + 1, out=row, n_threads=1)
        out[i - lo] = _per_genome(fn, row, i, caller)[0]
    return out


# --------------------------------------------------------------------------
# Parent side
# --------------------------------------------------------------------------
def _unlink(segments: list[shared_memory.SharedMemory]) -> None:
    for seg in segments:
        try:
            seg.close()
            seg.unlink()
        except FileNotFoundError:
            pass
    segments.clear()


def _release(segments: list[shared_memory.SharedMemory],
             alive: list[Connection]) -> None:
    """Finalizer: unlink the segments, then let orphaned workers go."""
    _unlink(segments)
    for conn in alive:
        conn.close()
    alive.clear()


def _default_start_method() -> str:
    # libgomp (OpenMP, used by the Cython kernels) and Numba's thread pools are
    # not fork-safe: never plain fork.
    return "forkserver" if sys.platform.startswith("linux") else "spawn"


def _default_n_workers() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1  # pragma: no cover - macOS, Windows


class ProcessPool(_Evaluator):
    """Evaluate in worker processes; the population travels through shared memory.

    Each generation the population is copied once into a shared-memory
    segment (reused while it is large enough) and the workers read their
    chunk from it: no population is pickled.  ``fn`` is pickled once per
    generation into a second segment and unpickled by each worker only when
    it changed.

    Parameters
    ----------
    n_workers : int, optional
        Number of processes; default: the usable cores.
    batched : bool, default=False
        ``False``: ``fn(genome) -> float`` per genome.  ``True``:
        ``fn(chunk) -> (k,)`` on a ``(k, N)`` chunk.
    chunk_size : int, optional
        Genomes per task; default ``ceil(P / n_workers)`` when batched,
        ``ceil(P / (4 n_workers))`` otherwise (finer, to balance the load).
    start_method : {"forkserver", "spawn"}, optional
        Default ``"forkserver"`` on Linux, ``"spawn"`` elsewhere; ``"fork"``
        is refused (OpenMP and Numba threads are not fork-safe).
    timeout : float or None, default=600.0
        Seconds allowed per generation (:data:`DEFAULT_TIMEOUT`); beyond it
        the workers are killed, a ``TimeoutError`` is raised and the next
        call starts fresh workers.  ``None``: no limit.
    seeds_only : bool, default=False
        When ``run`` drives an evolution strategy, send only its centre, scale
        and seed (:meth:`evaluate_es`) and let each worker rebuild its rows,
        instead of copying the population into shared memory.  Other
        algorithms are evaluated as usual.

    Attributes
    ----------
    last_transfer_bytes : int
        Bytes written to shared memory by the last call (the population or
        the ES spec, plus ``fn`` when it changed).

    Notes
    -----
    A fitness that raises gives a ``RuntimeError`` in the parent naming the
    genomes and the original exception (chained); chunks not yet started are
    cancelled.  A worker that dies gives a ``RuntimeError`` too; the pool is
    rebuilt at the next call.  ``close()`` (or leaving the ``with`` block, or
    garbage collection) shuts the workers down and unlinks the shared-memory
    segments.  If the parent process dies (even by ``kill -9``) its workers
    notice within milliseconds, unlink the segments and exit, and the
    forkserver follows them; a worker busy in native code that holds the GIL
    exits when that call returns.  Functions must be picklable (module-level;
    lambdas work through cloudpickle when installed); under
    ``spawn``/``forkserver`` the main script needs an
    ``if __name__ == "__main__":`` guard.

    Examples
    --------
    >>> with pn.ProcessPool(2) as pool:                      # doctest: +SKIP
    ...     result = ga.run(sphere, generations=50, evaluator=pool)
    """

    def __init__(self, n_workers: int | None = None, *, batched: bool = False,
                 chunk_size: int | None = None, start_method: str | None = None,
                 timeout: float | None = DEFAULT_TIMEOUT,
                 seeds_only: bool = False) -> None:
        caller = "ProcessPool"
        if n_workers is None:
            n_workers = _default_n_workers()
        self.n_workers = check_int(n_workers, "n_workers", caller=caller, min_val=1)
        self.batched = bool(batched)
        self.chunk_size = None if chunk_size is None else check_int(
            chunk_size, "chunk_size", caller=caller, min_val=1)
        start_method = start_method or _default_start_method()
        if start_method not in ("forkserver", "spawn"):
            raise ValueError(
                "The 'start_method' parameter of ProcessPool must be 'forkserver' or "
                f"'spawn' (fork is unsafe with OpenMP and Numba threads). Got "
                f"{start_method!r} instead."
            )
        self.start_method = start_method
        self.timeout = _check_timeout(timeout, caller)
        self.seeds_only = bool(seeds_only)
        self.last_transfer_bytes = 0
        self._executor: ProcessPoolExecutor | None = None
        self._segments: list[shared_memory.SharedMemory] = []
        self._pop_seg: shared_memory.SharedMemory | None = None
        self._spec_seg: shared_memory.SharedMemory | None = None
        self._fn_seg: shared_memory.SharedMemory | None = None
        self._fn_bytes: bytes | None = None
        self._fn_key = 0
        self._alive: list[Connection] = []  # the parent's end of the watch pipe
        self._closed = False
        # Unlink the segments even if the user forgets close().
        self._finalizer = weakref.finalize(self, _release, self._segments,
                                           self._alive)

    # -- resources --------------------------------------------------------
    def _pool(self) -> ProcessPoolExecutor:
        if self._closed:
            raise RuntimeError("ProcessPool.evaluate called after close().")
        if self._executor is not None and getattr(self._executor, "_broken", False):
            self._kill()  # a worker died earlier: start afresh
        if self._executor is None:
            ctx = mp.get_context(self.start_method)
            watch_r, watch_w = ctx.Pipe(duplex=False)
            self._executor = ProcessPoolExecutor(
                self.n_workers, mp_context=ctx, initializer=_worker_init,
                initargs=(watch_r,))
            # Workers start lazily and each needs the read end, so the parent
            # keeps it too: end-of-file comes when every *write* end is closed.
            self._alive.extend((watch_w, watch_r))
            self._fn_key += 1  # fresh workers have no cached function
        return self._executor

    def _segment(self, attr: str, nbytes: int) -> shared_memory.SharedMemory:
        seg = getattr(self, attr)
        if seg is None or seg.size < nbytes:
            if seg is not None:
                self._segments.remove(seg)
                _unlink([seg])
            seg = shared_memory.SharedMemory(create=True, size=max(nbytes, 1))
            self._segments.append(seg)
            setattr(self, attr, seg)
        return seg

    def _close_watch(self) -> None:
        for conn in self._alive:
            conn.close()
        self._alive.clear()

    def _kill(self) -> None:
        ex, self._executor = self._executor, None
        if ex is None:
            return
        # ProcessPoolExecutor cannot cancel running tasks: terminate them,
        # and kill those that survive SIGTERM.
        procs = list(getattr(ex, "_processes", {}).values())
        for p in procs:
            if p.is_alive():
                p.terminate()
        deadline = time.monotonic() + 2.0
        for p in procs:
            p.join(max(0.0, deadline - time.monotonic()))
            if p.is_alive():
                p.kill()
                p.join()
        ex.shutdown(wait=True, cancel_futures=True)
        # only now, with the old workers gone (they would unlink the segments
        # that the next workers reuse)
        self._close_watch()

    def close(self) -> None:
        """Shut the workers down and unlink the shared memory (idempotent)."""
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
        self._close_watch()
        _unlink(self._segments)
        self._pop_seg = self._spec_seg = self._fn_seg = None
        self._closed = True

    # -- evaluation -------------------------------------------------------
    def _write_fn(self, payload: bytes) -> int:
        if payload == self._fn_bytes:
            return 0
        fseg = self._segment("_fn_seg", len(payload))
        fseg.buf[: len(payload)] = payload
        self._fn_bytes = payload
        self._fn_key += 1
        return len(payload)

    def evaluate(self, fn: Callable[[np.ndarray], Any], population: Any) -> np.ndarray:
        """Fitness of ``population`` computed by the worker processes."""
        caller = "ProcessPool.evaluate"
        _check_fn(fn, caller)
        pop = check_population(population, caller=caller, finite=False)
        payload = _dumps(fn, caller)
        executor = self._pool()
        t0 = time.monotonic()
        pseg = self._segment("_pop_seg", pop.nbytes)
        np.ndarray(pop.shape, np.float32, buffer=pseg.buf)[...] = pop
        sent = pop.nbytes + self._write_fn(payload)
        fn_info = (self._fn_seg.name, len(payload), self._fn_key)

        def submit(span: _Span) -> Future:
            return executor.submit(_pool_task, pseg.name, pop.shape, *fn_info,
                                   span, self.batched)

        out = self._run(submit, pop.shape[0], 0, caller, t0)
        self.last_transfer_bytes = sent
        if hasattr(fn, "advance"):
            fn.advance()
        return out

    def evaluate_es(self, fn: Callable[[np.ndarray], Any],
                    spec: ESSpec | Mapping[str, Any]) -> np.ndarray:
        """Fitness of the ES population ``spec``, rebuilt by the workers.

        Only ``spec.mean`` (and ``spec.scale`` when it is a vector) is written
        to shared memory; each worker regenerates its rows from the seed
        (:meth:`ESSpec.rows`), bit-identical to the strategy's ``ask()``.
        With ``batched=False`` a worker holds one genome at a time.

        Parameters
        ----------
        fn : callable
            As in :meth:`evaluate`.
        spec : ESSpec or mapping
            The population's centre, scale and noise key (a mapping is passed
            to ``ESSpec(**spec)``).

        Returns
        -------
        float64 array of shape (spec.pop_size,)
        """
        caller = "ProcessPool.evaluate_es"
        _check_fn(fn, caller)
        spec = as_spec(spec, caller)
        payload = _dumps(fn, caller)
        executor = self._pool()
        t0 = time.monotonic()
        n = spec.n_params
        vector = np.ndim(spec.scale) == 1
        sseg = self._segment("_spec_seg", spec.nbytes)
        np.ndarray((n,), np.float64, buffer=sseg.buf)[...] = spec.mean
        if vector:
            np.ndarray((n,), np.float64, buffer=sseg.buf, offset=8 * n)[...] = (
                spec.scale)
        sent = spec.nbytes + self._write_fn(payload)
        meta = (n, None if vector else spec.scale, spec.seed, spec.generation,
                spec.pop_size, spec.antithetic, spec.stream)
        fn_info = (self._fn_seg.name, len(payload), self._fn_key)

        def submit(span: _Span) -> Future:
            return executor.submit(_pool_es_task, sseg.name, meta, *fn_info,
                                   span, self.batched)

        mirror = spec.pop_size // 2 if spec.antithetic else 0
        out = self._run(submit, spec.pop_size, mirror, caller, t0)
        self.last_transfer_bytes = sent
        if hasattr(fn, "advance"):
            fn.advance()
        return out

    def _died(self, caller: str, span: _Span, exc: BaseException) -> None:
        self._kill()
        raise RuntimeError(
            f"{caller}: a worker process died abruptly (crash, os._exit or out of "
            f"memory) while evaluating genomes {span}; the pool will be "
            "restarted at the next call."
        ) from exc

    def _run(self, submit: Callable[[_Span], Future], n: int, mirror: int,
             caller: str, t0: float) -> np.ndarray:
        """Submit the chunks, gather them in order; timeouts and failures."""
        size = _chunk_size(n, self.chunk_size, self.n_workers, self.batched)
        futures: dict[Future, _Span] = {}
        for span in _spans(n, size, mirror):
            try:
                futures[submit(span)] = span
            except BrokenProcessPool as exc:
                # a worker died while chunks were still being submitted
                self._died(caller, span, exc)

        def remaining() -> float | None:
            if self.timeout is None:
                return None
            return max(0.0, self.timeout - (time.monotonic() - t0))

        done, pending = wait(futures, timeout=remaining(),
                             return_when=FIRST_EXCEPTION)
        failed = any(f.exception() is not None for f in done)
        if failed and pending:
            # Cancel the chunks not started yet; let the running ones end so
            # that the workers stay usable.
            for f in pending:
                f.cancel()
            done, pending = wait(futures, timeout=remaining())
        if pending:
            self._kill()
            if not failed:
                raise TimeoutError(
                    f"{caller}: {len(pending)} of {len(futures)} chunks were still "
                    f"running after timeout={self.timeout} s; the workers were "
                    "killed and the next call starts fresh ones (raise timeout, "
                    "or pass timeout=None, for longer generations)."
                )
        errors = [(span, f.exception()) for f, span in futures.items()
                  if f in done and not f.cancelled() and f.exception() is not None]
        if errors:
            broken = [e for e in errors if isinstance(e[1], BrokenProcessPool)]
            span, exc = min(broken or errors, key=lambda e: e[0].lo)
            if isinstance(exc, BrokenProcessPool):
                self._died(caller, span, exc)
            _reraise_bad_return(exc, exc)
            raise RuntimeError(
                f"{caller}: the fitness function raised {type(exc).__name__}: {exc} "
                f"(while evaluating genomes {span} in a worker process)."
            ) from exc
        out = np.empty(n)
        for fut, span in futures.items():
            out[span.index()] = fut.result()
        return out

    def __repr__(self) -> str:
        return (f"ProcessPool(n_workers={self.n_workers}, batched={self.batched}, "
                f"start_method={self.start_method!r}, timeout={self.timeout}, "
                f"seeds_only={self.seeds_only})")
