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

import math

import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.extending import intrinsic

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

# Kernel options, in one place.  error_model="numpy": a float division by zero
# gives inf/nan instead of raising, which removes a branch from every division
# and lets LLVM vectorise the activation loops.  fastmath "contract" only:
# fused multiply-adds, but no reassociation, so sums keep their written order
# and results do not depend on the vector width or the thread count.
_FASTMATH = {"contract"}
_OPTS = {"cache": True, "nogil": True, "error_model": "numpy", "fastmath": _FASTMATH}
# Helpers are left to LLVM's inliner except the per-genome layer loop;
# Numba-level inlining (inline="always") of the activation dispatch too made
# compiles take minutes.

# Activation ids, mirrored from activations.ACTIVATIONS (kernels must see
# compile-time constants; test_forward checks that the two tables agree).
_LINEAR = 0
_RELU = 1
_LEAKY_RELU = 2
_ELU = 3
_TANH = 4
_SIGMOID = 5
_SOFTPLUS = 6
_SIN = 7
_GAUSSIAN = 8
_STEP = 9
_SOFTMAX = 10

_LEAKY_SLOPE = _F(0.01)


# --------------------------------------------------------------------------
# scalar float32 math that LLVM can vectorise
# --------------------------------------------------------------------------
@intrinsic
def _i32_as_f32(typingctx, bits):
    """Reinterpret the bits of an int32 as a float32 (no conversion)."""
    sig = types.float32(types.int32)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.FloatType())

    return sig, codegen


@njit(**_OPTS)
def _exp32(x):
    """float32 exp, ~2 ulp, vectorisable, never inf or NaN for finite x.

    Cody-Waite reduction x = n*ln2 + r with |r| <= ln2/2, a degree-6
    polynomial for exp(r), and 2**n built from exponent bits in two halves
    (so that subnormal results and 2**128 are both reachable).  x is clamped
    to [-104, 88.72]: below, the result underflows to 0; above, it saturates
    at ~3.4e38 instead of overflowing.
    """
    x = min(max(x, _F(-104.0)), _F(88.72283))
    n = np.floor(x * _F(1.442695041) + _F(0.5))
    r = x - n * _F(0.693359375)
    r = r - n * _F(-2.12194440e-4)
    p = _F(1.9875691500e-4)
    p = p * r + _F(1.3981999507e-3)
    p = p * r + _F(8.3334519073e-3)
    p = p * r + _F(4.1665795894e-2)
    p = p * r + _F(1.6666665459e-1)
    p = p * r + _F(5.0000001201e-1)
    p = p * r * r + r + _F(1.0)
    ni = np.int32(n)
    n1 = ni >> np.int32(1)
    n2 = ni - n1
    s1 = _i32_as_f32((n1 + np.int32(127)) << np.int32(23))
    s2 = _i32_as_f32((n2 + np.int32(127)) << np.int32(23))
    return (p * s1) * s2


@njit(**_OPTS)
def _tanh32(x):
    """float32 tanh, a few ulp, vectorisable.

    The 13/6-degree odd/even rational interpolant used by Eigen
    (``generic_fast_tanh_float``); inputs are clamped to [-9, 9], outside of
    which tanh is +-1 in float32.
    """
    x = min(max(x, _F(-9.0)), _F(9.0))
    x2 = x * x
    p = _F(-2.76076847742355e-16)
    p = p * x2 + _F(2.00018790482477e-13)
    p = p * x2 + _F(-8.60467152213735e-11)
    p = p * x2 + _F(5.12229709037114e-08)
    p = p * x2 + _F(1.48572235717979e-05)
    p = p * x2 + _F(6.37261928875436e-04)
    p = p * x2 + _F(4.89352455891786e-03)
    p = p * x
    q = _F(1.19825839466702e-06)
    q = q * x2 + _F(1.18534705686654e-04)
    q = q * x2 + _F(2.26843463243900e-03)
    q = q * x2 + _F(4.89352518554385e-03)
    return p / q


@njit(**_OPTS)
def _sigmoid32(x):
    # exp of -|x| only, so nothing overflows; keeps relative accuracy for
    # very negative x (where 1 - sigmoid(-x) would cancel).
    e = _exp32(-abs(x))
    s = _F(1.0) / (_F(1.0) + e)
    return s if x >= _F(0.0) else e * s


