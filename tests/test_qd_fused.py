"""The scheduler's fused ES step and the archives' block statistics
(pyneat_lite.qd, issue 12): every emitter updated in one kernel call is the
SepCMAES it wraps told the improvement ranks, and the scheduler is the same
emitters told one by one."""

from __future__ import annotations

import math

import numpy as np
import pytest

import pyneat_lite as pn
from pyneat_lite._kernels import qd_es
from pyneat_lite._rng import STREAMS, row_seeds
from pyneat_lite.qd import (
    CVTArchive,
    EvolutionStrategyEmitter,
    GaussianEmitter,
    GridArchive,
    Scheduler,
)


def sphere(x):
    x = np.asarray(x, dtype=np.float64)
    dim = x.shape[1]
    shift = 5.12 * 0.4
    worst = (-5.12 - shift) ** 2 * dim
    obj = (np.sum((x - shift) ** 2, axis=1) - worst) / (-worst) * 100
    c = np.where(np.abs(x) > 5.12, 5.12 / x, x)
    h = dim // 2
    return obj, np.stack([c[:, :h].sum(1), c[:, h:].sum(1)], axis=1)


def grid(dim, lr=1.0, tmin=-math.inf, cells=(20, 20)):
    b = dim / 2 * 5.12
    return GridArchive(dim, cells, [(-b, b)] * 2, learning_rate=lr,
                       threshold_min=tmin)


def reference_ranks(status, value, ranker):
    """Rank position (n - 1 best) by a plain Python sort."""
    n = len(value)
    if ranker == "imp":
        key = [(-value[i], i) for i in range(n)]
    else:
        key = [(-status[i], -value[i], i) for i in range(n)]
    ranks = np.empty(n)
    for pos, (*_, i) in enumerate(sorted(key)):
        ranks[i] = n - 1 - pos
    return ranks


def es_state(es):
    return (es._mean, es._C, es._pc, es._ps, np.array([es._step]), es._z)


# ------------------------------------------------------------------ kernels
def test_pairwise_sum_is_numpys():
    """The path norm's sum of squares is np.add.reduce's, bit for bit
    (numpy's pairwise summation, including its halving above 128)."""
    rng = np.random.default_rng(0)
    for n in [*range(1, 140), 255, 256, 257, 1000, 4099]:
        x = rng.normal(size=n) * rng.uniform(0.1, 1e3, size=n)
        assert qd_es.pairwise_sum_sq(x, np.empty(n)) == float(np.add.reduce(x * x))


def test_group_row_seeds_are_row_seeds():
    seeds = np.array([0, 7, 2**32 + 5, 2**63 - 1], dtype=np.uint64)
    gens = np.array([0, 3, 2**33, 1], dtype=np.int64)
    out = np.empty(4 * 5, dtype=np.uint64)
    qd_es.group_row_seeds(seeds, gens, STREAMS["es_noise"], 5, out)
    for e in range(4):
        np.testing.assert_array_equal(
            out[5 * e:5 * e + 5],
            row_seeds(int(seeds[e]), int(gens[e]), STREAMS["es_noise"], 5))


# ------------------------------------------------------------- the emitter
@pytest.mark.parametrize("ranker", ["imp", "2imp"])
@pytest.mark.parametrize("dim", [6, 12, 150])
def test_es_emitter_is_sepcma_told_the_ranks(ranker, dim):
    """Whole strategy state (mean, covariance, paths, step size) equal to a
    SepCMAES told the reference ranks, for genome lengths on both sides of
    the pairwise sum's blocks."""
    lr, tmin = (0.1, 0.0) if ranker == "imp" else (1.0, -math.inf)
    a = grid(dim, lr=lr, tmin=tmin)
    e = EvolutionStrategyEmitter(a, np.full(dim, 0.3), sigma0=0.8, ranker=ranker,
                                 restart_rule="basic", batch_size=12, seed=5)
    ref = pn.SepCMAES(dim, 12, sigma=0.8, mu=6, x0=np.full(dim, 0.3),
                      seed=e._es.seed)
    for _ in range(8):
        x = e.ask().copy()
        np.testing.assert_array_equal(ref.ask(), x)
        obj, m = sphere(x)
        info = a.add(x, obj, m)
        e.tell(x, obj, m, info.status, info.value)
        ref.tell(reference_ranks(info.status, info.value, ranker))
        for got, want in zip(es_state(e._es), es_state(ref), strict=True):
            np.testing.assert_array_equal(got, want)
    assert e.restarts == 0


