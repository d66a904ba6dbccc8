"""Move weights between pyneat_lite genomes and deep-learning frameworks.

Two optional submodules, imported on first use so that ``import pyneat_lite``
never imports a framework:

- :mod:`pyneat_lite.adapters.torch` (``pip install pyneat_lite[torch]``):
  ``from_module``, ``to_module``, ``genome_of``, ``set_genome``,
  ``population_fitness``, ``fit_evolve``.
- :mod:`pyneat_lite.adapters.keras` (``pip install pyneat_lite[keras]``, Keras 3
  on any backend): ``from_model``, ``to_model``, ``genome_of``, ``set_genome``,
  ``population_fitness``, ``fit_evolve``.

When the framework is missing, importing the submodule raises an
``ImportError`` that names the extra to install.

Examples
--------
>>> import pyneat_lite as pn
>>> from pyneat_lite.adapters import torch as pt   # doctest: +SKIP
>>> net, genome = pt.from_module(model)            # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["keras", "torch"]


def __getattr__(name: str) -> Any:
    # PEP 562: ``pn.adapters.torch`` imports the adapter (and the framework)
    # only when it is first touched.
    if name in __all__:
        module = importlib.import_module(f".{name}", __name__)
        globals()[name] = module
        return module
    raise AttributeError(f"module 'pyneat_lite.adapters' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
