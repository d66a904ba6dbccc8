"""Ray: tasks on a laptop or a cluster, one object-store entry per generation."""

from __future__ import annotations

import contextlib
import copy
import pickle
import time
import uuid
from collections.abc import Callable, Mapping
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
# Worker side.  A Ray worker process runs many tasks: the unpickled fitness is
# cached per (evaluator, version) as in the process pool.
# --------------------------------------------------------------------------
_FN_CACHE: dict[str, Any] = {"key": None, "fn": None}


def _ray_fn(payload: bytes, key: str) -> Any:
    if _FN_CACHE["key"] != key:
        _FN_CACHE["fn"] = pickle.loads(payload)
        _FN_CACHE["key"] = key
    return copy.copy(_FN_CACHE["fn"])  # stateful callables: same snapshot per chunk


def _ray_chunk(payload: bytes, key: str, population: np.ndarray, span: _Span,
               batched: bool) -> np.ndarray:
    # The object store hands out read-only arrays; a private writable copy of
    # the chunk keeps Numba kernels on their usual (writable) specialization.
    chunk = np.array(population[span.lo:span.hi], dtype=np.float32, order="C")
    fn = _ray_fn(payload, key)
    caller = "Ray.evaluate"
    return _batched(fn, chunk, span.lo, caller) if batched else _per_genome(
        fn, chunk, span.lo, caller)


def _ray_es_chunk(payload: bytes, key: str, spec: ESSpec, span: _Span,
                  batched: bool) -> np.ndarray:
    from ._pool import _spec_chunk

    return _spec_chunk(_ray_fn(payload, key), spec, span, batched,
                       "Ray.evaluate_es")


