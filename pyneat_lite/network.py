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

from collections.abc import Sequence
from typing import Any

import numpy as np

from . import _init_schemes
from . import _network_checks as _checks
from ._init_schemes import INIT_SCHEMES
from ._layout import LayerLayout, StackSpec, parse_layers, parse_spec
from ._network_checks import _output as _output  # re-exported (issue 9 split)
from ._network_kernels import (
    FORWARD_PARALLEL_MIN_WORK as FORWARD_PARALLEL_MIN_WORK,  # re-exported
)
from ._network_kernels import _macs as _macs  # re-exported (issue 9 split)
from ._network_kernels import (
    _Scratch,
    fitness_unchecked,
    forward_each_unchecked,
    forward_unchecked,
)
from ._typing import SeedLike
from ._validation import check_int

__all__ = ["Network", "LayerLayout", "INIT_SCHEMES"]


def __getattr__(name: str) -> Any:
    # forward_one lives with the kernels; importing it here starts Numba, so
    # it is resolved on first access (``import pyneat_lite.network`` stays cheap)
    if name == "forward_one":
        from ._kernels.forward import forward_one

        return forward_one
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
        if _checks.check_init_args(sizes, activations, layers, input_shape):
            self._init_layers(layers, input_shape)
            return
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
        spec = parse_layers(layers, input_shape)
        dense = _checks.dense_form(spec)
        if dense is not None:
            # dense only: the sizes form, its kernels and its equality
            self.__init__(*dense)  # type: ignore[misc]
            return
        self.__dict__.update(_checks.stack_attributes(spec))

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
        return _checks.from_config(cls, config)

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

    def split(self, index: int) -> tuple[Network, Network]:
        """The networks of the first ``index`` layers and of the rest.

        ``prefix.n_params + suffix.n_params == n_params`` and, for any genome
        ``g``, ``suffix.forward(g[k:], prefix.forward(g[:k], X))`` equals
        ``forward(g, X)`` (``k = prefix.n_params``): the suffix runs on cached
        activations, e.g. on features shared by a population that differs
        only in the suffix's weights (``benchmarks/bench_convnet_blocks.py``).

        Parameters
        ----------
        index : int
            Position in :attr:`layers`, from 1 to ``len(layers) - 1``.  A
            :class:`~pyneat_lite.Flatten` at ``index`` is dropped from the
            suffix, which then reads flat rows (a suffix of dense layers is
            the sizes form, with its kernels).

        Returns
        -------
        (Network, Network)
            ``prefix``, ``suffix``; the suffix's input is the prefix's output
            (an image shape ``(C, H, W)`` or a width).

        Raises
        ------
        ValueError
            ``index`` out of range, or leaving a side without a layer with
            parameters (only pooling or ``Flatten``); a recurrent network.
        TypeError
            ``index`` not an integer.

        Examples
        --------
        >>> net = pn.Network([4, 8, 3], ["tanh", "softmax"])
        >>> pre, suf = net.split(1)
        >>> pre.sizes, suf.sizes, pre.n_params + suf.n_params == net.n_params
        ((4, 8), (8, 3), True)
        """
        return _checks.split(self, index)

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
        _checks.check_genome_view(genome, self.n_params, "Network.unflatten")
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
        return _checks.flatten_weights(self.layout, self.n_params, weights,
                                       "Network.flatten")

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

        Examples
        --------
        >>> net = pn.Network([3, 4, 2], ["tanh", "linear"])
        >>> pop = net.init_population(5, seed=0)
        >>> X = np.ones((7, 3), np.float32)
        >>> net.forward(pop, X).shape
        (5, 7, 2)
        >>> net.forward(pop[0], X).shape  # one genome
        (7, 2)
        """
        caller = "Network.forward"
        _checks.check_stateless(self, caller)
        pop, single = _checks.population(self, population, caller,
                                         "population_or_genome")
        X = _checks.inputs(self, X, caller)
        chunk_size = _checks.check_forward_args(self, X, method, chunk_size, caller)
        n_pop, n_samples = pop.shape[0], X.shape[0]
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
        """:meth:`forward` without validation, for library code (arguments as
        :func:`pyneat_lite._network_kernels.forward_unchecked` says)."""
        forward_unchecked(self, pop, X, out, n_threads, method, chunk_size)

    def _fitness_unchecked(self, pop: np.ndarray, X: np.ndarray, y: np.ndarray,
                           metric: str, fitness: np.ndarray,
                           n_threads: int | None = None,
                           chunk_size: int | None = None) -> bool:
        """Classification fitness of every genome without writing its outputs
        (False, doing nothing, where the fused path does not apply); see
        :func:`pyneat_lite._network_kernels.fitness_unchecked`."""
        return fitness_unchecked(self, pop, X, y, metric, fitness, n_threads,
                                 chunk_size)

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
        if state is None and n_threads is None and not self.recurrent \
                and _checks.step_arrays_ready(self, population, inputs, out):
            if out is None:
                out = np.empty((population.shape[0], self.n_out), np.float32)
            forward_each_unchecked(self, population, inputs, out)
            return out
        pop, inputs, out = _checks.step_args(self, population, inputs, out, state,
                                             n_threads, "Network.forward_each")
        forward_each_unchecked(self, pop, inputs, out, n_threads, state)
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
        """:meth:`forward_each` without validation, for library code (arguments
        as :func:`pyneat_lite._network_kernels.forward_each_unchecked` says)."""
        forward_each_unchecked(self, pop, inputs, out, n_threads, state)
