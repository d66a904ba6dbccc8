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

from typing import Any

import numpy as np

from .. import _ranking
from .._typing import Float64Array
from .._validation import check_scalar
from ._es import EvolutionStrategy

__all__ = ["CEM"]


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
        super().__init__(
            n_params,
            pop_size,
            minimize=minimize,
            seed=seed,
            hall_of_fame_size=hall_of_fame_size,
            n_threads=n_threads,
        )
        c = type(self).__name__
        self.sigma0 = self._check_sigma(sigma, c)
        self.elite_fraction = check_scalar(
            elite_fraction,
            "elite_fraction",
            caller=c,
            min_val=0.0,
            max_val=1.0,
            include_min=False,
        )
        self.alpha = check_scalar(
            alpha, "alpha", caller=c, min_val=0.0, max_val=1.0, include_min=False
        )
        self.extra_noise = check_scalar(
            extra_noise, "extra_noise", caller=c, min_val=0.0
        )
        self.n_elite = max(1, int(round(self.elite_fraction * self.pop_size)))
        self._init_es(x0, False)
        self._sigma = np.full(self.n_params, self.sigma0, dtype=np.float64)

    def _scale(self) -> Float64Array:
        return self._sigma

    def _tell(self, fitness: Float64Array, score: Float64Array) -> None:
        k = self.n_elite
        elite = _ranking.order(score)[:k]
        w = np.full(k, 1.0 / k)
        mz, mzz = self._moments(w, w, rows=elite)
        # elite mean and variance in x = mean + sigma * z coordinates
        var_z = np.maximum(mzz - mz * mz, 0.0)
        a = self.alpha
        self._mean += a * self._sigma * mz
        new_var = (1.0 - a) * self._sigma**2 + a * self._sigma**2 * var_z
        self._sigma[:] = np.sqrt(new_var + self.extra_noise**2)

    def get_params(self) -> dict[str, Any]:
        return {
            **self._base_params(),
            "sigma": self.sigma0,
            "elite_fraction": self.elite_fraction,
            "alpha": self.alpha,
            "extra_noise": self.extra_noise,
        }
