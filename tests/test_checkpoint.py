"""Checkpoints: bit-identical resume of non-default configurations, the file
format (version 2, and version 1 files of 0.1.0), atomic writes, corruption
detection and the class check of ``load``.  The round trip of every
registered algorithm's defaults is in test_algorithm_contract.py."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

import pyneat_lite as pn
from pyneat_lite.checkpoint import FORMAT_VERSION, CheckpointError

N = 40
V1_DIR = Path(__file__).parent / "data" / "checkpoints-0.1.0"


def fitness(pop):
    x = pop.astype(np.float64)
    return -np.sum((x - 0.3) ** 2, axis=1) + 0.1 * np.cos(7 * x).sum(axis=1)


CONFIGS = {
    "ga_plus_list": lambda: pn.GA(
        n_params=N,
        pop_size=16,
        replacement="plus",
        mu=6,
        seed=5,
        selection=pn.Rank(),
        crossover=pn.SBXCrossover(eta=10.0),
        mutation=[pn.GaussianMutation(rate=0.3, sigma=0.05), pn.Clip(-2.0, 2.0)],
    ),
    "ga_comma_elite": lambda: pn.GA(
        n_params=N,
        pop_size=16,
        replacement="comma",
        mu=8,
        elitism=2,
        seed=5,
        crossover=None,
    ),
    "ga_minimize_reevaluate": lambda: pn.GA(
        n_params=N, pop_size=16, seed=5, minimize=True, reevaluate_elites=True,
        elitism=3,
    ),
    "openes": lambda: pn.OpenES(n_params=N, pop_size=16, seed=5, weight_decay=0.01),
    "openes_sgd": lambda: pn.OpenES(n_params=N, pop_size=16, seed=5, optimizer="sgd"),
    "snes_antithetic": lambda: pn.SNES(n_params=N, pop_size=16, seed=5,
                                       antithetic=True),
    "sepcma_x0": lambda: pn.SepCMAES(n_params=N, pop_size=16, seed=5, mu=4,
                                     x0=np.full(N, 0.5)),
    "cem_minimize": lambda: pn.CEM(n_params=N, pop_size=16, seed=5, minimize=True),
    "pgpe_adam": lambda: pn.PGPE(n_params=N, pop_size=16, seed=5, optimizer="adam"),
}


def _run(algo, n):
    pops = []
    for _ in range(n):
        pop = algo.ask()
        pops.append(pop.copy())
        algo.tell(fitness(pop))
    return pops


def _history_without_time(algo):
    h = algo.history
    del h["time"]
    return h


@pytest.mark.parametrize("key", sorted(CONFIGS))
def test_resume_is_bit_identical(key, tmp_path):
    """20 generations == 10 + save + load + 10: same populations (bit for
    bit), same history, best, hall of fame and search state."""
    ref = CONFIGS[key]()
    ref_pops = _run(ref, 20)

    algo = CONFIGS[key]()
    pops = _run(algo, 10)
    path = tmp_path / "run.ckpt"
    algo.save(path)
    del algo
    algo = pn.load(path)
    assert type(algo) is type(ref)
    pops += _run(algo, 10)

    for a, b in zip(ref_pops, pops, strict=True):
        assert np.array_equal(a, b)
    assert np.array_equal(ref.ask(), algo.ask())
    ha, hb = _history_without_time(ref), _history_without_time(algo)
    for k in ha:
        np.testing.assert_array_equal(ha[k], hb[k])
    assert len(algo.history["time"]) == 20
    assert ref.best_fitness == algo.best_fitness
    assert np.array_equal(ref.best, algo.best)
    assert np.array_equal(ref.hall_of_fame.genomes, algo.hall_of_fame.genomes)
    assert ref.get_params() == algo.get_params()
    if hasattr(ref, "mean"):
        assert np.array_equal(ref.mean, algo.mean)
        assert np.array_equal(ref.sigma, algo.sigma)


def test_save_between_ask_and_tell(tmp_path):
    ref = pn.SNES(n_params=N, pop_size=16, seed=9)
    _run(ref, 3)
    pending = ref.ask().copy()
    path = tmp_path / "pending.ckpt"
    ref.save(path)
    algo = pn.load(path)
    assert np.array_equal(algo.ask(), pending)
    algo.tell(fitness(pending))
    ref.tell(fitness(pending))
    assert np.array_equal(algo.ask(), ref.ask())


def test_load_before_any_generation(tmp_path):
    ga = pn.GA(n_params=N, pop_size=8, seed=3, initial_population=np.ones(N))
    ga.save(tmp_path / "g0.ckpt")
    again = pn.load(tmp_path / "g0.ckpt")
    assert np.array_equal(again.ask(), ga.ask())
    assert again.generation == 0 and again.best is None


def test_format_is_plain_npz_with_json(tmp_path):
    es = pn.OpenES(n_params=N, pop_size=8, seed=1)
    _run(es, 2)
    path = tmp_path / "x.ckpt"
    es.save(path)
    with np.load(path, allow_pickle=False) as data:  # no pickled objects
        meta = json.loads(bytes(data["__meta__"]).decode())
        assert meta["version"] == FORMAT_VERSION == 2
        assert meta["class"] == "pyneat_lite.algorithms.openes:OpenES"
        assert meta["params"] == es.get_params()
        assert meta["params"]["seed"] == 1
        assert meta["scalars"]["_generation"] == 2
        assert data["state/_mean"].dtype == np.float64
        assert data["state/_hof_genomes"].shape == (es.hall_of_fame_size, N)
    # atomic write: no temporary file left behind
    assert os.listdir(tmp_path) == ["x.ckpt"]


def _v1_script():
    """tests/data/make_checkpoints_v1.py, which wrote the version 1 files."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "make_checkpoints_v1", V1_DIR.parent / "make_checkpoints_v1.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_version_1_files_cover_every_algorithm_of_0_1_0():
    from pyneat_lite.checkpoint import _V1_CLASSES

    keys = {p.stem for p in V1_DIR.glob("*.ckpt")}
    assert keys == set(_v1_script().CONFIGS)
    classes = {type(_v1_script().CONFIGS[k]()).__name__ for k in keys}
    assert classes == set(_V1_CLASSES)


