"""The run loop: stop criteria, callbacks, Ctrl-C, history, hall of fame,
progress bar, plot and evaluators."""

from __future__ import annotations

import numpy as np
import pytest

import pyneat_lite as pn
from pyneat_lite.algorithms import DEFAULT_GENERATIONS, Result

N = 10


def sphere_max(pop):
    return -np.sum((pop.astype(np.float64) - 0.5) ** 2, axis=1)


def test_default_generations_when_no_criterion():
    es = pn.OpenES(n_params=N, pop_size=8, seed=0)
    res = es.run(sphere_max)
    assert res.stop_reason == "generations"
    assert res.generations_run == DEFAULT_GENERATIONS == 100
    assert isinstance(res, Result)


def test_generations_are_counted_per_run():
    es = pn.SNES(n_params=N, pop_size=8, seed=0)
    es.run(sphere_max, generations=3)
    res = es.run(sphere_max, generations=4)
    assert res.generations_run == 4 and res.generation == 7
    assert res.evaluations == 7 * 8
    assert res.history["generation"].tolist() == list(range(7))


def test_target_maximize_and_minimize():
    es = pn.SNES(n_params=N, sigma=0.3, seed=0)
    res = es.run(sphere_max, target=-0.01, generations=500)
    assert res.stop_reason == "target"
    assert res.best_fitness >= -0.01
    assert res.history["max"][:-1].max() < -0.01  # it stopped at first hit
    es = pn.SNES(n_params=N, sigma=0.3, seed=0, minimize=True)
    res = es.run(lambda p: -sphere_max(p), target=0.01, generations=500)
    assert res.stop_reason == "target" and res.best_fitness <= 0.01


def test_time_limit():
    es = pn.CEM(n_params=N, seed=0)
    res = es.run(sphere_max, time_limit=0.2)
    assert res.stop_reason == "time_limit"
    assert res.generations_run >= 1


def test_patience():
    ga = pn.GA(n_params=N, pop_size=8, seed=0)
    res = ga.run(lambda p: np.zeros(p.shape[0]), patience=5, generations=100)
    assert res.stop_reason == "patience"
    assert res.generations_run == 6  # first generation sets the best


def test_callbacks_see_state_and_can_stop():
    seen = []

    def record(algo):
        seen.append((algo.generation, algo.best_fitness, algo.fitness.max()))

    def stop_at_5(algo):
        return algo.generation >= 5

    es = pn.PGPE(n_params=N, pop_size=8, seed=0)
    res = es.run(sphere_max, generations=50, callbacks=[record, stop_at_5])
    assert res.stop_reason == "callback"
    assert [s[0] for s in seen] == [1, 2, 3, 4, 5]
    h = res.history
    assert [s[2] for s in seen] == h["max"].tolist()
    assert seen[-1][1] == res.best_fitness


def test_keyboard_interrupt_returns_result_so_far():
    calls = {"n": 0}

    def fitness(pop):
        calls["n"] += 1
        if calls["n"] == 4:
            raise KeyboardInterrupt
        return sphere_max(pop)

    ga = pn.GA(n_params=N, pop_size=8, seed=0)
    res = ga.run(fitness, generations=10)
    assert res.stop_reason == "interrupted"
    assert res.generations_run == 3 and len(res.history["max"]) == 3
    assert res.best is not None
    # the algorithm is usable afterwards and re-asks the half-done generation
    res = ga.run(fitness, generations=2)
    assert res.stop_reason == "generations" and ga.generation == 5


def test_history_statistics_and_result_fields():
    rng_pop = []

    def fitness(pop):
        rng_pop.append(pop.copy())
        return sphere_max(pop)

    es = pn.SepCMAES(n_params=N, pop_size=6, seed=2)
    res = es.run(fitness, generations=4)
    h = res.history
    keys = "generation min mean max std n_nonfinite evaluations time"
    assert set(h) == set(keys.split())
    for g, pop in enumerate(rng_pop):
        f = sphere_max(pop)
        assert h["min"][g] == f.min() and h["max"][g] == f.max()
        assert h["mean"][g] == pytest.approx(f.mean(), rel=1e-12)
        assert h["std"][g] == pytest.approx(f.std(), rel=1e-12)
    assert h["evaluations"].tolist() == [6, 12, 18, 24]
    assert np.all(np.diff(h["time"]) >= 0)
    np.testing.assert_array_equal(res.mean, es.mean)
    assert res.elapsed > 0 and res.minimize is False
    all_f = np.concatenate([sphere_max(p) for p in rng_pop])
    assert res.best_fitness == all_f.max()


