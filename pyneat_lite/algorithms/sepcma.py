"""Separable (diagonal) CMA-ES.

Ros & Hansen, "A Simple Modification in CMA-ES Achieving Linear Time and
Space Complexity", PPSN X (2008); the rest of the update follows Hansen,
"The CMA Evolution Strategy: A Tutorial", arXiv:1604.00772.  The covariance
matrix is restricted to its diagonal, whose learning rates are scaled up by
``(n + 2) / 3``, so one generation costs O(pop_size * n_params).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import _ranking
from .._typing import Float64Array
from ._es import EvolutionStrategy
from .optim import l2_norm
from .params import ESParams, Int, param

__all__ = ["SepCMAES", "SepCMAESParams"]


@dataclass(frozen=True, kw_only=True)
class SepCMAESParams(ESParams):
    """Parameters of :class:`SepCMAES` (see its docstring)."""

    mu: int = param(Int(min_val=1, optional=True))

    def _resolve(self, caller: str) -> None:
        if self.mu is None:
            self._set("mu", self.pop_size // 2)
        if self.mu > self.pop_size:
            raise ValueError(
                f"The 'mu' parameter of {caller} must be at most pop_size "
                f"({self.pop_size}). Got {self.mu} instead."
            )
        super()._resolve(caller)


def sep_cma_constants(
    n_params: int, mu: int
) -> tuple[Float64Array, float, float, float, float, float, float, float]:
    """Recombination weights and learning constants of :class:`SepCMAES`
    with ``mu`` parents: ``(weights, mueff, cs, ds, cc, c1, cmu, chi_n)``
    (also the table of the quality-diversity emitters' "filter" rule)."""
    n = float(n_params)
    w = math.log(mu + 0.5) - np.log(np.arange(1, mu + 1, dtype=np.float64))
    weights = w / w.sum()
    mueff = 1.0 / float(np.sum(weights**2))
    cs = (mueff + 2.0) / (n + mueff + 5.0)
    ds = 1.0 + 2.0 * max(0.0, math.sqrt((mueff - 1.0) / (n + 1.0)) - 1.0) + cs
    cc = (4.0 + mueff / n) / (n + 4.0 + 2.0 * mueff / n)
    c1 = 2.0 / ((n + 1.3) ** 2 + mueff)
    cmu = min(1.0 - c1, 2.0 * (mueff - 2.0 + 1.0 / mueff) / ((n + 2.0) ** 2 + mueff))
    # Ros & Hansen: the diagonal learns (n + 2) / 3 times faster
    scale = (n + 2.0) / 3.0
    c1 = min(1.0, c1 * scale)
    cmu = min(1.0 - c1, cmu * scale)
    chi_n = math.sqrt(n) * (1.0 - 1.0 / (4.0 * n) + 1.0 / (21.0 * n * n))
    return weights, mueff, cs, ds, cc, c1, cmu, chi_n


class SepCMAES(EvolutionStrategy):
    """Diagonal CMA-ES (Ros & Hansen 2008).

    Parameters
    ----------
    n_params : int
        Genome length.
    pop_size : int, default=100
        Offspring per generation (lambda).  The textbook
        ``4 + 3 ln n_params`` suits benchmark functions; 100 learns network
        weights faster per second.
    sigma : float, default=0.1
        Initial step size.
    mu : int, optional
        Parents recombined; default ``pop_size // 2``.
    x0 : array-like of shape (n_params,), optional
        Initial centre; zeros by default.
    minimize, seed, hall_of_fame_size, n_threads
        As in :class:`OpenES`.

    Notes
    -----
    Log-linear recombination weights, cumulative step-size adaptation and
    rank-one plus rank-mu updates of the diagonal covariance ``C``; the
    samples are ``mean + sigma * sqrt(C) * z``.

    Examples
    --------
    >>> import numpy as np, pyneat_lite as pn
    >>> es = pn.SepCMAES(n_params=10, pop_size=20, sigma=0.5, minimize=True, seed=0)
    >>> r = es.run(lambda pop: np.sum((pop - 1.0) ** 2, axis=1), generations=300)
    >>> bool(r.best_fitness < 1e-6)
    True
    """

    name = "sepcma"
    Params = SepCMAESParams
    _STATE_ARRAYS = EvolutionStrategy._ES_STATE_ARRAYS + ("_C", "_pc", "_ps")
    _STATE_SCALARS = ("_step",)

    def __init__(
        self,
        n_params: int,
        pop_size: int = 100,
        *,
        sigma: float = 0.1,
        mu: int | None = None,
        x0: Any = None,
        minimize: bool = False,
        seed: Any = None,
        hall_of_fame_size: int = 10,
        n_threads: int | None = None,
    ) -> None:
        super().__init__(locals())
        self._init_es(x0)
        p = self._params
        (self._weights, self._mueff, self._cs, self._ds, self._cc, self._c1,
         self._cmu, self._chi_n) = sep_cma_constants(p.n_params, p.mu)
        self._C = np.ones(p.n_params, dtype=np.float64)
        self._pc = np.zeros(p.n_params, dtype=np.float64)
        self._ps = np.zeros(p.n_params, dtype=np.float64)
        self._step = p.sigma
        self._scale_vec = np.full(p.n_params, p.sigma, dtype=np.float64)

    def _scale(self) -> Float64Array:
        return self._scale_vec

    def _after_load(self) -> None:
        self._scale_vec = self._step * np.sqrt(self._C)

    @property
    def step_size(self) -> float:
        """The global step size (CMA's sigma)."""
        return float(self._step)

    def _tell(self, fitness: Float64Array, score: Float64Array) -> None:
        order = _ranking.order(score)[: self._params.mu]
        zw, zsq = self._moments(self._weights, self._weights, rows=order)
        d = np.sqrt(self._C)
        yw = d * zw
        self._mean += self._step * yw
        cs, cc, mueff = self._cs, self._cc, self._mueff
        self._ps *= 1.0 - cs
        self._ps += math.sqrt(cs * (2.0 - cs) * mueff) * zw
        ps_norm = l2_norm(self._ps)
        g = self._generation + 1
        h_sig = ps_norm / math.sqrt(1.0 - (1.0 - cs) ** (2 * g)) / self._chi_n < (
            1.4 + 2.0 / (self._params.n_params + 1.0)
        )
        self._pc *= 1.0 - cc
        if h_sig:
            self._pc += math.sqrt(cc * (2.0 - cc) * mueff) * yw
        c1, cmu = self._c1, self._cmu
        decay = 1.0 - c1 - cmu + (0.0 if h_sig else c1 * cc * (2.0 - cc))
        # rank-mu term: sum w_i y_i^2 = C * sum w_i z_i^2
        self._C *= decay + cmu * zsq
        self._C += c1 * self._pc * self._pc
        self._step *= math.exp((cs / self._ds) * (ps_norm / self._chi_n - 1.0))
        np.multiply(np.sqrt(self._C), self._step, out=self._scale_vec)
