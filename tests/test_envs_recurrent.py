"""Recurrent policies (RNN, GRU) in the Numba rollouts of every built-in
environment (issues 13 and 14): against rollouts stepped by hand (gymnasium's
own environment, or the swing-up's stepping, and the NumPy reference of the
recurrent layers), against ``pn.gym.evaluate``, and across thread counts."""

from __future__ import annotations

import gymnasium
import numpy as np
import pytest
from env_helpers import gym_evaluate_from_library_starts, gym_start
from ref_layers import recurrent_step_ref

import pyneat_lite as pn
from pyneat_lite.layers import GRU, RNN, Conv2D, Dense, Flatten

# environment id -> (max_steps, the velocity input, its input gain, output gain):
# policies that push along a velocity pump energy and end episodes at
# different steps (a random policy on Acrobot or MountainCar never does)
SETUP = {
    "CartPole-v1": (150, None, 0.0, 0.0),
    "Pendulum-v1": (60, None, 0.0, 0.0),
    "Acrobot-v1": (200, 5, 1.0, 4.0),
    "MountainCar-v0": (200, 1, 100.0, 4.0),
    "MountainCarContinuous-v0": (250, 1, 100.0, 4.0),
    "CartPoleSwingUp": (150, None, 0.0, 0.0),
}


def _net(kind, env):
    n_out = env.n_actions
    act = "linear" if env.discrete else "tanh"
    if kind == "rnn":
        return pn.Network(layers=[RNN(env.obs_dim), Dense(n_out, act)],
                          input_shape=env.obs_dim)
    if kind == "gru":
        return pn.Network(layers=[GRU(env.obs_dim), Dense(n_out, act)],
                          input_shape=env.obs_dim)
    # two recurrent layers and a dense one in front
    return pn.Network(layers=[Dense(5, "tanh"), GRU(4), RNN(3),
                              Dense(n_out, act)], input_shape=env.obs_dim)


def _population(net, env, P, seed=0):
    """Random genomes (biases too); where random policies do not end episodes
    early, a chain of units that follows the velocity input through every
    hidden layer and an output pushing along it, with a gain growing over the
    population."""
    rng = np.random.default_rng(seed)
    pop = rng.normal(0.0, 0.6, (P, net.n_params)).astype(np.float32)
    _, vel, g_in, g_out = SETUP[env.id]
    if vel is None:
        return pop
    c = vel  # the unit of the previous layer that carries the velocity
    gain = g_in
    for lay, lo in zip(net.layers[:-1], net.layout[:-1], strict=True):
        cols = lo.w_shape[1]
        if isinstance(lay, GRU):
            u = lay.units
            # gate z shut (large negative bias): the new state is the
            # candidate n, whose input weights are the columns 2u..3u
            pop[:, lo.b_offset + u:lo.b_offset + 2 * u] = -6.0
            pop[:, lo.w_offset + c * cols + 2 * u] += gain
        else:
            pop[:, lo.w_offset + c * cols] += gain
        c, gain = 0, 3.0
    last = net.layout[-1]
    n_out = last.w_shape[1]
    gains = g_out * np.arange(1, P + 1, dtype=np.float32) / P
    w = last.w_offset + c * n_out
    pop[:, w + n_out - 1] += gains  # the last action (right, or the force)
    if n_out == 3:
        pop[:, w] -= gains  # the first (left)
    return pop


def _ref_spec(net):
    out = []
    for lay in net.layers:
        if isinstance(lay, RNN):
            out.append(("rnn", lay.units, lay.activation))
        elif isinstance(lay, GRU):
            out.append(("gru", lay.units))
        else:
            out.append(("dense", lay.units, lay.activation))
    return out


def _action(env, out):
    """The rollout's documented mapping of one output row to an action."""
    if env.discrete:
        return int(np.argmax(out))
    o = min(max(float(out[0]), -1.0), 1.0)
    lo, hi = float(env.action_low[0]), float(env.action_high[0])
    return lo + (o + 1.0) * 0.5 * (hi - lo)


def _by_hand(net, genome, env, starts, max_steps, reset=True):
    """Mean return of one genome, stepped by hand: gymnasium's environment
    (the swing-up: the library's own stepping, tested against an independent
    integration in test_envs_classic), the policy by ``forward_each`` with a
    zero state at every episode start, each of its steps checked against the
    NumPy reference of the layers."""
    spec = _ref_spec(net)
    units = [lay.units for lay in net.layers if isinstance(lay, (RNN, GRU))]
    total = 0.0
    n_steps = 0
    state = net.init_state(1)
    ref_states = [np.zeros(u) for u in units]
    for s0 in starts:
        if reset:
            state[:] = 0.0
            for h in ref_states:
                h[:] = 0.0
        if env.id == "CartPoleSwingUp":
            e = type(env)(max_steps=max_steps)
            e.reset(1, seed=0)
            e.state[0] = s0
            obs = e.observe()[0]
        else:
            g = gymnasium.make(env.id, max_episode_steps=max_steps)
            g.reset(seed=0)
            obs = gym_start(g, env.id, s0)
        while True:
            out = net.forward_each(genome[None], np.asarray(obs, np.float32)[None],
                                   state=state)[0]
            ref = recurrent_step_ref(spec, env.obs_dim, genome, obs, ref_states)
            np.testing.assert_allclose(out, ref, rtol=2e-4, atol=2e-4)
            a = _action(env, out)
            if env.id == "CartPoleSwingUp":
                obs, r, term, trunc = e.step([a])
                obs, r, term, trunc = obs[0], r[0], term[0], trunc[0]
            else:
                act = a if env.discrete else np.array([a], np.float32)
                obs, r, term, trunc, _ = g.step(act)
            total += float(r)
            n_steps += 1
            if term or trunc:
                break
    return total / len(starts), n_steps