@pytest.mark.parametrize("key", sorted(p.stem for p in V1_DIR.glob("*.ckpt")))
def test_version_1_files_of_0_1_0_still_load_and_continue(key):
    """Files written by pyneat_lite 0.1.0 (tests/data/make_checkpoints_v1.py:
    10 generations) continue exactly like an uninterrupted run of this
    version."""
    v1 = _v1_script()
    path = V1_DIR / f"{key}.ckpt"
    with np.load(path, allow_pickle=False) as data:
        assert json.loads(bytes(data["__meta__"]).decode())["version"] == 1
    ref = v1.CONFIGS[key]()
    for _ in range(v1.GENERATIONS):
        ref.tell(v1.fitness(ref.ask()))
    algo = pn.load(path)
    assert type(algo) is type(ref) and algo.params == ref.params
    assert algo.generation == v1.GENERATIONS
    assert np.array_equal(algo.ask(), ref.ask())
    for _ in range(5):
        pop = ref.ask()
        assert np.array_equal(algo.ask(), pop)
        algo.tell(v1.fitness(pop))
        ref.tell(v1.fitness(pop))
    assert np.array_equal(algo.ask(), ref.ask())
    assert np.array_equal(algo.hall_of_fame.genomes, ref.hall_of_fame.genomes)
    np.testing.assert_array_equal(algo.history["max"], ref.history["max"])


def test_operator_configs_round_trip(tmp_path):
    ga = CONFIGS["ga_plus_list"]()
    ga.save(tmp_path / "ga.ckpt")
    back = pn.load(tmp_path / "ga.ckpt")
    assert back.selection == ga.selection
    assert back.crossover == ga.crossover
    assert back.mutation == ga.mutation
    assert back.replacement == "plus" and back.mu == 6


