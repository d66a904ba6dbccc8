"""Numba environments that step a whole population at once, and fused rollouts.

:class:`CartPole` and :class:`Pendulum` reproduce gymnasium's ``CartPole-v1``
and ``Pendulum-v1``: the same constants, the same float64 state and Euler
integration, the same termination (pole angle beyond 12 degrees or cart beyond
2.4) and truncation (500 and 200 steps), the same reward and the same float32
observations.  Only the random source of resets differs (a counter-based
stream per (seed, generation, episode) instead of gymnasium's ``np_random``),
so that results do not depend on the number of threads.

:func:`rollout` fuses the policy network's forward pass and the environment
step in one compiled kernel (``prange`` over groups of 8 lockstep lanes, SIMD
over the lanes): a population of 1,024 tiny policies costs one Python call,
not 1,024 x 500.  CartPole's ``sin``/``cos`` are evaluated by a Taylor
polynomial that is exact to an ulp on the live range ``|theta| <= 12``
degrees, so states agree with gymnasium's to ~1e-16, not bit for bit.

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
from typing import Any

import numba
import numpy as np

from .._kernels._config import LINEAR, SOFTMAX, TANH
from .._kernels.math32 import elementwise, exp32, tanh32_inline
from .._rng import STREAMS, resolve_seed, row_seeds
from .._typing import SeedLike
from .._validation import check_int, check_population, check_scalar

__all__ = ["CartPole", "Pendulum", "Rollout", "rollout"]

_CARTPOLE = 0
_PENDULUM = 1


# --------------------------------------------------------------------------
# Counter-based random numbers (SplitMix64): one uint64 state per episode,
# advanced in place; no global or per-thread generator.
# --------------------------------------------------------------------------
@numba.njit(cache=True, inline="always")
def _splitmix_next(state: np.ndarray) -> np.uint64:
    z = state[0] + np.uint64(0x9E3779B97F4A7C15)
    state[0] = z
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@numba.njit(cache=True, inline="always")
def _uniform(state: np.ndarray, low: float, high: float) -> float:
    # 53 random bits -> [0, 1), as numpy's random_standard_uniform does.
    u = (_splitmix_next(state) >> np.uint64(11)) * (1.0 / 9007199254740992.0)
    return low + (high - low) * u


# --------------------------------------------------------------------------
# Dynamics in lanes (state_dim, L): gymnasium's formulas line by line.
# params: CartPole [gravity, masscart, masspole, length, force_mag, tau,
#                   theta_threshold, x_threshold, sutton_barto]
#         Pendulum [max_speed, max_torque, dt, g, m, l]
# --------------------------------------------------------------------------
@numba.njit(cache=True)
def _reset_one(kind: int, s: np.ndarray, rng: np.ndarray, params: np.ndarray) -> None:
    if kind == _CARTPOLE:
        for i in range(4):
            s[i] = _uniform(rng, -0.05, 0.05)
    else:
        s[0] = _uniform(rng, -math.pi, math.pi)
        s[1] = _uniform(rng, -1.0, 1.0)


@numba.njit(cache=True, inline="always")
def _sin_small(x: float) -> float:
    # Taylor series to x**15: for |x| <= 0.25 the truncation is below 1e-22
    # relative, so the result is libm's to within an ulp.  CartPole only
    # evaluates live states, where |theta| <= 12 degrees = 0.2094.
    x2 = x * x
    p = -1.0 / 1307674368000.0
    p = p * x2 + 1.0 / 6227020800.0
    p = p * x2 - 1.0 / 39916800.0
    p = p * x2 + 1.0 / 362880.0
    p = p * x2 - 1.0 / 5040.0
    p = p * x2 + 1.0 / 120.0
    p = p * x2 - 1.0 / 6.0
    return x + x * (x2 * p)


@numba.njit(cache=True, inline="always")
def _cos_small(x: float) -> float:
    x2 = x * x
    p = 1.0 / 20922789888000.0
    p = p * x2 - 1.0 / 87178291200.0
    p = p * x2 + 1.0 / 479001600.0
    p = p * x2 - 1.0 / 3628800.0
    p = p * x2 + 1.0 / 40320.0
    p = p * x2 - 1.0 / 720.0
    p = p * x2 + 1.0 / 24.0
    p = p * x2 - 0.5
    return 1.0 + x2 * p


@numba.njit(cache=True, inline="always")
def _observe_lanes(kind, S, obs):
    """Observations (obs_dim, L) float32 of the states S (state_dim, L)."""
    L = S.shape[1]
    if kind == _CARTPOLE:
        for i in range(4):
            for lane in range(L):
                obs[i, lane] = np.float32(S[i, lane])
    else:
        for lane in range(L):
            obs[0, lane] = np.float32(math.cos(S[0, lane]))
            obs[1, lane] = np.float32(math.sin(S[0, lane]))
            obs[2, lane] = np.float32(S[1, lane])


@numba.njit(cache=True, inline="always")
def _actions_lanes(kind, out, low, high, action):
    """Network outputs (n_out, L) -> raw actions: argmax (first maximum, as
    np.argmax) for discrete spaces, [-1, 1] mapped onto [low, high] for
    continuous ones."""
    L = out.shape[1]
    if kind == _CARTPOLE:
        for lane in range(L):
            best = 0
            for j in range(1, out.shape[0]):
                if out[j, lane] > out[best, lane]:
                    best = j
            action[lane] = best
    else:
        for lane in range(L):
            o = min(max(float(out[0, lane]), -1.0), 1.0)
            action[lane] = low[0] + (o + 1.0) * 0.5 * (high[0] - low[0])


# error_model="numpy": no ZeroDivisionError check per division, which would
# keep the lane loop scalar (no division here can be by zero).
@numba.njit(cache=True, error_model="numpy", inline="always")
def _step_lanes(kind, S, action, p, reward, term):
    """One step of every lane with raw actions; gymnasium's formulas, in the
    same order, in float64."""
    L = S.shape[1]
    if kind == _CARTPOLE:
        gravity, masscart, masspole, length = p[0], p[1], p[2], p[3]
        force_mag, tau, theta_thr, x_thr = p[4], p[5], p[6], p[7]
        sutton_barto = p[8] != 0.0
        total_mass = masspole + masscart
        polemass_length = masspole * length
        # Flat views and unsigned indices, no calls, no branches: SIMD over
        # the lanes (signed indices would need negative-index handling).
        n = _U(L)
        s = S.reshape(S.size)
        bad = -1.0 if sutton_barto else 1.0
        good = 0.0 if sutton_barto else 1.0
        for lane in range(n):
            x, x_dot = s[lane], s[n + lane]
            theta, theta_dot = s[2 * n + lane], s[3 * n + lane]
            force = force_mag if action[lane] == 1.0 else -force_mag
            costheta = _cos_small(theta)
            sintheta = _sin_small(theta)
            temp = (force + polemass_length * (theta_dot * theta_dot) * sintheta
                    ) / total_mass
            thetaacc = (gravity * sintheta - costheta * temp) / (
                length * (4.0 / 3.0 - masspole * (costheta * costheta) / total_mass)
            )
            xacc = temp - polemass_length * thetaacc * costheta / total_mass
            x = x + tau * x_dot
            x_dot = x_dot + tau * xacc
            theta = theta + tau * theta_dot
            theta_dot = theta_dot + tau * thetaacc
            s[lane] = x
            s[n + lane] = x_dot
            s[2 * n + lane] = theta
            s[3 * n + lane] = theta_dot
            done = (x < -x_thr) | (x > x_thr) | (theta < -theta_thr) | (
                theta > theta_thr)
            term[lane] = done
            reward[lane] = bad if done else good
    else:
        max_speed, max_torque, dt, g, m, ln = p[0], p[1], p[2], p[3], p[4], p[5]
        torque_scale = np.float32(3.0 / (m * ln * ln))
        for lane in range(L):
            th, thdot = S[0, lane], S[1, lane]
            # gymnasium clips the float32 action and computes its terms in float32
            u = np.float32(min(max(action[lane], -max_torque), max_torque))
            th_n = ((th + math.pi) % (2.0 * math.pi)) - math.pi
            costs = (th_n * th_n + 0.1 * (thdot * thdot)
                     + float(np.float32(0.001) * (u * u)))
            torque = float(torque_scale * u)
            newthdot = thdot + (3.0 * g / (2.0 * ln) * math.sin(th) + torque) * dt
            newthdot = min(max(newthdot, -max_speed), max_speed)
            S[0, lane] = th + newthdot * dt
            S[1, lane] = newthdot
            reward[lane] = -costs
            term[lane] = False


@numba.njit(cache=True)
def _reset_lanes(kind, S, seeds, params):
    s1 = np.empty(S.shape[0], np.float64)
    rng = np.empty(1, np.uint64)
    for lane in range(S.shape[1]):
        rng[0] = seeds[lane]
        _reset_one(kind, s1, rng, params)
        for i in range(S.shape[0]):
            S[i, lane] = s1[i]


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
            Seed; environment ``i`` starts from the stream
            ``row_seeds(seed, generation, STREAMS["env"], n_envs)[i]``.
        generation : int, default=0
            Second key of the stream (a new set of start states per value).

        Returns
        -------
        ndarray of float32, shape (n_envs, obs_dim)
            First observations.
        """
        caller = f"{type(self).__name__}.reset"
        n = check_int(n_envs, "n_envs", caller=caller, min_val=1)
        seeds = row_seeds(resolve_seed(seed), generation, STREAMS["env"], n)
        S = np.empty((self.state_dim, n))
        _reset_lanes(self._kind, S, seeds, self.params)
        self.state = np.ascontiguousarray(S.T)
        self.elapsed = np.zeros(n, np.int64)
        return self.observe()

    def observe(self) -> np.ndarray:
        """Observations of the current states, float32 (n_envs, obs_dim)."""
        S = np.ascontiguousarray(self.state.T, dtype=np.float64)
        obs = np.empty((self.obs_dim, S.shape[1]), np.float32)
        _observe_lanes(self._kind, S, obs)
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
        _step_lanes(self._kind, S, np.ascontiguousarray(a[:, 0]), self.params, rew,
                    term)
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

    _kind = _CARTPOLE
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

    _kind = _PENDULUM
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


