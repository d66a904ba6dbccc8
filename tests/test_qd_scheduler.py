"""Emitters and the scheduler of pyneat_lite.qd (issue 12)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import pyneat_lite as pn
from pyneat_lite._rng import STREAMS, standard_normal
from pyneat_lite.qd import (
    CVTArchive,
    EvolutionStrategyEmitter,
    GaussianEmitter,
    GridArchive,
    IsoLineEmitter,
    Scheduler,
)


def sphere(x, dim_half=None):
    """pyribs' sphere-linear-projection benchmark on a small scale."""
    x = np.asarray(x, dtype=np.float64)
    dim = x.shape[1]
    shift = 5.12 * 0.4
    worst = (-5.12 - shift) ** 2 * dim
    obj = (np.sum((x - shift) ** 2, axis=1) - worst) / (-worst) * 100
    c = x.copy()
    mask = np.abs(c) > 5.12
    c[mask] = 5.12 / c[mask]
    h = dim // 2
    return obj, np.stack([c[:, :h].sum(1), c[:, h:].sum(1)], axis=1)


def grid(dim=6, lr=1.0, tmin=-math.inf, cells=(20, 20)):
    b = dim / 2 * 5.12
    return GridArchive(dim, cells, [(-b, b)] * 2, learning_rate=lr,
                       threshold_min=tmin)


def filled(dim=4, n=30, seed=0):
    a = GridArchive(dim, (10, 10), [(-1, 1), (-1, 1)])
    rng = np.random.default_rng(seed)
    a.add(rng.normal(size=(n, dim)), rng.normal(size=n), rng.uniform(-1, 1, (n, 2)))
    return a


# ------------------------------------------------------------------ emitters
def test_gaussian_emitter_is_elite_plus_noise():
    a = filled()
    e = GaussianEmitter(a, np.zeros(4), sigma=0.3, batch_size=16, seed=7)
    x = e.ask()
    assert x.shape == (16, 4) and x.dtype == np.float32
    assert e.ask() is x  # same population until tell
    parents = a.sample_elites(32, seed=7, generation=0)[:16]
    z = standard_normal(16, 5, seed=7, generation=0, stream=STREAMS["qd_noise"])
    want = (a._solutions[parents].astype(np.float64) + 0.3 * z[:, :4].astype(
        np.float64)).astype(np.float32)
    np.testing.assert_array_equal(x, want)


def test_iso_line_emitter_against_numpy_and_bounds():
    a = filled(seed=1)
    e = IsoLineEmitter(a, np.zeros(4), iso_sigma=0.05, line_sigma=0.4,
                       batch_size=8, seed=3, bounds=(-0.5, 0.5))
    x = e.ask()
    idx = a.sample_elites(16, seed=3, generation=0)
    p, q = a._solutions[idx[:8]].astype(np.float64), a._solutions[idx[8:]].astype(
        np.float64)
    z = standard_normal(8, 5, seed=3, generation=0,
                        stream=STREAMS["qd_noise"]).astype(np.float64)
    want = np.clip(p + 0.05 * z[:, :4] + 0.4 * z[:, 4:] * (q - p), -0.5, 0.5)
    np.testing.assert_allclose(x, want.astype(np.float32), rtol=0, atol=1e-6)
    assert x.min() >= -0.5 and x.max() <= 0.5
    # an empty archive: x0 plus isotropic noise
    b = GridArchive(4, (3,), [(0, 1)])
    e2 = IsoLineEmitter(b, np.ones(4), iso_sigma=0.1, batch_size=5, seed=2)
    z = standard_normal(5, 5, seed=2, generation=0, stream=STREAMS["qd_noise"])
    np.testing.assert_allclose(e2.ask(), 1.0 + 0.1 * z[:, :4], atol=1e-6)


def _reference_ranks(status, value, ranker):
    """Rank position (n-1 best) by a plain Python sort."""
    n = len(value)
    if ranker == "imp":
        key = [(-value[i], i) for i in range(n)]
    else:
        key = [(-status[i], -value[i], i) for i in range(n)]
    order = [k[-1] for k in sorted(key)]
    ranks = np.empty(n)
    for pos, i in enumerate(order):
        ranks[i] = n - 1 - pos
    return ranks


@pytest.mark.parametrize("ranker", ["imp", "2imp"])
def test_es_emitter_tells_sepcma_the_improvement_ranking(ranker):
    """The emitter's strategy follows a SepCMAES told the reference ranks."""
    lr, tmin = (0.1, 0.0) if ranker == "imp" else (1.0, -math.inf)
    a = grid(lr=lr, tmin=tmin)
    e = EvolutionStrategyEmitter(a, np.zeros(6), sigma0=0.8, ranker=ranker,
                                 restart_rule="basic", batch_size=12, seed=5)
    ref = None
    for _ in range(6):
        x = e.ask().copy()
        if ref is None:
            ref = pn.SepCMAES(6, 12, sigma=0.8, mu=6, seed=e._es.seed)
        np.testing.assert_array_equal(ref.ask(), x)
        obj, m = sphere(x)
        info = a.add(x, obj, m)
        e.tell(x, obj, m, info.status, info.value)
        ref.tell(_reference_ranks(info.status, info.value, ranker))
        np.testing.assert_array_equal(e.mean, ref.mean)
    assert e.restarts == 0


