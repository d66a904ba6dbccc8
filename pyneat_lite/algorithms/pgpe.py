"""Policy gradients with parameter-based exploration (PGPE) and ClipUp.

Sehnke, Osendorfer, Rueckstiess, Graves, Peters & Schmidhuber,
"Parameter-exploring policy gradients", Neural Networks 23 (2010): symmetric
(antithetic) sampling around a centre, with separate gradients for the
centre and for the per-coordinate standard deviations.  The centre is moved
by ClipUp (Toklu, Liskowski & Srivastava, "ClipUp: A Simple and Powerful
Optimizer for Distribution-based Policy Evolution", PPSN 2020) -- normalised
gradient, momentum, clipped speed -- or by Adam; fitness is shaped with
centered ranks, and the standard deviations may change by at most
``sigma_max_change`` per generation, as in EvoTorch's PGPE.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._typing import Float64Array
from ._es import EvolutionStrategy
from ._lowrank import check_lowrank, network_param, rank_param
from .optim import adam_step, clipup_step
from .params import DECAY, FRACTION, NON_NEGATIVE, ESParams, OneOf, Real, param
from .shaping import centered_ranks

__all__ = ["PGPE", "PGPEParams"]

_POSITIVE_OR_NONE = Real(min_val=0.0, include_min=False, optional=True)  # None: derived


@dataclass(frozen=True, kw_only=True)
class PGPEParams(ESParams):
    """Parameters of :class:`PGPE` (see its docstring)."""

    lr: float = param(_POSITIVE_OR_NONE)
    lr_decay: float = param(FRACTION)
    lr_limit: float = param(NON_NEGATIVE)
    max_speed: float = param(_POSITIVE_OR_NONE)
    momentum: float = param(DECAY)
    optimizer: str = param(OneOf(("clipup", "adam")))
    sigma_lr: float = param(NON_NEGATIVE)
    sigma_max_change: float = param(DECAY)
    weight_decay: float = param(NON_NEGATIVE)
    rank: int | None = rank_param()
    network: Any = network_param()

    @property
    def antithetic_sampling(self) -> bool:
        """Always True: PGPE samples symmetric pairs."""
        return True

    def _resolve(self, caller: str) -> None:
        check_lowrank(self.network, self.rank, self.n_params, caller)
        if self.lr is None:
            # ClipUp's step is an L2 length over the genome: about 0.15 sigma
            # per coordinate (Toklu et al. 2020); Adam's is per coordinate.
            if self.optimizer == "clipup":
                lr = 0.15 * self.sigma * float(np.sqrt(self.n_params))
            else:
                lr = 0.3 * self.sigma
            self._set("lr", lr)
        if self.max_speed is None:
            self._set("max_speed", 2.0 * self.lr)
        super()._resolve(caller)


class PGPE(EvolutionStrategy):
    """PGPE with ClipUp (Sehnke et al. 2010; Toklu et al. 2020).

    Parameters
    ----------
    n_params : int
        Genome length.
    pop_size : int, default=100
        Genomes per generation (even: symmetric pairs).
    sigma : float, default=0.05
        Initial standard deviation of every coordinate.
    lr : float, optional
        Centre step size: ClipUp's step (an L2 length over the whole genome)
        or Adam's per-coordinate rate.  Default for ClipUp
        ``0.15 * sigma * sqrt(n_params)`` (about 0.15 sigma per coordinate),
        for Adam ``0.3 * sigma``.
    lr_decay : float, default=1.0
        The centre rate of generation ``t`` is ``max(lr * lr_decay**t,
        lr_limit)`` (``t`` from 0, as :class:`OpenES`); ClipUp's speed limit
        is scaled by the same factor.  1 keeps the rate constant.
    lr_limit : float, default=0.0
        Floor of the decayed rate.
    max_speed : float, optional
        ClipUp's speed limit; default ``2 * lr`` (Toklu et al.).
    momentum : float, default=0.9
        ClipUp's momentum.
    optimizer : {"clipup", "adam"}, default="clipup"
    sigma_lr : float, default=0.1
        Learning rate of the standard deviations.
    sigma_max_change : float, default=0.2
        Largest relative change of a standard deviation in one generation.
    weight_decay : float, default=0.0
        L2 pull of the centre towards zero: ``weight_decay * sigma**2 *
        mean`` is subtracted from the centre gradient, the natural-gradient
        form of the penalty ``weight_decay / 2 * |mean|**2`` (the centre
        gradient is the natural one, ``sigma**2`` times :class:`OpenES`'s
        plain gradient), so a coefficient pulls as hard as the same one in
        :class:`OpenES` at the same ``sigma``.  Rank 1 on 8,000 MNIST
        images, the 784-128-10 network fits its training set exactly within
        a minute; 0.2 then lifted the test accuracy at 60 s by about 0.005
        (``benchmarks/bench_lowrank_quality.py``, configuration 32).
    rank : int, optional
        Low-rank noise per weight matrix of ``network``, as in
        :class:`OpenES`.  The standard deviation of a weight matrix is then
        one number (a per-entry scale would make the perturbation full
        rank), adapted from the mean squared entry of the matrix's
        perturbations; biases keep one standard deviation per coordinate.
    network : Network, optional
        Required with ``rank``.
    x0 : array-like of shape (n_params,), optional
        Initial centre; zeros by default.
    minimize, seed, hall_of_fame_size, n_threads
        As in :class:`OpenES`.

    Notes
    -----
    With pairs ``mean +- sigma * z_i`` and shaped fitness ``f+_i, f-_i``
    (centered ranks), the centre gradient is
    ``sigma * sum_i (f+_i - f-_i) / 2 * z_i / n_pairs`` and the sigma gradient
    ``sigma * sum_i ((f+_i + f-_i) / 2 - b) * (z_i**2 - 1) / n_pairs`` with
    baseline ``b`` the mean shaped fitness; weight decay then subtracts
    ``weight_decay * sigma**2 * mean`` from the centre gradient.

    Examples
    --------
    >>> import numpy as np, pyneat_lite as pn
    >>> es = pn.PGPE(n_params=10, sigma=0.5, minimize=True, seed=0)
    >>> r = es.run(lambda pop: np.sum((pop - 1.0) ** 2, axis=1), generations=300)
    >>> bool(r.best_fitness < 0.05)
    True
    """

    name = "pgpe"
    Params = PGPEParams
    _STATE_ARRAYS = EvolutionStrategy._ES_STATE_ARRAYS + ("_sigma", "_vel", "_v")
    _STATE_SCALARS = ("_t",)

    def __init__(
        self,
        n_params: int,
        pop_size: int = 100,
        *,
        sigma: float = 0.05,
        lr: float | None = None,
        lr_decay: float = 1.0,
        lr_limit: float = 0.0,
        max_speed: float | None = None,
        momentum: float = 0.9,
        optimizer: str = "clipup",
        sigma_lr: float = 0.1,
        sigma_max_change: float = 0.2,
        weight_decay: float = 0.0,
        rank: int | None = None,
        network: Any = None,
        x0: Any = None,
        minimize: bool = False,
        seed: Any = None,
        hall_of_fame_size: int = 10,
        n_threads: int | None = None,
    ) -> None:
        super().__init__(locals())
        self._init_es(x0)
        p = self._params
        self._sigma = np.full(p.n_params, p.sigma, dtype=np.float64)
        self._vel = np.zeros(p.n_params, dtype=np.float64)
        self._v = np.zeros(p.n_params, dtype=np.float64)
        self._t = 0
        # square-term weights: the second half (mirrored samples) stays zero
        self._w2 = np.zeros(p.pop_size, dtype=np.float64)
        self._work = (np.empty(p.n_params), np.empty(p.n_params))  # Adam's scratch

    def _scale(self) -> Float64Array:
        return self._sigma

    def _tell(self, fitness: Float64Array, score: Float64Array) -> None:
        p = self._params
        h = p.pop_size // 2
        u = centered_ranks(score)
        u_avg = 0.5 * (u[:h] + u[h:])
        # per-sample weights whose antithetic combination gives
        # (f+ - f-)/2 for the linear term and (avg - b) for the square term
        w1 = 0.5 * u
        w1 /= h
        b = float(np.add.reduce(u_avg)) / h  # u_avg.mean(), without its overhead
        w2 = self._w2
        np.subtract(u_avg, b, out=w2[:h])
        w2[:h] /= h
        g_lin, g_sq = self._moments(w1, w2)
        grad_mu = self._sigma * g_lin
        if p.weight_decay:
            # natural gradient of -weight_decay / 2 * |mean|^2: sigma^2 * (-wd mean)
            pull = np.multiply(self._sigma, self._sigma, out=self._work[0])
            pull *= self._mean
            pull *= p.weight_decay
            grad_mu -= pull
        # sum_i (avg_i - b) (z_i^2 - 1) = sum_i (avg_i - b) z_i^2 (zero-sum weights)
        grad_sigma = self._sigma * g_sq
        self._t += 1
        lr = p.lr
        if p.lr_decay != 1.0:
            lr = max(lr * p.lr_decay ** (self._t - 1), p.lr_limit)
        if p.optimizer == "clipup":
            clipup_step(self._mean, grad_mu, self._vel, lr, p.max_speed * (lr / p.lr),
                        p.momentum)
        else:
            adam_step(self._mean, grad_mu, self._vel, self._v, self._t, lr,
                      work=self._work)
        new_sigma = self._sigma + p.sigma_lr * grad_sigma
        lo = (1.0 - p.sigma_max_change) * self._sigma
        hi = (1.0 + p.sigma_max_change) * self._sigma
        # np.clip(new_sigma, lo, hi), without its Python-level overhead
        np.minimum(np.maximum(new_sigma, lo, out=new_sigma), hi, out=self._sigma)
