"""NSGA-II selection (pn.NSGA2) against a naive reference and the ZDT1 front.

- Fronts and crowding distances against a direct transcription of the
  definitions (a front is the non-dominated set of what is left; crowding
  as in Deb et al. 2002, figure 2), on random objectives with many ties.
- ``survivors`` fills whole fronts and cuts the last by crowding distance.
- A NSGA-II loop (crowded tournaments and ``survivors`` on parents +
  offspring, with Deb's bounded SBX and polynomial mutation in NumPy)
  reaches ZDT1's Pareto front f2 = 1 - sqrt(f1) and spreads along it.
"""

from __future__ import annotations

import numpy as np
import pytest

import pyneat_lite as pn


def naive_fronts(F):
    """Minimisation: front index of each row by repeated extraction."""
    p = F.shape[0]
    left = set(range(p))
    rank = np.full(p, -1)
    r = 0
    while left:
        front = [i for i in left
                 if not any(np.all(F[j] <= F[i]) and np.any(F[j] < F[i])
                            for j in left)]
        for i in front:
            rank[i] = r
            left.discard(i)
        r += 1
    return rank


def naive_crowding(F, rank):
    """``F`` oriented as the library ranks it: larger is better (the order
    of tied values, hence their distances, depends on the orientation)."""
    d = np.zeros(F.shape[0])
    for r in range(rank.max() + 1):
        members = [i for i in range(F.shape[0]) if rank[i] == r]
        if len(members) <= 2:
            d[members] = np.inf
            continue
        for m in range(F.shape[1]):
            srt = sorted(members, key=lambda i: F[i, m])  # stable: ties by index
            d[srt[0]] = d[srt[-1]] = np.inf
            span = F[srt[-1], m] - F[srt[0], m]
            if span == 0:
                continue
            for t in range(1, len(srt) - 1):
                d[srt[t]] += (F[srt[t + 1], m] - F[srt[t - 1], m]) / span
    return d


@pytest.mark.parametrize(("p", "m", "integer"), [(60, 2, True), (80, 3, True),
                                                  (50, 3, False), (7, 1, True)])
def test_fronts_and_crowding_match_the_naive_reference(p, m, integer):
    rng = np.random.default_rng(p * m)
    F = rng.integers(0, 6, (p, m)).astype(float) if integer else rng.random((p, m))
    front, crowd = pn.NSGA2().rank(F, minimize=True)
    ref = naive_fronts(F)
    np.testing.assert_array_equal(front, ref)
    np.testing.assert_allclose(crowd, naive_crowding(-F, ref), rtol=1e-12)
    # maximising -F is the same problem
    f2, c2 = pn.NSGA2().rank(-F)
    np.testing.assert_array_equal(f2, front)
    np.testing.assert_allclose(c2, crowd, rtol=1e-12)


def test_non_finite_rows_are_the_last_front():
    F = np.array([[1.0, 2.0], [np.nan, 0.0], [2.0, 1.0], [0.5, np.inf], [3.0, 3.0]])
    front, crowd = pn.NSGA2().rank(F, minimize=True)
    assert front.tolist() == [0, 2, 0, 2, 1]
    assert crowd[1] == crowd[3] == 0.0
    assert pn.NSGA2().survivors(F, 3, minimize=True).tolist() == [0, 2, 4]


def test_survivors_fill_fronts_then_cut_by_crowding():
    rng = np.random.default_rng(3)
    F = rng.random((40, 2))
    front, crowd = pn.NSGA2().rank(F, minimize=True)
    keep = pn.NSGA2().survivors(F, 25, minimize=True)
    assert len(set(keep.tolist())) == 25
    cut = front[keep].max()
    assert np.all(np.isin(np.flatnonzero(front < cut), keep))  # whole fronts
    last = np.flatnonzero(front == cut)
    kept_last = np.intersect1d(last, keep)
    dropped = np.setdiff1d(last, keep)
    assert crowd[kept_last].min() >= crowd[dropped].max()


def test_survivors_are_deaps_selnsga2_choice():
    """The same set as DEAP's selNSGA2 (distinct continuous objectives, so
    no tie can split them)."""
    from deap import base, creator, tools

    if not hasattr(creator, "NSGA2Min"):
        creator.create("NSGA2Min", base.Fitness, weights=(-1.0, -1.0, -1.0))
        creator.create("NSGA2Ind", list, fitness=creator.NSGA2Min)
    F = np.random.default_rng(8).random((150, 3))
    inds = []
    for i, f in enumerate(F):
        ind = creator.NSGA2Ind([i])
        ind.fitness.values = tuple(f)
        inds.append(ind)
    theirs = sorted(ind[0] for ind in tools.selNSGA2(inds, 70))
    ours = sorted(pn.NSGA2().survivors(F, 70, minimize=True).tolist())
    assert ours == theirs


def test_select_is_a_crowded_tournament():
    """Binary tournament on (front, crowding): individual i wins when drawn
    first against one no better, or second against one strictly worse, so
    P(i) = (#{j <= i} + #{j < i}) / P**2 in that order; frequencies within
    four standard errors."""
    rng = np.random.default_rng(0)
    F = rng.random((20, 2))
    front, crowd = pn.NSGA2().rank(F)
    better = (front[:, None] < front[None]) | (
        (front[:, None] == front[None]) & (crowd[:, None] > crowd[None]))
    # better[i, j]: i wins against j whatever the order of the draws
    expected = ((~better).sum(0) + better.sum(1)) / 400.0
    draws = pn.NSGA2().select(F, 200_000, seed=1)
    freq = np.bincount(draws, minlength=20) / draws.size
    assert np.all(np.abs(freq - expected) <= 4 * np.sqrt(expected / 2e5) + 1e-9)
    assert expected.max() > 5 * expected.min()  # the test can fail


