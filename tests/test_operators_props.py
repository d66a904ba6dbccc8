"""Property tests (hypothesis) over shapes and parameters of the operators."""

from __future__ import annotations

import numpy as np
from hypothesis import example, given
from hypothesis import strategies as st

from pyneat_lite import operators as ops

shapes = st.tuples(st.integers(1, 9), st.integers(2, 300))
seeds = st.integers(0, 2**63)
probs = st.floats(0.0, 1.0)


def _pair(shape, seed):
    rng = np.random.default_rng(seed % 2**32)
    return (rng.standard_normal(shape).astype(np.float32),
            rng.standard_normal(shape).astype(np.float32))


@given(shape=shapes, seed=seeds, p=probs)
def test_uniform_child_genes_from_a_parent(shape, seed, p):
    a, b = _pair(shape, seed)
    c = ops.uniform_crossover(a, b, swap_prob=p, seed=seed)
    assert np.all((c == a) | (c == b))
    sib = ops.uniform_crossover(b, a, swap_prob=p, seed=seed)
    # siblings take complementary genes
    assert np.all(np.where(c == a, sib == b, sib == a))


@given(shape=shapes, seed=seeds, k=st.integers(1, 8))
def test_k_point_splices(shape, seed, k):
    n = shape[1]
    k = min(k, n - 1)
    a = np.zeros(shape, np.float32)
    b = np.ones(shape, np.float32)
    c = ops.k_point_crossover(a, b, k=k, seed=seed)
    assert np.all(np.count_nonzero(np.diff(c, axis=1), axis=1) == k)
    assert np.all(c[:, 0] == 0)


@given(shape=shapes, seed=seeds, alpha=st.floats(0.0, 1.0),
       eta=st.floats(0.0, 50.0))
def test_blend_blx_sbx_pairs_keep_the_mean(shape, seed, alpha, eta):
    a, b = _pair(shape, seed)
    for cx in (ops.BlendCrossover(alpha), ops.BLXCrossover(alpha),
               ops.SBXCrossover(eta)):
        c1 = cx.cross(a, b, seed=seed)
        c2 = cx.cross(b, a, seed=seed)
        scale = 1.0 + np.abs(c1) + np.abs(c2)
        assert np.all(np.abs(c1 + c2 - (a + b)) <= 1e-5 * scale)


@given(shape=shapes, seed=seeds, rate=probs, sigma=st.floats(0.0, 10.0))
def test_gaussian_mutation_changes_only_with_rate(shape, seed, rate, sigma):
    a, _ = _pair(shape, seed)
    m = ops.mutate_gaussian(a, rate=rate, sigma=sigma, seed=seed)
    assert m.shape == a.shape and np.isfinite(m).all()
    if rate == 0.0 or sigma == 0.0:
        assert np.array_equal(m, a)
    if rate == 1.0 and sigma >= 0.01:
        assert np.count_nonzero(m != a) >= 0.9 * a.size - 1


@given(P=st.integers(1, 40), n=st.integers(0, 200), seed=seeds,
       k=st.integers(1, 40), minimize=st.booleans(),
       n_nan=st.integers(0, 3))
def test_selection_indices_in_range(P, n, seed, k, minimize, n_nan):
    rng = np.random.default_rng(seed % 2**32)
    fit = rng.random(P) * 10
    fit[: min(n_nan, P)] = np.nan
    for sel in (ops.Tournament(min(k, P)), ops.Truncation(0.3), ops.Roulette(),
                ops.SUS(), ops.Rank(), ops.RandomSelection()):
        idx = sel.select(fit, n, seed=seed, minimize=minimize)
        assert idx.shape == (n,) and idx.dtype == np.int64
        assert np.all((idx >= 0) & (idx < P))
    # top_k=1 truncation always gives the best (NaN is the worst)
    if n_nan < P:
        idx = ops.truncation_select(fit, n, top_k=1, seed=seed, minimize=minimize)
        best = np.nanargmin(fit) if minimize else np.nanargmax(fit)
        assert np.all(idx == best)
    # a tournament winner is never worse than... the worst aspirant: no NaN
    # wins while a finite value exists among more than n_nan draws
    if n and n_nan == 0:
        idx = ops.tournament_select(fit, n, k=min(k, P), seed=seed,
                                    minimize=minimize)
        assert np.isfinite(fit[idx]).all()


@given(P=st.integers(2, 20), n_out=st.integers(1, 25), N=st.integers(2, 60),
       seed=seeds, elitism=st.integers(0, 25), cx_prob=probs, mut_prob=probs)
def test_next_generation_properties(P, n_out, N, seed, elitism, cx_prob,
                                    mut_prob):
    rng = np.random.default_rng(seed % 2**32)
    par = rng.standard_normal((P, N)).astype(np.float32)
    fit = rng.standard_normal(P)
    elitism = min(elitism, P, n_out)
    out = np.empty((n_out, N), np.float32)
    pairs = ops.next_generation(
        par, fit, out, selection=ops.Tournament(min(3, P)),
        crossover=ops.UniformCrossover(), mutation=ops.GaussianMutation(0.2, 0.5),
        elitism=elitism, crossover_prob=cx_prob, mutation_prob=mut_prob,
        seed=seed, generation=1)
    assert np.all((pairs >= 0) & (pairs < P))
    order = np.argsort(-fit, kind="stable")
    np.testing.assert_array_equal(pairs[:elitism, 0], order[:elitism])
    np.testing.assert_array_equal(out[:elitism], par[order[:elitism]])
    if mut_prob == 0.0:
        kids = out[elitism:]
        a, b = par[pairs[elitism:, 0]], par[pairs[elitism:, 1]]
        assert np.all((kids == a) | (kids == b))


@given(P=st.integers(1, 3000), e=st.integers(0, 300), seed=seeds,
       n_levels=st.integers(1, 6), n_nan=st.integers(0, 5))
@example(P=2000, e=3, seed=1, n_levels=4, n_nan=5)  # the partition path
def test_best_indices_equal_stable_sort(P, e, seed, n_levels, n_nan):
    from pyneat_lite.operators.selection import _best_indices, _oriented_keys

    rng = np.random.default_rng(seed % 2**32)
    fit = rng.integers(0, n_levels, P).astype(float)  # many ties
    fit[rng.permutation(P)[:n_nan]] = np.nan
    keys = _oriented_keys(fit, False)
    e = min(e, P)
    np.testing.assert_array_equal(_best_indices(keys, e),
                                  np.argsort(-keys, kind="stable")[:e])
