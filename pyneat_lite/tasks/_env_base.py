"""The base class of the Numba environments of :mod:`pyneat_lite.tasks.envs`.

Private: the public environment classes (and :data:`~pyneat_lite.tasks.envs.ENVS`)
stay in ``envs.py``, which imports :class:`_Env` back.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._kernels.envs import observe_env, reset_lanes, step_env
from .._rng import STREAMS, resolve_seed, row_seeds
from .._typing import SeedLike
from .._validation import check_int


class _Env:
    """Shared machinery of the vectorized environments (gymnasium-like API).

    Attributes
    ----------
    state : ndarray of float64, shape (n_envs, state_dim)
        The physical state, as gymnasium stores it; writable, so that a test
        can copy a gymnasium state in.
    elapsed : ndarray of int64, shape (n_envs,)
        Steps since the last reset (for truncation).
    """

    _kind: int
    id: str
    obs_dim: int
    state_dim: int
    discrete: bool
    n_actions: int  # discrete: number of actions; continuous: action dimension
    action_low: np.ndarray
    action_high: np.ndarray

    def __init__(self, params: np.ndarray, max_steps: int) -> None:
        self.params = np.ascontiguousarray(params, dtype=np.float64)
        self.max_steps = check_int(max_steps, "max_steps", caller=type(self).__name__,
                                   min_val=1)
        self.state = np.zeros((0, self.state_dim))
        self.elapsed = np.zeros(0, np.int64)

    @property
    def n_outputs(self) -> int:
        """Number of network outputs a policy for this environment must have."""
        return self.n_actions

    def reset(
        self, n_envs: int, seed: SeedLike = None, generation: int = 0
    ) -> np.ndarray:
        """Start ``n_envs`` fresh episodes.

        Parameters
        ----------
        n_envs : int
            Number of environments.
        seed : int or None
            Seed; environment ``i`` starts from the xoshiro256** stream of
            ``row_seeds(seed, generation, STREAMS["env"], n_envs)[i]``
            (the module docstring gives the distributions).
        generation : int, default=0
            Second key of the stream (a new set of start states per value).

        Returns
        -------
        ndarray of float32, shape (n_envs, obs_dim)
            First observations.
        """
        caller = f"{type(self).__name__}.reset"
        n = check_int(n_envs, "n_envs", caller=caller, min_val=1)
        generation = check_int(generation, "generation", caller=caller, min_val=0)
        seeds = row_seeds(resolve_seed(seed, caller=caller), generation,
                          STREAMS["env"], n)
        S = np.empty((self.state_dim, n))
        reset_lanes(self._kind, S, seeds)
        self.state = np.ascontiguousarray(S.T)
        self.elapsed = np.zeros(n, np.int64)
        return self.observe()

    def observe(self) -> np.ndarray:
        """Observations of the current states, float32 (n_envs, obs_dim)."""
        S = np.ascontiguousarray(self.state.T, dtype=np.float64)
        obs = np.empty((self.obs_dim, S.shape[1]), np.float32)
        observe_env(self._kind, S, obs)
        return np.ascontiguousarray(obs.T)

    def step(
        self, actions: Any
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Step every environment once with raw actions.

        Parameters
        ----------
        actions : array-like, shape (n_envs,) or (n_envs, 1)
            Discrete action ids, or continuous actions (clipped to the bounds
            as gymnasium does).

        Returns
        -------
        obs : ndarray of float32, shape (n_envs, obs_dim)
        reward : ndarray of float64, shape (n_envs,)
        terminated, truncated : ndarray of bool, shape (n_envs,)
            As gymnasium reports them; no automatic reset (call :meth:`reset`).
        """
        n = self.state.shape[0]
        if n == 0:
            raise RuntimeError(f"{type(self).__name__}.step called before reset.")
        a = np.asarray(actions, dtype=np.float64).reshape(n, -1)
        if a.shape[1] != 1:
            raise ValueError(
                f"The 'actions' argument of {type(self).__name__}.step must have shape "
                f"({n},) or ({n}, 1). Got shape {np.shape(actions)} instead."
            )
        if self.discrete and not np.isin(a, np.arange(self.n_actions)).all():
            raise ValueError(
                f"The 'actions' argument of {type(self).__name__}.step must hold "
                f"integers in [0, {self.n_actions - 1}]."
            )
        S = np.ascontiguousarray(self.state.T, dtype=np.float64)
        rew = np.empty(n)
        term = np.empty(n, np.bool_)
        step_env(self._kind, S, np.ascontiguousarray(a[:, 0]), self.params, rew, term)
        self.state[...] = S.T
        self.elapsed += 1
        trunc = self.elapsed >= self.max_steps
        return self.observe(), rew, term, trunc

    def __repr__(self) -> str:
        return f"{type(self).__name__}(max_steps={self.max_steps})"
