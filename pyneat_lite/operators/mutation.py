"""Mutation: Gaussian, uniform reset, n-gene reset, bit flip, polynomial,
2-D block, and clipping, alone or as a list applied in order.

Mutated genes are found by geometric gaps: one exponential draw per mutated
gene, not one uniform per gene.  Deb & Goyal (1996) for polynomial mutation.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import _operators as _k
from .._rng import STREAMS
from .._typing import Float32Array, SeedLike
from .._validation import (
    MAX_SCALE,
    check_array,
    check_int,
    check_population,
    check_scalar,
    check_scale,
)
from ._base import (
    EMPTY_F32,
    N_PRM,
    Operator,
    check_bounds,
    check_image_genes,
    check_rate,
    check_shape2,
    inv_lambda,
    out_like,
    prm,
    register,
    seeds_for,
    threads_for,
)

__all__ = [
    "BitFlipMutation",
    "BlockMutation",
    "Clip",
    "GaussianMutation",
    "Mutation",
    "NGeneResetMutation",
    "PolynomialMutation",
    "UniformResetMutation",
    "mutate",
]

_MUT = _k.MutationCode


class Mutation(Operator):
    """Base class of the mutation operators (applied to each row)."""

    @abstractmethod
    def _params(
        self, n_params: int, caller: str
    ) -> tuple[int, np.ndarray, np.ndarray | None]:
        """Kernel parameters ``(code, prm, aux)`` for genomes of ``n_params``
        genes (``aux``: per-gene float32 values, or None); raises if the
        operator cannot mutate them."""

    def mutate(
        self,
        population: Any,
        *,
        seed: SeedLike,
        generation: int = 0,
        out: Float32Array | None = None,
        n_threads: int | None = None,
    ) -> Float32Array:
        """Return a mutated copy of ``population``.

        Parameters
        ----------
        population : array-like of shape (n, N)
            float32 genomes, finite.
        seed, generation : int
            Randomness key; row ``i`` uses row ``i`` of the ``mutation``
            stream.
        out : float32 array of shape (n, N), optional
            Output buffer (must not share memory with ``population``).
        n_threads : int, optional
            OpenMP threads (``None``: all cores).

        Returns
        -------
        float32 array of shape (n, N)
        """
        return mutate(population, [self], seed=seed, generation=generation,
                      out=out, n_threads=n_threads,
                      caller=f"{type(self).__name__}.mutate")


@register
class GaussianMutation(Mutation):
    """Add ``N(0, sigma_j**2)`` noise to each gene with probability ``rate``.

    Parameters
    ----------
    rate : float in [0, 1], default 0.1
        Per-gene mutation probability.
    sigma : float >= 0, default 0.1
        Noise standard deviation.
    sigma_vector : array-like of shape (N,), optional
        Per-gene standard deviations (non-negative); replaces ``sigma``.
    """

    def __init__(self, rate: float = 0.1, sigma: float = 0.1,
                 sigma_vector: Any = None) -> None:
        self.rate = check_rate(rate, "GaussianMutation")
        self.sigma = check_scale(sigma, "sigma", caller="GaussianMutation",
                                 allow_zero=True)
        if sigma_vector is not None:
            sv = check_array(sigma_vector, "sigma_vector",
                             caller="GaussianMutation", ndim=1).copy()
            if (sv < 0).any() or (sv >= MAX_SCALE).any():
                raise ValueError(
                    "The 'sigma_vector' argument of GaussianMutation must be "
                    f"in [0, {MAX_SCALE:.3g}) (larger noise overflows float32). "
                    f"Got values in [{sv.min()!r}, {sv.max()!r}] instead."
                )
            sv.flags.writeable = False
            sigma_vector = sv
        self.sigma_vector = sigma_vector

    def _cfg(self) -> dict[str, Any]:
        sv = None if self.sigma_vector is None else self.sigma_vector.tolist()
        return {"rate": self.rate, "sigma": self.sigma, "sigma_vector": sv}

    def __repr__(self) -> str:
        if self.sigma_vector is None:
            return super().__repr__()
        return (f"GaussianMutation(rate={self.rate!r}, sigma={self.sigma!r}, "
                f"sigma_vector=<{self.sigma_vector.shape[0]} values>)")

    def _params(self, n_params, caller):
        aux = None
        if self.sigma_vector is not None:
            if self.sigma_vector.shape[0] != n_params:
                raise ValueError(
                    f"The 'sigma_vector' of GaussianMutation in {caller} must "
                    f"have {n_params} values (n_params). Got "
                    f"{self.sigma_vector.shape[0]} instead."
                )
            aux = self.sigma_vector
        return (_MUT.MUT_GAUSS, prm(self.rate, inv_lambda(self.rate), self.sigma, -1.0),
                aux)


@register
class UniformResetMutation(Mutation):
    """Replace each gene with probability ``rate`` by ``U(low, high)``."""

    def __init__(self, rate: float = 0.1, low: float = -1.0,
                 high: float = 1.0) -> None:
        self.rate = check_rate(rate, "UniformResetMutation")
        self.low, self.high = check_bounds(low, high, "UniformResetMutation",
                                            strict=False)

    def _cfg(self) -> dict[str, Any]:
        return {"rate": self.rate, "low": self.low, "high": self.high}

    def _params(self, n_params, caller):
        return (_MUT.MUT_RESET,
                prm(self.rate, inv_lambda(self.rate), self.low, self.high), None)


@register
class NGeneResetMutation(Mutation):
    """Replace ``n`` distinct random genes of each individual with ``N(0, 1)``
    draws (the mutation of the hand-written NumPy GAN GAs)."""

    def __init__(self, n: int = 1) -> None:
        self.n = check_int(n, "n", caller="NGeneResetMutation", min_val=0)

    def _cfg(self) -> dict[str, Any]:
        return {"n": self.n}

    def _params(self, n_params, caller):
        if self.n > n_params:
            raise ValueError(
                f"The 'n' parameter of NGeneResetMutation in {caller} must be at "
                f"most the genome length {n_params}. Got {self.n} instead."
            )
        return _MUT.MUT_NGENE, prm(self.n), None


@register
class BitFlipMutation(Mutation):
    """Flip each gene of a binary (0.0/1.0) genome with probability ``rate``:
    ``x -> 1 - x``."""

    def __init__(self, rate: float = 0.01) -> None:
        self.rate = check_rate(rate, "BitFlipMutation")

    def _cfg(self) -> dict[str, Any]:
        return {"rate": self.rate}

    def _params(self, n_params, caller):
        return _MUT.MUT_FLIP, prm(self.rate, inv_lambda(self.rate)), None


@register
class PolynomialMutation(Mutation):
    """Deb's bounded polynomial mutation (as DEAP's ``mutPolynomialBounded``)
    of each gene with probability ``rate``; results stay in ``[low, high]``.

    Parameters
    ----------
    rate : float in [0, 1], default 0.1
    eta : float >= 0, default 20.0
        Distribution index: larger values give smaller steps.
    low, high : float, default -1.0, 1.0
        Bounds, ``low < high``.
    """

    def __init__(self, rate: float = 0.1, eta: float = 20.0, low: float = -1.0,
                 high: float = 1.0) -> None:
        self.rate = check_rate(rate, "PolynomialMutation")
        self.eta = check_scalar(eta, "eta", caller="PolynomialMutation",
                                min_val=0.0)
        self.low, self.high = check_bounds(low, high, "PolynomialMutation",
                                            strict=True)

    def _cfg(self) -> dict[str, Any]:
        return {"rate": self.rate, "eta": self.eta, "low": self.low,
                "high": self.high}

    def _params(self, n_params, caller):
        return (_MUT.MUT_POLY,
                prm(self.rate, inv_lambda(self.rate), self.eta, self.low,
                     self.high), None)


_BLOCK_MODES = {"perturb": 0, "flip": 1}


@register
class BlockMutation(Mutation):
    """Mutate one random ``size x size`` block of an image genome ``(H, W)``.

    The block's top-left corner is uniform over the valid positions.
    ``mode="perturb"`` adds ``N(0, sigma**2)`` to each gene of the block;
    ``mode="flip"`` maps ``x -> 1 - x`` (binary or [0, 1] images).

    Parameters
    ----------
    shape : (H, W)
    size : int, default 3
        Block side, at most ``min(H, W)``.
    mode : {"perturb", "flip"}
    sigma : float >= 0, default 0.1
    """

    def __init__(self, shape: tuple[int, int], size: int = 3,
                 mode: str = "perturb", sigma: float = 0.1) -> None:
        self.shape = check_shape2(shape, "BlockMutation")
        self.size = check_int(size, "size", caller="BlockMutation", min_val=1,
                              max_val=min(self.shape))
        if mode not in _BLOCK_MODES:
            raise ValueError(
                "The 'mode' parameter of BlockMutation must be one of "
                f"{sorted(_BLOCK_MODES)}. Got {mode!r} instead."
            )
        self.mode = mode
        self.sigma = check_scale(sigma, "sigma", caller="BlockMutation",
                                 allow_zero=True)

    def _cfg(self) -> dict[str, Any]:
        return {"shape": list(self.shape), "size": self.size, "mode": self.mode,
                "sigma": self.sigma}

    def _params(self, n_params, caller):
        check_image_genes(self.shape, n_params, caller)
        H, W = self.shape
        return (_MUT.MUT_BLOCK,
                prm(H, W, self.size, _BLOCK_MODES[self.mode], self.sigma), None)


@register
class Clip(Mutation):
    """Clip every gene to ``[low, high]`` (a repair, not random: the seed is
    unused).

    In :func:`next_generation`, ``Clip`` applies to every child, also those
    that ``mutation_prob`` left unmutated.
    """

    random = False

    def __init__(self, low: float = -1.0, high: float = 1.0) -> None:
        self.low, self.high = check_bounds(low, high, "Clip", strict=False)

    def _cfg(self) -> dict[str, Any]:
        return {"low": self.low, "high": self.high}

    def _params(self, n_params, caller):
        return _MUT.MUT_CLIP, prm(self.low, self.high), None


def _as_mutation_list(mutation: Any, caller: str) -> list[Mutation]:
    if mutation is None:
        return []
    ops = list(mutation) if isinstance(mutation, (list, tuple)) else [mutation]
    for op in ops:
        if not isinstance(op, Mutation):
            raise TypeError(
                f"The 'mutation' argument of {caller} must be a Mutation or a "
                "list of Mutation objects (GaussianMutation, Clip, ...). Got "
                f"{type(op).__name__} instead."
            )
    return ops


def _compile_mutations(
    ops: list[Mutation], n_params: int, caller: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Kernel arrays of a mutation list: codes (n_ops,) int32, parameter rows
    (max(n_ops, 1), N_PRM) float64, and the concatenated per-gene values."""
    codes = np.empty(len(ops), np.int32)
    table = np.zeros((max(len(ops), 1), N_PRM), np.float64)
    aux_parts: list[np.ndarray] = []
    offset = 0
    for i, op in enumerate(ops):
        code, p, aux = op._params(n_params, caller)
        codes[i] = code
        table[i] = p
        if aux is not None:
            table[i, 3] = offset  # Gaussian: per-gene sigma start in aux
            aux_parts.append(aux)
            offset += aux.shape[0]
    aux_all = (np.ascontiguousarray(np.concatenate(aux_parts), dtype=np.float32)
               if aux_parts else EMPTY_F32)
    return codes, table, aux_all


