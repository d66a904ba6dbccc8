"""Function forms of the operators: ``tournament_select(fitness, n, k=3,
seed=...)`` is ``Tournament(k).select(fitness, n, seed=...)``, and so on.

Each builds the operator object and calls its method, so arguments are
validated and draws keyed exactly as there (see the classes' docstrings).
"""

from __future__ import annotations

from typing import Any

from .._typing import Float32Array, IntArray, SeedLike
from .crossover import (
    BlendCrossover,
    BLXCrossover,
    KPointCrossover,
    NeuronCrossover,
    OnePointCrossover,
    PatchCrossover,
    SBXCrossover,
    TwoPointCrossover,
    UniformCrossover,
)
from .mutation import (
    BitFlipMutation,
    BlockMutation,
    Clip,
    GaussianMutation,
    NGeneResetMutation,
    PolynomialMutation,
    UniformResetMutation,
)
from .selection import SUS, RandomSelection, Rank, Roulette, Tournament, Truncation

__all__ = [
    "blend_crossover",
    "blx_crossover",
    "clip",
    "k_point_crossover",
    "mutate_bit_flip",
    "mutate_block",
    "mutate_gaussian",
    "mutate_n_gene_reset",
    "mutate_polynomial",
    "mutate_uniform_reset",
    "neuron_crossover",
    "one_point_crossover",
    "patch_crossover",
    "random_select",
    "rank_select",
    "roulette_select",
    "sbx_crossover",
    "sus_select",
    "tournament_select",
    "truncation_select",
    "two_point_crossover",
    "uniform_crossover",
]

# selection -> int64 indices (n,)


def tournament_select(fitness: Any, n: int, *, k: int = 3, seed: SeedLike,
                      generation: int = 0, minimize: bool = False,
                      n_threads: int | None = None) -> IntArray:
    """``Tournament(k).select(...)``: ``n`` winners of size-``k`` tournaments."""
    return Tournament(k).select(fitness, n, seed=seed, generation=generation,
                                minimize=minimize, n_threads=n_threads)


def truncation_select(fitness: Any, n: int, *, fraction: float | None = None,
                      top_k: int | None = None, seed: SeedLike,
                      generation: int = 0, minimize: bool = False,
                      n_threads: int | None = None) -> IntArray:
    """``Truncation(fraction, top_k).select(...)``: uniform among the best."""
    return Truncation(fraction, top_k).select(
        fitness, n, seed=seed, generation=generation, minimize=minimize,
        n_threads=n_threads)


def roulette_select(fitness: Any, n: int, *, seed: SeedLike, generation: int = 0,
                    minimize: bool = False,
                    n_threads: int | None = None) -> IntArray:
    """``Roulette().select(...)``: fitness-proportional draws."""
    return Roulette().select(fitness, n, seed=seed, generation=generation,
                             minimize=minimize, n_threads=n_threads)


def sus_select(fitness: Any, n: int, *, seed: SeedLike, generation: int = 0,
               minimize: bool = False, n_threads: int | None = None) -> IntArray:
    """``SUS().select(...)``: stochastic universal sampling."""
    return SUS().select(fitness, n, seed=seed, generation=generation,
                        minimize=minimize, n_threads=n_threads)


def rank_select(fitness: Any, n: int, *, pressure: float = 1.5, seed: SeedLike,
                generation: int = 0, minimize: bool = False,
                n_threads: int | None = None) -> IntArray:
    """``Rank(pressure).select(...)``: linear ranking."""
    return Rank(pressure).select(fitness, n, seed=seed, generation=generation,
                                 minimize=minimize, n_threads=n_threads)


def random_select(fitness: Any, n: int, *, seed: SeedLike, generation: int = 0,
                  minimize: bool = False,
                  n_threads: int | None = None) -> IntArray:
    """``RandomSelection().select(...)``: uniform indices."""
    return RandomSelection().select(fitness, n, seed=seed, generation=generation,
                                    minimize=minimize, n_threads=n_threads)


# crossover -> one child per row pair (n, N)


def uniform_crossover(parents_a: Any, parents_b: Any, *, swap_prob: float = 0.5,
                      seed: SeedLike, generation: int = 0,
                      out: Float32Array | None = None,
                      n_threads: int | None = None) -> Float32Array:
    """``UniformCrossover(swap_prob).cross(...)``."""
    return UniformCrossover(swap_prob).cross(
        parents_a, parents_b, seed=seed, generation=generation, out=out,
        n_threads=n_threads)


def one_point_crossover(parents_a: Any, parents_b: Any, *, seed: SeedLike,
                        generation: int = 0, out: Float32Array | None = None,
                        n_threads: int | None = None) -> Float32Array:
    """``OnePointCrossover().cross(...)``."""
    return OnePointCrossover().cross(parents_a, parents_b, seed=seed,
                                     generation=generation, out=out,
                                     n_threads=n_threads)


def two_point_crossover(parents_a: Any, parents_b: Any, *, seed: SeedLike,
                        generation: int = 0, out: Float32Array | None = None,
                        n_threads: int | None = None) -> Float32Array:
    """``TwoPointCrossover().cross(...)``."""
    return TwoPointCrossover().cross(parents_a, parents_b, seed=seed,
                                     generation=generation, out=out,
                                     n_threads=n_threads)


def k_point_crossover(parents_a: Any, parents_b: Any, *, k: int = 3,
                      seed: SeedLike, generation: int = 0,
                      out: Float32Array | None = None,
                      n_threads: int | None = None) -> Float32Array:
    """``KPointCrossover(k).cross(...)``."""
    return KPointCrossover(k).cross(parents_a, parents_b, seed=seed,
                                    generation=generation, out=out,
                                    n_threads=n_threads)


