"""Doctest namespace: the docstrings' examples use ``np`` and ``pn`` as the
documentation does (``pytest --doctest-modules pyneat_lite``, see .ci/run)."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="session", autouse=True)
def _doctest_namespace(doctest_namespace: dict) -> None:
    import pyneat_lite as pn

    doctest_namespace["np"] = np
    doctest_namespace["pn"] = pn
