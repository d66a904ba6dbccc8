"""Cython kernels of the operators and the counter-based RNG.

``_rng.pxd`` holds the generator (xoshiro256** seeded by splitmix64; uniform,
bounded, ziggurat normal and exponential, geometric gaps) as ``cdef inline``
functions for any Cython module to cimport; ``_evolution.pxd`` the operator
codes (``cpdef enum``); ``_evolution.pyx`` the kernels.  Python code imports
the kernels from here (``from pyneat_lite import _operators as _k``).
Kernels do no validation: the wrappers of :mod:`pyneat_lite.operators` and
:mod:`pyneat_lite._rng` do.
"""

from ._evolution import (
    MAX_CUTS,
    N_PRM,
    CrossoverCode,
    MutationCode,
    SelectionCode,
    _count_nonfinite,
    _cross,
    _last_team,
    _mate,
    _mutate,
    _next_generation,
    _select,
    _standard_normal,
    _sus,
    _uniform,
    openmp_enabled,
)
from ._rng import _compiled_tables, _rng_draws, _rng_words
from ._tables import exponential_tables as _exponential_tables
from ._tables import ziggurat_tables as _ziggurat_tables

# the interface of the kernels to the Python layer (a private package)
__all__ = [
    "MAX_CUTS",
    "N_PRM",
    "CrossoverCode",
    "MutationCode",
    "SelectionCode",
    "_compiled_tables",
    "_count_nonfinite",
    "_cross",
    "_exponential_tables",
    "_last_team",
    "_mate",
    "_mutate",
    "_next_generation",
    "_rng_draws",
    "_rng_words",
    "_select",
    "_standard_normal",
    "_sus",
    "_uniform",
    "_ziggurat_tables",
    "openmp_enabled",
]