# --------------------------------------------------------------------------
# Fused rollout: policy forward + environment step, prange over lane groups.
#
# Each work item steps _LANES episodes in lockstep, stored lane-minor
# ((n, _LANES) arrays: the genomes' weights transposed, the states, the
# activations), so that the policy's multiply-adds and CartPole's dynamics are
# SIMD over lanes.  A lane whose episode ends is refilled at once with the
# next episode or the next genome, so lanes stay busy whatever the episode
# lengths.  Lanes are independent and every lane runs the same arithmetic, so
# a genome's return does not depend on its lane, its group or the number of
# threads.
# --------------------------------------------------------------------------
_LANES = 8  # _dense_lanes spells out 8 accumulators: change both together
_U = np.uint64



@numba.njit(cache=True, error_model="numpy", fastmath={"contract"})
def _dense_lanes(w, wo, bo, n_in, n_o, act, x, y):
    """y[:n_o] = act(x[:n_in]^T W + b) for all lanes (one layer).

    Flat lane-minor arrays (element (i, lane) at ``i * _LANES + lane``) and
    unsigned offsets: with signed indices Numba must handle negative ones,
    which keeps LLVM from vectorising over the lanes.
    """
    L = _U(_LANES)
    wo = _U(wo)
    bo = _U(bo)
    n_in = _U(n_in)
    n_o = _U(n_o)
    # One output unit at a time, its 8 lanes in 8 scalar accumulators that
    # stay in registers (one SIMD register); the sum runs over the inputs in
    # order, bias first, as in forward_one.
    for k in range(n_o):
        b = (bo + k) * L
        a0, a1, a2, a3 = w[b], w[b + 1], w[b + 2], w[b + 3]
        a4, a5, a6, a7 = w[b + 4], w[b + 5], w[b + 6], w[b + 7]
        for j in range(n_in):
            r = (wo + j * n_o + k) * L
            c = j * L
            a0 += x[c] * w[r]
            a1 += x[c + 1] * w[r + 1]
            a2 += x[c + 2] * w[r + 2]
            a3 += x[c + 3] * w[r + 3]
            a4 += x[c + 4] * w[r + 4]
            a5 += x[c + 5] * w[r + 5]
            a6 += x[c + 6] * w[r + 6]
            a7 += x[c + 7] * w[r + 7]
        c = k * L
        y[c], y[c + 1], y[c + 2], y[c + 3] = a0, a1, a2, a3
        y[c + 4], y[c + 5], y[c + 6], y[c + 7] = a4, a5, a6, a7
    n = n_o * L
    if act == TANH:  # the common case: its own loop, SIMD over lanes
        for i in range(n):
            y[i] = tanh32_inline(y[i])
    elif act == SOFTMAX:
        for lane in range(L):
            m = y[lane]
            for k in range(1, n_o):
                m = max(m, y[k * L + lane])
            tot = np.float32(0.0)
            for k in range(n_o):
                e = exp32(y[k * L + lane] - m)
                y[k * L + lane] = e
                tot += e
            inv = np.float32(1.0) / tot
            for k in range(n_o):
                y[k * L + lane] *= inv
    elif act != LINEAR:
        for i in range(n):
            y[i] = elementwise(y[i], act)


