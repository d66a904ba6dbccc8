"""Rollouts that also describe behaviour: ``(objective, measures)`` for QD.

:class:`BehaviorRollout` plays one episode per genome (every genome from the
same start state, as ``pn.envs.rollout(..., same_starts=True)``) through
the library's vectorized environments and ``Network.forward_each`` -- the
same observations, actions and returns as :func:`pyneat_lite.envs.rollout`
-- and also reports two behaviour measures per genome:

- CartPole: the cart position when the episode ends and the mean pole angle
  (radians) over the episode;
- Pendulum: the mean angular velocity and the mean torque applied.

The result plugs into :class:`pyneat_lite.qd.Scheduler` (``run(task)``) or a
:class:`~pyneat_lite.qd.NoveltyArchive`; :attr:`BehaviorRollout.measure_ranges`
gives ranges for a :class:`~pyneat_lite.qd.GridArchive`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._rng import resolve_seed
from .._validation import check_int, check_population
from .envs import CartPole, Pendulum, _check_env, _check_policy

__all__ = ["BehaviorRollout", "MEASURES"]

#: environment id -> (names of the two measures, their ranges)
MEASURES: dict[str, tuple[tuple[str, str], list[tuple[float, float]]]] = {
    "CartPole-v1": (("final cart position", "mean pole angle"),
                    [(-2.4, 2.4), (-0.21, 0.21)]),
    "Pendulum-v1": (("mean angular velocity", "mean torque"),
                    [(-8.0, 8.0), (-2.0, 2.0)]),
}


class BehaviorRollout:
    """Population -> (mean return, behaviour measures) on CartPole or Pendulum.

    Parameters
    ----------
    net : Network
        Policy (``n_in == env.obs_dim``, ``n_out == env.n_actions``).
    env : CartPole or Pendulum
    max_steps : int, optional
        Episode length; default ``env.max_steps``.
    seed : int, default=0
        Seed of the start state (shared by every genome and every call).

    Examples
    --------
    >>> import pyneat_lite as pn
    >>> net = pn.Network([4, 8, 2], ["tanh", "linear"])
    >>> task = pn.tasks.behavior.BehaviorRollout(net, pn.envs.CartPole(), seed=0)
    >>> ret, meas = task(net.init_population(16, seed=0))
    >>> ret.shape, meas.shape
    ((16,), (16, 2))
    """

    def __init__(self, net: Any, env: Any, *, max_steps: int | None = None,
                 seed: int = 0) -> None:
        caller = "BehaviorRollout"
        _check_env(env, caller)
        if not isinstance(env, (CartPole, Pendulum)):
            raise ValueError(
                f"The 'env' argument of {caller} must be a CartPole or Pendulum "
                f"(the environments with behaviour measures). Got "
                f"{type(env).__name__} instead."
            )
        _check_policy(net, env, caller, recurrent=False)  # forward_each, no state
        self.net = net
        self.env = env
        self.max_steps = env.max_steps if max_steps is None else check_int(
            max_steps, "max_steps", caller=caller, min_val=1)
        self.seed = resolve_seed(seed, caller=caller)
        self.measure_names, ranges = MEASURES[env.id]
        self.measure_ranges = [tuple(r) for r in ranges]

    def __call__(self, population: Any) -> tuple[np.ndarray, np.ndarray]:
        pop = check_population(population, caller="BehaviorRollout",
                               n_params=self.net.n_params, finite=False)
        env = self.env
        n = pop.shape[0]
        env.reset(1, self.seed)
        env.state = np.repeat(env.state, n, axis=0)
        env.elapsed = np.zeros(n, np.int64)
        obs = env.observe()
        returns = np.zeros(n)
        alive = np.ones(n, dtype=bool)
        steps = np.zeros(n)
        acc0 = np.zeros(n)
        acc1 = np.zeros(n)
        cartpole = isinstance(env, CartPole)
        for _ in range(self.max_steps):
            out = self.net.forward_each(pop, obs)
            if env.discrete:
                act = np.argmax(out, axis=1).astype(np.float64)
            else:
                o = np.clip(out[:, 0].astype(np.float64), -1.0, 1.0)
                act = env.action_low[0] + (o + 1.0) * 0.5 * (
                    env.action_high[0] - env.action_low[0])
            frozen = env.state[~alive].copy()
            obs, rew, term, _ = env.step(act)
            returns += np.where(alive, rew, 0.0)
            steps += alive
            if cartpole:
                acc0 = np.where(alive, env.state[:, 0], acc0)  # cart position
                acc1 += np.where(alive, env.state[:, 2], 0.0)  # pole angle
            else:
                acc0 += np.where(alive, env.state[:, 1], 0.0)  # angular velocity
                acc1 += np.where(alive, act, 0.0)  # torque
            # an ended episode stays still (its state would run off)
            env.state[~alive] = frozen
            alive &= ~term
            if not alive.any():
                break
        if cartpole:
            meas = np.stack([acc0, acc1 / steps], axis=1)
        else:
            meas = np.stack([acc0 / steps, acc1 / steps], axis=1)
        return returns, meas

    def __repr__(self) -> str:
        return (f"BehaviorRollout(env={type(self.env).__name__}, "
                f"max_steps={self.max_steps}, seed={self.seed})")