@pytest.mark.parametrize("ranker", ["imp", "2imp"])
def test_filter_rule_updates_from_the_added_genomes_only(ranker):
    """selection_rule="filter": the parents are the k genomes that entered
    the archive, with SepCMAES's weights and rates for k parents (pyribs'
    rule); with none added the strategy is left as it was."""
    dim, b = 8, 16
    lr, tmin = (0.2, 0.0) if ranker == "imp" else (1.0, -math.inf)
    a = grid(dim, lr=lr, tmin=tmin, cells=(6, 6))
    e = EvolutionStrategyEmitter(a, np.zeros(dim), sigma0=1.0, ranker=ranker,
                                 selection_rule="filter", restart_rule=50,
                                 batch_size=b, seed=3)
    seen = set()
    for t in range(26):
        x = e.ask().copy()
        obj, m = sphere(x)
        before = [v.copy() for v in es_state(e._es)]
        gen = e._es.generation
        info = a.add(x, obj, m)
        if t == 25:  # a batch that adds nothing
            info = type(info)(np.zeros(b, np.int32), -1.0 - np.arange(b))
        k = int(np.count_nonzero(info.status > 0))
        e.tell(x, obj, m, info.status, info.value)
        if k == 0:
            for got, want in zip(es_state(e._es)[:5], before[:5], strict=True):
                np.testing.assert_array_equal(got, want)
            assert e._es.generation == gen + 1  # fresh noise next time
            seen.add("none")
            continue
        seen.add("all" if k == b else "some")
        # the definition: a SepCMAES with mu = k in the emitter's state, told
        # ranks that put the added genomes first (in the ranker's order)
        ref = pn.SepCMAES(dim, b, sigma=1.0, mu=k, seed=0)
        ref._mean[:], ref._C[:], ref._pc[:], ref._ps[:] = before[:4]
        ref._step = float(before[4][0])
        ref._generation = gen
        ref._z[:] = before[5]
        ref._pending = True
        ranks = reference_ranks(info.status, info.value, ranker)
        top = np.argsort(-ranks)[:k]
        assert (info.status[top] > 0).all()  # the top k are the added ones
        ref.tell(ranks)
        for got, want in zip(es_state(e._es)[:5], es_state(ref)[:5], strict=True):
            np.testing.assert_array_equal(got, want)
    assert seen >= {"none", "some"}


# ------------------------------------------------------------ the scheduler
def _emitters(a, dim, ranker, rule, bounds, restart, seed=0):
    return [EvolutionStrategyEmitter(a, np.zeros(dim), sigma0=0.6, ranker=ranker,
                                     selection_rule=rule, restart_rule=restart,
                                     batch_size=10, bounds=bounds, seed=seed + i)
            for i in range(4)]