def test_es_emitter_restarts_from_an_elite_when_stalled():
    a = grid()
    e = EvolutionStrategyEmitter(a, np.zeros(6), sigma0=0.5, batch_size=8,
                                 restart_rule=3, seed=1)
    x = e.ask()
    obj, m = sphere(x)
    info = a.add(x, obj, m)
    e.tell(x, obj, m, info.status, info.value)
    for k in range(3):  # nothing ever enters again: restart after 3 batches
        x = e.ask()
        st = np.zeros(8, np.int32)
        e.tell(x, obj, m, st, np.full(8, -1.0) - np.arange(8))
        assert e.restarts == (1 if k == 2 else 0)
    elites = a.data()["solution"]
    assert any(np.array_equal(e.mean, s) for s in elites)
    assert e.step_size == 0.5
    # "no_improvement": at once
    e2 = EvolutionStrategyEmitter(a, np.zeros(6), batch_size=8, seed=2)
    x = e2.ask()
    e2.tell(x, obj, m, np.zeros(8, np.int32), -1.0 - np.arange(8.0))
    assert e2.restarts == 1
    # "basic": a flat batch means convergence
    e3 = EvolutionStrategyEmitter(a, np.zeros(6), batch_size=8, seed=3,
                                  restart_rule="basic")
    x = e3.ask()
    e3.tell(x, obj, m, np.ones(8, np.int32), np.full(8, 2.0))
    assert e3.restarts == 1


def test_es_emitter_bounds_clip_the_samples_only():
    a = grid()
    e = EvolutionStrategyEmitter(a, np.zeros(6), sigma0=2.0, batch_size=10,
                                 bounds=(-0.5, 0.5), seed=4)
    free = EvolutionStrategyEmitter(a, np.zeros(6), sigma0=2.0, batch_size=10,
                                    seed=4)
    x, y = e.ask(), free.ask()
    np.testing.assert_array_equal(x, np.clip(y, -0.5, 0.5))
    assert x.max() == 0.5 and x.min() == -0.5


def test_emitter_bad_input():
    a = grid()
    with pytest.raises(ValueError, match="'x0'.*6 values"):
        GaussianEmitter(a, np.zeros(5))
    with pytest.raises(TypeError, match="'archive'"):
        GaussianEmitter(object(), np.zeros(6))
    with pytest.raises(ValueError, match="'ranker'"):
        EvolutionStrategyEmitter(a, np.zeros(6), ranker="obj")
    with pytest.raises(ValueError, match="'restart_rule'"):
        EvolutionStrategyEmitter(a, np.zeros(6), restart_rule="never")
    with pytest.raises(ValueError, match="'bounds'"):
        IsoLineEmitter(a, np.zeros(6), bounds=[(0, 1)] * 5)
    with pytest.raises(ValueError, match="'sigma'"):
        GaussianEmitter(a, np.zeros(6), sigma=-1.0)


# ----------------------------------------------------------------- scheduler
def make_scheduler(kind="mae", n_threads=None, seed=0):
    if kind == "mae":
        a = grid(lr=0.05, tmin=0.0)
        r = grid()
        em = [EvolutionStrategyEmitter(a, np.zeros(6), sigma0=0.5, ranker="imp",
                                       restart_rule="basic", batch_size=10,
                                       seed=seed + i, n_threads=n_threads)
              for i in range(3)]
        return Scheduler(a, em, r)
    a = CVTArchive(6, 40, [(-15.36, 15.36)] * 2, samples=2000, seed=1)
    em = [GaussianEmitter(a, np.zeros(6), sigma=0.5, batch_size=8, seed=seed),
          IsoLineEmitter(a, np.zeros(6), batch_size=8, seed=seed + 1),
          EvolutionStrategyEmitter(a, np.zeros(6), batch_size=8, seed=seed + 2,
                                   n_threads=n_threads)]
    return Scheduler(a, em)


def snapshot(s):
    r = s.result_archive
    h = {k: v for k, v in s.history.items() if k != "time"}
    return (r.occupied, r.objectives, r.data()["solution"], s.archive.thresholds,
            h, s.ask().copy())


def assert_snapshots_equal(x, y):
    for a, b in zip(x[:4], y[:4], strict=True):
        np.testing.assert_array_equal(a, b)
    assert x[4].keys() == y[4].keys()
    for k in x[4]:
        np.testing.assert_array_equal(x[4][k], y[4][k])
    np.testing.assert_array_equal(x[5], y[5])


