"""CMA-ES with a full covariance matrix.

Hansen, "The CMA Evolution Strategy: A Tutorial", arXiv:1604.00772 (the
update and the default parameters, with active CMA's negative weights as in
pycma's defaults), and Hansen & Ostermeier, Evolutionary Computation 9(2),
2001.  The eigendecomposition ``C = B diag(d**2) B^T`` is renewed only every
``pop_size / (c1 + cmu) / n_params / 10`` evaluations (the tutorial's lazy
update, as pycma does), so a generation costs O(pop_size * n_params**2)
and the O(n_params**3) decomposition is amortised.  Meant for small problems
(up to a few thousand parameters: ``C`` and ``B`` hold ``n_params**2``
float64 each).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import _ranking
from .._kernels import cma as _kernels
from .._rng import fill_standard_normal
from .._threads import kernel_threads, single_threaded_blas
from .._typing import Float32Array, Float64Array
from ._es import EvolutionStrategy
from .optim import l2_norm
from .params import Bool, ESParams, Int, param

__all__ = ["CMAES", "CMAESParams", "cma_parameters"]

# Evaluations between eigendecompositions: pop_size / (c1 + cmu) / n_params
# / _GAP_DIVISOR.  Hansen's tutorial and pycma divide by 10; C changes by
# about (c1 + cmu) of itself per generation, so with 1 it moves by ~1/n_params
# in between, and the evaluations to 1e-8 stayed within +-10% of the
# divisor 10 (10-D ellipsoid and rosenbrock, 30-D ellipsoid) for a tenth of
# the O(n**3) work.
_GAP_DIVISOR = 1.0
# Up to this size, cyclic Jacobi (a Numba kernel) beats LAPACK's call overhead.
_JACOBI_MAX_N = 16


def default_pop_size(n_params: int) -> int:
    """``4 + floor(3 ln n_params)`` (Hansen's default population size)."""
    return 4 + int(3.0 * math.log(n_params))


def cma_parameters(n: int, lam: int, mu: int, active: bool) -> dict[str, Any]:
    """The strategy parameters of the tutorial (Hansen 2016, table 1 and
    eqs. 49-58) for dimension ``n``, ``lam`` offspring and ``mu`` parents.

    Returns
    -------
    dict
        ``weights`` (float64 (lam,), best first: positive for the ``mu``
        best summing to one, negative after them when ``active``, else 0),
        ``mueff``, ``cs``, ``ds``, ``cc``, ``c1``, ``cmu``, ``chi_n``.
    """
    # the tutorial's ln((lam + 1) / 2) - ln(i); a larger mu than that allows
    # counts from ln(mu + 1/2), so that all mu weights stay positive
    ranks = np.arange(1, lam + 1, dtype=np.float64)
    top = math.log((lam + 1) / 2.0) if mu < (lam + 1) / 2.0 else math.log(mu + 0.5)
    pos = top - np.log(ranks[:mu])
    mueff = float(pos.sum() ** 2 / np.sum(pos**2))
    alpha_cov = 2.0
    c1 = alpha_cov / ((n + 1.3) ** 2 + mueff) * min(1.0, lam / 6.0)
    cmu = min(
        1.0 - c1,
        alpha_cov * (0.25 + mueff + 1.0 / mueff - 2.0)
        / ((n + 2.0) ** 2 + alpha_cov * mueff / 2.0),
    )
    w = np.zeros(lam, dtype=np.float64)
    w[:mu] = pos / pos.sum()
    neg = np.minimum(0.0, math.log((lam + 1) / 2.0) - np.log(ranks[mu:]))
    if active and np.any(neg < 0):
        mueff_neg = float(neg.sum() ** 2 / np.sum(neg**2))
        alpha_mu = 1.0 + c1 / cmu
        alpha_mueff = 1.0 + 2.0 * mueff_neg / (mueff + 2.0)
        alpha_posdef = (1.0 - c1 - cmu) / (n * cmu)
        w[mu:] = min(alpha_mu, alpha_mueff, alpha_posdef) * neg / np.abs(neg).sum()
    # pycma's cs (the tutorial has n + mueff + 5)
    cs = (mueff + 2.0) / (n + mueff + 3.0)
    ds = 1.0 + 2.0 * max(0.0, math.sqrt((mueff - 1.0) / (n + 1.0)) - 1.0) + cs
    cc = (4.0 + mueff / n) / (n + 4.0 + 2.0 * mueff / n)
    chi_n = math.sqrt(n) * (1.0 - 1.0 / (4.0 * n) + 1.0 / (21.0 * n * n))
    return {"weights": w, "mueff": mueff, "cs": cs, "ds": ds, "cc": cc,
            "c1": c1, "cmu": cmu, "chi_n": chi_n}


@dataclass(frozen=True, kw_only=True)
class CMAESParams(ESParams):
    """Parameters of :class:`CMAES` (see its docstring)."""

    pop_size: int = param(Int(min_val=2, optional=True))
    mu: int = param(Int(min_val=1, optional=True))
    active: bool = param(Bool())

    def _resolve(self, caller: str) -> None:
        if self.pop_size is None:
            self._set("pop_size", default_pop_size(self.n_params))
        if self.mu is None:
            self._set("mu", self.pop_size // 2)
        if self.mu > self.pop_size:
            raise ValueError(
                f"The 'mu' parameter of {caller} must be at most pop_size "
                f"({self.pop_size}). Got {self.mu} instead."
            )
        super()._resolve(caller)


class _FullCovarianceES(EvolutionStrategy):
    """Sampling shared by the full-covariance strategies (CMAES, XNES):
    ``x = mean + step * BT.T (d * z)`` through one kernel, and the
    per-coordinate scale vector (``_scale_vec``, kept by ``_update_scale``)
    that the hall of fame and the history read."""

    def _sample_d(self) -> Float64Array:
        """The per-axis scale ``d`` of the sampling transform."""
        raise NotImplementedError  # pragma: no cover - abstract

    def _update_scale(self) -> None:
        raise NotImplementedError  # pragma: no cover - abstract

    def _scale(self) -> Float64Array:
        return self._scale_vec

    def _seeds_only_spec(self) -> None:
        return None  # a full covariance cannot travel as a scale vector

    def _ask(self) -> Float32Array:
        p = self._params
        fill_standard_normal(self._z, p.seed, self._generation,
                             self._noise_stream, self._noise_threads)
        _kernels.sample_transformed(self._mean, self._step, self._BT,
                                    self._sample_d(), self._z, self._y,
                                    self._pop, p.n_threads)
        return self._pop

    def _after_load(self) -> None:
        self._update_scale()


class CMAES(_FullCovarianceES):
    """CMA-ES with full covariance matrix (Hansen 2016; pycma's defaults).

    Parameters
    ----------
    n_params : int
        Genome length (``n_params**2`` float64 values are kept twice: use
        :class:`SepCMAES` beyond a few thousand).
    pop_size : int, optional
        Offspring per generation (lambda); default ``4 + floor(3 ln
        n_params)``, Hansen's choice for benchmark functions.
    sigma : float, default=0.1
        Initial step size.
    mu : int, optional
        Parents recombined; default ``pop_size // 2``.
    active : bool, default=True
        Active CMA: the worst ``pop_size - mu`` samples get negative
        weights in the covariance update (pycma's default; Jastrebski &
        Arnold 2006).
    x0 : array-like of shape (n_params,), optional
        Initial mean; zeros by default.
    minimize, seed, hall_of_fame_size, n_threads
        As in :class:`OpenES`.

    Notes
    -----
    Samples ``x_k = m + sigma * B (d * z_k)`` with ``C = B diag(d**2) B^T``;
    recombination ``m += sigma * sum_{i<=mu} w_i y_{i:lambda}``, cumulative
    step-size adaptation, rank-one and rank-mu (active) covariance updates,
    all with the tutorial's default learning rates.  The random draws ``z``
    come from the library's counter-based streams, so a run does not depend
    on the thread count, and a checkpoint continues bit for bit.

    Examples
    --------
    >>> import numpy as np, pyneat_lite as pn
    >>> es = pn.CMAES(n_params=10, sigma=0.5, minimize=True, seed=0)
    >>> r = es.run(lambda pop: np.sum((pop - 1.0) ** 2, axis=1), generations=200)
    >>> bool(r.best_fitness < 1e-8)
    True
    """

    name = "cmaes"
    Params = CMAESParams
    _STATE_ARRAYS = EvolutionStrategy._ES_STATE_ARRAYS + (
        "_y", "_C", "_BT", "_d", "_pc", "_ps")
    _STATE_SCALARS = ("_step", "_eigen_evals")

    def __init__(
        self,
        n_params: int,
        pop_size: int | None = None,
        *,
        sigma: float = 0.1,
        mu: int | None = None,
        active: bool = True,
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
        for k, v in cma_parameters(n, lam, p.mu, p.active).items():
            setattr(self, "_" + k, v)
        # the weights in rank order, and what the covariance update uses
        self._wsum = float(self._weights.sum())
        self._wc = np.zeros(lam, dtype=np.float64)
        self._C = np.eye(n, dtype=np.float64)
        self._BT = np.eye(n, dtype=np.float64)
        self._d = np.ones(n, dtype=np.float64)
        self._y = np.zeros((lam, n), dtype=np.float64)
        self._pc = np.zeros(n, dtype=np.float64)
        self._ps = np.zeros(n, dtype=np.float64)
        self._step = p.sigma
        self._eigen_evals = 0
        # evaluations between two eigendecompositions (Hansen's tutorial)
        self._eigen_gap = lam / (self._c1 + self._cmu) / n / _GAP_DIVISOR
        self._zw = np.zeros(n, dtype=np.float64)
        self._yw = np.zeros(n, dtype=np.float64)
        self._bz = np.zeros(n, dtype=np.float64)
        self._scale_vec = np.full(n, p.sigma, dtype=np.float64)
        self._sample_threads = kernel_threads(p.n_threads, lam * n * n, lam)

    # ------------------------------------------------------------- sampling
    def _sample_d(self) -> Float64Array:
        return self._d

    def _update_scale(self) -> None:
        np.multiply(np.sqrt(np.maximum(np.diagonal(self._C), 0.0)), self._step,
                    out=self._scale_vec)

    # -------------------------------------------------------------- update
    def _tell(self, fitness: Float64Array, score: Float64Array) -> None:
        p = self._params
        n = p.n_params
        order = _ranking.order(score)
        _kernels.recombine(self._z, self._y, order, self._weights, p.mu,
                           self._cmu, p.active, self._BT, self._zw, self._yw,
                           self._bz, self._wc)
        self._mean += self._step * self._yw
        cs, cc, mueff = self._cs, self._cc, self._mueff
        self._ps *= 1.0 - cs
        self._ps += math.sqrt(cs * (2.0 - cs) * mueff) * self._bz
        ps_norm = l2_norm(self._ps)
        g = self._generation + 1
        # pycma's stall test on the squared length (the tutorial's
        # ||ps|| / sqrt(1 - (1 - cs)**(2 g)) < (1.4 + 2 / (n + 1)) E||N(0, I)||)
        h_sig = ps_norm * ps_norm / (1.0 - (1.0 - cs) ** (2 * g)) / n < (
            2.0 + 4.0 / (n + 1.0))
        self._pc *= 1.0 - cc
        if h_sig:
            self._pc += math.sqrt(cc * (2.0 - cc) * mueff) * self._yw
        c1, cmu = self._c1, self._cmu
        decay = (1.0 + (0.0 if h_sig else c1 * cc * (2.0 - cc)) - c1
                 - cmu * self._wsum)
        # without active CMA the weights after mu are 0: only the mu best count
        rows = order if p.active else order[: p.mu]
        _kernels.rank_update(self._C, decay, c1, self._pc, self._wc, self._y,
                             rows, p.n_threads)
        self._step *= math.exp(min(1.0, (cs / self._ds) * (ps_norm / self._chi_n
                                                          - 1.0)))
        if self._evaluations - self._eigen_evals > self._eigen_gap:
            self._decompose()
        self._update_scale()

    def _decompose(self) -> None:
        """Renew ``B`` and ``d`` from ``C`` (its lower triangle): Jacobi
        rotations for small ``n_params``, else LAPACK on one thread, so that
        the result does not depend on the BLAS thread count."""
        self._eigen_evals = self._evaluations
        n = self._params.n_params
        if n <= _JACOBI_MAX_N:
            ev = np.empty(n)
            vecs = np.empty((n, n))
            _kernels.jacobi_eigh(self._C, ev, vecs)
        else:
            with single_threaded_blas():
                ev, vecs = np.linalg.eigh(self._C, UPLO="L")
        top = float(ev[-1]) if ev.size else 1.0
        # round-off can leave tiny negative eigenvalues: floor them
        ev = np.maximum(ev, 1e-20 * max(top, 1e-300))
        self._d = np.sqrt(ev)
        self._BT = np.ascontiguousarray(vecs.T)

    # ---------------------------------------------------------- properties
    @property
    def step_size(self) -> float:
        """The global step size (CMA's sigma)."""
        return float(self._step)

    @property
    def covariance(self) -> Float64Array:
        """Copy of the covariance matrix ``C`` (without ``step_size**2``),
        float64 (n_params, n_params)."""
        lower = np.tril(self._C, -1)
        return lower + lower.T + np.diag(np.diagonal(self._C))

    @property
    def eigenvalues(self) -> Float64Array:
        """``d**2`` of the last eigendecomposition (ascending), float64."""
        return self._d**2
