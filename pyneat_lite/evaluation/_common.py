"""Plumbing shared by the evaluators: the base class, return-value checks,
pickling of the fitness function, chunking and timeouts."""

from __future__ import annotations

import math
import numbers
import pickle
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from .._validation import check_fitness, check_scalar

if TYPE_CHECKING:
    from ._seeds import ESSpec

#: Seconds a distributed evaluator allows one generation by default.  Far
#: above a typical generation (milliseconds to a few seconds, a minute for
#: long rollouts), short enough that a hung fitness function fails the run
#: with a ``TimeoutError`` instead of blocking it for ever.
DEFAULT_TIMEOUT = 600.0


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
             caller: str, label: str | None = None) -> np.ndarray:
    value = fn(pop)
    name = f"return value of fn for genomes {label or f'{lo}..{lo + len(pop) - 1}'}"
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


class _Span(NamedTuple):
    """The genomes of one task: rows ``lo..hi-1`` and, when ``mirror`` is
    set, their antithetic partners ``mirror + lo .. mirror + hi - 1`` too
    (one noise draw serves both)."""

    lo: int
    hi: int
    mirror: int = 0

    def index(self) -> slice | np.ndarray:
        if not self.mirror:
            return slice(self.lo, self.hi)
        r = np.arange(self.lo, self.hi)
        return np.concatenate([r, r + self.mirror])

    def __str__(self) -> str:
        text = f"{self.lo}..{self.hi - 1}"
        if self.mirror:
            text += f" and {self.lo + self.mirror}..{self.hi - 1 + self.mirror}"
        return text


def _spans(n: int, chunk_size: int, mirror: int = 0) -> list[_Span]:
    """Tasks over ``n`` genomes, or over ``mirror`` antithetic pairs."""
    if not mirror:
        return [_Span(lo, hi) for lo, hi in _chunks(n, chunk_size)]
    pairs = max(1, chunk_size // 2)
    return [_Span(lo, hi, mirror) for lo, hi in _chunks(mirror, pairs)]


def _chunk_size(n: int, chunk_size: int | None, n_cpus: int, batched: bool) -> int:
    # per-genome functions: finer chunks balance unequal evaluation times
    return chunk_size or math.ceil(n / (n_cpus if batched else 4 * n_cpus))


def _check_timeout(timeout: Any, caller: str) -> float | None:
    if timeout is None:
        return None
    return check_scalar(timeout, "timeout", caller=caller, min_val=0.0,
                        include_min=False)


def _check_fn(fn: Any, caller: str) -> None:
    if not callable(fn):
        raise TypeError(
            f"The 'fn' argument of {caller} must be a callable fitness function. "
            f"Got {type(fn).__name__} instead."
        )


class _Evaluator:
    """Context-manager plumbing shared by the evaluators."""

    #: ``run`` hands an evolution strategy's population to
    #: :meth:`evaluate_es` instead of :meth:`evaluate` when this is true.
    seeds_only = False

    def evaluate(self, fn: Callable[[np.ndarray], Any], population: Any) -> np.ndarray:
        raise NotImplementedError  # pragma: no cover - abstract

    def evaluate_es(self, fn: Callable[[np.ndarray], Any],
                    spec: ESSpec | Mapping[str, Any]) -> np.ndarray:
        """Fitness of the evolution-strategy population described by ``spec``.

        The same numbers as ``evaluate(fn, spec.population())``.  This
        in-process version materializes the population; :class:`ProcessPool`
        and :class:`Ray` send only ``spec`` and let each worker rebuild its
        rows.

        Parameters
        ----------
        fn : callable
            The fitness function, called as by :meth:`evaluate`.
        spec : ESSpec or mapping
            Centre, scale and random-stream key of the population (a mapping
            is passed to ``ESSpec(**spec)``).

        Returns
        -------
        float64 array of shape (spec.pop_size,)
        """
        from ._seeds import as_spec

        caller = f"{type(self).__name__}.evaluate_es"
        spec = as_spec(spec, caller)
        return self.evaluate(fn, spec.population())

    def __call__(self, fn: Callable[[np.ndarray], Any], population: Any) -> np.ndarray:
        return self.evaluate(fn, population)

    def close(self) -> None:
        """Release the evaluator's resources (idempotent)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
