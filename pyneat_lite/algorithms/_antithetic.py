"""Full-rank antithetic ES populations held as their noise (issue 10).

An antithetic strategy's population is ``mean + scale * z_i`` for its ``h``
noise rows and the mirrors ``mean - scale * z_i``.  With shared inputs the
first layer of a pair costs one product ``X @ (scale * z_i)`` instead of
two (``X @ W`` of the centre is shared), so a network-aware fitness
(:class:`pyneat_lite.tasks.Classification`, :class:`~pyneat_lite.tasks.Regression`)
scores the population from this structure; any other code converts it with
``np.asarray`` and gets exactly the genomes ``ask()`` returns.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .._kernels import es as _es_kernels
from .._typing import Float32Array, Float64Array

__all__ = ["AntitheticPopulation"]


class AntitheticPopulation:
    """A full-rank antithetic ES population, held as its noise (read-only).

    Returned by :meth:`~pyneat_lite.algorithms.OpenES.ask_structured` of a
    full-rank strategy with antithetic sampling (OpenES, PGPE, ARS, SNES
    with ``antithetic=True``); valid until the next ``tell``.  Member ``i <
    h`` is ``mean + scale * noise[i]`` and member ``h + i`` its mirror
    ``mean - scale * noise[i]`` (``h = P / 2``).  ``Classification`` and
    ``Regression`` evaluate it with one first-layer product per pair;
    ``np.asarray(pop)`` (or :meth:`materialize`) gives the genomes, the
    strategy's own buffer that ``ask()`` returns, and ``pop[i]`` single
    rows without writing the others.

    Attributes
    ----------
    antithetic : bool
        Always True.
    mean : float64 array (n_params,)
        The centre (the strategy's own buffer: do not write).
    scale : float64 array (n_params,)
        Per-coordinate standard deviation.
    noise : float32 array (h, n_params)
        Standard-normal rows.
    shape : tuple
        ``(pop_size, n_params)``.
    """

    antithetic = True

    def __init__(self, mean: Float64Array, scale: Float64Array, noise: Float32Array,
                 dense: Callable[[], Float32Array], owner: str) -> None:
        self.mean = mean
        self.scale = scale
        self.noise = noise
        self._dense = dense
        self._owner = owner
        self.shape = (2 * noise.shape[0], noise.shape[1])
        self.dtype = np.dtype(np.float32)

    def __len__(self) -> int:
        return self.shape[0]

    def __repr__(self) -> str:
        return (f"AntitheticPopulation(pop_size={self.shape[0]}, "
                f"n_params={self.shape[1]}, of {self._owner})")

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        pop = self._dense()
        if dtype is not None and np.dtype(dtype) != pop.dtype:
            return pop.astype(dtype)
        return pop.copy() if copy else pop

    def materialize(self) -> Float32Array:
        """The genomes, float32 ``(pop_size, n_params)``: the buffer that the
        strategy's ``ask()`` returns (written on the first call)."""
        return self._dense()

    def rows(self, index: Any) -> Float32Array:
        """Genomes ``index`` (int array-like), float32 ``(len(index),
        n_params)``, computed as the sampling kernel computes them."""
        idx = np.asarray(index, dtype=np.int64).reshape(-1)
        n, h = self.shape[0], self.noise.shape[0]
        if idx.size and (idx.min() < -n or idx.max() >= n):
            raise IndexError(f"row index out of range for a population of {n}")
        idx = np.where(idx < 0, idx + n, idx)
        k = idx.size
        mirror = idx >= h
        # both members of each row's pair in one call of the sampling kernel
        # (its arithmetic, so the genomes' bits), then the wanted side
        both = np.empty((2 * k, self.shape[1]), np.float32)
        _es_kernels.sample_population(self.mean, self.scale,
                                      self.noise[np.where(mirror, idx - h, idx)],
                                      both, True, 1)
        pick = np.arange(k)
        return both[np.where(mirror, pick + k, pick)]

    def __getitem__(self, index: Any) -> Float32Array:
        """Genome ``index`` (an int: 1-D) or genomes (a slice, list or int
        array: 2-D), without writing the others."""
        if isinstance(index, (int, np.integer)):
            return self.rows([int(index)])[0]
        if isinstance(index, slice):
            return self.rows(np.arange(self.shape[0])[index])
        return self.rows(index)
