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

from typing import Any

import numpy as np

from .._typing import Float64Array
from .._validation import check_scalar
from ._es import EvolutionStrategy
from .optim import adam_step, clipup_step
from .shaping import centered_ranks

__all__ = ["PGPE"]


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
    max_speed : float, optional
        ClipUp's speed limit; default ``2 * lr`` (Toklu et al.).
    momentum : float, default=0.9
        ClipUp's momentum.
    optimizer : {"clipup", "adam"}, default="clipup"
    sigma_lr : float, default=0.1
        Learning rate of the standard deviations.
    sigma_max_change : float, default=0.2
        Largest relative change of a standard deviation in one generation.
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
    baseline ``b`` the mean shaped fitness.

    Examples
    --------
    >>> import numpy as np, pyneat_lite as pn
    >>> es = pn.PGPE(n_params=10, sigma=0.5, minimize=True, seed=0)
    >>> r = es.run(lambda pop: np.sum((pop - 1.0) ** 2, axis=1), generations=300)
    >>> bool(r.best_fitness < 0.05)
    True
    """

    name = "pgpe"
    _STATE_ARRAYS = EvolutionStrategy._ES_STATE_ARRAYS + ("_sigma", "_vel", "_v")
    _STATE_SCALARS = ("_t",)

    def __init__(
        self,
        n_params: int,
        pop_size: int = 100,
        *,
        sigma: float = 0.05,
        lr: float | None = None,
        max_speed: float | None = None,
        momentum: float = 0.9,
        optimizer: str = "clipup",
        sigma_lr: float = 0.1,
        sigma_max_change: float = 0.2,
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
        if optimizer not in ("clipup", "adam"):
            raise ValueError(
                f"The 'optimizer' parameter of {c} must be 'clipup' or 'adam'. "
                f"Got {optimizer!r} instead."
            )
        self.optimizer = optimizer
        if lr is None:
            lr = (
                0.15 * self.sigma0 * float(np.sqrt(self.n_params))
                if optimizer == "clipup"
                else 0.3 * self.sigma0
            )
        self.lr = check_scalar(lr, "lr", caller=c, min_val=0.0, include_min=False)
        if max_speed is None:
            max_speed = 2.0 * self.lr
        self.max_speed = check_scalar(
            max_speed, "max_speed", caller=c, min_val=0.0, include_min=False
        )
        self.momentum = check_scalar(
            momentum, "momentum", caller=c, min_val=0.0, max_val=1.0, include_max=False
        )
        self.sigma_lr = check_scalar(sigma_lr, "sigma_lr", caller=c, min_val=0.0)
        self.sigma_max_change = check_scalar(
            sigma_max_change,
            "sigma_max_change",
            caller=c,
            min_val=0.0,
            max_val=1.0,
            include_max=False,
        )
        self._init_es(x0, True)
        self._sigma = np.full(self.n_params, self.sigma0, dtype=np.float64)
        self._vel = np.zeros(self.n_params, dtype=np.float64)
        self._v = np.zeros(self.n_params, dtype=np.float64)
        self._t = 0

    def _scale(self) -> Float64Array:
        return self._sigma

    def _tell(self, fitness: Float64Array, score: Float64Array) -> None:
        h = self.pop_size // 2
        u = centered_ranks(score)
        u_avg = 0.5 * (u[:h] + u[h:])
        # per-sample weights whose antithetic combination gives
        # (f+ - f-)/2 for the linear term and (avg - b) for the square term
        w1 = np.concatenate([0.5 * u[:h], 0.5 * u[h:]]) / h
        b = float(u_avg.mean())
        w2 = np.concatenate([u_avg - b, np.zeros(h)]) / h
        g_lin, g_sq = self._moments(w1, w2)
        grad_mu = self._sigma * g_lin
        # sum_i (avg_i - b) (z_i^2 - 1) = sum_i (avg_i - b) z_i^2 (zero-sum weights)
        grad_sigma = self._sigma * g_sq
        self._t += 1
        if self.optimizer == "clipup":
            clipup_step(
                self._mean, grad_mu, self._vel, self.lr, self.max_speed, self.momentum
            )
        else:
            adam_step(self._mean, grad_mu, self._vel, self._v, self._t, self.lr)
        new_sigma = self._sigma + self.sigma_lr * grad_sigma
        lo = (1.0 - self.sigma_max_change) * self._sigma
        hi = (1.0 + self.sigma_max_change) * self._sigma
        np.clip(new_sigma, lo, hi, out=self._sigma)

    def get_params(self) -> dict[str, Any]:
        return {
            **self._base_params(),
            "sigma": self.sigma0,
            "lr": self.lr,
            "max_speed": self.max_speed,
            "momentum": self.momentum,
            "optimizer": self.optimizer,
            "sigma_lr": self.sigma_lr,
            "sigma_max_change": self.sigma_max_change,
        }