@numba.njit(cache=True)
def _forward_lanes(w, meta, x, buf_a, buf_b, out):
    """Policy forward for every lane, on flat lane-minor arrays: ``w`` the
    transposed genomes (n_params * L), ``x`` inputs (n_in * L), ``out``
    (n_out * L).  Same sums, in the same order, and the same activation code
    as ``_forward.forward_one``."""
    n_layers = meta.shape[0]
    if n_layers == 1:
        _dense_lanes(w, meta[0, 2], meta[0, 3], meta[0, 0], meta[0, 1], meta[0, 4],
                     x, out)
        return
    _dense_lanes(w, meta[0, 2], meta[0, 3], meta[0, 0], meta[0, 1], meta[0, 4],
                 x, buf_a)
    for layer in range(1, n_layers - 1):
        if layer % 2 == 1:
            _dense_lanes(w, meta[layer, 2], meta[layer, 3], meta[layer, 0],
                         meta[layer, 1], meta[layer, 4], buf_a, buf_b)
        else:
            _dense_lanes(w, meta[layer, 2], meta[layer, 3], meta[layer, 0],
                         meta[layer, 1], meta[layer, 4], buf_b, buf_a)
    last = n_layers - 1
    src = buf_a if last % 2 == 1 else buf_b
    _dense_lanes(w, meta[last, 2], meta[last, 3], meta[last, 0], meta[last, 1],
                 meta[last, 4], src, out)


