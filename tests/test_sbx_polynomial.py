"""SBX crossover and polynomial mutation against NumPy transcriptions of Deb's
formulas (as in Deb's NSGA-II code and DEAP's ``cxSimulatedBinaryBounded`` /
``mutPolynomialBounded``).

The kernels and the references draw different random numbers, so the
children are compared in distribution: for fixed parents, the share of
genes left unchanged (a binomial count) and a two-sample Kolmogorov-Smirnov
test of the changed ones against the reference's, with many children.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from pyneat_lite import operators as ops

ROWS, N = 400, 100  # 40,000 children per case


def deap_sbx_bounded(x1, x2, eta, low, up, rng):
    """DEAP's cxSimulatedBinaryBounded for one gene of many pairs (arrays),
    the first child: crossed with probability 1/2, then c1 or c2 (the child
    near the smaller or the larger parent) with probability 1/2 each."""
    y1, y2 = np.minimum(x1, x2), np.maximum(x1, x2)
    rand = rng.random(x1.shape)
    gap = y2 - y1

    def betaq(beta):
        alpha = 2.0 - beta ** -(eta + 1.0)
        return np.where(rand <= 1.0 / alpha, (rand * alpha) ** (1.0 / (eta + 1.0)),
                        (1.0 / (2.0 - rand * alpha)) ** (1.0 / (eta + 1.0)))

    c1 = 0.5 * (y1 + y2 - betaq(1.0 + 2.0 * (y1 - low) / gap) * gap)
    c2 = 0.5 * (y1 + y2 + betaq(1.0 + 2.0 * (up - y2) / gap) * gap)
    c1, c2 = np.clip(c1, low, up), np.clip(c2, low, up)
    swap = rng.random(x1.shape) <= 0.5
    crossed = rng.random(x1.shape) <= 0.5
    return np.where(crossed, np.where(swap, c2, c1), x1)


def deb_sbx_unbounded(x1, x2, eta, rng):
    """Deb & Agrawal's unbounded SBX, one of the two children at random."""
    u = rng.random(x1.shape)
    beta = np.where(u <= 0.5, (2.0 * u) ** (1.0 / (eta + 1.0)),
                    (1.0 / (2.0 * (1.0 - u))) ** (1.0 / (eta + 1.0)))
    near_b = rng.random(x1.shape) < 0.5
    c = np.where(near_b, 0.5 * ((1.0 - beta) * x1 + (1.0 + beta) * x2),
                 0.5 * ((1.0 + beta) * x1 + (1.0 - beta) * x2))
    return np.where(rng.random(x1.shape) < 0.5, c, x1)


def deap_polynomial(x, eta, low, up, rng):
    """DEAP's mutPolynomialBounded for one gene (every gene mutated)."""
    delta_1 = (x - low) / (up - low)
    delta_2 = (up - x) / (up - low)
    rand = rng.random(x.shape)
    mut_pow = 1.0 / (eta + 1.0)
    xy1 = 1.0 - delta_1
    val1 = 2.0 * rand + (1.0 - 2.0 * rand) * xy1 ** (eta + 1.0)
    xy2 = 1.0 - delta_2
    val2 = 2.0 * (1.0 - rand) + 2.0 * (rand - 0.5) * xy2 ** (eta + 1.0)
    dq = np.where(rand < 0.5, val1**mut_pow - 1.0, 1.0 - val2**mut_pow)
    return np.clip(x + dq * (up - low), low, up)


def _changed_match(ours, ref, a, share_unchanged):
    """Unchanged share within 5 standard errors, changed values alike (KS)."""
    same = ours == np.float32(a)
    n = same.size
    sd = np.sqrt(share_unchanged * (1 - share_unchanged) / n)
    assert abs(same.mean() - share_unchanged) < 5 * sd + 1e-12
    ref_changed = ref[ref != a]
    assert stats.ks_2samp(ours[~same].astype(np.float64), ref_changed).pvalue > 1e-3


