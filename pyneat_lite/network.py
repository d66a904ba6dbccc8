"""Layered feed-forward networks whose weights are flat float32 genomes.

A :class:`Network` is only a description (layer sizes and activations); the
weights live outside it, in genomes.  Genome layout, layer after layer: the
kernel ``W`` of shape ``(n_in, n_out)`` row-major (the Keras ``Dense``
convention; a PyTorch ``nn.Linear.weight`` is its transpose), then the bias
``b`` of shape ``(n_out,)``.  :attr:`Network.layout` gives every offset, so
kernels and adapters never guess.

A population is a C-contiguous float32 array ``(pop_size, n_params)``, one
genome a row.  All arithmetic is float32; inputs of another dtype are
converted once, on entry, to C-contiguous float32.

Examples
--------
>>> import numpy as np
>>> import pyneat_lite as pn
>>> net = pn.Network([64, 32, 10], ["tanh", "softmax"])
>>> net.n_params
2410
>>> pop = net.init_population(8, seed=0)
>>> net.forward(pop, np.zeros((5, 64), np.float32)).shape
(8, 5, 10)
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from ._rng import STREAMS, resolve_seed
from ._typing import SeedLike
from ._validation import (
    check_array,
    check_genome,
    check_int,
    check_out,
    check_population,
    check_scalar,
)
from .activations import activation_id

__all__ = ["Network", "LayerLayout", "INIT_SCHEMES"]

#: Weight initialisation schemes accepted by :meth:`Network.init_population`.
INIT_SCHEMES: tuple[str, ...] = (
    "glorot_uniform",
    "he_normal",
    "normal",
    "uniform",
    "zeros",
)

# Shared-input forward: with few samples, explicit loops per genome beat a
# GEMM, whose setup (gathering every genome's first-layer kernel) costs as
# much as the product itself.  Crossover measured on the development machine
# (P=64, one thread each): about 8 samples for small first layers, about 48
# for a 784x128 one.  See _use_gemm.
_GEMM_MIN_SAMPLES = 8
_GEMM_MAX_SAMPLES_FOR_LOOPS = 64
# Upper bound on the first-layer activations held at once (float32 values):
# 4 Mi values = 16 MiB, so P=10,000 genomes of 784-128-10 on 1,024 inputs
# hold 32 genomes' hidden layer at a time instead of 5 GB.
_CHUNK_VALUES = 4 * 2**20
# Samples per block in the later layers of the GEMM path: activations of a
# block, (width, block) float32, stay in the L1/L2 cache.
_FINISH_BLOCK = 64
# forward_each: below this many weights in the whole population (about the
# number of multiply-adds of one step), one thread is faster than waking the
# pool (a few microseconds).
_PARALLEL_MIN_WORK = 32_768


class LayerLayout(NamedTuple):
    """Where one layer's parameters sit in a genome.

    Attributes
    ----------
    w_offset : int
        Index of ``W[0, 0]`` in the genome.
    w_shape : tuple of int
        ``(n_in, n_out)``; ``W`` is stored row-major.
    b_offset : int
        Index of ``b[0]`` (always ``w_offset + n_in * n_out``).
    b_size : int
        ``n_out``.
    activation : str
        Name of the layer's activation.
    """

    w_offset: int
    w_shape: tuple[int, int]
    b_offset: int
    b_size: int
    activation: str


class _Scratch(threading.local):
    """Per-thread work buffers of the GEMM path, reused across calls so that
    repeated forwards do not pay for fresh pages every time."""

    def __init__(self) -> None:
        self.buffers: dict[str, np.ndarray] = {}

    def get(self, name: str, size: int) -> np.ndarray:
        buf = self.buffers.get(name)
        if buf is None or buf.size < size:
            buf = np.empty(size, np.float32)
            self.buffers[name] = buf
        return buf[:size]


class Network:
    """A layered feed-forward network: sizes and activations, no weights.

    Parameters
    ----------
    sizes : sequence of int
        ``[n_in, h1, ..., n_out]``, at least two sizes, each >= 1.
    activations : str or sequence of str
        One activation name per layer (``len(sizes) - 1`` names), or a single
        name applied to **every** layer, the output layer included.  Valid
        names: see :data:`pyneat_lite.ACTIVATIONS`.

    Attributes
    ----------
    sizes : tuple of int
    activations : tuple of str
        One name per layer.
    n_in, n_out, n_layers, n_params : int
    layout : tuple of LayerLayout
        Per layer: ``w_offset``, ``w_shape`` ``(n_in, n_out)``, ``b_offset``,
        ``b_size``, ``activation``.
    meta : numpy.ndarray
        C-contiguous int64 ``(n_layers, 5)``: ``n_in, n_out, w_offset,
        b_offset, act_id`` per layer, for the Numba kernels (read-only).
    max_width : int
        Largest layer width (scratch length for :func:`_forward.forward_one`).

    Raises
    ------
    ValueError
        Fewer than two sizes, a size < 1, a wrong number of activations, or
        an unknown activation name (the message lists the valid names).
    TypeError
        A size that is not an integer, an activation that is not a string.

    Examples
    --------
    >>> import pyneat_lite as pn
    >>> net = pn.Network([4, 16, 2], "tanh")
    >>> net.activations
    ('tanh', 'tanh')
    >>> net.layout[1].w_offset, net.layout[1].w_shape
    (80, (16, 2))
    """

    def __init__(self, sizes: Sequence[int], activations: str | Sequence[str]) -> None:
        if isinstance(sizes, (str, bytes)) or not hasattr(sizes, "__len__"):
            raise TypeError(
                "The 'sizes' argument of Network must be a sequence of ints "
                f"[n_in, h1, ..., n_out]. Got {sizes!r} instead."
            )
        sizes_t = tuple(
            check_int(s, f"sizes[{i}]", caller="Network", min_val=1)
            for i, s in enumerate(sizes)
        )
        if len(sizes_t) < 2:
            raise ValueError(
                "The 'sizes' argument of Network must have at least two sizes "
                f"[n_in, ..., n_out]. Got {list(sizes_t)} instead."
            )
        n_layers = len(sizes_t) - 1
        if isinstance(activations, str):
            acts = (activations,) * n_layers
        else:
            acts = tuple(activations)
            if len(acts) != n_layers:
                raise ValueError(
                    "The 'activations' argument of Network must have one name per "
                    f"layer ({n_layers} for sizes {list(sizes_t)}) or be a single "
                    f"name. Got {len(acts)} names instead."
                )
        ids = [activation_id(a) for a in acts]

        layout = []
        meta = np.empty((n_layers, 5), np.int64)
        offset = 0
        for i in range(n_layers):
            n_in, n_out = sizes_t[i], sizes_t[i + 1]
            w_off = offset
            b_off = w_off + n_in * n_out
            offset = b_off + n_out
            layout.append(LayerLayout(w_off, (n_in, n_out), b_off, n_out, acts[i]))
            meta[i] = (n_in, n_out, w_off, b_off, ids[i])
        meta.flags.writeable = False

        self.sizes: tuple[int, ...] = sizes_t
        self.activations: tuple[str, ...] = acts
        self.n_in: int = sizes_t[0]
        self.n_out: int = sizes_t[-1]
        self.n_layers: int = n_layers
        self.n_params: int = offset
        self.layout: tuple[LayerLayout, ...] = tuple(layout)
        self.meta: np.ndarray = meta
        self.max_width: int = max(sizes_t)
        self._scratch = _Scratch()

    # ------------------------------------------------------------------ misc
    def to_config(self) -> dict[str, list[Any]]:
        """JSON-serialisable description: ``{"sizes": [...], "activations": [...]}``."""
        return {"sizes": list(self.sizes), "activations": list(self.activations)}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Network:
        """Inverse of :meth:`to_config`; unknown keys are an error."""
        if not isinstance(config, dict):
            raise TypeError(
                "The 'config' argument of Network.from_config must be a dict. "
                f"Got {type(config).__name__} instead."
            )
        unknown = set(config) - {"sizes", "activations"}
        missing = {"sizes", "activations"} - set(config)
        if unknown or missing:
            raise ValueError(
                "The 'config' argument of Network.from_config must have exactly the "
                f"keys 'sizes' and 'activations'. Got keys {sorted(config)} instead."
            )
        return cls(config["sizes"], config["activations"])

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Network):
            return NotImplemented
        return self.sizes == other.sizes and self.activations == other.activations

    def __hash__(self) -> int:
        return hash((self.sizes, self.activations))

    def __repr__(self) -> str:
        return (
            f"Network(sizes={list(self.sizes)}, activations={list(self.activations)})"
            f"  # n_params={self.n_params}"
        )

    def __getstate__(self) -> dict[str, Any]:
        return self.to_config()

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["sizes"], state["activations"])  # type: ignore[misc]

    # ------------------------------------------------------------------ init
    def init_population(
        self,
        pop_size: int,
        seed: SeedLike = None,
        scheme: str = "glorot_uniform",
        **scheme_kw: float,
    ) -> np.ndarray:
        """Random population of genomes, ``(pop_size, n_params)`` float32.

        Parameters
        ----------
        pop_size : int
            Number of genomes, >= 1.
        seed : int, numpy.random.SeedSequence or None
            Same seed, same population.  Genomes are drawn row after row from
            one stream, so the first ``k`` rows do not depend on ``pop_size``
            and ``init_genome(seed)`` equals ``init_population(1, seed)[0]``.
        scheme : str
            Kernel initialisation (biases are always zero):

            * ``"glorot_uniform"`` (default): ``U(-l, l)``, ``l = sqrt(6 /
              (n_in + n_out))`` per layer (Keras' default).
            * ``"he_normal"``: ``N(0, sqrt(2 / n_in))`` per layer (not
              truncated, as PyTorch's ``kaiming_normal_``).
            * ``"normal"``: ``N(0, std)``, keyword ``std`` (default 0.05).
            * ``"uniform"``: ``U(low, high)``, keywords ``low`` (default
              -0.05) and ``high`` (default 0.05).
            * ``"zeros"``: all zeros.
        **scheme_kw : float
            The scheme's keywords above; others are an error.

        Returns
        -------
        numpy.ndarray
            C-contiguous float32 array of shape ``(pop_size, n_params)``.
        """
        caller = "Network.init_population"
        pop_size = check_int(pop_size, "pop_size", caller=caller, min_val=1)
        allowed = {"normal": {"std"}, "uniform": {"low", "high"}}
        if scheme not in INIT_SCHEMES:
            raise ValueError(
                f"The 'scheme' parameter of {caller} must be one of "
                f"{', '.join(INIT_SCHEMES)}. Got {scheme!r} instead."
            )
        extra = set(scheme_kw) - allowed.get(scheme, set())
        if extra:
            raise TypeError(
                f"The {scheme!r} scheme of {caller} accepts the keywords "
                f"{sorted(allowed.get(scheme, set()))}. Got {sorted(extra)} instead."
            )
        pop = np.empty((pop_size, self.n_params), np.float32)
        if scheme == "zeros":
            pop.fill(0.0)
            return pop
        ss = np.random.SeedSequence(
            resolve_seed(seed, caller=caller), spawn_key=(STREAMS["init"],)
        )
        rng = np.random.default_rng(ss)
        if scheme in ("glorot_uniform", "uniform"):
            rng.random(dtype=np.float32, out=pop)  # U[0, 1), then affine per layer
        else:
            rng.standard_normal(dtype=np.float32, out=pop)
        if scheme == "uniform":
            low = check_scalar(scheme_kw.get("low", -0.05), "low", caller=caller)
            high = check_scalar(scheme_kw.get("high", 0.05), "high", caller=caller)
            if not low < high:
                raise ValueError(
                    f"The 'low' and 'high' parameters of {caller} must satisfy "
                    f"low < high. Got low={low!r}, high={high!r} instead."
                )
        if scheme == "normal":
            std = check_scalar(
                scheme_kw.get("std", 0.05), "std", caller=caller, min_val=0.0
            )
        for lay in self.layout:
            n_in, n_out = lay.w_shape
            w = pop[:, lay.w_offset : lay.b_offset]
            if scheme == "glorot_uniform":
                lim = np.float32(np.sqrt(6.0 / (n_in + n_out)))
                w *= 2 * lim
                w -= lim
            elif scheme == "uniform":
                w *= np.float32(high - low)
                w += np.float32(low)
            elif scheme == "he_normal":
                w *= np.float32(np.sqrt(2.0 / n_in))
            else:  # normal
                w *= np.float32(std)
            pop[:, lay.b_offset : lay.b_offset + lay.b_size] = 0.0
        return pop

    def init_genome(
        self, seed: SeedLike = None, scheme: str = "glorot_uniform", **scheme_kw: float
    ) -> np.ndarray:
        """One random genome, ``(n_params,)`` float32; see :meth:`init_population`."""
        return self.init_population(1, seed, scheme, **scheme_kw)[0]

    # -------------------------------------------------------- flat <-> layers
    def unflatten(self, genome: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per-layer ``(W, b)`` views into ``genome``.

        Parameters
        ----------
        genome : numpy.ndarray
            float32 C-contiguous array of shape ``(n_params,)``.  It must
            already be float32 and C-contiguous: a converted copy could not
            give views into the caller's array.

        Returns
        -------
        list of (W, b)
            ``W`` of shape ``(n_in, n_out)`` and ``b`` of shape ``(n_out,)``;
            writing into them writes into ``genome``.
        """
        caller = "Network.unflatten"
        if not isinstance(genome, np.ndarray):
            raise TypeError(
                f"The 'genome' argument of {caller} must be a numpy.ndarray (views "
                f"are returned). Got {type(genome).__name__} instead."
            )
        if genome.dtype != np.float32 or not genome.flags.c_contiguous:
            raise TypeError(
                f"The 'genome' argument of {caller} must be a C-contiguous float32 "
                f"array. Got dtype {genome.dtype}, "
                f"C-contiguous={genome.flags.c_contiguous} instead."
            )
        if genome.shape != (self.n_params,):
            raise ValueError(
                f"The 'genome' argument of {caller} must have shape "
                f"({self.n_params},) (n_params). Got shape {genome.shape} instead."
            )
        return [
            (
                genome[lay.w_offset : lay.b_offset].reshape(lay.w_shape),
                genome[lay.b_offset : lay.b_offset + lay.b_size],
            )
            for lay in self.layout
        ]

    def flatten(self, weights: Sequence[tuple[Any, Any]]) -> np.ndarray:
        """Genome ``(n_params,)`` float32 from per-layer ``(W, b)`` pairs.

        ``W`` must have shape ``(n_in, n_out)`` and ``b`` shape ``(n_out,)``
        for every layer (as returned by :meth:`unflatten`); values are
        converted to float32.
        """
        caller = "Network.flatten"
        weights = list(weights)
        if len(weights) != self.n_layers:
            raise ValueError(
                f"The 'weights' argument of {caller} must hold one (W, b) pair per "
                f"layer ({self.n_layers}). Got {len(weights)} items instead."
            )
        genome = np.empty(self.n_params, np.float32)
        for i, (pair, lay) in enumerate(zip(weights, self.layout, strict=True)):
            if len(pair) != 2:
                raise ValueError(
                    f"The 'weights[{i}]' argument of {caller} must be a (W, b) pair. "
                    f"Got {len(pair)} items instead."
                )
            w = np.asarray(pair[0], dtype=np.float32)
            b = np.asarray(pair[1], dtype=np.float32)
            if w.shape != lay.w_shape or b.shape != (lay.b_size,):
                raise ValueError(
                    f"The 'weights[{i}]' argument of {caller} must have W of shape "
                    f"{lay.w_shape} and b of shape ({lay.b_size},). Got W {w.shape} "
                    f"and b {b.shape} instead."
                )
            genome[lay.w_offset : lay.b_offset] = w.ravel()
            genome[lay.b_offset : lay.b_offset + lay.b_size] = b
        return genome

    # --------------------------------------------------------------- forward
    def forward(
        self,
        population: Any,
        X: Any,
        out: np.ndarray | None = None,
        *,
        method: str = "auto",
        chunk_size: int | None = None,
    ) -> np.ndarray:
        """Every genome on the same inputs.

        Parameters
        ----------
        population : array-like
            ``(P, n_params)`` population, or one genome ``(n_params,)``.
            Converted once to C-contiguous float32 if needed.  Genomes are
            not checked for NaN (it would cost a full pass): non-finite
            weights give non-finite outputs.
        X : array-like
            Shared inputs ``(B, n_in)``, finite; converted once to float32.
        out : numpy.ndarray, optional
            Output buffer: float32, C-contiguous, shape ``(P, B, n_out)`` (or
            ``(B, n_out)`` for one genome), not overlapping the inputs.
        method : {"auto", "gemm", "loops"}
            ``"gemm"``: the first layer of a chunk of genomes is one BLAS
            product ``X @ [W1_p0 ... W1_pk]`` and the remaining layers run in
            a Numba kernel, parallel over genomes.  ``"loops"``: explicit
            Numba loops, one genome per thread at a time.  ``"auto"`` uses
            ``"loops"`` for few samples (below 8, or up to 48 for a first
            layer as large as 784x128, where gathering the kernels for the
            GEMM costs more than it saves), else ``"gemm"``.
        chunk_size : int, optional
            Genomes per GEMM chunk (``"gemm"`` only).  By default as many as
            keep the first-layer activations of a chunk within 16 MiB (at
            least one genome): P=10,000 genomes of 784-128-10 on 1,024
            inputs hold 32 genomes' hidden layer at a time, not 5 GB.  The
            only large allocation is the output.  The chunk's work buffers
            (first-layer activations and kernels) are kept by the network,
            one set per calling thread, and reused by later calls.

        Notes
        -----
        Threads: the GEMM runs on the BLAS threads, the rest on Numba's
        threads, one after the other, never nested (see
        :mod:`pyneat_lite._forward`).  Results do not depend on the number
        of Numba threads.

        Returns
        -------
        numpy.ndarray
            float32 ``(P, B, n_out)``, or ``(B, n_out)`` for one genome
            (``out`` itself when given).
        """
        from . import _forward

        caller = "Network.forward"
        pop, single = self._population(population, caller, "population_or_genome")
        X = check_array(X, "X", caller=caller, ndim=2, finite=True)
        if X.shape[1] != self.n_in:
            raise ValueError(
                f"The 'X' argument of {caller} must have {self.n_in} columns "
                f"(n_in). Got shape {X.shape} instead."
            )
        n_pop, n_samples = pop.shape[0], X.shape[0]
        if method not in ("auto", "gemm", "loops"):
            raise ValueError(
                f"The 'method' parameter of {caller} must be 'auto', 'gemm' or "
                f"'loops'. Got {method!r} instead."
            )
        if chunk_size is not None:
            chunk_size = check_int(chunk_size, "chunk_size", caller=caller, min_val=1)
        shape = (n_samples, self.n_out) if single else (n_pop, n_samples, self.n_out)
        if out is None:
            out = np.empty(shape, np.float32)
        else:
            check_out(out, shape, caller=caller, forbid_alias=(pop, X))
        out3 = out.reshape(n_pop, n_samples, self.n_out)

        if method == "auto":
            method = "gemm" if self._use_gemm(n_samples) else "loops"
        n_threads = _numba_threads()
        if method == "loops":
            n_chunks = min(n_threads, n_pop)
            _forward.forward_shared_direct(
                pop, X, self.meta, self.max_width, out3, n_chunks
            )
            return out
        self._forward_gemm(pop, X, out3, chunk_size)
        return out

    def _use_gemm(self, n_samples: int) -> bool:
        """The GEMM path pays once each kernel is reused by enough samples:
        at least 8, and about one more per 2,048 first-layer weights."""
        w1 = self.sizes[0] * self.sizes[1]
        limit = max(_GEMM_MIN_SAMPLES, min(_GEMM_MAX_SAMPLES_FOR_LOOPS, w1 // 2048))
        return n_samples >= limit

    def _forward_gemm(
        self, pop: np.ndarray, X: np.ndarray, out3: np.ndarray, chunk_size: int | None
    ) -> None:
        from . import _forward

        n_pop, n_samples = pop.shape[0], X.shape[0]
        h1 = self.sizes[1]
        if chunk_size is None:
            chunk_size = max(1, _CHUNK_VALUES // (h1 * n_samples))
        # equal chunks (e.g. 4 x 64 rather than 3 x 72 + 40): the same
        # GEMM shape every time and no short last chunk
        n_chunks = -(-n_pop // min(chunk_size, n_pop))
        pc_max = -(-n_pop // n_chunks)
        wcat_all = self._scratch.get("wcat", self.n_in * pc_max * h1)
        ht_all = self._scratch.get("ht", pc_max * h1 * n_samples)
        block = _FINISH_BLOCK
        xt = X.T  # F-ordered view: BLAS reads it transposed, no copy
        width = max(self.sizes[1:])
        for p0 in range(0, n_pop, pc_max):
            pc = min(pc_max, n_pop - p0)
            wcat = wcat_all[: self.n_in * pc * h1].reshape(self.n_in, pc * h1)
            ht = ht_all[: pc * h1 * n_samples].reshape(pc * h1, n_samples)
            _forward.gather_first_layer(pop, p0, self.n_in, h1, wcat)
            # BLAS runs here, outside any Numba parallel region (never nested)
            np.matmul(wcat.T, xt, out=ht)
            _forward.finish_chunk(pop, p0, ht, self.meta, width, block, out3)

    def forward_each(
        self, population: Any, inputs: Any, out: np.ndarray | None = None
    ) -> np.ndarray:
        """Each genome on its own input row (one step of a population of policies).

        Parameters
        ----------
        population : array-like
            ``(P, n_params)``; converted once to C-contiguous float32 if
            needed.  Not checked for NaN (non-finite weights give non-finite
            outputs).
        inputs : array-like
            ``(P, n_in)``: row ``p`` is the input of genome ``p``; finite;
            converted once to float32.
        out : numpy.ndarray, optional
            float32 C-contiguous ``(P, n_out)`` buffer, not overlapping the
            inputs.

        Returns
        -------
        numpy.ndarray
            float32 ``(P, n_out)`` (``out`` itself when given).

        Notes
        -----
        One Numba call steps the whole population.  It runs in parallel over
        genomes (Numba's threads, ``numba.set_num_threads``) once the
        population holds at least 32,768 weights in all, serially below
        that, where waking the threads would cost more than the work.
        Results do not depend on the number of threads.  Inside your own
        Numba code, :func:`pyneat_lite._forward.forward_one` does the same
        for one genome without allocating.
        """
        from . import _forward

        caller = "Network.forward_each"
        pop = check_population(
            population, caller=caller, n_params=self.n_params, finite=False
        )
        inputs = check_array(inputs, "inputs", caller=caller, ndim=2, finite=True)
        n_pop = pop.shape[0]
        if inputs.shape != (n_pop, self.n_in):
            raise ValueError(
                f"The 'inputs' argument of {caller} must have shape ({n_pop}, "
                f"{self.n_in}) (one row of n_in values per genome). Got shape "
                f"{inputs.shape} instead."
            )
        if out is None:
            out = np.empty((n_pop, self.n_out), np.float32)
        else:
            check_out(out, (n_pop, self.n_out), caller=caller,
                      forbid_alias=(pop, inputs))
        work = n_pop * self.n_params
        n_chunks = 1 if work < _PARALLEL_MIN_WORK else min(_numba_threads(), n_pop)
        _forward.forward_each_kernel(
            pop, inputs, self.meta, self.max_width, out, n_chunks
        )
        return out

    # -------------------------------------------------------------- helpers
    def _population(self, x: Any, caller: str, name: str) -> tuple[np.ndarray, bool]:
        """(P, n_params) float32 array and whether a single 1-D genome was given."""
        arr = check_array(x, name, caller=caller, ndim=(1, 2), finite=False)
        if arr.ndim == 1:
            arr = check_genome(arr, name, caller=caller, n_params=self.n_params)
            return arr.reshape(1, -1), True
        return check_population(arr, name, caller=caller, n_params=self.n_params,
                                finite=False), False


def _numba_threads() -> int:
    import numba

    return int(numba.get_num_threads())

