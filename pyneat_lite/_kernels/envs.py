"""Environment kernels: resets, observations, actions and steps in lanes.

States are stored lane-minor, ``S`` float64 ``(state_dim, L)`` (one column
per environment), so that the dynamics are SIMD over lanes.  The formulas
are gymnasium's (``CartPole-v1``, ``Pendulum-v1``, ``Acrobot-v1``,
``MountainCar-v0``, ``MountainCarContinuous-v0``) line by line, in the same
order and the same precision (float64, or float32 where NumPy 2's promotion
rules make gymnasium compute in float32), with :data:`~._config.EXACT_OPTS`
(no fused multiply-add), so that states agree with gymnasium's to rounding
and terminations exactly.  CartPole swing-up has no gymnasium counterpart: it
is CartPole's Euler integration with the pole starting down, libm
``sin``/``cos`` (the angle is not small) and a continuous force.

``params`` (float64):

- CartPole: ``[gravity, masscart, masspole, length, force_mag, tau,
  theta_threshold, x_threshold, sutton_barto]``;
- Pendulum: ``[max_speed, max_torque, dt, g, m, l]``;
- Acrobot: ``[m1, m2, l1, lc1, lc2, moi, max_vel_1, max_vel_2, dt, g, 2.0]``
  (gymnasium's "book" dynamics, RK4 over one ``dt``, no torque noise);
- MountainCar: ``[min_position, max_position, max_speed, goal_position,
  goal_velocity, force, gravity]``;
- MountainCarContinuous: ``[min_position, max_position, max_speed,
  goal_position, goal_velocity, power, min_action, max_action]``;
- CartPole swing-up: ``[gravity, masscart, masspole, length, force_mag, tau,
  x_threshold]``.

States: CartPole, CartPole swing-up ``(x, x_dot, theta, theta_dot)``;
Pendulum ``(theta, theta_dot)``; Acrobot ``(theta1, theta2, dtheta1,
dtheta2)``; MountainCar ``(position, velocity)``; MountainCarContinuous
``(position, velocity, stepped)``: gymnasium stores this state in float64
after ``reset`` but in float32 after every step, which changes the precision
of the next step's arithmetic, so the third value records which (0 after a
reset, 1 after a step; the first two are then float32 values).

Start states are drawn from the library's streams (:mod:`.rng`): episode
``e`` seeds a xoshiro256** state from its row seed and draws the
distributions of gymnasium's ``reset`` (CartPole: four ``U(-0.05, 0.05)``;
Pendulum: ``theta ~ U(-pi, pi)``, ``theta_dot ~ U(-1, 1)``; Acrobot: four
``U(-0.1, 0.1)`` rounded to float32, as gymnasium does; the mountain cars:
``position ~ U(-0.6, -0.4)``, ``velocity = 0``; swing-up: CartPole's with
``pi`` added to ``theta``).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ._config import EXACT_INLINE_OPTS, EXACT_OPTS
from .rng import rng_seed, rng_uniform

__all__ = [
    "ACROBOT",
    "CARTPOLE",
    "CARTPOLE_SWINGUP",
    "DISCRETE",
    "MOUNTAINCAR",
    "MOUNTAINCAR_CONTINUOUS",
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
ACROBOT = 2
MOUNTAINCAR = 3
MOUNTAINCAR_CONTINUOUS = 4
CARTPOLE_SWINGUP = 5
#: Kinds with a discrete action space (argmax of the network's outputs).
DISCRETE = (CARTPOLE, ACROBOT, MOUNTAINCAR)

_U = np.uint64


@njit(**EXACT_INLINE_OPTS)
def _uniform(state, low, high):
    return low + (high - low) * rng_uniform(state)


@njit(**EXACT_INLINE_OPTS)
def reset_one(kind, s, state, seed):
    """Start state of one episode into ``s`` (float64 (state_dim,)), drawn
    from the stream of ``seed``; ``state`` (uint64 (4,)) is scratch."""
    rng_seed(state, seed)
    if kind in (CARTPOLE, CARTPOLE_SWINGUP):
        for i in range(4):
            s[i] = _uniform(state, -0.05, 0.05)
        if kind == CARTPOLE_SWINGUP:
            s[2] = s[2] + math.pi
    elif kind == PENDULUM:
        s[0] = _uniform(state, -math.pi, math.pi)
        s[1] = _uniform(state, -1.0, 1.0)
    elif kind == ACROBOT:
        for i in range(4):
            s[i] = np.float64(np.float32(_uniform(state, -0.1, 0.1)))
    else:  # the mountain cars
        s[0] = _uniform(state, -0.6, -0.4)
        s[1] = 0.0
        if kind == MOUNTAINCAR_CONTINUOUS:
            s[2] = 0.0


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
        # flat views, unsigned indices: one SIMD conversion loop
        n = _U(4 * L)
        s = S.reshape(S.size)
        o = obs.reshape(obs.size)
        for i in range(n):
            o[i] = np.float32(s[i])
    elif kind == PENDULUM:
        for lane in range(L):
            obs[0, lane] = np.float32(math.cos(S[0, lane]))
            obs[1, lane] = np.float32(math.sin(S[0, lane]))
            obs[2, lane] = np.float32(S[1, lane])
    elif kind == ACROBOT:
        for lane in range(L):
            obs[0, lane] = np.float32(math.cos(S[0, lane]))
            obs[1, lane] = np.float32(math.sin(S[0, lane]))
            obs[2, lane] = np.float32(math.cos(S[1, lane]))
            obs[3, lane] = np.float32(math.sin(S[1, lane]))
            obs[4, lane] = np.float32(S[2, lane])
            obs[5, lane] = np.float32(S[3, lane])
    elif kind == CARTPOLE_SWINGUP:
        for lane in range(L):
            obs[0, lane] = np.float32(S[0, lane])
            obs[1, lane] = np.float32(S[1, lane])
            obs[2, lane] = np.float32(math.cos(S[2, lane]))
            obs[3, lane] = np.float32(math.sin(S[2, lane]))
            obs[4, lane] = np.float32(S[3, lane])
    else:  # the mountain cars
        for lane in range(L):
            obs[0, lane] = np.float32(S[0, lane])
            obs[1, lane] = np.float32(S[1, lane])


@njit(**EXACT_INLINE_OPTS)
def actions_lanes(kind, out, low, high, action):
    """Network outputs ``out`` (float32 (n_out, L)) -> raw actions: argmax
    (first maximum, as ``np.argmax``) for discrete spaces, ``[-1, 1]`` mapped
    onto ``[low, high]`` for continuous ones."""
    L = out.shape[1]
    if kind in DISCRETE and out.shape[0] == 2:
        # two actions (CartPole): the first maximum is 1 only if out[1] is
        # strictly larger, as np.argmax; branch-free, SIMD over lanes
        n = _U(L)
        o = out.reshape(out.size)
        for lane in range(n):
            action[lane] = 1.0 if o[n + lane] > o[lane] else 0.0
    elif kind in DISCRETE:
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
def _acrobot_dsdt(p, torque, t1, t2, dt1, dt2):
    """gymnasium's ``AcrobotEnv._dsdt`` ("book" dynamics): the accelerations
    ``(ddtheta1, ddtheta2)``, each operation in gymnasium's order."""
    m1, m2, l1, lc1, lc2, moi, g = p[0], p[1], p[2], p[3], p[4], p[5], p[9]
    # gymnasium squares NumPy float64 scalars (``x**2``): libm's pow, which
    # is not always x * x to the last bit; p[10] = 2.0 is a runtime exponent,
    # so LLVM cannot fold pow(x, 2.0) into x * x
    two = p[10]
    pi = math.pi
    d1 = (m1 * math.pow(lc1, two)
          + m2 * (math.pow(l1, two) + math.pow(lc2, two)
                  + 2 * l1 * lc2 * math.cos(t2)) + moi + moi)
    d2 = m2 * (math.pow(lc2, two) + l1 * lc2 * math.cos(t2)) + moi
    phi2 = m2 * lc2 * g * math.cos(t1 + t2 - pi / 2.0)
    phi1 = (
        -m2 * l1 * lc2 * math.pow(dt2, two) * math.sin(t2)
        - 2 * m2 * l1 * lc2 * dt2 * dt1 * math.sin(t2)
        + (m1 * lc1 + m2 * l1) * g * math.cos(t1 - pi / 2)
        + phi2
    )
    ddtheta2 = (
        torque + d2 / d1 * phi1 - m2 * l1 * lc2 * math.pow(dt1, two) * math.sin(t2)
        - phi2
    ) / (m2 * math.pow(lc2, two) + moi - math.pow(d2, two) / d1)
    ddtheta1 = -(d2 * ddtheta2 + phi1) / d1
    return ddtheta1, ddtheta2


