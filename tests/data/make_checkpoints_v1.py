"""How tests/data/checkpoints-0.1.0 was made: checkpoints in format version 1.

Written by pyneat_lite 0.1.0 (the tree of commit 4ec081e, the last one with
format version 1), after 10 generations of the fitness below, so that
``tests/test_checkpoint.py`` can check that such files still load and continue
exactly like an uninterrupted run of the current code.  With a 0.1.0 checkout
importable::

    python tests/data/make_checkpoints_v1.py tests/data/checkpoints-0.1.0
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

import pyneat_lite as pn

N, P, GENERATIONS = 20, 16, 10


def fitness(pop: np.ndarray) -> np.ndarray:
    x = pop.astype(np.float64)
    return -np.sum((x - 0.3) ** 2, axis=1) + 0.1 * np.cos(7 * x).sum(axis=1)


CONFIGS = {
    "ga": lambda: pn.GA(n_params=N, pop_size=P, seed=5),
    "ga_plus_list": lambda: pn.GA(
        n_params=N, pop_size=P, replacement="plus", mu=6, seed=5,
        selection=pn.Rank(),
        # 0.1.0's SBXCrossover(eta=10.0), which its config (no gene_prob) rebuilds
        crossover=pn.SBXCrossover(eta=10.0, gene_prob=1.0, exchange=False),
        mutation=[pn.GaussianMutation(rate=0.3, sigma=0.05), pn.Clip(-2.0, 2.0)],
    ),
    "openes": lambda: pn.OpenES(n_params=N, pop_size=P, seed=5, weight_decay=0.01),
    "snes": lambda: pn.SNES(n_params=N, pop_size=P, seed=5),
    "sepcma": lambda: pn.SepCMAES(n_params=N, pop_size=P, seed=5),
    "cem": lambda: pn.CEM(n_params=N, pop_size=P, seed=5),
    "pgpe": lambda: pn.PGPE(n_params=N, pop_size=P, seed=5),
}


def main(out: str) -> None:
    Path(out).mkdir(parents=True, exist_ok=True)
    for key, make in CONFIGS.items():
        algo = make()
        for _ in range(GENERATIONS):
            algo.tell(fitness(algo.ask()))
        algo.save(Path(out) / f"{key}.ckpt")


if __name__ == "__main__":
    main(sys.argv[1])
