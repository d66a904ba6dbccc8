"""Numba kernels for population forward passes (no validation here).

Kernels take float32 C-contiguous arrays, the int64 ``meta`` table of
:class:`pyneat_lite.network.Network` (one row per layer: ``n_in, n_out,
w_offset, b_offset, act_id``), plain ints and preallocated outputs.  The
validating wrapper is :class:`pyneat_lite.network.Network`; it normalises
every dtype so that each kernel is compiled for exactly one signature, and
``cache=True`` keeps that compiled code on disk.  It also decides the thread
count (:mod:`pyneat_lite._threads`) and passes it here as ``n_chunks``: 1 runs
the serial variant, more runs that many contiguous blocks in parallel, and
the caller has set Numba's thread count to the same number.

Genome layout: per layer, the kernel ``W`` of shape ``(n_in, n_out)``
row-major at ``w_offset``, then the bias ``(n_out,)`` at ``b_offset``.

Threading policy
----------------
* **Parallel over genomes only.**  Every parallel iteration writes the rows
  of its own genomes and nothing else, and each genome's arithmetic does not
  depend on which thread runs it: results are bit-identical for any number
  of threads.
* **One thread pool.**  With shared inputs and many samples
  (:func:`forward_shared_gemm`) the genomes are cut into blocks whose size
  depends on the network, the population size and the number of samples
  only (:func:`block_genomes`), never on the thread count.  Each Numba thread
  takes a run of blocks and, per block, gathers the first-layer kernels side
  by side, multiplies them with the shared inputs in one single-threaded BLAS
  call (``np.dot`` inside Numba: SciPy's BLAS) and finishes those genomes with
  explicit loops.  The caller sets the process's BLAS libraries to one thread
  for the duration (a multi-threaded BLAS called from several threads at once
  serialises its calls, and splits the product in thread-dependent ways that
  change the last bits).  So BLAS's own thread pool and Numba's never
  alternate: OpenMP workers that spin-wait after a parallel region steal no
  core from BLAS (in 0.1.0 they did, and the package set
  ``OMP_WAIT_POLICY=PASSIVE``; it no longer writes any environment variable),
  and the results do not depend on the BLAS thread count either.
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

Activations
-----------
``tanh``, ``sigmoid`` and ``exp`` (softmax, elu, softplus, gaussian) use the
branch-free float32 approximations of :mod:`.math32`, accurate to a few
float32 ulp.  NaN propagates through every activation but ``step`` (a
comparison: ``NaN > 0`` is false, so 0), so a genome holding NaN gives NaN
outputs wherever the NaN reaches.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ._config import EXACT_OPTS, LINEAR, OPTS, RELU, SOFTMAX, TANH
from .each_tiled import (  # noqa: F401 (TILE_GENOMES: public to the tests)
    TILE_GENOMES,
    TILE_MAX_WIDTH,
    each_tiled_parallel,
    each_tiled_serial,
)
from .math32 import activate, apply_activation, elementwise, exp32, tanh32

_OPTS = OPTS

__all__ = [
    "apply_activation",
    "block_genomes",
    "fitness_shared_gemm",
    "forward_each_kernel",
    "forward_one",
    "forward_shared_direct",
    "forward_shared_gemm",
    "use_gemm",
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


# Small networks (at most TILE_MAX_WIDTH wide) run layer-major over tiles of
# genomes with register-blocked products: see .each_tiled.
_each_tiled_serial = each_tiled_serial
_each_tiled_parallel = each_tiled_parallel


def forward_each_kernel(population, inputs, meta, max_width, out, n_chunks):
    """out[p] = net(population[p], inputs[p]) for every genome p.

    population float32 (P, n_params); inputs float32 (P, n_in); out float32
    (P, n_out).  ``n_chunks`` <= 1 runs serially (tiny populations are bound
    by the cost of waking threads), else in that many parallel blocks.
    Networks at most :data:`TILE_MAX_WIDTH` wide run layer-major over tiles
    of genomes, wider ones genome by genome (same numbers either way).
    """
    if max_width <= TILE_MAX_WIDTH:
        if n_chunks <= 1:
            _each_tiled_serial(population, inputs, meta, max_width, out)
        else:
            _each_tiled_parallel(population, inputs, meta, max_width, out, n_chunks)
    elif n_chunks <= 1:
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
# shared inputs, many samples: per block of genomes, the first layer as one
# single-threaded GEMM, the later layers as explicit loops
# --------------------------------------------------------------------------
# With few samples, explicit loops per genome beat a GEMM, whose setup
# (gathering the first-layer kernels, packing) costs as much as the product.
# Crossover measured on the development machine (one thread): about 8
# samples for small first layers, about 48 for a 784x128 one.
GEMM_MIN_SAMPLES = 8
GEMM_MAX_SAMPLES_FOR_LOOPS = 64
# Rows of a block's GEMM (genomes x first-layer width) to aim for: enough
# for BLAS to amortise packing the inputs, which it does once per block.
GEMM_TARGET_ROWS = 512
# Upper bound on a block's first-layer activations (float32 values, per
# thread): 1 Mi values = 4 MiB, so the only large allocation is the output.
BLOCK_VALUES = 2**20
# Samples per block in the later layers: activations of a block, (width,
# block) float32, stay in the L1/L2 cache.
FINISH_BLOCK = 64


def use_gemm(n_in: int, h1: int, n_samples: int) -> bool:
    """Whether the GEMM path pays: each first-layer kernel must be reused by
    enough samples, at least 8 and about one more per 2,048 of its weights."""
    limit = max(GEMM_MIN_SAMPLES, min(GEMM_MAX_SAMPLES_FOR_LOOPS, n_in * h1 // 2048))
    return n_samples >= limit


def block_genomes(n_pop: int, h1: int, n_samples: int,
                  chunk_size: int | None = None) -> int:
    """Genomes per block of :func:`forward_shared_gemm`.

    ``chunk_size`` (at most that many) or, by default, about
    :data:`GEMM_TARGET_ROWS` GEMM rows within :data:`BLOCK_VALUES` first-layer
    values, and at most an eighth of the population (so that threads share
    the work evenly); then evened out (4 x 64 rather than 3 x 72 + 40).
    Depends on the sizes only, never on the thread count: the blocks fix
    which products BLAS computes together, hence the last bits.
    """
    if chunk_size is None:
        g = min(-(-GEMM_TARGET_ROWS // h1), BLOCK_VALUES // (h1 * n_samples),
                -(-n_pop // 8))
    else:
        g = chunk_size
    g = max(1, min(g, n_pop))
    return -(-n_pop // -(-n_pop // g))


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


#: ``mode`` codes of the GEMM path: write the outputs, or reduce them per
#: genome to a fitness without writing them (the Classification path).
WRITE, ACCURACY, CROSS_ENTROPY_PROBS, CROSS_ENTROPY_LOGITS = 0, 1, 2, 3


@njit(**EXACT_OPTS)
def _reduce_block(res, nb, n_out, y, s0, mode, eps, total):
    """``total`` plus the loss terms of samples ``s0 .. s0 + nb`` of one
    genome, in sample order, from ``res`` (n_out, nb): the arithmetic of
    :mod:`.losses` (``_accuracy_one``, ``_cross_entropy_one``) term by term,
    so that a fused fitness equals the unfused one bit for bit.  EXACT_OPTS:
    float64, no contraction (as the loss kernels)."""
    nb = np.int64(nb)
    n_out = np.int64(n_out)
    s0 = np.int64(s0)
    for c in range(nb):
        label = y[s0 + c]
        if mode == ACCURACY:
            best = 0
            for j in range(1, n_out):
                if res[j, c] > res[best, c]:  # first maximum, as np.argmax
                    best = j
            if best == label:
                total += 1.0
        elif mode == CROSS_ENTROPY_PROBS:
            total -= np.log(max(np.float64(res[label, c]), eps))
        else:  # logits: stable log-sum-exp in float64
            m = np.float64(res[0, c])
            for j in range(1, n_out):
                m = max(m, np.float64(res[j, c]))
            se = 0.0
            for j in range(n_out):
                se += np.exp(np.float64(res[j, c]) - m)
            total += m + np.log(se) - np.float64(res[label, c])
    return total


@njit(**_OPTS)
def _finish_genome(g, q, ht, meta, buf_a, buf_b, red, o, y, mode, eps):
    """Finish one genome of a block: ``g`` its genome, ``q`` its index in the
    block, ``ht`` the block's first-layer products (q*h1 + neuron, sample).

    Per block of samples (``buf_a.shape[1]`` of them, in cache): the
    first-layer bias and activation on the GEMM result (one pass over it,
    fused), the later layers, then either the outputs written to ``o``
    (B, n_out) (``mode`` WRITE) or their loss terms added to the genome's
    total (see :func:`_reduce_block`); returns that total (0 when writing).
    """
    n_layers = meta.shape[0]
    h1 = _U(meta[0, 1])
    n_samples = _U(ht.shape[1])
    block = _U(buf_a.shape[1])
    n_out = _U(meta[n_layers - 1, 1])
    r0 = _U(q) * h1
    z = _U(0)
    bo = _U(meta[0, 3])
    total = 0.0
    for s0 in range(z, n_samples, block):
        nb = min(block, n_samples - s0)
        # layer 0 in place on the GEMM result
        for k in range(h1):
            bk = g[bo + k]
            for c in range(nb):
                ht[r0 + k, s0 + c] += bk
        _act_rows(ht, r0, h1, s0, nb, meta[0, 4], red)
        if n_layers == 1:  # (rare) through buf_a: one type for ``res``
            for k in range(h1):
                for c in range(nb):
                    buf_a[k, c] = ht[r0 + k, s0 + c]
            res = buf_a
        else:
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
        if mode == WRITE:
            for c in range(nb):
                for k in range(n_out):
                    o[s0 + c, k] = res[k, c]
        else:
            total = _reduce_block(res, nb, n_out, y, s0, mode, eps, total)
    return total


@njit(**_OPTS)
def _gemm_blocks(population, X, meta, g, width, block, wcat, ht, slot, b0, b1, out,
                 y, mode, eps, fitness):
    """Blocks ``b0..b1`` of ``g`` genomes, with scratch row ``slot`` of
    ``wcat`` and ``ht``.

    Per block: the first-layer kernels of its ``pc`` genomes side by side in
    ``w`` (n_in, pc*h1), ``h = w.T @ X.T`` (pc*h1, B) in one BLAS call (single
    threaded: see the module notes), then bias, activation and later layers
    per genome (:func:`_finish_genome`), written to ``out`` or reduced to
    ``fitness`` (accuracy: hits / B; cross-entropy: minus its mean).
    """
    n_pop = population.shape[0]
    n_in = X.shape[1]
    n_samples = X.shape[0]
    h1 = meta[0, 1]
    hu = _U(h1)
    xt = X.T  # F-ordered view: BLAS reads it transposed, no copy
    buf_a = np.empty((width, block), np.float32)
    buf_b = np.empty((width, block), np.float32)
    red = np.empty(max(block, n_samples), np.float32)
    for bl in range(b0, b1):
        p0 = bl * g
        pc = min(g, n_pop - p0)
        w = wcat[slot, : n_in * pc * h1].reshape((n_in, pc * h1))
        for q in range(pc):
            col = _U(q) * hu
            for j in range(_U(n_in)):
                src = j * hu
                for k in range(hu):
                    w[j, col + k] = population[p0 + q, src + k]
        h = ht[slot, : pc * h1 * n_samples].reshape((pc * h1, n_samples))
        np.dot(w.T, xt, h)
        for q in range(pc):
            o = out[p0 + q] if mode == WRITE else out[0]
            total = _finish_genome(population[p0 + q], q, h, meta, buf_a, buf_b, red,
                                   o, y, mode, eps)
            if mode == ACCURACY:
                fitness[p0 + q] = total / n_samples
            elif mode != WRITE:
                fitness[p0 + q] = -total / n_samples


@njit(**_OPTS)
def _gemm_serial(population, X, meta, g, width, block, wcat, ht, out, y, mode, eps,
                 fitness):
    n_blocks = (population.shape[0] + g - 1) // g
    _gemm_blocks(population, X, meta, g, width, block, wcat, ht, 0, 0, n_blocks, out,
                 y, mode, eps, fitness)


@njit(parallel=True, **_OPTS)
def _gemm_parallel(population, X, meta, g, width, block, wcat, ht, out, y, mode, eps,
                   fitness, n_chunks):
    n_blocks = (population.shape[0] + g - 1) // g
    for c in prange(n_chunks):
        # a contiguous run of whole blocks per thread: which thread runs a
        # block changes nothing in its arithmetic
        _gemm_blocks(population, X, meta, g, width, block, wcat, ht, c,
                     c * n_blocks // n_chunks, (c + 1) * n_blocks // n_chunks, out,
                     y, mode, eps, fitness)


_NO_LABELS = np.zeros(1, np.int64)
_NO_FITNESS = np.zeros(1, np.float64)
_NO_OUT = np.zeros((1, 1, 1), np.float32)


def forward_shared_gemm(population, X, meta, out, g, wcat, ht, n_chunks):
    """out[p, b] = net(population[p], X[b]), first layer by BLAS per block.

    population float32 (P, n_params); X float32 (B, n_in); out float32
    (P, B, n_out).  ``g`` genomes per block (:func:`block_genomes`).  Scratch,
    one row per thread: ``wcat`` float32 (n_chunks, n_in*g*h1) and ``ht``
    float32 (n_chunks, g*h1*B).  ``n_chunks`` <= the number of blocks.  The
    caller holds BLAS at one thread while this runs.
    """
    _gemm_dispatch(population, X, meta, out, g, wcat, ht, n_chunks, _NO_LABELS,
                   WRITE, 0.0, _NO_FITNESS)


def fitness_shared_gemm(population, X, meta, y, mode, eps, fitness, g, wcat, ht,
                        n_chunks):
    """fitness[p] = score of net(population[p], X) against labels ``y``,
    without writing the (P, B, n_out) outputs.

    ``y`` int64 (B,) labels in [0, n_out); ``mode`` :data:`ACCURACY`
    (fraction of first-maximum hits), :data:`CROSS_ENTROPY_PROBS` (minus the
    mean of ``-log(max(p_y, eps))``) or :data:`CROSS_ENTROPY_LOGITS` (minus
    the mean of a float64 log-sum-exp minus the label's logit); ``fitness``
    float64 (P,).  The same numbers, bit for bit, as :func:`forward_shared_gemm`
    followed by the loss kernels of :mod:`.losses`; other arguments as
    :func:`forward_shared_gemm`.
    """
    _gemm_dispatch(population, X, meta, _NO_OUT, g, wcat, ht, n_chunks, y, mode,
                   eps, fitness)


def _gemm_dispatch(population, X, meta, out, g, wcat, ht, n_chunks, y, mode, eps,
                   fitness):
    width = int(meta[:, 1].max())
    if n_chunks <= 1:
        _gemm_serial(population, X, meta, g, width, FINISH_BLOCK, wcat, ht, out, y,
                     mode, eps, fitness)
    else:
        _gemm_parallel(population, X, meta, g, width, FINISH_BLOCK, wcat, ht, out, y,
                       mode, eps, fitness, n_chunks)
