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
from typing import Any

import numpy as np

from . import _init_schemes
from ._init_schemes import INIT_SCHEMES
from ._layout import LayerLayout, StackSpec, parse_layers, parse_spec
from ._threads import (
    effective_n_threads,
    numba_thread_count,
    numba_threads,
    single_threaded_blas,
)
from ._typing import SeedLike
from ._validation import (
    check_array,
    check_genome,
    check_int,
    check_out,
    check_population,
)

__all__ = ["Network", "LayerLayout", "INIT_SCHEMES"]

#: Below this many multiply-adds (genomes x samples x weights) a forward runs
#: on one thread.  A parallel region is cheap on an idle machine (a few us)
#: but not on a shared one: with 2 cores under a load of 5-8, a 2-thread
#: ``forward_each`` of a 4-16-2 net at P=1024 (98,304 multiply-adds, ~0.1 ms
#: serially) took 3-17 ms of wall time, the calling thread spinning ~3.7 ms at
#: the barrier for a worker that was not scheduled, and the libgomp worker
#: (Numba's ``omp`` layer) spinning ~5.8 ms after each region (measured with
#: ``benchmarks/bench_forward.py --spin``; OpenBLAS's workers spin the same
#: way after a BLAS call).  About 1 ms of serial work pays for that risk.
FORWARD_PARALLEL_MIN_WORK = 1 << 20


