"""Evaluate a population of policies on any gymnasium environment.

:func:`evaluate` runs one environment per genome through gymnasium's vector
API (``gymnasium.make_vec``: the environment's own vectorized implementation
when it has one, else ``SyncVectorEnv``) and one batched forward pass per
step (``Network.forward_each``'s kernel: everything is validated once, at
the entry, and each step only checks that the environment's observations are
finite).  :class:`ObsNormalizer` keeps running
observation statistics whose state can be saved in checkpoints (the same
class normalises the Numba rollouts of :mod:`pyneat_lite.envs`);
:class:`Evaluate` is the stateful fitness callable that ties them together.

For ``CartPole-v1`` and ``Pendulum-v1``, :mod:`pyneat_lite.envs` runs the
same dynamics in compiled code, far faster.

Examples
--------
>>> net = pn.Network([4, 16, 2], ["tanh", "linear"])
>>> pop = net.init_population(32, seed=0)
>>> pn.gym.evaluate(net, pop, "CartPole-v1", episodes=2, seed=0).shape
(32,)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .._kernels.forward import forward_each_kernel
from .._kernels.genome_source import forward_each_source
from .._obs_norm import ObsNormalizer, fitness_state, set_fitness_state
from .._rng import STREAMS, resolve_seed, row_seeds
from .._threads import effective_n_threads, kernel_threads
from .._validation import check_int, check_population
from ._structured import STRUCTURED, check_structured, genome_source

__all__ = ["ObsNormalizer", "Evaluate", "evaluate"]


def _make_vec(env: str | Callable[[], Any], num_envs: int, caller: str) -> Any:
    import gymnasium

    if isinstance(env, str):
        try:
            gymnasium.spec(env)
        except gymnasium.error.Error as exc:
            raise ValueError(
                f"The 'env' argument of {caller} is not a registered gymnasium "
                f"environment id: {env!r} ({exc})."
            ) from exc
        return gymnasium.make_vec(env, num_envs=num_envs)
    if callable(env):
        return gymnasium.vector.SyncVectorEnv([env] * num_envs)
    raise TypeError(
        f"The 'env' argument of {caller} must be a gymnasium environment id or a "
        f"factory returning an environment. Got {type(env).__name__} instead."
    )


def _policy_spec(net: Any, obs_space: Any, act_space: Any, caller: str) -> tuple:
    """Check that the spaces fit the network; return how to map I/O."""
    from gymnasium import spaces

    if isinstance(obs_space, spaces.Box):
        obs_kind, obs_size = "box", int(np.prod(obs_space.shape))
        obs_desc = f"Box of shape {obs_space.shape}"
    elif isinstance(obs_space, spaces.Discrete):
        obs_kind, obs_size = "onehot", int(obs_space.n)
        obs_desc = f"Discrete({obs_space.n}) (one-hot)"
    else:
        raise ValueError(
            f"{caller} supports Box and Discrete observation spaces. Got "
            f"{obs_space} instead."
        )
    if obs_size != net.n_in:
        raise ValueError(
            f"The network of {caller} does not fit the environment: its input has "
            f"shape ({net.n_in},), the observation space is {obs_desc}, i.e. "
            f"({obs_size},) values."
        )
    if isinstance(act_space, spaces.Discrete):
        need = int(act_space.n)
        act_desc = f"Discrete({act_space.n}) (one output per action, argmax)"
    elif isinstance(act_space, spaces.Box) and len(act_space.shape) == 1:
        need = int(act_space.shape[0])
        act_desc = f"Box of shape {act_space.shape}"
    else:
        raise ValueError(
            f"{caller} supports Discrete and 1-D Box action spaces. Got {act_space} "
            "instead."
        )
    if need != net.n_out:
        raise ValueError(
            f"The network of {caller} does not fit the environment: its output has "
            f"shape ({net.n_out},), the action space is {act_desc}, which needs "
            f"({need},) outputs."
        )
    return obs_kind, obs_size


def _actions(out: np.ndarray, act_space: Any) -> np.ndarray:
    from gymnasium import spaces

    if isinstance(act_space, spaces.Discrete):
        return (np.argmax(out, axis=1) + int(act_space.start)).astype(act_space.dtype)
    low = act_space.low.astype(np.float64)
    high = act_space.high.astype(np.float64)
    o = out.astype(np.float64)
    finite = np.isfinite(low) & np.isfinite(high)
    # bounded dimensions: outputs in [-1, 1] scaled to [low, high]
    scaled = low + (np.clip(o, -1.0, 1.0) + 1.0) * 0.5 * (high - low)
    a = np.where(finite, scaled, o)
    return a.astype(act_space.dtype)


def evaluate(
    net: Any,
    population: Any,
    env: str | Callable[[], Any],
    episodes: int = 1,
    seed: Any = 0,
    *,
    max_steps: int | None = None,
    generation: int = 0,
    normalize_obs: bool | ObsNormalizer = False,
    num_envs: int | None = None,
    n_threads: int | None = None,
) -> np.ndarray:
    """Mean return of every genome's policy on a gymnasium environment.

    Parameters
    ----------
    net : Network
        Input: the flattened observation (a ``Discrete`` observation is
        one-hot encoded).  Output: one value per discrete action (argmax), or
        one per dimension of a ``Box`` action (clipped to [-1, 1], then scaled
        to the bounds; unbounded dimensions take the raw output).
    population : array-like of float32, shape (P, net.n_params)
        Or an ES's structured population (``ask_structured()``): each
        member's genome is then formed in the forward kernel at every step
        (Dense networks; a layered one gets each group's genomes), the
        outputs of the materialised genomes bit for bit.
    env : str or callable
        A registered environment id (``"CartPole-v1"``), or a factory
        returning a fresh ``gymnasium.Env``.
    episodes : int, default=1
    seed : int, default=0
        With ``generation`` and the episode index, gives the reset seed.
    max_steps : int, optional
        Stop each episode after this many steps (on top of the
        environment's own time limit).
    generation : int, default=0
        New values give new start states.
    normalize_obs : False or ObsNormalizer, default=False
        A normalizer is applied with its statistics frozen for the call and
        then updated with every observation of the call.  Keep the same
        instance across generations (or use :class:`Evaluate`).
    num_envs : int, optional
        Environments run side by side; default ``min(P, 1024)``; genomes are
        evaluated in groups of that size.
    n_threads : int, optional
        Numba threads of the policies' forward passes (``None``: all usable
        cores; small populations run on one thread).  Results do not depend
        on it.

    Returns
    -------
    ndarray of float64, shape (P,)

    Raises
    ------
    ValueError
        Unknown environment id, spaces that do not fit the network (the
        message names both shapes), or an environment that returns
        non-finite observations.
    """
    caller = "gym.evaluate"
    if isinstance(population, STRUCTURED):  # an ES's ask_structured()
        check_structured(net, population, caller)
        pop = population
    else:
        pop = check_population(population, caller=caller, n_params=net.n_params)
    episodes = check_int(episodes, "episodes", caller=caller, min_val=1)
    generation = check_int(generation, "generation", caller=caller, min_val=0)
    if max_steps is not None:
        max_steps = check_int(max_steps, "max_steps", caller=caller, min_val=1)
    seed = resolve_seed(seed, caller=caller)
    if n_threads is not None:
        effective_n_threads(n_threads)  # validates
    normalizer = None
    if isinstance(normalize_obs, ObsNormalizer):
        normalizer = normalize_obs
    elif normalize_obs is not False:
        raise TypeError(
            f"The 'normalize_obs' argument of {caller} must be False or an "
            f"ObsNormalizer (whose statistics persist across calls; see "
            f"pn.gym.Evaluate). Got {normalize_obs!r} instead."
        )
    n_pop = pop.shape[0]
    if num_envs is None:
        group = min(n_pop, 1024)
    else:
        group = min(n_pop, check_int(num_envs, "num_envs", caller=caller, min_val=1))
    vec = _make_vec(env, group, caller)
    try:
        obs_kind, obs_size = _policy_spec(net, vec.single_observation_space,
                                          vec.single_action_space, caller)
        # 31-bit reset seeds per episode, from the "env" stream
        reset_seeds = row_seeds(seed, generation, STREAMS["env"], episodes)
        reset_seeds = [int(s % (2**31 - 1)) for s in reset_seeds]
        returns = np.zeros(n_pop)
        seen: list[np.ndarray] = []
        for lo in range(0, n_pop, group):
            hi = min(n_pop, lo + group)
            if hi - lo != group:  # last, smaller group
                vec.close()
                vec = _make_vec(env, hi - lo, caller)
            if isinstance(pop, np.ndarray) or net._stack is not None:
                rows = pop[lo:hi]  # (a layered net: the group's genomes)
            else:  # each member's genome formed in the step's kernel
                rows = (genome_source(pop), lo, hi - lo)
            returns[lo:hi] = _run_group(net, rows, vec, episodes, reset_seeds,
                                        lo, max_steps, obs_kind, obs_size, normalizer,
                                        seen, n_threads, caller)
    finally:
        vec.close()
    if normalizer is not None and seen:
        normalizer.update(np.concatenate(seen))
    return returns / episodes


def _run_group(net, pop, vec, episodes, reset_seeds, lo, max_steps, obs_kind,
               obs_size, normalizer, seen, n_threads, caller):
    structured = isinstance(pop, tuple)
    n = pop[2] if structured else pop.shape[0]
    act_space = vec.single_action_space
    total = np.zeros(n)
    out = np.empty((n, net.n_out), np.float32)
    eye = np.eye(obs_size, dtype=np.float32) if obs_kind == "onehot" else None
    nt = kernel_threads(n_threads, n * net.n_params, n)
    for e in range(episodes):
        # distinct seeds per group so that groups do not replay the same starts
        obs, _ = vec.reset(seed=reset_seeds[e] + lo)
        # recurrent policies start every episode from a zero state
        state = net.init_state(n) if net.recurrent else None
        alive = np.ones(n, bool)
        t = 0
        while alive.any() and (max_steps is None or t < max_steps):
            x = np.asarray(obs)
            if eye is not None:
                x = eye[x.astype(np.int64)]
            x = x.reshape(n, obs_size)
            if normalizer is not None:
                seen.append(x[alive].astype(np.float64))
                x = normalizer.normalize(x)
            x = np.ascontiguousarray(x, np.float32)
            if not np.isfinite(x).all():
                raise ValueError(
                    f"The environment of {caller} returned non-finite observations "
                    f"at step {t} of episode {e}; the policy needs finite inputs."
                )
            # the population and the network were validated at the entry
            if structured:
                forward_each_source(pop[0], pop[1], x, net.meta, net.max_width, out,
                                    nt)
            elif net._stack is None:
                forward_each_kernel(pop, x, net.meta, net.max_width, out, nt)
            else:  # convolution or recurrent layers: the network's own kernels
                net._forward_each_unchecked(pop, x, out, n_threads, state)
            obs, reward, terminated, truncated, _ = vec.step(_actions(out, act_space))
            total += np.where(alive, np.asarray(reward, np.float64), 0.0)
            alive &= ~(np.asarray(terminated) | np.asarray(truncated))
            t += 1
    return total


class Evaluate:
    """Stateful fitness ``population -> mean return`` on a gymnasium environment.

    Each call uses new start states and, with ``normalize_obs``, updates the
    observation statistics from that call's rollouts.

    Parameters
    ----------
    net : Network
    env : str or callable
        As in :func:`evaluate`.
    episodes : int, default=1
    seed : int, default=0
    max_steps : int, optional
    normalize_obs : bool, default=False
        Keep an :class:`ObsNormalizer` (attribute ``normalizer``).
    n_threads : int, optional
        As in :func:`evaluate`.

    Attributes
    ----------
    generation : int
    normalizer : ObsNormalizer or None

    Notes
    -----
    Under the ProcessPool and Ray evaluators each worker updates its own copy
    of the normalizer, which is discarded: use the in-process evaluator when
    normalizing observations.  Save ``generation`` and
    ``normalizer.get_state()`` with a checkpoint to resume exactly.
    """

    def __init__(self, net: Any, env: str | Callable[[], Any], episodes: int = 1,
                 seed: Any = 0, max_steps: int | None = None,
                 normalize_obs: bool = False, *,
                 n_threads: int | None = None) -> None:
        self.net = net
        self.env = env
        self.episodes = check_int(episodes, "episodes", caller="Evaluate", min_val=1)
        self.seed = resolve_seed(seed, caller="Evaluate")
        self.max_steps = None if max_steps is None else check_int(
            max_steps, "max_steps", caller="Evaluate", min_val=1)
        if n_threads is not None:
            effective_n_threads(n_threads)  # validates
        self.n_threads = n_threads
        self.normalizer = ObsNormalizer(net.n_in) if normalize_obs else None
        self.generation = 0

    #: :meth:`Algorithm.run` hands this fitness an ES's structured population
    #: (``ask_structured()``; see :func:`evaluate`)
    accepts_structured = True

    def __call__(self, population: Any) -> np.ndarray:
        """Mean returns of ``population``; then advance to new start states."""
        out = evaluate(self.net, population, self.env, self.episodes, self.seed,
                       max_steps=self.max_steps, generation=self.generation,
                       normalize_obs=self.normalizer or False,
                       n_threads=self.n_threads)
        self.generation += 1
        return out

    def advance(self) -> None:
        """Move to the next start states without evaluating."""
        self.generation += 1

    def get_state(self) -> dict[str, Any]:
        """``generation`` and the normalizer's arrays, for checkpoints."""
        return fitness_state(self.generation, self.normalizer)

    def set_state(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`get_state` returned."""
        self.generation = set_fitness_state(state, self.normalizer)
