"""Augmented random search (ARS).

Mania, Guy & Recht, "Simple random search of static linear policies is
competitive for reinforcement learning", NeurIPS 2018, algorithm 2.  Each
generation evaluates ``pop_size / 2`` directions ``delta_k`` in mirrored
pairs ``mean +- nu delta_k``; the ``top_b`` directions by ``max(r+, r-)``
move the centre by ``lr / (b sigma_R) sum (r+_k - r-_k) delta_k``, where
``sigma_R`` is the standard deviation of those ``2 b`` returns.

Versions: ARS V1 is this update on the raw returns of a policy; V2
additionally normalises the states the policy sees by the running mean and
standard deviation of every state visited so far, frozen within a
generation -- :class:`pyneat_lite.gym.Evaluate` with ``normalize_obs=True``
does exactly that for any gymnasium environment.  ``top_b < pop_size / 2``
gives V1-t / V2-t.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import _ranking
from .._typing import Float64Array
from ._es import EvolutionStrategy
from .params import POSITIVE, ESParams, Int, param

__all__ = ["ARS", "ARSParams"]


@dataclass(frozen=True, kw_only=True)
class ARSParams(ESParams):
    """Parameters of :class:`ARS` (see its docstring)."""

    lr: float = param(POSITIVE)
    top_b: int = param(Int(min_val=1, optional=True))

    @property
    def antithetic_sampling(self) -> bool:
        return True  # ARS always evaluates mirrored pairs

    def _resolve(self, caller: str) -> None:
        super()._resolve(caller)  # pop_size even
        n_dir = self.pop_size // 2
        if self.top_b is None:
            self._set("top_b", n_dir)
        if self.top_b > n_dir:
            raise ValueError(
                f"The 'top_b' parameter of {caller} must be at most the number of "
                f"directions pop_size / 2 = {n_dir}. Got {self.top_b} instead."
            )


class ARS(EvolutionStrategy):
    """Augmented random search (Mania et al. 2018), versions V1/V2(-t).

    Parameters
    ----------
    n_params : int
        Genome length (for a linear policy: ``obs_dim * n_actions`` weights,
        plus biases if the network has them).
    pop_size : int, default=32
        Evaluations per generation: twice the number of directions (even).
    sigma : float, default=0.03
        Exploration noise ``nu`` of the directions.
    lr : float, default=0.02
        Step size ``alpha``.
    top_b : int, optional
        Directions used per update (the best by ``max(r+, r-)``); default all
        ``pop_size / 2`` (V1/V2), fewer gives V1-t/V2-t.
    x0 : array-like of shape (n_params,), optional
        Initial policy; zeros by default (as in the paper).
    minimize, seed, hall_of_fame_size, n_threads
        As in :class:`OpenES`.

    Notes
    -----
    A non-finite return counts as 1 below the lowest finite return of the
    generation;
    when all ``2 b`` returns used are equal, the centre stays.

    Examples
    --------
    V1 on the library's CartPole (a linear policy):

    >>> import pyneat_lite as pn
    >>> net = pn.Network([4, 2], ["linear"])
    >>> ars = pn.ARS(n_params=net.n_params, pop_size=16, seed=0)
    >>> def fitness(pop):
    ...     return pn.envs.rollout(net, pop, pn.envs.CartPole(), seed=ars.generation)
    >>> r = ars.run(fitness, target=500.0, generations=100)
    >>> r.best_fitness
    500.0

    V2 (state normalisation) on a gymnasium environment::

        fitness = pn.gym.Evaluate(net, "CartPole-v1", normalize_obs=True)
        ars.run(fitness, generations=50)
    """

    name = "ars"
    Params = ARSParams
    _STATE_ARRAYS = EvolutionStrategy._ES_STATE_ARRAYS

    def __init__(
        self,
        n_params: int,
        pop_size: int = 32,
        *,
        sigma: float = 0.03,
        lr: float = 0.02,
        top_b: int | None = None,
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
        self._w1 = np.zeros(p.pop_size, dtype=np.float64)
        self._w2 = np.zeros(p.pop_size, dtype=np.float64)

    def _scale(self) -> Float64Array:
        return self._sigma

    def _tell(self, fitness: Float64Array, score: Float64Array) -> None:
        p = self._params
        finite = np.isfinite(score)
        if not finite.any():
            return
        # not rank-based: a NaN return needs a value; one below the lowest
        r = np.where(finite, score, score[finite].min() - 1.0)
        h = p.pop_size // 2
        r_plus, r_minus = r[:h], r[h:]
        top = _ranking.order(np.maximum(r_plus, r_minus))[: p.top_b]
        sigma_r = float(np.std(np.concatenate([r_plus[top], r_minus[top]])))
        if not sigma_r > 0.0:
            return
        # sum_{k in top} (r+_k - r-_k) delta_k: sample h + k is -delta_k
        w1 = self._w1
        w1[:] = 0.0
        w1[top] = r_plus[top]
        w1[h + top] = r_minus[top]
        g, _ = self._moments(w1, self._w2)
        self._mean += (p.lr / (p.top_b * sigma_r)) * g
