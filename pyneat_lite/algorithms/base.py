"""The ask/tell interface shared by every algorithm.

An algorithm is a stateful object (like pycma's ``CMAEvolutionStrategy`` or
evosax's strategies): ``ask()`` returns the ``(pop_size, n_params)`` float32
genomes to evaluate, ``tell(fitness)`` takes their ``(pop_size,)`` fitness.
The template methods here do everything that does not depend on the
algorithm -- validation of the fitness, the NaN policy, best-ever tracking,
the hall of fame, the history and the generation counter -- and call the
subclass hooks ``_ask`` / ``_tell`` (evosax's ``_ask`` / ``_tell`` split).
The parameters are declared once per algorithm (:mod:`.params`) and
validated at construction; a generation validates only what the user passes
to ``tell``.

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

import inspect
import time
import warnings
from collections.abc import Mapping
from dataclasses import fields
from typing import Any, ClassVar

import numpy as np

from .. import checkpoint
from .._threads import kernel_threads
from .._typing import Float32Array, Float64Array
from .._validation import check_fitness
from . import loop
from .halloffame import Archive, HallOfFame
from .history import HISTORY_KEYS, History
from .loop import DEFAULT_GENERATIONS
from .params import Params

__all__ = ["Algorithm", "NonFiniteFitnessWarning", "DEFAULT_GENERATIONS"]


# Populations up to this many values are checked whole by _check_told.
_WHOLE_CHECK_MAX = 1 << 16


class NonFiniteFitnessWarning(UserWarning):
    """Some fitness values of a generation were NaN or infinite; they were
    treated as the worst fitness."""


def _read_only(name: str, doc: str) -> property:
    def get(self: Algorithm) -> Any:
        return getattr(self._params, name)

    return property(get, doc=doc or f"The ``{name}`` parameter (read-only).")


class Algorithm:
    """Base class of the ask/tell algorithms (not instantiated directly).

    A subclass declares ``Params`` (a :class:`~.params.Params` dataclass with
    one field per constructor keyword), passes its constructor's
    ``locals()`` to ``super().__init__`` and implements ``_ask``, ``_tell``
    and ``_current_population``.  Every parameter becomes a read-only
    attribute (``algo.pop_size``, ``algo.seed``, ...); :attr:`params` is the
    whole frozen declaration.

    Parameters
    ----------
    arguments : mapping
        The subclass constructor's ``locals()``: every ``Params`` field by
        name (other entries, such as ``self`` or ``x0``, are ignored).
    """

    #: registry name, set by subclasses ("ga", "openes", ...)
    name: ClassVar[str] = ""
    #: the parameter declaration, set by subclasses
    Params: ClassVar[type[Params]] = Params
    #: attribute names of the subclass state saved in checkpoints
    _STATE_ARRAYS: ClassVar[tuple[str, ...]] = ()
    _STATE_SCALARS: ClassVar[tuple[str, ...]] = ()
    #: set on every concrete algorithm (one with a registry ``name``): its
    #: instances can be saved and loaded (see pyneat_lite.checkpoint)
    _checkpoint_protocol: ClassVar[int | None] = None

    _BASE_STATE_SCALARS = ("_generation", "_pending", "_evaluations", "_clock_offset",
                           "_told")
    #: the state of a stateful fitness (``get_state()`` of ``envs.Rollout``,
    #: ``gym.Evaluate``) as :meth:`run` last saw it, saved with the
    #: checkpoints ("fitness/" arrays); and the one a loaded checkpoint
    #: holds, which the next :meth:`run` hands to its fitness's ``set_state``
    _fitness_state: dict[str, np.ndarray] | None = None
    _fitness_resume: dict[str, np.ndarray] | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.name:
            cls._checkpoint_protocol = checkpoint.PROTOCOL
        # every parameter is a read-only attribute, unless the class defines
        # that name itself (e.g. a derived value)
        for f in fields(cls.Params):
            attr = f.metadata["attr"] or f.name
            if not hasattr(cls, attr):
                setattr(cls, attr, _read_only(f.name, f.metadata["doc"]))

    def __init__(self, arguments: Mapping[str, Any]) -> None:
        caller = type(self).__name__
        self._params = p = self.Params.from_arguments(arguments, caller)
        self._tell_caller = f"{caller}.tell"
        # threads of the population-sized kernels, decided once
        self._threads = kernel_threads(p.n_threads, p.pop_size * p.n_params,
                                       p.pop_size)
        self._generation = 0
        self._pending = False
        self._told = False
        self._evaluations = 0
        self._fitness = np.full(p.pop_size, np.nan, dtype=np.float64)
        self._score = np.empty(p.pop_size, dtype=np.float64)
        self._archive = Archive(p.hall_of_fame_size, p.n_params)
        self._history = History(p.pop_size)
        self._clock_offset = 0.0
        self._clock_start: float | None = None

    @property
    def params(self) -> Params:
        """The frozen, validated parameters (see :meth:`get_params`)."""
        return self._params

    def _kernel_threads(self) -> int:
        """Threads for the population-sized kernels: one below the shared
        work threshold, else the user's ``n_threads`` (resolved once, at
        construction; results do not depend on it)."""
        return self._threads

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

    def _seeds_only_spec(self) -> dict[str, Any] | None:
        """The pending population as the arguments of
        ``pyneat_lite.evaluation.ESSpec`` (seeds-only evaluators), or None when
        the population itself must travel (here: always)."""
        return None

    def _checked_fitness(self, fitness: Any, n_pop: int) -> Float64Array:
        """Hook: the told ``fitness`` as float64 ``(n_pop,)``, validated
        (the GA with a multi-objective selection takes objectives)."""
        return check_fitness(fitness, n_pop, caller=self._tell_caller)

    def _check_told(self, fitness: Float64Array) -> None:
        """Hook: reject a tell that would corrupt the state, before any of
        it changes.  Here: the rows that may enter the hall of fame (the
        best ``hall_of_fame_size`` by ``fitness``) must still be finite -- a
        fitness function may have written into the genomes it was given.
        Subclasses whose population is their state check every row."""
        pop = self._current_population()
        # the common case, every value finite, in one pass over a small
        # population: cheaper than selecting the top rows below
        if (isinstance(pop, np.ndarray) and pop.size <= _WHOLE_CHECK_MAX
                and np.isfinite(pop).all()):
            return
        f = fitness if self._params.minimize else -fitness
        f = np.where(np.isnan(f), np.inf, f)
        k = min(self._params.hall_of_fame_size, f.shape[0])
        top = np.argpartition(f, k - 1)[:k]
        # a structured population may count without writing the genomes
        count = getattr(pop, "count_nonfinite", None)
        self._raise_if_nonfinite(count(top) if count is not None else
                                 int(np.count_nonzero(~np.isfinite(pop[top]))))

    def _raise_if_nonfinite(self, n_bad: int) -> None:
        if n_bad:
            raise ValueError(
                f"The genomes returned by {type(self).__name__}.ask() must still be "
                f"finite when their fitness is told. Got {n_bad} NaN or infinite "
                "values instead: the 'fitness' function must not write into the "
                "population it is given (evaluate a copy if it must)."
            )

    def _adjust_fitness(self, fitness: Float64Array) -> bool:
        """Hook to amend the told fitness in place (GA: kept elites); returns
        whether it may have written NaN."""
        return False

    def get_params(self) -> dict[str, Any]:
        """Constructor arguments (JSON-serialisable; operators as configs).

        Values are the resolved ones (a defaulted ``lr`` is the number it was
        derived as, ``seed`` is an int).  Arrays given to the constructor (an
        initial population, ``x0``) are not included: they are part of the
        state once the algorithm exists.
        """
        return self._params.to_dict()

    @classmethod
    def _from_params(cls, params: Mapping[str, Any]) -> Algorithm:
        """Build an instance from :meth:`get_params` output (checkpoints)."""
        return cls(**cls.Params.decode(params))

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
        if not self._pending:
            raise RuntimeError(
                f"{self._tell_caller} was called without a pending ask(): call "
                "ask() first, then tell() once with the fitness of the population "
                "it returned."
            )
        p = self._params
        fit = self._fitness
        n_pop = fit.shape[0]  # pop_size, or the current size of a Restarts run
        checked = self._checked_fitness(fitness, n_pop)
        self._check_told(checked)  # before any state changes
        np.copyto(fit, checked)
        finite = np.isfinite(fit)
        n_bad = n_pop - int(np.count_nonzero(finite))
        if n_bad:
            fit[~finite] = np.nan
            warnings.warn(
                f"{n_bad} of {n_pop} fitness values of generation "
                f"{self._generation} were NaN or infinite; they count as the "
                "worst fitness.",
                NonFiniteFitnessWarning,
                stacklevel=2,
            )
        has_nan = self._adjust_fitness(fit) or n_bad > 0
        score = self._score
        if p.minimize:
            np.negative(fit, out=score)
        else:
            np.copyto(score, fit)
        if has_nan:
            score[np.isnan(score)] = -np.inf
        self._archive.update(self._current_population(), score)
        self._evaluations += n_pop
        now = time.perf_counter()
        start = self._clock_start if self._clock_start is not None else now
        self._history.record(self._generation, fit, n_bad, self._evaluations,
                             self._clock_offset + (now - start), has_nan)
        self._tell(fit, score)
        self._generation += 1
        self._pending = False
        self._told = True

    run = loop.run

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
        if self._archive.n == 0:
            return None
        return self._archive.best.copy()

    @property
    def best_fitness(self) -> float:
        """Fitness of :attr:`best`, in the user's sign (NaN before any tell)."""
        if self._archive.n == 0:
            return float("nan")
        return self._to_user(self._archive.best_score)

    @property
    def fitness(self) -> Float64Array:
        """Copy of the last told fitness (NaN where non-finite)."""
        return self._fitness.copy()

    @property
    def hall_of_fame(self) -> HallOfFame:
        """Top distinct genomes evaluated so far with their fitness."""
        return self._archive.snapshot(self._to_user)

    @property
    def history(self) -> dict[str, np.ndarray]:
        """Per-generation statistics as arrays (see :class:`Result`)."""
        return self._history.arrays()

    def _to_user(self, score: Any) -> Any:
        """Higher-is-better score -> the user's sign (float or array)."""
        if isinstance(score, np.ndarray):
            return -score if self._params.minimize else score
        return float(-score if self._params.minimize else score)

    # ------------------------------------------------------------ checkpoints
    def save(self, path: Any) -> None:
        """Write the whole state to ``path`` (:func:`pyneat_lite.checkpoint.save`).

        Examples
        --------
        >>> import os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "run.ckpt")
        >>> ga = pn.GA(n_params=4, pop_size=8, seed=0)
        >>> ga.tell(ga.ask().sum(axis=1))
        >>> ga.save(path)
        >>> again = pn.load(path)
        >>> bool(np.array_equal(again.ask(), ga.ask()))
        True
        """
        checkpoint.save(self, path)

    def _state(self) -> tuple[dict[str, Any], dict[str, Any], dict[str, np.ndarray]]:
        """(parameters, JSON scalars, arrays) of the complete state: what a
        checkpoint stores (the names are the file format)."""
        scalars: dict[str, Any] = {}
        for name in self._BASE_STATE_SCALARS + self._STATE_SCALARS:
            v = getattr(self, name)
            scalars[name] = v.item() if isinstance(v, np.generic) else v
        scalars["_hof_n"], hof = self._archive.state()
        if self._clock_start is not None and self._history.last_time is not None:
            scalars["_clock_offset"] = self._history.last_time
        arrays = {"_fitness": self._fitness}
        arrays.update({f"_hof_{k}": v for k, v in hof.items()})
        for name in self._STATE_ARRAYS:
            v = getattr(self, name)
            if v is not None:
                arrays[name] = v
        for key, values in self._history.arrays().items():
            arrays["history/" + key] = values
        if self._fitness_state is not None:
            arrays.update({"fitness/" + k: np.asarray(v)
                           for k, v in self._fitness_state.items()})
        return self.get_params(), scalars, arrays

    @classmethod
    def _from_checkpoint(
        cls,
        params: Mapping[str, Any],
        scalars: Mapping[str, Any],
        arrays: Mapping[str, np.ndarray],
    ) -> Algorithm:
        """Rebuild an instance from :meth:`_state` output (``pn.load``)."""
        algo = cls._from_params(params)
        algo._set_state(scalars, arrays)
        return algo

    def _set_state(
        self, scalars: Mapping[str, Any], arrays: Mapping[str, np.ndarray]
    ) -> None:
        for name in self._BASE_STATE_SCALARS + self._STATE_SCALARS:
            setattr(self, name, scalars[name])
        np.copyto(self._fitness, self._checked_array(arrays, "_fitness", self._fitness))
        _, hof = self._archive.state()  # shapes and dtypes to expect
        self._archive.set_state(
            int(scalars["_hof_n"]),
            {k: self._checked_array(arrays, f"_hof_{k}", v) for k, v in hof.items()},
        )
        for name in self._STATE_ARRAYS:
            cur = getattr(self, name)
            if name not in arrays:
                if cur is not None:
                    raise ValueError(f"checkpoint lacks the state array {name!r}")
                continue
            a_new = self._checked_array(arrays, name, cur)
            setattr(self, name, np.array(a_new, copy=True, order="C"))
        self._history.load({k: arrays["history/" + k] for k in HISTORY_KEYS})
        k = len("fitness/")
        fit = {name[k:]: np.array(v) for name, v in arrays.items()
               if name.startswith("fitness/")}
        self._fitness_state = self._fitness_resume = fit or None
        self._clock_start = None
        self._after_load()

    @staticmethod
    def _checked_array(
        arrays: Mapping[str, np.ndarray], name: str, cur: np.ndarray | None
    ) -> np.ndarray:
        if name not in arrays:
            raise ValueError(f"checkpoint lacks the state array {name!r}")
        a = arrays[name]
        if cur is not None and (a.shape != cur.shape or a.dtype != cur.dtype):
            raise ValueError(
                f"checkpoint state array {name!r} has shape {a.shape} and dtype "
                f"{a.dtype}; this configuration needs {cur.shape} {cur.dtype}"
            )
        return a

    def _after_load(self) -> None:
        """Hook: re-derive views/aliases after the state arrays were replaced."""

    # ------------------------------------------------------------------ repr
    def __repr__(self) -> str:
        # scikit-learn's convention: only the parameters that differ from
        # what the constructor's defaults give for this genome length,
        # population size and seed, then the progress
        p = self._params
        base = _default_params(type(self), p)
        parts = [f"n_params={p.n_params}", f"pop_size={p.pop_size}", f"seed={p.seed}"]
        for name in p.names():
            value = getattr(p, name)
            if name in ("n_params", "pop_size", "seed"):
                continue
            if base is not None and _same(value, getattr(base, name)):
                continue
            parts.append(f"{name}={_fmt(value)}")
        parts.append(f"generation={self._generation}")
        parts.append(f"best_fitness={self.best_fitness:.6g}")
        return f"{type(self).__name__}({', '.join(parts)})"


def _default_params(cls: type[Algorithm], p: Params) -> Params | None:
    """The parameters the constructor's defaults resolve to with ``p``'s
    genome length, population size and seed (None if they are invalid)."""
    sig = inspect.signature(cls.__init__)
    values = {k: v.default for k, v in sig.parameters.items()
              if v.default is not inspect.Parameter.empty}
    values.update(n_params=p.n_params, pop_size=p.pop_size, seed=p.seed)
    try:
        return cls.Params.from_arguments(values, cls.__name__)
    except (ValueError, TypeError, KeyError):
        return None


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except Exception:  # pragma: no cover - exotic comparisons
        return False


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return repr(value)