@numba.njit(parallel=True, cache=True)
def _rollout_kernel(population, meta, max_width, n_out, kind, obs_dim, state_dim,
                    params, low, high, seeds, max_steps, n_groups, returns, steps):
    for grp in numba.prange(n_groups):
        _rollout_group(grp, population, meta, max_width, n_out, kind, obs_dim,
                       state_dim, params, low, high, seeds, max_steps, n_groups,
                       returns, steps)


@numba.njit(cache=True, error_model="numpy")
def _rollout_group(grp, population, meta, max_width, n_out, kind, obs_dim,
                   state_dim, params, low, high, seeds, max_steps, n_groups,
                   returns, steps):
    """Genomes grp, grp + n_groups, ... through _LANES lockstep lanes."""
    n_pop, n_params = population.shape
    episodes = seeds.shape[1]
    shared = seeds.shape[0] == 1
    L = _LANES
    W = np.zeros((n_params, L), np.float32)
    buf_a = np.zeros(max_width * L, np.float32)
    buf_b = np.zeros(max_width * L, np.float32)
    obs = np.zeros((obs_dim, L), np.float32)
    out = np.zeros((n_out, L), np.float32)
    # flat views, made once: the hot loop creates no array
    w_flat = W.reshape(n_params * L)
    obs_flat = obs.reshape(obs_dim * L)
    out_flat = out.reshape(n_out * L)
    S = np.zeros((state_dim, L), np.float64)
    action = np.zeros(L, np.float64)
    reward = np.zeros(L, np.float64)
    term = np.zeros(L, np.bool_)
    s1 = np.empty(state_dim, np.float64)
    rng = np.empty(1, np.uint64)
    genome = np.full(L, -1, np.int64)
    episode = np.zeros(L, np.int64)
    t = np.zeros(L, np.int64)
    total = np.zeros(L, np.float64)
    n_steps = np.zeros(L, np.int64)
    nxt = np.int64(grp)  # this group's genomes: grp, grp + n_groups, ...
    active = 0
    for lane in range(L):
        if nxt < n_pop:
            genome[lane] = nxt
            nxt += n_groups
            active += 1
            for i in range(n_params):
                W[i, lane] = population[genome[lane], i]
            rng[0] = seeds[0, 0] if shared else seeds[genome[lane], 0]
            _reset_one(kind, s1, rng, params)
            for i in range(state_dim):
                S[i, lane] = s1[i]
    while active > 0:
        _observe_lanes(kind, S, obs)
        _forward_lanes(w_flat, meta, obs_flat, buf_a, buf_b, out_flat)
        _actions_lanes(kind, out, low, high, action)
        _step_lanes(kind, S, action, params, reward, term)
        for lane in range(L):
            g = genome[lane]
            if g < 0:
                continue
            total[lane] += reward[lane]
            n_steps[lane] += 1
            t[lane] += 1
            if not (term[lane] or t[lane] >= max_steps):
                continue
            t[lane] = 0
            episode[lane] += 1
            if episode[lane] == episodes:
                returns[g] = total[lane] / episodes
                steps[g] = n_steps[lane]
                total[lane] = 0.0
                n_steps[lane] = 0
                episode[lane] = 0
                if nxt < n_pop:
                    g = nxt
                    nxt += n_groups
                    genome[lane] = g
                    for i in range(n_params):
                        W[i, lane] = population[g, i]
                else:  # idle lane: a valid state, never read back
                    genome[lane] = -1
                    active -= 1
                    for i in range(state_dim):
                        S[i, lane] = 0.0
                    continue
            e = episode[lane]
            rng[0] = seeds[0, e] if shared else seeds[g, e]
            _reset_one(kind, s1, rng, params)
            for i in range(state_dim):
                S[i, lane] = s1[i]


