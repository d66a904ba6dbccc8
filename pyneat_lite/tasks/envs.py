"""Numba environments that step a whole population at once, and fused rollouts.

:class:`Acrobot`, :class:`MountainCar` and :class:`MountainCarContinuous`
reproduce gymnasium's ``Acrobot-v1``, ``MountainCar-v0`` and
``MountainCarContinuous-v0`` bit for bit (the same operations in the same
order and precision; their classes give the details), and
:class:`CartPoleSwingUp` is a cart-pole that starts hanging down (no
gymnasium counterpart).

:class:`CartPole` and :class:`Pendulum` reproduce gymnasium's ``CartPole-v1``
and ``Pendulum-v1``: the same constants, the same float64 state and Euler
integration, the same termination (pole angle beyond 12 degrees or cart beyond
2.4) and truncation (500 and 200 steps), the same reward and the same float32
observations.  Start states follow gymnasium's distributions (CartPole: every
state variable ``U(-0.05, 0.05)``; Pendulum: ``theta ~ U(-pi, pi)``,
``theta_dot ~ U(-1, 1)``) but come from the library's streams instead of
gymnasium's ``np_random``: episode ``e`` starts from the xoshiro256** stream
of ``row_seeds(seed, generation, STREAMS["env"], .)[e]`` (the generator of
the Cython operators), so results do not depend on the number of threads.

:func:`rollout` fuses the policy network's forward pass and the environment
step in one compiled kernel (``prange`` over groups of 8 lockstep lanes, SIMD
over the lanes): a population of 1,024 tiny policies costs one Python call,
not 1,024 x 500.  CartPole's ``sin``/``cos`` are evaluated by a Taylor
polynomial that is exact to an ulp on the live range ``|theta| <= 12``
degrees, so states agree with gymnasium's to ~1e-16, not bit for bit.  The
kernels live in :mod:`pyneat_lite._kernels.envs` and
:mod:`pyneat_lite._kernels.rollout`; this module validates once per call and
then runs them.

The first call compiles the kernels (about 10-20 s on a 2-core machine; then
cached on disk by Numba).

Examples
--------
>>> import pyneat_lite as pn
>>> net = pn.Network([4, 16, 2], ["tanh", "linear"])
>>> pop = net.init_population(64, seed=0)
>>> ret = pn.envs.rollout(net, pop, pn.envs.CartPole(), episodes=3, seed=0)
>>> ret.shape
(64,)
"""

from __future__ import annotations

import math
from typing import Any, Literal, overload

import numpy as np

from .._kernels.envs import (
    ACROBOT,
    CARTPOLE,
    CARTPOLE_SWINGUP,
    MOUNTAINCAR,
    MOUNTAINCAR_CONTINUOUS,
    PENDULUM,
    observe_env,
    reset_lanes,
    step_env,
)
from .._kernels.rollout import LANES, rollout_parallel, rollout_serial
from .._rng import STREAMS, resolve_seed, row_seeds
from .._threads import effective_n_threads, kernel_threads
from .._typing import SeedLike
from .._validation import check_array, check_int, check_population, check_scalar

__all__ = ["ENVS", "Acrobot", "CartPole", "CartPoleSwingUp", "MountainCar",
           "MountainCarContinuous", "Pendulum", "Rollout", "rollout", "scale_inputs"]


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


class CartPole(_Env):
    """gymnasium's ``CartPole-v1``, vectorized over a population.

    Observation: float32 ``(x, x_dot, theta, theta_dot)``; two discrete
    actions (0 pushes left, 1 right); reward +1 per step including the
    terminating one (or gymnasium's ``sutton_barto_reward``); termination when
    ``|x| > 2.4`` or ``|theta| > 12`` degrees; truncation after ``max_steps``.

    Parameters
    ----------
    max_steps : int, default=500
        Truncation (``CartPole-v1``'s ``max_episode_steps``).
    sutton_barto_reward : bool, default=False
        Reward 0 per step and -1 at termination, as in gymnasium.
    """

    _kind = CARTPOLE
    id = "CartPole-v1"
    obs_dim = 4
    state_dim = 4
    discrete = True
    n_actions = 2

    def __init__(self, max_steps: int = 500, sutton_barto_reward: bool = False) -> None:
        self.sutton_barto_reward = bool(sutton_barto_reward)
        self.action_low = np.zeros(1)
        self.action_high = np.ones(1)
        params = [9.8, 1.0, 0.1, 0.5, 10.0, 0.02, 12 * 2 * math.pi / 360, 2.4,
                  float(self.sutton_barto_reward)]
        super().__init__(np.array(params), max_steps)


