"""OpenAI-ES.

Salimans, Ho, Chen, Sidor & Sutskever, "Evolution Strategies as a Scalable
Alternative to Reinforcement Learning", arXiv:1703.03864 (2017): an isotropic
Gaussian of fixed ``sigma`` around a centre that a gradient optimiser (Adam,
or SGD with momentum) moves along the search gradient estimated from
antithetic samples, with centered-rank fitness shaping and weight decay.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._typing import Float64Array
from ._es import EvolutionStrategy
from ._lowrank import check_lowrank, network_param, rank_param
from .optim import adam_step, sgd_step
from .params import (
    DECAY,
    FRACTION,
    NON_NEGATIVE,
    POSITIVE,
    Bool,
    ESParams,
    OneOf,
    param,
)
from .shaping import centered_ranks

__all__ = ["OpenES", "OpenESParams"]

#: Defaults of the arguments left as None, by mode (full rank: tuned on
#: digits; ``rank`` given: chosen by ``benchmarks/sweep_lowrank.py`` over
#: digits, MNIST 784-32-10 and 784-128-10 and CartPole; see the docstring).
FULL_RANK_DEFAULTS = {"pop_size": 50, "sigma": 0.02, "lr": 0.03, "lr_decay": 1.0,
                      "lr_limit": 0.0}
LOW_RANK_DEFAULTS = {"pop_size": 1000, "sigma": 0.02, "lr": 0.01, "lr_decay": 1.0,
                     "lr_limit": 0.0}

@dataclass(frozen=True, kw_only=True)
class OpenESParams(ESParams):
    """Parameters of :class:`OpenES` (see its docstring)."""

    lr: float = param(POSITIVE)
    lr_decay: float = param(FRACTION)
    lr_limit: float = param(NON_NEGATIVE)
    optimizer: str = param(OneOf(("adam", "sgd")))
    momentum: float = param(DECAY)
    beta1: float = param(DECAY)
    beta2: float = param(DECAY)
    weight_decay: float = param(NON_NEGATIVE)
    antithetic: bool = param(Bool())
    rank: int | None = rank_param()
    network: Any = network_param()

    def _resolve(self, caller: str) -> None:
        check_lowrank(self.network, self.rank, self.n_params, caller)
        super()._resolve(caller)


class OpenES(EvolutionStrategy):
    """OpenAI evolution strategy (Salimans et al. 2017).

    Parameters
    ----------
    n_params : int
        Genome length.
    pop_size : int, optional
        Genomes per generation (even: antithetic pairs).  Default 50 (full
        rank) or 1000 (with ``rank``).  Small populations take more, cheaper
        steps; raise it for noisy fitness (minibatches, episodes).
    sigma : float, optional
        Standard deviation of the perturbations (fixed).  Default 0.02 in
        both modes (Salimans et al.'s).
    lr : float, optional
        Learning rate of the optimiser.  With Adam a step moves each
        coordinate by about ``lr``.  Default 0.03 (full rank) or 0.01 (with
        ``rank``).
    lr_decay : float, optional
        The learning rate of generation ``t`` is ``max(lr * lr_decay**t,
        lr_limit)`` (evosax's ``lrate_decay``/``lrate_limit``); 1 keeps it
        constant.  A slow decay (e.g. 0.998) lets a long run settle below
        the noise floor of a minibatch fitness.  Default 1 (constant).
    lr_limit : float, optional
        Floor of the decayed learning rate.  Default 0.
    optimizer : {"adam", "sgd"}, default="adam"
        "sgd" is SGD with heavy-ball ``momentum``.
    momentum : float, default=0.9
        Momentum of "sgd".
    beta1, beta2 : float, default=0.9, 0.999
        Adam's moment decay rates.
    weight_decay : float, default=0.0
        L2 pull of the centre towards zero, added to the gradient
        (Salimans et al. used 0.005).
    antithetic : bool, default=True
        Mirrored sampling: the second half of the population is
        ``mean - sigma * z`` of the first half's ``mean + sigma * z``.
    rank : int, optional
        Low-rank mode (EGGROLL, Sarkar et al. 2025): every weight matrix
        ``W (in, out)`` of ``network`` is perturbed by ``sigma / sqrt(rank) *
        A.T @ B`` with standard-normal ``A (rank, in)``, ``B (rank, out)``,
        every bias by full-rank ``sigma * e``.  The noise takes ``rank * (in
        + out)`` values per matrix, ``Classification``/``Regression`` score
        the population from it (:meth:`ask_structured`; :meth:`run` does
        this by itself) at a small fraction of a full-rank evaluation, and
        the update ``sum_k u_k A_k.T B_k`` is still full-rank.  ``None``:
        full-rank noise.  Defaults by mode: without ``rank`` the
        full-rank defaults (tuned on digits); with it ``pop_size=1000,
        sigma=0.02, lr=0.01``, chosen by ``benchmarks/sweep_lowrank.py``
        (``benchmarks/results/sweep_lowrank_defaults.md``, Intel Xeon, 2
        cores, shared machine, CPU-second budgets): rank 1 reaches 0.917
        test accuracy on MNIST 784-32-10 in 30 CPU s (P 50: 0.80, P 200:
        0.90, P 500: 0.915; lr 0.03: 0.896; sigma 0.01: 0.910), 0.924 on
        784-128-10 in 60 CPU s, and solves CartPole in 2.4 CPU s (sigma
        0.01 is no better on MNIST and kept as 0.02 for policies); on
        digits it needs about 4 CPU s (use the full-rank defaults there).
        For long MNIST runs a slow decay (``lr=0.015, lr_decay=0.996,
        lr_limit=0.0005``, P 2000, sigma 0.01) gains about 0.015 on
        784-128-10.
    network : Network, optional
        The network the genomes are weights of (required with ``rank``; its
        ``n_params`` must be ``n_params``).
    x0 : array-like of shape (n_params,), optional
        Initial centre (e.g. ``net.init_genome(seed)``); zeros by default.
    minimize : bool, default=False
        Lower fitness is better.
    seed : int, SeedSequence or None, default=None
        Resolved to an int and kept in :attr:`seed`.
    hall_of_fame_size : int, default=10
        Distinct best genomes kept.
    n_threads : int, optional
        Threads of the sampling kernel; results do not depend on it.

    Attributes
    ----------
    mean : float32 array of shape (n_params,)
        Centre of the search distribution (usually the genome to deploy).
    best : float32 array of shape (n_params,)
        Best genome evaluated so far.

    Notes
    -----
    The ascent direction is ``1 / (pop_size * sigma) * sum_k u_k z_k`` with
    ``u`` the centered ranks in [-0.5, 0.5] and ``z_k`` the standard-normal
    perturbation of genome ``k`` (in low-rank mode ``A_k.T B_k / sqrt(rank)``
    per weight matrix, whose entries have unit variance too); weight decay
    subtracts ``weight_decay * mean``.

    Examples
    --------
    >>> import numpy as np, pyneat_lite as pn
    >>> es = pn.OpenES(n_params=10, seed=0)
    >>> r = es.run(lambda pop: -np.sum((pop - 1.0) ** 2, axis=1), generations=300)
    >>> bool(np.abs(es.mean - 1.0).max() < 0.1)
    True
    """

    name = "openes"
    Params = OpenESParams
    _STATE_ARRAYS = EvolutionStrategy._ES_STATE_ARRAYS + ("_m", "_v")
    _STATE_SCALARS = ("_t",)

    def __init__(
        self,
        n_params: int,
        pop_size: int | None = None,
        *,
        sigma: float | None = None,
        lr: float | None = None,
        lr_decay: float | None = None,
        lr_limit: float | None = None,
        optimizer: str = "adam",
        momentum: float = 0.9,
        beta1: float = 0.9,
        beta2: float = 0.999,
        weight_decay: float = 0.0,
        antithetic: bool = True,
        rank: int | None = None,
        network: Any = None,
        x0: Any = None,
        minimize: bool = False,
        seed: Any = None,
        hall_of_fame_size: int = 10,
        n_threads: int | None = None,
    ) -> None:
        d = FULL_RANK_DEFAULTS if rank is None else LOW_RANK_DEFAULTS
        pop_size = d["pop_size"] if pop_size is None else pop_size
        sigma = d["sigma"] if sigma is None else sigma
        lr = d["lr"] if lr is None else lr
        lr_decay = d["lr_decay"] if lr_decay is None else lr_decay
        lr_limit = d["lr_limit"] if lr_limit is None else lr_limit
        super().__init__(locals())
        self._init_es(x0)
        n = self._params.n_params
        self._m = np.zeros(n, dtype=np.float64)
        self._v = np.zeros(n, dtype=np.float64)
        self._t = 0
        self._scale_vec = np.full(n, self._params.sigma, dtype=np.float64)
        self._no_weights = np.zeros(self._params.pop_size)  # no square term
        self._work = (np.empty(n), np.empty(n))  # the update's scratch

    def _scale(self) -> Float64Array:
        return self._scale_vec

    def _tell(self, fitness: Float64Array, score: Float64Array) -> None:
        p = self._params
        u = centered_ranks(score)
        g, _ = self._moments(u, self._no_weights)
        grad = np.multiply(g, 1.0 / (p.pop_size * p.sigma), out=g)
        if p.weight_decay:
            grad -= p.weight_decay * self._mean
        self._t += 1
        lr = p.lr
        if p.lr_decay != 1.0:
            lr = max(lr * p.lr_decay ** (self._t - 1), p.lr_limit)
        if p.optimizer == "adam":
            adam_step(self._mean, grad, self._m, self._v, self._t, lr, p.beta1,
                      p.beta2, work=self._work)
        else:
            sgd_step(self._mean, grad, self._m, lr, p.momentum)
