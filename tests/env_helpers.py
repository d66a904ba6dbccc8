"""Helpers of the environment tests: gymnasium environments started in the
library's start states."""

from __future__ import annotations

import gymnasium
import numpy as np


def gym_start(g, env_id, s0):
    """Put gymnasium's environment ``g`` in the library's start state ``s0``;
    return its observation."""
    u = g.unwrapped
    if env_id == "Acrobot-v1":
        u.state = s0.copy()
        return u._get_ob()
    if env_id == "Pendulum-v1":
        u.state = s0.copy()
        return np.array([np.cos(s0[0]), np.sin(s0[0]), s0[1]], np.float32)
    if env_id.startswith("MountainCar"):
        u.state = np.array(s0[:2], np.float64)
        return np.array(u.state, np.float32)
    u.state = s0.copy()  # CartPole
    return np.asarray(s0, np.float32)


class StartAt(gymnasium.Wrapper):
    """A gymnasium environment whose seeded resets start where the library's
    episode of that reset seed starts (gym.evaluate gives environment ``i`` of
    a group the seed ``reset_seed[e] + i``)."""

    def __init__(self, env, starts_by_seed, env_id):
        super().__init__(env)
        self.starts_by_seed = starts_by_seed
        self.env_id = env_id

    def reset(self, *, seed=None, options=None):
        obs, info = self.env.reset(seed=seed, options=options)
        if seed is None:  # an automatic reset after the end: its rewards are unused
            return obs, info
        return gym_start(self.env, self.env_id, self.starts_by_seed[seed]), info


def gym_evaluate_from_library_starts(net, pop, env, episodes, seed, max_steps,
                                     generation=0, **kwargs):
    """``pn.gym.evaluate`` on gymnasium's own ``env.id`` whose episodes start
    where ``pn.envs.rollout(..., seed=seed, generation=generation)`` with
    ``same_starts`` starts them (so the two must agree)."""
    import pyneat_lite as pn
    from pyneat_lite._rng import STREAMS, row_seeds

    probe = type(env)()
    probe.reset(episodes, seed=seed, generation=generation)
    reset_seeds = [int(s % (2**31 - 1))
                   for s in row_seeds(seed, generation, STREAMS["env"], episodes)]
    starts = {reset_seeds[e] + i: probe.state[e] for e in range(episodes)
              for i in range(len(pop))}

    def factory():
        return StartAt(gymnasium.make(env.id, max_episode_steps=max_steps), starts,
                       env.id)

    return pn.gym.evaluate(net, pop, factory, episodes=episodes, seed=seed,
                           generation=generation, **kwargs)
