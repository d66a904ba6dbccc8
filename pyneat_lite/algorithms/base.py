"""The ask/tell interface shared by every algorithm, and the run loop.

An algorithm is a stateful object (like pycma's ``CMAEvolutionStrategy`` or
evosax's strategies): ``ask()`` returns the ``(pop_size, n_params)`` float32
genomes to evaluate, ``tell(fitness)`` takes their ``(pop_size,)`` fitness.
The template methods here do everything that does not depend on the
algorithm -- validation, the NaN policy, best-ever tracking, the hall of
fame, the history and the generation counter -- and call the subclass hooks
``_ask`` / ``_tell`` (evosax's ``_ask`` / ``_tell`` split).

Protocol
--------
- ``ask`` twice without ``tell`` returns the same population (so a fitness
  function that raised can simply be retried); ``tell`` without a pending
  ``ask`` is an error.
- Fitness is maximised unless ``minimize=True``.  NaN and infinite fitness
  values count as the worst possible value, are counted in the history
  (``"n_nonfinite"``) and raise one :class:`NonFiniteFitnessWarning` per
  generation.
- All randomness is a function of ``(seed, generation, stream, row)``, so a
  run is reproducible bit for bit whatever the number of threads, and a
  checkpointed run continues exactly as an uninterrupted one.
"""

from __future__ import annotations

import time
import warnings
import zlib
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from .. import _ranking
from .._rng import resolve_seed
from .._threads import effective_n_threads
from .._typing import Float32Array, Float64Array
from .._validation import check_fitness, check_int, check_scalar
from . import _kernels
from .result import HallOfFame, Result

__all__ = ["Algorithm", "NonFiniteFitnessWarning", "DEFAULT_GENERATIONS"]

#: Generations run by :meth:`Algorithm.run` when no stop criterion is given.
DEFAULT_GENERATIONS = 100

_HISTORY_KEYS = (
    "generation",
    "min",
    "mean",
    "max",
    "std",
    "n_nonfinite",
    "evaluations",
    "time",
)


class NonFiniteFitnessWarning(UserWarning):
    """Some fitness values of a generation were NaN or infinite; they were
    treated as the worst fitness."""


