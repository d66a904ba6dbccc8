"""Evaluators: how a population's fitness is computed, from one process to a cluster.

Every evaluator implements one method, ``evaluate(fn, population) -> fitness``
(float64, shape ``(P,)``), plus ``close()`` and the context-manager protocol;
the algorithms' ``run(..., evaluator=...)`` calls it once per generation.

============  ===============================================================
evaluator     ``fn`` receives
============  ===============================================================
Vectorized    the whole population ``(P, N)`` (the default; one call)
Serial        one genome ``(N,)`` at a time, returns a number
ProcessPool   one genome, or a chunk ``(k, N)`` with ``batched=True``, in
              worker processes; the population travels in shared memory
Ray           the same, in Ray tasks; the population is ``ray.put`` once
============  ===============================================================

Stateful fitness objects (``tasks.Classification`` with ``batch_size``,
``envs.Rollout``, ``gym.Evaluate``) draw new minibatches or start states on
each call.  A distributed evaluator pickles ``fn`` once per generation; every
chunk is evaluated by a shallow copy of that snapshot, so all chunks of one
generation see the same minibatch, and then the evaluator calls
``fn.advance()`` in the parent (when ``fn`` has it) so that the next
generation moves on, exactly as the in-process call would.

Genomes handed to ``fn`` by ProcessPool are views of the shared segment and
by Ray private copies of the chunk; a fitness that writes into them changes
nothing in the parent's population.
"""

from __future__ import annotations

import copy
import math
import multiprocessing as mp
import numbers
import os
import pickle
import sys
import weakref
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import shared_memory
from typing import Any

import numpy as np

from ._validation import check_fitness, check_int, check_population, check_scalar

__all__ = ["Vectorized", "Serial", "ProcessPool", "Ray"]


class _BadReturnTypeError(TypeError):
    """A fitness function returned a non-number (re-raised as TypeError)."""


class _BadReturnValueError(ValueError):
    """A batched fitness returned the wrong shape (re-raised as ValueError)."""


def _as_number(value: Any, index: int, caller: str) -> float:
    """A per-genome fitness value as float, or a TypeError naming the genome."""
    if isinstance(value, np.ndarray) and value.size == 1 and value.dtype.kind in "biuf":
        return float(value.reshape(()))
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.number)):
        raise _BadReturnTypeError(
            f"The fitness function of {caller} must return a real number per genome. "
            f"Got {value!r} ({type(value).__name__}) for genome {index} instead."
        )
    return float(value)


def _per_genome(fn: Callable[[np.ndarray], Any], pop: np.ndarray, lo: int,
                caller: str) -> np.ndarray:
    out = np.empty(pop.shape[0])
    for i in range(pop.shape[0]):
        out[i] = _as_number(fn(pop[i]), lo + i, caller)
    return out


def _batched(fn: Callable[[np.ndarray], Any], pop: np.ndarray, lo: int,
             caller: str) -> np.ndarray:
    value = fn(pop)
    name = f"return value of fn for genomes {lo}..{lo + len(pop) - 1}"
    try:
        return check_fitness(value, pop.shape[0], name=name, caller=caller)
    except TypeError as exc:
        raise _BadReturnTypeError(str(exc)) from None
    except ValueError as exc:
        raise _BadReturnValueError(str(exc)) from None


def _reraise_bad_return(exc: BaseException, chained: BaseException) -> None:
    if isinstance(exc, _BadReturnTypeError):
        raise TypeError(str(exc)) from chained
    if isinstance(exc, _BadReturnValueError):
        raise ValueError(str(exc)) from chained


