"""Exponential natural evolution strategy (xNES).

Glasmachers, Schaul, Sun, Wierstra & Schmidhuber, "Exponential Natural
Evolution Strategies", GECCO 2010; Wierstra et al., "Natural Evolution
Strategies", JMLR 15 (2014), algorithm 5 and table 1.  A Gaussian
``N(mean, sigma**2 B B^T)`` with ``det B = 1`` whose centre, scale and shape
follow the natural gradient in exponential coordinates, with the rank-based
NES utilities.

The shape update ``B <- B expm(eta_B / 2 G_B)`` is computed without an
``n x n`` matrix exponential: ``G_M = Z^T U Z`` has rank at most
``pop_size``, and ``expm(Z^T W Z) = I + Z^T phi1(W Z Z^T) W Z`` with
``phi1(X) = sum_k X**k / (k + 1)!``, a ``pop_size x pop_size`` function
(the ``expm`` of a ``2 pop_size`` block matrix).  A generation then costs
O(pop_size * n_params**2), like CMA-ES, instead of O(n_params**3).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.linalg

from .. import _ranking
from .._kernels import cma as _kernels
from .._threads import single_threaded_blas
from .._typing import Float64Array
from ._es import EvolutionStrategy
from .cmaes import _FullCovarianceES, default_pop_size
from .params import POSITIVE, ESParams, Int, Real, param
from .shaping import _nes_weights

__all__ = ["XNES", "XNESParams", "phi1"]


def phi1(X: Float64Array) -> Float64Array:
    """``sum_{k>=0} X**k / (k + 1)!`` of a square matrix: the top-right block
    of ``expm([[X, I], [0, 0]])`` (Higham, "Functions of Matrices", 10.7.4).
    SciPy's ``expm`` on one BLAS thread, so the result does not depend on
    the BLAS thread count."""
    p = X.shape[0]
    big = np.zeros((2 * p, 2 * p))
    big[:p, :p] = X
    big[:p, p:] = np.eye(p)
    with single_threaded_blas():
        return np.ascontiguousarray(scipy.linalg.expm(big)[:p, p:])


@dataclass(frozen=True, kw_only=True)
class XNESParams(ESParams):
    """Parameters of :class:`XNES` (see its docstring)."""

    pop_size: int = param(Int(min_val=2, optional=True))
    lr_mean: float = param(POSITIVE)
    lr_sigma: float = param(Real(min_val=0.0, optional=True))
    lr_shape: float = param(Real(min_val=0.0, optional=True))

    def _resolve(self, caller: str) -> None:
        n = self.n_params
        if self.pop_size is None:
            self._set("pop_size", default_pop_size(n))
        # Wierstra et al. 2014, table 1
        default = 3.0 * (3.0 + math.log(n)) / (5.0 * n * math.sqrt(n))
        if self.lr_sigma is None:
            self._set("lr_sigma", default)
        if self.lr_shape is None:
            self._set("lr_shape", default)
        super()._resolve(caller)


class XNES(_FullCovarianceES):
    """Exponential NES with full covariance (Glasmachers et al. 2010).

    Parameters
    ----------
    n_params : int
        Genome length (``B`` holds ``n_params**2`` float64 values).
    pop_size : int, optional
        Samples per generation; default ``4 + floor(3 ln n_params)``.
    sigma : float, default=0.1
        Initial global scale.
    lr_mean : float, default=1.0
        Learning rate of the centre.
    lr_sigma, lr_shape : float, optional
        Learning rates of the scale and of the shape ``B``; default
        ``3 (3 + ln n) / (5 n sqrt(n))`` (Wierstra et al. 2014).
    x0 : array-like of shape (n_params,), optional
        Initial centre; zeros by default.
    minimize, seed, hall_of_fame_size, n_threads
        As in :class:`OpenES`.

    Notes
    -----
    Samples ``x_k = mean + sigma * B z_k``.  With the NES utilities ``u_k``
    (sum zero, best largest): ``G_d = sum u_k z_k``, ``G_M = sum u_k z_k
    z_k^T``, ``G_s = tr(G_M) / n``, ``G_B = G_M - G_s I``;
    ``mean += lr_mean * sigma * B G_d``, ``sigma *= exp(lr_sigma / 2 * G_s)``,
    ``B <- B expm(lr_shape / 2 * G_B)``.

    Examples
    --------
    >>> import numpy as np, pyneat_lite as pn
    >>> es = pn.XNES(n_params=5, sigma=0.5, minimize=True, seed=0)
    >>> r = es.run(lambda pop: np.sum((pop - 1.0) ** 2, axis=1), generations=400)
    >>> bool(r.best_fitness < 1e-8)
    True
    """

    name = "xnes"
    Params = XNESParams
    _STATE_ARRAYS = EvolutionStrategy._ES_STATE_ARRAYS + ("_y", "_BT")
    _STATE_SCALARS = ("_step",)

    def __init__(
        self,
        n_params: int,
        pop_size: int | None = None,
        *,
        sigma: float = 0.1,
        lr_mean: float = 1.0,
        lr_sigma: float | None = None,
        lr_shape: float | None = None,
        x0: Any = None,
        minimize: bool = False,
        seed: Any = None,
        hall_of_fame_size: int = 10,
        n_threads: int | None = None,
    ) -> None:
        super().__init__(locals())
        self._init_es(x0)
        p = self._params
        n, lam = p.n_params, p.pop_size
        self._BT = np.eye(n, dtype=np.float64)
        self._ones = np.ones(n, dtype=np.float64)
        self._y = np.zeros((lam, n), dtype=np.float64)
        self._step = p.sigma
        self._zw = np.zeros(n, dtype=np.float64)
        self._yw = np.zeros(n, dtype=np.float64)
        self._bz = np.zeros(n, dtype=np.float64)
        self._wc = np.zeros(lam, dtype=np.float64)
        self._gram = np.zeros((lam, lam), dtype=np.float64)
        self._r = np.zeros((lam, n), dtype=np.float64)
        self._scale_vec = np.full(n, p.sigma, dtype=np.float64)

    def _sample_d(self) -> Float64Array:
        return self._ones  # the shape matrix carries every scale

    def _update_scale(self) -> None:
        # sd of coordinate j: sigma * ||row j of B|| = sigma * ||column j of BT||
        np.multiply(np.sqrt(np.einsum("kj,kj->j", self._BT, self._BT)),
                    self._step, out=self._scale_vec)

    def _tell(self, fitness: Float64Array, score: Float64Array) -> None:
        p = self._params
        n, lam = p.n_params, p.pop_size
        order = _ranking.order(score)
        w_rank = _nes_weights(lam)
        # yw = sum_k u_k y_k = B G_d (recombine sums by rank)
        _kernels.recombine(self._z, self._y, order, w_rank, lam, 0.0, False,
                           self._BT, self._zw, self._yw, self._bz, self._wc)
        u = np.empty(lam, dtype=np.float64)
        u[order] = w_rank
        _kernels.gram(self._z, self._gram)
        g_sigma = float(np.dot(u, np.diagonal(self._gram))) / n  # tr(G_M) / n
        self._mean += p.lr_mean * self._step * self._yw
        self._step *= math.exp(0.5 * p.lr_sigma * g_sigma)
        # B <- B expm(h (G_M - G_s I)), h = lr_shape / 2:
        #    = exp(-h G_s) (B + Y^T phi1(W G) W Z), W = h diag(u), G = Z Z^T;
        # in the transposed layout BT += Z^T (Q^T Y) with Q = phi1(W G) W
        h = 0.5 * p.lr_shape
        wdiag = h * u
        q = phi1(wdiag[:, None] * self._gram) * wdiag[None, :]
        _kernels.transpose_times(q, self._y, self._r)
        _kernels.add_products(self._BT, math.exp(-h * g_sigma), self._z, self._r,
                              p.n_threads)
        self._update_scale()

    @property
    def step_size(self) -> float:
        """The global scale sigma."""
        return float(self._step)

    @property
    def shape_matrix(self) -> Float64Array:
        """Copy of ``B`` (``det B = 1``; covariance ``sigma**2 B B^T``),
        float64 (n_params, n_params)."""
        return self._BT.T.copy()
