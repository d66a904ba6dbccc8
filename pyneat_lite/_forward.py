"""Numba kernels for population forward passes (no validation here).

Kernels take float32 C-contiguous arrays, the int64 ``meta`` table of
:class:`pyneat_lite.network.Network` (one row per layer: ``n_in, n_out,
w_offset, b_offset, act_id``) and preallocated outputs.  The validating
wrappers live in :mod:`pyneat_lite.network`; they normalise every dtype so
that each kernel is compiled for exactly one signature, and ``cache=True``
keeps that compiled code on disk.

Genome layout: per layer, the kernel ``W`` of shape ``(n_in, n_out)``
row-major at ``w_offset``, then the bias ``(n_out,)`` at ``b_offset``.

Threading policy
----------------
* **No BLAS inside a parallel region.**  With shared inputs the first layer of
  a chunk of genomes is one large ``np.matmul`` issued by the Python wrapper
  (BLAS threads only), and the rest of the chunk is finished by a Numba
  ``prange`` kernel (Numba threads only).  The two never overlap, so the
  machine never runs Numba threads x BLAS threads.  Everything inside
  ``prange`` is explicit loops.
* **Parallel over genomes only.**  Every ``prange`` iteration writes the rows
  of its own genomes and nothing else, and each genome's arithmetic does not
  depend on which thread runs it: results are bit-identical for any
  ``numba.set_num_threads``.
* **Threading layer.**  Numba picks its layer by its own priority (``tbb``,
  then ``omp``, then ``workqueue``) unless ``NUMBA_THREADING_LAYER`` says
  otherwise; this module does not override that process-wide choice.  When
  Numba uses ``omp`` it shares the GNU OpenMP runtime (``libgomp``) with the
  Cython operators of an in-place or source build, so one pool of OpenMP
  threads serves both.  Measured here: starting a ``prange`` costs about
  2 us with ``omp`` and about 80 us with ``workqueue``, which matters for
  one step of a population of small policies.  GNU OpenMP is not
  fork-safe: process-pool evaluation must use the ``spawn`` or
  ``forkserver`` start method.  ``workqueue`` is always available but
  allows only one parallel kernel at a time per process (do not call these
  kernels from several Python threads at once with it).
* **Idle threads spin.**  After a parallel region, OpenMP workers (Numba's
  ``omp`` layer) and OpenBLAS workers busy-wait for more work, so when the
  two pools alternate (gather, GEMM, finish per chunk) the spinning pool
  takes cores from the working one, and on a machine busy with other
  processes a parallel region waits for descheduled workers.  Measured on a
  loaded 2-core machine, 64-32-10 on 256 genomes x 1,797 samples: 144 ms by
  default, 63 ms with ``OMP_WAIT_POLICY=PASSIVE``, 52 ms adding
  ``OPENBLAS_THREAD_TIMEOUT=4``, 45 ms with one thread each.  These
  variables must be set before the runtimes load (before importing numpy),
  so the package does not set them; on a busy or shared machine set them,
  or use ``numba.set_num_threads(1)``.

Activations
-----------
``tanh``, ``sigmoid`` and ``exp`` (softmax, elu, softplus, gaussian) use
branch-free float32 approximations that LLVM vectorises (libm calls are not
vectorised without Intel SVML).  They are accurate to a few float32 ulp (the
tests compare against NumPy in float64 with float32 tolerance), saturate
cleanly on huge inputs, and never produce inf/NaN from finite inputs.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ._kernels._config import LINEAR, OPTS, RELU, SOFTMAX, TANH
from ._kernels.math32 import activate, apply_activation, elementwise, exp32, tanh32

_OPTS = OPTS

__all__ = [
    "apply_activation",
    "forward_one",
    "forward_each_kernel",
    "forward_shared_direct",
    "gather_first_layer",
    "finish_chunk",
]

_F = np.float32
_U = np.uint64

# --------------------------------------------------------------------------
# one genome, one input row
# --------------------------------------------------------------------------
@njit(inline="always", **_OPTS)
def _layer(w, p, layer, meta, src, dst):
    """dst[:n_out] = act(src[:n_in] @ W + b) for one layer of genome ``w[p]``.

    ``w`` is 2-D (genomes in rows) and indexed as ``w[p, i]``: taking a row
    view per genome would cost two atomic reference-count updates, more than
    the arithmetic of a small policy network.
    """
    # Unsigned offsets: with signed ``offset + k`` Numba must wrap negative
    # indices, which stops LLVM from vectorising the loops.
    n_in = _U(meta[layer, 0])
    n_out = _U(meta[layer, 1])
    wo = _U(meta[layer, 2])
    bo = _U(meta[layer, 3])
    if n_out >= _U(8):
        # wide layer: rows of W scaled and added, vectorised over outputs
        for k in range(n_out):
            dst[k] = w[p, bo + k]
        for j in range(n_in):
            v = src[j]
            base = wo + j * n_out
            for k in range(n_out):
                dst[k] += v * w[p, base + k]
    else:
        # narrow layer (e.g. a few actions): one dot product per output, as
        # four running sums in a fixed order so the dependency chains overlap
        n4 = n_in - n_in % _U(4)
        for k in range(n_out):
            s0 = _F(0.0)
            s1 = _F(0.0)
            s2 = _F(0.0)
            s3 = _F(0.0)
            c = wo + k
            for j in range(_U(0), n4, _U(4)):
                s0 += src[j] * w[p, c + j * n_out]
                s1 += src[j + _U(1)] * w[p, c + (j + _U(1)) * n_out]
                s2 += src[j + _U(2)] * w[p, c + (j + _U(2)) * n_out]
                s3 += src[j + _U(3)] * w[p, c + (j + _U(3)) * n_out]
            for j in range(n4, n_in):
                s0 += src[j] * w[p, c + j * n_out]
            dst[k] = w[p, bo + k] + ((s0 + s1) + (s2 + s3))
    # the common activations inline; the rest through a call (passing an
    # array to a call costs reference counting, noticeable on tiny layers)
    act = meta[layer, 4]
    if act == TANH:
        for k in range(n_out):
            dst[k] = tanh32(dst[k])
    elif act == RELU:
        for k in range(n_out):
            dst[k] = max(dst[k], _F(0.0))
    elif act != LINEAR:
        activate(dst, n_out, act)


@njit(inline="always", **_OPTS)
def _forward_row(w, p, meta, buf_a, buf_b):
    """Whole network for genome ``w[p]``; the input is in ``buf_a[:n_in]``.

    Returns True when the output ended in ``buf_a``, False for ``buf_b``.
    Inlined into its callers (no reference counting of four arrays per
    genome: about 20% of a 4-16-2 step); two call sites of the inlined layer
    code keep compile times short.
    """
    in_a = True
    for layer in range(meta.shape[0]):
        if in_a:
            _layer(w, p, layer, meta, buf_a, buf_b)
        else:
            _layer(w, p, layer, meta, buf_b, buf_a)
        in_a = not in_a
    return in_a


@njit(**_OPTS)
def forward_one(genome, x, meta, buf_a, buf_b, out):
    """Forward pass of one genome on one input row (serial, no allocation).

    genome float32 C-contiguous (n_params,); x float32 (n_in,); meta int64
    (n_layers, 5) as ``Network.meta``; buf_a, buf_b float32 scratch of length
    >= max_width; out float32 (n_out,).  Callable from other njit code (e.g.
    an environment rollout kernel); it neither validates nor allocates.
    """
    for j in range(x.shape[0]):
        buf_a[j] = x[j]
    w = genome.reshape((1, genome.shape[0]))
    if _forward_row(w, 0, meta, buf_a, buf_b):
        for k in range(out.shape[0]):
            out[k] = buf_a[k]
    else:
        for k in range(out.shape[0]):
            out[k] = buf_b[k]


@njit(**_OPTS)
def _each_range(population, inputs, meta, max_width, out, lo, hi):
    # rows are copied through the scratch buffers: cheaper than a row view
    # (two atomic reference-count updates) per genome
    n_in = inputs.shape[1]
    n_out = out.shape[1]
    buf_a = np.empty(max_width, np.float32)
    buf_b = np.empty(max_width, np.float32)
    for p in range(lo, hi):
        for j in range(n_in):
            buf_a[j] = inputs[p, j]
        if _forward_row(population, p, meta, buf_a, buf_b):
            for k in range(n_out):
                out[p, k] = buf_a[k]
        else:
            for k in range(n_out):
                out[p, k] = buf_b[k]


@njit(**_OPTS)
def _each_serial(population, inputs, meta, max_width, out):
    _each_range(population, inputs, meta, max_width, out, 0, population.shape[0])


@njit(parallel=True, **_OPTS)
def _each_parallel(population, inputs, meta, max_width, out, n_chunks):
    n = population.shape[0]
    for c in prange(n_chunks):
        # contiguous blocks of genomes, scratch allocated once per block;
        # block boundaries do not change any genome's arithmetic
        _each_range(population, inputs, meta, max_width, out,
                    c * n // n_chunks, (c + 1) * n // n_chunks)


def forward_each_kernel(population, inputs, meta, max_width, out, n_chunks):
    """out[p] = net(population[p], inputs[p]) for every genome p.

    population float32 (P, n_params); inputs float32 (P, n_in); out float32
    (P, n_out).  ``n_chunks`` <= 1 runs serially (tiny populations are bound
    by the cost of waking threads), else in that many parallel blocks.
    """
    if n_chunks <= 1:
        _each_serial(population, inputs, meta, max_width, out)
    else:
        _each_parallel(population, inputs, meta, max_width, out, n_chunks)


# --------------------------------------------------------------------------
# shared inputs, few samples: explicit loops, one genome per thread at a time
# --------------------------------------------------------------------------
@njit(**_OPTS)
def _shared_range(population, X, meta, max_width, out, lo, hi):
    n_in = X.shape[1]
    n_out = out.shape[2]
    buf_a = np.empty(max_width, np.float32)
    buf_b = np.empty(max_width, np.float32)
    for p in range(lo, hi):
        for b in range(X.shape[0]):
            for j in range(n_in):
                buf_a[j] = X[b, j]
            if _forward_row(population, p, meta, buf_a, buf_b):
                for k in range(n_out):
                    out[p, b, k] = buf_a[k]
            else:
                for k in range(n_out):
                    out[p, b, k] = buf_b[k]


@njit(parallel=True, **_OPTS)
def _shared_parallel(population, X, meta, max_width, out, n_chunks):
    n = population.shape[0]
    for c in prange(n_chunks):
        _shared_range(population, X, meta, max_width, out,
                      c * n // n_chunks, (c + 1) * n // n_chunks)


def forward_shared_direct(population, X, meta, max_width, out, n_chunks):
    """out[p, b] = net(population[p], X[b]) with explicit loops only.

    For few samples, where a GEMM would not pay for its setup.  population
    float32 (P, n_params); X float32 (B, n_in); out float32 (P, B, n_out).
    """
    if n_chunks <= 1:
        _shared_range(population, X, meta, max_width, out, 0, population.shape[0])
    else:
        _shared_parallel(population, X, meta, max_width, out, n_chunks)


# --------------------------------------------------------------------------
# shared inputs, many samples: first layer as one GEMM per chunk of genomes
# --------------------------------------------------------------------------
@njit(parallel=True, **_OPTS)
def gather_first_layer(population, p0, n_in, h1, wcat):
    """wcat[j, q*h1:(q+1)*h1] = W1 of genome p0+q, row j.

    population float32 (P, n_params); wcat float32 (n_in, Pc*h1) with the
    first-layer kernels of genomes p0..p0+Pc side by side, so that
    ``wcat.T @ X.T`` is the whole chunk's first layer, transposed.
    """
    pc = wcat.shape[1] // h1
    hu = _U(h1)
    for q in prange(pc):
        p = p0 + q
        col = _U(q) * hu
        for j in range(_U(n_in)):
            src = j * hu
            for k in range(hu):
                wcat[j, col + k] = population[p, src + k]


@njit(**_OPTS)
def _act_rows(a, r0, n_rows, c0, n_cols, act_id, red):
    """Activation of the block a[r0:r0+n_rows, c0:c0+n_cols], laid out
    (neuron, sample): elementwise activations per element, softmax over the
    neurons of each sample, vectorised over samples (``red``: float32
    scratch of length >= n_cols for the per-sample max and sum).
    Offsets and sizes are uint64 (see :func:`_layer`)."""
    if act_id == LINEAR:
        return
    if act_id == SOFTMAX:
        for c in range(n_cols):
            red[c] = a[r0, c0 + c]
        for r in range(r0 + _U(1), r0 + n_rows):
            for c in range(n_cols):
                red[c] = max(red[c], a[r, c0 + c])
        for r in range(r0, r0 + n_rows):
            for c in range(n_cols):
                a[r, c0 + c] = exp32(a[r, c0 + c] - red[c])
        for c in range(n_cols):
            red[c] = a[r0, c0 + c]
        for r in range(r0 + _U(1), r0 + n_rows):
            for c in range(n_cols):
                red[c] += a[r, c0 + c]
        for c in range(n_cols):
            red[c] = _F(1.0) / red[c]
        for r in range(r0, r0 + n_rows):
            for c in range(n_cols):
                a[r, c0 + c] *= red[c]
        return
    for r in range(r0, r0 + n_rows):
        if act_id == TANH:
            for c in range(n_cols):
                a[r, c0 + c] = tanh32(a[r, c0 + c])
        elif act_id == RELU:
            for c in range(n_cols):
                a[r, c0 + c] = max(a[r, c0 + c], _F(0.0))
        else:
            for c in range(n_cols):
                a[r, c0 + c] = elementwise(a[r, c0 + c], act_id)


@njit(**_OPTS)
def _dense_rows(g, meta, layer, src, s_r0, s_c0, dst, nb):
    """dst[:m, :nb] = (W.T @ src[s_r0:s_r0+n_in, s_c0:s_c0+nb]) + b for one
    layer and a block of samples laid out (neuron, sample), vectorised over
    samples.  Offsets and ``nb`` are uint64."""
    n_in = _U(meta[layer, 0])
    m = _U(meta[layer, 1])
    wo = _U(meta[layer, 2])
    bo = _U(meta[layer, 3])
    for k in range(m):
        bk = g[bo + k]
        for c in range(nb):
            dst[k, c] = bk
    for j in range(n_in):
        base = wo + j * m
        r = s_r0 + j
        for k in range(m):
            w = g[base + k]
            for c in range(nb):
                dst[k, c] += w * src[r, s_c0 + c]


@njit(**_OPTS)
def _finish_genome(g, q, ht, meta, buf_a, buf_b, red, o):
    """Finish one genome of a chunk (see :func:`finish_chunk`): ``g`` its
    genome, ``q`` its index in the chunk, ``o`` its output (B, n_out)."""
    n_layers = meta.shape[0]
    h1 = _U(meta[0, 1])
    n_samples = _U(ht.shape[1])
    block = _U(buf_a.shape[1])
    n_out = _U(meta[n_layers - 1, 1])
    r0 = _U(q) * h1
    z = _U(0)
    # layer 0 in place on the GEMM result: long contiguous rows
    bo = _U(meta[0, 3])
    for k in range(h1):
        bk = g[bo + k]
        for c in range(n_samples):
            ht[r0 + k, c] += bk
    _act_rows(ht, r0, h1, z, n_samples, meta[0, 4], red)
    if n_layers == 1:
        for c in range(n_samples):
            for k in range(n_out):
                o[c, k] = ht[r0 + k, c]
        return
    for s0 in range(z, n_samples, block):
        nb = min(block, n_samples - s0)
        _dense_rows(g, meta, 1, ht, r0, s0, buf_a, nb)
        _act_rows(buf_a, z, _U(meta[1, 1]), z, nb, meta[1, 4], red)
        in_a = True
        for layer in range(2, n_layers):
            m = _U(meta[layer, 1])
            if in_a:
                _dense_rows(g, meta, layer, buf_a, z, z, buf_b, nb)
                _act_rows(buf_b, z, m, z, nb, meta[layer, 4], red)
            else:
                _dense_rows(g, meta, layer, buf_b, z, z, buf_a, nb)
                _act_rows(buf_a, z, m, z, nb, meta[layer, 4], red)
            in_a = not in_a
        res = buf_a if in_a else buf_b
        for c in range(nb):
            for k in range(n_out):
                o[s0 + c, k] = res[k, c]


@njit(parallel=True, **_OPTS)
def finish_chunk(population, p0, ht, meta, width, block, out):
    """Finish genomes p0..p0+Pc given their first-layer products.

    ht float32 (Pc*h1, B): rows q*h1..(q+1)*h1 hold ``(X @ W1_q).T`` for
    genome p0+q (no bias yet); they are overwritten.  Adds the bias and
    applies the activation in place, runs the later layers in blocks of
    ``block`` samples with activations laid out (neuron, sample) so that the
    inner loops vectorise over samples, and writes out[p0+q] (B, n_out).
    ``width`` >= every layer width but the input's.  No BLAS here (this runs
    inside prange).
    """
    h1 = meta[0, 1]
    pc = ht.shape[0] // h1
    for q in prange(pc):
        buf_a = np.empty((width, block), np.float32)
        buf_b = np.empty((width, block), np.float32)
        red = np.empty(max(block, ht.shape[1]), np.float32)
        _finish_genome(population[p0 + q], q, ht, meta, buf_a, buf_b, red, out[p0 + q])
