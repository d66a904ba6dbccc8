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
:mod:`pyneat_lite._kernels.rollout` (recurrent policies:
:mod:`pyneat_lite._kernels.rollout_recurrent`, which resets every genome's
hidden state at the start of each episode); this module validates once per
call and then runs them.

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
)
from .._obs_norm import ObsNormalizer
from .._rng import resolve_seed
from .._typing import SeedLike
from .._validation import check_array, check_int, check_population, check_scalar
from ._env_base import _Env
from ._env_fitness import Rollout
from ._env_rollout import (
    _check_env,
    _check_n_threads,
    _check_normalizer,
    _check_policy,
    _rollout,
)
from ._structured import STRUCTURED, check_structured

__all__ = ["ENVS", "Acrobot", "CartPole", "CartPoleSwingUp", "MountainCar",
           "MountainCarContinuous", "ObsNormalizer", "Pendulum", "Rollout", "rollout",
           "scale_inputs"]


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


@overload
def rollout(
    net: Any, population: Any, env: _Env, episodes: int = ...,
    max_steps: int | None = ..., seed: SeedLike = ..., *, generation: int = ...,
    same_starts: bool = ..., return_steps: Literal[False] = ...,
    normalize_obs: bool | ObsNormalizer = ..., n_threads: int | None = ...,
) -> np.ndarray: ...


@overload
def rollout(
    net: Any, population: Any, env: _Env, episodes: int = ...,
    max_steps: int | None = ..., seed: SeedLike = ..., *, generation: int = ...,
    same_starts: bool = ..., return_steps: Literal[True],
    normalize_obs: bool | ObsNormalizer = ..., n_threads: int | None = ...,
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
    normalize_obs: bool | ObsNormalizer = False,
    n_threads: int | None = None,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Mean return of every genome's policy, in one compiled call.

    Each genome plays ``episodes`` episodes; observations go through
    ``net`` (one input row per step), discrete actions are the argmax of the
    outputs (first maximum on ties), continuous actions are the outputs
    clipped to [-1, 1] and mapped linearly onto the action bounds.

    A recurrent policy (:class:`~pyneat_lite.layers.RNN` and
    :class:`~pyneat_lite.layers.GRU` layers, mixed with ``Dense`` ones) runs
    with its own hidden state per genome, zero at the start of every
    episode; its actions are those of ``net.forward_each(..., state=)`` on
    the same observations, bit for bit.  Convolution and pooling layers are
    refused (the observations are flat vectors, not images; a ``ValueError``
    says so): use :func:`pyneat_lite.gym.evaluate` for image observations.

    Parameters
    ----------
    net : Network
        Policy architecture: dense layers (``Network(sizes, activations)``)
        or Dense, RNN and GRU layers; ``n_in == env.obs_dim``, ``n_out ==
        env.n_actions``.
    population : array-like of float32, shape (P, net.n_params)
        Or an ES's structured population (``ask_structured()``: a
        ``LowRankPopulation`` or ``AntitheticPopulation``), whose genomes the
        kernel forms one at a time in its lanes: the returns of the
        materialised genomes, bit for bit.
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
    normalize_obs : False or ObsNormalizer, default=False
        ARS V2's state normalisation, as in :func:`pyneat_lite.gym.evaluate`:
        the policies see ``clip((obs - mean) / sqrt(var + eps), -clip,
        clip)`` with the normaliser's statistics frozen for the call (raw
        observations while it has seen none), then every observation a
        policy was fed in this call is merged into it.  Keep the same
        instance across generations (or use :class:`Rollout`).  The
        statistics do not depend on ``n_threads`` either.
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
        shapes), has convolution or pooling layers, or a bad
        population/argument.

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
    if isinstance(population, STRUCTURED):  # an ES's ask_structured()
        check_structured(net, population, caller)
        pop = population
    else:
        pop = check_population(population, caller=caller, n_params=net.n_params)
    episodes = check_int(episodes, "episodes", caller=caller, min_val=1)
    max_steps = env.max_steps if max_steps is None else check_int(
        max_steps, "max_steps", caller=caller, min_val=1)
    generation = check_int(generation, "generation", caller=caller, min_val=0)
    seed = resolve_seed(seed, caller=caller)
    normalizer = _check_normalizer(normalize_obs, env, caller)
    returns, steps = _rollout(net, pop, env, episodes, max_steps, seed, generation,
                              bool(same_starts), _check_n_threads(n_threads),
                              normalizer)
    return (returns, steps) if return_steps else returns


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