@pytest.mark.parametrize("kind", ["rnn", "gru", "stack"])
@pytest.mark.parametrize("env_id", sorted(pn.envs.ENVS))
def test_rollout_equals_stepping_by_hand(env_id, kind):
    env = pn.envs.ENVS[env_id]()
    max_steps = SETUP[env_id][0]
    net = _net(kind, env)
    P, episodes = 5, 2
    pop = _population(net, env, P, seed=len(env_id))
    ret, steps = pn.envs.rollout(net, pop, env, episodes=episodes,
                                 max_steps=max_steps, seed=7, generation=1,
                                 return_steps=True)
    probe = type(env)()
    probe.reset(episodes, seed=7, generation=1)
    for p in range(P):
        ref, n = _by_hand(net, pop[p], env, probe.state, max_steps)
        np.testing.assert_allclose(ret[p], ref, rtol=1e-12, atol=1e-12)
        assert steps[p] == n
    # the policies differ, and some episodes end before the time limit
    # (CartPole falls, Acrobot and the cars reach the goal, the swing-up's
    # cart leaves the track): the lanes are refilled mid-run
    assert np.unique(ret).size > 1
    if env_id != "Pendulum-v1":
        assert steps.min() < episodes * max_steps


def test_the_state_is_reset_every_episode():
    # h' = h + 0.05 and the torque tanh(h): the action depends on the time
    # since the reset, so a state carried into the next episode changes it
    env = pn.envs.Pendulum(max_steps=40)
    net = pn.Network(layers=[RNN(1, "linear"), Dense(1, "tanh")], input_shape=3)
    genome = np.zeros(net.n_params, np.float32)
    lay0, lay1 = net.layout
    genome[lay0.w_offset + 3] = 1.0  # the state row of W
    genome[lay0.b_offset] = 0.05
    genome[lay1.w_offset] = 1.0
    ret = pn.envs.rollout(net, genome[None], env, episodes=3, seed=2)
    probe = pn.envs.Pendulum()
    probe.reset(3, seed=2)
    ref, _ = _by_hand(net, genome, env, probe.state, 40)
    carried, _ = _by_hand(net, genome, env, probe.state, 40, reset=False)
    assert ret[0] == ref
    assert abs(carried - ref) > 1e-3  # the test can tell the two apart


@pytest.mark.parametrize("env_id", ["Acrobot-v1", "CartPole-v1",
                                    "MountainCarContinuous-v0", "Pendulum-v1"])
def test_rollout_agrees_with_gym_evaluate(env_id):
    env = pn.envs.ENVS[env_id]()
    max_steps = SETUP[env_id][0]
    net = _net("gru", env)
    P, episodes, seed = 6, 2, 4
    pop = _population(net, env, P, seed=3)
    got = gym_evaluate_from_library_starts(net, pop, env, episodes, seed, max_steps)
    ret = pn.envs.rollout(net, pop, env, episodes=episodes, max_steps=max_steps,
                          seed=seed)
    np.testing.assert_allclose(ret, got, rtol=1e-12, atol=1e-12)
    assert np.unique(ret).size > 1


@pytest.mark.parametrize("env_id", sorted(pn.envs.ENVS))
def test_recurrent_rollout_does_not_depend_on_threads(env_id):
    env = pn.envs.ENVS[env_id](max_steps=SETUP[env_id][0])
    net = _net("stack" if env.discrete else "gru", env)
    pop = _population(net, env, 37, seed=1)
    runs = [pn.envs.rollout(net, pop, env, episodes=2, seed=1, same_starts=False,
                            return_steps=True, n_threads=nt) for nt in (1, 2)]
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    np.testing.assert_array_equal(runs[0][1], runs[1][1])
    # a genome's return does not depend on the others (its group and lane)
    sub = pn.envs.rollout(net, pop[5:9], env, episodes=2, seed=1, same_starts=True)
    full = pn.envs.rollout(net, pop, env, episodes=2, seed=1, same_starts=True)
    np.testing.assert_array_equal(sub, full[5:9])


def test_rollout_callable_runs_recurrent_policies():
    env = pn.envs.CartPole(max_steps=100)
    net = _net("gru", env)
    pop = _population(net, env, 9, seed=2)
    fit = pn.envs.Rollout(net, env, episodes=2, seed=3)
    first = fit(pop)
    np.testing.assert_array_equal(
        first, pn.envs.rollout(net, pop, env, episodes=2, seed=3, generation=0))
    assert fit.generation == 1


def test_conv_nets_and_behaviour_measures_are_refused():
    conv = pn.Network(layers=[Conv2D(1, 1), Flatten(), Dense(2)], input_shape=(1, 2, 2))
    with pytest.raises(ValueError, match="flat vectors, not images"):
        pn.envs.rollout(conv, conv.init_population(2, seed=0), pn.envs.CartPole(),
                        max_steps=5)
    rnn = pn.Network(layers=[RNN(3), Dense(2)], input_shape=4)
    with pytest.raises(ValueError, match="stack of dense layers"):
        pn.tasks.behavior.BehaviorRollout(rnn, pn.envs.CartPole())
    with pytest.raises(ValueError, match="input has 4 values"):
        pn.envs.rollout(rnn, rnn.init_population(2, seed=0), pn.envs.Pendulum())