def test_history_read_between_runs_is_the_whole_history():
    # run() reads the history after every call (its Result): each read holds
    # every generation so far, as new arrays the caller may write into
    es = pn.OpenES(n_params=N, pop_size=6, seed=0)
    seen = []
    for _ in range(3):
        h = es.run(sphere_max, generations=2).history
        seen.append(h)
        h["min"][:] = np.nan  # the algorithm's history is not affected
    ref = pn.OpenES(n_params=N, pop_size=6, seed=0).run(sphere_max, generations=6)
    assert [len(h["generation"]) for h in seen] == [2, 4, 6]
    for key, values in ref.history.items():
        got = es.history[key]
        assert got.dtype == values.dtype
        if key != "time":
            np.testing.assert_array_equal(got, values)


def test_hall_of_fame_distinct_and_sorted():
    ga = pn.GA(n_params=N, pop_size=10, elitism=3, hall_of_fame_size=5, seed=0)
    res = ga.run(sphere_max, generations=20)
    hof = res.hall_of_fame
    assert hof.genomes.shape == (5, N) and hof.fitness.shape == (5,)
    assert np.all(np.diff(hof.fitness) <= 0)
    assert len({g.tobytes() for g in hof.genomes}) == 5
    np.testing.assert_array_equal(hof.genomes[0], res.best)
    np.testing.assert_allclose(sphere_max(hof.genomes), hof.fitness)


def test_progress_bar(capsys):
    es = pn.OpenES(n_params=N, pop_size=8, seed=0)
    es.run(sphere_max, generations=3, progress=True)
    err = capsys.readouterr().err
    assert "best=" in err and "3/3" in err


def test_plot(tmp_path):
    es = pn.OpenES(n_params=N, pop_size=8, seed=0)
    res = es.run(sphere_max, generations=5)
    path = tmp_path / "history.png"
    fig = res.plot(path)
    assert path.stat().st_size > 1000
    assert len(fig.axes[0].lines) == 3


def test_plot_without_matplotlib(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name.startswith("matplotlib"):
            raise ImportError("no matplotlib")
        return real_import(name, *args, **kwargs)

    res = pn.OpenES(n_params=N, pop_size=8, seed=0).run(sphere_max, generations=1)
    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(ImportError, match=r"pyneat_lite\[plot\]"):
        res.plot()


def test_evaluator_is_used():
    class Recording:
        def __init__(self):
            self.calls = 0

        def evaluate(self, fn, population):
            self.calls += 1
            return fn(population)

    ev = Recording()
    a = pn.CEM(n_params=N, seed=1)
    b = pn.CEM(n_params=N, seed=1)
    ra = a.run(sphere_max, generations=4, evaluator=ev)
    rb = b.run(sphere_max, generations=4)
    assert ev.calls == 4
    np.testing.assert_array_equal(ra.history["max"], rb.history["max"])


def test_run_bad_arguments():
    es = pn.OpenES(n_params=N, pop_size=8, seed=0)
    with pytest.raises(TypeError, match="'fitness' argument of OpenES.run"):
        es.run(None)
    with pytest.raises(ValueError, match="'generations' parameter"):
        es.run(sphere_max, generations=0)
    with pytest.raises(ValueError, match="'time_limit' parameter"):
        es.run(sphere_max, time_limit=-1)
    with pytest.raises(TypeError, match="'callbacks' argument"):
        es.run(sphere_max, generations=1, callbacks=[1])
    with pytest.raises(TypeError, match="'evaluator' argument"):
        es.run(sphere_max, generations=1, evaluator=object())
    with pytest.raises(ValueError, match="'checkpoint_path' argument"):
        es.run(sphere_max, generations=1, checkpoint_every=2)
    with pytest.raises(ValueError, match="must have shape"):
        es.run(lambda p: np.zeros(3), generations=1)
    assert es.generation == 0


def test_ga_setups_from_the_docstring_improve():
    """The three documented GA setups construct and improve a simple task."""
    n = 30
    w = np.full(n, 0.2, np.float32)
    setups = {
        "deap": pn.GA(
            n_params=n,
            pop_size=60,
            selection=pn.Tournament(k=5),
            crossover=pn.BlendCrossover(alpha=0.5),
            crossover_prob=0.6,
            mutation=pn.GaussianMutation(rate=0.25, sigma=0.1),
            mutation_prob=0.3,
            elitism=0,
            seed=0,
        ),
        "deepevolution": pn.GA(
            n_params=n,
            pop_size=16,
            initial_population=w,
            init_sigma=0.3,
            selection=pn.Truncation(top_k=4),
            crossover=pn.UniformCrossover(0.5),
            mutation=pn.GaussianMutation(rate=0.2, sigma=0.03),
            elitism=4,
            seed=0,
        ),
        "truncation": pn.GA(
            n_params=n,
            pop_size=50,
            selection=pn.Truncation(fraction=0.2),
            crossover=pn.OnePointCrossover(),
            mutation=pn.NGeneResetMutation(n=2),
            elitism=1,
            seed=0,
        ),
    }
    for name, ga in setups.items():
        res = ga.run(sphere_max, generations=40)
        h = res.history
        assert h["max"][-1] > h["max"][0] + 0.5, name
