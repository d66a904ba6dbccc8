# OpenMP where the extension was compiled with it, serial stand-ins otherwise
# (the pattern of scikit-learn's ``utils/_openmp_helpers.pxd``): kernels
# cimport these names and build either way.  Without OpenMP, ``prange`` runs
# on one thread with the same results.

cdef extern from *:
    """
    #ifdef _OPENMP
    #include <omp.h>
    #define PNL_OPENMP 1
    #else
    #define PNL_OPENMP 0
    #define omp_get_thread_num() 0
    #define omp_get_num_threads() 1
    #endif
    """
    const int PNL_OPENMP  # 1 if compiled with OpenMP
    int omp_get_thread_num() noexcept nogil
    int omp_get_num_threads() noexcept nogil
