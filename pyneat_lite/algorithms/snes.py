"""Separable natural evolution strategy (SNES).

Schaul, Glasmachers & Schmidhuber, "High Dimensions and Heavy Tails for
Natural Evolution Strategies", GECCO 2011; Wierstra, Schaul, Glasmachers,
Sun, Peters & Schmidhuber, "Natural Evolution Strategies", JMLR 15 (2014),
algorithm 6.  A Gaussian with diagonal covariance whose centre and
per-coordinate standard deviations follow the natural gradient, with the
rank-based NES utilities.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._typing import Float64Array
from ._es import EvolutionStrategy
from .params import POSITIVE, Bool, ESParams, Real, param
from .shaping import nes_utilities

__all__ = ["SNES", "SNESParams"]


@dataclass(frozen=True, kw_only=True)
class SNESParams(ESParams):
    """Parameters of :class:`SNES` (see its docstring)."""

    lr_mean: float = param(POSITIVE)
    lr_sigma: float = param(Real(min_val=0.0, optional=True))
    antithetic: bool = param(Bool())

    def _resolve(self, caller: str) -> None:
        if self.lr_sigma is None:  # Wierstra et al. 2014, table 1
            n = self.n_params
            self._set("lr_sigma", (3.0 + math.log(n)) / (5.0 * math.sqrt(n)))
        super()._resolve(caller)


class SNES(EvolutionStrategy):
    """Separable natural evolution strategy (Schaul et al. 2011).

    Parameters
    ----------
    n_params : int
        Genome length.
    pop_size : int, default=100
        Genomes per generation.  The textbook ``4 + 3 ln n_params`` (27 for
        2,410 weights) is tuned for benchmark functions; networks learn
        faster per second with a larger population, whose evaluation is
        vectorised anyway.
    sigma : float, default=0.1
        Initial standard deviation of every coordinate.
    lr_mean : float, default=1.0
        Learning rate of the centre (in units of the current sigma).
    lr_sigma : float, optional
        Learning rate of the log standard deviations; default
        ``(3 + ln n_params) / (5 sqrt(n_params))`` (Wierstra et al. 2014).
    antithetic : bool, default=False
        Mirrored sampling (needs an even ``pop_size``).
    x0 : array-like of shape (n_params,), optional
        Initial centre; zeros by default.
    minimize, seed, hall_of_fame_size, n_threads
        As in :class:`OpenES`.

    Notes
    -----
    With utilities ``u_k`` (sum zero, best first) and perturbations ``z_k``:
    ``mean += lr_mean * sigma * sum u_k z_k`` and
    ``sigma *= exp(lr_sigma / 2 * sum u_k (z_k**2 - 1))``.

    Examples
    --------
    >>> import numpy as np, pyneat_lite as pn
    >>> es = pn.SNES(n_params=10, seed=0, sigma=0.5)
    >>> r = es.run(lambda pop: -np.sum((pop - 1.0) ** 2, axis=1), generations=300)
    >>> bool(np.abs(es.mean - 1.0).max() < 0.01)
    True
    """

    name = "snes"
    Params = SNESParams
    _STATE_ARRAYS = EvolutionStrategy._ES_STATE_ARRAYS + ("_sigma",)

    def __init__(
        self,
        n_params: int,
        pop_size: int = 100,
        *,
        sigma: float = 0.1,
        lr_mean: float = 1.0,
        lr_sigma: float | None = None,
        antithetic: bool = False,
        x0: Any = None,
        minimize: bool = False,
        seed: Any = None,
        hall_of_fame_size: int = 10,
        n_threads: int | None = None,
    ) -> None:
        super().__init__(locals())
        self._init_es(x0)
        self._sigma = np.full(self._params.n_params, self._params.sigma,
                              dtype=np.float64)

    def _scale(self) -> Float64Array:
        return self._sigma

    def _tell(self, fitness: Float64Array, score: Float64Array) -> None:
        p = self._params
        u = nes_utilities(score)
        g_mu, g_sq = self._moments(u, u)
        # sum u_k (z_k^2 - 1) = sum u_k z_k^2 because the utilities sum to 0
        self._mean += p.lr_mean * self._sigma * g_mu
        self._sigma *= np.exp(0.5 * p.lr_sigma * (g_sq - np.add.reduce(u)))
