"""Seeds-only populations of the evolution strategies (Salimans et al. 2017).

An evolution strategy's population is ``mean + scale * z`` (and, with
antithetic sampling, ``mean - scale * z`` for the second half), with ``z``
drawn from the counter-based stream keyed by ``(seed, generation,
STREAMS["es_noise"], row)``.  :class:`ESSpec` holds exactly that key plus the
centre and the scale, so that a worker rebuilds any rows of the population
alone: only ``mean`` (and ``scale`` when it is not one number) travels, and
the fitness scalars come back.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .._rng import STREAMS, standard_normal
from .._typing import Float32Array, Float64Array
from .._validation import check_array, check_int

__all__ = ["ESSpec"]


class ESSpec:
    """What a worker needs to rebuild an evolution strategy's population.

    Row ``r`` of the population is ``mean + scale * z[r]`` when ``r < h``
    and, with ``antithetic``, ``mean - scale * z[r - h]`` for ``r >= h``
    (``h = pop_size // 2``; ``h = pop_size`` without antithetic sampling),
    where ``z[i]`` is row ``i`` of
    ``pyneat_lite._rng.standard_normal(h, n_params, seed=seed,
    generation=generation, stream=stream)``.  The products and sums are
    computed in float64 and rounded once to float32, as the evolution
    strategies' own sampling kernel does, so :meth:`rows` is bit-identical to
    the corresponding rows of ``es.ask()``.

    Parameters
    ----------
    mean : array-like of shape (n_params,)
        Centre of the search distribution (kept as float64: the float32
        ``es.mean`` would round it).
    scale : float or array-like of shape (n_params,)
        Per-coordinate standard deviation (non-negative, finite).  A vector
        whose entries are all equal is kept as one number, so that it does not
        travel.
    seed, generation : int
        Key of the noise stream (the algorithm's ``seed`` and the generation
        being sampled).
    pop_size : int
        Rows of the population (even with ``antithetic``).
    antithetic : bool, default=False
        Mirrored pairs ``mean +- scale * z``.
    stream : int, default=STREAMS["es_noise"]
        Stream id of the noise.

    Attributes
    ----------
    n_params : int
        Genome length.
    nbytes : int
        Bytes of the arrays that travel (``mean``, and ``scale`` if a vector).

    Examples
    --------
    >>> from pyneat_lite.evaluation import ESSpec
    >>> es = pn.OpenES(n_params=5, pop_size=8, seed=0)
    >>> spec = ESSpec(es._mean, es.sigma, seed=es.seed, generation=es.generation,
    ...               pop_size=8, antithetic=True)
    >>> bool((spec.rows(2, 6) == es.ask()[2:6]).all())
    True
    """

    __slots__ = ("mean", "scale", "seed", "generation", "pop_size", "antithetic",
                 "stream")

    def __init__(self, mean: Any, scale: Any, *, seed: int, generation: int,
                 pop_size: int, antithetic: bool = False,
                 stream: int = STREAMS["es_noise"]) -> None:
        caller = "ESSpec"
        m = check_array(mean, "mean", caller=caller, ndim=1, dtype=np.float64)
        self.pop_size = check_int(pop_size, "pop_size", caller=caller, min_val=1)
        self.antithetic = bool(antithetic)
        if self.antithetic and self.pop_size % 2:
            raise ValueError(
                f"The 'pop_size' parameter of {caller} must be even with antithetic "
                f"sampling. Got {self.pop_size} instead."
            )
        if np.ndim(scale) == 0:
            s = check_array(np.asarray(scale).reshape(1), "scale", caller=caller,
                            ndim=1, dtype=np.float64)
        else:
            s = check_array(scale, "scale", caller=caller, ndim=1, dtype=np.float64)
            if s.shape != m.shape:
                raise ValueError(
                    f"The 'scale' argument of {caller} must be a number or have the "
                    f"shape of mean {m.shape}. Got shape {s.shape} instead."
                )
        if s.size and s.min() < 0:
            raise ValueError(
                f"The 'scale' argument of {caller} must be non-negative. "
                f"Got {float(s.min())!r} instead."
            )
        # a constant vector (OpenES, and every ES at generation 0) travels as
        # one number; the arithmetic below is the same either way
        if s.size and (s == s[0]).all():
            self.scale: float | Float64Array = float(s[0])
        else:
            self.scale = s.copy()  # the ES updates its own arrays in place
        self.mean: Float64Array = m.copy()
        self.seed = check_int(seed, "seed", caller=caller, min_val=0)
        self.generation = check_int(generation, "generation", caller=caller,
                                    min_val=0)
        self.stream = check_int(stream, "stream", caller=caller, min_val=0)

    @classmethod
    def _trusted(cls, mean: Float64Array, scale: float | Float64Array, seed: int,
                 generation: int, pop_size: int, antithetic: bool,
                 stream: int) -> ESSpec:
        """A spec from already validated parts (the worker side; no copies)."""
        self = object.__new__(cls)
        self.mean, self.scale, self.seed = mean, scale, seed
        self.generation, self.pop_size = generation, pop_size
        self.antithetic, self.stream = antithetic, stream
        return self

    @property
    def n_params(self) -> int:
        return int(self.mean.shape[0])

    @property
    def nbytes(self) -> int:
        return int(self.mean.nbytes + np.asarray(self.scale).nbytes)

    def __getstate__(self) -> tuple:
        return tuple(getattr(self, k) for k in self.__slots__)

    def __setstate__(self, state: tuple) -> None:
        for k, v in zip(self.__slots__, state, strict=True):
            setattr(self, k, v)

    def __repr__(self) -> str:
        kind = "scalar" if np.ndim(self.scale) == 0 else "vector"
        return (f"ESSpec(n_params={self.n_params}, pop_size={self.pop_size}, "
                f"seed={self.seed}, generation={self.generation}, "
                f"antithetic={self.antithetic}, scale={kind})")

    def rows(self, lo: int, hi: int, *, out: Float32Array | None = None,
             n_threads: int | None = None) -> Float32Array:
        """Rows ``lo..hi-1`` of the population, float32 ``(hi - lo, n_params)``.

        Parameters
        ----------
        lo, hi : int
            Row range, ``0 <= lo <= hi <= pop_size``.
        out : float32 array of shape (hi - lo, n_params), optional
            C-contiguous output buffer.
        n_threads : int, optional
            Threads of the noise kernel (the result does not depend on it).
            Workers pass 1: each worker process is already one core.
        """
        caller = "ESSpec.rows"
        lo = check_int(lo, "lo", caller=caller, min_val=0, max_val=self.pop_size)
        hi = check_int(hi, "hi", caller=caller, min_val=lo, max_val=self.pop_size)
        h = self.pop_size // 2 if self.antithetic else self.pop_size
        r = np.arange(lo, hi, dtype=np.int64)
        plus = r < h
        src = np.where(plus, r, r - h)
        z = standard_normal(hi - lo, self.n_params, seed=self.seed,
                            generation=self.generation, stream=self.stream,
                            rows=src, out=out, n_threads=n_threads)
        # row by row in float64: mean + scale * z rounded once to float32, as
        # the ES kernel does, with a temporary of one row only
        tmp = np.empty(self.n_params, np.float64)
        for i in range(hi - lo):
            np.multiply(z[i], self.scale, out=tmp, dtype=np.float64)
            if plus[i]:
                np.add(self.mean, tmp, out=tmp)
            else:
                np.subtract(self.mean, tmp, out=tmp)
            z[i] = tmp
        return z

    def _paired_rows(self, lo: int, hi: int, out: Float32Array,
                     n_threads: int | None) -> Float32Array:
        """Antithetic rows ``lo..hi-1`` then their partners ``h+lo..h+hi-1``
        into ``out`` (2 (hi - lo), n_params), drawing the noise once (unchecked;
        the same numbers as :meth:`rows`)."""
        k = hi - lo
        z = standard_normal(k, self.n_params, seed=self.seed,
                            generation=self.generation, stream=self.stream,
                            rows=np.arange(lo, hi), out=out[:k], n_threads=n_threads)
        tmp = np.empty(self.n_params, np.float64)
        for i in range(k):
            np.multiply(z[i], self.scale, out=tmp, dtype=np.float64)
            np.subtract(self.mean, tmp, out=out[k + i], casting="same_kind")
            np.add(self.mean, tmp, out=tmp)
            out[i] = tmp
        return out

    def population(self, *, n_threads: int | None = None) -> Float32Array:
        """The whole population, float32 ``(pop_size, n_params)``."""
        return self.rows(0, self.pop_size, n_threads=n_threads)


def as_spec(spec: Any, caller: str) -> ESSpec:
    """``spec`` itself, or an :class:`ESSpec` built from a mapping of its
    constructor arguments (what an evolution strategy hands to a seeds-only
    evaluator: the algorithms sit below the evaluators and do not import
    them)."""
    if isinstance(spec, ESSpec):
        return spec
    if isinstance(spec, Mapping):
        return ESSpec(**spec)
    raise TypeError(
        f"The 'spec' argument of {caller} must be an ESSpec or a mapping of its "
        f"arguments. Got {type(spec).__name__} instead."
    )
