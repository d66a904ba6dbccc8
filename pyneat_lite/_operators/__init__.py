"""Cython kernels of the operators and the counter-based RNG.

``_rng.pxd`` holds the generator (xoshiro256** seeded by splitmix64; uniform,
bounded, ziggurat normal and exponential, geometric gaps) as ``cdef inline``
functions for any Cython module to cimport; ``_evolution.pxd`` the operator
codes (``cpdef enum``); ``_evolution.pyx`` the kernels.  Python code imports
the kernels from here (``from pyneat_lite import _operators as _k``).
Kernels do no validation: the wrappers of :mod:`pyneat_lite.operators` and
:mod:`pyneat_lite._rng` do.
"""

try:
    from . import _evolution  # noqa: F401  (the compiled extension)
except ImportError as exc:  # an unbuilt source tree shadows the installed one
    from pathlib import Path

    _here = Path(__file__).resolve().parent
    raise ImportError(
        f"pyneat_lite's compiled operators are missing from {_here}: Python is "
        "importing an unbuilt source tree (this happens when it runs from the "
        "root of a checkout after `pip install .`). Run it from another "
        "directory to use the installed copy, or build this tree with "
        "`pip install -e .` (or `python setup.py build_ext --inplace`)."
    ) from exc

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