@pytest.mark.parametrize("ranker,rule,bounds,restart", [
    ("imp", "mu", None, "basic"),
    ("2imp", "mu", (-2.0, 2.0), 3),
    ("2imp", "filter", None, "no_improvement"),
    ("imp", "filter", (-1.5, 1.5), 2),
])
def test_fused_scheduler_is_the_emitters_told_one_by_one(ranker, rule, bounds,
                                                         restart):
    """The scheduler's one-call step over all ES emitters against the same
    emitters asked and told one at a time on a second archive; restarts
    included (a small archive stalls them)."""
    dim = 6
    lr, tmin = (0.1, 0.0) if ranker == "imp" else (1.0, -math.inf)
    a1, a2 = grid(dim, lr, tmin, (5, 5)), grid(dim, lr, tmin, (5, 5))
    s = Scheduler(a1, _emitters(a1, dim, ranker, rule, bounds, restart))
    assert s._group is not None
    ems = _emitters(a2, dim, ranker, rule, bounds, restart)
    for _ in range(40):
        pop = s.ask()
        parts = [e.ask().copy() for e in ems]
        np.testing.assert_array_equal(pop, np.concatenate(parts))
        obj, m = sphere(pop)
        s.tell(obj, m)
        info = a2.add(pop, obj, m)
        for i, e in enumerate(ems):
            r = slice(10 * i, 10 * i + 10)
            e.tell(pop[r], obj[r], m[r], info.status[r], info.value[r])
    for e1, e2 in zip(s.emitters, ems, strict=True):
        assert e1.restarts == e2.restarts
        for got, want in zip(es_state(e1._es), es_state(e2._es), strict=True):
            np.testing.assert_array_equal(got, want)
    if restart != "basic":
        assert sum(e.restarts for e in ems) > 0
    for k in ("occupied", "objectives", "thresholds"):
        np.testing.assert_array_equal(getattr(a1, k), getattr(a2, k))


def test_emitters_shared_by_two_schedulers_keep_one_state():
    """Two schedulers over some of the same emitters, stepped in turn (and
    restarting), against the emitters told one by one in the same order."""
    a, a2 = grid(6, cells=(4, 4)), grid(6, cells=(4, 4))
    ems = _emitters(a, 6, "2imp", "mu", None, 1)
    ref = _emitters(a2, 6, "2imp", "mu", None, 1)
    s1, s2 = Scheduler(a, ems), Scheduler(a, ems[:2])
    for t in range(15):
        s, group = (s1, ref) if t % 3 else (s2, ref[:2])
        pop = s.ask()
        np.testing.assert_array_equal(
            pop, np.concatenate([e.ask().copy() for e in group]))
        obj, m = sphere(pop)
        s.tell(obj, m)
        info = a2.add(pop, obj, m)
        for i, e in enumerate(group):
            r = slice(10 * i, 10 * i + 10)
            e.tell(pop[r], obj[r], m[r], info.status[r], info.value[r])
    for e1, e2 in zip(ems, ref, strict=True):
        for got, want in zip(es_state(e1._es), es_state(e2._es), strict=True):
            np.testing.assert_array_equal(got, want)
    assert sum(e.restarts for e in ems) > 0
    # an emitter asked directly sees its state in the scheduler's buffers
    np.testing.assert_array_equal(ems[0].ask(), s1.ask()[:10])


def test_mixed_emitters_are_not_fused():
    a = CVTArchive(6, 40, [(-15.36, 15.36)] * 2, samples=2000, seed=1)
    em = [GaussianEmitter(a, np.zeros(6), seed=0),
          EvolutionStrategyEmitter(a, np.zeros(6), batch_size=8, seed=1)]
    assert Scheduler(a, em)._group is None
    em2 = [EvolutionStrategyEmitter(a, np.zeros(6), batch_size=8, seed=1),
           EvolutionStrategyEmitter(a, np.zeros(6), batch_size=8, seed=2,
                                    ranker="imp")]
    assert Scheduler(a, em2)._group is None
    with pytest.raises(ValueError, match="'selection_rule'.*'mu', 'filter'"):
        EvolutionStrategyEmitter(a, np.zeros(6), selection_rule="top")


