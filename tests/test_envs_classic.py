"""Acrobot, the mountain cars and CartPole swing-up: step by step against
gymnasium's own environments (swing-up against an independent NumPy
integration), fused rollouts against a plain gymnasium loop."""

from __future__ import annotations

import gymnasium
import numpy as np
import pytest

import pyneat_lite as pn
from pyneat_lite import _operators
from pyneat_lite._rng import STREAMS, row_seeds


def _gym_state(gym_env):
    return np.asarray(gym_env.unwrapped.state, np.float64)


def _copy_state(gym_env, env, i):
    s = _gym_state(gym_env)
    env.state[i, : s.size] = s
    env.state[i, s.size:] = 0.0  # MountainCarContinuous: a float64 state after reset
    env.elapsed[i] = 0


# Action makers: random ones and, for half the lanes or more, a pumping policy
# that reaches the goal, so that terminations are tested too.
def _acrobot_actions(rng, state):
    n = len(state)
    pump = np.where(state[:, 3] > 0, 2, 0)
    return np.where(np.arange(n) < n // 2, rng.integers(0, 3, n), pump)


def _mountaincar_actions(rng, state):
    n = len(state)
    pump = np.where(state[:, 1] > 0, 2, 0)
    # lanes 0 and 1 random (they time out), the others mostly pumping
    random = (rng.random(n) < 0.1) | (np.arange(n) < 2)
    return np.where(random, rng.integers(0, 3, n), pump)


def _continuous_actions(rng, state):
    # beyond the bounds too (gymnasium clips the force, not the reward's
    # action), and float32 like gymnasium's action space
    n = len(state)
    pump = np.where(state[:, 1] > 0, 1.0, -1.0) * rng.uniform(0.5, 1.3, n)
    a = np.where(np.arange(n) < n // 4, rng.uniform(-1.5, 1.5, n), pump)
    return a.astype(np.float32)[:, None]


@pytest.mark.parametrize("env_cls,make_actions,steps,min_term", [
    (pn.envs.Acrobot, _acrobot_actions, 700, 20),
    (pn.envs.MountainCar, _mountaincar_actions, 500, 15),
    (pn.envs.MountainCarContinuous, _continuous_actions, 1200, 50),
])
def test_matches_gymnasium_step_by_step(env_cls, make_actions, steps, min_term):
    n = 8
    env = env_cls()
    env.reset(n, seed=0)
    gyms = [gymnasium.make(env.id) for _ in range(n)]
    for i, g in enumerate(gyms):
        g.reset(seed=i)
        _copy_state(g, env, i)
    rng = np.random.default_rng(0)
    n_term = n_trunc = 0
    ours, theirs = [], []
    for t in range(steps):
        actions = make_actions(rng, env.state)
        obs, rew, term, trunc = env.step(actions)
        for i, g in enumerate(gyms):
            a = int(actions[i]) if env.discrete else actions[i]
            g_obs, g_rew, g_term, g_trunc, _ = g.step(a)
            s = _gym_state(g)
            ours.append([*obs[i], *env.state[i, : s.size], rew[i], term[i], trunc[i]])
            theirs.append([*g_obs, *s, g_rew, g_term, g_trunc])
            if g_term or g_trunc:
                n_term += g_term
                n_trunc += g_trunc
                g.reset(seed=1000 + t * n + i)
                _copy_state(g, env, i)
    # the same operations in the same order and precision as gymnasium's
    # (Acrobot's RK4 in float64, the continuous car's float32 steps): every
    # observation, state, reward and flag bit for bit
    np.testing.assert_array_equal(np.array(ours), np.array(theirs))
    assert n_term >= min_term and n_trunc > 0


def test_reset_states_come_from_the_library_stream():
    seeds = row_seeds(11, 4, STREAMS["env"], 5)
    u = np.stack([_operators._rng_draws(s, 4, 0) for s in seeds])
    acro = pn.envs.Acrobot()
    obs = acro.reset(5, seed=11, generation=4)
    # gymnasium draws U(-0.1, 0.1) and rounds the state to float32
    want = (-0.1 + 0.2 * u).astype(np.float32).astype(np.float64)
    np.testing.assert_array_equal(acro.state, want)
    np.testing.assert_array_equal(obs[:, 4:], want[:, 2:].astype(np.float32))
    np.testing.assert_array_equal(obs[:, 0], np.cos(want[:, 0]).astype(np.float32))
    for cls in (pn.envs.MountainCar, pn.envs.MountainCarContinuous):
        car = cls()
        car.reset(5, seed=11, generation=4)
        np.testing.assert_array_equal(car.state[:, 0], -0.6 + (-0.4 - -0.6) * u[:, 0])
        assert np.all(car.state[:, 1:] == 0.0)
    swing = pn.envs.CartPoleSwingUp()
    obs = swing.reset(5, seed=11, generation=4)
    want = -0.05 + 0.1 * u
    want[:, 2] += np.pi
    np.testing.assert_array_equal(swing.state, want)
    assert obs.shape == (5, 5)
    np.testing.assert_array_equal(obs[:, 2], np.cos(want[:, 2]).astype(np.float32))


def test_reset_distributions():
    pos = pn.envs.MountainCar().reset(4000, seed=3)[:, 0]
    assert pos.min() >= -0.6 and pos.max() <= -0.4
    assert abs(pos.mean() + 0.5) < 3 * 0.2 / np.sqrt(12 * 4000)
    acro = pn.envs.Acrobot()
    acro.reset(4000, seed=3)
    assert np.abs(acro.state).max() <= 0.1
    assert abs(acro.state.var() - 0.04 / 12) < 0.1 * 0.04 / 12


def _swingup_reference(state, forces, p):
    """CartPole swing-up by an independent formulation: the Lagrangian's 2x2
    mass matrix solved by NumPy for the accelerations, then the same
    explicit Euler step (positions from the old velocities)."""
    g, mc, mp, half, force_mag, tau, x_thr = p
    s = state.copy()
    out = []
    for f in forces:
        x, x_dot, th, th_dot = s.T
        f = np.clip(f, -force_mag, force_mag)
        # pole: a uniform rod of half-length l, inertia m l^2 / 3 about its
        # centre; x'' and theta'' from
        #   (mc + mp) x'' + mp l cos(th) th''   = f + mp l sin(th) th'^2
        #   mp l cos(th) x'' + 4/3 mp l^2 th''  = mp g l sin(th)
        A = np.empty((len(s), 2, 2))
        A[:, 0, 0] = mc + mp
        A[:, 0, 1] = A[:, 1, 0] = mp * half * np.cos(th)
        A[:, 1, 1] = 4.0 / 3.0 * mp * half**2
        b = np.stack([f + mp * half * np.sin(th) * th_dot**2,
                      mp * g * half * np.sin(th)], axis=1)
        acc = np.linalg.solve(A, b[..., None])[..., 0]
        s = np.stack([x + tau * x_dot, x_dot + tau * acc[:, 0],
                      th + tau * th_dot, th_dot + tau * acc[:, 1]], axis=1)
        reward = 0.5 * (1.0 + np.cos(s[:, 2]))
        out.append((s, reward, np.abs(s[:, 0]) > x_thr))
    return out


def test_swingup_matches_an_independent_integration():
    n = 6
    env = pn.envs.CartPoleSwingUp()
    env.reset(n, seed=2)
    start = env.state.copy()
    rng = np.random.default_rng(3)
    # smooth random forces (beyond the bounds too): the pole swings far
    forces = np.cumsum(rng.normal(0, 3.0, (150, n)), axis=0)
    ref = _swingup_reference(start, forces, env.params)
    swung = False
    for t, (s_ref, r_ref, term_ref) in enumerate(ref):
        obs, rew, term, trunc = env.step(forces[t])
        np.testing.assert_allclose(env.state, s_ref, rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(rew, r_ref, rtol=1e-9, atol=1e-9)
        np.testing.assert_array_equal(term, term_ref)
        assert not trunc.any()
        np.testing.assert_allclose(
            obs, np.stack([s_ref[:, 0], s_ref[:, 1], np.cos(s_ref[:, 2]),
                           np.sin(s_ref[:, 2]), s_ref[:, 3]], 1), rtol=1e-6,
            atol=1e-6)
        swung |= bool((np.abs(np.cos(s_ref[:, 2]) - np.cos(start[:, 2])) > 0.5).any())
    assert swung  # the test covers large angles, not only small swings
    # hanging at rest with no force is an equilibrium
    env.reset(1, seed=0)
    env.state[0] = [0.0, 0.0, np.pi, 0.0]
    for _ in range(50):
        env.step([0.0])
    np.testing.assert_allclose(env.state[0], [0.0, 0.0, np.pi, 0.0], atol=1e-12)


def _gym_start(g, env, s0):
    """Put gymnasium's env ``g`` in our start state ``s0``; its observation."""
    u = g.unwrapped
    if env.id == "Acrobot-v1":
        u.state = s0.copy()
        return u._get_ob()
    u.state = np.array(s0[:2], np.float64)
    return np.array(u.state, np.float32)


def _gym_return(net, genome, env, starts, max_steps):
    total = 0.0
    for s0 in starts:
        g = gymnasium.make(env.id, max_episode_steps=max_steps)
        g.reset(seed=0)
        obs = _gym_start(g, env, s0)
        while True:
            out = net.forward(genome, obs[None])[0]
            if env.discrete:
                action = int(np.argmax(out))
            else:
                o = min(max(float(out[0]), -1.0), 1.0)  # rollout's mapping
                action = np.array([-1.0 + (o + 1.0) * 0.5 * 2.0], np.float32)
            obs, r, term, trunc, _ = g.step(action)
            total += r
            if term or trunc:
                break
    return total / len(starts)


@pytest.mark.parametrize("env_cls,sizes,acts,max_steps", [
    (pn.envs.Acrobot, [6, 3], ["linear"], 250),
    (pn.envs.MountainCar, [2, 3], ["linear"], 200),
    (pn.envs.MountainCarContinuous, [2, 1], ["tanh"], 300),
])
def test_rollout_equals_gymnasium_loop(env_cls, sizes, acts, max_steps):
    net = pn.Network(sizes, acts)
    pop = net.init_population(5, seed=2) * np.float32(3.0)
    env = env_cls()
    # linear policies that pump energy (push along a velocity: dtheta2,
    # input 5, or the car's velocity, input 1) and reach the goal
    n_out = sizes[-1]
    vel = 5 if env_cls is pn.envs.Acrobot else 1
    gain = np.float32(5.0 if env_cls is pn.envs.Acrobot else 300.0)
    pop[:, vel * n_out + n_out - 1] += gain * np.arange(1, 6, dtype=np.float32)
    if n_out == 3:
        pop[:, vel * n_out] -= gain
    episodes = 2
    ret = pn.envs.rollout(net, pop, env, episodes=episodes, max_steps=max_steps,
                          seed=5, generation=2)
    probe = env_cls()
    probe.reset(episodes, seed=5, generation=2)
    refs = [_gym_return(net, pop[p], env, probe.state, max_steps)
            for p in range(len(pop))]
    np.testing.assert_array_equal(ret, refs)
    assert len(set(refs)) > 1  # the policies differ in their returns
    # some reach the goal (the continuous car: +100 minus the actions' cost)
    assert max(refs) > (0.0 if env_cls is pn.envs.MountainCarContinuous else -max_steps)


def test_swingup_rollout_equals_stepping():
    net = pn.Network([5, 8, 1], ["tanh", "tanh"])
    pop = net.init_population(9, seed=1) * np.float32(2.0)
    env = pn.envs.CartPoleSwingUp(max_steps=120)
    ret, steps = pn.envs.rollout(net, pop, env, episodes=1, seed=4,
                                 return_steps=True)
    for p in range(len(pop)):
        obs = env.reset(1, seed=4)
        total, n = 0.0, 0
        while True:
            o = np.clip(net.forward(pop[p], obs)[0, 0].astype(np.float64), -1, 1)
            obs, r, term, trunc = env.step([-10.0 + (o + 1.0) * 0.5 * 20.0])
            total += r[0]
            n += 1
            if term[0] or trunc[0]:
                break
        assert ret[p] == total and steps[p] == n
    assert np.all(ret > 0) and ret.max() < 120


def test_bad_input():
    with pytest.raises(ValueError, match="force_mag"):
        pn.envs.CartPoleSwingUp(force_mag=0.0)
    env = pn.envs.MountainCar()
    env.reset(2, seed=0)
    with pytest.raises(ValueError, match=r"integers in \[0, 2\]"):
        env.step([0, 3])
    net = pn.Network([2, 4, 2], ["tanh", "linear"])
    with pytest.raises(ValueError, match=r"3 discrete actions"):
        pn.envs.rollout(net, net.init_population(2, seed=0), env)
    net = pn.Network([4, 4, 1], ["tanh", "tanh"])
    with pytest.raises(ValueError, match=r"shape \(5,\)"):
        pn.envs.rollout(net, net.init_population(2, seed=0), pn.envs.CartPoleSwingUp())
    assert set(pn.envs.ENVS) == {"CartPole-v1", "Pendulum-v1", "Acrobot-v1",
                                 "MountainCar-v0", "MountainCarContinuous-v0",
                                 "CartPoleSwingUp"}


def test_scale_inputs_divides_the_observations():
    net = pn.Network([2, 5, 3], ["tanh", "linear"])
    pop = net.init_population(4, seed=0)
    obs = np.random.default_rng(0).normal(size=(7, 2)).astype(np.float32)
    scale = np.array([0.9, 0.07])
    got = net.forward(pn.envs.scale_inputs(net, pop, scale), obs)
    want = net.forward(pop, (obs / scale).astype(np.float32))
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    one = pn.envs.scale_inputs(net, pop[0], scale)
    assert one.shape == (net.n_params,) and one.dtype == np.float32
    # only the first layer's input weights change
    changed = np.flatnonzero(one != pop[0])
    assert changed.min() >= 0 and changed.max() < 2 * 5
    with pytest.raises(ValueError, match="2 positive values"):
        pn.envs.scale_inputs(net, pop, [1.0])
    with pytest.raises(ValueError, match="positive values"):
        pn.envs.scale_inputs(net, pop, [1.0, 0.0])


def test_mountaincar_demo_reaches_the_goal():
    from pyneat_lite.tasks import demos

    # the sparse, deceptive car: SNES on scaled inputs; the Solved check
    # stops the run at -105.5 on 200 fresh Numba episodes
    task = demos.mountaincar(seed=0)
    algo = pn.SNES(n_params=task.n_params, pop_size=task.pop, seed=0,
                   x0=task.x0, **task.es_kwargs)
    res = algo.run(task.fitness, generations=120, callbacks=task.callbacks)
    solved = task.callbacks[0]
    assert res.stop_reason == "callback" and solved.score >= -105.5
    # the policy (for raw observations) on 100 other episodes of our env and
    # of gymnasium's own MountainCar-v0: gymnasium's reward threshold
    net = pn.Network([2, 16, 3], ["tanh", "linear"])
    ours = pn.envs.rollout(net, solved.genome[None], pn.envs.MountainCar(),
                           episodes=100, seed=99, same_starts=False)[0]
    gym = pn.gym.evaluate(net, solved.genome[None], "MountainCar-v0", episodes=100,
                          seed=7)[0]
    assert ours >= -110.0 and gym >= -110.0, (ours, gym)
    # without the input scale, the same budget finds nothing: every policy
    # misses the goal (the reward is -200 whatever it does)
    plain = pn.envs.Rollout(net, pn.envs.MountainCar(), episodes=10, seed=0)
    ga = pn.GA(n_params=net.n_params, pop_size=64, seed=0)
    assert ga.run(plain, generations=20).best_fitness == -200.0


def test_cli_runs_the_control_tasks(capsys):
    from pyneat_lite.cli import TASKS, main

    assert {"acrobot", "mountaincar", "mountaincar-continuous", "swingup"} <= set(TASKS)
    assert main(["run", "mountaincar-continuous", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "callback:" in out and "solved check passed" in out
    assert "100 gymnasium MountainCarContinuous-v0 episodes" in out
    assert main(["run", "swingup", "--quiet", "--generations", "2"]) == 0
    assert "100 new episodes" in capsys.readouterr().out


@pytest.mark.parametrize("env_id", sorted(pn.envs.ENVS))
def test_rollout_does_not_depend_on_threads(env_id):
    env = pn.envs.ENVS[env_id](max_steps=150)
    n_out = env.n_actions if env.discrete else 1
    net = pn.Network([env.obs_dim, n_out], "linear" if env.discrete else "tanh")
    pop = net.init_population(40, seed=3) * np.float32(3.0)
    # pumping policies (see above), so that episodes end at different steps
    if env_id == "Acrobot-v1":
        pop[:, 5 * 3 + 2] += np.linspace(0, 10, 40, dtype=np.float32)
    elif env_id.startswith("MountainCar"):
        pop[:, n_out:2 * n_out] *= np.float32(100.0)
    one = pn.envs.rollout(net, pop, env, episodes=2, seed=1, same_starts=False,
                          return_steps=True, n_threads=1)
    two = pn.envs.rollout(net, pop, env, episodes=2, seed=1, same_starts=False,
                          return_steps=True, n_threads=2)
    np.testing.assert_array_equal(one[0], two[0])
    np.testing.assert_array_equal(one[1], two[1])
    assert np.unique(one[0]).size > 1