class Pendulum(_Env):
    """gymnasium's ``Pendulum-v1``, vectorized over a population.

    Observation: float32 ``(cos theta, sin theta, theta_dot)``; one continuous
    torque in ``[-2, 2]``; reward ``-(theta^2 + 0.1 theta_dot^2 + 0.001 u^2)``
    with ``theta`` normalized to ``[-pi, pi)``; never terminates; truncation
    after ``max_steps``.  In :func:`rollout` the network output is clipped to
    ``[-1, 1]`` and mapped linearly onto ``[-2, 2]`` (use a ``tanh`` output).

    Parameters
    ----------
    max_steps : int, default=200
        Truncation (``Pendulum-v1``'s ``max_episode_steps``).
    g : float, default=10.0
        Gravity, as gymnasium's ``g`` argument.
    """

    _kind = PENDULUM
    id = "Pendulum-v1"
    obs_dim = 3
    state_dim = 2
    discrete = False
    n_actions = 1

    def __init__(self, max_steps: int = 200, g: float = 10.0) -> None:
        g = check_scalar(g, "g", caller="Pendulum", min_val=0.0)
        self.g = g
        self.action_low = np.array([-2.0])
        self.action_high = np.array([2.0])
        super().__init__(np.array([8.0, 2.0, 0.05, g, 1.0, 1.0]), max_steps)

    def __repr__(self) -> str:
        return f"Pendulum(max_steps={self.max_steps}, g={self.g})"


class Acrobot(_Env):
    """gymnasium's ``Acrobot-v1``, vectorized over a population.

    State ``(theta1, theta2, dtheta1, dtheta2)``; observation float32
    ``(cos theta1, sin theta1, cos theta2, sin theta2, dtheta1, dtheta2)``;
    three discrete actions (torque -1, 0, +1 on the second joint); reward -1
    per step and 0 on the terminating one; termination when the tip rises
    above the bar (``-cos theta1 - cos(theta1 + theta2) > 1``); truncation
    after ``max_steps``.  The step is gymnasium's: "book" dynamics, one RK4
    step of ``dt = 0.2`` in float64, angles wrapped to ``[-pi, pi]``,
    velocities bounded to ``4 pi`` and ``9 pi``.  Start states: four
    ``U(-0.1, 0.1)`` rounded to float32, as gymnasium's.

    Parameters
    ----------
    max_steps : int, default=500
        Truncation (``Acrobot-v1``'s ``max_episode_steps``).
    """

    _kind = ACROBOT
    id = "Acrobot-v1"
    obs_dim = 6
    state_dim = 4
    discrete = True
    n_actions = 3

    def __init__(self, max_steps: int = 500) -> None:
        self.action_low = np.zeros(1)
        self.action_high = np.full(1, 2.0)
        params = [1.0, 1.0, 1.0, 0.5, 0.5, 1.0, 4 * math.pi, 9 * math.pi, 0.2, 9.8, 2.0]
        super().__init__(np.array(params), max_steps)


class MountainCar(_Env):
    """gymnasium's ``MountainCar-v0``, vectorized over a population.

    State and float32 observation ``(position, velocity)``; three discrete
    actions (push left, none, right); reward -1 per step; termination at
    ``position >= 0.5``; truncation after ``max_steps``.  Start:
    ``position ~ U(-0.6, -0.4)``, ``velocity = 0``.

    The reward is sparse: every policy that misses the goal scores
    ``-max_steps``, so a search needs policies that reach it by chance to
    start with; with raw inputs they are rare (the velocity is 30 times
    smaller than the position), with inputs scaled by :func:`scale_inputs`
    they are common (``pyneat-lite run mountaincar``).

    Parameters
    ----------
    max_steps : int, default=200
        Truncation (``MountainCar-v0``'s ``max_episode_steps``).
    """

    _kind = MOUNTAINCAR
    id = "MountainCar-v0"
    obs_dim = 2
    state_dim = 2
    discrete = True
    n_actions = 3

    def __init__(self, max_steps: int = 200) -> None:
        self.action_low = np.zeros(1)
        self.action_high = np.full(1, 2.0)
        params = [-1.2, 0.6, 0.07, 0.5, 0.0, 0.001, 0.0025]
        super().__init__(np.array(params), max_steps)


