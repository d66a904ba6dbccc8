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
from typing import TYPE_CHECKING, Any

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

# What type checkers see of the lazy names above (mypy, pyright and IDEs do
# not run __getattr__); tests/test_typing.py checks that it lists them all but
# the adapters, which the core never imports.
if TYPE_CHECKING:
    from . import activations as activations
    from . import algorithms as algorithms
    from . import checkpoint as checkpoint
    from . import cli as cli
    from . import estimators as estimators
    from . import evaluation as evaluation
    from . import layers as layers
    from . import network as network
    from . import operators as operators
    from . import qd as qd
    from . import tasks as tasks
    from ._warmup import warmup as warmup
    from .activations import ACTIVATIONS as ACTIVATIONS
    from .algorithms import ALGORITHMS as ALGORITHMS
    from .algorithms import ARS as ARS
    from .algorithms import CEM as CEM
    from .algorithms import CMAES as CMAES
    from .algorithms import GA as GA
    from .algorithms import PGPE as PGPE
    from .algorithms import SNES as SNES
    from .algorithms import XNES as XNES
    from .algorithms import OpenES as OpenES
    from .algorithms import Restarts as Restarts
    from .algorithms import Result as Result
    from .algorithms import SepCMAES as SepCMAES
    from .algorithms.logs import CSVLogger as CSVLogger
    from .algorithms.logs import JSONLinesLogger as JSONLinesLogger
    from .algorithms.logs import TensorBoardLogger as TensorBoardLogger
    from .checkpoint import load as load
    from .estimators import EvolvedMLPClassifier as EvolvedMLPClassifier
    from .estimators import EvolvedMLPRegressor as EvolvedMLPRegressor
    from .evaluation import ProcessPool as ProcessPool
    from .evaluation import Ray as Ray
    from .evaluation import Serial as Serial
    from .evaluation import Vectorized as Vectorized
    from .layers import GRU as GRU
    from .layers import RNN as RNN
    from .layers import AvgPool2D as AvgPool2D
    from .layers import Conv2D as Conv2D
    from .layers import Dense as Dense
    from .layers import Flatten as Flatten
    from .layers import MaxPool2D as MaxPool2D
    from .network import Network as Network
    from .operators import NSGA2 as NSGA2
    from .operators import SUS as SUS
    from .operators import BitFlipMutation as BitFlipMutation
    from .operators import BlendCrossover as BlendCrossover
    from .operators import BlockMutation as BlockMutation
    from .operators import BLXCrossover as BLXCrossover
    from .operators import Clip as Clip
    from .operators import GaussianMutation as GaussianMutation
    from .operators import KPointCrossover as KPointCrossover
    from .operators import NeuronCrossover as NeuronCrossover
    from .operators import NGeneResetMutation as NGeneResetMutation
    from .operators import OnePointCrossover as OnePointCrossover
    from .operators import PatchCrossover as PatchCrossover
    from .operators import PolynomialMutation as PolynomialMutation
    from .operators import RandomSelection as RandomSelection
    from .operators import Rank as Rank
    from .operators import Roulette as Roulette
    from .operators import SBXCrossover as SBXCrossover
    from .operators import Tournament as Tournament
    from .operators import Truncation as Truncation
    from .operators import TwoPointCrossover as TwoPointCrossover
    from .operators import UniformCrossover as UniformCrossover
    from .operators import UniformResetMutation as UniformResetMutation
    from .policy import load_policy as load_policy
    from .policy import save_policy as save_policy
    from .tasks import datasets as datasets
    from .tasks import envs as envs
    from .tasks import gym as gym

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
