"""pyneat_lite: fast neuroevolution on the CPU.

Evolves flat float32 genomes -- the weights of small layered networks, or any
other parameter vector -- with genetic algorithms and evolution strategies,
on NumPy, Numba and Cython.

Submodules are imported lazily (PEP 562), so ``import pyneat_lite`` is cheap
and an optional dependency is only imported when its adapter is used.  The
package writes no environment variable: thread counts are set per call
(``n_threads=``) or by the usual variables, which are the user's to set.

Examples
--------
>>> import pyneat_lite as pn
>>> net = pn.Network([64, 32, 10], ["tanh", "softmax"])
>>> net.n_params
2410
"""

from __future__ import annotations

import importlib
from typing import Any

from ._version import __version__ as __version__

# public name -> module that defines it
_LAZY_ATTRS: dict[str, str] = {
    # network core
    "Network": ".network",
    "ACTIVATIONS": ".activations",
    # layer specs (issue 13)
    "Dense": ".layers",
    "Conv2D": ".layers",
    "MaxPool2D": ".layers",
    "AvgPool2D": ".layers",
    "Flatten": ".layers",
    "RNN": ".layers",
    "GRU": ".layers",
    # operators
    "Tournament": ".operators",
    "Truncation": ".operators",
    "Roulette": ".operators",
    "SUS": ".operators",
    "Rank": ".operators",
    "RandomSelection": ".operators",
    "UniformCrossover": ".operators",
    "OnePointCrossover": ".operators",
    "TwoPointCrossover": ".operators",
    "KPointCrossover": ".operators",
    "BlendCrossover": ".operators",
    "BLXCrossover": ".operators",
    "SBXCrossover": ".operators",
    "NeuronCrossover": ".operators",
    "PatchCrossover": ".operators",
    "GaussianMutation": ".operators",
    "UniformResetMutation": ".operators",
    "NGeneResetMutation": ".operators",
    "BitFlipMutation": ".operators",
    "PolynomialMutation": ".operators",
    "BlockMutation": ".operators",
    "Clip": ".operators",
    "NSGA2": ".operators",
    # algorithms
    "GA": ".algorithms",
    "OpenES": ".algorithms",
    "SNES": ".algorithms",
    "SepCMAES": ".algorithms",
    "CMAES": ".algorithms",
    "XNES": ".algorithms",
    "Restarts": ".algorithms",
    "ARS": ".algorithms",
    "CEM": ".algorithms",
    "PGPE": ".algorithms",
    "Result": ".algorithms",
    # run logs (callbacks of run)
    "JSONLinesLogger": ".algorithms.logs",
    "CSVLogger": ".algorithms.logs",
    "TensorBoardLogger": ".algorithms.logs",
    "ALGORITHMS": ".algorithms",
    # checkpoints
    "load": ".checkpoint",
    # saved policies: a network and one genome
    "save_policy": ".policy",
    "load_policy": ".policy",
    # evaluators
    "Vectorized": ".evaluation",
    "Serial": ".evaluation",
    "ProcessPool": ".evaluation",
    "Ray": ".evaluation",
    # scikit-learn estimators (need scikit-learn)
    "EvolvedMLPClassifier": ".estimators",
    "EvolvedMLPRegressor": ".estimators",
    # misc
    "warmup": "._warmup",
}

# public submodule name -> module path (datasets, envs and gym live in tasks/)
_LAZY_SUBMODULES: dict[str, str] = {
    "network": ".network",
    "activations": ".activations",
    "layers": ".layers",
    "operators": ".operators",
    "algorithms": ".algorithms",
    "qd": ".qd",
    "evaluation": ".evaluation",
    "estimators": ".estimators",
    "tasks": ".tasks",
    "datasets": ".tasks.datasets",
    "envs": ".tasks.envs",
    "gym": ".tasks.gym",
    "adapters": ".adapters",
    "checkpoint": ".checkpoint",
    "cli": ".cli",
}

__all__ = sorted(["__version__", *_LAZY_ATTRS, *_LAZY_SUBMODULES])


def __getattr__(name: str) -> Any:
    if name in _LAZY_ATTRS:
        module = importlib.import_module(_LAZY_ATTRS[name], __name__)
        value = getattr(module, name)
        globals()[name] = value
        return value
    if name in _LAZY_SUBMODULES:
        module = importlib.import_module(_LAZY_SUBMODULES[name], __name__)
        globals()[name] = module
        return module
    raise AttributeError(f"module 'pyneat_lite' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
