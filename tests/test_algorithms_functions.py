"""Every algorithm on standard test functions, each within a fixed budget and
to a stated tolerance (minimisation; global minimum 0 at the stated point).

- sphere, N=100: sum x^2, start at x = 1 (f = 100);
- Rastrigin, N=100: 10 N + sum (x^2 - 10 cos(2 pi x)), start at a random
  point of [-5.12, 5.12]^100 (seed 0, f = 1932); within these budgets only
  SepCMAES gets close to the global basin (f < 40), the tolerances say how
  far each method gets -- regression guards, not claims of a global
  solution;
- Rosenbrock, N=2: 100 (x1 - x0^2)^2 + (1 - x0)^2, start at (-1.2, 1)
  (f = 24.2), minimum at (1, 1).

The value checked is the best fitness evaluated, or for the evolution
strategies f(mean) if lower (the centre is the genome one deploys).  The settings
(``sigma`` matched to the distance to the optimum, population sizes) are
part of the stated budget.
"""

from __future__ import annotations

import numpy as np
import pytest

import pyneat_lite as pn


def sphere(pop):
    x = pop.astype(np.float64)
    return np.sum(x * x, axis=1)


def rastrigin(pop):
    x = pop.astype(np.float64)
    return 10.0 * x.shape[1] + np.sum(x * x - 10.0 * np.cos(2.0 * np.pi * x), axis=1)


def rosenbrock(pop):
    x = pop.astype(np.float64)
    return 100.0 * (x[:, 1] - x[:, 0] ** 2) ** 2 + (1.0 - x[:, 0]) ** 2


START = {
    "sphere": np.ones(100),
    "rastrigin": np.random.default_rng(0).uniform(-5.12, 5.12, 100),
    "rosenbrock": np.array([-1.2, 1.0]),
}
FUNCS = {
    "sphere": (sphere, 100),
    "rastrigin": (rastrigin, 100),
    "rosenbrock": (rosenbrock, 2),
}

# (algorithm, function) -> (generations, settings, tolerance)
CASES = {
    ("ga", "sphere"): (400, {"init_sigma": 1.0}, 0.1),
    ("ga", "rastrigin"): (
        300,
        {"init_sigma": 1.0, "mutation": pn.GaussianMutation(rate=0.05, sigma=0.5)},
        650.0,
    ),
    ("ga", "rosenbrock"): (
        300,
        {
            "init_sigma": 1.0,
            "pop_size": 40,
            "mutation": pn.GaussianMutation(rate=0.5, sigma=0.05),
        },
        1e-3,
    ),
    ("openes", "sphere"): (200, {}, 0.15),
    ("openes", "rastrigin"): (500, {"sigma": 1.0, "lr": 0.1}, 1100.0),
    ("openes", "rosenbrock"): (500, {"sigma": 0.1, "lr": 0.02, "pop_size": 20}, 1.0),
    ("snes", "sphere"): (200, {"sigma": 0.5}, 0.1),
    ("snes", "rastrigin"): (1000, {"sigma": 2.0}, 400.0),
    ("snes", "rosenbrock"): (300, {"sigma": 0.5, "pop_size": 12}, 0.3),
    ("sepcma", "sphere"): (200, {"sigma": 0.5}, 1e-4),
    ("sepcma", "rastrigin"): (500, {"sigma": 2.0, "pop_size": 200}, 40.0),
    ("sepcma", "rosenbrock"): (200, {"sigma": 0.5, "pop_size": 12}, 0.1),
    ("cem", "sphere"): (200, {"sigma": 1.0, "extra_noise": 1e-3}, 0.4),
    ("cem", "rastrigin"): (300, {"sigma": 2.0, "extra_noise": 1e-3}, 300.0),
    ("cem", "rosenbrock"): (
        300,
        {"sigma": 0.5, "pop_size": 20, "extra_noise": 1e-3},
        5.0,
    ),
    ("pgpe", "sphere"): (200, {"sigma": 0.5, "optimizer": "adam"}, 1.0),
    ("pgpe", "rastrigin"): (1000, {"sigma": 1.0, "optimizer": "adam"}, 1100.0),
    ("pgpe", "rosenbrock"): (500, {"sigma": 0.3, "pop_size": 20}, 3.0),
}


@pytest.mark.parametrize("key", sorted(CASES), ids=lambda k: f"{k[0]}-{k[1]}")
def test_standard_function(key):
    name, fname = key
    gens, settings, tol = CASES[key]
    fn, n = FUNCS[fname]
    kw = dict(settings)
    start = np.asarray(START[fname], np.float32)
    if name == "ga":
        # the GA starts from genomes around the same point
        kw["initial_population"] = start
        kw.setdefault("init_sigma", 0.5)
    else:
        kw["x0"] = start
    algo = pn.ALGORITHMS[name](n_params=n, minimize=True, seed=0, **kw)
    res = algo.run(fn, generations=gens)
    value = res.best_fitness
    if name != "ga":
        value = min(value, float(fn(algo.mean[None])[0]))
    f0 = float(fn(start[None])[0])
    assert tol < f0
    assert value < tol, (value, tol)


def test_clipup_pgpe_sphere():
    """PGPE with its default ClipUp optimiser: constant speed, so it reaches
    the neighbourhood of the optimum whose size is set by ``lr``."""
    x0 = np.ones(100, np.float32)
    es = pn.PGPE(n_params=100, sigma=0.5, lr=0.2, x0=x0, minimize=True, seed=0)
    es.run(sphere, generations=200)
    assert sphere(es.mean[None])[0] < 3.0
