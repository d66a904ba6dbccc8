"""Tasks: what turns a population into fitness.

- :mod:`~pyneat_lite.tasks.supervised`: :class:`Classification`,
  :class:`Regression` and :func:`report`.
- :mod:`~pyneat_lite.tasks.datasets`: MNIST IDX files, scikit-learn's digits,
  a stratified split (also ``pn.datasets``).
- :mod:`~pyneat_lite.tasks.envs`: Numba CartPole, Pendulum, Acrobot, the
  mountain cars and CartPole swing-up, fused rollouts (also ``pn.envs``).
- :mod:`~pyneat_lite.tasks.gym`: any gymnasium environment (also ``pn.gym``).
- :mod:`~pyneat_lite.tasks.judges`: :class:`~.judges.DigitJudge`, judges of
  digit images built from real data, independent of any optimised model.
- :mod:`~pyneat_lite.tasks.images`: image genomes (:class:`~.images.PCABasis`,
  a decoder of principal-component coefficients) and priors as fitness terms.
- :mod:`~pyneat_lite.tasks.maze`: :class:`~.maze.DeceptiveMaze`, a point robot
  in a deceptive maze (novelty search, issue 12).
- :mod:`~pyneat_lite.tasks.behavior`: rollouts that also return behaviour
  measures, ``(objective, measures)`` for quality diversity.

Submodules are imported on first use, so ``import pyneat_lite.tasks`` does
not import gymnasium.
"""

from __future__ import annotations

import importlib
from typing import Any

from .supervised import Classification, Regression, Report, report

__all__ = ["Classification", "Regression", "Report", "report", "behavior",
           "datasets", "envs", "gym", "images", "judges", "maze"]

_SUBMODULES = ("behavior", "datasets", "envs", "gym", "images", "judges", "maze",
               "supervised")


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        module = importlib.import_module(f".{name}", __name__)
        globals()[name] = module
        return module
    raise AttributeError(f"module 'pyneat_lite.tasks' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