@njit(**_OPTS)
def _expm1_32(x):
    """float32 exp(x) - 1 without cancellation near 0 (x <= 0 here)."""
    if x > _F(-0.35):
        # Taylor to x**8/8!: truncation < 1e-9 relative on (-0.35, 0]
        p = _F(1.0 / 40320.0)
        p = p * x + _F(1.0 / 5040.0)
        p = p * x + _F(1.0 / 720.0)
        p = p * x + _F(1.0 / 120.0)
        p = p * x + _F(1.0 / 24.0)
        p = p * x + _F(1.0 / 6.0)
        p = p * x + _F(0.5)
        return (p * x + _F(1.0)) * x
    return _exp32(x) - _F(1.0)


@njit(**_OPTS)
def _elementwise(x, act_id):
    """One activation of one float32 value (softmax is not elementwise)."""
    if act_id == _RELU:
        return max(x, _F(0.0))
    if act_id == _TANH:
        return _tanh32(x)
    if act_id == _SIGMOID:
        return _sigmoid32(x)
    if act_id == _LEAKY_RELU:
        return x if x > _F(0.0) else x * _LEAKY_SLOPE
    if act_id == _ELU:
        return x if x > _F(0.0) else _expm1_32(x)
    if act_id == _SOFTPLUS:
        # max(x, 0) + log1p(exp(-|x|)) never overflows.
        return max(x, _F(0.0)) + _F(math.log1p(_exp32(-abs(x))))
    if act_id == _SIN:
        return math.sin(x)
    if act_id == _GAUSSIAN:
        return _exp32(-min(x * x, _F(100.0)))
    if act_id == _STEP:
        return _F(1.0) if x > _F(0.0) else _F(0.0)
    return x  # linear


@njit(**_OPTS)
def _activate(row, n, act_id):
    """Apply activation ``act_id`` in place to ``row[:n]`` (inlined: a call
    per layer and sample would cost more than a small layer itself)."""
    if act_id == _LINEAR:
        return
    if act_id == _TANH:  # the common cases get their own tight loops
        for i in range(n):
            row[i] = _tanh32(row[i])
        return
    if act_id == _RELU:
        for i in range(n):
            row[i] = max(row[i], _F(0.0))
        return
    if act_id == _SOFTMAX:
        m = row[0]
        for i in range(1, n):
            m = max(m, row[i])
        s = _F(0.0)
        for i in range(n):
            e = _exp32(row[i] - m)
            row[i] = e
            s += e
        inv = _F(1.0) / s
        for i in range(n):
            row[i] *= inv
        return
    for i in range(n):
        row[i] = _elementwise(row[i], act_id)


@njit(**_OPTS)
def apply_activation(row, act_id):
    """Apply activation ``act_id`` in place to the float32 1-D array ``row``.

    ``row`` holds the pre-activations of one layer for one sample (softmax
    normalises over the whole of ``row``).  Callable from other njit code.
    """
    _activate(row, row.shape[0], act_id)


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
    if act == _TANH:
        for k in range(n_out):
            dst[k] = _tanh32(dst[k])
    elif act == _RELU:
        for k in range(n_out):
            dst[k] = max(dst[k], _F(0.0))
    elif act != _LINEAR:
        _activate(dst, n_out, act)


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
    if act_id == _LINEAR:
        return
    if act_id == _SOFTMAX:
        for c in range(n_cols):
            red[c] = a[r0, c0 + c]
        for r in range(r0 + _U(1), r0 + n_rows):
            for c in range(n_cols):
                red[c] = max(red[c], a[r, c0 + c])
        for r in range(r0, r0 + n_rows):
            for c in range(n_cols):
                a[r, c0 + c] = _exp32(a[r, c0 + c] - red[c])
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
        if act_id == _TANH:
            for c in range(n_cols):
                a[r, c0 + c] = _tanh32(a[r, c0 + c])
        elif act_id == _RELU:
            for c in range(n_cols):
                a[r, c0 + c] = max(a[r, c0 + c], _F(0.0))
        else:
            for c in range(n_cols):
                a[r, c0 + c] = _elementwise(a[r, c0 + c], act_id)


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
