"""Module-level fitness functions for the evaluator tests: worker processes
(spawn/forkserver) and Ray workers import them by name."""

from __future__ import annotations

import os
import time

import numpy as np


def sphere(genome: np.ndarray) -> float:
    return -float(np.sum(genome.astype(np.float64) ** 2))


def sphere_batch(population: np.ndarray) -> np.ndarray:
    return -np.sum(population.astype(np.float64) ** 2, axis=1)


def raises_on_positive(genome: np.ndarray) -> float:
    if genome[0] > 1.0:
        raise ZeroDivisionError("genome with a large first gene")
    return 0.0


def exits(genome: np.ndarray) -> float:
    os._exit(3)  # a worker that dies without a Python exception


def not_a_number(genome: np.ndarray) -> str:
    return "high"


def wrong_length(population: np.ndarray) -> np.ndarray:
    return np.zeros(len(population) + 1)


def sleeps(genome: np.ndarray) -> float:
    time.sleep(30.0)
    return 0.0


def sleep_chunk(population: np.ndarray) -> np.ndarray:
    """10 ms of work per chunk (the benchmark's fitness)."""
    time.sleep(0.01)
    return -np.sum(population.astype(np.float64) ** 2, axis=1)


class MarkThenFail:
    """Leaves one file per call in ``folder``, then fails: ``how="raise"``
    raises, ``how="exit"`` kills its worker process."""

    def __init__(self, folder: str, how: str) -> None:
        self.folder, self.how = folder, how

    def __call__(self, genome: np.ndarray) -> float:
        with open(os.path.join(self.folder, f"{os.getpid()}-{time.time_ns()}"), "w"):
            pass
        time.sleep(0.05)
        if self.how == "exit":
            os._exit(3)
        raise ZeroDivisionError("marked and failed")
