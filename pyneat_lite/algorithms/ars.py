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
generation.  The fitness does the normalising -- ``pn.envs.Rollout(net,
env, normalize_obs=True)`` in the Numba rollouts of the built-in
environments, ``pn.gym.Evaluate(net, env_id, normalize_obs=True)`` for any
gymnasium environment, both with a :class:`~pyneat_lite.gym.ObsNormalizer`
-- and ``ARS(version="v2")`` makes the statistics part of the run: its
``run`` checks that the fitness normalises, shares its normaliser
(:attr:`ARS.normalizer`) and saves it in the checkpoints.  ``top_b <
pop_size / 2`` gives V1-t / V2-t.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import _ranking
from .._typing import Float64Array
from ._es import EvolutionStrategy
from .params import POSITIVE, ESParams, Int, OneOf, param

__all__ = ["ARS", "ARSParams"]


@dataclass(frozen=True, kw_only=True)
class ARSParams(ESParams):
    """Parameters of :class:`ARS` (see its docstring)."""

    lr: float = param(POSITIVE)
    top_b: int = param(Int(min_val=1, optional=True))
    version: str = param(OneOf(("v1", "v2")))

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
    version : {"v1", "v2"}, default="v1"
        ``"v2"``: the states are normalised (see the module docstring);
        :meth:`run` then needs a fitness with an ``ObsNormalizer`` in its
        ``normalizer`` attribute, and the checkpoints hold its statistics.
    x0 : array-like of shape (n_params,), optional
        Initial policy; zeros by default (as in the paper).
    minimize, seed, hall_of_fame_size, n_threads
        As in :class:`OpenES`.

    Attributes
    ----------
    normalizer : ObsNormalizer or None
        V2: the state normaliser of the run (the fitness's, once :meth:`run`
        has seen it; restored from a checkpoint); the policy of a genome is
        ``net`` applied to ``normalizer.normalize(obs)``.  None with V1.

    Notes
    -----
    A non-finite return counts as 1 below the lowest finite return of the
    generation;
    when all ``2 b`` returns used are equal, the centre stays.

    With V2, :meth:`run` gives the fitness the statistics of the ARS when it
    has some (a resumed run continues with its checkpoint's), else it adopts
    the fitness's normaliser.  With ask/tell, set ``ars.normalizer =
    fitness.normalizer`` to have checkpoints include it.  Evaluators in other
    processes do not update the normaliser (see ``Rollout``).

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

    V2 (state normalisation) on the library's environments, or on a
    gymnasium one with ``pn.gym.Evaluate(net, "CartPole-v1",
    normalize_obs=True)``:

    >>> ars = pn.ARS(n_params=net.n_params, pop_size=16, seed=0, version="v2")
    >>> fitness = pn.envs.Rollout(net, pn.envs.CartPole(), normalize_obs=True)
    >>> r = ars.run(fitness, generations=5)
    >>> ars.normalizer is fitness.normalizer
    True
    """

    name = "ars"
    Params = ARSParams
    _STATE_ARRAYS = (*EvolutionStrategy._ES_STATE_ARRAYS, "_obs_norm")

    def __init__(
        self,
        n_params: int,
        pop_size: int = 32,
        *,
        sigma: float = 0.03,
        lr: float = 0.02,
        top_b: int | None = None,
        version: str = "v1",
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
        self.normalizer: Any = None

    @property
    def version(self) -> str:
        """``"v1"`` or ``"v2"`` (state normalisation)."""
        return str(self._params.version)

    # the normaliser's statistics as one checkpoint array: row 0 the count
    # (in its first column), row 1 the mean, row 2 the variance
    @property
    def _obs_norm(self) -> np.ndarray | None:
        if self.normalizer is None:
            return None
        packed = np.zeros((3, int(np.prod(self.normalizer.shape))))
        packed[0, 0] = self.normalizer.count
        packed[1] = np.ravel(self.normalizer.mean)
        packed[2] = np.ravel(self.normalizer.var)
        return packed

    @_obs_norm.setter
    def _obs_norm(self, packed: np.ndarray) -> None:
        from .._obs_norm import ObsNormalizer

        norm = self.normalizer or ObsNormalizer(packed.shape[1])
        norm.set_state({"count": packed[0, 0], "mean": packed[1].reshape(norm.shape),
                        "var": packed[2].reshape(norm.shape)})
        self.normalizer = norm

    def _bind_fitness(self, fitness: Any) -> None:
        """Called by :meth:`run` before the first generation (V2: share the
        fitness's normaliser, see the class Notes)."""
        if self._params.version != "v2":
            return
        norm = getattr(fitness, "normalizer", None)
        if norm is None or not callable(getattr(norm, "get_state", None)):
            raise TypeError(
                "The 'fitness' argument of ARS.run must normalise the states with "
                "version='v2': a fitness with an ObsNormalizer in its 'normalizer' "
                "attribute, such as pn.envs.Rollout(net, env, normalize_obs=True) or "
                "pn.gym.Evaluate(net, env_id, normalize_obs=True). Got "
                f"{type(fitness).__name__} without one instead."
            )
        if norm is self.normalizer:
            return
        if self.normalizer is not None and self.normalizer.count > 0:
            if norm.shape != self.normalizer.shape:
                raise ValueError(
                    "The 'fitness' argument of ARS.run must normalise states of "
                    f"shape {self.normalizer.shape}, as this run did. Got a "
                    f"normalizer of shape {norm.shape} instead."
                )
            norm.set_state(self.normalizer.get_state())  # resume with the run's
        self.normalizer = norm

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