class MountainCarContinuous(_Env):
    """gymnasium's ``MountainCarContinuous-v0``, vectorized over a population.

    Float32 observation ``(position, velocity)``; one continuous force in
    ``[-1, 1]``; reward ``100`` on reaching ``position >= 0.45`` (which
    terminates) minus ``0.1 a^2`` per step (``a`` the action before
    clipping); truncation after ``max_steps``.  Start:
    ``position ~ U(-0.6, -0.4)``, ``velocity = 0``.  In :func:`rollout` the
    network output is clipped to ``[-1, 1]`` (use a ``tanh`` output).

    :attr:`state` has a third column, 0 after a reset and 1 after a step:
    gymnasium keeps the state in float64 after ``reset`` and in float32 after
    a step, and the precision of the next step's arithmetic follows.

    Parameters
    ----------
    max_steps : int, default=999
        Truncation (``MountainCarContinuous-v0``'s ``max_episode_steps``).
    """

    _kind = MOUNTAINCAR_CONTINUOUS
    id = "MountainCarContinuous-v0"
    obs_dim = 2
    state_dim = 3
    discrete = False
    n_actions = 1

    def __init__(self, max_steps: int = 999) -> None:
        self.action_low = np.array([-1.0])
        self.action_high = np.array([1.0])
        params = [-1.2, 0.6, 0.07, 0.45, 0.0, 0.0015, -1.0, 1.0]
        super().__init__(np.array(params), max_steps)


class CartPoleSwingUp(_Env):
    """A cart-pole that starts hanging down and must swing the pole up.

    No gymnasium counterpart: CartPole-v1's cart, pole and Euler step
    (``tau = 0.02``), with the pole starting down (``theta = pi`` plus
    CartPole's ``U(-0.05, 0.05)`` start noise on every state variable), a
    continuous force in ``[-force_mag, force_mag]`` and libm ``sin``/``cos``
    (the angle is not small).  Observation float32 ``(x, x_dot, cos theta,
    sin theta, theta_dot)``; reward ``(1 + cos theta) / 2`` per step (1
    upright, 0 hanging); termination when ``|x| > 2.4``; truncation after
    ``max_steps``.  In :func:`rollout` the network output is clipped to
    ``[-1, 1]`` and scaled by ``force_mag``.

    Parameters
    ----------
    max_steps : int, default=500
    force_mag : float, default=10.0
        Largest force (CartPole's push).
    """

    _kind = CARTPOLE_SWINGUP
    id = "CartPoleSwingUp"
    obs_dim = 5
    state_dim = 4
    discrete = False
    n_actions = 1

    def __init__(self, max_steps: int = 500, force_mag: float = 10.0) -> None:
        force_mag = check_scalar(force_mag, "force_mag", caller="CartPoleSwingUp",
                                 min_val=0.0, include_min=False)
        self.force_mag = force_mag
        self.action_low = np.array([-force_mag])
        self.action_high = np.array([force_mag])
        params = [9.8, 1.0, 0.1, 0.5, force_mag, 0.02, 2.4]
        super().__init__(np.array(params), max_steps)

    def __repr__(self) -> str:
        return (f"CartPoleSwingUp(max_steps={self.max_steps}, "
                f"force_mag={self.force_mag})")


#: Environment name -> class (gymnasium ids, and ``CartPoleSwingUp``).
ENVS: dict[str, type[_Env]] = {
    cls.id: cls
    for cls in (CartPole, Pendulum, Acrobot, MountainCar, MountainCarContinuous,
                CartPoleSwingUp)
}


def _check_policy(net: Any, env: _Env, caller: str) -> None:
    if getattr(net, "_stack", None) is not None:
        kinds = ", ".join(sorted({type(x).__name__ for x in net.layers}))
        raise ValueError(
            f"The network of {caller} must be a stack of dense layers "
            "(Network(sizes, activations)): the environment kernels run those. Got "
            f"a network with {kinds} layers instead; use pn.gym.evaluate for it."
        )
    if net.n_in != env.obs_dim:
        raise ValueError(
            f"The network of {caller} does not fit the environment {env!r}: its input "
            f"has {net.n_in} values, the observation space has shape "
            f"({env.obs_dim},)."
        )
    if net.n_out != env.n_outputs:
        what = (f"{env.n_actions} discrete actions (one output per action, argmax)"
                if env.discrete else f"action shape ({env.n_actions},)")
        raise ValueError(
            f"The network of {caller} does not fit the environment {env!r}: its output "
            f"has {net.n_out} values, the action space needs {what}."
        )


def _check_env(env: Any, caller: str) -> None:
    if not isinstance(env, _Env):
        raise TypeError(
            f"The 'env' argument of {caller} must be a pyneat_lite.envs environment "
            f"({', '.join(c.__name__ for c in ENVS.values())}). Got "
            f"{type(env).__name__} instead; use "
            "pn.gym.evaluate for gymnasium environments."
        )