class Algorithm:
    """Base class of the ask/tell algorithms (not instantiated directly).

    Parameters
    ----------
    n_params : int
        Genome length.
    pop_size : int
        Genomes returned by each :meth:`ask`.
    minimize : bool, default=False
        Lower fitness is better.
    seed : int, numpy.random.SeedSequence or None, default=None
        None draws fresh OS entropy once; the resolved int is kept in
        :attr:`seed` (and in checkpoints).
    hall_of_fame_size : int, default=10
        Distinct best genomes kept.
    n_threads : int or None, default=None
        Threads of the operator kernels (None: all cores).  Results do not
        depend on it.
    """

    #: registry name, set by subclasses ("ga", "openes", ...)
    name: str = ""
    #: attribute names of the subclass state saved in checkpoints
    _STATE_ARRAYS: tuple[str, ...] = ()
    _STATE_SCALARS: tuple[str, ...] = ()

    _BASE_STATE_ARRAYS = ("_fitness", "_hof_genomes", "_hof_score", "_hof_crc")
    _BASE_STATE_SCALARS = (
        "_generation",
        "_pending",
        "_evaluations",
        "_hof_n",
        "_clock_offset",
        "_told",
    )

    def __init__(
        self,
        n_params: int,
        pop_size: int,
        *,
        minimize: bool = False,
        seed: Any = None,
        hall_of_fame_size: int = 10,
        n_threads: int | None = None,
    ) -> None:
        caller = type(self).__name__
        self.n_params = check_int(n_params, "n_params", caller=caller, min_val=1)
        self.pop_size = check_int(pop_size, "pop_size", caller=caller, min_val=2)
        if not isinstance(minimize, (bool, np.bool_)):
            raise TypeError(
                f"The 'minimize' parameter of {caller} must be a bool. "
                f"Got {minimize!r} instead."
            )
        self.minimize = bool(minimize)
        self.seed = resolve_seed(seed, caller=caller)
        self.hall_of_fame_size = check_int(
            hall_of_fame_size, "hall_of_fame_size", caller=caller, min_val=1
        )
        if n_threads is not None:
            effective_n_threads(n_threads)  # validates
        self.n_threads = n_threads

        self._generation = 0
        self._pending = False
        self._told = False
        self._evaluations = 0
        self._fitness = np.full(self.pop_size, np.nan, dtype=np.float64)
        k, n = self.hall_of_fame_size, self.n_params
        self._hof_genomes = np.zeros((k, n), dtype=np.float32)
        self._hof_score = np.full(k, -np.inf, dtype=np.float64)
        self._hof_crc = np.zeros(k, dtype=np.int64)
        self._hof_n = 0
        self._history: dict[str, list[float]] = {key: [] for key in _HISTORY_KEYS}
        self._clock_offset = 0.0
        self._clock_start: float | None = None

    def _kernel_threads(self) -> int | None:
        """Threads for the operator kernels: the user's choice, else one
        thread for small populations (waking an OpenMP pool costs more than
        they do; results do not depend on it)."""
        if self.n_threads is not None:
            return self.n_threads
        if self.pop_size * self.n_params < _kernels.PARALLEL_MIN_SIZE:
            return 1
        return None

    # ------------------------------------------------------------------ hooks
    def _ask(self) -> Float32Array:
        """Write the next population into an owned buffer and return it."""
        raise NotImplementedError  # pragma: no cover - abstract

    def _tell(self, fitness: Float64Array, score: Float64Array) -> None:
        """Update the search state. ``fitness`` is in the user's sign with NaN
        for non-finite values; ``score`` is higher-is-better with -inf there."""
        raise NotImplementedError  # pragma: no cover - abstract

    def _current_population(self) -> Float32Array:
        """The buffer returned by the pending ``ask``."""
        raise NotImplementedError  # pragma: no cover - abstract

    def _adjust_fitness(self, fitness: Float64Array) -> None:
        """Hook to amend the told fitness in place (GA: kept elites)."""

    def get_params(self) -> dict[str, Any]:
        """Constructor arguments (JSON-serialisable; operators as configs).

        Arrays given to the constructor (an initial population, ``x0``) are
        not included: they are part of the state once the algorithm exists.
        """
        raise NotImplementedError  # pragma: no cover - abstract

    @classmethod
    def _from_params(cls, params: dict[str, Any]) -> Algorithm:
        """Build an instance from :meth:`get_params` output (checkpoints)."""
        return cls(**params)

    # ---------------------------------------------------------------- ask/tell
    def ask(self) -> Float32Array:
        """Return the genomes to evaluate.

        Returns
        -------
        float32 array of shape (pop_size, n_params)
            A buffer owned by the algorithm, valid until the next ``tell``.
            Calling ``ask`` again before ``tell`` returns the same population.
        """
        if self._pending:
            return self._current_population()
        if self._clock_start is None:
            self._clock_start = time.perf_counter()
        pop = self._ask()
        self._pending = True
        return pop

    def tell(self, fitness: Any) -> None:
        """Report the fitness of the population returned by :meth:`ask`.

        Parameters
        ----------
        fitness : array-like of shape (pop_size,)
            Real numbers, higher is better unless ``minimize=True``.  NaN and
            infinite values count as the worst fitness (and are warned about).

        Raises
        ------
        RuntimeError
            If there is no pending ``ask`` (``tell`` before ``ask``, or twice).
        ValueError, TypeError
            If ``fitness`` has the wrong shape or is not numeric; the state is
            left unchanged.
        """
        caller = f"{type(self).__name__}.tell"
        if not self._pending:
            raise RuntimeError(
                f"{caller} was called without a pending ask(): call ask() first, "
                "then tell() once with the fitness of the population it returned."
            )
        f = check_fitness(fitness, self.pop_size, caller=caller)
        np.copyto(self._fitness, f)
        bad = ~np.isfinite(self._fitness)
        n_bad = int(np.count_nonzero(bad))
        if n_bad:
            self._fitness[bad] = np.nan
            warnings.warn(
                f"{n_bad} of {self.pop_size} fitness values of generation "
                f"{self._generation} were NaN or infinite; they count as the "
                "worst fitness.",
                NonFiniteFitnessWarning,
                stacklevel=2,
            )
        self._adjust_fitness(self._fitness)
        score = -self._fitness if self.minimize else self._fitness.copy()
        score[np.isnan(score)] = -np.inf
        pop = self._current_population()
        self._update_hall_of_fame(pop, score)
        self._evaluations += self.pop_size
        self._record_history(n_bad)
        self._tell(self._fitness, score)
        self._generation += 1
        self._pending = False
        self._told = True

    # -------------------------------------------------------------- properties
    @property
    def generation(self) -> int:
        """Number of completed ``tell`` calls."""
        return self._generation

    @property
    def evaluations(self) -> int:
        """Genomes evaluated so far."""
        return self._evaluations

    @property
    def best(self) -> Float32Array | None:
        """Copy of the best genome evaluated so far (None before any tell)."""
        if self._hof_n == 0:
            return None
        return self._hof_genomes[0].copy()

    @property
    def best_fitness(self) -> float:
        """Fitness of :attr:`best`, in the user's sign (NaN before any tell)."""
        if self._hof_n == 0:
            return float("nan")
        return self._to_user(self._hof_score[0])

    @property
    def fitness(self) -> Float64Array:
        """Copy of the last told fitness (NaN where non-finite)."""
        return self._fitness.copy()

    @property
    def hall_of_fame(self) -> HallOfFame:
        """Top distinct genomes evaluated so far with their fitness."""
        n = self._hof_n
        fit = np.array([self._to_user(s) for s in self._hof_score[:n]], np.float64)
        return HallOfFame(self._hof_genomes[:n].copy(), fit)

    @property
    def history(self) -> dict[str, np.ndarray]:
        """Per-generation statistics as arrays (see :class:`Result`)."""
        out = {}
        for key, values in self._history.items():
            dtype = (
                np.int64
                if key in ("generation", "n_nonfinite", "evaluations")
                else np.float64
            )
            out[key] = np.asarray(values, dtype=dtype)
        return out

    def _to_user(self, score: float) -> float:
        return float(-score if self.minimize else score)

    # --------------------------------------------------------------- internals
    def _update_hall_of_fame(self, pop: Float32Array, score: Float64Array) -> None:
        k = self.hall_of_fame_size
        # Every row that beats the last entry is a candidate, best first (ties:
        # earlier row).  Not only the k best rows: those may repeat genomes
        # already kept (the GA's elites), and then later rows must get their
        # turn.
        floor = self._hof_score[k - 1] if self._hof_n == k else -np.inf
        cand = (score > floor).nonzero()[0]
        cand = cand[_ranking.order(score[cand])]
        for i in cand:
            s = float(score[i])
            if s == -np.inf:
                break
            if self._hof_n == k and s <= self._hof_score[k - 1]:
                break
            row = pop[i]
            crc = zlib.crc32(memoryview(row).cast("B"))
            dup = False
            for j in range(self._hof_n):
                if self._hof_crc[j] == crc and np.array_equal(
                    self._hof_genomes[j], row
                ):
                    dup = True
                    break
            if dup:
                continue
            # insert after the entries with an equal score (first come first)
            n = self._hof_n
            pos = int(np.searchsorted(-self._hof_score[:n], -s, side="right"))
            end = min(n, k - 1)  # when full, the last entry falls off
            self._hof_genomes[pos + 1 : end + 1] = self._hof_genomes[pos:end]
            self._hof_score[pos + 1 : end + 1] = self._hof_score[pos:end]
            self._hof_crc[pos + 1 : end + 1] = self._hof_crc[pos:end]
            self._hof_genomes[pos] = row
            self._hof_score[pos] = s
            self._hof_crc[pos] = crc
            self._hof_n = min(k, n + 1)

    def _record_history(self, n_bad: int) -> None:
        fit = self._fitness
        finite = fit[np.isfinite(fit)]
        h = self._history
        h["generation"].append(self._generation)
        if finite.size:
            h["min"].append(float(finite.min()))
            h["mean"].append(float(finite.mean()))
            h["max"].append(float(finite.max()))
            h["std"].append(float(finite.std()))
        else:
            for key in ("min", "mean", "max", "std"):
                h[key].append(float("nan"))
        h["n_nonfinite"].append(n_bad)
        h["evaluations"].append(self._evaluations)
        now = time.perf_counter()
        start = self._clock_start if self._clock_start is not None else now
        h["time"].append(self._clock_offset + (now - start))

    # ------------------------------------------------------------------- run
    def run(
        self,
        fitness: Callable[[Float32Array], Any],
        generations: int | None = None,
        target: float | None = None,
        time_limit: float | None = None,
        patience: int | None = None,
        callbacks: Iterable[Callable[[Algorithm], Any]] = (),
        progress: bool = False,
        evaluator: Any = None,
        checkpoint_every: int | None = None,
        checkpoint_path: Any = None,
    ) -> Result:
        """Ask, evaluate and tell until a stop criterion is met.

        Parameters
        ----------
        fitness : callable
            ``fitness(population) -> (pop_size,)`` array of real numbers;
            ``population`` is the float32 ``(pop_size, n_params)`` array of
            :meth:`ask`.
        generations : int, optional
            Generations to run in this call.  When no stop criterion at all
            is given, :data:`DEFAULT_GENERATIONS` (100) are run.
        target : float, optional
            Stop once the best fitness reaches it (``>=``; ``<=`` when
            minimising).
        time_limit : float, optional
            Seconds; checked before each generation, so a generation that
            started is finished.
        patience : int, optional
            Stop after this many generations without improvement of the best
            fitness.
        callbacks : iterable of callables, default=()
            Each is called as ``callback(algorithm)`` after every generation
            (when :attr:`generation`, :attr:`best_fitness`, :attr:`fitness`
            and :attr:`history` describe the generation just told); a truthy
            return value stops the run with reason "callback".
        progress : bool, default=False
            Show a tqdm progress bar with the best fitness (needs tqdm).
        evaluator : object, optional
            Anything with ``evaluate(fitness, population) -> (pop_size,)``,
            e.g. :class:`pyneat_lite.ProcessPool`; None calls
            ``fitness(population)`` directly.
        checkpoint_every : int, optional
            Save a checkpoint to ``checkpoint_path`` every this many
            generations (and when the run stops).
        checkpoint_path : str or path-like, optional
            Where to save (required with ``checkpoint_every``).

        Returns
        -------
        Result
            Ctrl-C (KeyboardInterrupt) during the run returns the result so
            far with ``stop_reason="interrupted"``; the algorithm stays usable
            (a half-done generation is re-asked).  Any other exception from
            ``fitness`` propagates, and the algorithm stays consistent.
        """
        caller = f"{type(self).__name__}.run"
        if not callable(fitness):
            raise TypeError(
                f"The 'fitness' argument of {caller} must be callable. "
                f"Got {type(fitness).__name__} instead."
            )
        if generations is not None:
            generations = check_int(
                generations, "generations", caller=caller, min_val=1
            )
        if target is not None:
            target = check_scalar(target, "target", caller=caller)
        if time_limit is not None:
            time_limit = check_scalar(
                time_limit, "time_limit", caller=caller, min_val=0.0, include_min=False
            )
        if patience is not None:
            patience = check_int(patience, "patience", caller=caller, min_val=1)
        callbacks = tuple(callbacks)
        for cb in callbacks:
            if not callable(cb):
                raise TypeError(
                    f"The 'callbacks' argument of {caller} must hold callables. "
                    f"Got {type(cb).__name__} instead."
                )
        if evaluator is not None and not callable(getattr(evaluator, "evaluate", None)):
            raise TypeError(
                f"The 'evaluator' argument of {caller} must have an "
                f"evaluate(fitness, population) method. Got {type(evaluator).__name__} "
                "instead."
            )
        if checkpoint_every is not None:
            checkpoint_every = check_int(
                checkpoint_every, "checkpoint_every", caller=caller, min_val=1
            )
            if checkpoint_path is None:
                raise ValueError(
                    f"The 'checkpoint_path' argument of {caller} is required with "
                    "checkpoint_every. Got None instead."
                )
        elif checkpoint_path is not None:
            raise ValueError(
                f"The 'checkpoint_every' argument of {caller} is required with "
                f"checkpoint_path. Got None instead."
            )
        if (
            generations is None
            and target is None
            and time_limit is None
            and patience is None
        ):
            generations = DEFAULT_GENERATIONS

        bar = None
        if progress:
            try:
                from tqdm.auto import tqdm
            except ImportError as exc:
                raise ImportError(
                    "run(progress=True) requires tqdm. Install it with "
                    "`pip install pyneat_lite[progress]`."
                ) from exc
            bar = tqdm(total=generations, unit="gen", desc=type(self).__name__)

        t0 = time.perf_counter()
        start_gen = self._generation
        best_score = self._hof_score[0] if self._hof_n else -np.inf
        last_improvement = self._generation
        reason: str | None = None
        try:
            while True:
                done = self._generation - start_gen
                if generations is not None and done >= generations:
                    reason = "generations"
                    break
                if time_limit is not None and time.perf_counter() - t0 >= time_limit:
                    reason = "time_limit"
                    break
                pop = self.ask()
                if evaluator is None:
                    fit = fitness(pop)
                else:
                    fit = evaluator.evaluate(fitness, pop)
                self.tell(fit)
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(best=f"{self.best_fitness:.6g}", refresh=False)
                if checkpoint_every is not None and (done + 1) % checkpoint_every == 0:
                    self.save(checkpoint_path)
                if self._hof_n and self._hof_score[0] > best_score:
                    best_score = self._hof_score[0]
                    last_improvement = self._generation
                if target is not None and self._hof_n:
                    reached = (
                        self.best_fitness <= target
                        if self.minimize
                        else self.best_fitness >= target
                    )
                    if reached:
                        reason = "target"
                if (
                    reason is None
                    and patience is not None
                    and self._generation - last_improvement >= patience
                ):
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
        if checkpoint_every is not None and self._generation != start_gen:
            self.save(checkpoint_path)
        return self._result(reason, start_gen, time.perf_counter() - t0)

    def _result(self, reason: str, start_gen: int, elapsed: float) -> Result:
        mean = getattr(self, "mean", None)
        return Result(
            best=self.best,
            best_fitness=self.best_fitness,
            stop_reason=reason,
            generation=self._generation,
            generations_run=self._generation - start_gen,
            evaluations=self._evaluations,
            elapsed=elapsed,
            hall_of_fame=self.hall_of_fame,
            history=self.history,
            mean=mean,
            minimize=self.minimize,
        )

    # ------------------------------------------------------------ checkpoints
    def save(self, path: Any) -> None:
        """Write the whole state to ``path`` (:func:`pyneat_lite.checkpoint.save`)."""
        from ..checkpoint import save

        save(self, path)

    def _state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """(JSON scalars, arrays) of the complete mutable state."""
        scalars = {}
        for name in self._BASE_STATE_SCALARS + self._STATE_SCALARS:
            v = getattr(self, name)
            scalars[name] = v.item() if isinstance(v, np.generic) else v
        arrays = {}
        for name in self._BASE_STATE_ARRAYS + self._STATE_ARRAYS:
            v = getattr(self, name)
            if v is not None:
                arrays[name] = v
        for key, values in self._history.items():
            dtype = (
                np.int64
                if key in ("generation", "n_nonfinite", "evaluations")
                else np.float64
            )
            arrays["history/" + key] = np.asarray(values, dtype=dtype)
        if self._clock_start is not None and self._history["time"]:
            scalars["_clock_offset"] = self._history["time"][-1]
        return scalars, arrays

    def _set_state(
        self, scalars: dict[str, Any], arrays: dict[str, np.ndarray]
    ) -> None:
        for name in self._BASE_STATE_SCALARS + self._STATE_SCALARS:
            setattr(self, name, scalars[name])
        for name in self._BASE_STATE_ARRAYS + self._STATE_ARRAYS:
            cur = getattr(self, name)
            if name not in arrays:
                if cur is not None:
                    raise ValueError(f"checkpoint lacks the state array {name!r}")
                continue
            a = arrays[name]
            if cur is not None and (a.shape != cur.shape or a.dtype != cur.dtype):
                raise ValueError(
                    f"checkpoint state array {name!r} has shape {a.shape} and dtype "
                    f"{a.dtype}; this configuration needs {cur.shape} {cur.dtype}"
                )
            setattr(self, name, np.array(a, copy=True, order="C"))
        for key in _HISTORY_KEYS:
            self._history[key] = arrays["history/" + key].tolist()
        self._clock_start = None
        self._after_load()

    def _after_load(self) -> None:
        """Hook: re-derive views/aliases after the state arrays were replaced."""

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(n_params={self.n_params}, "
            f"pop_size={self.pop_size}, generation={self._generation}, "
            f"best_fitness={self.best_fitness:.6g})"
        )
