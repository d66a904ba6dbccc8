"""Environment kernels: resets, observations, actions and steps in lanes.

States are stored lane-minor, ``S`` float64 ``(state_dim, L)`` (one column
per environment), so that the dynamics are SIMD over lanes.  The formulas
are gymnasium's (``CartPole-v1``, ``Pendulum-v1``) line by line, in the same
order, in float64 with :data:`~._config.EXACT_OPTS` (no fused multiply-add),
so that states agree with gymnasium's to rounding and terminations exactly.

``params`` (float64):

- CartPole: ``[gravity, masscart, masspole, length, force_mag, tau,
  theta_threshold, x_threshold, sutton_barto]``;
- Pendulum: ``[max_speed, max_torque, dt, g, m, l]``.

Start states are drawn from the library's streams (:mod:`.rng`): episode
``e`` seeds a xoshiro256** state from its row seed and draws the
distributions of gymnasium's ``reset`` (CartPole: four ``U(-0.05, 0.05)``;
Pendulum: ``theta ~ U(-pi, pi)``, ``theta_dot ~ U(-1, 1)``).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ._config import EXACT_INLINE_OPTS, EXACT_OPTS
from .rng import rng_seed, rng_uniform

__all__ = [
    "CARTPOLE",
    "PENDULUM",
    "actions_lanes",
    "observe_env",
    "observe_lanes",
    "reset_lanes",
    "reset_one",
    "step_env",
    "step_lanes",
]

#: Environment codes (the ``kind`` argument of every kernel).
CARTPOLE = 0
PENDULUM = 1

_U = np.uint64


@njit(**EXACT_INLINE_OPTS)
def _uniform(state, low, high):
    return low + (high - low) * rng_uniform(state)


@njit(**EXACT_OPTS)
def reset_one(kind, s, state, seed):
    """Start state of one episode into ``s`` (float64 (state_dim,)), drawn
    from the stream of ``seed``; ``state`` (uint64 (4,)) is scratch."""
    rng_seed(state, seed)
    if kind == CARTPOLE:
        for i in range(4):
            s[i] = _uniform(state, -0.05, 0.05)
    else:
        s[0] = _uniform(state, -math.pi, math.pi)
        s[1] = _uniform(state, -1.0, 1.0)


@njit(**EXACT_OPTS)
def reset_lanes(kind, S, seeds):
    """Start states of every lane: column ``lane`` of ``S`` from
    ``seeds[lane]``."""
    s1 = np.empty(S.shape[0], np.float64)
    state = np.empty(4, np.uint64)
    for lane in range(S.shape[1]):
        reset_one(kind, s1, state, seeds[lane])
        for i in range(S.shape[0]):
            S[i, lane] = s1[i]


@njit(**EXACT_INLINE_OPTS)
def _sin_small(x):
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


@njit(**EXACT_INLINE_OPTS)
def _cos_small(x):
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


@njit(**EXACT_INLINE_OPTS)
def observe_lanes(kind, S, obs):
    """Observations ``obs`` (float32 (obs_dim, L)) of the states ``S``."""
    L = S.shape[1]
    if kind == CARTPOLE:
        for i in range(4):
            for lane in range(L):
                obs[i, lane] = np.float32(S[i, lane])
    else:
        for lane in range(L):
            obs[0, lane] = np.float32(math.cos(S[0, lane]))
            obs[1, lane] = np.float32(math.sin(S[0, lane]))
            obs[2, lane] = np.float32(S[1, lane])


@njit(**EXACT_INLINE_OPTS)
def actions_lanes(kind, out, low, high, action):
    """Network outputs ``out`` (float32 (n_out, L)) -> raw actions: argmax
    (first maximum, as ``np.argmax``) for discrete spaces, ``[-1, 1]`` mapped
    onto ``[low, high]`` for continuous ones."""
    L = out.shape[1]
    if kind == CARTPOLE:
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


@njit(**EXACT_INLINE_OPTS)
def step_lanes(kind, S, action, p, reward, term):
    """One step of every lane with raw actions (gymnasium's formulas, in the
    same order, in float64); writes ``reward`` and ``term`` per lane."""
    L = S.shape[1]
    if kind == CARTPOLE:
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


@njit(**EXACT_OPTS)
def step_env(kind, S, action, p, reward, term):
    """:func:`step_lanes` as a compiled entry point for the Python layer."""
    step_lanes(kind, S, action, p, reward, term)


@njit(**EXACT_OPTS)
def observe_env(kind, S, obs):
    """:func:`observe_lanes` as a compiled entry point for the Python layer."""
    observe_lanes(kind, S, obs)
