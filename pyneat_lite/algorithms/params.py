"""Algorithm parameters, declared once.

Every algorithm declares its parameters in one frozen dataclass (evosax's
``Params``): one field per constructor keyword, each carrying its
constraint.  That declaration is the single source of the validation (done
once, in ``__post_init__``), of :meth:`Algorithm.get_params`, of the
algorithm's ``repr`` and of what a checkpoint stores; the algorithm exposes
every field as a read-only attribute.  The defaults stay in the keyword
constructors, where a user reads them.

Arrays given to a constructor (``x0``, ``initial_population``) are not
parameters: they become part of the state.

Error messages follow scikit-learn's shape (see :mod:`pyneat_lite._validation`):
"The 'sigma' parameter of SNES must be in the range (0.0, inf]. Got 0.0
instead."
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import InitVar, dataclass, fields
from typing import Any

import numpy as np

from .._rng import resolve_seed
from .._threads import effective_n_threads
from .._validation import MAX_SCALE, check_int, check_scalar, check_scale

__all__ = [
    "DECAY",
    "FRACTION",
    "NON_NEGATIVE",
    "POSITIVE",
    "PROBABILITY",
    "Params",
    "ESParams",
    "param",
    "Int",
    "Real",
    "Scale",
    "Bool",
    "OneOf",
    "Seed",
    "Threads",
]

Check = Callable[[Any, str, str | None], Any]


def _where(caller: str | None) -> str:
    return f" of {caller}" if caller else ""


# ------------------------------------------------------------- constraints
# Each constraint is a callable ``check(value, name, caller) -> value`` that
# returns the validated (converted) value or raises ValueError / TypeError
# naming the parameter, the caller and the expectation.


@dataclass(frozen=True)
class Int:
    """An integer in ``[min_val, max_val]`` (bools are rejected)."""

    min_val: int | None = None
    max_val: int | None = None
    optional: bool = False

    def __call__(self, x: Any, name: str, caller: str | None) -> int | None:
        if x is None and self.optional:
            return None
        return check_int(x, name, caller=caller, min_val=self.min_val,
                         max_val=self.max_val)


@dataclass(frozen=True)
class Real:
    """A finite real number within the bounds, returned as a Python float."""

    min_val: float | None = None
    max_val: float | None = None
    include_min: bool = True
    include_max: bool = True
    optional: bool = False

    def __call__(self, x: Any, name: str, caller: str | None) -> float | None:
        if x is None and self.optional:
            return None
        return check_scalar(
            x,
            name,
            caller=caller,
            min_val=self.min_val,
            max_val=self.max_val,
            include_min=self.include_min,
            include_max=self.include_max,
        )


@dataclass(frozen=True)
class Scale(Real):
    """The standard deviation of float32 noise: a :class:`Real` in
    ``(0, MAX_SCALE)`` (``[0, MAX_SCALE)`` with ``allow_zero``), small enough
    that the genomes it makes stay finite
    (:data:`pyneat_lite._validation.MAX_SCALE`)."""

    min_val: float | None = 0.0
    max_val: float | None = MAX_SCALE
    include_min: bool = False
    include_max: bool = False

    def __call__(self, x: Any, name: str, caller: str | None) -> float:
        return check_scale(x, name, caller=caller, allow_zero=self.include_min)


@dataclass(frozen=True)
class Bool:
    """A bool (or NumPy bool), returned as a Python bool."""

    def __call__(self, x: Any, name: str, caller: str | None) -> bool:
        if not isinstance(x, (bool, np.bool_)):
            raise TypeError(
                f"The {name!r} parameter{_where(caller)} must be a bool. "
                f"Got {x!r} instead."
            )
        return bool(x)


@dataclass(frozen=True)
class OneOf:
    """One of a few strings."""

    choices: tuple[str, ...]
    optional: bool = False

    def __call__(self, x: Any, name: str, caller: str | None) -> Any:
        if x is None and self.optional:
            return None
        if not isinstance(x, str) or x not in self.choices:
            if len(self.choices) == 2:
                want = f"{self.choices[0]!r} or {self.choices[1]!r}"
            else:
                want = f"one of {self.choices}"
            raise ValueError(
                f"The {name!r} parameter{_where(caller)} must be {want}. "
                f"Got {x!r} instead."
            )
        return x


@dataclass(frozen=True)
class Seed:
    """An int >= 0, a ``SeedSequence`` or None, resolved to the int kept in
    checkpoints (None draws OS entropy once)."""

    def __call__(self, x: Any, name: str, caller: str | None) -> int:
        return resolve_seed(x, caller=caller)


@dataclass(frozen=True)
class Threads:
    """None (all cores) or a nonzero int (negative counts back)."""

    def __call__(self, x: Any, name: str, caller: str | None) -> int | None:
        if x is not None:
            effective_n_threads(x)  # validates
        return x


#: constraints several algorithms share
POSITIVE = Real(min_val=0.0, include_min=False)  # (0, inf)
NON_NEGATIVE = Real(min_val=0.0)  # [0, inf)
DECAY = Real(min_val=0.0, max_val=1.0, include_max=False)  # [0, 1): momenta
FRACTION = Real(min_val=0.0, max_val=1.0, include_min=False)  # (0, 1]
PROBABILITY = Real(min_val=0.0, max_val=1.0)  # [0, 1]


def param(
    check: Check,
    *,
    encode: Callable[[Any], Any] | None = None,
    decode: Callable[[Any], Any] | None = None,
    attr: str | None = None,
    doc: str = "",
) -> Any:
    """Declare one parameter field of a :class:`Params` dataclass.

    Parameters
    ----------
    check : callable
        ``check(value, name, caller) -> value``: validates and converts.
    encode, decode : callable, optional
        To and from the JSON value stored by :meth:`Params.to_dict` (for
        values that are not JSON themselves, e.g. operator objects).
    attr : str, optional
        Name of the algorithm's read-only attribute for this field when it
        differs from the field name (``sigma`` -> ``sigma0``, since
        ``sigma`` is the current standard deviation).
    doc : str, optional
        Docstring of that attribute.
    """
    return dataclasses.field(
        metadata={"check": check, "encode": encode, "decode": decode,
                  "attr": attr, "doc": doc}
    )


# ------------------------------------------------------------------ params
@dataclass(frozen=True, kw_only=True)
class Params:
    """Parameters every algorithm has; subclasses add their own fields.

    Constructing one validates every field in declaration order, then calls
    :meth:`_resolve` for derived values and checks that involve several
    fields.  ``caller`` (not a field) names the algorithm in error messages.

    Attributes
    ----------
    n_params : int
        Genome length.
    pop_size : int
        Genomes per generation.
    minimize : bool
        Lower fitness is better.
    seed : int
        The resolved seed.
    hall_of_fame_size : int
        Distinct best genomes kept.
    n_threads : int or None
        Threads of the kernels (None: all cores).
    """

    n_params: int = param(Int(min_val=1))
    pop_size: int = param(Int(min_val=2))
    minimize: bool = param(Bool())
    seed: int = param(Seed())
    hall_of_fame_size: int = param(Int(min_val=1))
    n_threads: int | None = param(Threads())
    caller: InitVar[str | None] = None

    def __post_init__(self, caller: str | None) -> None:
        caller = caller or type(self).__name__
        for f in fields(self):
            value = f.metadata["check"](getattr(self, f.name), f.name, caller)
            object.__setattr__(self, f.name, value)
        self._resolve(caller)

    def _resolve(self, caller: str) -> None:
        """Hook: derived values (``None`` -> computed) and checks across
        fields; set values with :meth:`_set`."""

    def _set(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """The parameter names, in declaration order."""
        return tuple(f.name for f in fields(cls))

    @classmethod
    def from_arguments(cls, arguments: Mapping[str, Any], caller: str) -> Params:
        """Build from a constructor's ``locals()``: every field is taken by
        name, other entries (``self``, arrays) are ignored."""
        return cls(caller=caller, **{k: arguments[k] for k in cls.names()})

    def to_dict(self) -> dict[str, Any]:
        """The parameters as JSON values (``get_params``, checkpoints)."""
        out = {}
        for f in fields(self):
            v = getattr(self, f.name)
            enc = f.metadata["encode"]
            out[f.name] = enc(v) if enc is not None and v is not None else v
        return out

    @classmethod
    def decode(cls, values: Mapping[str, Any]) -> dict[str, Any]:
        """Inverse of :meth:`to_dict`, as constructor keywords.

        Raises
        ------
        ValueError
            If a name is unknown or missing (a typo must not pass silently).
        """
        names = cls.names()
        unknown = sorted(set(values) - set(names))
        missing = [n for n in names if n not in values]
        if unknown or missing:
            raise ValueError(
                f"{cls.__name__} needs exactly the parameters {list(names)}. "
                f"Got unknown {unknown} and missing {missing} instead."
            )
        out = {}
        for f in fields(cls):
            v = values[f.name]
            dec = f.metadata["decode"]
            out[f.name] = dec(v) if dec is not None and v is not None else v
        return out


@dataclass(frozen=True, kw_only=True)
class ESParams(Params):
    """Parameters every evolution strategy has.

    Attributes
    ----------
    sigma : float
        Initial standard deviation (the algorithm's ``sigma0`` attribute).
    """

    sigma: float = param(
        Scale(),
        attr="sigma0",
        doc="Initial standard deviation of the search distribution.",
    )
    @property
    def antithetic_sampling(self) -> bool:
        """Whether the population is made of mirrored pairs ``mean +- noise``:
        the ``antithetic`` field where a strategy has one, else False;
        strategies that always mirror override this."""
        return bool(getattr(self, "antithetic", False))

    def _resolve(self, caller: str) -> None:
        if self.antithetic_sampling and self.pop_size % 2:
            raise ValueError(
                f"The 'pop_size' parameter of {caller} must be even with antithetic "
                f"sampling (pairs mean +- noise). Got {self.pop_size} instead."
            )