def test_scheduler_ask_tell_protocol_and_bad_input():
    s = make_scheduler()
    with pytest.raises(RuntimeError, match="without a pending ask"):
        s.tell(np.zeros(30), np.zeros((30, 2)))
    pop = s.ask()
    assert pop.shape == (30, 6) and pop.dtype == np.float32 and s.ask() is pop
    obj, m = sphere(pop)
    with pytest.raises(ValueError, match="'objective'.*\\(30,\\)"):
        s.tell(obj[:5], m)
    with pytest.raises(ValueError, match="'measures'.*\\(30, 2\\)"):
        s.tell(obj, m[:, :1])
    with pytest.raises(TypeError, match="'objective'"):
        s.tell(np.array(["x"] * 30), m)
    assert s.generation == 0 and len(s.archive) == 0
    obj[:4] = np.nan
    s.tell(obj, m)
    assert s.history["n_nonfinite"].tolist() == [4]
    inserted = s.result_archive.data()["solution"]
    for row in pop[:4]:
        assert not any(np.array_equal(row, e) for e in inserted)
    a = grid()
    with pytest.raises(ValueError, match="built on its 'archive'"):
        Scheduler(a, [GaussianEmitter(grid(), np.zeros(6))])
    with pytest.raises(ValueError, match="same cells"):
        Scheduler(a, [GaussianEmitter(a, np.zeros(6))], grid(cells=(5, 5)))
    with pytest.raises(TypeError, match="return \\(objective, measures\\)"):
        Scheduler(a, [GaussianEmitter(a, np.zeros(6))]).run(lambda x: x[:, 0])


def test_cma_mae_fills_a_small_sphere_archive():
    """CMA-MAE on the 6-D sphere: most reachable cells, high objectives;
    the result archive keeps the best per cell (>= the MAE archive's)."""
    s = make_scheduler()
    r = s.run(sphere, generations=150)
    assert r.stop_reason == "generations" and r.generations_run == 150
    assert r.evaluations == 150 * 30
    assert r.stats.coverage > 0.5 and r.stats.obj_max > 99.0
    a, res = s.archive, s.result_archive
    both = a.occupied & res.occupied
    assert (res.objectives[both] >= a.objectives[both]).all()
    assert (res.occupied >= a.occupied).all()
    h = r.history
    assert (np.diff(h["qd_score"]) >= 0).all()  # the result archive never loses
    assert h["iteration"].tolist() == list(range(150))


@pytest.mark.parametrize("kind", ["mae", "mixed"])
def test_same_seed_same_archive_whatever_the_threads(kind):
    runs = []
    for nt in (1, 2):
        s = make_scheduler(kind, n_threads=nt)
        s.run(sphere, generations=25)
        runs.append(snapshot(s))
    assert_snapshots_equal(*runs)
    other = make_scheduler(kind, seed=10)
    other.run(sphere, generations=25)
    assert not np.array_equal(other.result_archive.objectives, runs[0][1])


@pytest.mark.parametrize("kind", ["mae", "mixed"])
def test_checkpoint_resumes_bit_for_bit(tmp_path, kind):
    path = tmp_path / "qd.ckpt"
    whole = make_scheduler(kind)
    whole.run(sphere, generations=30)
    part = make_scheduler(kind)
    part.run(sphere, generations=12, checkpoint_every=5, checkpoint_path=path)
    resumed = pn.load(path)
    assert isinstance(resumed, Scheduler) and resumed.generation == 12
    # also through a save between ask and tell
    resumed.ask()
    resumed.save(path)
    resumed = pn.load(path)
    resumed.run(sphere, generations=18)
    assert_snapshots_equal(snapshot(whole), snapshot(resumed))


def test_run_stop_criteria():
    s = make_scheduler()
    r = s.run(sphere, target=5.0)
    assert r.stop_reason == "target" and r.stats.norm_qd_score >= 5.0
    r = s.run(sphere, generations=10, callbacks=[lambda sch: True])
    assert r.stop_reason == "callback"
    r = s.run(sphere, time_limit=0.05)
    assert r.stop_reason == "time_limit"
    # constant objective and measures: after the first batch the QD score
    # cannot rise
    flat = make_scheduler()
    r = flat.run(lambda x: (np.ones(x.shape[0]), np.zeros((x.shape[0], 2))),
                 patience=4)
    assert r.stop_reason == "patience" and r.generations_run <= 6
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tqdm's notebook check
        r = s.run(sphere, generations=2, progress=True)
    assert r.generations_run == 2
    with pytest.raises(ValueError, match="checkpoint_path"):
        s.run(sphere, generations=2, checkpoint_every=1)
    with pytest.raises(ValueError, match="'generations'"):
        s.run(sphere, generations=0)