def _check_n_threads(n_threads: int | None) -> int | None:
    if n_threads is not None:
        effective_n_threads(n_threads)  # validates (0 and non-ints are errors)
    return n_threads


def _rollout(net: Any, pop: np.ndarray, env: _Env, episodes: int, max_steps: int,
             seed: int, generation: int, same_starts: bool,
             n_threads: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Unchecked :func:`rollout`: every argument already validated."""
    n_pop = pop.shape[0]
    n_rows = 1 if same_starts else n_pop
    seeds = row_seeds(seed, generation, STREAMS["env"], n_rows * episodes)
    seeds = seeds.reshape(n_rows, episodes)
    returns = np.empty(n_pop)
    steps = np.empty(n_pop, np.int64)
    max_groups = -(-n_pop // LANES)
    # work: an upper bound on the policy's multiply-adds (episodes may end
    # early); the groups are the parallel rows
    nt = kernel_threads(n_threads, n_pop * net.n_params * episodes * max_steps,
                        max_groups)
    args = (pop, net.meta, int(net.max_width), int(net.n_out), env._kind,
            env.obs_dim, env.state_dim, env.params, env.action_low, env.action_high,
            seeds, max_steps)
    if nt == 1:
        # one group: its 8 lanes are refilled from the whole population, so
        # they stay busy until the last episodes
        rollout_serial(*args, 1, returns, steps)
    else:
        # a few groups per thread (load balance), each with its lanes full
        # when possible; the grouping does not change any return
        rollout_parallel(*args, min(max_groups, 4 * nt), returns, steps, nt)
    return returns, steps


@overload
def rollout(
    net: Any, population: Any, env: _Env, episodes: int = ...,
    max_steps: int | None = ..., seed: SeedLike = ..., *, generation: int = ...,
    same_starts: bool = ..., return_steps: Literal[False] = ...,
    n_threads: int | None = ...,
) -> np.ndarray: ...


@overload
def rollout(
    net: Any, population: Any, env: _Env, episodes: int = ...,
    max_steps: int | None = ..., seed: SeedLike = ..., *, generation: int = ...,
    same_starts: bool = ..., return_steps: Literal[True],
    n_threads: int | None = ...,
) -> tuple[np.ndarray, np.ndarray]: ...


def rollout(
    net: Any,
    population: Any,
    env: _Env,
    episodes: int = 1,
    max_steps: int | None = None,
    seed: SeedLike = 0,
    *,
    generation: int = 0,
    same_starts: bool = True,
    return_steps: bool = False,
    n_threads: int | None = None,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Mean return of every genome's policy, in one compiled call.

    Each genome plays ``episodes`` episodes; observations go through
    ``net`` (one input row per step), discrete actions are the argmax of the
    outputs (first maximum on ties), continuous actions are the outputs
    clipped to [-1, 1] and mapped linearly onto the action bounds.

    Parameters
    ----------
    net : Network
        Policy architecture: ``n_in == env.obs_dim``, ``n_out ==
        env.n_actions``.
    population : array-like of float32, shape (P, net.n_params)
    env : an environment of :data:`ENVS` (CartPole, Pendulum, Acrobot, ...)
    episodes : int, default=1
    max_steps : int, optional
        Truncation; default ``env.max_steps`` (500 for CartPole, 200 for
        Pendulum).
    seed : int or None, default=0
        Seed of the start states.
    generation : int, default=0
        Second key of the start-state stream: a new value gives new starts.
    same_starts : bool, default=True
        Every genome sees the same ``episodes`` start states (common random
        numbers: fitness differences come from the policies, not from luck).
        Otherwise each genome gets its own.
    return_steps : bool, default=False
        Also return the number of environment steps taken per genome.
    n_threads : int, optional
        Numba threads (``None``: all usable cores; negative counts back).
        Small populations run on one thread.  Results do not depend on it.

    Returns
    -------
    returns : ndarray of float64, shape (P,)
        Mean undiscounted return per genome.
    steps : ndarray of int64, shape (P,)
        Only with ``return_steps``: steps summed over the episodes.

    Raises
    ------
    ValueError
        The network does not fit the environment (the message names both
        shapes), or a bad population/argument.

    Notes
    -----
    Start states: with ``same_starts``, episode ``e`` of every genome starts
    from the stream ``row_seeds(seed, generation, STREAMS["env"],
    episodes)[e]`` (the state ``env.reset(episodes, seed, generation)``
    gives lane ``e``); otherwise episode ``e`` of genome ``p`` uses row
    ``p * episodes + e``.
    """
    caller = "rollout"
    _check_env(env, caller)
    _check_policy(net, env, caller)
    pop = check_population(population, caller=caller, n_params=net.n_params)
    episodes = check_int(episodes, "episodes", caller=caller, min_val=1)
    max_steps = env.max_steps if max_steps is None else check_int(
        max_steps, "max_steps", caller=caller, min_val=1)
    generation = check_int(generation, "generation", caller=caller, min_val=0)
    seed = resolve_seed(seed, caller=caller)
    returns, steps = _rollout(net, pop, env, episodes, max_steps, seed, generation,
                              bool(same_starts), _check_n_threads(n_threads))
    return (returns, steps) if return_steps else returns


class Rollout:
    """Fitness function ``population -> mean return`` for an environment.

    Each call uses new start states (``generation`` advances by one per call),
    so that a run does not overfit a fixed set of episodes; the same seed
    gives the same sequence of calls.  Everything but the population is
    validated once, here.

    Parameters
    ----------
    net : Network
    env : an environment of :data:`ENVS` (CartPole, Pendulum, Acrobot, ...)
    episodes : int, default=3
    max_steps : int, optional
    seed : int, default=0
    same_starts : bool, default=True
        See :func:`rollout`.
    n_threads : int, optional
        See :func:`rollout`.

    Attributes
    ----------
    generation : int
        Index of the next call's start states (saved and restored with the
        run's checkpoint by setting the attribute).
    """

    def __init__(self, net: Any, env: _Env, episodes: int = 3,
                 max_steps: int | None = None, seed: int = 0,
                 same_starts: bool = True, *, n_threads: int | None = None) -> None:
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
        self.generation = 0

    def evaluate(self, population: Any, generation: int) -> np.ndarray:
        """Mean returns with the start states of ``generation`` (no state change)."""
        caller = "Rollout.evaluate"
        pop = check_population(population, caller=caller, n_params=self.net.n_params)
        generation = check_int(generation, "generation", caller=caller, min_val=0)
        max_steps = self.env.max_steps if self.max_steps is None else self.max_steps
        return _rollout(self.net, pop, self.env, self.episodes, max_steps, self.seed,
                        generation, self.same_starts, self.n_threads)[0]

    def __call__(self, population: Any) -> np.ndarray:
        """Mean returns of ``population``; then advance to new start states."""
        out = self.evaluate(population, self.generation)
        self.generation += 1
        return out

    def advance(self) -> None:
        """Move to the next start states without evaluating (used by the
        process-pool and Ray evaluators, whose workers call copies)."""
        self.generation += 1


def scale_inputs(net: Any, population: Any, scale: Any) -> np.ndarray:
    """Genomes whose policy reads observation ``i`` divided by ``scale[i]``.

    The first layer's weights of input ``i`` are divided by ``scale[i]``
    (biases and later layers unchanged), so that ``net.forward(out, obs)``
    equals ``net.forward(population, obs / scale)`` up to float32 rounding.
    A search can then work on inputs of order one: MountainCar's velocity is
    at most 0.07 while its position spans 1.8, so with equal weights a random
    policy hardly sees the velocity, the one thing that matters for pumping.
    Evolve in the scaled space and map with this function before a rollout
    (or a gymnasium check).

    Parameters
    ----------
    net : Network
    population : array-like of float32, shape (P, net.n_params) or (n_params,)
    scale : array-like of shape (net.n_in,)
        Positive, finite typical magnitudes of the observations.

    Returns
    -------
    ndarray of float32, same shape as ``population`` (a new array).
    """
    caller = "scale_inputs"
    single = np.ndim(population) == 1
    pop = check_population(np.atleast_2d(np.asarray(population, np.float32)),
                           caller=caller, n_params=net.n_params)
    sc = check_array(scale, "scale", caller=caller, ndim=1, dtype=np.float64)
    if sc.shape[0] != net.n_in or not np.all(sc > 0):
        raise ValueError(
            f"The 'scale' argument of {caller} must hold {net.n_in} positive values "
            f"(one per network input). Got shape {sc.shape} instead."
            if sc.shape[0] != net.n_in else
            f"The 'scale' argument of {caller} must hold positive values. Got "
            f"{sc.tolist()} instead."
        )
    n_in, n_o, wo = (int(v) for v in net.meta[0, :3])
    out = pop.copy()
    # weight (input j, unit k) of the first layer is at wo + j * n_o + k
    out[:, wo:wo + n_in * n_o] /= np.repeat(sc.astype(np.float32), n_o)[None]
    return out[0] if single else out
