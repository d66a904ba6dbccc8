"""In-process evaluators: the whole population at once, or genome by genome."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .._validation import check_fitness, check_population
from ._common import _check_fn, _Evaluator, _per_genome


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
        caller = "Vectorized.evaluate"
        _check_fn(fn, caller)
        pop = check_population(population, caller=caller, finite=False)
        return check_fitness(fn(pop), pop.shape[0], name="return value of fn",
                             caller=caller)

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
        caller = "Serial.evaluate"
        _check_fn(fn, caller)
        pop = check_population(population, caller=caller, finite=False)
        return _per_genome(fn, pop, 0, caller)

    def __repr__(self) -> str:
        return "Serial()"