# ------------------------------------------------------- block statistics
def test_block_statistics_follow_every_change(tmp_path):
    """QD score and best objective after random colliding batches, a clear
    and a checkpoint round trip, against sums over the occupied cells (in
    blocks of 32 cells, in cell order, as the archive keeps them)."""
    rng = np.random.default_rng(1)
    a = GridArchive(3, (13, 11), [(-1, 1), (-1, 1)], learning_rate=0.3,
                    threshold_min=-2.0, qd_score_offset=-3.0)

    def check(arch):
        occ = arch.occupied
        f = np.where(occ, arch.objectives, 0.0)
        total = 0.0
        for b0 in range(0, arch.cells, 32):
            part = 0.0
            for c in range(b0, min(b0 + 32, arch.cells)):
                if occ[c]:
                    part += f[c]
            total += part
        st = arch.stats
        assert st.num_elites == int(occ.sum())
        if st.num_elites:
            assert st.qd_score == total + 3.0 * st.num_elites
            assert st.obj_max == np.max(arch.objectives[occ])
            assert st.qd_score == pytest.approx(np.sum(f[occ] + 3.0), rel=1e-12)

    for t in range(30):
        n = int(rng.integers(1, 60))
        m = rng.uniform(-1.2, 1.2, (n, 2))
        m[rng.integers(0, n, n // 3)] = m[0]  # collisions in one batch
        a.add(rng.normal(size=(n, 3)), rng.normal(size=n) * 2, m)
        check(a)
        if t == 10:
            a.clear()
            check(a)
    a.save(tmp_path / "a.ckpt")
    b = pn.load(tmp_path / "a.ckpt")
    check(b)
    assert b.stats == a.stats


def _arm(x):
    x = np.asarray(x, dtype=np.float64)
    cum = np.cumsum(x, axis=1)
    return -np.var(x, axis=1), np.stack([np.cos(cum).sum(1), np.sin(cum).sum(1)],
                                        axis=1)


def _cvt_scheduler(lr):
    cent = pn.qd.k_means_centroids(300, [(-6, 6)] * 2, samples=3000, seed=0)
    kw = {"learning_rate": lr, "threshold_min": -10.0} if lr < 1 else {}
    a = CVTArchive(6, cent, [(-6, 6)] * 2, **kw)
    r = CVTArchive(6, cent, [(-6, 6)] * 2) if lr < 1 else None
    rule = "no_improvement" if lr == 1 else 2
    ranker = "2imp" if lr == 1 else "imp"
    em = [EvolutionStrategyEmitter(a, np.zeros(6), sigma0=0.2, batch_size=12,
                                   ranker=ranker, restart_rule=rule,
                                   bounds=(-np.pi, np.pi), seed=i) for i in range(3)]
    return Scheduler(a, em, r)


@pytest.mark.parametrize("lr", [1.0, 0.05])
def test_tell_fast_path_is_the_validated_path(lr):
    # float64 C-contiguous arrays skip the conversions; a list objective and
    # Fortran-ordered measures take the general path: the same run, bit for
    # bit (archives, result archive, next population), over enough
    # iterations for restarts (CMA-ME)
    fast, slow = _cvt_scheduler(lr), _cvt_scheduler(lr)
    for _ in range(80):
        obj, meas = _arm(fast.ask())
        assert obj.dtype == np.float64 and meas.flags.c_contiguous
        fast.tell(obj, meas)
        obj2, meas2 = _arm(slow.ask())
        slow.tell(obj2.tolist(), np.asfortranarray(meas2))
    if lr == 1:
        assert sum(e.restarts for e in fast.emitters) > 0
    for x, y in ((fast.archive, slow.archive),
                 (fast.result_archive, slow.result_archive)):
        dx, dy = x.data(), y.data()
        assert len(x) > 50
        for k in dx:
            np.testing.assert_array_equal(dx[k], dy[k])
    np.testing.assert_array_equal(fast.ask(), slow.ask())


def test_tell_fast_path_keeps_out_of_range_raise():
    a = GridArchive(3, (4, 4), [(0, 1), (0, 1)], out_of_range="raise")
    s = Scheduler(a, [GaussianEmitter(a, np.zeros(3), sigma=0.1, batch_size=4,
                                      seed=0)])
    s.ask()
    m = np.full((4, 2), 0.5)
    m[2, 1] = 1.5
    with pytest.raises(ValueError, match="row 2"):
        s.tell(np.zeros(4), m)
    with pytest.raises(ValueError, match=r"shape \(4, 2\)"):
        s.tell(np.zeros(4), np.zeros((4, 3)))
    with pytest.raises(ValueError, match=r"shape \(4,\)"):
        s.tell(np.zeros(5), m)
    assert len(a) == 0
