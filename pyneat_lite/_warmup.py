"""Pay the JIT cost up front.

Numba compiles a kernel on its first call (about a second per kernel) or,
with the on-disk cache (``cache=True``, see ``NUMBA_CACHE_DIR``), loads it
(tens of milliseconds).  :func:`warmup` triggers both paths once, on tiny
arrays, so that the first real call of a timed loop, a benchmark or a
service request does not pay for it.  Call it in the parent process before
starting worker processes: the workers then load the cache instead of all
compiling at once.
"""

from __future__ import annotations

import time

import numpy as np

__all__ = ["warmup"]


def warmup(verbose: bool = False) -> float:
    """Compile (or load from the cache) every network forward kernel.

    Runs each kernel of :mod:`pyneat_lite._forward` once on tiny arrays:
    the shared-input paths (``"loops"`` and ``"gemm"``), the per-genome
    path (serial and parallel) and :func:`~pyneat_lite._forward.forward_one`.
    Results are discarded.

    Parameters
    ----------
    verbose : bool
        Print the time taken.

    Returns
    -------
    float
        Seconds spent (compilation or cache loading).

    Examples
    --------
    >>> import pyneat_lite as pn
    >>> seconds = pn.warmup()
    """
    from . import _forward
    from .network import Network

    t0 = time.perf_counter()
    net = Network([3, 8, 2], ["tanh", "softmax"])
    pop = net.init_population(4, seed=0)
    X = np.zeros((20, 3), np.float32)
    net.forward(pop, X, method="loops")
    net.forward(pop, X, method="gemm")
    inputs = np.zeros((4, 3), np.float32)
    out = np.empty((4, 2), np.float32)
    _forward.forward_each_kernel(pop, inputs, net.meta, net.max_width, out, 1)
    _forward.forward_each_kernel(pop, inputs, net.meta, net.max_width, out, 2)
    buf_a = np.empty(net.max_width, np.float32)
    buf_b = np.empty(net.max_width, np.float32)
    _forward.forward_one(pop[0], inputs[0], net.meta, buf_a, buf_b, out[0])
    _forward.apply_activation(out[0], 0)
    seconds = time.perf_counter() - t0
    if verbose:
        print(f"pyneat_lite.warmup: forward kernels ready in {seconds:.2f} s")
    return seconds