class _Evaluator:
    """Context-manager plumbing shared by the evaluators."""

    def evaluate(self, fn: Callable[[np.ndarray], Any], population: Any) -> np.ndarray:
        raise NotImplementedError  # pragma: no cover - abstract

    def __call__(self, fn: Callable[[np.ndarray], Any], population: Any) -> np.ndarray:
        return self.evaluate(fn, population)

    def close(self) -> None:
        """Release the evaluator's resources (idempotent)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Vectorized(_Evaluator):
    """In-process evaluation: ``fn(population) -> (P,)`` in one call (the default).

    Examples
    --------
    >>> ev = pn.Vectorized()
    >>> ev.evaluate(lambda pop: -(pop ** 2).sum(axis=1), np.ones((3, 2), np.float32))
    array([-2., -2., -2.])
    """

    def evaluate(self, fn: Callable[[np.ndarray], Any], population: Any) -> np.ndarray:
        """Fitness of ``population`` as float64 ``(P,)``."""
        pop = check_population(population, caller="Vectorized.evaluate", finite=False)
        return check_fitness(fn(pop), pop.shape[0], name="return value of fn",
                             caller="Vectorized.evaluate")

    def __repr__(self) -> str:
        return "Vectorized()"


class Serial(_Evaluator):
    """In-process evaluation of a per-genome function ``f(genome) -> float``.

    Examples
    --------
    >>> pn.Serial().evaluate(lambda g: float(g.sum()), np.ones((2, 3), np.float32))
    array([3., 3.])
    """

    def evaluate(self, fn: Callable[[np.ndarray], Any], population: Any) -> np.ndarray:
        """Fitness of ``population``, calling ``fn`` once per row."""
        pop = check_population(population, caller="Serial.evaluate", finite=False)
        return _per_genome(fn, pop, 0, "Serial.evaluate")

    def __repr__(self) -> str:
        return "Serial()"


def _dumps(fn: Any, caller: str) -> bytes:
    try:
        return pickle.dumps(fn, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as exc:
        try:
            import cloudpickle  # lambdas and local functions
        except ImportError:  # pragma: no cover - cloudpickle comes with ray
            cloudpickle = None
        if cloudpickle is not None:
            try:
                return cloudpickle.dumps(fn, protocol=pickle.HIGHEST_PROTOCOL)
            except Exception:
                pass
        raise TypeError(
            f"The fitness function of {caller} must be picklable to reach the worker "
            f"processes (a module-level function or object). Got {fn!r}: {exc}"
        ) from exc


def _chunks(n: int, chunk_size: int) -> list[tuple[int, int]]:
    return [(lo, min(n, lo + chunk_size)) for lo in range(0, n, chunk_size)]


# --------------------------------------------------------------------------
# Worker side of ProcessPool (module level so that it pickles by reference).
# --------------------------------------------------------------------------
_WORKER: dict[str, Any] = {"segments": {}, "fn_key": None, "fn": None}


def _attach(name: str) -> shared_memory.SharedMemory:
    seg = _WORKER["segments"].get(name)
    if seg is None:
        # The parent owns and unlinks every segment; forget older ones here.
        for old in _WORKER["segments"].values():
            old.close()
        _WORKER["segments"].clear()
        seg = shared_memory.SharedMemory(name=name)
        _WORKER["segments"][name] = seg
    return seg


def _pool_task(pop_name: str, shape: tuple[int, int], fn_name: str, fn_len: int,
               fn_key: int, lo: int, hi: int, batched: bool) -> np.ndarray:
    pop_seg = _attach(pop_name)
    # A writable view: read-only arrays would make Numba compile a second
    # specialization of every kernel; the parent never reads the segment back.
    pop = np.ndarray(shape, np.float32, buffer=pop_seg.buf)[lo:hi]
    if _WORKER["fn_key"] != fn_key:
        fseg = shared_memory.SharedMemory(name=fn_name)
        try:
            _WORKER["fn"] = pickle.loads(bytes(fseg.buf[:fn_len]))
        finally:
            fseg.close()
        _WORKER["fn_key"] = fn_key
    fn = copy.copy(_WORKER["fn"])  # stateful callables: same snapshot per chunk
    caller = "ProcessPool.evaluate"
    if batched:
        return _batched(fn, pop, lo, caller)
    return _per_genome(fn, pop, lo, caller)


def _unlink(segments: list[shared_memory.SharedMemory]) -> None:
    for seg in segments:
        try:
            seg.close()
            seg.unlink()
        except FileNotFoundError:
            pass
    segments.clear()


def _default_start_method() -> str:
    # libgomp (OpenMP, used by the Cython kernels) and Numba's thread pools are
    # not fork-safe: never plain fork.
    return "forkserver" if sys.platform.startswith("linux") else "spawn"


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
    timeout : float, optional
        Seconds allowed per generation; beyond it the workers are killed and a
        ``TimeoutError`` is raised.  Default: no limit.

    Notes
    -----
    A fitness that raises gives a ``RuntimeError`` in the parent naming the
    genomes and the original exception (chained).  A worker that dies gives a
    ``RuntimeError`` too; the pool is rebuilt at the next call.  ``close()``
    (or leaving the ``with`` block, or garbage collection) shuts the workers
    down and unlinks the shared-memory segments.  Functions must be picklable
    (module-level; lambdas work through cloudpickle when installed); under
    ``spawn``/``forkserver`` the main script needs an
    ``if __name__ == "__main__":`` guard.

    Examples
    --------
    >>> with pn.ProcessPool(2) as pool:                      # doctest: +SKIP
    ...     result = ga.run(sphere, generations=50, evaluator=pool)
    """

    def __init__(self, n_workers: int | None = None, *, batched: bool = False,
                 chunk_size: int | None = None, start_method: str | None = None,
                 timeout: float | None = None) -> None:
        caller = "ProcessPool"
        if n_workers is None:
            n_workers = len(os.sched_getaffinity(0)) if hasattr(
                os, "sched_getaffinity") else (os.cpu_count() or 1)
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
        self.timeout = None if timeout is None else check_scalar(
            timeout, "timeout", caller=caller, min_val=0.0, include_min=False)
        self._executor: ProcessPoolExecutor | None = None
        self._segments: list[shared_memory.SharedMemory] = []  # [pop, fn]
        self._pop_seg: shared_memory.SharedMemory | None = None
        self._fn_seg: shared_memory.SharedMemory | None = None
        self._fn_bytes: bytes | None = None
        self._fn_key = 0
        self._closed = False
        # Unlink the segments even if the user forgets close().
        self._finalizer = weakref.finalize(self, _unlink, self._segments)

    # -- resources --------------------------------------------------------
    def _pool(self) -> ProcessPoolExecutor:
        if self._closed:
            raise RuntimeError("ProcessPool.evaluate called after close().")
        if self._executor is not None and getattr(self._executor, "_broken", False):
            self._kill()  # a worker died earlier: start afresh
        if self._executor is None:
            ctx = mp.get_context(self.start_method)
            self._executor = ProcessPoolExecutor(self.n_workers, mp_context=ctx)
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

    def _kill(self) -> None:
        ex, self._executor = self._executor, None
        if ex is None:
            return
        # ProcessPoolExecutor cannot cancel running tasks: terminate them.
        procs = list(getattr(ex, "_processes", {}).values())
        for p in procs:
            if p.is_alive():
                p.terminate()
        ex.shutdown(wait=True, cancel_futures=True)

    def close(self) -> None:
        """Shut the workers down and unlink the shared memory (idempotent)."""
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
        _unlink(self._segments)
        self._pop_seg = self._fn_seg = None
        self._closed = True

    # -- evaluation -------------------------------------------------------
    def evaluate(self, fn: Callable[[np.ndarray], Any], population: Any) -> np.ndarray:
        """Fitness of ``population`` computed by the worker processes."""
        caller = "ProcessPool.evaluate"
        pop = check_population(population, caller=caller, finite=False)
        n = pop.shape[0]
        payload = _dumps(fn, caller)
        executor = self._pool()
        pseg = self._segment("_pop_seg", pop.nbytes)
        np.ndarray(pop.shape, np.float32, buffer=pseg.buf)[...] = pop
        if payload != self._fn_bytes:
            fseg = self._segment("_fn_seg", len(payload))
            fseg.buf[: len(payload)] = payload
            self._fn_bytes = payload
            self._fn_key += 1
        size = self.chunk_size or math.ceil(
            n / (self.n_workers if self.batched else 4 * self.n_workers))
        spans = _chunks(n, size)
        futures = {}
        try:
            for lo, hi in spans:
                fut = executor.submit(
                    _pool_task, pseg.name, pop.shape, self._fn_seg.name,
                    len(payload), self._fn_key, lo, hi, self.batched)
                futures[fut] = (lo, hi)
        except BrokenProcessPool as exc:
            # A worker died while chunks were still being submitted.
            self._kill()
            raise RuntimeError(
                f"{caller}: a worker process died abruptly (crash, os._exit or "
                "out of memory) while evaluating the population; the pool will be "
                "restarted at the next call."
            ) from exc
        done, pending = wait(futures, timeout=self.timeout, return_when=FIRST_EXCEPTION)
        failed = any(f.exception() is not None for f in done)
        if failed and pending:
            # Let the other chunks finish (or fail) so that the pool stays
            # usable and the error reported is the first chunk's, whatever
            # the scheduling.
            done, pending = wait(futures, timeout=self.timeout)
        if pending and not failed:
            self._kill()
            raise TimeoutError(
                f"ProcessPool.evaluate: {len(pending)} of {len(futures)} chunks were "
                f"still running after timeout={self.timeout} s; the workers were "
                "killed."
            )
        if pending:
            self._kill()
        errors = [(lo, hi, f.exception()) for f, (lo, hi) in futures.items()
                  if f in done and f.exception() is not None]
        if errors:
            broken = [e for e in errors if isinstance(e[2], BrokenProcessPool)]
            lo, hi, exc = min(broken or errors, key=lambda e: e[0])
            if isinstance(exc, BrokenProcessPool):
                self._kill()
                raise RuntimeError(
                    f"{caller}: a worker process died abruptly (crash, os._exit or "
                    f"out of memory) while evaluating genomes {lo}..{hi - 1}; the "
                    "pool will be restarted at the next call."
                ) from exc
            _reraise_bad_return(exc, exc)
            raise RuntimeError(
                f"{caller}: the fitness function raised {type(exc).__name__}: {exc} "
                f"(while evaluating genomes {lo}..{hi - 1} in a worker process)."
            ) from exc
        out = np.empty(n)
        for fut, (lo, hi) in futures.items():
            out[lo:hi] = fut.result()
        if hasattr(fn, "advance"):
            fn.advance()
        return out

    def __repr__(self) -> str:
        return (f"ProcessPool(n_workers={self.n_workers}, batched={self.batched}, "
                f"start_method={self.start_method!r})")


