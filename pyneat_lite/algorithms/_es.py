"""Shared machinery of the evolution strategies: sampling and moment sums.

Every strategy here keeps a Gaussian search distribution with centre
``mean`` (float64, shape (n_params,)) and per-coordinate scale, samples
standard normals ``z`` with :func:`pyneat_lite._rng.standard_normal`
(a counter-based stream per (seed, generation, row), so a run is
reproducible whatever the number of threads), and writes the population
``mean + scale * z`` (and, with antithetic sampling, ``mean - scale * z``)
into one owned float32 buffer with a Numba kernel.  The two population-sized
buffers (``z`` and the population) are allocated once.

Low-rank mode (strategies with a ``rank`` parameter, see
:mod:`._lowrank`): ``z`` holds the factors of each sample, ``O(r (in +
out))`` values per weight matrix instead of ``in * out``; ``ask()`` writes
the genomes only when called (a generic fitness needs them),
:meth:`EvolutionStrategy.ask_structured` returns the structure for a
network-aware fitness, and the moment sums come from the factors (one
float64 GEMM per weight matrix).

Full-rank antithetic sampling (OpenES, PGPE, ARS, SNES with
``antithetic=True``): :meth:`EvolutionStrategy.ask_structured` returns an
:class:`~._antithetic.AntitheticPopulation` (the centre, the scale and the
pairs' noise), which the supervised tasks score with one first-layer
product per pair; the genomes are written only when ``ask()`` (or
``np.asarray`` of the structure) needs them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._kernels import es as _kernels
from .._kernels import lowrank as _lr
from .._rng import STREAMS, fill_standard_normal
from .._threads import (
    kernel_threads,
    numba_thread_count,
    numba_threads,
    single_threaded_blas,
)
from .._typing import Float32Array, Float64Array
from .._validation import check_genome
from ._antithetic import AntitheticPopulation
from ._lowrank import LowRankPopulation
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
        self._rank = getattr(p, "rank", None)
        # full-rank antithetic pairs drawn by this class's sampling: the
        # population is handed out as its structure, the genomes written lazily
        self._pairs = (self._rank is None and self._antithetic
                       and type(self)._ask is EvolutionStrategy._ask)
        self._pop_generation = -1  # generation the genome buffer holds
        self._apop: AntitheticPopulation | None = None
        if self._rank is None:
            width = p.n_params
            self._pop = np.zeros((p.pop_size, p.n_params), dtype=np.float32)
        else:
            self._offsets, width = _lr.noise_offsets(p.network.meta, self._rank)
            self._pop = None  # low-rank: genomes written only when asked for
            self._dense: np.ndarray | None = None  # their buffer
            self._dense_generation = -1  # generation the buffer holds
        self._z = np.zeros((h, width), dtype=np.float32)
        self._g1 = np.zeros(p.n_params, dtype=np.float64)
        self._g2 = np.zeros(p.n_params, dtype=np.float64)
        self._noise_stream = STREAMS["es_noise"]
        self._noise_threads = kernel_threads(p.n_threads, h * width, h)
        self._all_rows = np.arange(h, dtype=np.int64)

    # ------------------------------------------------------------------ hooks
    def _scale(self) -> Float64Array:
        raise NotImplementedError  # pragma: no cover - abstract

    def _current_population(self) -> Any:
        if self._rank is not None:
            return self._structured()
        if self._pairs and self._pop_generation != self._generation:
            return self._pairs_population()  # rows on demand (hall of fame)
        return self._pop

    def _pairs_population(self, new: bool = False) -> AntitheticPopulation:
        if new or self._apop is None:  # once per generation (or after a load)
            self._apop = AntitheticPopulation(
                self._mean, self._scale(), self._z, self._write_pairs,
                type(self).__name__)
        return self._apop

    def _write_pairs(self) -> Float32Array:
        """The genome buffer of the pending antithetic population, written on
        the first call of a generation."""
        if self._pop_generation != self._generation:
            _kernels.sample_population(
                self._mean, self._scale(), self._z, self._pop, True,
                self._params.n_threads,
            )
            self._pop_generation = self._generation
        return self._pop

    def _seeds_only_spec(self) -> dict[str, Any] | None:
        if self._rank is not None:
            return None  # low-rank rows are not ESSpec's: the genomes travel
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
        if self._rank is not None:
            return self._structured()
        if self._pairs:
            self._pop_generation = -1
            return self._pairs_population(new=True)
        _kernels.sample_population(
            self._mean, self._scale(), self._z, self._pop, self._antithetic,
            self._params.n_threads,
        )
        return self._pop

    def ask(self) -> Float32Array:
        """Return the genomes to evaluate.

        Returns
        -------
        float32 array of shape (pop_size, n_params)
            A buffer owned by the strategy, valid until the next ``tell``;
            ``ask`` again before ``tell`` returns the same population.  In
            low-rank mode the genomes are written from the noise factors on
            this call (see :meth:`ask_structured` for the structure alone).
        """
        pop = super().ask()
        if self._pairs:
            return self._write_pairs()
        if self._rank is None:
            return pop
        if self._dense_generation != self._generation:
            if self._dense is None:
                p = self._params
                self._dense = np.empty((p.pop_size, p.n_params), np.float32)
            pop.materialize(out=self._dense)
            self._dense_generation = self._generation
        return self._dense

    def ask_structured(self) -> Any:
        """Return the population to evaluate with its structure.

        Returns
        -------
        LowRankPopulation, AntitheticPopulation or float32 array
            In low-rank mode (``rank=``) the noise factors, without the
            genomes (see :class:`~pyneat_lite.algorithms.LowRankPopulation`);
            with full-rank antithetic sampling the centre, scale and pair
            noise (:class:`~pyneat_lite.algorithms.AntitheticPopulation`,
            whose ``np.asarray`` is :meth:`ask`'s genomes); ``Classification``
            and ``Regression`` evaluate either directly.  Else what
            :meth:`ask` returns.  Either counts as the pending ``ask``:
            :meth:`ask` and :meth:`ask_structured` before ``tell`` describe
            the same genomes.  :meth:`run` uses it when the fitness can take it.
        """
        pop = super().ask()
        return self._pairs_population() if self._pairs else pop

    @classmethod
    def _from_params(cls, params: Any) -> Algorithm:
        names = cls.Params.names()
        if "rank" in names and "rank" not in params:
            # a checkpoint written before low-rank mode existed: full rank
            params = {**params, "rank": None, "network": None}
        if "lr_decay" in names and "lr_decay" not in params:
            params = {**params, "lr_decay": 1.0, "lr_limit": 0.0}  # constant lr
        if "weight_decay" in names and "weight_decay" not in params:
            params = {**params, "weight_decay": 0.0}  # PGPE before its weight decay
        return super()._from_params(params)

    def _structured(self) -> LowRankPopulation:
        p = self._params
        return LowRankPopulation(p.network, self._rank, self._antithetic, self._mean,
                                 self._scale(), self._z, self._offsets,
                                 f"{type(self).__name__}(rank={self._rank})",
                                 p.n_threads)

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
        if self._rank is not None:
            z = self._z if rows is None else np.ascontiguousarray(self._z[r])
            b = np.asarray(b, dtype=np.float64)
            nt = numba_thread_count(self._params.n_threads,
                                    z.shape[0] * self._params.n_params)
            with numba_threads(nt if nt > 1 else None), single_threaded_blas():
                # sums independent of the thread count (fixed tiles)
                _lr.weight_moments(z, np.asarray(a, dtype=np.float64),
                                   b if b.any() else None, self._params.network.meta,
                                   self._offsets, self._rank, self._g1, self._g2, nt)
            if not b.any():
                self._g2[...] = 0.0
            return self._g1, self._g2
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
