"""Novelty search of pyneat_lite.qd against brute-force references (issue 12)."""

from __future__ import annotations

import numpy as np
import pytest

import pyneat_lite as pn
from pyneat_lite.qd import NoveltyArchive, non_dominated_rank


def ref_novelty(q, archive, k, include_batch, threshold=0.0):
    pts = np.concatenate([q, archive]) if include_batch else archive
    out = []
    for i, x in enumerate(q):
        d = np.sqrt(((pts - x) ** 2).sum(axis=1))
        if include_batch:
            d = np.delete(d, i)
        if d.size == 0:
            out.append(threshold)
            continue
        out.append(np.sort(d)[: min(k, d.size)].mean())
    return np.array(out)


def ref_lc(q, qobj, archive, aobj, k, include_batch):
    pts = np.concatenate([q, archive]) if include_batch else archive
    pobj = np.concatenate([qobj, aobj]) if include_batch else aobj
    out = []
    for i, x in enumerate(q):
        d = ((pts - x) ** 2).sum(axis=1)
        if include_batch:
            d[i] = np.inf
        nn = np.argsort(d, kind="stable")[: min(k, len(pts) - include_batch)]
        out.append(int((pobj[nn] < qobj[i]).sum()))
    return np.array(out)


@pytest.mark.parametrize("include_batch", [True, False])
@pytest.mark.parametrize("k", [1, 4, 50])
def test_novelty_and_local_competition_match_brute_force(include_batch, k):
    rng = np.random.default_rng(k)
    a = NoveltyArchive(3, k_neighbors=k, include_batch=include_batch)
    first = rng.normal(size=(20, 3))
    fobj = rng.normal(size=20)
    a.add(first, fobj)
    assert len(a) == 20
    q = rng.normal(size=(15, 3))
    qobj = rng.normal(size=15)
    np.testing.assert_allclose(a.novelty(q), ref_novelty(q, first, k, include_batch),
                               rtol=1e-12)
    info = a.add(q, qobj)
    np.testing.assert_array_equal(info.local_competition,
                                  ref_lc(q, qobj, first, fobj, k, include_batch))
    np.testing.assert_array_equal(a.measures, np.concatenate([first, q]))
    np.testing.assert_array_equal(a.objectives, np.concatenate([fobj, qobj]))


def test_threshold_empty_archive_and_nonfinite():
    a = NoveltyArchive(2, k_neighbors=2, novelty_threshold=0.5, include_batch=False)
    info = a.add([[0.0, 0.0], [0.1, 0.0]])  # empty: novelty = threshold, added
    assert info.novelty.tolist() == [0.5, 0.5] and info.added.all()
    info = a.add([[0.0, 0.2], [3.0, 0.0], [np.nan, 0.0]])
    want = ref_novelty(np.array([[0.0, 0.2], [3.0, 0.0]]),
                       np.array([[0.0, 0.0], [0.1, 0.0]]), 2, False)
    np.testing.assert_allclose(info.novelty[:2], want, rtol=1e-12)
    assert np.isneginf(info.novelty[2])
    assert info.added.tolist() == [False, True, False] and len(a) == 3


def test_same_scores_whatever_the_threads():
    rng = np.random.default_rng(3)
    base = rng.normal(size=(3000, 2))
    q = rng.normal(size=(400, 2))
    out = []
    for nt in (1, 2):
        a = NoveltyArchive(2, k_neighbors=10, n_threads=nt)
        a.add(base)
        out.append(a.novelty(q))
    np.testing.assert_array_equal(out[0], out[1])


def naive_fronts(f):
    n = len(f)
    dom = [[bool((f[i] >= f[j]).all() and (f[i] > f[j]).any()) for j in range(n)]
           for i in range(n)]
    left, fronts = set(range(n)), []
    while left:
        front = sorted(j for j in left if not any(dom[i][j] for i in left))
        fronts.append(front)
        left -= set(front)
    return fronts


def test_non_dominated_rank_orders_fronts():
    rng = np.random.default_rng(0)
    f = np.round(rng.uniform(0, 3, size=(40, 2)))  # many ties and duplicates
    score = non_dominated_rank(f)
    assert sorted(score.tolist()) == list(range(40))
    fronts = naive_fronts(f)
    for better, worse in zip(fronts, fronts[1:], strict=False):
        assert score[better].min() > score[worse].max()
    # a hand-built case: (3, 0) and (0, 3) and (2, 2) form the first front,
    # (1, 1) is dominated by (2, 2); the front's ends have infinite crowding
    s = non_dominated_rank([[1, 1], [3, 0], [2, 2], [0, 3]])
    assert s[0] == 0 and set(s[1:].tolist()) == {1.0, 2.0, 3.0}
    assert s[2] == 1.0  # the middle of the front (finite crowding) ranks last


def test_nslc_rank_and_fitness_wrapper_with_an_es():
    """Novelty as the ranking of an ES: the archive spreads out in measure
    space far more than the same ES on the objective alone."""
    def task(pop):
        x = pop.astype(np.float64)
        return -np.sum(x ** 2, axis=1), x[:, :2]

    spread = {}
    for name in ("objective", "novelty", "nslc"):
        es = pn.OpenES(n_params=4, pop_size=20, sigma=0.1, lr=0.05, seed=1)
        nov = NoveltyArchive(2, k_neighbors=5)
        if name == "objective":
            for _ in range(40):
                pop = es.ask()
                obj, m = task(pop)
                nov.add(m, obj)
                es.tell(obj)
        else:
            fit = nov.fitness(task, mode=name)
            es.run(fit, generations=40)
            assert fit.last is not None and len(fit.last) == 2
        spread[name] = float(np.ptp(nov.measures, axis=0).max())
    assert spread["novelty"] > 3 * spread["objective"]
    assert spread["nslc"] > 2 * spread["objective"]


def test_checkpoint_and_bad_input(tmp_path):
    a = NoveltyArchive(2, k_neighbors=3, solution_dim=4)
    rng = np.random.default_rng(0)
    a.add(rng.normal(size=(70, 2)), rng.normal(size=70), rng.normal(size=(70, 4)))
    a.save(tmp_path / "n.ckpt")
    b = pn.load(tmp_path / "n.ckpt")
    np.testing.assert_array_equal(a.measures, b.measures)
    np.testing.assert_array_equal(a.solutions, b.solutions)
    q = rng.normal(size=(5, 2))
    np.testing.assert_array_equal(a.novelty(q), b.novelty(q))
    with pytest.raises(ValueError, match="'measures'.*\\(batch, 2\\)"):
        a.novelty(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="'solutions' argument .* required"):
        a.add(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="'objective'.*\\(3,\\)"):
        a.rank(np.zeros((3, 2)), np.zeros(2), mode="nslc")
    with pytest.raises(ValueError, match="needs the 'objective'"):
        a.rank(np.zeros((3, 2)), mode="nslc")
    with pytest.raises(ValueError, match="'mode'"):
        a.rank(np.zeros((3, 2)), mode="fitness")
    with pytest.raises(ValueError, match="'k_neighbors'"):
        NoveltyArchive(2, k_neighbors=0)
