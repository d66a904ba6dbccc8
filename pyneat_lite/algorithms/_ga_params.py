"""The parameters of :class:`~pyneat_lite.algorithms.ga.GA` and their
validation (split from ``ga.py``; ``ga`` imports them back, the public names
stay there).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import operators as ops
from .params import PROBABILITY, Bool, Int, OneOf, Params, Scale, param

__all__ = ["GAParams", "REPLACEMENTS"]

REPLACEMENTS = ("generational", "plus", "comma")


def _op_config(op: Any) -> Any:
    if isinstance(op, list):
        return [o.to_config() for o in op]
    return op.to_config()


def _op_from_config(cfg: Any) -> Any:
    if isinstance(cfg, list):
        return [ops.operator_from_config(c) for c in cfg]
    return ops.operator_from_config(cfg)


def _check_selection(x: Any, name: str, caller: str | None) -> Any:
    if x is None:
        return ops.Tournament(k=3)
    if not isinstance(x, ops.Selection):
        raise TypeError(
            f"The {name!r} parameter of {caller} must be a Selection "
            f"(pn.Tournament(k=3), pn.Truncation(fraction=0.2), ...). "
            f"Got {x!r} instead."
        )
    return x


def _check_crossover(x: Any, name: str, caller: str | None) -> Any:
    if isinstance(x, str) and x == "default":
        return ops.UniformCrossover()
    if x is not None and not isinstance(x, ops.Crossover):
        raise TypeError(
            f"The {name!r} parameter of {caller} must be a Crossover or None. "
            f"Got {x!r} instead."
        )
    return x


def _check_mutation(x: Any, name: str, caller: str | None) -> Any:
    if isinstance(x, str) and x == "default":
        return ops.GaussianMutation(rate=0.05, sigma=0.05)
    for m in x if isinstance(x, (list, tuple)) else [x]:
        if m is not None and not isinstance(m, ops.Mutation):
            raise TypeError(
                f"The {name!r} parameter of {caller} must be a Mutation, a list "
                f"of them, or None. Got {m!r} instead."
            )
    return list(x) if isinstance(x, tuple) else x


@dataclass(frozen=True, kw_only=True)
class GAParams(Params):
    """Parameters of :class:`GA` (see its docstring).

    ``mu`` is None with "generational" replacement; ``elitism`` is resolved
    to its number.
    """

    selection: Any = param(_check_selection, encode=_op_config, decode=_op_from_config)
    crossover: Any = param(_check_crossover, encode=_op_config, decode=_op_from_config)
    mutation: Any = param(_check_mutation, encode=_op_config, decode=_op_from_config)
    elitism: int = param(Int(min_val=0, optional=True))
    crossover_prob: float = param(PROBABILITY)
    mutation_prob: float = param(PROBABILITY)
    replacement: str = param(OneOf(REPLACEMENTS, optional=True))
    mu: int | None = param(Int(min_val=1, optional=True))
    init_sigma: float = param(Scale(include_min=True))
    reevaluate_elites: bool = param(Bool())

    @property
    def survivors(self) -> int:
        """Parents kept per generation: ``mu``, or ``pop_size`` for
        "generational"."""
        return self.pop_size if self.mu is None else self.mu

    def _resolve(self, caller: str) -> None:
        P = self.pop_size
        multi = bool(getattr(self.selection, "multi_objective", False))
        if self.replacement is None:
            self._set("replacement", "plus" if multi else "generational")
        if multi and self.replacement == "generational":
            raise ValueError(
                f"The 'replacement' parameter of {caller} must be 'plus' (NSGA-II, "
                "the default) or 'comma' with a multi-objective selection "
                f"({type(self.selection).__name__}): the parents are kept by "
                "front and crowding distance. Got 'generational' instead."
            )
        if self.replacement == "generational":
            if self.mu is not None:
                raise ValueError(
                    f"The 'mu' parameter of {caller} applies to replacement='plus' "
                    f"or 'comma' only. Got mu={self.mu!r} with "
                    "replacement='generational'."
                )
            if self.elitism is None:
                self._set("elitism", min(2, P - 1))
        else:
            if self.mu is None:
                # NSGA-II: pop_size parents and pop_size children
                self._set("mu", P if multi else P // 2)
            if self.replacement == "comma" and self.mu > P:
                raise ValueError(
                    f"(mu, lambda) replacement needs lambda >= mu: the 'pop_size' "
                    f"(lambda) of {caller} must be at least mu={self.mu}. Got {P} "
                    "instead."
                )
            if self.elitism is None:
                self._set("elitism", 0)
        if self.elitism >= P:
            raise ValueError(
                f"The 'elitism' parameter of {caller} must be smaller than pop_size "
                f"({P}): at least one child per generation. Got {self.elitism} "
                "instead."
            )
        if self.elitism > self.survivors:
            raise ValueError(
                f"The 'elitism' parameter of {caller} must be at most mu "
                f"({self.survivors}). Got {self.elitism} instead."
            )
        if multi and self.elitism:
            raise ValueError(
                f"The 'elitism' parameter of {caller} must be 0 with a "
                "multi-objective selection: the survivors are the best fronts "
                f"of parents and children already. Got {self.elitism} instead."
            )
        if self.replacement == "plus" and self.elitism:
            raise ValueError(
                f"The 'elitism' parameter of {caller} must be 0 with "
                "replacement='plus': (mu + lambda) keeps the best parents by "
                f"construction. Got {self.elitism} instead."
            )
