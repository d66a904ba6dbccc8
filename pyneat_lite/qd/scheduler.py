"""The scheduler: emitters and archives behind one ask/tell interface.

``ask()`` returns the float32 genomes of every emitter stacked in one
population; ``tell(objective, measures)`` inserts the whole population into
the archive with one kernel call (and into a result archive, when there is
one: CMA-MAE's soft threshold may replace an elite by a worse one, the result
archive keeps the best ever per cell), then hands each emitter its rows'
statuses and values.  ``run(...)`` loops with the library's usual stop
criteria, a progress bar and checkpoints that include the archives;
a resumed run is bit-identical to an uninterrupted one, and the same seed
gives the same archive whatever the number of threads.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from .. import checkpoint
from .._typing import Float32Array
from ..algorithms.loop import _check_stops, _TextBar
from ._archive_base import check_objective
from ._es_group import SepGroup
from .archives import ArchiveStats, CVTArchive, GridArchive, _ArchiveBase
from .emitters import EMITTERS, Emitter

__all__ = ["Scheduler", "QDResult", "QD_HISTORY_KEYS"]

_ARCHIVES: dict[str, type[_ArchiveBase]] = {"GridArchive": GridArchive,
                                            "CVTArchive": CVTArchive}

#: per-iteration statistics of :attr:`Scheduler.history` (of the result
#: archive)
QD_HISTORY_KEYS = ("iteration", "num_elites", "coverage", "qd_score",
                   "norm_qd_score", "obj_max", "n_nonfinite", "evaluations", "time")

STOP_REASONS = ("generations", "target", "time_limit", "patience", "callback",
                "interrupted")


@dataclass(frozen=True)
class QDResult:
    """Outcome of :meth:`Scheduler.run`.

    Attributes
    ----------
    archive : GridArchive or CVTArchive
        The result archive (the best elite ever found per cell).
    stats : ArchiveStats
        Its statistics at the end of the run.
    stop_reason : str
        "generations", "target", "time_limit", "patience", "callback" or
        "interrupted".
    generation : int
        The scheduler's iteration counter at the end.
    generations_run : int
        Iterations completed during this run.
    evaluations : int
        Genomes evaluated over the scheduler's life.
    elapsed : float
        Wall time of this run in seconds.
    history : dict of str to numpy array
        One entry per iteration, keys :data:`QD_HISTORY_KEYS`.
    """

    archive: _ArchiveBase
    stats: ArchiveStats
    stop_reason: str
    generation: int
    generations_run: int
    evaluations: int
    elapsed: float
    history: dict[str, np.ndarray] = field(repr=False)


class Scheduler:
    """Ask/tell over several emitters sharing one archive (pyribs' Scheduler).

    Parameters
    ----------
    archive : GridArchive or CVTArchive
        The archive the emitters learn from.
    emitters : sequence of Emitter
        Each built on ``archive``, with its own seed.
    result_archive : GridArchive or CVTArchive, optional
        A second archive with the same cells (usually ``learning_rate=1``)
        that keeps the best elite ever per cell; statistics and
        :class:`QDResult` report it.  Without one they report ``archive``.

    Examples
    --------
    >>> import numpy as np
    >>> from pyneat_lite.qd import GridArchive, GaussianEmitter, Scheduler
    >>> a = GridArchive(solution_dim=4, dims=(8, 8), ranges=[(-2, 2), (-2, 2)])
    >>> em = [GaussianEmitter(a, np.zeros(4), sigma=0.3, seed=i) for i in range(2)]
    >>> s = Scheduler(a, em)
    >>> fn = lambda x: (-np.sum(x ** 2, axis=1), x[:, :2])
    >>> r = s.run(fn, generations=50)
    >>> r.stats.num_elites > 30
    True
    """

    _checkpoint_protocol: ClassVar[int] = checkpoint.PROTOCOL

    def __init__(self, archive: _ArchiveBase, emitters: Sequence[Emitter],
                 result_archive: _ArchiveBase | None = None) -> None:
        caller = "Scheduler"
        if not isinstance(archive, _ArchiveBase):
            raise TypeError(
                f"The 'archive' argument of {caller} must be a GridArchive or "
                f"CVTArchive. Got {type(archive).__name__} instead."
            )
        emitters = list(emitters)
        if not emitters:
            raise ValueError(f"The 'emitters' argument of {caller} must hold at "
                             "least one emitter. Got none.")
        for e in emitters:
            if not isinstance(e, Emitter):
                raise TypeError(
                    f"The 'emitters' argument of {caller} must hold emitters. "
                    f"Got {type(e).__name__} instead."
                )
            if e.archive is not archive:
                raise ValueError(
                    f"Every emitter given to {caller} must be built on its "
                    "'archive' (the one whose statuses it learns from)."
                )
        if result_archive is not None:
            if not isinstance(result_archive, _ArchiveBase):
                raise TypeError(
                    f"The 'result_archive' argument of {caller} must be a "
                    f"GridArchive or CVTArchive. Got "
                    f"{type(result_archive).__name__} instead."
                )
            if result_archive is archive or result_archive.cells != archive.cells \
                    or result_archive.solution_dim != archive.solution_dim \
                    or result_archive.measure_dim != archive.measure_dim:
                raise ValueError(
                    f"The 'result_archive' argument of {caller} must be a separate "
                    "archive with the same cells, solution_dim and measure_dim "
                    "as 'archive'."
                )
        self._archive = archive
        self._result = result_archive
        self._emitters = emitters
        # ES emitters of one kind: one kernel call per step for all of them
        self._group = SepGroup(emitters) if SepGroup.compatible(emitters) else None
        sizes = [e.batch_size for e in emitters]
        self._bounds = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        total = int(self._bounds[-1])
        n = archive.solution_dim
        self._pop = np.empty((total, n), dtype=np.float32)
        self._idx = np.empty(total, dtype=np.int64)
        self._status = np.empty(total, dtype=np.int32)
        self._value = np.empty(total, dtype=np.float64)
        self._r_status = np.empty(total, dtype=np.int32)
        self._r_value = np.empty(total, dtype=np.float64)
        self._touched = np.empty(total, dtype=np.int64)  # insertion scratch
        self._n = total
        self._generation = 0
        self._evaluations = 0
        self._pending = False
        self._clock_offset = 0.0
        self._clock_start: float | None = None
        self._hist: dict[str, list[float]] = {k: [] for k in QD_HISTORY_KEYS}

    # -------------------------------------------------------------- properties
    @property
    def archive(self) -> _ArchiveBase:
        return self._archive

    @property
    def result_archive(self) -> _ArchiveBase:
        """The result archive, or :attr:`archive` when there is none."""
        return self._result if self._result is not None else self._archive

    @property
    def emitters(self) -> list[Emitter]:
        return list(self._emitters)

    @property
    def pop_size(self) -> int:
        """Genomes per ask (the emitters' batch sizes summed)."""
        return int(self._bounds[-1])

    @property
    def generation(self) -> int:
        """Completed tells."""
        return self._generation

    @property
    def evaluations(self) -> int:
        return self._evaluations

    @property
    def stats(self) -> ArchiveStats:
        """Statistics of :attr:`result_archive`."""
        return self.result_archive.stats

    @property
    def history(self) -> dict[str, np.ndarray]:
        """Per-iteration statistics (keys :data:`QD_HISTORY_KEYS`)."""
        ints = ("iteration", "num_elites", "n_nonfinite", "evaluations")
        return {k: np.asarray(v, dtype=np.int64 if k in ints else np.float64)
                for k, v in self._hist.items()}

    # ---------------------------------------------------------------- ask/tell
    def ask(self) -> Float32Array:
        """Every emitter's genomes stacked, float32 (pop_size, solution_dim).

        A buffer owned by the scheduler, valid until the next :meth:`tell`;
        asking again before :meth:`tell` returns the same genomes.
        """
        if self._pending:
            return self._pop
        if self._clock_start is None:
            self._clock_start = time.perf_counter()
        if self._group is not None:
            self._group.ask(self._pop)
        else:
            b = self._bounds
            for i, e in enumerate(self._emitters):
                self._pop[b[i]:b[i + 1]] = e.ask()
        self._pending = True
        return self._pop

    def tell(self, objective: Any, measures: Any) -> None:
        """Report the objective and measures of the population of :meth:`ask`.

        Parameters
        ----------
        objective : array-like of shape (pop_size,)
            Higher is better; NaN and infinite values count as the worst
            (never inserted, value -inf).
        measures : array-like of shape (pop_size, measure_dim)

        Raises
        ------
        RuntimeError
            Without a pending :meth:`ask`.
        ValueError, TypeError
            For wrong shapes or types; the state is left unchanged.
        """
        caller = "Scheduler.tell"
        if not self._pending:
            raise RuntimeError(
                f"{caller} was called without a pending ask(): call ask() first, "
                "then tell() once with the objective and measures of the "
                "population it returned."
            )
        n = self._n
        obj = check_objective(objective, n, caller, ") (pop_size)")
        m = self._archive._check_measures(measures, n, caller)
        result = self._result
        if result is not None:
            result._check_measures(m, n, caller)
        pop = self._pop
        self._archive._add_unchecked(pop, obj, m, self._idx, self._status,
                                     self._value, self._touched)
        if result is not None:
            result._add_unchecked(pop, obj, m, self._idx, self._r_status,
                                  self._r_value, self._touched)
        if self._group is not None:
            self._group.tell(self._status, self._value)
        else:
            b = self._bounds
            for i, e in enumerate(self._emitters):
                s = slice(b[i], b[i + 1])
                e.tell(pop[s], obj[s], m[s], self._status[s], self._value[s])
        self._evaluations += n
        self._record(int(n - np.count_nonzero(np.isfinite(obj))))
        self._generation += 1
        self._pending = False

    def _record(self, n_bad: int) -> None:
        n, coverage, qd, norm_qd, best, _ = self.result_archive._stats_values()
        now = time.perf_counter()
        start = self._clock_start if self._clock_start is not None else now
        h = self._hist
        h["iteration"].append(self._generation)
        h["num_elites"].append(n)
        h["coverage"].append(coverage)
        h["qd_score"].append(qd)
        h["norm_qd_score"].append(norm_qd)
        h["obj_max"].append(best)
        h["n_nonfinite"].append(n_bad)
        h["evaluations"].append(self._evaluations)
        h["time"].append(self._clock_offset + (now - start))

    # --------------------------------------------------------------------- run
    def run(
        self,
        fn: Callable[[Float32Array], Any],
        generations: int | None = None,
        target: float | None = None,
        time_limit: float | None = None,
        patience: int | None = None,
        callbacks: Iterable[Callable[[Scheduler], Any]] = (),
        progress: bool = False,
        checkpoint_every: int | None = None,
        checkpoint_path: Any = None,
    ) -> QDResult:
        """Ask, evaluate and tell until a stop criterion is met.

        Parameters
        ----------
        fn : callable
            ``fn(population) -> (objective, measures)`` with shapes
            ``(pop_size,)`` and ``(pop_size, measure_dim)``.
        generations : int, optional
            Iterations to run in this call (100 when no criterion is given).
        target : float, optional
            Stop once the result archive's normalized QD score reaches it.
        time_limit : float, optional
            Seconds, checked before each iteration.
        patience : int, optional
            Stop after this many iterations without a rise of the result
            archive's QD score.
        callbacks : iterable of callables, default=()
            ``callback(scheduler)`` after every iteration; a truthy return
            stops the run with reason "callback".
        progress : bool, default=False
            A tqdm bar with coverage and normalized QD score; without tqdm,
            plain lines on stderr.
        checkpoint_every, checkpoint_path
            Save every this many iterations (and at the end) to this path.

        Returns
        -------
        QDResult
            Ctrl-C returns the result so far (``stop_reason="interrupted"``).
        """
        caller = "Scheduler.run"
        if not callable(fn):
            raise TypeError(f"The 'fn' argument of {caller} must be callable. "
                            f"Got {type(fn).__name__} instead.")
        (generations, target, time_limit, patience, callbacks, checkpoint_every,
         checkpoint_path) = _check_stops(caller, generations, target, time_limit,
                                         patience, callbacks, checkpoint_every,
                                         checkpoint_path)
        bar = None
        if progress:
            try:
                from tqdm.auto import tqdm
            except ImportError:  # tqdm is optional: plain lines instead of a bar
                bar = _TextBar("Scheduler", generations, unit="iteration")
            else:
                bar = tqdm(total=generations, unit="it", desc="Scheduler")
        t0 = time.perf_counter()
        start = self._generation
        best_qd = self.stats.qd_score
        last_rise = start
        reason: str | None = None
        try:
            while True:
                done = self._generation - start
                if generations is not None and done >= generations:
                    reason = "generations"
                    break
                if time_limit is not None and time.perf_counter() - t0 >= time_limit:
                    reason = "time_limit"
                    break
                pop = self.ask()
                out = fn(pop)
                if not isinstance(out, tuple) or len(out) != 2:
                    raise TypeError(
                        f"The 'fn' argument of {caller} must return (objective, "
                        f"measures). Got {type(out).__name__} instead."
                    )
                self.tell(*out)
                s = self.stats
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(coverage=f"{100 * s.coverage:.2f}%",
                                    qd=f"{s.norm_qd_score:.4g}", refresh=False)
                if checkpoint_every is not None and (done + 1) % checkpoint_every == 0:
                    self.save(checkpoint_path)
                if s.qd_score > best_qd:
                    best_qd = s.qd_score
                    last_rise = self._generation
                if target is not None and s.norm_qd_score >= target:
                    reason = "target"
                if reason is None and patience is not None and \
                        self._generation - last_rise >= patience:
                    reason = "patience"
                for cb in callbacks:
                    if cb(self):
                        reason = reason or "callback"
                if reason is not None:
                    break
        except KeyboardInterrupt:
            reason = "interrupted"
        finally:
            if bar is not None:
                bar.close()
        if checkpoint_every is not None and self._generation != start:
            self.save(checkpoint_path)
        return QDResult(self.result_archive, self.stats, reason, self._generation,
                        self._generation - start, self._evaluations,
                        time.perf_counter() - t0, self.history)

    # ------------------------------------------------------------- checkpoints
    def save(self, path: Any) -> None:
        """Write the scheduler -- archives and emitters included -- to
        ``path``; ``pn.load(path)`` resumes it bit for bit."""
        checkpoint.save(self, path)

    @staticmethod
    def _archive_entry(a: _ArchiveBase, prefix: str,
                       arrays: dict[str, np.ndarray]) -> dict[str, Any]:
        params, scalars, arr = a._state()
        arrays.update({prefix + k: v for k, v in arr.items()})
        return {"class": type(a).__name__, "params": params, "scalars": scalars}

    def _state(self) -> tuple[dict[str, Any], dict[str, Any], dict[str, np.ndarray]]:
        arrays: dict[str, np.ndarray] = {}
        params: dict[str, Any] = {
            "archive": self._archive_entry(self._archive, "archive/", arrays),
            "result_archive": None if self._result is None else
            self._archive_entry(self._result, "result/", arrays),
            "emitters": [],
        }
        for i, e in enumerate(self._emitters):
            sc, arr = e._state()
            params["emitters"].append({"name": e.name, "config": e._config(),
                                       "scalars": sc})
            arrays.update({f"emitter{i}/{k}": v for k, v in arr.items()})
        if self._clock_start is not None and self._hist["time"]:
            clock = self._hist["time"][-1]
        else:
            clock = self._clock_offset
        scalars = {"generation": self._generation, "evaluations": self._evaluations,
                   "pending": self._pending, "clock_offset": clock}
        arrays["pop"] = self._pop
        for k, v in self.history.items():
            arrays["history/" + k] = v
        return params, scalars, arrays

    @classmethod
    def _from_checkpoint(cls, params: dict[str, Any], scalars: dict[str, Any],
                         arrays: dict[str, np.ndarray]) -> Scheduler:
        def build(entry: dict[str, Any], prefix: str) -> _ArchiveBase:
            acls = _ARCHIVES[entry["class"]]
            sub = {k[len(prefix):]: v for k, v in arrays.items()
                   if k.startswith(prefix)}
            return acls._from_checkpoint(entry["params"], entry["scalars"], sub)

        archive = build(params["archive"], "archive/")
        result = (None if params["result_archive"] is None
                  else build(params["result_archive"], "result/"))
        emitters = []
        for i, entry in enumerate(params["emitters"]):
            ecls = EMITTERS[entry["name"]]
            prefix = f"emitter{i}/"
            sub = {k[len(prefix):]: v for k, v in arrays.items()
                   if k.startswith(prefix)}
            e = ecls(archive, sub["x0"], **entry["config"])
            e._set_state(entry["scalars"], sub)
            emitters.append(e)
        s = cls(archive, emitters, result)
        s._generation = int(scalars["generation"])
        s._evaluations = int(scalars["evaluations"])
        s._clock_offset = float(scalars["clock_offset"])
        np.copyto(s._pop, arrays["pop"])
        s._pending = bool(scalars["pending"])
        s._hist = {k: arrays["history/" + k].tolist() for k in QD_HISTORY_KEYS}
        return s

    def __repr__(self) -> str:
        s = self.stats
        return (f"Scheduler(emitters={len(self._emitters)}, pop_size={self.pop_size},"
                f" generation={self._generation}, elites={s.num_elites}, "
                f"norm_qd_score={s.norm_qd_score:.6g})")
