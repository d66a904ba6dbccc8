"""Search algorithms with one ask/tell interface.

Every algorithm -- the genetic algorithm :class:`GA` and the evolution
strategies :class:`OpenES`, :class:`SNES`, :class:`SepCMAES`, :class:`CEM`,
:class:`PGPE`, :class:`CMAES`, :class:`XNES`, :class:`ARS` and the restart wrapper
:class:`Restarts` -- has ``ask() -> (pop_size, n_params)``
float32 genomes, ``tell(fitness)``, ``best``, ``best_fitness``,
``generation``, ``run(...)`` returning a :class:`Result`, and
``save(path)`` (resume with ``pyneat_lite.load``).  :data:`ALGORITHMS` maps
short names to classes and drives the contract tests
(``tests/test_algorithm_contract.py``).

Layout: ``base.py`` (the ask/tell template), ``params.py`` (parameters
declared once per algorithm), ``loop.py`` (``run``), ``halloffame.py``,
``history.py``, ``result.py``, ``_es.py`` (what the evolution strategies
share), one module per algorithm, ``shaping.py`` and ``optim.py``.
"""

from __future__ import annotations

from ._antithetic import AntitheticPopulation
from ._lowrank import LowRankPopulation
from ._multiobjective import ParetoFront
from .ars import ARS
from .base import DEFAULT_GENERATIONS, Algorithm, NonFiniteFitnessWarning
from .cem import CEM
from .cmaes import CMAES
from .ga import GA
from .openes import OpenES
from .pgpe import PGPE
from .restarts import Restarts
from .result import HallOfFame, Result
from .sepcma import SepCMAES
from .snes import SNES
from .xnes import XNES

#: short name -> algorithm class (drives parametrised tests and the CLI)
ALGORITHMS: dict[str, type[Algorithm]] = {
    "ga": GA,
    "openes": OpenES,
    "snes": SNES,
    "sepcma": SepCMAES,
    "cem": CEM,
    "pgpe": PGPE,
    "cmaes": CMAES,
    "xnes": XNES,
    "restarts": Restarts,
    "ars": ARS,
}

__all__ = [
    "ALGORITHMS",
    "ARS",
    "Algorithm",
    "AntitheticPopulation",
    "CEM",
    "CMAES",
    "DEFAULT_GENERATIONS",
    "GA",
    "HallOfFame",
    "ParetoFront",
    "LowRankPopulation",
    "NonFiniteFitnessWarning",
    "OpenES",
    "PGPE",
    "Restarts",
    "Result",
    "SNES",
    "SepCMAES",
    "XNES",
]
