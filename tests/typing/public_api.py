"""The public API as a user's code touches it, type-checked by mypy in CI
(``.ci/run``: ``mypy tests/typing/public_api.py``, settings in pyproject.toml).

It is never run, only checked: every annotation below must agree with what
the library declares, so a public signature that loses its types, or changes
them, fails CI.  Add a line when a public name is added.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt

import pyneat_lite as pn


def fitness(pop: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
    return -np.sum(pop.astype(np.float64) ** 2, axis=1)


def networks() -> None:
    net: pn.Network = pn.Network([4, 16, 2], ["tanh", "linear"])
    n: int = net.n_params
    pop: np.ndarray = net.init_population(8, seed=0)
    out: np.ndarray = net.forward(pop, np.zeros((5, 4), np.float32))
    parts: tuple[pn.Network, pn.Network] = net.split(1)
    each: np.ndarray = net.forward_each(pop, np.zeros((8, 4), np.float32))
    layers: list[tuple[np.ndarray, np.ndarray]] = net.unflatten(pop[0])
    config: dict[str, list[object]] = net.to_config()
    same: pn.Network = pn.Network.from_config(config)
    seconds: float = pn.warmup()
    pn.save_policy(Path("policy.npz"), net, pop[0])
    loaded: tuple[pn.Network, np.ndarray] = pn.load_policy("policy.npz")
    del n, out, parts, each, layers, same, seconds, loaded


def algorithms() -> None:
    ga: pn.GA = pn.GA(n_params=10, pop_size=16, seed=0,
                      selection=pn.Tournament(k=3),
                      crossover=pn.UniformCrossover(),
                      mutation=pn.GaussianMutation(rate=0.1, sigma=0.1),
                      elitism=2)
    genomes: np.ndarray = ga.ask()
    ga.tell(fitness(genomes))
    result: pn.Result = ga.run(fitness, generations=5, target=0.0, time_limit=1.0,
                               callbacks=[pn.JSONLinesLogger("run.jsonl"),
                                          pn.CSVLogger("run.csv")])
    best: np.ndarray | None = result.best
    best_fitness: float = result.best_fitness
    reason: str = result.stop_reason
    history: dict[str, np.ndarray] = result.history
    es: pn.OpenES = pn.OpenES(n_params=10, pop_size=16, sigma=0.05, seed=0)
    es_result: pn.Result = es.run(fitness, generations=3)
    for cls in (pn.SNES, pn.SepCMAES, pn.CEM, pn.PGPE):
        cls(n_params=10, seed=0).run(fitness, generations=2)
    generation: int = es.generation
    ga.save("run.ckpt")
    resumed = pn.load("run.ckpt")
    del best, best_fitness, reason, history, es_result, generation, resumed


def tasks_and_evaluators() -> None:
    net = pn.Network([4, 16, 2], "tanh")
    env = pn.envs.CartPole()
    returns: np.ndarray = pn.envs.rollout(net, net.init_population(4, seed=0), env,
                                          episodes=2, max_steps=50, seed=0)
    with pn.ProcessPool(n_workers=2) as pool:
        pn.GA(n_params=net.n_params).run(fitness, generations=1, evaluator=pool)
    returns_and_steps: tuple[np.ndarray, np.ndarray] = pn.envs.rollout(
        net, net.init_population(4, seed=0), env, return_steps=True)
    del returns, returns_and_steps