def _ray_dumps(fn: Any, caller: str) -> bytes:
    # cloudpickle, as Ray itself: a function of the driver's __main__ travels
    # by value (Ray workers never import the driver's script)
    from ray import cloudpickle

    try:
        return cloudpickle.dumps(fn, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:
        return _dumps(fn, caller)  # raises the library's clear TypeError


_TASKS: dict[str, Any] = {}


def _remote(name: str) -> Any:
    task = _TASKS.get(name)
    if task is None:
        import ray

        fn = {"chunk": _ray_chunk, "es": _ray_es_chunk}[name]
        task = _TASKS[name] = ray.remote(max_retries=0)(fn)
    return task


class Ray(_Evaluator):
    """Evaluate with Ray tasks, on a laptop or a cluster.

    Each generation the population is stored once in Ray's object store
    (``ray.put``), as is ``fn`` (pickled, and put again only when its bytes
    change); each task copies its chunk out of the store and returns its
    fitness; the chunks are gathered in order.  With ``seeds_only`` (or a
    direct call of :meth:`evaluate_es`) an evolution strategy's population
    does not travel at all: only its centre, scale and seed do, and each task
    rebuilds its rows (Salimans et al. 2017).

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
    timeout : float or None, default=600.0
        Seconds allowed per generation (:data:`DEFAULT_TIMEOUT`); beyond it
        the outstanding tasks are cancelled (the workers running them are
        killed) and a ``TimeoutError`` is raised.  ``None``: no limit.
    seeds_only : bool, default=False
        When ``run`` drives an evolution strategy, evaluate through
        :meth:`evaluate_es`; other algorithms' populations travel as usual.

    Attributes
    ----------
    last_transfer_bytes : int
        Bytes the last call put into the object store (the population or the
        ES spec, plus the pickled ``fn`` when it changed).

    Notes
    -----
    If Ray was already initialized, that session is used and ``close()``
    leaves it running; a session started here is shut down by ``close()``.
    A fitness that raises, or a worker that dies, gives a ``RuntimeError``
    naming the genomes (tasks are not retried); at the first failure the
    tasks still queued or running are cancelled, so the next call does not
    wait behind them.  On a cluster every node needs the same pyneat_lite
    (and the fitness function's modules, e.g. through a ``runtime_env``);
    the rebuilt rows are the same on every machine (counter-based stream,
    IEEE float64 arithmetic, no FMA contraction).

    Examples
    --------
    >>> with pn.Ray(seeds_only=True) as ev:                   # doctest: +SKIP
    ...     result = es.run(fitness, generations=100, evaluator=ev)
    """

    def __init__(self, address: str | None = None, num_cpus: int | None = None, *,
                 batched: bool = False, chunk_size: int | None = None,
                 timeout: float | None = DEFAULT_TIMEOUT,
                 seeds_only: bool = False) -> None:
        try:
            import ray
        except ImportError as exc:  # pragma: no cover - ray is a test dependency
            raise ImportError(
                "The Ray evaluator requires ray: pip install \"pyneat_lite[ray]\" "
                "(or pip install \".[ray]\" from a checkout)."
            ) from exc
        caller = "Ray"
        if address is not None and not isinstance(address, str):
            raise TypeError(
                f"The 'address' parameter of {caller} must be a string or None. "
                f"Got {type(address).__name__} instead."
            )
        if num_cpus is not None:
            num_cpus = check_int(num_cpus, "num_cpus", caller=caller, min_val=1)
        self.batched = bool(batched)
        self.chunk_size = None if chunk_size is None else check_int(
            chunk_size, "chunk_size", caller=caller, min_val=1)
        self.timeout = _check_timeout(timeout, caller)
        self.seeds_only = bool(seeds_only)
        self.last_transfer_bytes = 0
        self._owns = not ray.is_initialized()
        if self._owns:
            ray.init(address=address, num_cpus=num_cpus, include_dashboard=False,
                     log_to_driver=False, configure_logging=False)
        self.address = address
        self._closed = False
        self._id = uuid.uuid4().hex
        self._fn_payload: bytes | None = None
        self._fn_ref: Any = None
        self._fn_version = 0
        self._discarded: list[Any] = []  # refs of cancelled generations

    def _n_cpus(self) -> int:
        import ray

        return max(1, int(ray.cluster_resources().get("CPU", 1)))

    def _start(self, fn: Any, caller: str) -> tuple[Any, str, int]:
        import ray

        if self._closed:
            raise RuntimeError(f"{caller} called after close().")
        _check_fn(fn, caller)
        payload = _ray_dumps(fn, caller)
        if payload == self._fn_payload:
            return self._fn_ref, f"{self._id}-{self._fn_version}", 0
        self._fn_ref = ray.put(payload)
        self._fn_payload = payload
        self._fn_version += 1
        return self._fn_ref, f"{self._id}-{self._fn_version}", len(payload)

    def evaluate(self, fn: Callable[[np.ndarray], Any], population: Any) -> np.ndarray:
        """Fitness of ``population`` computed by Ray tasks."""
        import ray

        caller = "Ray.evaluate"
        pop = check_population(population, caller=caller, finite=False)
        fn_ref, key, sent = self._start(fn, caller)
        t0 = time.monotonic()
        pop_ref = ray.put(pop)
        task = _remote("chunk")
        out = self._gather(
            lambda span: task.remote(fn_ref, key, pop_ref, span, self.batched),
            pop.shape[0], 0, caller, t0)
        self.last_transfer_bytes = sent + pop.nbytes
        if hasattr(fn, "advance"):
            fn.advance()
        return out

    def evaluate_es(self, fn: Callable[[np.ndarray], Any],
                    spec: ESSpec | Mapping[str, Any]) -> np.ndarray:
        """Fitness of the ES population ``spec``, rebuilt by the Ray tasks.

        One ``ray.put`` of ``spec`` (its ``mean``, and ``scale`` when it is a
        vector) per generation; each task regenerates its rows from the seed
        (:meth:`ESSpec.rows`), bit-identical to the strategy's ``ask()``.

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
        import ray

        caller = "Ray.evaluate_es"
        spec = as_spec(spec, caller)
        fn_ref, key, sent = self._start(fn, caller)
        t0 = time.monotonic()
        spec_ref = ray.put(spec)
        task = _remote("es")
        out = self._gather(
            lambda span: task.remote(fn_ref, key, spec_ref, span, self.batched),
            spec.pop_size, spec.pop_size // 2 if spec.antithetic else 0, caller, t0)
        self.last_transfer_bytes = sent + spec.nbytes
        if hasattr(fn, "advance"):
            fn.advance()
        return out

    def _gather(self, launch: Callable[[_Span], Any], n: int, mirror: int,
                caller: str, t0: float) -> np.ndarray:
        """Launch the chunks and collect them; cancel the rest on a failure."""
        import ray

        self._drain()
        size = _chunk_size(n, self.chunk_size, self._n_cpus(), self.batched)
        spans = {launch(span): span for span in _spans(n, size, mirror)}
        out = np.empty(n)
        pending = list(spans)
        while pending:
            left = None
            if self.timeout is not None:
                left = self.timeout - (time.monotonic() - t0)
            ready, pending = ([], pending) if left is not None and left <= 0 else (
                ray.wait(pending, num_returns=1, timeout=left))
            if not ready:
                self._cancel(pending, force=True)
                raise TimeoutError(
                    f"{caller}: {len(pending)} of {len(spans)} chunks were still "
                    f"running after timeout={self.timeout} s; they were cancelled "
                    "(raise timeout, or pass timeout=None, for longer generations)."
                )
            for ref in ready:
                span = spans[ref]
                try:
                    out[span.index()] = ray.get(ref)
                except ray.exceptions.RayTaskError as exc:
                    self._cancel(pending, force=False)
                    cause = getattr(exc, "cause", None)
                    cause = exc if cause is None else cause
                    _reraise_bad_return(cause, exc)
                    raise RuntimeError(
                        f"{caller}: the fitness function raised "
                        f"{type(cause).__name__}: {cause} (while evaluating genomes "
                        f"{span} in a Ray task)."
                    ) from exc
                except ray.exceptions.RayError as exc:
                    self._cancel(pending, force=False)
                    raise RuntimeError(
                        f"{caller}: the Ray task evaluating genomes {span} "
                        f"failed ({type(exc).__name__}: {exc})."
                    ) from exc
        return out

    def _cancel(self, refs: list[Any], *, force: bool) -> None:
        """Cancel outstanding tasks.

        ``force=False`` (after a failure) drops the queued tasks; the running
        ones finish their chunk, whose result is discarded, and their workers
        stay for the next call.  ``force=True`` (after a timeout) also kills
        the workers of running tasks -- Ray cannot interrupt a task blocked
        in ``time.sleep`` or native code otherwise -- and waits (10 s at most)
        until they are gone; Ray then starts new workers, which the next call
        waits for (as long as Ray's cold start, seconds).
        """
        import ray

        for ref in refs:
            # an error here: already finished, or gone with its worker
            with contextlib.suppress(Exception):
                ray.cancel(ref, force=force)
        if force and refs:
            ray.wait(refs, num_returns=len(refs), timeout=10.0)
        self._discarded.extend(refs)

    def _drain(self) -> None:
        """Fetch (and drop) the results of cancelled tasks that have ended:
        Ray prints every error nobody fetched."""
        import ray

        if not self._discarded:
            return
        ready, self._discarded = ray.wait(self._discarded,
                                          num_returns=len(self._discarded),
                                          timeout=0)
        for ref in ready:
            # the failure was reported already, or the task was cancelled
            with contextlib.suppress(Exception):
                ray.get(ref)

    def close(self) -> None:
        """Shut down the Ray session if this evaluator started it (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self._drain()
        self._discarded = []
        self._fn_ref = self._fn_payload = None
        if self._owns:
            import ray

            ray.shutdown()

    def __repr__(self) -> str:
        return (f"Ray(address={self.address!r}, batched={self.batched}, "
                f"timeout={self.timeout}, seeds_only={self.seeds_only})")