def blend_crossover(parents_a: Any, parents_b: Any, *, alpha: float = 0.5,
                    seed: SeedLike = 0, generation: int = 0,
                    out: Float32Array | None = None,
                    n_threads: int | None = None) -> Float32Array:
    """``BlendCrossover(alpha).cross(...)`` (deterministic: seed unused)."""
    return BlendCrossover(alpha).cross(parents_a, parents_b, seed=seed,
                                       generation=generation, out=out,
                                       n_threads=n_threads)


def blx_crossover(parents_a: Any, parents_b: Any, *, alpha: float = 0.5,
                  seed: SeedLike, generation: int = 0,
                  out: Float32Array | None = None,
                  n_threads: int | None = None) -> Float32Array:
    """``BLXCrossover(alpha).cross(...)``."""
    return BLXCrossover(alpha).cross(parents_a, parents_b, seed=seed,
                                     generation=generation, out=out,
                                     n_threads=n_threads)


def sbx_crossover(parents_a: Any, parents_b: Any, *, eta: float = 15.0,
                  low: float | None = None, high: float | None = None,
                  gene_prob: float = 0.5, seed: SeedLike, generation: int = 0,
                  out: Float32Array | None = None,
                  n_threads: int | None = None) -> Float32Array:
    """``SBXCrossover(eta, low, high, gene_prob).cross(...)``."""
    return SBXCrossover(eta, low, high, gene_prob).cross(
        parents_a, parents_b, seed=seed, generation=generation, out=out,
        n_threads=n_threads)


def neuron_crossover(parents_a: Any, parents_b: Any, *, network: Any,
                     swap_prob: float = 0.5, seed: SeedLike, generation: int = 0,
                     out: Float32Array | None = None,
                     n_threads: int | None = None) -> Float32Array:
    """``NeuronCrossover(network, swap_prob).cross(...)``."""
    return NeuronCrossover(network, swap_prob).cross(
        parents_a, parents_b, seed=seed, generation=generation, out=out,
        n_threads=n_threads)


def patch_crossover(parents_a: Any, parents_b: Any, *, shape: tuple[int, int],
                    mode: str = "any", seed: SeedLike, generation: int = 0,
                    out: Float32Array | None = None,
                    n_threads: int | None = None) -> Float32Array:
    """``PatchCrossover(shape, mode).cross(...)``."""
    return PatchCrossover(shape, mode).cross(parents_a, parents_b, seed=seed,
                                             generation=generation, out=out,
                                             n_threads=n_threads)


# mutation -> a mutated copy (n, N)


def mutate_gaussian(population: Any, *, rate: float = 0.1, sigma: float = 0.1,
                    sigma_vector: Any = None, seed: SeedLike,
                    generation: int = 0, out: Float32Array | None = None,
                    n_threads: int | None = None) -> Float32Array:
    """``GaussianMutation(rate, sigma, sigma_vector).mutate(...)``."""
    return GaussianMutation(rate, sigma, sigma_vector).mutate(
        population, seed=seed, generation=generation, out=out,
        n_threads=n_threads)


def mutate_uniform_reset(population: Any, *, rate: float = 0.1, low: float = -1.0,
                         high: float = 1.0, seed: SeedLike, generation: int = 0,
                         out: Float32Array | None = None,
                         n_threads: int | None = None) -> Float32Array:
    """``UniformResetMutation(rate, low, high).mutate(...)``."""
    return UniformResetMutation(rate, low, high).mutate(
        population, seed=seed, generation=generation, out=out,
        n_threads=n_threads)


def mutate_n_gene_reset(population: Any, *, n: int = 1, seed: SeedLike,
                        generation: int = 0, out: Float32Array | None = None,
                        n_threads: int | None = None) -> Float32Array:
    """``NGeneResetMutation(n).mutate(...)``."""
    return NGeneResetMutation(n).mutate(population, seed=seed,
                                        generation=generation, out=out,
                                        n_threads=n_threads)


def mutate_bit_flip(population: Any, *, rate: float = 0.01, seed: SeedLike,
                    generation: int = 0, out: Float32Array | None = None,
                    n_threads: int | None = None) -> Float32Array:
    """``BitFlipMutation(rate).mutate(...)``."""
    return BitFlipMutation(rate).mutate(population, seed=seed,
                                        generation=generation, out=out,
                                        n_threads=n_threads)


def mutate_polynomial(population: Any, *, rate: float = 0.1, eta: float = 20.0,
                      low: float = -1.0, high: float = 1.0, seed: SeedLike,
                      generation: int = 0, out: Float32Array | None = None,
                      n_threads: int | None = None) -> Float32Array:
    """``PolynomialMutation(rate, eta, low, high).mutate(...)``."""
    return PolynomialMutation(rate, eta, low, high).mutate(
        population, seed=seed, generation=generation, out=out,
        n_threads=n_threads)


def mutate_block(population: Any, *, shape: tuple[int, int], size: int = 3,
                 mode: str = "perturb", sigma: float = 0.1, seed: SeedLike,
                 generation: int = 0, out: Float32Array | None = None,
                 n_threads: int | None = None) -> Float32Array:
    """``BlockMutation(shape, size, mode, sigma).mutate(...)``."""
    return BlockMutation(shape, size, mode, sigma).mutate(
        population, seed=seed, generation=generation, out=out,
        n_threads=n_threads)


def clip(population: Any, low: float = -1.0, high: float = 1.0, *,
         out: Float32Array | None = None,
         n_threads: int | None = None) -> Float32Array:
    """``Clip(low, high).mutate(...)``: every gene clipped to ``[low, high]``."""
    return Clip(low, high).mutate(population, seed=0, generation=0, out=out,
                                  n_threads=n_threads)
