"""Selection, crossover, mutation and the fused generation, against closed
forms, statistical tests and the pure-Python reference (ref_operators)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import ref_operators as ref
from scipy import stats

import pyneat_lite as pn
from pyneat_lite import _operators as kernels
from pyneat_lite import operators as ops
from pyneat_lite._rng import STREAMS
from pyneat_lite._threads import PARALLEL_MIN_WORK

# what the kernels' team report shows for a 2-thread call (a build without
# OpenMP runs serially; tests/test_rng.py checks that the build has OpenMP)
TWO_THREADS = [2, 2] if kernels.openmp_enabled() else [1]

RNG = np.random.default_rng(20261122)


def _pop(P, N, seed=0):
    return np.random.default_rng(seed).standard_normal((P, N)).astype(np.float32)


# ---------------------------------------------------------------------------
# reference, bit for bit
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("k", "p", "rate", "elitism", "minimize", "n_out"),
    [(3, 0.5, 0.1, 2, False, 15), (2, 0.3, 1.0, 0, True, 12),
     (4, 0.8, 0.02, 5, False, 9)],
)
def test_next_generation_matches_reference(k, p, rate, elitism, minimize, n_out):
    par = _pop(12, 200, seed=1)
    fit = np.random.default_rng(2).random(12)
    fit[3] = np.nan
    out = np.empty((n_out, 200), np.float32)
    pairs = ops.next_generation(
        par, fit, out, selection=ops.Tournament(k),
        crossover=ops.UniformCrossover(p),
        mutation=ops.GaussianMutation(rate, 0.2), elitism=elitism, seed=5,
        generation=3, minimize=minimize)
    want, want_pairs = ref.next_generation_tournament(
        par, fit, n_out, k=k, swap_prob=p, rate=rate, sigma=0.2,
        elitism=elitism, seed=5, generation=3, stream=STREAMS["generation"],
        minimize=minimize)
    np.testing.assert_array_equal(pairs, want_pairs)
    np.testing.assert_array_equal(out, want)


def test_mutate_and_cross_match_reference():
    pop = _pop(5, 150, seed=3)
    got = ops.mutate_gaussian(pop, rate=0.2, sigma=0.5, seed=9, generation=1)
    seeds = ref.row_seeds(9, 1, STREAMS["mutation"], 5)
    for i in range(5):
        want = ref.gaussian_mutate_row(pop[i], 0.2, 0.5, ref.Rng(int(seeds[i])))
        np.testing.assert_array_equal(got[i], want)
    b = _pop(5, 150, seed=4)
    got = ops.uniform_crossover(pop, b, swap_prob=0.5, seed=9, generation=1)
    seeds = ref.row_seeds(9, 1, STREAMS["crossover"], 5)
    for i in range(5):
        want = ref.uniform_cross_row(pop[i], b[i], 0.5, ref.Rng(int(seeds[i])))
        np.testing.assert_array_equal(got[i], want)


def test_select_matches_reference():
    fit = np.random.default_rng(0).random(30)
    got = ops.tournament_select(fit, 200, k=3, seed=1, generation=2)
    seeds = ref.row_seeds(1, 2, STREAMS["selection"], 200)
    keys = ref.oriented_keys(fit, False)
    want = [ref.tournament_one(keys, 3, ref.Rng(int(s))) for s in seeds]
    np.testing.assert_array_equal(got, want)


# ---------------------------------------------------------------------------
# selection
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("k", [1, 2, 3, 5])
def test_tournament_closed_form(k):
    P, n = 10, 60_000
    fit = RNG.permutation(P).astype(float)
    idx = ops.tournament_select(fit, n, k=k, seed=k, generation=0)
    counts = np.bincount(idx, minlength=P)
    order = np.argsort(-fit)  # best first
    expected = n * ref.tournament_probabilities(P, k)
    assert stats.chisquare(counts[order], expected).pvalue > 1e-4


def test_tournament_minimize_and_k_equals_population():
    fit = np.array([3.0, 1.0, 2.0, 5.0])
    # with replacement: the minimum wins unless it is never drawn
    idx = ops.tournament_select(fit, 20_000, k=4, seed=0, minimize=True)
    p_best = 1 - (3 / 4) ** 4
    assert abs(np.mean(idx == 1) - p_best) < 0.015
    assert not np.any(idx == 3) or np.mean(idx == 3) < 0.01


def test_sus_counts_are_floor_or_ceil():
    fit = np.array([1.0, 2.0, 3.0, 0.0, 4.0, 0.5])
    for n in (6, 17, 100):
        idx = ops.sus_select(fit, n, seed=n, generation=1)
        counts = np.bincount(idx, minlength=6)
        e = n * fit / fit.sum()
        assert np.all(counts >= np.floor(e) - 1e-9)
        assert np.all(counts <= np.ceil(e) + 1e-9)
        assert counts[3] == 0
    # the picks are shuffled: consecutive picks are not sorted
    idx = ops.sus_select(fit, 100, seed=0)
    assert np.any(np.diff(idx) < 0)


def test_roulette_proportional_and_errors():
    fit = np.array([1.0, 2.0, 3.0, 4.0])
    idx = ops.roulette_select(fit, 50_000, seed=2)
    counts = np.bincount(idx, minlength=4)
    assert stats.chisquare(counts, 50_000 * fit / fit.sum()).pvalue > 1e-4
    with pytest.raises(ValueError, match="non-negative.*Rank"):
        ops.roulette_select(np.array([1.0, -2.0]), 5, seed=0)
    with pytest.raises(ValueError, match="infinite"):
        ops.sus_select(np.array([1.0, np.inf]), 5, seed=0)
    # minimize: weights max(f) - f (the worst gets nothing)
    idx = ops.roulette_select(fit, 30_000, seed=3, minimize=True)
    counts = np.bincount(idx, minlength=4)
    w = fit.max() - fit
    assert counts[3] == 0
    assert stats.chisquare(counts[:3], 30_000 * w[:3] / w.sum()).pvalue > 1e-4
    # all-zero weights: uniform
    idx = ops.roulette_select(np.zeros(5), 10_000, seed=1)
    assert stats.chisquare(np.bincount(idx, minlength=5)).pvalue > 1e-4


def test_rank_linear_probabilities():
    P, s, n = 8, 1.8, 80_000
    fit = RNG.permutation(P).astype(float)
    idx = ops.rank_select(fit, n, pressure=s, seed=4)
    counts = np.bincount(idx, minlength=P)
    rank = np.argsort(np.argsort(fit))  # 0 = worst
    p = (2 - s) / P + 2 * rank * (s - 1) / (P * (P - 1))
    assert np.isclose(p.sum(), 1.0)
    assert stats.chisquare(counts, n * p).pvalue > 1e-4


def test_truncation_uniform_among_top():
    fit = np.arange(20.0)
    idx = ops.truncation_select(fit, 40_000, top_k=5, seed=1)
    assert set(np.unique(idx)) == {15, 16, 17, 18, 19}
    assert stats.chisquare(np.bincount(idx)[15:]).pvalue > 1e-4
    idx = ops.truncation_select(fit, 1000, fraction=0.25, seed=1, minimize=True)
    assert set(np.unique(idx)) == {0, 1, 2, 3, 4}
    assert ops.Truncation().fraction == 0.5


def test_random_selection_uniform():
    idx = ops.random_select(np.zeros(7), 70_000, seed=5)
    assert stats.chisquare(np.bincount(idx, minlength=7)).pvalue > 1e-4


@pytest.mark.parametrize("sel", [ops.Tournament(3), ops.Truncation(top_k=3),
                                 ops.Roulette(), ops.SUS(), ops.Rank(2.0)])
@pytest.mark.parametrize("minimize", [False, True])
def test_nan_fitness_is_worst(sel, minimize):
    fit = np.array([np.nan, 1.0, 2.0, np.nan, 3.0, 0.5])
    # Rank(2.0): the worst rank has weight 0, so a NaN is never drawn either
    idx = sel.select(fit, 3000, seed=1, minimize=minimize)
    nan_rate = np.isin(idx, [0, 3]).mean()
    if isinstance(sel, ops.Tournament):
        # a NaN wins only when every aspirant is NaN
        assert abs(nan_rate - (2 / 6) ** 3) < 0.02
    elif isinstance(sel, ops.Rank):
        # the two NaNs take ranks 0 and 1: weights 0 and 2 / (6 * 5)
        assert abs(nan_rate - 1 / 15) < 0.02
    else:
        assert nan_rate == 0.0


def test_nan_worst_in_rank_and_elitism():
    fit = np.array([np.nan, 1.0, 2.0, 3.0])
    idx = ops.rank_select(fit, 20_000, pressure=2.0, seed=0)
    assert 0 not in idx  # the NaN has the last rank, weight 0 at pressure 2
    par = _pop(4, 6)
    out = np.empty((4, 6), np.float32)
    pairs = ops.next_generation(par, fit, out, selection=ops.Tournament(2),
                                elitism=4, seed=0, generation=0)
    assert pairs[:, 0].tolist() == [3, 2, 1, 0]
    pairs = ops.next_generation(par, fit, out, selection=ops.Tournament(2),
                                elitism=4, seed=0, generation=0, minimize=True)
    assert pairs[:, 0].tolist() == [1, 2, 3, 0]


# ---------------------------------------------------------------------------
# crossover
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("p", [0.5, 0.1, 0.9, 0.0, 1.0])
def test_uniform_crossover_genes_from_parents(p):
    a, b = _pop(50, 1000, 1), _pop(50, 1000, 2)
    c = ops.uniform_crossover(a, b, swap_prob=p, seed=1)
    from_a, from_b = c == a, c == b
    assert np.all(from_a | from_b)
    frac = from_b.mean()
    assert abs(frac - p) < 4 * np.sqrt(p * (1 - p) / c.size) + 1e-12


@pytest.mark.parametrize("k", [1, 2, 3, 7])
def test_k_point_children_are_splices(k):
    N = 40
    a = np.zeros((300, N), np.float32)
    b = np.ones((300, N), np.float32)
    cx = {1: ops.OnePointCrossover(), 2: ops.TwoPointCrossover()}.get(
        k, ops.KPointCrossover(k))
    c = cx.cross(a, b, seed=k)
    assert np.all(c[:, 0] == 0)  # starts with the first parent
    switches = np.count_nonzero(np.diff(c, axis=1), axis=1)
    assert np.all(switches == k)
    if k == 1:
        # cut uniform in [1, N-1]
        cuts = np.argmax(c == 1, axis=1)
        assert cuts.min() >= 1 and cuts.max() <= N - 1
        assert stats.chisquare(np.bincount(cuts, minlength=N)[1:]).pvalue > 1e-4
    if k == 2:
        assert np.all(c[:, -1] == 0)  # a[:c1] + b[c1:c2] + a[c2:]


def test_blend_gives_average_and_blx_sbx_keep_mean():
    a, b = _pop(30, 500, 1), _pop(30, 500, 2)
    avg = ops.blend_crossover(a, b, alpha=0.5)
    np.testing.assert_allclose(avg, (a + b) / 2, rtol=1e-6, atol=1e-6)
    w = ops.blend_crossover(a, b, alpha=0.2)
    np.testing.assert_allclose(w, 0.2 * a + 0.8 * b, rtol=1e-5, atol=1e-6)
    for cx in (ops.BLXCrossover(0.5), ops.SBXCrossover(eta=2.0),
               ops.SBXCrossover(eta=30.0)):
        c1 = cx.cross(a, b, seed=3, generation=1)
        c2 = cx.cross(b, a, seed=3, generation=1)
        np.testing.assert_allclose(c1 + c2, a + b, rtol=1e-4, atol=1e-4)
        m = cx.mate(np.stack([a[0], b[0]]), seed=3)
        np.testing.assert_allclose(m.sum(0), a[0] + b[0], rtol=1e-4, atol=1e-4)
    # BLX spreads uniformly on [min - alpha d, max + alpha d]
    z = np.zeros((1, 100_000), np.float32)
    o = np.ones((1, 100_000), np.float32)
    c = ops.blx_crossover(z, o, alpha=0.5, seed=0)[0].astype(float)
    assert stats.kstest(c, "uniform", args=(-0.5, 2.0)).pvalue > 1e-4


def test_sbx_bounded_stays_in_bounds():
    a = np.random.default_rng(0).uniform(-1, 1, (40, 300)).astype(np.float32)
    b = np.random.default_rng(1).uniform(-1, 1, (40, 300)).astype(np.float32)
    c = ops.sbx_crossover(a, b, eta=1.0, low=-1.0, high=1.0, seed=2)
    assert c.min() >= -1.0 and c.max() <= 1.0
    assert np.isfinite(c).all()
    # parents outside the bounds are clamped, never NaN
    c = ops.sbx_crossover(3 * a, 3 * b, eta=15.0, low=-1.0, high=1.0, seed=2)
    assert np.isfinite(c).all() and c.min() >= -1.0 and c.max() <= 1.0
    # half the genes are kept, the crossed half is on either parent's side
    # (Deb's exchange); without it every child stays on its parent's side
    c1 = ops.sbx_crossover(a, b, eta=30.0, low=-1.0, high=1.0, seed=4)
    assert 0.72 < np.mean(np.abs(c1 - a) < np.abs(c1 - b)) < 0.78
    old = ops.SBXCrossover(30.0, -1.0, 1.0, gene_prob=1.0, exchange=False)
    assert np.mean(np.abs(old.cross(a, b, seed=4) - a)
                   < np.abs(old.cross(a, b, seed=4) - b)) > 0.9


def test_neuron_crossover_moves_whole_units():
    net = pn.Network([5, 4, 3], ["tanh", "linear"])
    a = np.zeros((200, net.n_params), np.float32)
    b = np.ones((200, net.n_params), np.float32)
    c = ops.neuron_crossover(a, b, network=net, seed=1)
    frac = []
    for lay in net.layout:
        n_in, n_out = lay.w_shape
        W = c[:, lay.w_offset: lay.w_offset + n_in * n_out].reshape(-1, n_in, n_out)
        bias = c[:, lay.b_offset: lay.b_offset + n_out]
        # a unit's column and its bias come from the same parent
        assert np.all(bias[:, None, :] == W)
        frac.append(bias.mean())
    assert abs(np.mean(frac) - 0.5) < 0.05
    cfg = ops.NeuronCrossover(net, 0.3).to_config()
    assert ops.operator_from_config(json.loads(json.dumps(cfg))) == \
        ops.NeuronCrossover(net, 0.3)


@pytest.mark.parametrize("mode", ["rect", "horizontal", "vertical", "any"])
def test_patch_crossover_regions(mode):
    H, W = 6, 7
    a = np.zeros((300, H * W), np.float32)
    b = np.ones((300, H * W), np.float32)
    c = ops.patch_crossover(a, b, shape=(H, W), mode=mode, seed=2).reshape(-1, H, W)
    for img in c:
        rows = np.flatnonzero(img.any(1))
        cols = np.flatnonzero(img.any(0))
        assert rows.size and cols.size
        box = img[rows[0]: rows[-1] + 1, cols[0]: cols[-1] + 1]
        assert np.all(box == 1)  # the region from b is one rectangle
        if mode == "horizontal":
            assert rows[-1] == H - 1 and cols.size == W and rows[0] >= 1
        if mode == "vertical":
            assert cols[-1] == W - 1 and rows.size == H and cols[0] >= 1


# ---------------------------------------------------------------------------
# mutation
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("rate", [0.001, 0.1, 0.5, 0.97])
def test_mutation_rate_binomial_ci(rate):
    pop = np.zeros((200, 1000), np.float32)
    m = ops.mutate_gaussian(pop, rate=rate, sigma=1.0, seed=1)
    n_hit = np.count_nonzero(m)
    n = pop.size
    lo, hi = stats.binom.interval(1 - 1e-5, n, rate)
    assert lo <= n_hit <= hi
    if rate == 0.1:
        # genes skipped between hits are Geometric(rate) (rows are long
        # enough that truncation at the row end is negligible)
        gaps = np.concatenate([np.diff(np.flatnonzero(row)) - 1 for row in m])
        g = np.bincount(gaps)[:30]
        pmf = rate * (1 - rate) ** np.arange(30)
        assert stats.chisquare(g, gaps.size * pmf / pmf.sum() * g.sum() / gaps.size
                               ).pvalue > 1e-4


def test_gaussian_deltas_ks_and_sigma_vector():
    pop = _pop(100, 2000)
    m = ops.mutate_gaussian(pop, rate=0.3, sigma=0.25, seed=2)
    d = (m.astype(np.float64) - pop)[m != pop]
    assert stats.kstest(d, "norm", args=(0, 0.25)).pvalue > 1e-4
    sv = np.linspace(0.01, 2.0, 2000).astype(np.float32)
    m = ops.mutate_gaussian(pop, rate=1.0, sigma=9.0, sigma_vector=sv, seed=3)
    z = (m.astype(np.float64) - pop) / sv
    assert stats.kstest(z.ravel(), "norm").pvalue > 1e-4
    assert np.array_equal(ops.mutate_gaussian(pop, rate=0.0, seed=1), pop)


def test_uniform_reset_bit_flip_polynomial():
    pop = np.full((100, 1000), 5.0, np.float32)
    m = ops.mutate_uniform_reset(pop, rate=0.2, low=-2.0, high=3.0, seed=1)
    new = m[m != 5.0]
    lo, hi = stats.binom.interval(1 - 1e-5, pop.size, 0.2)
    assert lo <= new.size <= hi
    assert stats.kstest(new, "uniform", args=(-2.0, 5.0)).pvalue > 1e-4
    bits = (np.random.default_rng(0).random((100, 1000)) < 0.5).astype(np.float32)
    f = ops.mutate_bit_flip(bits, rate=0.05, seed=2)
    assert set(np.unique(f)) <= {0.0, 1.0}
    lo, hi = stats.binom.interval(1 - 1e-5, bits.size, 0.05)
    assert lo <= np.count_nonzero(f != bits) <= hi
    x = np.random.default_rng(1).uniform(-1, 1, (100, 1000)).astype(np.float32)
    p = ops.mutate_polynomial(x, rate=0.3, eta=5.0, low=-1.0, high=1.0, seed=3)
    assert p.min() >= -1.0 and p.max() <= 1.0
    lo, hi = stats.binom.interval(1 - 1e-5, x.size, 0.3)
    assert lo <= np.count_nonzero(p != x) <= hi
    # symmetric steps around interior points: mean change ~ 0
    d = (p - x)[(p != x) & (np.abs(x) < 0.5)]
    assert abs(d.mean()) < 0.01


def test_n_gene_reset_and_block_and_clip():
    pop = np.full((50, 300), 7.0, np.float32)
    for n in (1, 5, 64, 65, 200):
        m = ops.mutate_n_gene_reset(pop, n=n, seed=n)
        assert np.all(np.count_nonzero(m != 7.0, axis=1) == n)
    vals = ops.mutate_n_gene_reset(pop, n=100, seed=0)
    assert stats.kstest(vals[vals != 7.0], "norm").pvalue > 1e-4
    H, W, s = 8, 9, 3
    img = np.zeros((200, H * W), np.float32)
    for mode in ("perturb", "flip"):
        m = ops.mutate_block(img, shape=(H, W), size=s, mode=mode, sigma=1.0,
                             seed=1).reshape(-1, H, W)
        for blk in m:
            r, c = np.nonzero(blk)
            assert r.size == s * s
            assert r.max() - r.min() == s - 1 and c.max() - c.min() == s - 1
            if mode == "flip":
                assert np.all(blk[r, c] == 1.0)
    x = _pop(20, 100) * 3
    np.testing.assert_array_equal(ops.clip(x, -1.0, 0.5), np.clip(x, -1.0, 0.5))


def test_mutation_list_applies_in_order():
    pop = _pop(30, 400)
    m = ops.mutate(pop, [ops.GaussianMutation(1.0, 5.0), ops.Clip(-0.5, 0.5)],
                   seed=0)
    assert m.min() >= -0.5 and m.max() <= 0.5
    g = ops.GaussianMutation(1.0, 5.0).mutate(pop, seed=0)
    np.testing.assert_array_equal(m, np.clip(g, -0.5, 0.5))


# ---------------------------------------------------------------------------
# next_generation
# ---------------------------------------------------------------------------

SELECTIONS = [ops.Tournament(2), ops.Truncation(0.5), ops.Roulette(), ops.SUS(),
              ops.Rank(), ops.RandomSelection()]
CROSSOVERS = [None, ops.UniformCrossover(), ops.UniformCrossover(0.2),
              ops.OnePointCrossover(), ops.TwoPointCrossover(),
              ops.KPointCrossover(5), ops.BlendCrossover(), ops.BLXCrossover(),
              ops.SBXCrossover(), ops.SBXCrossover(5.0, -3.0, 3.0),
              ops.PatchCrossover((6, 6)), "neuron"]
MUTATIONS = [None, ops.GaussianMutation(), ops.UniformResetMutation(),
             ops.NGeneResetMutation(3), ops.BitFlipMutation(0.1),
             ops.PolynomialMutation(), ops.BlockMutation((6, 6), 2),
             [ops.GaussianMutation(0.5, 1.0), ops.Clip(-1.0, 1.0)]]


@pytest.mark.parametrize("sel", SELECTIONS, ids=repr)
def test_next_generation_every_selection(sel):
    par = _pop(20, 36)
    fit = np.abs(np.random.default_rng(0).standard_normal(20))
    fit[4] = np.nan
    out = np.empty((25, 36), np.float32)
    pairs = ops.next_generation(par, fit, out, selection=sel, elitism=3, seed=1,
                                generation=0)
    assert pairs.shape == (25, 2) and pairs.dtype == np.int64
    assert np.all((pairs >= 0) & (pairs < 20))
    # no crossover, no mutation: children are copies of their first parent
    np.testing.assert_array_equal(out, par[pairs[:, 0]])
    assert pairs[:3, 0].tolist() == np.argsort(-np.nan_to_num(fit, nan=-1))[:3].tolist()


@pytest.mark.parametrize("cx", CROSSOVERS, ids=repr)
@pytest.mark.parametrize("mut", MUTATIONS, ids=repr)
def test_next_generation_every_combination(cx, mut):
    N = 36
    if cx == "neuron":
        cx = ops.NeuronCrossover(pn.Network([3, 3, 6], ["tanh", "linear"]))
    par = np.random.default_rng(0).uniform(-1, 1, (16, N)).astype(np.float32)
    fit = np.arange(16.0)
    # 2048 children x 36 genes: above PARALLEL_MIN_WORK, so that two threads
    # really share the rows (checked by the kernel's team report)
    n_out = 2048
    assert n_out * N >= PARALLEL_MIN_WORK
    kw = dict(selection=ops.Tournament(3), crossover=cx, mutation=mut,
              elitism=2, seed=4, generation=7, crossover_prob=0.9,
              mutation_prob=0.8)
    out = np.empty((n_out, N), np.float32)
    pairs = ops.next_generation(par, fit, out, n_threads=2, **kw)
    assert kernels._last_team() == TWO_THREADS
    assert np.isfinite(out).all()
    np.testing.assert_array_equal(out[:2], par[[15, 14]])
    if isinstance(mut, list):
        assert out.min() >= -1.0 and out.max() <= 1.0
    again = np.empty_like(out)
    pairs2 = ops.next_generation(par, fit, again, n_threads=1, **kw)
    assert kernels._last_team() == [1]
    np.testing.assert_array_equal(out, again)
    np.testing.assert_array_equal(pairs, pairs2)


def test_next_generation_probabilities_and_lambda():
    par = _pop(10, 64)
    fit = np.arange(10.0)
    out = np.empty((31, 64), np.float32)  # lambda != mu
    pairs = ops.next_generation(par, fit, out, selection=ops.Tournament(2),
                                crossover=ops.UniformCrossover(),
                                mutation=ops.GaussianMutation(0.5, 1.0),
                                crossover_prob=0.0, mutation_prob=0.0, seed=0,
                                generation=0)
    np.testing.assert_array_equal(out, par[pairs[:, 0]])
    pairs = ops.next_generation(par, fit, out, selection=ops.Tournament(2),
                                crossover=ops.UniformCrossover(),
                                mutation=[ops.GaussianMutation(1.0, 1.0),
                                          ops.Clip(-0.1, 0.1)],
                                mutation_prob=0.0, seed=0, generation=0)
    ok = (out == np.clip(par[pairs[:, 0]], -0.1, 0.1)) | (
        out == np.clip(par[pairs[:, 1]], -0.1, 0.1))
    assert ok.all()  # Clip runs on unmutated children too
    # crossover_prob 0.5: about half the children differ from parent a
    big = np.empty((4000, 64), np.float32)
    pairs = ops.next_generation(par, fit, big, selection=ops.RandomSelection(),
                                crossover=ops.UniformCrossover(),
                                crossover_prob=0.5, seed=1, generation=0)
    differ = np.any(big != par[pairs[:, 0]], axis=1)
    differ_ok = pairs[:, 0] != pairs[:, 1]
    frac = differ[differ_ok].mean()
    assert abs(frac - 0.5) < 0.04


def test_elitism_keeps_the_best():
    par = _pop(50, 20)
    fit = np.random.default_rng(3).standard_normal(50)
    out = np.empty((50, 20), np.float32)
    pairs = ops.next_generation(par, fit, out, selection=ops.Tournament(3),
                                crossover=ops.SBXCrossover(),
                                mutation=ops.GaussianMutation(1.0, 1.0),
                                elitism=5, seed=0, generation=1)
    best = np.argsort(-fit)[:5]
    np.testing.assert_array_equal(out[:5], par[best])
    np.testing.assert_array_equal(pairs[:5], np.stack([best, best], 1))


def test_next_generation_sus_matches_select():
    par = _pop(10, 8)
    fit = np.arange(1.0, 11.0)
    out = np.empty((12, 8), np.float32)
    pairs = ops.next_generation(par, fit, out, selection=ops.SUS(), elitism=2,
                                seed=3, generation=4)
    picks = ops.SUS().select(fit, 20, seed=3, generation=4)
    np.testing.assert_array_equal(pairs[2:].ravel(), picks)


@pytest.mark.parametrize("sel", SELECTIONS, ids=repr)
def test_generation_plan_is_next_generation(sel):
    # the GA's prepared path (validated once) gives the public path's numbers,
    # generation after generation, with the plan's pairs buffer reused
    from pyneat_lite.operators.generation import _GenerationPlan

    par = _pop(20, 36)
    fit = np.abs(np.random.default_rng(0).standard_normal(20))
    fit[4] = np.nan
    kw = dict(crossover=ops.PatchCrossover((6, 6)),
              mutation=[ops.GaussianMutation(0.3, 0.5), ops.Clip(-2.0, 2.0)],
              elitism=3, crossover_prob=0.7, mutation_prob=0.6)
    plan = _GenerationPlan(sel, n_parents=20, n_out=25, n_params=36, caller="GA",
                           **kw)
    for g, minimize in [(0, False), (1, True), (7, False)]:
        want = np.empty((25, 36), np.float32)
        want_pairs = ops.next_generation(par, fit, want, selection=sel, seed=3,
                                         generation=g, minimize=minimize, **kw)
        got = np.empty_like(want)
        pairs = plan.run(par, fit, got, 3, g, minimize, None)
        assert pairs is plan.pairs
        np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(pairs, want_pairs)


def test_ga_checks_its_operators_at_construction():
    with pytest.raises(ValueError, match="tournament size k of GA"):
        pn.GA(n_params=10, pop_size=4, selection=ops.Tournament(k=5))
    with pytest.raises(ValueError, match="needs genomes of 16"):
        pn.GA(n_params=10, pop_size=8, crossover=ops.PatchCrossover((4, 4)))
    with pytest.raises(ValueError, match="sigma_vector.*in GA"):
        pn.GA(n_params=10, mutation=ops.GaussianMutation(sigma_vector=np.ones(3)))
    with pytest.raises(ValueError, match="'top_k' parameter of GA"):
        pn.GA(n_params=10, pop_size=6, selection=ops.Truncation(top_k=7))


# ---------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------


def test_constructor_errors():
    with pytest.raises(ValueError, match="'rate' parameter of GaussianMutation"):
        ops.GaussianMutation(rate=1.5)
    with pytest.raises(ValueError, match="'sigma' parameter of GaussianMutation"):
        ops.GaussianMutation(sigma=-0.1)
    with pytest.raises(ValueError, match="'eta' parameter of SBXCrossover"):
        ops.SBXCrossover(eta=-1.0)
    with pytest.raises(ValueError, match="'eta' parameter of PolynomialMutation"):
        ops.PolynomialMutation(eta=-1.0)
    with pytest.raises(ValueError, match="'swap_prob'"):
        ops.UniformCrossover(-0.1)
    with pytest.raises(ValueError, match="'k' parameter of Tournament"):
        ops.Tournament(0)
    with pytest.raises(TypeError, match="'k' parameter of Tournament"):
        ops.Tournament(2.5)
    with pytest.raises(ValueError, match="not both"):
        ops.Truncation(0.5, 3)
    with pytest.raises(ValueError, match="'pressure'"):
        ops.Rank(2.5)
    with pytest.raises(ValueError, match="'mode'"):
        ops.PatchCrossover((4, 4), "diagonal")
    with pytest.raises(ValueError, match="'size'"):
        ops.BlockMutation((4, 4), 5)
    with pytest.raises(ValueError, match="sigma_vector"):
        ops.GaussianMutation(sigma_vector=[0.1, -0.2])
    with pytest.raises(ValueError, match="low"):
        ops.Clip(1.0, -1.0)
    with pytest.raises(TypeError, match="'network' argument of NeuronCrossover"):
        ops.NeuronCrossover(42)


def test_call_errors():
    pop = _pop(6, 10)
    fit = np.arange(6.0)
    with pytest.raises(ValueError, match="tournament size k.*population size 6"):
        ops.tournament_select(fit, 3, k=7, seed=0)
    with pytest.raises(ValueError, match="'top_k'"):
        ops.truncation_select(fit, 3, top_k=9, seed=0)
    with pytest.raises(ValueError, match="'parents_b' argument of UniformCross"):
        ops.uniform_crossover(pop, pop[:5], seed=0)
    with pytest.raises(ValueError, match="even number of rows"):
        ops.UniformCrossover().mate(pop[:5], seed=0)
    with pytest.raises(ValueError, match="at least 11 genes"):
        ops.KPointCrossover(10).cross(pop, pop, seed=0)
    with pytest.raises(ValueError, match="sigma_vector"):
        ops.GaussianMutation(sigma_vector=np.ones(3)).mutate(pop, seed=0)
    with pytest.raises(ValueError, match="needs genomes of 16"):
        ops.PatchCrossover((4, 4)).cross(pop, pop, seed=0)
    with pytest.raises(ValueError, match="'population' argument of mutate_x|finite"):
        ops.mutate_gaussian(np.full((2, 2), np.nan, np.float32), seed=0)
    with pytest.raises(ValueError, match="'generation' parameter"):
        ops.mutate_gaussian(pop, seed=0, generation=-1)
    with pytest.raises(ValueError, match="'rows' argument of standard_normal"):
        ops.standard_normal(3, 4, seed=0, generation=0, rows=[1, 2])


def test_out_buffer_errors():
    pop = _pop(6, 10)
    fit = np.arange(6.0)
    kw = dict(selection=ops.Tournament(2), seed=0, generation=0)
    with pytest.raises(ValueError, match="'out' argument of next_generation.*"
                                         "share memory"):
        ops.next_generation(pop, fit, pop, **kw)
    with pytest.raises(ValueError, match="share memory"):
        ops.next_generation(pop, fit, pop[::-1][::-1], **kw)
    with pytest.raises(TypeError, match="dtype float32"):
        ops.next_generation(pop, fit, np.empty((6, 10)), **kw)
    with pytest.raises(ValueError, match="C-contiguous"):
        ops.next_generation(pop, fit, np.empty((6, 20), np.float32)[:, ::2], **kw)
    with pytest.raises(ValueError, match="shape"):
        ops.next_generation(pop, fit, np.empty((6, 11), np.float32), **kw)
    with pytest.raises(TypeError, match="'out' argument of next_generation"):
        ops.next_generation(pop, fit, [[0.0]], **kw)
    with pytest.raises(ValueError, match="'fitness' argument of next_generation"):
        ops.next_generation(pop, fit[:5], np.empty_like(pop), **kw)
    with pytest.raises(ValueError, match="'elitism' parameter"):
        ops.next_generation(pop, fit, np.empty((3, 10), np.float32), elitism=4,
                            **kw)
    with pytest.raises(ValueError, match="'crossover_prob'"):
        ops.next_generation(pop, fit, np.empty_like(pop), crossover_prob=2.0, **kw)
    with pytest.raises(TypeError, match="'selection' argument"):
        ops.next_generation(pop, fit, np.empty_like(pop), selection="tournament",
                            seed=0, generation=0)
    with pytest.raises(TypeError, match="'mutation' argument"):
        ops.next_generation(pop, fit, np.empty_like(pop), mutation=[None], **kw)
    bad = pop.copy()
    bad[1, 2] = np.inf
    with pytest.raises(ValueError, match="'parents' argument of next_generation "
                                         "must be finite"):
        ops.next_generation(bad, fit, np.empty_like(pop), **kw)
    with pytest.raises(ValueError, match="share memory"):
        ops.mutate_gaussian(pop, seed=0, out=pop)
    with pytest.raises(ValueError, match="share memory"):
        ops.uniform_crossover(pop, pop[::-1].copy(), seed=0, out=pop)
    with pytest.raises(TypeError, match="dtype float32"):
        ops.standard_normal(2, 3, seed=0, generation=0, out=np.empty((2, 3)))


# ---------------------------------------------------------------------------
# config round trip, repr, exports
# ---------------------------------------------------------------------------

ALL_OPS = [
    ops.Tournament(4), ops.Truncation(top_k=3), ops.Truncation(0.3),
    ops.Roulette(), ops.SUS(), ops.Rank(1.7), ops.RandomSelection(),
    ops.UniformCrossover(0.3), ops.OnePointCrossover(), ops.TwoPointCrossover(),
    ops.KPointCrossover(4), ops.BlendCrossover(0.25), ops.BLXCrossover(0.1),
    ops.SBXCrossover(3.0), ops.SBXCrossover(3.0, -2.0, 2.0),
    ops.PatchCrossover((3, 5), "vertical"), ops.GaussianMutation(0.2, 0.3),
    ops.GaussianMutation(sigma_vector=[0.1, 0.2]),
    ops.UniformResetMutation(0.2, -3.0, 3.0), ops.NGeneResetMutation(4),
    ops.BitFlipMutation(0.02), ops.PolynomialMutation(0.2, 10.0, -5.0, 5.0),
    ops.BlockMutation((5, 5), 2, "flip", 0.0), ops.Clip(-2.0, 2.0),
]


@pytest.mark.parametrize("op", ALL_OPS, ids=repr)
def test_config_round_trip(op):
    cfg = json.loads(json.dumps(op.to_config()))
    assert cfg["type"] == type(op).__name__
    back = ops.operator_from_config(cfg)
    assert back == op and repr(back) == repr(op)
    assert type(op).__name__ in repr(op)


def test_config_errors_and_exports():
    with pytest.raises(ValueError, match="'type' of operator_from_config"):
        ops.operator_from_config({"type": "Nope"})
    with pytest.raises(ValueError, match="Bad parameters for Tournament"):
        ops.operator_from_config({"type": "Tournament", "size": 3})
    assert repr(ops.Tournament()) == "Tournament(k=3)"
    assert ops.Tournament().to_config() == {"type": "Tournament", "k": 3}
    assert ops.openmp_enabled() is kernels.openmp_enabled()
    for name in ["Tournament", "Truncation", "Roulette", "SUS", "Rank",
                 "RandomSelection", "UniformCrossover", "OnePointCrossover",
                 "TwoPointCrossover", "KPointCrossover", "BlendCrossover",
                 "BLXCrossover", "SBXCrossover", "NeuronCrossover",
                 "PatchCrossover", "GaussianMutation", "UniformResetMutation",
                 "NGeneResetMutation", "BitFlipMutation", "PolynomialMutation",
                 "BlockMutation", "Clip"]:
        assert getattr(pn, name) is getattr(ops, name)