def mutate(
    population: Any,
    mutations: Mutation | Sequence[Mutation],
    *,
    seed: SeedLike,
    generation: int = 0,
    out: Float32Array | None = None,
    n_threads: int | None = None,
    caller: str = "mutate",
) -> Float32Array:
    """Apply one mutation or a list of them, in order, to every row.

    Parameters
    ----------
    population : array-like of shape (n, N)
    mutations : Mutation or sequence of Mutation
        E.g. ``[GaussianMutation(0.1, 0.1), Clip(-1, 1)]``.
    seed, generation : int
        Randomness key (``mutation`` stream, one row each).
    out : float32 array of shape (n, N), optional
        Must not share memory with ``population``.
    n_threads : int, optional

    Returns
    -------
    float32 array of shape (n, N)
    """
    pop = check_population(population, "population", caller=caller)
    ops = _as_mutation_list(mutations, caller)
    out = out_like(out, pop.shape, caller, (pop,))
    if not ops:
        np.copyto(out, pop)
        return out
    codes, table, aux = _compile_mutations(ops, pop.shape[1], caller)
    seeds = seeds_for(seed, generation, STREAMS["mutation"], pop.shape[0], caller)
    _k._mutate(pop, out, seeds, codes, table, aux,
               threads_for(n_threads, *pop.shape))
    return out