@pytest.mark.parametrize(("a", "b", "eta"), [(0.2, 0.6, 20.0), (0.05, 0.9, 2.0),
                                             (0.7, 0.3, 15.0)])
def test_bounded_sbx_children_are_deaps(a, b, eta):
    pa = np.full((ROWS, N), a, np.float32)
    pb = np.full((ROWS, N), b, np.float32)
    ours = ops.sbx_crossover(pa, pb, eta=eta, low=0.0, high=1.0, seed=5).ravel()
    rng = np.random.default_rng(0)
    x1 = np.full(ROWS * N, float(np.float32(a)))
    x2 = np.full(ROWS * N, float(np.float32(b)))
    ref = deap_sbx_bounded(x1, x2, eta, 0.0, 1.0, rng)
    _changed_match(ours, ref, float(np.float32(a)), 0.5)
    # both sides of the pair are reached: the child is not always near a
    near_a = np.abs(ours - a) < np.abs(ours - b)
    assert 0.70 < near_a.mean() < 0.80  # 1/2 unchanged + 1/4 crossed on a's side


def test_unbounded_sbx_children_are_debs_and_pairs_keep_the_mean():
    a, b, eta = -0.5, 1.5, 5.0
    pa = np.full((ROWS, N), a, np.float32)
    pb = np.full((ROWS, N), b, np.float32)
    ours = ops.sbx_crossover(pa, pb, eta=eta, seed=1)
    rng = np.random.default_rng(1)
    ref = deb_sbx_unbounded(np.full(ROWS * N, a), np.full(ROWS * N, b), eta, rng)
    _changed_match(ours.ravel(), ref, a, 0.5)
    sib = ops.sbx_crossover(pb, pa, eta=eta, seed=1)
    np.testing.assert_allclose(ours + sib, a + b, atol=1e-5)


def test_gene_prob_sets_the_share_of_crossed_genes():
    pa = np.zeros((ROWS, N), np.float32)
    pb = np.ones((ROWS, N), np.float32)
    for p in (0.0, 0.25, 1.0):
        c = ops.sbx_crossover(pa, pb, eta=10.0, low=-1.0, high=2.0, gene_prob=p,
                              seed=2)
        crossed = (c != 0.0).mean()
        assert abs(crossed - p) < 5 * np.sqrt(p * (1 - p) / c.size) + 1e-3
    with pytest.raises(ValueError, match="'gene_prob' parameter of SBXCrossover"):
        ops.SBXCrossover(gene_prob=1.5)
    with pytest.raises(TypeError, match="'exchange' parameter of SBXCrossover"):
        ops.SBXCrossover(exchange=1)


def test_configs_round_trip_and_old_configs_keep_the_former_operator():
    new = ops.SBXCrossover(5.0, 0.0, 1.0, gene_prob=0.3)
    assert ops.operator_from_config(new.to_config()) == new
    old = ops.operator_from_config({"type": "SBXCrossover", "eta": 5.0,
                                    "low": 0.0, "high": 1.0})
    assert old.gene_prob == 1.0 and old.exchange is False


@pytest.mark.parametrize(("x", "eta"), [(0.5, 20.0), (0.05, 20.0), (0.97, 3.0)])
def test_polynomial_mutation_is_deaps(x, eta):
    pop = np.full((ROWS, N), x, np.float32)
    ours = ops.mutate_polynomial(pop, rate=1.0, eta=eta, low=0.0, high=1.0,
                                 seed=3).ravel()
    rng = np.random.default_rng(3)
    ref = deap_polynomial(np.full(ROWS * N, float(np.float32(x))), eta, 0.0, 1.0, rng)
    assert stats.ks_2samp(ours.astype(np.float64), ref).pvalue > 1e-3
    # a rate below one mutates that share of the genes
    part = ops.mutate_polynomial(pop, rate=0.1, eta=eta, low=0.0, high=1.0, seed=4)
    share = (part != np.float32(x)).mean()
    assert abs(share - 0.1) < 5 * np.sqrt(0.09 / part.size)