def test_thread_count_does_not_change_the_ranking():
    rng = np.random.default_rng(1)
    F = rng.random((600, 3))  # 1.08M comparisons: the parallel kernel
    one = pn.NSGA2().rank(F, n_threads=1)
    two = pn.NSGA2().rank(F, n_threads=2)
    np.testing.assert_array_equal(one[0], two[0])
    np.testing.assert_array_equal(one[1], two[1])


def zdt1(x):
    x = np.asarray(x, dtype=np.float64)
    f1 = x[:, 0]
    g = 1.0 + 9.0 * x[:, 1:].mean(axis=1)
    return np.stack([f1, g * (1.0 - np.sqrt(f1 / g))], axis=1)


def sbx_bounded(a, b, eta, rng):
    """Deb's bounded SBX on [0, 1] (as DEAP's cxSimulatedBinaryBounded): each
    gene crossed with probability 1/2, the two children swapped with
    probability 1/2; vectorised over rows and genes."""
    x1, x2 = np.minimum(a, b), np.maximum(a, b)
    gap = np.maximum(x2 - x1, 1e-14)
    u = rng.random(a.shape)

    def betaq(beta):
        alpha = 2.0 - beta ** -(eta + 1.0)
        return np.where(u <= 1.0 / alpha, (u * alpha) ** (1.0 / (eta + 1.0)),
                        (1.0 / (2.0 - u * alpha)) ** (1.0 / (eta + 1.0)))

    c1 = 0.5 * (x1 + x2 - betaq(1.0 + 2.0 * x1 / gap) * gap)
    c2 = 0.5 * (x1 + x2 + betaq(1.0 + 2.0 * (1.0 - x2) / gap) * gap)
    c1, c2 = np.clip(c1, 0.0, 1.0), np.clip(c2, 0.0, 1.0)
    swap = rng.random(a.shape) < 0.5
    cross = (rng.random(a.shape) < 0.5) & (np.abs(a - b) > 1e-14)
    k1 = np.where(cross, np.where(swap, c2, c1), a)
    k2 = np.where(cross, np.where(swap, c1, c2), b)
    return k1, k2


def polynomial_bounded(x, eta, rate, rng):
    """Deb's bounded polynomial mutation on [0, 1] (as DEAP's
    mutPolynomialBounded), each gene with probability ``rate``."""
    u = rng.random(x.shape)
    p = 1.0 / (eta + 1.0)
    low = 2.0 * u + (1.0 - 2.0 * u) * (1.0 - x) ** (eta + 1.0)
    high = 2.0 * (1.0 - u) + 2.0 * (u - 0.5) * x ** (eta + 1.0)
    dq = np.where(u < 0.5, low**p - 1.0, 1.0 - high**p)
    hit = rng.random(x.shape) < rate
    return np.clip(np.where(hit, x + dq, x), 0.0, 1.0)


def test_nsga2_reaches_the_zdt1_front():
    """Deb et al.'s setup (P = 100, SBX eta 20 with probability 0.9,
    polynomial mutation eta 20 at rate 1/n), the variation transcribed from
    Deb's operators in NumPy, the selection by pn.NSGA2."""
    P, n, gens = 100, 30, 160
    sel = pn.NSGA2()
    rng = np.random.default_rng(0)
    pop = rng.random((P, n))
    for g in range(gens):
        parents = pop[sel.select(zdt1(pop), P, seed=0, generation=g,
                                 minimize=True)]
        a, b = parents[0::2], parents[1::2]
        k1, k2 = sbx_bounded(a, b, 20.0, rng)
        keep = rng.random(P // 2) >= 0.9  # pairs not crossed
        k1[keep], k2[keep] = a[keep], b[keep]
        kids = polynomial_bounded(np.concatenate([k1, k2]), 20.0, 1.0 / n, rng)
        both = np.concatenate([pop, kids])
        pop = both[sel.survivors(zdt1(both), P, minimize=True)]
    F = zdt1(pop)
    front, _ = sel.rank(F, minimize=True)
    best = F[front == 0]
    assert len(best) >= 0.9 * P
    # distance to the true front f2 = 1 - sqrt(f1), and the spread along it
    t = np.linspace(0.0, 1.0, 10001)
    true = np.stack([t, 1.0 - np.sqrt(t)], axis=1)
    dist = np.sqrt(((best[:, None, :] - true[None]) ** 2).sum(-1)).min(axis=1)
    assert dist.mean() < 1e-2 and dist.max() < 5e-2, (dist.mean(), dist.max())
    assert best[:, 0].min() < 0.02 and best[:, 0].max() > 0.98


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="'fitness' argument of NSGA2.select"):
        pn.NSGA2().select(np.zeros((2, 3, 4)), 3, seed=0)
    with pytest.raises(TypeError, match="'fitness' argument of NSGA2.rank"):
        pn.NSGA2().rank(np.array([["a", "b"]]))
    with pytest.raises(ValueError, match="'n' parameter of NSGA2.survivors"):
        pn.NSGA2().survivors(np.zeros((4, 2)), 5)
    with pytest.raises(ValueError, match="tournament size k of NSGA2.select"):
        pn.NSGA2(k=5).select(np.zeros((4, 2)), 3, seed=0)
    with pytest.raises(TypeError, match="'k' parameter of NSGA2"):
        pn.NSGA2(k=1.5)
