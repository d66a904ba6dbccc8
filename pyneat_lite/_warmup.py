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

import os
import time
from typing import Any

import numpy as np

__all__ = ["warmup", "kernels_cached"]


def kernels_cached(*dispatchers: Any) -> bool:
    """Whether Numba's on-disk cache has an entry for every dispatcher (so
    their first calls load machine code instead of compiling it).

    Reads where Numba keeps each kernel's cache index (``NUMBA_CACHE_DIR``
    or ``__pycache__``); when that cannot be told (a Numba without these
    internals, a kernel without ``cache=True``) it answers True, so that
    callers only ever announce a compilation that will happen.
    """
    for d in dispatchers:
        try:
            index = d._cache._cache_file._index_path
        except AttributeError:
            continue
        if not os.path.exists(index):
            return False
    return True


def warmup(verbose: bool = False, *, recurrent: bool = True,
           conv: bool = False) -> float:
    """Compile (or load from the cache) the network forward kernels.

    Runs each entry kernel of :mod:`pyneat_lite._kernels.forward` once on
    tiny arrays, in its serial and its parallel variant: the shared-input
    paths (``"loops"`` and ``"gemm"``), the per-genome path, and
    :func:`~pyneat_lite.network.forward_one`.  Results are discarded.

    With ``recurrent`` (default) also the step of networks with RNN/GRU
    layers (:mod:`pyneat_lite._kernels.recurrent`), with ``conv`` the
    forwards of networks with convolution and pooling layers
    (:mod:`pyneat_lite._kernels.conv`: shared inputs and one input per
    genome), each in both variants.  The rollout kernels of
    :mod:`pyneat_lite.envs` are not included (the first rollout compiles
    the variant it needs).

    Cold cost, measured with an empty ``NUMBA_CACHE_DIR`` (CPU time of the
    process, 2 cores, load 1-4): the dense kernels 50.3 s, with the
    recurrent step 53.9 s, with the convolution kernels too 96.6 s -- they
    cost almost as much as all the dense ones, hence ``conv`` off by
    default; from a filled cache, about 1 s in all.

    Parameters
    ----------
    verbose : bool
        Print the time taken.
    recurrent : bool, default=True
        Also the recurrent step.
    conv : bool, default=False
        Also the convolution network forwards.

    Returns
    -------
    float
        Seconds spent (compilation or cache loading).

    Examples
    --------
    >>> import pyneat_lite as pn
    >>> seconds = pn.warmup()
    """
    from ._kernels import forward as kernels
    from ._threads import single_threaded_blas
    from .network import Network

    t0 = time.perf_counter()
    net = Network([3, 8, 2], ["tanh", "softmax"])
    pop = net.init_population(4, seed=0)
    X = np.zeros((20, 3), np.float32)
    out = np.empty((4, 20, 2), np.float32)
    inputs = np.zeros((4, 3), np.float32)
    out_each = np.empty((4, 2), np.float32)
    # the parallel variants are called directly: this problem is too small
    # for Network's own choice to run them
    g = kernels.block_genomes(4, 8, 20, chunk_size=2)
    for n_chunks in (1, 2):
        kernels.forward_shared_direct(pop, X, net.meta, net.max_width, out, n_chunks)
        wcat = np.empty((n_chunks, 3 * g * 8), np.float32)
        ht = np.empty((n_chunks, g * 8 * 20), np.float32)
        with single_threaded_blas():
            kernels.forward_shared_gemm(pop, X, net.meta, out, g, wcat, ht, n_chunks)
        # both forward_each paths: tiled (small nets) and genome by genome
        # (a max_width above the tiling bound selects it; scratch only grows)
        for width in (net.max_width, kernels.TILE_MAX_WIDTH + 1):
            kernels.forward_each_kernel(pop, inputs, net.meta, width, out_each,
                                        n_chunks)
    buf_a = np.empty(net.max_width, np.float32)
    buf_b = np.empty(net.max_width, np.float32)
    kernels.forward_one(pop[0], inputs[0], net.meta, buf_a, buf_b, out_each[0])
    kernels.apply_activation(out_each[0], 0)
    net.forward_each(pop, inputs, out_each)  # the checked fast path's helper
    if recurrent:
        _warm_recurrent()
    if conv:
        _warm_conv()
    seconds = time.perf_counter() - t0
    if verbose:
        print(f"pyneat_lite.warmup: forward kernels ready in {seconds:.2f} s")
    return seconds


def _warm_recurrent() -> None:
    """The recurrent step, serial and parallel (one net with every layer
    kind it runs: the kernels read the kinds at run time)."""
    from ._kernels import recurrent
    from .layers import GRU, RNN, Dense
    from .network import Network

    net = Network(layers=[RNN(3), GRU(3), Dense(2, "softmax")], input_shape=4)
    pop = net.init_population(4, seed=0)
    state = net.init_state(4)
    x = np.zeros((4, 4), np.float32)
    out = np.empty((4, 2), np.float32)
    for n_chunks in (1, 2):
        recurrent.step_each(pop, x, net.meta, state, net.max_width, out, n_chunks)


def _warm_conv() -> None:
    """The convolution network forwards, shared inputs and one input per
    genome, serial and parallel."""
    from ._kernels import conv
    from ._threads import single_threaded_blas
    from .layers import AvgPool2D, Conv2D, Dense, Flatten, MaxPool2D
    from .network import Network

    net = Network(layers=[Conv2D(2, 3, padding="same", activation="relu"),
                          MaxPool2D(2), Conv2D(2, 3), AvgPool2D(2), Flatten(),
                          Dense(3, "softmax")], input_shape=(1, 8, 8))
    pop = net.init_population(4, seed=0)
    X = np.zeros((4, 64), np.float32)
    out = np.empty((4, 3, 3), np.float32)
    out_each = np.empty((4, 3), np.float32)
    with single_threaded_blas():
        for n_chunks in (1, 2):
            conv.stack_forward_shared(pop, X[:3], net.meta, 2, 3, out, n_chunks)
            conv.stack_forward_shared(pop[:1], X[:3], net.meta, 2, 1, out[:1],
                                      n_chunks, True)
            conv.stack_forward_each(pop, X, net.meta, out_each, n_chunks)
