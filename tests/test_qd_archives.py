"""Archives of pyneat_lite.qd against a naive Python reference (issue 12)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import pyneat_lite as pn
from pyneat_lite.qd import CVTArchive, GridArchive, k_means_centroids


# --------------------------------------------------------------- reference
class NaiveArchive:
    """The batch rule written the slow, obvious way: a dict per cell and a
    Python loop (pyribs' documented semantics of ``add``)."""

    def __init__(self, cell_of, learning_rate=1.0, threshold_min=-math.inf):
        self.cell_of = cell_of
        self.lr = learning_rate
        self.tmin = threshold_min
        self.elite = {}  # cell -> (objective, threshold, solution, measures)

    def add(self, sols, objs, meas):
        status, value, cand = [], [], {}
        for i, (f, m) in enumerate(zip(objs, meas, strict=True)):
            c = self.cell_of(m)
            if c is None or not math.isfinite(f):
                status.append(0)
                value.append(-math.inf)
                continue
            thr = self.elite[c][1] if c in self.elite else self.tmin
            if f > thr:
                status.append(1 if c in self.elite else 2)
                base = thr if c in self.elite else (
                    0.0 if self.tmin == -math.inf else self.tmin)
                value.append(f - base)
                cand.setdefault(c, []).append(i)
            else:
                status.append(0)
                value.append(f - thr)
        for c, rows in cand.items():
            best = rows[0]
            for i in rows[1:]:
                if objs[i] > objs[best]:
                    best = i
            if self.tmin == -math.inf:
                new_thr = objs[best]
            else:
                old = self.elite[c][1] if c in self.elite else self.tmin
                k = len(rows)
                ratio = (1.0 - self.lr) ** k
                new_thr = ratio * old + (sum(objs[i] for i in rows) / k) * (1 - ratio)
            self.elite[c] = (objs[best], new_thr, sols[best].copy(), meas[best].copy())
        return np.array(status), np.array(value)


def grid_cell(dims, ranges, clip=True):
    def cell_of(m):
        flat = 0
        for x, n, (lo, hi) in zip(m, dims, ranges, strict=True):
            if not math.isfinite(x):
                return None
            if not clip and (x < lo or x > hi):
                return None
            c = min(max(math.floor((x - lo) * (n / (hi - lo))), 0), n - 1)
            flat = flat * n + c
        return flat
    return cell_of


def assert_same(archive, ref):
    occ = np.flatnonzero(archive.occupied)
    assert sorted(ref.elite) == occ.tolist()
    d = archive.data()
    for j, c in enumerate(d["index"]):
        f, t, s, m = ref.elite[int(c)]
        assert d["objective"][j] == f
        assert d["threshold"][j] == pytest.approx(t, rel=1e-13, abs=1e-13)
        np.testing.assert_array_equal(d["solution"][j], s.astype(np.float32))
        np.testing.assert_array_equal(d["measures"][j], m)


def colliding_batch(rng, n, dims, nan_rate=0.1):
    """Measures on few cells so that most rows collide; some NaN objectives,
    some ties, some out-of-range measures."""
    centres = rng.uniform(-1, 1, size=(4, len(dims)))
    m = centres[rng.integers(0, 4, n)] + rng.normal(0, 0.05, (n, len(dims)))
    m[rng.random(n) < 0.05] *= 3.0  # out of range
    f = np.round(rng.normal(0, 1, n), 1)  # rounding makes ties
    f[rng.random(n) < nan_rate] = np.nan
    f[rng.random(n) < 0.02] = np.inf
    s = rng.normal(size=(n, 3)).astype(np.float32)
    return s, f, m


# --------------------------------------------------------------- insertion
@pytest.mark.parametrize("lr,tmin", [(1.0, -math.inf), (0.1, -1.0), (0.5, 0.0),
                                     (0.0, -0.5), (1.0, -2.0)])
@pytest.mark.parametrize("out_of_range", ["clip", "ignore"])
def test_grid_batch_insertion_matches_reference(lr, tmin, out_of_range):
    rng = np.random.default_rng(0)
    dims, ranges = (5, 4), [(-1.0, 1.0), (-1.0, 1.0)]
    a = GridArchive(3, dims, ranges, learning_rate=lr, threshold_min=tmin,
                    out_of_range=out_of_range)
    ref = NaiveArchive(grid_cell(dims, ranges, out_of_range == "clip"), lr, tmin)
    for _ in range(25):
        s, f, m = colliding_batch(rng, 40, dims)
        info = a.add(s, f, m)
        st, val = ref.add(s, f, m)
        np.testing.assert_array_equal(info.status, st)
        np.testing.assert_allclose(info.value, val, rtol=1e-13, atol=1e-13)
        assert_same(a, ref)
        assert len(a) == len(ref.elite)


def test_cvt_batch_insertion_matches_reference():
    rng = np.random.default_rng(1)
    cent = rng.uniform(-1, 1, size=(30, 2))
    a = CVTArchive(3, cent, [(-1, 1), (-1, 1)], learning_rate=0.2,
                   threshold_min=-1.0)

    def cell_of(m):
        if not np.isfinite(m).all():
            return None
        return int(np.argmin(((cent - m) ** 2).sum(axis=1)))

    ref = NaiveArchive(cell_of, 0.2, -1.0)
    for _ in range(20):
        s, f, m = colliding_batch(rng, 50, (1, 1))
        info = a.add(s, f, m)
        st, val = ref.add(s, f, m)
        np.testing.assert_array_equal(info.status, st)
        np.testing.assert_allclose(info.value, val, rtol=1e-13, atol=1e-13)
        assert_same(a, ref)


def test_same_cell_batch_resolution_by_hand():
    """Three candidates for one empty cell: all status 2, the best enters
    (the first of two equal best), the threshold is the closed form."""
    a = GridArchive(1, (2,), [(0, 1)], learning_rate=0.5, threshold_min=0.0)
    info = a.add([[1.0], [2.0], [3.0], [4.0]], [1.0, 3.0, 3.0, -1.0],
                 [[0.1], [0.2], [0.3], [0.4]])
    assert info.status.tolist() == [2, 2, 2, 0]
    assert info.value.tolist() == [1.0, 3.0, 3.0, -1.0]
    e = a.elite(0)
    assert e.solution.tolist() == [2.0] and e.objective == 3.0
    # k = 3 candidates beat t = 0: t' = 0.5**3 * 0 + (1 - 0.5**3) * mean(1, 3, 3)
    assert e.threshold == pytest.approx((1 - 0.125) * 7.0 / 3.0, rel=1e-15)
    assert a.elite(1) is None


def test_threshold_update_formula_sequentially():
    """One candidate per batch: t <- (1 - a) t + a f, and a candidate that
    beats the threshold but not the elite replaces it (CMA-MAE)."""
    lr = 0.25
    a = GridArchive(2, (1,), [(0, 1)], learning_rate=lr, threshold_min=0.0)
    t = 0.0
    for step, f in enumerate([10.0, 10.0, 10.0, 6.0, 7.0]):
        info = a.add([[f, 0.0]], [f], [[0.5]])
        assert f > t  # every one of these beats the threshold
        assert info.status[0] == (2 if step == 0 else 1)
        assert info.value[0] == pytest.approx(f - t, rel=1e-15)
        t = (1 - lr) * t + lr * f
        assert a.elite(0).threshold == pytest.approx(t, rel=1e-15)
    assert a.add([[0.0, 0.0]], [t - 1.0], [[0.5]]).status[0] == 0
    # the elite is the last accepted (7 > t), though 10 was better
    assert a.elite(0).objective == 7.0
    # learning rate 0: the threshold never moves
    b = GridArchive(1, (1,), [(0, 1)], learning_rate=0.0, threshold_min=1.0)
    for f in [3.0, 2.0, 5.0]:
        assert b.add([[0.0]], [f], [[0.5]]).status[0] in (1, 2)
        assert b.elite(0).threshold == 1.0


def test_cma_me_acceptance_keeps_the_best():
    a = GridArchive(1, (1,), [(0, 1)])
    for f, want in [(1.0, 2), (0.5, 0), (2.0, 1), (2.0, 0)]:
        info = a.add([[f]], [f], [[0.5]])
        assert info.status[0] == want
    assert a.best.objective == 2.0 and a.elite(0).threshold == 2.0
    assert a.add([[0.0]], [1.5], [[0.5]]).value[0] == -0.5


# -------------------------------------------------------------- statistics
def test_stats_on_a_hand_built_archive():
    a = GridArchive(1, (2, 2), [(0, 2), (0, 2)], qd_score_offset=-10.0)
    assert a.stats.num_elites == 0 and a.stats.coverage == 0.0
    assert a.best is None and math.isnan(a.stats.obj_max)
    a.add([[1], [2], [3]], [1.0, -2.0, 4.0], [[0.5, 0.5], [1.5, 0.5], [1.5, 1.5]])
    s = a.stats
    assert s.num_elites == 3 and s.coverage == 0.75
    assert s.qd_score == (1 + 10) + (-2 + 10) + (4 + 10)
    assert s.norm_qd_score == s.qd_score / 4
    assert s.obj_max == 4.0 and s.obj_mean == 1.0
    assert a.best.index == 3 and a.best.solution.tolist() == [3.0]
    # C-order cells: (0, 0) -> 0, (1, 0) -> 2, (1, 1) -> 3
    assert a.index_of([[0.5, 0.5], [1.5, 0.5], [1.5, 1.5], [2.0, 2.0]]).tolist() == \
        [0, 2, 3, 3]
    obj = a.objectives
    assert obj[0] == 1.0 and math.isnan(obj[1])
    a.clear()
    assert len(a) == 0 and a.stats.qd_score == 0.0


def test_sample_elites_is_reproducible_and_only_occupied():
    a = GridArchive(1, (10,), [(0, 1)])
    with pytest.raises(IndexError, match="empty"):
        a.sample_elites(3, seed=0)
    a.add(np.zeros((3, 1)), [1, 2, 3], [[0.05], [0.55], [0.95]])
    idx = a.sample_elites(200, seed=4, generation=2)
    assert set(idx.tolist()) == {0, 5, 9}
    np.testing.assert_array_equal(idx, a.sample_elites(200, seed=4, generation=2))
    assert not np.array_equal(idx, a.sample_elites(200, seed=4, generation=3))


# --------------------------------------------------------------------- CVT
def test_k_means_centroids_cover_the_ranges():
    c = k_means_centroids(16, [(0, 1), (-2, 2)], samples=4000, seed=3)
    assert c.shape == (16, 2)
    assert (c[:, 0] > 0).all() and (c[:, 0] < 1).all()
    assert (np.abs(c[:, 1]) < 2).all()
    np.testing.assert_array_equal(c, k_means_centroids(16, [(0, 1), (-2, 2)],
                                                       samples=4000, seed=3))
    # Lloyd's fixed point on a uniform square: cells of about equal mass
    x = np.random.default_rng(0).uniform([0, -2], [1, 2], size=(20000, 2))
    lab = np.argmin(((x[:, None, :] - c[None]) ** 2).sum(-1), axis=1)
    counts = np.bincount(lab, minlength=16)
    assert counts.min() > 0.5 * counts.mean()
    a = CVTArchive(2, 16, [(0, 1), (-2, 2)], samples=4000, seed=3)
    np.testing.assert_array_equal(a.centroids, c)


@pytest.mark.parametrize("m,n", [(1, 7), (2, 400), (2, 3), (3, 50), (4, 60)])
def test_cvt_index_is_the_nearest_centroid(m, n):
    """The bucket-grid kernel (up to 3 measures) and cKDTree (beyond) against
    brute force, with queries far outside the ranges and centroids outside
    them too."""
    rng = np.random.default_rng(2 + m)
    cent = rng.uniform(-1.1, 1.1, size=(n, m))
    q = rng.uniform(-1.2, 1.2, size=(500, m))
    q[::5] = rng.normal(0, 4, size=q[::5].shape)
    want = np.argmin(((q[:, None] - cent[None]) ** 2).sum(-1), axis=1)
    a = CVTArchive(1, cent, [(-1, 1)] * m)
    np.testing.assert_array_equal(a.index_of(q), want)
    b = CVTArchive(1, cent, [(-1, 1)] * m, out_of_range="ignore")
    want[(np.abs(q) > 1).any(axis=1)] = -1
    np.testing.assert_array_equal(b.index_of(q), want)
    q[0, 0] = np.nan
    assert a.index_of(q[:1])[0] == -1


# ------------------------------------------------------------ checkpoints
@pytest.mark.parametrize("kind", ["grid", "cvt"])
def test_archive_checkpoint_round_trip(tmp_path, kind):
    rng = np.random.default_rng(5)
    if kind == "grid":
        a = GridArchive(3, (6, 5), [(-1, 1), (-1, 1)], learning_rate=0.3,
                        threshold_min=-1.0, qd_score_offset=-1.0)
    else:
        a = CVTArchive(3, 12, [(-1, 1), (-1, 1)], samples=500, seed=1)
    for _ in range(5):
        a.add(*colliding_batch(rng, 30, (1, 1)))
    a.save(tmp_path / "a.ckpt")
    b = pn.load(tmp_path / "a.ckpt")
    assert type(b) is type(a) and b.stats == a.stats
    for k, v in a.data().items():
        np.testing.assert_array_equal(b.data()[k], v)
    batch = colliding_batch(rng, 30, (1, 1))
    ia, ib = a.add(*batch), b.add(*batch)
    np.testing.assert_array_equal(ia.status, ib.status)
    np.testing.assert_array_equal(a.thresholds, b.thresholds)


# --------------------------------------------------------------- bad input
def test_facade_exposes_qd():
    assert pn.qd.GridArchive is GridArchive and "qd" in dir(pn)


def test_bad_construction():
    with pytest.raises(ValueError, match="'ranges'"):
        GridArchive(2, (3, 3), [(0, 1)])
    with pytest.raises(ValueError, match="low < high"):
        GridArchive(2, (3,), [(1, 0)])
    with pytest.raises(ValueError, match="'dims'"):
        GridArchive(2, (0,), [(0, 1)])
    with pytest.raises(ValueError, match="'learning_rate'"):
        GridArchive(2, (3,), [(0, 1)], learning_rate=1.5)
    with pytest.raises(ValueError, match="threshold_min is -inf"):
        GridArchive(2, (3,), [(0, 1)], learning_rate=0.5)
    with pytest.raises(ValueError, match="'threshold_min'"):
        GridArchive(2, (3,), [(0, 1)], learning_rate=0.5, threshold_min=math.nan)
    with pytest.raises(ValueError, match="'out_of_range'"):
        GridArchive(2, (3,), [(0, 1)], out_of_range="wrap")
    with pytest.raises(ValueError, match="'centroids'"):
        CVTArchive(2, np.zeros((4, 3)), [(0, 1), (0, 1)])


def test_bad_batches_raise_before_any_change():
    a = GridArchive(2, (3, 3), [(0, 1), (0, 1)], out_of_range="raise")
    ok_s, ok_f, ok_m = np.zeros((2, 2)), [1.0, 2.0], [[0.5, 0.5], [0.1, 0.1]]
    with pytest.raises(ValueError, match="'solutions'.*\\(batch, 2\\)"):
        a.add(np.zeros((2, 3)), ok_f, ok_m)
    with pytest.raises(ValueError, match="'objective'.*\\(2,\\)"):
        a.add(ok_s, [1.0], ok_m)
    with pytest.raises(ValueError, match="'measures'.*\\(2, 2\\)"):
        a.add(ok_s, ok_f, [[0.5], [0.5]])
    with pytest.raises(TypeError, match="'objective'"):
        a.add(ok_s, ["a", "b"], ok_m)
    with pytest.raises(ValueError, match="within the archive's ranges.*row 1"):
        a.add(ok_s, ok_f, [[0.5, 0.5], [1.5, 0.1]])
    assert len(a) == 0
    # non-finite objectives and measures count as the worst: never inserted
    info = a.add(np.zeros((3, 2)), [np.nan, -np.inf, 1.0],
                 [[0.5, 0.5], [0.5, 0.5], [np.nan, 0.5]])
    assert info.status.tolist() == [0, 0, 0]
    assert np.isneginf(info.value).all() and len(a) == 0


def test_heatmaps(tmp_path):
    a = GridArchive(1, (4, 3), [(0, 1), (0, 1)])
    a.add([[0.0], [1.0]], [1.0, 2.0], [[0.1, 0.1], [0.9, 0.9]])
    fig = a.heatmap(tmp_path / "g.png", labels=("x", "y"))
    assert fig.axes[0].get_xlabel() == "x" and fig.axes[0].get_ylabel() == "y"
    img = fig.axes[0].images[0].get_array()
    assert img.shape == (3, 4)  # rows: the second measure
    assert img[0, 0] == 1.0 and img[2, 3] == 2.0 and np.ma.is_masked(img[1, 1])
    assert (tmp_path / "g.png").stat().st_size > 0
    c = CVTArchive(1, np.array([[0.2, 0.2], [0.8, 0.8]]), [(0, 1), (0, 1)])
    c.add([[0.0]], [3.0], [[0.1, 0.1]])
    c.heatmap(tmp_path / "c.png")
    with pytest.raises(ValueError, match="2-D"):
        GridArchive(1, (3,), [(0, 1)]).heatmap()