# --------------------------------------------------------------------------
# Ray
# --------------------------------------------------------------------------
_RAY_TASK: Any = None


def _ray_chunk(fn: Any, population: np.ndarray, lo: int, hi: int,
               batched: bool) -> np.ndarray:
    # The object store hands out read-only arrays; a private writable copy of
    # the chunk keeps Numba kernels on their usual (writable) specialization.
    chunk = np.array(population[lo:hi], dtype=np.float32, order="C")
    fn = copy.copy(fn)
    caller = "Ray.evaluate"
    return _batched(fn, chunk, lo, caller) if batched else _per_genome(
        fn, chunk, lo, caller)


def _ray_task() -> Any:
    global _RAY_TASK
    if _RAY_TASK is None:
        import ray

        _RAY_TASK = ray.remote(max_retries=0)(_ray_chunk)
    return _RAY_TASK


class Ray(_Evaluator):
    """Evaluate with Ray tasks, on a laptop or a cluster.

    Each generation the population is stored once in Ray's object store
    (``ray.put``), as is ``fn``; each task copies its chunk out of the store
    and returns its fitness; the chunks are gathered in order.

    Parameters
    ----------
    address : str, optional
        ``None`` starts (or reuses) a local Ray; an address such as
        ``"auto"`` or ``"ray://head:10001"`` joins a cluster.
    num_cpus : int, optional
        CPUs of a local Ray started here (ignored when joining a cluster).
    batched : bool, default=False
        As in :class:`ProcessPool`.
    chunk_size : int, optional
        Genomes per task; default ``ceil(P / n_cpus)`` when batched,
        ``ceil(P / (4 n_cpus))`` otherwise, with ``n_cpus`` the cluster's CPUs.

    Notes
    -----
    If Ray was already initialized, that session is used and ``close()``
    leaves it running; a session started here is shut down by ``close()``.
    A fitness that raises, or a worker that dies, gives a ``RuntimeError``
    naming the genomes (tasks are not retried).
    """

    def __init__(self, address: str | None = None, num_cpus: int | None = None, *,
                 batched: bool = False, chunk_size: int | None = None) -> None:
        try:
            import ray
        except ImportError as exc:  # pragma: no cover - ray is a test dependency
            raise ImportError(
                "The Ray evaluator requires ray: pip install ray"
            ) from exc
        caller = "Ray"
        if num_cpus is not None:
            num_cpus = check_int(num_cpus, "num_cpus", caller=caller, min_val=1)
        self.batched = bool(batched)
        self.chunk_size = None if chunk_size is None else check_int(
            chunk_size, "chunk_size", caller=caller, min_val=1)
        self._owns = not ray.is_initialized()
        if self._owns:
            ray.init(address=address, num_cpus=num_cpus, include_dashboard=False,
                     log_to_driver=False, configure_logging=False)
        self.address = address
        self._closed = False

    def _n_cpus(self) -> int:
        import ray

        return max(1, int(ray.cluster_resources().get("CPU", 1)))

    def evaluate(self, fn: Callable[[np.ndarray], Any], population: Any) -> np.ndarray:
        """Fitness of ``population`` computed by Ray tasks."""
        import ray

        caller = "Ray.evaluate"
        if self._closed:
            raise RuntimeError("Ray.evaluate called after close().")
        pop = check_population(population, caller=caller, finite=False)
        n = pop.shape[0]
        n_cpus = self._n_cpus()
        per = n_cpus if self.batched else 4 * n_cpus
        size = self.chunk_size or math.ceil(n / per)
        spans = _chunks(n, size)
        pop_ref = ray.put(pop)
        fn_ref = ray.put(fn)
        task = _ray_task()
        refs = [task.remote(fn_ref, pop_ref, lo, hi, self.batched) for lo, hi in spans]
        out = np.empty(n)
        for ref, (lo, hi) in zip(refs, spans, strict=True):
            try:
                out[lo:hi] = ray.get(ref)
            except ray.exceptions.RayTaskError as exc:
                cause = exc.cause if getattr(exc, "cause", None) is not None else exc
                ray.wait(refs, num_returns=len(refs))
                _reraise_bad_return(cause, exc)
                raise RuntimeError(
                    f"{caller}: the fitness function raised {type(cause).__name__}: "
                    f"{cause} (while evaluating genomes {lo}..{hi - 1} in a Ray task)."
                ) from exc
            except ray.exceptions.RayError as exc:
                raise RuntimeError(
                    f"{caller}: the Ray task evaluating genomes {lo}..{hi - 1} failed "
                    f"({type(exc).__name__}: {exc})."
                ) from exc
        if hasattr(fn, "advance"):
            fn.advance()
        return out

    def close(self) -> None:
        """Shut down the Ray session if this evaluator started it (idempotent)."""
        if self._closed:
            return
        self._closed = True
        if self._owns:
            import ray

            ray.shutdown()

    def __repr__(self) -> str:
        return f"Ray(address={self.address!r}, batched={self.batched})"
