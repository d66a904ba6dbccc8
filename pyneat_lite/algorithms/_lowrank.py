"""Low-rank ES populations: the structure, its validation and its genomes.

In low-rank mode (``rank=r``, EGGROLL: Sarkar et al., "Evolution Strategies
at the Hyperscale", arXiv 2511.16652, 2025) member ``i`` of an evolution
strategy perturbs every weight matrix ``W (in, out)`` of the network by
``s / sqrt(r) * A_i.T @ B_i`` (``A_i (r, in)``, ``B_i (r, out)`` standard
normal) and every bias by full-rank noise ``s * e_i``; with antithetic
sampling member ``h + i`` is the mirror ``mean - noise_i``.  The noise takes
``O(P r (in + out))`` values, and a network-aware fitness
(:class:`pyneat_lite.tasks.Classification`, :class:`~pyneat_lite.tasks.Regression`)
scores the population from it without writing the ``(P, n_params)``
genomes; any other fitness gets the genomes, the same numbers.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._kernels import lowrank as _lr
from .._threads import kernel_threads, numba_threads
from .._typing import Float32Array, Float64Array
from ..network import Network
from .params import Int, param

__all__ = ["LowRankPopulation", "check_lowrank", "network_param", "rank_param"]


def check_lowrank(network: Any, rank: Any, n_params: int, caller: str) -> None:
    """Validate ``rank`` (None, or an int in ``[1, min(in, out)]`` of every
    weight matrix) against ``network`` (required with a rank; its
    ``n_params`` must be the strategy's)."""
    if network is not None:
        if not isinstance(network, Network):
            raise TypeError(
                f"The 'network' parameter of {caller} must be a pyneat_lite.Network "
                f"or None. Got {type(network).__name__} instead."
            )
        if network.n_params != n_params:
            raise ValueError(
                f"The 'network' parameter of {caller} must have n_params={n_params} "
                f"parameters (the strategy's genome length); its layout "
                f"{list(network.sizes)} has {network.n_params} instead."
            )
    if rank is None:
        return
    if network is None:
        raise ValueError(
            f"The 'network' parameter of {caller} is required with rank={rank} "
            "(the low-rank noise is laid out per weight matrix). Got None instead."
        )
    if network.meta.ndim != 2 or network.meta.shape[1] != 5:
        kinds = sorted({type(layer).__name__ for layer in network.layers}
                       - {"Dense"})
        raise ValueError(
            f"The 'network' parameter of {caller} must have Dense layers only with "
            f"rank={rank} (the low-rank noise perturbs weight matrices). Got a "
            f"network with {', '.join(kinds)} layers instead."
        )
    smallest = min(min(lay.w_shape) for lay in network.layout)
    if rank > smallest:
        raise ValueError(
            f"The 'rank' parameter of {caller} must be in [1, {smallest}] (the "
            f"smaller side of the network's smallest weight matrix). Got {rank} "
            "instead."
        )


def encode_network(net: Network) -> dict[str, Any]:
    """JSON form of a network's architecture (parameters, checkpoints)."""
    return {"sizes": list(net.sizes), "activations": list(net.activations)}


def decode_network(value: Any) -> Network:
    """Inverse of :func:`encode_network` (a Network passes through)."""
    if isinstance(value, Network):
        return value
    return Network(value["sizes"], value["activations"])


class LowRankPopulation:
    """A low-rank ES population, held as its noise factors (read-only).

    Returned by :meth:`~pyneat_lite.algorithms.OpenES.ask_structured` of a
    strategy built with ``rank=``; valid until the next ``tell``.  Pass it
    to a network-aware fitness (``Classification``, ``Regression``), which
    evaluates it without writing the genomes, or get the genomes with
    :meth:`materialize` (what ``ask()`` returns) or row by row with
    ``pop[i]``.  NumPy conversion (``np.asarray(pop)``) is refused: a
    function that cannot take the structure must be given ``ask()``'s
    genomes instead, not several hundred MB built by accident.

    Attributes
    ----------
    network : Network
    rank : int
    antithetic : bool
        Members ``h + i`` are the mirrors of members ``i`` (``h = P / 2``).
    mean : float64 array (n_params,)
        The centre (the strategy's own buffer: do not write).
    scale : float64 array (n_params,)
        Per-coordinate scale ``s`` (constant within each weight matrix).
    noise : float32 array (h, m)
        One row per sample: per layer ``A`` (r, in), ``B`` (r, out), ``e``
        (out,) at :attr:`offsets`.
    offsets : int64 array (n_layers, 3)
    shape : tuple
        ``(pop_size, n_params)``.
    """

    def __init__(self, network: Network, rank: int, antithetic: bool,
                 mean: Float64Array, scale: Float64Array, noise: Float32Array,
                 offsets: np.ndarray, owner: str, n_threads: int | None = None) -> None:
        self.network = network
        self.rank = rank
        self.antithetic = antithetic
        self.mean = mean
        self.scale = scale
        self.noise = noise
        self.offsets = offsets
        self._owner = owner
        self._n_threads = n_threads
        h = noise.shape[0]
        self.shape = (2 * h if antithetic else h, network.n_params)
        self.dtype = np.dtype(np.float32)
        # rows already written (the hall of fame reads its candidates twice)
        self._cache: dict[int, np.ndarray] = {}

    def __len__(self) -> int:
        return self.shape[0]

    def __repr__(self) -> str:
        return (f"LowRankPopulation(pop_size={self.shape[0]}, "
                f"n_params={self.shape[1]}, rank={self.rank}, "
                f"antithetic={self.antithetic}, of {self._owner})")

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        raise TypeError(
            f"A LowRankPopulation (the structured population of {self._owner}) "
            "cannot be converted to an array implicitly: pass it to a "
            "network-aware fitness (pyneat_lite.tasks.Classification or "
            "Regression), or give other functions the genomes of ask() (or "
            "population.materialize())."
        )

    def materialize(self, rows: Any = None, out: Float32Array | None = None
                    ) -> Float32Array:
        """The genomes, float32 ``(len(rows), n_params)`` (all by default):
        ``mean +- scale * Z_i`` with ``Z_i`` the full noise vector, each
        value computed in float64 and rounded once."""
        net = self.network
        h = self.noise.shape[0]
        if rows is None:
            if out is None:
                out = np.empty(self.shape, np.float32)
            nt = kernel_threads(self._n_threads, out.size, h)
            with numba_threads(nt if nt > 1 else None):
                _lr.materialize(self.mean, self.scale, self.noise, net.meta,
                                self.offsets, self.rank, self.antithetic, out, nt)
            return out
        rows = np.asarray(rows, dtype=np.int64).reshape(-1)
        n = self.shape[0]
        if rows.size and (rows.min() < -n or rows.max() >= n):
            raise IndexError(f"row index out of range for a population of {n}")
        rows = np.where(rows < 0, rows + n, rows).tolist()
        todo = sorted({r for r in rows if r not in self._cache})
        if todo:
            t = np.array(todo, dtype=np.int64)
            # sample rows and signs: member h + i is the mirror of sample i;
            # mean - d is written as mean + (-s) * (a b), the same rounding as
            # the antithetic kernel's mean - s * (a b)
            mirror = t >= h
            z = np.ascontiguousarray(self.noise[np.where(mirror, t - h, t)])
            new = np.empty((t.size, self.shape[1]), np.float32)
            for sign, sel in ((1.0, ~mirror), (-1.0, mirror)):
                if sel.any():
                    part = np.empty((int(sel.sum()), self.shape[1]), np.float32)
                    _lr.materialize(self.mean, sign * self.scale,
                                    np.ascontiguousarray(z[sel]), net.meta,
                                    self.offsets, self.rank, False, part, 1)
                    new[sel] = part
            for r, g in zip(todo, new, strict=True):
                self._cache[r] = g
        res = out if out is not None else np.empty((len(rows), self.shape[1]),
                                                   np.float32)
        for k, r in enumerate(rows):
            res[k] = self._cache[r]
        return res

    def count_nonfinite(self, rows: Any) -> int:
        """Number of NaN or infinite values in the genomes ``rows`` (what
        ``np.isfinite(self.materialize(rows))`` counts as False).

        The genomes are written only when a bound does not settle it: a
        value is ``mean +- s / sqrt(r) sum_q a_q b_q`` (weights) or ``mean
        +- s e`` (biases), so ``|value| <= max|mean| + max|s| max(|z|,
        sqrt(r) |z|**2)`` over the rows' noise ``z``; below 1e38 (float32
        overflows at 3.4e38; NaN fails the comparison) none can be
        non-finite.
        """
        rows = np.asarray(rows, dtype=np.int64).reshape(-1)
        if rows.size == 0:
            return 0
        n, h = self.shape[0], self.noise.shape[0]
        if rows.min() >= -n and rows.max() < n:
            r = np.where(rows < 0, rows + n, rows)
            z = self.noise[np.where(r >= h, r - h, r)]
            zmax = max(float(z.max()), -float(z.min()))
            m = max(float(self.mean.max()), -float(self.mean.min()))
            s = max(float(self.scale.max()), -float(self.scale.min()))
            if m + s * max(zmax, math.sqrt(self.rank) * zmax * zmax) < 1e38:
                return 0
        return int(np.count_nonzero(~np.isfinite(self.materialize(rows))))

    def __getitem__(self, index: Any) -> Float32Array:
        """Genome ``index`` (an int: 1-D) or genomes (a list or int array:
        2-D), materialised."""
        if isinstance(index, (int, np.integer)):
            return self.materialize([int(index)])[0]
        if isinstance(index, slice):
            return self.materialize(np.arange(self.shape[0])[index])
        return self.materialize(index)


def _check_network(x: Any, name: str, caller: str | None) -> Network | None:
    if x is not None and not isinstance(x, Network):
        raise TypeError(
            f"The {name!r} parameter of {caller} must be a pyneat_lite.Network or "
            f"None. Got {type(x).__name__} instead."
        )
    return x


def rank_param() -> Any:
    """The ``rank`` field of a strategy's parameters (None: full rank)."""
    return param(Int(min_val=1, optional=True),
                 doc="Rank of the weight-matrix perturbations (None: full rank).")


def network_param() -> Any:
    """The ``network`` field of a strategy's parameters (stored as its sizes
    and activations)."""
    return param(_check_network, encode=encode_network, decode=decode_network,
                 doc="The network whose layout the low-rank noise follows.")
