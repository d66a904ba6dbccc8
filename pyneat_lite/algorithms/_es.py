"""Shared machinery of the evolution strategies: sampling and moment sums.

Every strategy here keeps a Gaussian search distribution with centre
``mean`` (float64, shape (n_params,)) and per-coordinate scale, samples
standard normals ``z`` with :func:`pyneat_lite._rng.standard_normal`
(a counter-based stream per (seed, generation, row), so a run is
reproducible whatever the number of threads), and writes the population
``mean + scale * z`` (and, with antithetic sampling, ``mean - scale * z``)
into one owned float32 buffer with a Numba kernel.  The two population-sized
buffers (``z`` and the population) are allocated once.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._kernels import es as _kernels
from .._rng import STREAMS, fill_standard_normal
from .._threads import kernel_threads
from .._typing import Float32Array, Float64Array
from .._validation import check_genome
from .base import Algorithm
from .params import ESParams

__all__ = ["EvolutionStrategy"]


class EvolutionStrategy(Algorithm):
    """Base class of the evolution strategies (not instantiated directly).

    Subclasses declare ``Params`` (an :class:`~.params.ESParams`), call
    ``super().__init__(locals())`` and :meth:`_init_es`, and implement
    ``_scale()`` (per-coordinate standard deviation, float64 (N,)) and
    ``_tell``.
    """

    Params = ESParams
    _ES_STATE_ARRAYS = ("_mean", "_z", "_pop")

    def _init_es(self, x0: Any) -> None:
        p = self._params
        self._antithetic = p.antithetic_sampling
        if x0 is None:
            self._mean = np.zeros(p.n_params, dtype=np.float64)
        else:
            x = check_genome(x0, "x0", caller=type(self).__name__, n_params=p.n_params)
            self._mean = x.astype(np.float64)
        h = p.pop_size // 2 if self._antithetic else p.pop_size
        self._z = np.zeros((h, p.n_params), dtype=np.float32)
        self._pop = np.zeros((p.pop_size, p.n_params), dtype=np.float32)
        self._g1 = np.zeros(p.n_params, dtype=np.float64)
        self._g2 = np.zeros(p.n_params, dtype=np.float64)
        self._noise_stream = STREAMS["es_noise"]
        self._noise_threads = kernel_threads(p.n_threads, h * p.n_params, h)
        self._all_rows = np.arange(h, dtype=np.int64)

    # ------------------------------------------------------------------ hooks
    def _scale(self) -> Float64Array:
        raise NotImplementedError  # pragma: no cover - abstract

    def _current_population(self) -> Float32Array:
        return self._pop

    def _seeds_only_spec(self) -> dict[str, Any]:
        # everything _ask() samples from: a worker rebuilds any row from it
        return {"mean": self._mean, "scale": self._scale(),
                "seed": self._params.seed, "generation": self._generation,
                "pop_size": self._params.pop_size,
                "antithetic": self._antithetic, "stream": self._noise_stream}

    def _ask(self) -> Float32Array:
        fill_standard_normal(
            self._z,
            self._params.seed,
            self._generation,
            self._noise_stream,
            self._noise_threads,
        )
        _kernels.sample_population(
            self._mean, self._scale(), self._z, self._pop, self._antithetic,
            self._params.n_threads,
        )
        return self._pop

    # --------------------------------------------------------------- helpers
    def _moments(
        self,
        w1: Float64Array,
        w2: Float64Array,
        rows: np.ndarray | None = None,
    ) -> tuple[Float64Array, Float64Array]:
        """``(sum_k w1[k] z_k, sum_k w2[k] z_k**2)`` over the sampled
        perturbations ``z_k`` (signed with antithetic sampling).

        ``w1``/``w2`` are float64 per-sample weights of shape (pop_size,);
        with ``rows`` (int64 (k,)) only those samples count and the weights
        have shape (k,).
        """
        if self._antithetic:
            # sample h + i is -z_i: its linear term flips, its square does not
            h = self._z.shape[0]
            if rows is None:
                a = w1[:h] - w1[h:]
                b = w2[:h] + w2[h:]
                r = self._all_rows
            else:
                sign = np.where(rows < h, 1.0, -1.0)
                a = w1 * sign
                b = w2
                r = np.where(rows < h, rows, rows - h)
        else:
            a, b = w1, w2
            r = self._all_rows if rows is None else rows
        _kernels.weighted_moments(
            self._z,
            np.ascontiguousarray(r, dtype=np.int64),
            np.ascontiguousarray(a, dtype=np.float64),
            np.ascontiguousarray(b, dtype=np.float64),
            self._g1,
            self._g2,
            self._params.n_threads,
        )
        return self._g1, self._g2

    # ------------------------------------------------------------- properties
    @property
    def mean(self) -> Float32Array:
        """Copy of the centre of the search distribution, float32 (n_params,)."""
        return self._mean.astype(np.float32)

    @property
    def sigma(self) -> Float64Array:
        """Copy of the current per-coordinate standard deviation, (n_params,)."""
        return np.array(self._scale(), dtype=np.float64)
