"""The fitness callable :class:`~pyneat_lite.tasks.envs.Rollout` (issue 9
split; ``envs.py`` imports it back, the public name stays there).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._obs_norm import ObsNormalizer, fitness_state, set_fitness_state
from .._rng import resolve_seed
from .._validation import check_int, check_population
from ._env_base import _Env
from ._env_rollout import (
    _check_env,
    _check_n_threads,
    _check_normalizer,
    _check_policy,
    _rollout,
)
from ._structured import STRUCTURED, check_structured

__all__ = ["Rollout"]


class Rollout:
    """Fitness function ``population -> mean return`` for an environment.

    Each call uses new start states (``generation`` advances by one per call),
    so that a run does not overfit a fixed set of episodes; the same seed
    gives the same sequence of calls.  Everything but the population is
    validated once, here.

    Parameters
    ----------
    net : Network
    env : an environment of :data:`~pyneat_lite.tasks.envs.ENVS`
    episodes : int, default=3
    max_steps : int, optional
    seed : int, default=0
    same_starts : bool, default=True
        See :func:`~pyneat_lite.tasks.envs.rollout`.
    normalize_obs : bool or ObsNormalizer, default=False
        Keep an :class:`ObsNormalizer` (attribute ``normalizer``; ``True``
        makes a new one): each call normalises the observations with the
        statistics so far and then merges in that call's observations (ARS
        V2, as :class:`pyneat_lite.gym.Evaluate`; see
        :func:`~pyneat_lite.tasks.envs.rollout`).
    n_threads : int, optional
        See :func:`~pyneat_lite.tasks.envs.rollout`.

    Attributes
    ----------
    generation : int
        Index of the next call's start states.
    normalizer : ObsNormalizer or None
    accepts_structured : bool
        True: :meth:`Algorithm.run` hands this fitness an ES's structured
        population (``ask_structured()``), whose genomes the kernel forms
        lane by lane, never as a (P, n_params) array (the same returns, bit
        for bit).

    Notes
    -----
    :meth:`get_state` / :meth:`set_state` save and restore ``generation``
    and the normaliser's statistics (``pn.ARS(version="v2").run`` stores
    them in its checkpoints).  Under the ProcessPool and Ray evaluators each
    worker calls :meth:`evaluate` on a copy, which does not update the
    normaliser: use the in-process evaluator when normalising observations.
    """

    def __init__(self, net: Any, env: _Env, episodes: int = 3,
                 max_steps: int | None = None, seed: int = 0,
                 same_starts: bool = True, *,
                 normalize_obs: bool | ObsNormalizer = False,
                 n_threads: int | None = None) -> None:
        caller = "Rollout"
        _check_env(env, caller)
        _check_policy(net, env, caller)
        self.net = net
        self.env = env
        self.episodes = check_int(episodes, "episodes", caller=caller, min_val=1)
        self.max_steps = None if max_steps is None else check_int(
            max_steps, "max_steps", caller=caller, min_val=1)
        self.seed = resolve_seed(seed, caller=caller)
        self.same_starts = bool(same_starts)
        self.n_threads = _check_n_threads(n_threads)
        self.normalizer = (ObsNormalizer(env.obs_dim) if normalize_obs is True else
                           _check_normalizer(normalize_obs, env, caller))
        self.generation = 0

    accepts_structured = True

    def _run(self, population: Any, generation: int, caller: str,
             update: bool) -> np.ndarray:
        if isinstance(population, STRUCTURED):  # an ES's ask_structured()
            check_structured(self.net, population, caller)
            pop = population
        else:
            pop = check_population(population, caller=caller,
                                   n_params=self.net.n_params)
        max_steps = self.env.max_steps if self.max_steps is None else self.max_steps
        return _rollout(self.net, pop, self.env, self.episodes, max_steps, self.seed,
                        generation, self.same_starts, self.n_threads,
                        self.normalizer, update)[0]

    def evaluate(self, population: Any, generation: int) -> np.ndarray:
        """Mean returns with the start states of ``generation`` (no state
        change: the normaliser, if any, is applied but not updated)."""
        caller = "Rollout.evaluate"
        generation = check_int(generation, "generation", caller=caller, min_val=0)
        return self._run(population, generation, caller, update=False)

    def __call__(self, population: Any) -> np.ndarray:
        """Mean returns of ``population``; then advance to new start states
        (and merge the observations into the normaliser)."""
        out = self._run(population, self.generation, "Rollout", update=True)
        self.generation += 1
        return out

    def advance(self) -> None:
        """Move to the next start states without evaluating (used by the
        process-pool and Ray evaluators, whose workers call copies)."""
        self.generation += 1

    def get_state(self) -> dict[str, Any]:
        """``generation`` and the normaliser's arrays, for checkpoints (the
        keys of :meth:`pyneat_lite.gym.Evaluate.get_state`)."""
        return fitness_state(self.generation, self.normalizer)

    def set_state(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`get_state` returned."""
        self.generation = set_fitness_state(state, self.normalizer)
