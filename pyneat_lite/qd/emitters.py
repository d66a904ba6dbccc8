"""Emitters: where the next candidates of a quality-diversity search come from.

An emitter proposes ``batch_size`` float32 genomes from the archive
(:meth:`Emitter.ask`) and learns from how they fared in it
(:meth:`Emitter.tell` with the archive's statuses and values).  Every random
draw is keyed by ``(seed, iteration, stream, row)`` (:mod:`pyneat_lite._rng`),
so a search is reproducible bit for bit whatever the number of threads, and
an emitter's whole state is a few numbers and arrays (checkpoints).

- :class:`GaussianEmitter`: an elite plus isotropic Gaussian noise
  (MAP-Elites, Mouret & Clune 2015).
- :class:`IsoLineEmitter`: an elite plus isotropic noise plus a Gaussian step
  along the line to another elite (Vassiliades & Mouret 2018).
- :class:`EvolutionStrategyEmitter`: the library's :class:`~pyneat_lite.SepCMAES`
  ranked by archive improvement -- two-stage improvement ("2imp", CMA-ME,
  Fontaine et al. 2020) or improvement over the soft threshold ("imp",
  CMA-MAE, Fontaine & Nikolaidis 2023) -- restarted from a random elite when
  it stalls.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._kernels import qd as _k
from .._rng import STREAMS, fill_standard_normal
from .._typing import Float32Array
from .._validation import check_scalar
from ._emitter_base import Emitter, _check_bounds
from ._es_emitter import EvolutionStrategyEmitter
from .archives import _ArchiveBase

__all__ = ["Emitter", "GaussianEmitter", "IsoLineEmitter",
           "EvolutionStrategyEmitter", "EMITTERS"]


class IsoLineEmitter(Emitter):
    """Iso+line variation of random elites (Vassiliades & Mouret 2018).

    Each genome is ``a + iso_sigma * N(0, I) + line_sigma * N(0, 1) * (b - a)``
    for two elites ``a``, ``b`` drawn uniformly from the archive (``x0``
    while it is empty).

    Parameters
    ----------
    archive, x0, batch_size, seed
        As in :class:`Emitter`.
    iso_sigma : float, default=0.01
        Isotropic standard deviation.
    line_sigma : float, default=0.2
        Standard deviation along the line between the two elites.
    bounds : (low, high) or array-like of shape (solution_dim, 2), optional
        Clip the genomes to these bounds.
    """

    name = "iso_line"

    def __init__(self, archive: _ArchiveBase, x0: Any, *, iso_sigma: float = 0.01,
                 line_sigma: float = 0.2, batch_size: int = 64, bounds: Any = None,
                 seed: Any = None) -> None:
        caller = type(self).__name__
        super().__init__(archive, x0, batch_size, seed, caller)
        self._iso = check_scalar(iso_sigma, "iso_sigma", caller=caller, min_val=0.0)
        self._line = check_scalar(line_sigma, "line_sigma", caller=caller,
                                  min_val=0.0)
        self._bounds_arg = None if bounds is None else np.asarray(
            bounds, dtype=np.float64).tolist()
        b = _check_bounds(bounds, archive.solution_dim, caller)
        n = archive.solution_dim
        self._clip = b is not None
        self._lower, self._upper = b if b is not None else (np.zeros(n), np.zeros(n))
        self._z = np.empty((self._batch_size, n + 1), dtype=np.float32)
        self._out = np.empty((self._batch_size, n), dtype=np.float32)
        self._asked_at = -1

    def _parents(self) -> tuple[np.ndarray, np.ndarray]:
        b = self._batch_size
        if self._archive.empty:
            none = np.full(b, -1, dtype=np.int64)
            return none, none
        idx = self._archive.sample_elites(2 * b, seed=self._seed,
                                          generation=self._itrs)
        return idx[:b], idx[b:]

    def ask(self) -> Float32Array:
        if self._asked_at == self._itrs:
            return self._out
        first, second = self._parents()
        fill_standard_normal(self._z, self._seed, self._itrs, STREAMS["qd_noise"], 1)
        _k.variation(self._archive._solutions, first, second, self._z, self._iso,
                     self._line, self._x0, self._lower, self._upper, self._clip,
                     self._out)
        self._asked_at = self._itrs
        return self._out

    def tell(self, solutions, objective, measures, status, value) -> None:
        super().tell(solutions, objective, measures, status, value)

    def _config(self) -> dict[str, Any]:
        return {**super()._config(), "iso_sigma": self._iso,
                "line_sigma": self._line, "bounds": self._bounds_arg}

    def _set_state(self, scalars, arrays) -> None:
        super()._set_state(scalars, arrays)
        self._asked_at = -1


class GaussianEmitter(IsoLineEmitter):
    """An elite drawn uniformly from the archive plus ``N(0, sigma^2 I)``
    (MAP-Elites; ``x0`` plus noise while the archive is empty).

    Parameters
    ----------
    archive, x0, batch_size, seed
        As in :class:`Emitter`.
    sigma : float, default=0.1
        Standard deviation of the mutation.
    bounds : (low, high) or array-like of shape (solution_dim, 2), optional
        Clip the genomes to these bounds.
    """

    name = "gaussian"

    def __init__(self, archive: _ArchiveBase, x0: Any, *, sigma: float = 0.1,
                 batch_size: int = 64, bounds: Any = None, seed: Any = None) -> None:
        check_scalar(sigma, "sigma", caller=type(self).__name__, min_val=0.0)
        super().__init__(archive, x0, iso_sigma=sigma, line_sigma=0.0,
                         batch_size=batch_size, bounds=bounds, seed=seed)

    @property
    def sigma(self) -> float:
        return self._iso

    def _config(self) -> dict[str, Any]:
        c = super()._config()
        c["sigma"] = c.pop("iso_sigma")
        c.pop("line_sigma")
        return c


#: short name -> emitter class (checkpoints rebuild emitters from it)
EMITTERS: dict[str, type[Emitter]] = {
    "gaussian": GaussianEmitter,
    "iso_line": IsoLineEmitter,
    "es": EvolutionStrategyEmitter,
}
