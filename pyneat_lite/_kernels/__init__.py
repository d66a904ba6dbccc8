"""Numba kernels: explicit loops over arrays and plain numbers, no validation.

Every kernel takes float32 C-contiguous arrays, int64 sizes and uint64 seeds,
and writes into preallocated outputs; the public wrappers (``network``,
``tasks``, ``algorithms``) validate once and call them.  Options live in
:mod:`._config`.  Users never import from here.
"""
