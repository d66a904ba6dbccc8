"""Genetic operators: selection, crossover, mutation and a fused generation.

Every operator exists twice: as an object for the GA (``Tournament(k=3)``,
``UniformCrossover()``, ``GaussianMutation(rate=0.1, sigma=0.1)``, ...) and as
a function on arrays.  All of them validate their input here, once, then run a
compiled OpenMP kernel of :mod:`pyneat_lite._operators` (no Python loop over
rows or genes).  :data:`OPERATORS` lists every operator class by name; it
drives :func:`operator_from_config` and the shared contract tests.

Modules
-------
* :mod:`~pyneat_lite.operators.selection` -> int64 indices ``(n,)``:
  :func:`tournament_select`, :func:`truncation_select`,
  :func:`roulette_select`, :func:`sus_select`, :func:`rank_select`,
  :func:`random_select`;
* :mod:`~pyneat_lite.operators.crossover` -> one child per row pair
  ``(n, N)``: :func:`uniform_crossover`, :func:`one_point_crossover`,
  :func:`two_point_crossover`, :func:`k_point_crossover`,
  :func:`blend_crossover`, :func:`blx_crossover`, :func:`sbx_crossover`,
  :func:`neuron_crossover`, :func:`patch_crossover`;
* :mod:`~pyneat_lite.operators.mutation` -> a mutated copy ``(n, N)``:
  :func:`mutate_gaussian`, :func:`mutate_uniform_reset`,
  :func:`mutate_n_gene_reset`, :func:`mutate_bit_flip`,
  :func:`mutate_polynomial`, :func:`mutate_block`, :func:`clip`, and
  :func:`mutate` for a list of mutation objects;
* :mod:`~pyneat_lite.operators.generation`: :func:`next_generation`, the
  whole offspring buffer in one pass;
* :mod:`~pyneat_lite.operators.functional`: the function forms above, each
  a thin call of its class (``tournament_select`` is
  ``Tournament(k).select``);
* :func:`standard_normal`, :func:`uniform`: bulk draws (evolution
  strategies), from :mod:`pyneat_lite._rng`.

Randomness
----------
A draw is keyed by ``(seed, generation, stream, row)``: each row of an output
has its own xoshiro256** generator seeded from
``_rng.row_seeds(seed, generation, STREAMS[stream], n_rows)``.  The same
arguments give bit-identical results whatever the number of threads, and
row ``i`` does not depend on how many rows are drawn.  Streams: ``selection``
(``.select``), ``crossover`` (``.cross``), ``mutation`` (``.mutate``),
``generation`` (:func:`next_generation`, every child draws selection,
crossover and mutation from its own row), ``es_noise``
(:func:`standard_normal` by default).  Normals come from an exact 256-layer
ziggurat (two per 64-bit word in :func:`standard_normal`); mutated genes are
found by geometric gaps (one exponential draw per mutated gene, not one
uniform per gene); uniform crossover with ``swap_prob=0.5`` uses one 64-bit
word per 64 genes.

Conventions
-----------
* Fitness is maximised unless ``minimize=True``.  A NaN fitness is the worst
  value in every selection scheme (never picked by truncation or as an
  elite unless there is nothing else; zero weight for roulette, SUS and last
  rank for rank selection).  Of equal fitness, the earlier index ranks
  better (:mod:`pyneat_lite._ranking`).
* ``cross(a, b)`` returns one child per row pair.  Its sibling -- the second
  child of the classic two-children operators -- is ``cross(b, a)`` with the
  same seed and generation: both use the same random draws with the parents'
  roles swapped.  For blend, BLX and unbounded SBX, ``cross(a, b) +
  cross(b, a) == a + b`` (up to float32 rounding).
* Output buffers (``out=``) are never converted: they must be C-contiguous
  float32 arrays of the exact shape and must not share memory with an input.

References
----------
Goldberg & Deb (1991), "A comparative analysis of selection schemes used in
genetic algorithms"; Baker (1987) for SUS; Eshelman & Schaffer (1993) for
BLX-alpha; Deb & Agrawal (1995) for SBX; Deb & Goyal (1996) for polynomial
mutation; Marsaglia & Tsang (2000) for the ziggurat; Blackman & Vigna (2018)
for xoshiro256**.
"""

from __future__ import annotations

from .._operators import openmp_enabled
from .._rng import standard_normal, uniform
from ._base import OPERATORS, operator_from_config
from .crossover import (
    BlendCrossover,
    BLXCrossover,
    Crossover,
    KPointCrossover,
    NeuronCrossover,
    OnePointCrossover,
    PatchCrossover,
    SBXCrossover,
    TwoPointCrossover,
    UniformCrossover,
)
from .functional import (
    blend_crossover,
    blx_crossover,
    clip,
    k_point_crossover,
    mutate_bit_flip,
    mutate_block,
    mutate_gaussian,
    mutate_n_gene_reset,
    mutate_polynomial,
    mutate_uniform_reset,
    neuron_crossover,
    one_point_crossover,
    patch_crossover,
    random_select,
    rank_select,
    roulette_select,
    sbx_crossover,
    sus_select,
    tournament_select,
    truncation_select,
    two_point_crossover,
    uniform_crossover,
)

# the GA's prepared generation (library-internal), importable from here
from .generation import _GenerationPlan as _GenerationPlan
from .generation import next_generation
from .multiobjective import NSGA2
from .mutation import (
    BitFlipMutation,
    BlockMutation,
    Clip,
    GaussianMutation,
    Mutation,
    NGeneResetMutation,
    PolynomialMutation,
    UniformResetMutation,
    mutate,
)
from .selection import (
    SUS,
    RandomSelection,
    Rank,
    Roulette,
    Selection,
    Tournament,
    Truncation,
)

__all__ = [
    "OPERATORS",
    "openmp_enabled",
    "standard_normal",
    "uniform",
    "next_generation",
    "operator_from_config",
    # selection
    "Selection",
    "Tournament",
    "NSGA2",
    "Truncation",
    "Roulette",
    "SUS",
    "Rank",
    "RandomSelection",
    "tournament_select",
    "truncation_select",
    "roulette_select",
    "sus_select",
    "rank_select",
    "random_select",
    # crossover
    "Crossover",
    "UniformCrossover",
    "OnePointCrossover",
    "TwoPointCrossover",
    "KPointCrossover",
    "BlendCrossover",
    "BLXCrossover",
    "SBXCrossover",
    "NeuronCrossover",
    "PatchCrossover",
    "uniform_crossover",
    "one_point_crossover",
    "two_point_crossover",
    "k_point_crossover",
    "blend_crossover",
    "blx_crossover",
    "sbx_crossover",
    "neuron_crossover",
    "patch_crossover",
    # mutation
    "Mutation",
    "GaussianMutation",
    "UniformResetMutation",
    "NGeneResetMutation",
    "BitFlipMutation",
    "PolynomialMutation",
    "BlockMutation",
    "Clip",
    "mutate",
    "mutate_gaussian",
    "mutate_uniform_reset",
    "mutate_n_gene_reset",
    "mutate_bit_flip",
    "mutate_polynomial",
    "mutate_block",
    "clip",
]
