"""IPOP and BIPOP restarts around any evolution strategy.

Auger & Hansen, "A Restart CMA Evolution Strategy With Increasing Population
Size", CEC 2005 (IPOP: every restart multiplies the population by
``pop_factor``); Hansen, "Benchmarking a BI-Population CMA-ES on the
BBOB-2009 Function Testbed", GECCO 2009 (BIPOP: restarts alternate between
that growing population and short runs with a small random population and
step size, whichever regime has used fewer evaluations).

The wrapper is itself an algorithm with ask/tell: ``ask`` returns the
current inner strategy's population, whose size changes at a restart
(:attr:`Restarts.current_pop_size`; ``pop_size`` is the first one).  The
inner strategy stops -- and a new one starts from ``x0`` -- when the best
fitness of its last ``10 + ceil(30 n / lambda)`` generations and of the
current one vary by less than ``tol_fun``, when every coordinate's standard
deviation is below ``tol_x``, or when its state is no longer finite (or, for
:class:`CMAES`, its covariance condition number exceeds 1e14), as pycma's
``tolfun``/``tolfunhist``, ``tolx`` and ``tolconditioncov`` do.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._rng import STREAMS, row_seeds, uniform
from .._typing import Float32Array, Float64Array
from .._validation import check_genome
from .ars import ARS
from .base import Algorithm
from .cem import CEM
from .cmaes import CMAES, default_pop_size
from .openes import OpenES
from .params import POSITIVE, ESParams, Int, OneOf, Real, param
from .pgpe import PGPE
from .sepcma import SepCMAES
from .snes import SNES
from .xnes import XNES

__all__ = ["Restarts", "RestartsParams", "STRATEGIES"]

#: the strategies a Restarts can wrap, by registry name
STRATEGIES: dict[str, type[Algorithm]] = {
    "cmaes": CMAES,
    "sepcma": SepCMAES,
    "xnes": XNES,
    "snes": SNES,
    "openes": OpenES,
    "pgpe": PGPE,
    "cem": CEM,
    "ars": ARS,
}

_WORST = -np.finfo(np.float64).max  # what the inner strategy gets for NaN

# what Restarts itself passes to every run
_RESERVED = ("n_params", "pop_size", "sigma", "x0", "minimize", "seed",
             "hall_of_fame_size", "n_threads")


class _StrategyParams:
    """None or a mapping of further keywords for every inner run, whose
    values are JSON scalars (they are stored in checkpoints)."""

    def __call__(self, x: Any, name: str, caller: str | None) -> dict[str, Any] | None:
        if x is None:
            return None
        if not isinstance(x, Mapping) or not all(isinstance(k, str) for k in x):
            raise TypeError(
                f"The {name!r} parameter of {caller} must be a dict of keyword "
                f"arguments of the inner strategy, such as {{'version': 'v2'}}. "
                f"Got {type(x).__name__} instead."
            )
        for k, v in x.items():
            if k in _RESERVED:
                raise ValueError(
                    f"The {name!r} parameter of {caller} must not set {k!r}: "
                    "Restarts sets it for every run (use its own parameter). "
                    f"Got {k}={v!r} instead."
                )
            if not isinstance(v, (str, int, float, bool)) and v is not None:
                raise TypeError(
                    f"The {name!r} parameter of {caller} must hold str, number, bool "
                    f"or None values (checkpoints store them). Got {k}={v!r} instead."
                )
        return dict(x)


@dataclass(frozen=True, kw_only=True)
class RestartsParams(ESParams):
    """Parameters of :class:`Restarts` (see its docstring)."""

    pop_size: int = param(Int(min_val=2, optional=True))
    strategy: str = param(OneOf(tuple(STRATEGIES)))
    mode: str = param(OneOf(("ipop", "bipop")))
    pop_factor: float = param(Real(min_val=1.0, include_min=False))
    max_restarts: int = param(Int(min_val=0))
    tol_fun: float = param(POSITIVE)
    tol_x: float = param(POSITIVE)
    strategy_params: dict[str, Any] | None = param(_StrategyParams())

    def _resolve(self, caller: str) -> None:
        if self.pop_size is None:
            self._set("pop_size", default_pop_size(self.n_params))
        super()._resolve(caller)


class Restarts(Algorithm):
    """Restart an evolution strategy with a growing population (IPOP/BIPOP).

    Parameters
    ----------
    n_params : int
        Genome length.
    pop_size : int, optional
        Population of the first run; default ``4 + floor(3 ln n_params)``.
        Rounded up to even for strategies that sample mirrored pairs.
    sigma : float, default=0.1
        Initial step size of every run (BIPOP's small runs scale it down).
    strategy : str, default="cmaes"
        The inner strategy: a name of :data:`STRATEGIES`; it runs with its
        defaults otherwise.
    mode : {"ipop", "bipop"}, default="ipop"
    pop_factor : float, default=2.0
        Population growth per (large) restart.
    max_restarts : int, default=9
        Restarts at most (pycma's ``restarts=9``); then the last run goes on.
    tol_fun : float, default=1e-11
        Restart when the best fitness of the recent generations (and the
        range of the current one) vary by less than this.
    tol_x : float, default=1e-11
        Restart when every coordinate's standard deviation is below this.
    strategy_params : dict, optional
        Further keyword arguments of every inner run, e.g.
        ``{"version": "v2"}`` for ARS V2 (whose state normaliser
        :meth:`run` binds to each run; the checkpoints hold its
        statistics).
    x0 : array-like of shape (n_params,), optional
        Start of every run; zeros by default.
    minimize, seed, hall_of_fame_size, n_threads
        As in :class:`OpenES`.

    Examples
    --------
    >>> import numpy as np, pyneat_lite as pn
    >>> def rastrigin(x):
    ...     x = x.astype(np.float64)
    ...     return 10 * x.shape[1] + np.sum(x**2 - 10 * np.cos(2 * np.pi * x), 1)
    >>> es = pn.Restarts(n_params=5, sigma=2.0, x0=np.ones(5), minimize=True, seed=1)
    >>> r = es.run(rastrigin, target=1e-8, generations=5000)
    >>> bool(r.best_fitness <= 1e-8), es.restarts > 0
    (True, True)
    """

    name = "restarts"
    Params = RestartsParams
    _STATE_ARRAYS = ("_x0",)
    _STATE_SCALARS = ("_restarts", "_large_pop", "_evals_large", "_evals_small",
                      "_regime", "_large_runs", "_hist", "_run_start")

    def __init__(
        self,
        n_params: int,
        pop_size: int | None = None,
        *,
        sigma: float = 0.1,
        strategy: str = "cmaes",
        mode: str = "ipop",
        pop_factor: float = 2.0,
        max_restarts: int = 9,
        tol_fun: float = 1e-11,
        tol_x: float = 1e-11,
        strategy_params: Mapping[str, Any] | None = None,
        x0: Any = None,
        minimize: bool = False,
        seed: Any = None,
        hall_of_fame_size: int = 10,
        n_threads: int | None = None,
    ) -> None:
        super().__init__(locals())
        p = self._params
        if x0 is None:
            self._x0 = np.zeros(p.n_params, dtype=np.float64)
        else:
            self._x0 = check_genome(x0, "x0", caller="Restarts",
                                    n_params=p.n_params).astype(np.float64)
        cls = STRATEGIES[p.strategy]
        self._kwargs = dict(p.strategy_params or {})
        known = inspect.signature(cls.__init__).parameters
        for k in self._kwargs:
            if k not in known:
                raise ValueError(
                    f"The 'strategy_params' parameter of Restarts must name keyword "
                    f"arguments of {cls.__name__}. Got {k!r} instead."
                )
        # also validates the values, with the inner strategy's messages
        self._even = cls(n_params=1, pop_size=4, seed=0,
                         **self._kwargs)._params.antithetic_sampling
        self._restarts = 0
        self._large_pop = self._lam(p.pop_size)
        self._evals_large = 0
        self._evals_small = 0
        self._regime = "large"
        self._large_runs = 1
        self._hist: list[float] = []
        self._run_start = 0
        self._inner = self._make_inner(self._large_pop, p.sigma)
        if self._inner.pop_size != p.pop_size:
            self._resize(self._inner.pop_size)

    # ------------------------------------------------------------- inner runs
    def _lam(self, lam: int) -> int:
        lam = max(2, int(lam))
        return lam + (lam % 2) if self._even else lam

    def _make_inner(self, lam: int, sigma: float) -> Algorithm:
        p = self._params
        # one independent seed per run, from the library's streams
        seed = int(row_seeds(p.seed, self._restarts, STREAMS["restarts"], 1)[0])
        return STRATEGIES[p.strategy](
            n_params=p.n_params, pop_size=lam, sigma=sigma, x0=self._x0,
            minimize=False, seed=seed, hall_of_fame_size=1, n_threads=p.n_threads,
            **self._kwargs)

    def _resize(self, lam: int) -> None:
        """The base buffers for a population of ``lam``."""
        self._fitness = np.full(lam, np.nan, dtype=np.float64)
        self._score = np.empty(lam, dtype=np.float64)
        self._history.resize(lam)

    def _should_restart(self, score: Float64Array) -> bool:
        p = self._params
        inner = self._inner
        finite = score[np.isfinite(score)]
        if finite.size:
            self._hist.append(float(finite.max()))
        n_hist = 10 + math.ceil(30 * p.n_params / inner.pop_size)
        del self._hist[:-n_hist]
        if (len(self._hist) == n_hist and finite.size
                and max(self._hist) - min(self._hist) < p.tol_fun
                and float(finite.max() - finite.min()) < p.tol_fun):
            return True
        sd = inner.sigma
        if not (np.all(np.isfinite(sd)) and np.all(np.isfinite(inner.mean))):
            return True
        if float(np.max(sd)) < p.tol_x:
            return True
        if isinstance(inner, CMAES):
            ev = inner.eigenvalues
            if ev[0] <= 0 or ev[-1] > 1e14 * ev[0]:
                return True
        return False

    def _restart(self) -> None:
        p = self._params
        used = self._evaluations - self._run_start
        if self._regime == "large":
            self._evals_large += used
        else:
            self._evals_small += used
        self._restarts += 1
        self._run_start = self._evaluations
        self._hist = []
        sigma = p.sigma
        if p.mode == "bipop" and self._large_runs > 1 and (
                self._evals_small < self._evals_large):
            # Hansen 2009: lambda_s = lambda0 (lambda_l / (2 lambda0))**(U1**2),
            # sigma_s = sigma0 * 10**(-2 U2)
            u1, u2 = uniform(1, 2, seed=p.seed, generation=self._restarts,
                             stream=STREAMS["restarts"])[0]
            lam = self._lam(math.floor(p.pop_size * (0.5 * self._large_pop
                                                     / p.pop_size) ** (u1 * u1)))
            sigma = p.sigma * 10.0 ** (-2.0 * u2)
            self._regime = "small"
        else:
            self._large_pop = self._lam(math.ceil(self._large_pop * p.pop_factor))
            self._large_runs += 1
            lam = self._large_pop
            self._regime = "large"
        old, self._inner = self._inner, self._make_inner(lam, sigma)
        if getattr(old, "normalizer", None) is not None:
            # ARS V2: the new run normalises with the fitness's statistics
            # so far (what _bind_fitness gave the first run), and its
            # checkpoints hold them
            self._inner.normalizer = old.normalizer
        self._resize(lam)

    # ---------------------------------------------------------------- hooks
    def _bind_fitness(self, fitness: Any) -> None:
        """Called by :meth:`run`: the inner run binds the fitness (ARS V2
        shares its normaliser); restarts hand the binding on."""
        bind = getattr(self._inner, "_bind_fitness", None)
        if bind is not None:
            bind(fitness)

    def _ask(self) -> Float32Array:
        return self._inner.ask()

    def _current_population(self) -> Float32Array:
        return self._inner._current_population()

    def _seeds_only_spec(self) -> dict[str, Any] | None:
        return self._inner._seeds_only_spec()

    def _tell(self, fitness: Float64Array, score: Float64Array) -> None:
        # the inner strategy maximises the score; non-finite values are
        # already counted (and warned about) here, so it gets a finite worst
        self._inner.tell(np.where(np.isfinite(score), score, _WORST))
        if self._restarts < self._params.max_restarts and self._should_restart(
                score):
            self._restart()

    # ----------------------------------------------------------- checkpoints
    def _state(self) -> tuple[dict[str, Any], dict[str, Any], dict[str, np.ndarray]]:
        params, scalars, arrays = super()._state()
        ip, isc, iarr = self._inner._state()
        scalars["_inner"] = {"params": ip, "scalars": isc}
        arrays.update({"inner/" + k: v for k, v in iarr.items()})
        return params, scalars, arrays

    def _set_state(
        self, scalars: Mapping[str, Any], arrays: Mapping[str, np.ndarray]
    ) -> None:
        inner = scalars["_inner"]
        cls = STRATEGIES[self._params.strategy]
        k = len("inner/")
        self._inner = cls._from_checkpoint(
            inner["params"], inner["scalars"],
            {name[k:]: v for name, v in arrays.items() if name.startswith("inner/")})
        self._resize(self._inner.pop_size)
        super()._set_state(scalars, arrays)
        self._hist = list(self._hist)

    # ------------------------------------------------------------ properties
    @property
    def restarts(self) -> int:
        """Restarts so far."""
        return self._restarts

    @property
    def current_pop_size(self) -> int:
        """Population of the current run (the rows of the next ``ask``)."""
        return self._inner.pop_size

    @property
    def current(self) -> Algorithm:
        """The inner strategy of the current run (read it, do not drive it)."""
        return self._inner

    @property
    def mean(self) -> Float32Array:
        """Centre of the current run's search distribution, float32."""
        return self._inner.mean

    @property
    def sigma(self) -> Float64Array:
        """Per-coordinate standard deviation of the current run."""
        return self._inner.sigma
