"""Supervised learning without gradients: sklearn's digits (the first 600
of its 1,797 images as the training set, standardised), a 64-16-10
tanh/softmax network (1,210 weights), fitness = minus the mean
cross-entropy on the training set.  The GA and an ES must reach
0.95 training accuracy within a CI-sized budget (evaluations, not seconds:
no timing assertions)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.preprocessing import StandardScaler

import pyneat_lite as pn


@pytest.fixture(scope="module")
def task():
    X, y = load_digits(return_X_y=True)
    X, y = X[:600], y[:600]  # CI-sized; the benchmark uses the full split
    X = StandardScaler().fit_transform(X).astype(np.float32)
    net = pn.Network([64, 16, 10], ["tanh", "softmax"])
    rows = np.arange(len(y))

    def fitness(pop):
        p = net.forward(pop, X)[:, rows, y]
        return np.log(np.maximum(p, 1e-12)).mean(axis=1).astype(np.float64)

    def accuracy(genome):
        return float((net.forward(genome, X).argmax(-1) == y).mean())

    return net, fitness, accuracy


def _train(algo, fitness, accuracy, genome_of, max_evals):
    """Run until 0.95 training accuracy (checked every 10 generations) or the
    evaluation budget; return the accuracy reached."""

    def reached(a):
        return a.generation % 10 == 0 and accuracy(genome_of(a)) >= 0.95

    res = algo.run(fitness, generations=max_evals // algo.pop_size, callbacks=[reached])
    return accuracy(genome_of(algo)), res


def test_openes_defaults_learn_digits(task):
    net, fitness, accuracy = task
    es = pn.OpenES(n_params=net.n_params, seed=0)  # default settings
    acc, res = _train(es, fitness, accuracy, lambda a: a.mean, 10_000)
    assert acc >= 0.95, acc
    assert res.stop_reason == "callback"


def test_ga_learns_digits(task):
    net, fitness, accuracy = task
    ga = pn.GA(n_params=net.n_params, seed=0)  # default settings
    acc, res = _train(ga, fitness, accuracy, lambda a: a.best, 30_000)
    assert acc >= 0.95, acc
    assert res.stop_reason == "callback"


def test_ga_deap_setup_improves_on_digits(task):
    """The DEAP eaSimple tutorial setup from the GA docstring learns too."""
    net, fitness, accuracy = task
    ga = pn.GA(
        n_params=net.n_params,
        pop_size=60,
        selection=pn.Tournament(k=5),
        crossover=pn.BlendCrossover(alpha=0.5),
        crossover_prob=0.6,
        mutation=pn.GaussianMutation(rate=0.25, sigma=0.1),
        mutation_prob=0.3,
        elitism=0,
        seed=0,
    )
    start = accuracy(ga.ask()[int(np.argmax(fitness(ga.ask())))])
    ga.run(fitness, generations=30)
    assert accuracy(ga.best) > start + 0.2
