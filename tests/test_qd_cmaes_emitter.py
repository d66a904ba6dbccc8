"""The ES emitter on the full-covariance CMAES (es="cmaes", pyribs'
EvolutionStrategyEmitter with CMAEvolutionStrategy; issue 12)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import pyneat_lite as pn
from pyneat_lite.algorithms.base import Algorithm
from pyneat_lite.qd import EvolutionStrategyEmitter, GridArchive, Scheduler


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
    n = len(value)
    if ranker == "imp":
        key = [(-value[i], i) for i in range(n)]
    else:
        key = [(-status[i], -value[i], i) for i in range(n)]
    ranks = np.empty(n)
    for pos, (*_, i) in enumerate(sorted(key)):
        ranks[i] = n - 1 - pos
    return ranks


_ARRAYS = ("_mean", "_C", "_BT", "_d", "_pc", "_ps")


def assert_same_state(es, ref):
    for name in _ARRAYS:
        np.testing.assert_array_equal(getattr(es, name), getattr(ref, name))
    assert es._step == ref._step
    assert es.generation == ref.generation and es.evaluations == ref.evaluations


@pytest.mark.parametrize("ranker", ["imp", "2imp"])
def test_cmaes_emitter_is_cmaes_told_the_ranks(ranker):
    """Mean, covariance, eigenbasis, paths and step size equal to a
    standalone CMAES (mu = batch // 2, no active weights) told the
    reference ranks of the same batches."""
    dim, b = 5, 12
    lr, tmin = (0.1, 0.0) if ranker == "imp" else (1.0, -math.inf)
    a = grid(dim, lr, tmin)
    e = EvolutionStrategyEmitter(a, np.full(dim, 0.2), sigma0=0.7, es="cmaes",
                                 ranker=ranker, restart_rule="basic",
                                 batch_size=b, seed=4)
    assert isinstance(e._es, pn.CMAES)
    ref = pn.CMAES(dim, b, sigma=0.7, mu=b // 2, active=False,
                   x0=np.full(dim, 0.2), seed=e._es.seed)
    decompositions = 0
    for _ in range(30):
        x = e.ask().copy()
        np.testing.assert_array_equal(ref.ask(), x)
        obj, m = sphere(x)
        info = a.add(x, obj, m)
        before = ref._eigen_evals
        e.tell(x, obj, m, info.status, info.value)
        ref.tell(reference_ranks(info.status, info.value, ranker))
        decompositions += ref._eigen_evals != before
        assert_same_state(e._es, ref)
    assert decompositions > 0 and e.restarts == 0
    # off-diagonal covariance: not a diagonal strategy in disguise
    assert np.abs(e._es.covariance - np.diag(np.diag(e._es.covariance))).max() > 0


def test_cmaes_filter_rule_is_cmaes_with_the_added_parents():
    """selection_rule="filter" on CMAES: the update of a CMAES with mu = k
    (its weights and rates for k parents, the emitter's decomposition
    schedule), told the ranks, from the emitter's state."""
    dim, b = 4, 10
    a = grid(dim, cells=(5, 5))
    e = EvolutionStrategyEmitter(a, np.zeros(dim), sigma0=1.0, es="cmaes",
                                 selection_rule="filter", restart_rule=100,
                                 batch_size=b, seed=2)
    names = (*Algorithm._BASE_STATE_SCALARS, *pn.CMAES._STATE_SCALARS)
    seen = set()
    for _ in range(20):
        x = e.ask().copy()
        obj, m = sphere(x)
        es = e._es
        arrays = {n: getattr(es, n).copy() for n in (*_ARRAYS, "_z", "_y")}
        scalars = {n: getattr(es, n) for n in names}
        info = a.add(x, obj, m)
        k = int(np.count_nonzero(info.status > 0))
        e.tell(x, obj, m, info.status, info.value)
        if k == 0:
            seen.add(0)
            for n in _ARRAYS:
                np.testing.assert_array_equal(getattr(e._es, n), arrays[n])
            continue
        seen.add(k == b // 2)
        ref = pn.CMAES(dim, b, sigma=1.0, mu=k, active=False, seed=0)
        for n, v in arrays.items():
            setattr(ref, n, v.copy())
        for n, v in scalars.items():
            setattr(ref, n, v)
        ref._eigen_gap = es._eigen_gap
        ref.tell(reference_ranks(info.status, info.value, "2imp"))
        assert_same_state(e._es, ref)
    assert False in seen  # some batches with k != batch // 2 parents


def test_cmaes_emitter_schedules_resumes_and_rejects_bad_input(tmp_path):
    a = grid(4, cells=(6, 6))
    em = [EvolutionStrategyEmitter(a, np.zeros(4), es="cmaes", batch_size=8,
                                   seed=i, restart_rule=3) for i in range(2)]
    s = Scheduler(a, em)
    assert s._group is None  # full covariance: stepped one emitter at a time
    s.run(sphere, generations=10, checkpoint_every=10,
          checkpoint_path=tmp_path / "c.ckpt")
    resumed = pn.load(tmp_path / "c.ckpt")
    assert isinstance(resumed.emitters[0]._es, pn.CMAES)
    s.run(sphere, generations=15)
    resumed.run(sphere, generations=15)
    np.testing.assert_array_equal(s.archive.objectives, resumed.archive.objectives)
    assert sum(e.restarts for e in s.emitters) > 0
    with pytest.raises(ValueError, match="'es'.*'sep_cma', 'cmaes'"):
        EvolutionStrategyEmitter(a, np.zeros(4), es="cma")