@njit(**EXACT_INLINE_OPTS)
def _wrap(x, m, big):
    diff = big - m
    while x > big:
        x = x - diff
    while x < m:
        x = x + diff
    return x


@njit(**EXACT_INLINE_OPTS)
def _step_acrobot(S, action, p, reward, term):
    # gymnasium's rk4 over t = [0, dt]: one step of classical RK4 on the
    # augmented state (the torque's derivative is 0, so it stays constant)
    dt = p[8] - 0.0
    dt2 = dt / 2.0
    dt6 = dt / 6.0
    max_v1, max_v2 = p[6], p[7]
    for lane in range(S.shape[1]):
        torque = action[lane] - 1.0  # AVAIL_TORQUE = [-1, 0, 1]
        y0, y1, y2, y3 = S[0, lane], S[1, lane], S[2, lane], S[3, lane]
        a1, b1 = _acrobot_dsdt(p, torque, y0, y1, y2, y3)
        k1 = (y2, y3, a1, b1)
        a2, b2 = _acrobot_dsdt(p, torque, y0 + dt2 * k1[0], y1 + dt2 * k1[1],
                               y2 + dt2 * k1[2], y3 + dt2 * k1[3])
        k2 = (y2 + dt2 * k1[2], y3 + dt2 * k1[3], a2, b2)
        a3, b3 = _acrobot_dsdt(p, torque, y0 + dt2 * k2[0], y1 + dt2 * k2[1],
                               y2 + dt2 * k2[2], y3 + dt2 * k2[3])
        k3 = (y2 + dt2 * k2[2], y3 + dt2 * k2[3], a3, b3)
        a4, b4 = _acrobot_dsdt(p, torque, y0 + dt * k3[0], y1 + dt * k3[1],
                               y2 + dt * k3[2], y3 + dt * k3[3])
        k4 = (y2 + dt * k3[2], y3 + dt * k3[3], a4, b4)
        n0 = y0 + dt6 * (k1[0] + 2 * k2[0] + 2 * k3[0] + k4[0])
        n1 = y1 + dt6 * (k1[1] + 2 * k2[1] + 2 * k3[1] + k4[1])
        n2 = y2 + dt6 * (k1[2] + 2 * k2[2] + 2 * k3[2] + k4[2])
        n3 = y3 + dt6 * (k1[3] + 2 * k2[3] + 2 * k3[3] + k4[3])
        n0 = _wrap(n0, -math.pi, math.pi)
        n1 = _wrap(n1, -math.pi, math.pi)
        n2 = min(max(n2, -max_v1), max_v1)
        n3 = min(max(n3, -max_v2), max_v2)
        S[0, lane], S[1, lane], S[2, lane], S[3, lane] = n0, n1, n2, n3
        done = -math.cos(n0) - math.cos(n1 + n0) > 1.0
        term[lane] = done
        reward[lane] = 0.0 if done else -1.0