def test_truncated_and_corrupted_files_raise(tmp_path):
    es = pn.CEM(n_params=N, pop_size=8, seed=1)
    _run(es, 2)
    path = tmp_path / "good.ckpt"
    es.save(path)
    raw = path.read_bytes()

    bad = tmp_path / "truncated.ckpt"
    bad.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(CheckpointError, match="truncated or corrupted"):
        pn.load(bad)

    # flip bytes in the middle of the stored arrays
    flipped = bytearray(raw)
    for i in range(len(raw) // 3, len(raw) // 3 + 8):
        flipped[i] ^= 0xFF
    bad.write_bytes(bytes(flipped))
    with pytest.raises(CheckpointError):
        pn.load(bad)

    bad.write_bytes(b"not a checkpoint at all")
    with pytest.raises(CheckpointError):
        pn.load(bad)

    np.savez(tmp_path / "other.npz", a=np.zeros(3))
    with pytest.raises(CheckpointError, match="not a pyneat_lite checkpoint"):
        pn.load(tmp_path / "other.npz")

    with pytest.raises(FileNotFoundError):
        pn.load(tmp_path / "missing.ckpt")


def test_tampered_state_fails_checksum(tmp_path):
    """A well-formed archive whose content does not match its checksum (e.g.
    an array edited by hand) is rejected."""
    es = pn.SNES(n_params=N, pop_size=8, seed=1)
    _run(es, 2)
    path = tmp_path / "a.ckpt"
    es.save(path)
    with np.load(path, allow_pickle=False) as data:
        content = {k: data[k] for k in data.files}
    content["state/_mean"] = content["state/_mean"] + 1.0
    np.savez(tmp_path / "b.ckpt.npz", **content)
    with pytest.raises(CheckpointError, match="checksum"):
        pn.load(tmp_path / "b.ckpt.npz")


def test_save_rejects_non_algorithms(tmp_path):
    from pyneat_lite.checkpoint import save

    with pytest.raises(TypeError, match="'algorithm' argument of save"):
        save(object(), tmp_path / "x")

    class MyES(pn.OpenES):  # defined outside the package: could not be loaded
        pass

    with pytest.raises(TypeError, match="test_checkpoint.*MyES"):
        MyES(n_params=N, pop_size=8, seed=0).save(tmp_path / "mine.ckpt")
    assert not os.listdir(tmp_path)


def _rewrite_meta(src, dst, **changes):
    """Copy a checkpoint with edited metadata and a recomputed checksum (what a
    crafted file could do)."""
    from pyneat_lite.checkpoint import _digest

    with np.load(src, allow_pickle=False) as data:
        content = {k: data[k] for k in data.files}
    meta = json.loads(bytes(content.pop("__meta__")).decode())
    meta.pop("checksum")
    meta.update(changes)
    meta["checksum"] = _digest(meta, content)
    blob = np.frombuffer(json.dumps(meta, sort_keys=True).encode(), dtype=np.uint8)
    np.savez(dst, __meta__=blob, **content)
    return dst


@pytest.mark.parametrize(
    "name, match",
    [
        ("os:system", "not inside the pyneat_lite package"),
        ("builtins:object", "not inside the pyneat_lite package"),
        ("pyneat_lite_evil.x:GA", "not inside the pyneat_lite package"),
        ("pyneat_lite.network:Network", "no such pyneat_lite class"),
        ("pyneat_lite.algorithms:GA", "no such pyneat_lite class"),  # re-export
        ("pyneat_lite.algorithms.base:Algorithm.save", "unknown algorithm class"),
        ("pyneat_lite.algorithms.base:Algorithm", "no such pyneat_lite class"),
        ("pyneat_lite.no_such_module:GA", "no such pyneat_lite class"),
        ("GA", "unknown algorithm class"),
    ],
)
def test_load_imports_only_checkpointable_package_classes(tmp_path, name, match):
    es = pn.OpenES(n_params=N, pop_size=8, seed=1)
    es.save(tmp_path / "a.ckpt")
    bad = _rewrite_meta(tmp_path / "a.ckpt", tmp_path / "b.npz", **{"class": name})
    with pytest.raises(CheckpointError, match=match):
        pn.load(bad)


def test_inconsistent_state_is_a_checkpoint_error(tmp_path):
    """A file whose checksum matches but whose content does not fit the class
    (a crafted or hand-edited file) fails with CheckpointError."""
    es = pn.OpenES(n_params=N, pop_size=8, seed=1)
    es.save(tmp_path / "a.ckpt")
    params = dict(es.get_params(), n_params=N + 1)
    bad = _rewrite_meta(tmp_path / "a.ckpt", tmp_path / "b.npz", params=params)
    with pytest.raises(CheckpointError, match="consistent OpenES state.*shape"):
        pn.load(bad)
    params = dict(es.get_params(), sigmaa=0.1)
    bad = _rewrite_meta(tmp_path / "a.ckpt", tmp_path / "c.npz", params=params)
    with pytest.raises(CheckpointError, match="unknown \\['sigmaa'\\]"):
        pn.load(bad)
    bad = _rewrite_meta(tmp_path / "a.ckpt", tmp_path / "d.npz", version=3)
    with pytest.raises(CheckpointError, match="format version 3; this pyneat_lite"):
        pn.load(bad)


def test_run_checkpoint_every_then_resume(tmp_path):
    path = tmp_path / "auto.ckpt"
    ref = pn.PGPE(n_params=N, pop_size=16, seed=2)
    ref.run(fitness, generations=12)
    algo = pn.PGPE(n_params=N, pop_size=16, seed=2)
    algo.run(fitness, generations=7, checkpoint_every=3, checkpoint_path=path)
    back = pn.load(path)  # saved at the end of the run (generation 7)
    assert back.generation == 7
    back.run(fitness, generations=5)
    assert np.array_equal(back.ask(), ref.ask())
    np.testing.assert_array_equal(back.history["max"], ref.history["max"])


@pytest.mark.parametrize("normalize_obs", [False, True])
def test_resumed_run_restores_the_fitness_state(tmp_path, normalize_obs):
    # a fresh Rollout after pn.load: run() restores the start states (and
    # the normaliser) the fitness had at the checkpoint, so the resumed run
    # is the uninterrupted one bit for bit
    net = pn.Network([4, 2], ["linear"])
    env = pn.envs.CartPole(max_steps=60)

    def parts():
        return (pn.SNES(n_params=net.n_params, pop_size=8, seed=5),
                pn.envs.Rollout(net, env, episodes=1, seed=3,
                                normalize_obs=normalize_obs))

    whole, wfit = parts()
    whole.run(wfit, generations=4)
    half, hfit = parts()
    path = tmp_path / "run.ckpt"
    half.run(hfit, generations=2, checkpoint_every=2, checkpoint_path=path)
    resumed, fresh = pn.load(path), parts()[1]
    assert fresh.generation == 0
    resumed.run(fresh, generations=2)
    assert fresh.generation == wfit.generation == 4
    np.testing.assert_array_equal(resumed.mean, whole.mean)
    for k in ("max", "mean"):
        np.testing.assert_array_equal(resumed.history[k], whole.history[k])
    for k, v in wfit.get_state().items():
        np.testing.assert_array_equal(fresh.get_state()[k], v)
    # restored once: a second run goes on from the fitness's own state
    resumed.run(fresh, generations=1)
    assert fresh.generation == 5
    # a save() after the run holds the state too; a plain function has none
    half.save(path)
    assert int(pn.load(path)._fitness_resume["generation"]) == 2
    plain = pn.SNES(n_params=3, pop_size=4, seed=0)
    plain.run(lambda pop: -np.sum(pop**2, axis=1), generations=1)
    plain.save(path)
    assert pn.load(path)._fitness_resume is None


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_resumed_run_draws_the_same_minibatches(tmp_path, task):
    # Classification/Regression with batch_size draw minibatch k at call k:
    # a fresh task after pn.load must go on at the checkpoint's call count,
    # or the resumed run sees the first minibatches again
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 5)).astype(np.float32)
    if task == "classification":
        net = pn.Network([5, 4, 2], ["tanh", "softmax"])
        y = (X[:, 0] > 0).astype(np.int64)

        def make():
            return pn.tasks.Classification(net, X, y, batch_size=32, seed=1)
    else:
        net = pn.Network([5, 4, 1], ["tanh", "linear"])
        y = X[:, :1] * 2.0

        def make():
            return pn.tasks.Regression(net, X, y, batch_size=32, seed=1)

    whole = pn.OpenES(net.n_params, pop_size=8, seed=4)
    whole.run(make(), generations=6)
    half = pn.OpenES(net.n_params, pop_size=8, seed=4)
    path = tmp_path / "run.ckpt"
    half.run(make(), generations=3, checkpoint_every=3, checkpoint_path=path)
    fresh = make()
    resumed = pn.load(path)
    resumed.run(fresh, generations=3)
    assert fresh.generation == 6
    np.testing.assert_array_equal(resumed.mean, whole.mean)
    np.testing.assert_array_equal(resumed.history["max"], whole.history["max"])
    # and the state is the call count alone
    assert fresh.get_state().keys() == {"generation"}
    other = make()
    other.set_state(fresh.get_state())
    np.testing.assert_array_equal(other.batch_indices(other.generation),
                                  fresh.batch_indices(6))