def _check_policy(net: Any, env: _Env, caller: str) -> None:
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


def rollout(
    net: Any,
    population: Any,
    env: CartPole | Pendulum,
    episodes: int = 1,
    max_steps: int | None = None,
    seed: SeedLike = 0,
    *,
    generation: int = 0,
    same_starts: bool = True,
    return_steps: bool = False,
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
    env : CartPole or Pendulum
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
    """

    caller = "rollout"
    if not isinstance(env, _Env):
        raise TypeError(
            f"The 'env' argument of {caller} must be a pyneat_lite.envs environment "
            f"(CartPole or Pendulum). Got {type(env).__name__} instead; use "
            "pn.gym.evaluate for gymnasium environments."
        )
    _check_policy(net, env, caller)
    pop = check_population(population, caller=caller, n_params=net.n_params)
    episodes = check_int(episodes, "episodes", caller=caller, min_val=1)
    max_steps = env.max_steps if max_steps is None else check_int(
        max_steps, "max_steps", caller=caller, min_val=1)
    generation = check_int(generation, "generation", caller=caller, min_val=0)
    seed = resolve_seed(seed, caller=caller)
    n_rows = 1 if same_starts else pop.shape[0]
    seeds = row_seeds(seed, generation, STREAMS["env"], n_rows * episodes)
    seeds = seeds.reshape(n_rows, episodes)
    returns = np.empty(pop.shape[0])
    steps = np.empty(pop.shape[0], np.int64)
    # enough groups for every thread, each with its lanes full when possible
    n_groups = max(1, min(-(-pop.shape[0] // _LANES), 4 * numba.get_num_threads()))
    _rollout_kernel(pop, np.ascontiguousarray(net.meta, dtype=np.int64),
                    int(net.max_width), int(net.n_out), env._kind, env.obs_dim,
                    env.state_dim, env.params, env.action_low, env.action_high,
                    seeds, max_steps, n_groups, returns, steps)
    return (returns, steps) if return_steps else returns


class Rollout:
    """Fitness function ``population -> mean return`` for an environment.

    Each call uses new start states (``generation`` advances by one per call),
    so that a run does not overfit a fixed set of episodes; the same seed
    gives the same sequence of calls.

    Parameters
    ----------
    net : Network
    env : CartPole or Pendulum
    episodes : int, default=3
    max_steps : int, optional
    seed : int, default=0
    same_starts : bool, default=True
        See :func:`rollout`.

    Attributes
    ----------
    generation : int
        Index of the next call's start states (saved and restored with the
        run's checkpoint by setting the attribute).
    """

    def __init__(self, net: Any, env: CartPole | Pendulum, episodes: int = 3,
                 max_steps: int | None = None, seed: int = 0,
                 same_starts: bool = True) -> None:
        if not isinstance(env, _Env):
            raise TypeError(
                "The 'env' argument of Rollout must be a pyneat_lite.envs environment. "
                f"Got {type(env).__name__} instead."
            )
        _check_policy(net, env, "Rollout")
        self.net = net
        self.env = env
        self.episodes = check_int(episodes, "episodes", caller="Rollout", min_val=1)
        self.max_steps = max_steps
        self.seed = resolve_seed(seed, caller="Rollout")
        self.same_starts = bool(same_starts)
        self.generation = 0

    def evaluate(self, population: Any, generation: int) -> np.ndarray:
        """Mean returns with the start states of ``generation`` (no state change)."""
        return rollout(self.net, population, self.env, self.episodes, self.max_steps,
                       self.seed, generation=generation, same_starts=self.same_starts)

    def __call__(self, population: Any) -> np.ndarray:
        """Mean returns of ``population``; then advance to new start states."""
        out = self.evaluate(population, self.generation)
        self.generation += 1
        return out

    def advance(self) -> None:
        """Move to the next start states without evaluating (used by the
        process-pool and Ray evaluators, whose workers call copies)."""
        self.generation += 1