@njit(**EXACT_INLINE_OPTS)
def _step_mountaincar(S, action, p, reward, term):
    min_pos, max_pos, max_speed, goal_pos, goal_vel = p[0], p[1], p[2], p[3], p[4]
    force, gravity = p[5], p[6]
    for lane in range(S.shape[1]):
        position, velocity = S[0, lane], S[1, lane]
        velocity += (action[lane] - 1.0) * force + math.cos(3 * position) * (-gravity)
        velocity = min(max(velocity, -max_speed), max_speed)
        position += velocity
        position = min(max(position, min_pos), max_pos)
        if position == min_pos and velocity < 0:
            velocity = 0.0
        term[lane] = position >= goal_pos and velocity >= goal_vel
        reward[lane] = -1.0
        S[0, lane], S[1, lane] = position, velocity


@njit(**EXACT_INLINE_OPTS)
def _step_mountaincar_continuous(S, action, p, reward, term):
    # gymnasium's arithmetic under NumPy 2's promotion rules: a NumPy float32
    # with a Python float computes in float32.  The action is float32; after
    # a step the state is float32 too, so every operation of the next step is
    # float32 (Python constants rounded to float32), while the first step
    # after a reset works in float64 on a float64 state.
    # (Numba's float() of a float32 is a float32: widen with np.float64)
    f32 = np.float32
    min_pos, max_pos, max_speed, goal_pos, goal_vel = p[0], p[1], p[2], p[3], p[4]
    power, min_a, max_a = p[5], p[6], p[7]
    for lane in range(S.shape[1]):
        a32 = f32(action[lane])
        stepped = S[2, lane] != 0.0
        if stepped:
            cos3 = math.cos(np.float64(f32(3.0) * f32(S[0, lane])))
        else:
            cos3 = math.cos(3 * S[0, lane])
        slope = 0.0025 * cos3
        # min(max(action[0], min_a), max_a) keeps the float32 action inside
        # the bounds and gives a Python float bound outside them
        if a32 < f32(min_a) or a32 > f32(max_a):
            bound = min_a if a32 < f32(min_a) else max_a
            inc = bound * power - slope
        else:
            inc = np.float64(a32 * f32(power) - f32(slope))
        if stepped:
            position, velocity = f32(S[0, lane]), f32(S[1, lane])
            velocity = velocity + f32(inc)
            if velocity > f32(max_speed):
                velocity = f32(max_speed)
            if velocity < f32(-max_speed):
                velocity = f32(-max_speed)
            position = position + velocity
            if position > f32(max_pos):
                position = f32(max_pos)
            if position < f32(min_pos):
                position = f32(min_pos)
            if position == f32(min_pos) and velocity < 0:
                velocity = f32(0.0)
            done = position >= f32(goal_pos) and velocity >= f32(goal_vel)
            new_pos, new_vel = np.float64(position), np.float64(velocity)
        else:
            pos64, vel64 = S[0, lane], S[1, lane] + inc
            if vel64 > max_speed:
                vel64 = max_speed
            if vel64 < -max_speed:
                vel64 = -max_speed
            pos64 += vel64
            if pos64 > max_pos:
                pos64 = max_pos
            if pos64 < min_pos:
                pos64 = min_pos
            if pos64 == min_pos and vel64 < 0:
                vel64 = 0.0
            done = pos64 >= goal_pos and vel64 >= goal_vel
            new_pos, new_vel = np.float64(f32(pos64)), np.float64(f32(vel64))
        term[lane] = done
        r = 100.0 if done else 0.0
        a = np.float64(a32)
        reward[lane] = r - a * a * 0.1  # the action before clipping, as gymnasium
        S[0, lane] = new_pos
        S[1, lane] = new_vel
        S[2, lane] = 1.0


