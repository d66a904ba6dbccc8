"""Helpers shared by the task tests: a pure-Python Floyd sampler on the
reference generator, and a probe that counts a module's population checks
while any re-validation inside ``Network`` fails the test."""

from __future__ import annotations

import numpy as np
import pytest
import ref_operators as ref


def floyd_reference(seed: int, n: int, k: int) -> np.ndarray:
    """Floyd's sampling of k of range(n), sorted, on the reference xoshiro256**."""
    r = ref.Rng(seed)
    chosen: set[int] = set()
    for j in range(n - k, n):
        t = r.bounded(j + 1)
        chosen.add(j if t in chosen else t)
    return np.array(sorted(chosen), np.int64)


def count_population_checks(monkeypatch: pytest.MonkeyPatch, module) -> list[int]:
    """Count ``module.check_population`` calls (one list item per call);
    ``Network``'s own validators fail the test if called."""
    from pyneat_lite import _network_checks

    calls: list[int] = []
    real = module.check_population
    monkeypatch.setattr(module, "check_population",
                        lambda *a, **k: calls.append(1) or real(*a, **k))
    for name in ("check_array", "check_population", "check_genome"):
        monkeypatch.setattr(_network_checks, name,
                            lambda *a, **k: pytest.fail("revalidated"))
    return calls
