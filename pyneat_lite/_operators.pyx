# cython: language_level=3
"""Cython kernels: selection, crossover, mutation and the counter-based RNG."""

cdef extern from *:
    """
    #ifdef _OPENMP
    #include <omp.h>
    #define PNL_OPENMP 1
    #else
    #define PNL_OPENMP 0
    #endif
    """
    int PNL_OPENMP


def openmp_enabled():
    """True when the extension was compiled with OpenMP."""
    return bool(PNL_OPENMP)