@njit(**EXACT_INLINE_OPTS)
def _step_swingup(S, action, p, reward, term):
    gravity, masscart, masspole, length = p[0], p[1], p[2], p[3]
    force_mag, tau, x_thr = p[4], p[5], p[6]
    total_mass = masspole + masscart
    polemass_length = masspole * length
    for lane in range(S.shape[1]):
        x, x_dot, theta, theta_dot = S[0, lane], S[1, lane], S[2, lane], S[3, lane]
        force = min(max(action[lane], -force_mag), force_mag)
        costheta = math.cos(theta)
        sintheta = math.sin(theta)
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
        S[0, lane], S[1, lane], S[2, lane], S[3, lane] = x, x_dot, theta, theta_dot
        done = (x < -x_thr) | (x > x_thr)
        term[lane] = done
        # upright 1, hanging 0, evaluated at the new angle
        reward[lane] = 0.5 * (1.0 + math.cos(theta))


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
    elif kind == PENDULUM:
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
    elif kind == ACROBOT:
        _step_acrobot(S, action, p, reward, term)
    elif kind == MOUNTAINCAR:
        _step_mountaincar(S, action, p, reward, term)
    elif kind == MOUNTAINCAR_CONTINUOUS:
        _step_mountaincar_continuous(S, action, p, reward, term)
    else:
        _step_swingup(S, action, p, reward, term)


@njit(**EXACT_OPTS)
def step_env(kind, S, action, p, reward, term):
    """:func:`step_lanes` as a compiled entry point for the Python layer."""
    step_lanes(kind, S, action, p, reward, term)


@njit(**EXACT_OPTS)
def observe_env(kind, S, obs):
    """:func:`observe_lanes` as a compiled entry point for the Python layer."""
    observe_lanes(kind, S, obs)
