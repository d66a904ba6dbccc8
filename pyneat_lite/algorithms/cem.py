"""Cross-entropy method with a diagonal Gaussian.

Rubinstein, "Optimization of Computer Simulation Models with Rare Events",
European Journal of Operational Research 99 (1997); de Boer, Kroese, Mannor
& Rubinstein, "A Tutorial on the Cross-Entropy Method", Annals of Operations
Research 134 (2005), with the smoothed updates of section 3.2 and the extra
noise of Szita & Lorincz, "Learning Tetris Using the Noisy Cross-Entropy
Method", Neural Computation 18 (2006), which keeps the variance from
collapsing too early.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import _ranking
from .._typing import Float64Array
from ._es import EvolutionStrategy
from .params import FRACTION, NON_NEGATIVE, ESParams, param

__all__ = ["CEM", "CEMParams"]

@dataclass(frozen=True, kw_only=True)
class CEMParams(ESParams):
    """Parameters of :class:`CEM` (see its docstring)."""

    elite_fraction: float = param(FRACTION)
    alpha: float = param(FRACTION)
    extra_noise: float = param(NON_NEGATIVE)


class CEM(EvolutionStrategy):
    """Cross-entropy method (Rubinstein 1997; Szita & Lorincz 2006 noise).

    Parameters
    ----------
    n_params : int
        Genome length.
    pop_size : int, default=100
        Genomes per generation.
    sigma : float, default=0.2
        Initial standard deviation of every coordinate.
    elite_fraction : float, default=0.2
        Share of the population whose mean and variance become the next
        distribution (at least one genome).
    alpha : float, default=0.7
        Smoothing: ``new = (1 - alpha) * old + alpha * elite estimate``
        (1 = the plain method).
    extra_noise : float, default=0.02
        Standard deviation added (in quadrature) to every coordinate after
        each update, so the search never collapses completely (it is also
        the precision floor: lower it to polish a solution).
    x0 : array-like of shape (n_params,), optional
        Initial centre; zeros by default.
    minimize, seed, hall_of_fame_size, n_threads
        As in :class:`OpenES`.

    Examples
    --------
    >>> import numpy as np, pyneat_lite as pn
    >>> es = pn.CEM(n_params=10, sigma=0.5, extra_noise=1e-3, minimize=True, seed=0)
    >>> r = es.run(lambda pop: np.sum((pop - 1.0) ** 2, axis=1), generations=200)
    >>> bool(r.best_fitness < 1e-3)
    True
    """

    name = "cem"
    Params = CEMParams
    _STATE_ARRAYS = EvolutionStrategy._ES_STATE_ARRAYS + ("_sigma",)

    def __init__(
        self,
        n_params: int,
        pop_size: int = 100,
        *,
        sigma: float = 0.2,
        elite_fraction: float = 0.2,
        alpha: float = 0.7,
        extra_noise: float = 0.02,
        x0: Any = None,
        minimize: bool = False,
        seed: Any = None,
        hall_of_fame_size: int = 10,
        n_threads: int | None = None,
    ) -> None:
        super().__init__(locals())
        p = self._params
        #: genomes whose statistics become the next distribution
        self.n_elite = max(1, int(round(p.elite_fraction * p.pop_size)))
        self._init_es(x0)
        self._sigma = np.full(p.n_params, p.sigma, dtype=np.float64)
        self._elite_weights = np.full(self.n_elite, 1.0 / self.n_elite)

    def _scale(self) -> Float64Array:
        return self._sigma

    def _tell(self, fitness: Float64Array, score: Float64Array) -> None:
        p = self._params
        elite = _ranking.order(score)[: self.n_elite]
        w = self._elite_weights
        mz, mzz = self._moments(w, w, rows=elite)
        # elite mean and variance in x = mean + sigma * z coordinates
        var_z = np.maximum(mzz - mz * mz, 0.0)
        a = p.alpha
        self._mean += a * self._sigma * mz
        new_var = (1.0 - a) * self._sigma**2 + a * self._sigma**2 * var_z
        self._sigma[:] = np.sqrt(new_var + p.extra_noise**2)