def __getattr__(name: str) -> Any:
    # forward_one lives with the kernels; importing it here starts Numba, so
    # it is resolved on first access (``import pyneat_lite.network`` stays cheap)
    if name == "forward_one":
        from ._kernels.forward import forward_one

        return forward_one
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
    layers : sequence of layer specs, keyword-only
        Instead of ``sizes`` and ``activations``: :class:`~pyneat_lite.Dense`,
        :class:`~pyneat_lite.Conv2D`, :class:`~pyneat_lite.MaxPool2D`,
        :class:`~pyneat_lite.AvgPool2D`, :class:`~pyneat_lite.Flatten`,
        :class:`~pyneat_lite.RNN`, :class:`~pyneat_lite.GRU` (see
        :mod:`pyneat_lite.layers` for their genome layout).  Dense layers
        only give the same network as the sizes form.
    input_shape : int or (C, H, W), keyword-only
        With ``layers``: the shape of one input, ``n`` for vectors or
        channels-first ``(C, H, W)`` for images (inputs are then rows of
        ``C * H * W`` values, or arrays ``(B, C, H, W)``).

    Attributes
    ----------
    sizes : tuple of int
    activations : tuple of str
        One name per layer.
    n_in, n_out, n_layers, n_params : int
        ``n_layers`` counts the layers with parameters.
    layout : tuple of LayerLayout
        Per layer with parameters: ``w_offset``, ``w_shape`` ``(n_in,
        n_out)`` (for the other layer types see :mod:`pyneat_lite.layers`),
        ``b_offset``, ``b_size``, ``activation``.
    layers : tuple of layer specs
        ``Dense`` layers for a network built from sizes.
    input_shape : tuple of int
        ``(n_in,)``, or ``(C, H, W)``.
    recurrent : bool
        Whether the network has RNN or GRU layers (then it steps with
        :meth:`forward_each` and a state from :meth:`init_state`).
    state_size : int
        Values of state per genome: the sum of the recurrent layers' units
        (0 without).
    meta : numpy.ndarray
        C-contiguous int64 ``(n_layers, 5)``: ``n_in, n_out, w_offset,
        b_offset, act_id`` per layer, for the Numba kernels (read-only).  A
        network with convolution, pooling or recurrent layers has instead
        the table ``(n_rows, 16)`` of :mod:`pyneat_lite._kernels.conv`.
    max_width : int
        Largest layer width (scratch length for :func:`forward_one`).

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

    def __init__(
        self,
        sizes: Sequence[int] | None = None,
        activations: str | Sequence[str] | None = None,
        *,
        layers: Sequence[Any] | None = None,
        input_shape: int | Sequence[int] | None = None,
    ) -> None:
        self._stack: StackSpec | None = None
        if layers is not None or input_shape is not None:
            if sizes is not None or activations is not None:
                raise TypeError(
                    "Network takes either sizes and activations, or layers= and "
                    "input_shape=, not both."
                )
            if layers is None or input_shape is None:
                raise TypeError(
                    "Network(layers=..., input_shape=...) needs both arguments: the "
                    "layer list and the shape of one input (n, or (C, H, W))."
                )
            self._init_layers(layers, input_shape)
            return
        if sizes is None or activations is None:
            raise TypeError(
                "Network needs sizes and activations (a stack of dense layers), or "
                "layers= and input_shape= (see pyneat_lite.layers)."
            )
        sizes_t, acts, layout, meta = parse_spec(sizes, activations)

        self.sizes: tuple[int, ...] = sizes_t
        self.activations: tuple[str, ...] = acts
        self.n_in: int = sizes_t[0]
        self.n_out: int = sizes_t[-1]
        self.n_layers: int = len(layout)
        self.n_params: int = layout[-1].b_offset + layout[-1].b_size
        self.layout: tuple[LayerLayout, ...] = layout
        self.meta: np.ndarray = meta
        self.max_width: int = max(sizes_t)
        # multiply-adds per sample and genome: the work measure of a forward
        self._n_weights: int = sum(a * b for a, b in zip(sizes_t[:-1], sizes_t[1:],
                                                              strict=False))
        self._scratch = _Scratch()
        self.input_shape: tuple[int, ...] = (self.n_in,)
        self.recurrent: bool = False
        self.state_size: int = 0

    def _init_layers(self, layers: Sequence[Any], input_shape: Any) -> None:
        from .layers import Dense

        spec = parse_layers(layers, input_shape)
        dense = all(type(lay) is Dense for lay in spec.layers)
        if len(spec.input_shape) == 1 and dense:
            # dense only: the sizes form, its kernels and its equality
            sizes = [spec.input_shape[0], *(lay.units for lay in spec.layers)]
            self.__init__(sizes, [lay.activation for lay in spec.layers])  # type: ignore[misc]
            return
        self._stack = spec
        self.input_shape = spec.input_shape
        self.recurrent = spec.recurrent
        self.state_size = int(sum(lay.units for lay in spec.layers
                                  if getattr(lay, "recurrent", False)))
        self.layout = spec.layout
        self.meta = spec.meta
        self.n_in = int(np.prod(spec.input_shape))
        self.n_out = int(np.prod(spec.shapes[-1]))
        self.n_layers = len(spec.layout)
        self.n_params = spec.layout[-1].b_offset + spec.layout[-1].b_size
        self.activations = tuple(lay.activation for lay in spec.layout)
        # flat width after every layer with parameters
        widths = [int(np.prod(s)) for lay, s in zip(spec.layers, spec.shapes,
                                                    strict=True) if lay.has_params]
        self.sizes = (self.n_in, *widths)
        self.max_width = int(max(int(np.prod(s)) for s in
                                 (spec.input_shape, *spec.shapes)))
        # multiply-adds per sample and genome
        self._n_weights = _macs(spec.meta)
        self._scratch = _Scratch()

    @property
    def layers(self) -> tuple[Any, ...]:
        """The layer specs (:mod:`pyneat_lite.layers`); ``Dense`` layers for a
        network built from sizes."""
        if self._stack is not None:
            return self._stack.layers
        from .layers import Dense

        return tuple(Dense(n, a) for n, a in zip(self.sizes[1:], self.activations,
                                                 strict=True))

    # ------------------------------------------------------------------ misc
    def to_config(self) -> dict[str, list[Any]]:
        """JSON-serialisable description: ``{"sizes": [...], "activations": [...]}``,
        or ``{"layers": [...], "input_shape": [...]}`` for a layered network."""
        if self._stack is not None:
            return {"layers": [lay.to_config() for lay in self._stack.layers],
                    "input_shape": list(self.input_shape)}
        return {"sizes": list(self.sizes), "activations": list(self.activations)}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Network:
        """Inverse of :meth:`to_config`; unknown keys are an error."""
        if not isinstance(config, dict):
            raise TypeError(
                "The 'config' argument of Network.from_config must be a dict. "
                f"Got {type(config).__name__} instead."
            )
        if set(config) == {"layers", "input_shape"}:
            from .layers import layer_from_config

            if not isinstance(config["layers"], (list, tuple)):
                raise ValueError(
                    "The 'layers' entry of Network.from_config's config must be a "
                    f"list of layer configs. Got {config['layers']!r} instead."
                )
            return cls(layers=[layer_from_config(c) for c in config["layers"]],
                       input_shape=config["input_shape"])
        unknown = set(config) - {"sizes", "activations"}
        missing = {"sizes", "activations"} - set(config)
        if unknown or missing:
            raise ValueError(
                "The 'config' argument of Network.from_config must have exactly the "
                "keys 'sizes' and 'activations' (or 'layers' and 'input_shape'). "
                f"Got keys {sorted(config)} instead."
            )
        return cls(config["sizes"], config["activations"])

    def _key(self) -> tuple[Any, ...]:
        if self._stack is not None:
            return (self._stack.input_shape, self._stack.layers)
        return (self.sizes, self.activations)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Network):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        if self._stack is not None:
            return (f"Network(layers={list(self._stack.layers)}, "
                    f"input_shape={self.input_shape})  # n_params={self.n_params}")
        return (
            f"Network(sizes={list(self.sizes)}, activations={list(self.activations)})"
            f"  # n_params={self.n_params}"
        )

    def __getstate__(self) -> dict[str, Any]:
        return self.to_config()

    def __setstate__(self, state: dict[str, Any]) -> None:
        other = Network.from_config(state)
        self.__dict__.update(other.__dict__)

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
            Same seed, same population.  Row ``r`` is drawn from the library's
            stream keyed by ``(seed, 0, STREAMS["init"], r)`` (see
            :mod:`pyneat_lite._rng`), so each genome can be regenerated alone,
            the first ``k`` rows do not depend on ``pop_size``,
            ``init_genome(seed)`` equals ``init_population(1, seed)[0]``, and
            the result does not depend on the number of threads.
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

            Uniform values are drawn in float64 and rounded to float32, so
            they lie in the closed interval (rounding can reach a bound).

        **scheme_kw : float
            The scheme's keywords above; others are an error.

        Returns
        -------
        numpy.ndarray
            C-contiguous float32 array of shape ``(pop_size, n_params)``.
        """
        caller = "Network.init_population"
        pop_size = check_int(pop_size, "pop_size", caller=caller, min_val=1)
        return _init_schemes.init_population(self.layout, self.n_params, pop_size, seed,
                                             scheme, scheme_kw, caller)

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
        n_threads: int | None = None,
    ) -> np.ndarray:
        """Every genome on the same inputs.

        Parameters
        ----------
        population : array-like
            ``(P, n_params)`` population, or one genome ``(n_params,)``;
            converted once to C-contiguous float32 if needed.  NaN and
            infinite weights are accepted (a population under evaluation may
            hold them, and checking would cost a full pass): they give NaN or
            infinite outputs wherever they reach, which fitness functions
            count as the worst value (every activation propagates NaN but
            ``step``, a comparison: ``step(NaN) = 0``).
        X : array-like
            Shared inputs ``(B, n_in)``, finite; converted once to float32.
        out : numpy.ndarray, optional
            float32 C-contiguous buffer ``(P, B, n_out)`` (``(B, n_out)`` for
            one genome), not overlapping the inputs.
        method : {"auto", "gemm", "loops"}
            ``"gemm"``: per block of genomes, the first layer is one BLAS
            product ``X @ [W1_p0 ... W1_pk]``, the later layers explicit Numba
            loops.  ``"loops"``: explicit loops only.  ``"auto"``: ``"loops"``
            for few samples (below 8, up to 48 for a first layer as large as
            784x128, where gathering the kernels costs more than it saves),
            else ``"gemm"``.
        chunk_size : int, optional
            At most this many genomes per GEMM block.  By default about 512
            GEMM rows (genomes x first-layer width), at most an eighth of the
            population, within 4 MiB of first-layer activations (at least
            one genome).  Each thread holds one block's buffers (kept by the
            network per calling thread, reused by later calls); the only
            large allocation is the output.
        n_threads : int, optional
            Threads for this call, scikit-learn's convention: ``None`` uses
            every usable core within Numba's own setting
            (``numba.set_num_threads``, ``NUMBA_NUM_THREADS``), a negative
            value counts back from the cores; an explicit count is capped by
            ``NUMBA_NUM_THREADS``.  Below about a million multiply-adds
            (:data:`FORWARD_PARALLEL_MIN_WORK`), one: waking a thread pool
            on a shared machine costs more than such a forward.

        Returns
        -------
        numpy.ndarray
            float32 ``(P, B, n_out)``, or ``(B, n_out)`` for one genome
            (``out`` itself when given).

        Notes
        -----
        Only Numba's threads run: the GEMM path calls BLAS single-threaded
        from each, and holds the process's BLAS libraries at one thread for
        the duration of the call (threadpoolctl; restored afterwards).
        Results are bit-identical for any number of threads, Numba's or
        BLAS's (see :mod:`pyneat_lite._kernels.forward`).
        """
        caller = "Network.forward"
        if self.recurrent:
            raise ValueError(
                f"{caller}: this network has recurrent layers (RNN, GRU), whose "
                "output depends on a state; use forward_each(population, inputs, "
                "state=...) one step at a time."
            )
        pop, single = self._population(population, caller, "population_or_genome")
        X = self._inputs(X, caller)
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
        out = _output(out, shape, caller, pop, X, n_threads)
        self._forward_unchecked(pop, X, out.reshape(n_pop, n_samples, self.n_out),
                                n_threads, method, chunk_size)
        return out

    def _forward_unchecked(
        self,
        pop: np.ndarray,
        X: np.ndarray,
        out: np.ndarray,
        n_threads: int | None = None,
        method: str = "auto",
        chunk_size: int | None = None,
    ) -> None:
        """:meth:`forward` without validation, for library code.

        ``pop`` float32 C-contiguous ``(P, n_params)``, ``X`` float32
        C-contiguous ``(B, n_in)`` (finite), ``out`` float32 C-contiguous
        ``(P, B, n_out)`` not sharing memory with them; ``n_threads`` None or
        a nonzero int; ``method`` and ``chunk_size`` already valid.
        """
        if self._stack is not None:
            self._stack_forward(pop, X, out, n_threads, method, chunk_size)
            return
        from ._kernels import forward as kernels

        n_pop, n_samples = pop.shape[0], X.shape[0]
        h1 = self.sizes[1]
        if method == "auto":
            method = "gemm" if kernels.use_gemm(self.n_in, h1, n_samples) else "loops"
        work = n_pop * n_samples * self._n_weights
        if method == "loops":
            nt = numba_thread_count(n_threads, work, n_pop, FORWARD_PARALLEL_MIN_WORK)
            with numba_threads(nt if nt > 1 else None):
                kernels.forward_shared_direct(pop, X, self.meta, self.max_width, out,
                                              nt)
            return
        g = kernels.block_genomes(n_pop, h1, n_samples, chunk_size)
        nt = numba_thread_count(n_threads, work, -(-n_pop // g),
                                FORWARD_PARALLEL_MIN_WORK)
        wcat = self._scratch.get("wcat", nt * self.n_in * g * h1).reshape(nt, -1)
        ht = self._scratch.get("ht", nt * g * h1 * n_samples).reshape(nt, -1)
        with numba_threads(nt if nt > 1 else None), single_threaded_blas():
            kernels.forward_shared_gemm(pop, X, self.meta, out, g, wcat, ht, nt)

    def _fitness_unchecked(self, pop: np.ndarray, X: np.ndarray, y: np.ndarray,
                           metric: str, fitness: np.ndarray,
                           n_threads: int | None = None,
                           chunk_size: int | None = None) -> bool:
        """Classification fitness of every genome without writing its outputs.

        ``metric`` "accuracy" or "cross_entropy" (probabilities when the last
        activation is softmax, clipped at 1e-7, else logits), exactly as
        :class:`pyneat_lite.tasks.Classification` with the loss kernels, bit
        for bit.  ``y`` int64 (B,) valid labels; ``fitness`` float64 (P,);
        arrays as in :meth:`_forward_unchecked`.  Returns False, doing
        nothing, where the fused path does not apply (layered networks; few
        samples, where the loops path is used): the caller then runs the
        forward and the loss kernels itself.
        """
        from ._kernels import forward as kernels

        n_pop, n_samples = pop.shape[0], X.shape[0]
        h1 = self.sizes[1]
        if self._stack is not None or not kernels.use_gemm(self.n_in, h1, n_samples):
            return False
        if metric == "accuracy":
            mode = kernels.ACCURACY
        elif self.activations[-1] == "softmax":
            mode = kernels.CROSS_ENTROPY_PROBS
        else:
            mode = kernels.CROSS_ENTROPY_LOGITS
        g = kernels.block_genomes(n_pop, h1, n_samples, chunk_size)
        nt = numba_thread_count(n_threads, n_pop * n_samples * self._n_weights,
                                -(-n_pop // g), FORWARD_PARALLEL_MIN_WORK)
        wcat = self._scratch.get("wcat", nt * self.n_in * g * h1).reshape(nt, -1)
        ht = self._scratch.get("ht", nt * g * h1 * n_samples).reshape(nt, -1)
        with numba_threads(nt if nt > 1 else None), single_threaded_blas():
            kernels.fitness_shared_gemm(pop, X, self.meta, y, mode, 1e-7, fitness, g,
                                        wcat, ht, nt)
        return True

    def _stack_forward(self, pop: np.ndarray, X: np.ndarray, out: np.ndarray,
                       n_threads: int | None, method: str,
                       chunk_size: int | None) -> None:
        """:meth:`_forward_unchecked` of a layered network."""
        from ._kernels import conv

        n_pop, n_samples = pop.shape[0], X.shape[0]
        m0 = self.meta[0]
        if m0[0] == conv.CONV and method != "loops":
            # first convolution: rows of one GEMM = genomes x channels
            g = chunk_size or max(1, -(-conv.GEMM_TARGET_ROWS // int(m0[4])))
            g = max(1, min(g, -(-n_pop // 8)))
            g = -(-n_pop // -(-n_pop // g))  # evened out
        else:
            g = 1
        act_len, col_len, _ = conv.scratch_sizes(self.meta)
        nb = max(1, min(n_samples, conv.BLOCK_VALUES // max(act_len, col_len)))
        nt = numba_thread_count(n_threads, n_pop * n_samples * self._n_weights,
                                -(-n_pop // g), FORWARD_PARALLEL_MIN_WORK)
        with numba_threads(nt if nt > 1 else None), single_threaded_blas():
            conv.stack_forward_shared(pop, X, self.meta, g, nb, out, nt)

    def _inputs(self, X: Any, caller: str, name: str = "X") -> np.ndarray:
        """Inputs as (B, n_in) float32; images may come as (B, C, H, W)."""
        if len(self.input_shape) == 3:
            X = check_array(X, name, caller=caller, ndim=(2, 4), finite=True)
            if X.ndim == 4:
                if X.shape[1:] != self.input_shape:
                    raise ValueError(
                        f"The {name!r} argument of {caller} must have shape (B, "
                        f"{', '.join(map(str, self.input_shape))}) or (B, {self.n_in})"
                        f" (channels-first images). Got shape {X.shape} instead."
                    )
                X = X.reshape(X.shape[0], self.n_in)
            return X
        return check_array(X, name, caller=caller, ndim=2, finite=True)

    def forward_each(
        self,
        population: Any,
        inputs: Any,
        out: np.ndarray | None = None,
        *,
        state: np.ndarray | None = None,
        n_threads: int | None = None,
    ) -> np.ndarray:
        """Each genome on its own input row (one step of a population of policies).

        Parameters
        ----------
        population : array-like
            ``(P, n_params)``; converted once to C-contiguous float32 if
            needed.  NaN and infinite weights are accepted, as in
            :meth:`forward`.
        inputs : array-like
            ``(P, n_in)``: row ``p`` is the input of genome ``p``; finite;
            converted once to float32.
        out : numpy.ndarray, optional
            float32 C-contiguous ``(P, n_out)`` buffer, not overlapping the
            inputs.
        state : numpy.ndarray, optional
            Required for a network with recurrent layers, and only then: the
            float32 C-contiguous ``(P, state_size)`` buffer of
            :meth:`init_state`, owned by the caller.  Row ``p`` holds genome
            ``p``'s layer states one after the other; the step reads it and
            overwrites it with the new states.  Zero rows (``state[:] = 0``,
            ``state[done] = 0``) to start new episodes.
        n_threads : int, optional
            Threads for this call, as in :meth:`forward`.

        Returns
        -------
        numpy.ndarray
            float32 ``(P, n_out)`` (``out`` itself when given).

        Notes
        -----
        One Numba call steps the whole population, in parallel over genomes
        from about a million weights in all (serially below, where waking
        the threads costs more than the work, e.g. a 4-16-2 policy up to
        P = 10,900).  Results do not depend on the
        number of threads.  Inside your own Numba code,
        :func:`pyneat_lite.network.forward_one` does the same for one genome
        without allocating.
        """
        caller = "Network.forward_each"
        pop = check_population(
            population, caller=caller, n_params=self.n_params, finite=False
        )
        inputs = self._inputs(inputs, caller, "inputs")
        n_pop = pop.shape[0]
        if inputs.shape != (n_pop, self.n_in):
            raise ValueError(
                f"The 'inputs' argument of {caller} must have shape ({n_pop}, "
                f"{self.n_in}) (one row of n_in values per genome). Got shape "
                f"{inputs.shape} instead."
            )
        if self.recurrent:
            if state is None:
                raise ValueError(
                    f"The 'state' argument of {caller} is required: this network has "
                    "recurrent layers (RNN, GRU). Pass state=net.init_state(P) and "
                    "keep it from step to step."
                )
            if not isinstance(state, np.ndarray) or state.dtype != np.float32 \
                    or not state.flags.c_contiguous or not state.flags.writeable:
                raise TypeError(
                    f"The 'state' argument of {caller} must be a writeable "
                    "C-contiguous float32 numpy array (it is updated in place; "
                    "net.init_state(P) makes one)."
                )
            if state.shape != (n_pop, self.state_size):
                raise ValueError(
                    f"The 'state' argument of {caller} must have shape ({n_pop}, "
                    f"{self.state_size}) (population, state_size). Got shape "
                    f"{state.shape} instead."
                )
            if np.shares_memory(state, pop) or np.shares_memory(state, inputs):
                raise ValueError(
                    f"The 'state' argument of {caller} must not share memory with "
                    "the population or the inputs."
                )
        elif state is not None:
            raise ValueError(
                f"The 'state' argument of {caller} is only for networks with "
                "recurrent layers (RNN, GRU); this one has none."
            )
        out = _output(out, (n_pop, self.n_out), caller, pop, inputs, n_threads)
        if state is not None and np.shares_memory(out, state):
            raise ValueError(
                f"The 'out' argument of {caller} must not share memory with 'state'."
            )
        self._forward_each_unchecked(pop, inputs, out, n_threads, state)
        return out

    def init_state(self, pop_size: int) -> np.ndarray:
        """Zero recurrent state for ``pop_size`` genomes: float32
        ``(pop_size, state_size)``, for :meth:`forward_each`'s ``state``."""
        pop_size = check_int(pop_size, "pop_size", caller="Network.init_state",
                             min_val=1)
        return np.zeros((pop_size, self.state_size), np.float32)

    def _forward_each_unchecked(
        self, pop: np.ndarray, inputs: np.ndarray, out: np.ndarray,
        n_threads: int | None = None, state: np.ndarray | None = None,
    ) -> None:
        """:meth:`forward_each` without validation, for library code (arrays
        float32 C-contiguous of the documented shapes, ``inputs`` finite,
        ``out`` not sharing memory with them; ``state`` given exactly for
        recurrent networks)."""
        n_pop = pop.shape[0]
        nt = numba_thread_count(n_threads, n_pop * self._n_weights, n_pop,
                                FORWARD_PARALLEL_MIN_WORK)
        if self.recurrent:
            from ._kernels import recurrent

            with numba_threads(nt if nt > 1 else None):
                recurrent.step_each(pop, inputs, self.meta, state, self.max_width, out,
                                    nt)
            return
        if self._stack is not None:
            from ._kernels import conv

            with numba_threads(nt if nt > 1 else None), single_threaded_blas():
                conv.stack_forward_each(pop, inputs, self.meta, out, nt)
            return
        from ._kernels import forward as kernels

        with numba_threads(nt if nt > 1 else None):
            kernels.forward_each_kernel(pop, inputs, self.meta, self.max_width, out, nt)

    # -------------------------------------------------------------- helpers
    def _population(self, x: Any, caller: str, name: str) -> tuple[np.ndarray, bool]:
        """(P, n_params) float32 array and whether a single 1-D genome was given
        (neither is checked for NaN: see :meth:`forward`)."""
        arr = check_array(x, name, caller=caller, ndim=(1, 2), finite=False)
        if arr.ndim == 1:
            arr = check_genome(arr, name, caller=caller, n_params=self.n_params,
                               finite=False)
            return arr.reshape(1, -1), True
        return check_population(arr, name, caller=caller, n_params=self.n_params,
                                finite=False), False


def _macs(meta: np.ndarray) -> int:
    """Multiply-adds (comparisons for pooling) per sample and genome of a
    layered network's table (columns: see :mod:`pyneat_lite._kernels.conv`)."""
    total = 0
    for r in meta.tolist():
        kind, n_in = r[0], r[1] * r[2] * r[3]
        if kind in (1, 2, 3):  # conv, max and average pooling
            total += (r[1] if kind == 1 else 1) * r[7] * r[8] * r[4] * r[5] * r[6]
        elif kind == 0:
            total += n_in * r[4]
        else:  # RNN, GRU
            total += (n_in + r[4]) * r[4] * (1 if kind == 4 else 3)
    return total


def _output(out: Any, shape: tuple[int, ...], caller: str, pop: np.ndarray,
            X: np.ndarray, n_threads: int | None) -> np.ndarray:
    """Validate ``n_threads`` and ``out`` (or allocate it) for a forward."""
    if n_threads is not None:
        effective_n_threads(n_threads)  # validates
    if out is None:
        return np.empty(shape, np.float32)
    return check_out(out, shape, caller=caller, forbid_alias=(pop, X))
