"""The contract every registered quality-diversity search keeps
(``pyneat_lite.qd.QD_ALGORITHMS``), as ``test_algorithm_contract.py`` checks
``pn.ALGORITHMS``: the shape of ``ask``, the ask/tell protocol and its
errors, the NaN policy, seeds, threads and checkpoints.  A search added to the
registry gets every check for free; the ES searches run on both strategies.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

import pyneat_lite as pn
from pyneat_lite.qd import QD_ALGORITHMS, QDResult, Scheduler

N = 6
RANGES = [(-3.0, 3.0), (-3.0, 3.0)]
CASES = [(name, {}) for name in sorted(QD_ALGORITHMS)] + [
    (name, {"es": "cmaes"}) for name in ("cma_me", "cma_mae")] + [
    ("cma_me", {"selection_rule": "filter", "cells": 30})]
IDS = [name + "".join(f"-{v}" for v in kw.values()) for name, kw in CASES]


def make(name, kw, **extra):
    args = {"cells": (8, 8), "n_emitters": 3, "batch_size": 8, "sigma": 0.3,
            "seed": 1, **kw, **extra}
    return QD_ALGORITHMS[name](N, RANGES, **args)


def task(pop):
    """Maximised objective (no ties) and two measures."""
    x = pop.astype(np.float64)
    return -np.sum((x - 0.3) ** 2, axis=1), np.stack([x[:, :3].sum(1),
                                                      x[:, 3:].sum(1)], axis=1)


def digest(s, generations):
    """SHA-256 of every population asked and the final archive."""
    h = hashlib.sha256()
    for _ in range(generations):
        pop = s.ask()
        h.update(pop.tobytes())
        s.tell(*task(pop))
    r = s.result_archive
    for arr in (r.occupied, r.objectives, s.archive.thresholds, s.ask()):
        h.update(np.ascontiguousarray(arr).tobytes())
    return h.hexdigest()


@pytest.mark.parametrize("name,kw", CASES, ids=IDS)
def test_ask_shape_dtype_layout_and_repeat(name, kw):
    s = make(name, kw)
    assert isinstance(s, Scheduler) and s.pop_size == 24
    for _ in range(3):
        pop = s.ask()
        assert pop.shape == (24, N) and pop.dtype == np.float32
        assert pop.flags.c_contiguous and np.isfinite(pop).all()
        assert s.ask() is pop  # asking again before tell: the same genomes
        s.tell(*task(pop))
    assert s.generation == 3 and s.evaluations == 72 and len(s.result_archive) > 0


@pytest.mark.parametrize("name,kw", CASES, ids=IDS)
def test_protocol_errors_leave_the_state_unchanged(name, kw):
    s = make(name, kw)
    with pytest.raises(RuntimeError, match="without a pending ask"):
        s.tell(np.zeros(24), np.zeros((24, 2)))
    obj, m = task(s.ask())
    with pytest.raises(ValueError, match="'objective'.*\\(24,\\)"):
        s.tell(obj[:3], m)
    with pytest.raises(ValueError, match="'measures'.*\\(24, 2\\)"):
        s.tell(obj, m[:, :1])
    with pytest.raises(TypeError, match="'objective'"):
        s.tell(np.array(["a"] * 24), m)
    assert s.generation == 0 and len(s.archive) == 0
    s.tell(obj, m)  # the pending ask survived the errors
    assert s.generation == 1


@pytest.mark.parametrize("name,kw", CASES, ids=IDS)
def test_non_finite_objectives_are_never_inserted(name, kw):
    s = make(name, kw)
    pop = s.ask().copy()
    obj, m = task(pop)
    obj[:5] = np.nan
    obj[5] = np.inf
    m[6] = np.nan
    s.tell(obj, m)
    assert s.history["n_nonfinite"].tolist() == [6]
    kept = s.result_archive.data()["solution"]
    for row in pop[:7]:
        assert not any(np.array_equal(row, e) for e in kept)


@pytest.mark.parametrize("name,kw", CASES, ids=IDS)
def test_same_seed_same_search_whatever_the_threads(name, kw):
    a = digest(make(name, kw, n_threads=1), 12)
    assert digest(make(name, kw, n_threads=2), 12) == a
    assert digest(make(name, kw), 12) == a
    assert digest(make(name, kw, seed=2), 12) != a


@pytest.mark.parametrize("name,kw", CASES, ids=IDS)
def test_checkpoint_resumes_bit_for_bit(name, kw, tmp_path):
    whole = digest(make(name, kw), 14)
    s = make(name, kw)
    r = s.run(task, generations=5, checkpoint_every=5,
              checkpoint_path=tmp_path / "s.ckpt")
    assert isinstance(r, QDResult) and r.generations_run == 5
    resumed = pn.load(tmp_path / "s.ckpt")
    resumed.tell(*task(resumed.ask()))
    resumed.ask()  # a save between ask and tell resumes the pending ask
    resumed.save(tmp_path / "s.ckpt")
    resumed = pn.load(tmp_path / "s.ckpt")
    h = hashlib.sha256()
    replay = make(name, kw)  # the populations of the first 6 iterations
    for _ in range(6):
        pop = replay.ask()
        h.update(pop.tobytes())
        replay.tell(*task(pop))
    for _ in range(8):
        pop = resumed.ask()
        h.update(pop.tobytes())
        resumed.tell(*task(pop))
    res = resumed.result_archive
    for arr in (res.occupied, res.objectives, resumed.archive.thresholds,
                resumed.ask()):
        h.update(np.ascontiguousarray(arr).tobytes())
    assert h.hexdigest() == whole


@pytest.mark.parametrize("name", sorted(QD_ALGORITHMS))
def test_bad_construction(name):
    f = QD_ALGORITHMS[name]
    with pytest.raises(ValueError, match="'n_emitters'"):
        f(N, RANGES, n_emitters=0)
    with pytest.raises(ValueError, match="'solution_dim'"):
        f(0, RANGES)
    with pytest.raises(ValueError, match="'ranges'"):
        f(N, [(1.0, -1.0), (0.0, 1.0)])
    with pytest.raises(TypeError, match="'cells'"):
        f(N, RANGES, cells="many")
    with pytest.raises(ValueError, match="'x0'"):
        f(N, RANGES, x0=np.zeros(N + 1))
    with pytest.raises(ValueError, match="'seed'"):
        f(N, RANGES, seed=-1)
