"""Numba environments against gymnasium, fused rollouts against a step-by-step
gymnasium loop, and CartPole solved by the GA and by OpenES."""

from __future__ import annotations

import gymnasium
import numpy as np
import pytest
from task_helpers import count_population_checks

import pyneat_lite as pn
from pyneat_lite import _operators
from pyneat_lite._rng import STREAMS, row_seeds


def _copy_state(gym_env, env, i):
    env.state[i] = gym_env.unwrapped.state
    env.elapsed[i] = 0


@pytest.mark.parametrize("max_steps", [500, 25])
def test_cartpole_matches_gymnasium(max_steps):
    n = 8
    env = pn.envs.CartPole(max_steps=max_steps)
    env.reset(n, seed=0)
    gyms = [gymnasium.make("CartPole-v1", max_episode_steps=max_steps)
            for _ in range(n)]
    for i, g in enumerate(gyms):
        g.reset(seed=i)
        _copy_state(g, env, i)
    rng = np.random.default_rng(0)
    n_term = n_trunc = 0
    ours, theirs = [], []
    for t in range(400):
        actions = rng.integers(0, 2, n)
        obs, rew, term, trunc = env.step(actions)
        for i, g in enumerate(gyms):
            g_obs, g_rew, g_term, g_trunc, _ = g.step(int(actions[i]))
            ours.append([*obs[i], *env.state[i], rew[i], term[i], trunc[i]])
            theirs.append([*g_obs, *g.unwrapped.state, g_rew, g_term, g_trunc])
            if g_term or g_trunc:
                n_term += g_term
                n_trunc += g_trunc
                g.reset(seed=1000 + t * n + i)
                _copy_state(g, env, i)
    ours, theirs = np.array(ours, np.float64), np.array(theirs, np.float64)
    # observations (float32) and float64 states agree to rounding; reward,
    # terminated and truncated exactly
    np.testing.assert_allclose(ours[:, :8], theirs[:, :8], rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(ours[:, 8:], theirs[:, 8:])
    assert n_term > 50
    if max_steps == 25:
        # random actions rarely last 25 steps, but some episodes do
        assert n_trunc > 0


def test_pendulum_matches_gymnasium():
    n = 6
    env = pn.envs.Pendulum()
    env.reset(n, seed=0)
    gyms = [gymnasium.make("Pendulum-v1") for _ in range(n)]
    for i, g in enumerate(gyms):
        g.reset(seed=i)
        _copy_state(g, env, i)
    rng = np.random.default_rng(1)
    n_trunc = 0
    ours, theirs = [], []
    for t in range(420):
        # beyond the bounds too: both clip to [-2, 2]
        actions = rng.uniform(-3, 3, (n, 1)).astype(np.float32)
        obs, rew, term, trunc = env.step(actions)
        for i, g in enumerate(gyms):
            g_obs, g_rew, g_term, g_trunc, _ = g.step(actions[i])
            ours.append([*obs[i], *env.state[i], rew[i], term[i], trunc[i]])
            theirs.append([*g_obs, *g.unwrapped.state, g_rew, g_term, g_trunc])
            if g_trunc:
                n_trunc += 1
                g.reset(seed=1000 + t * n + i)
                _copy_state(g, env, i)
    ours, theirs = np.array(ours, np.float64), np.array(theirs, np.float64)
    np.testing.assert_allclose(ours[:, :6], theirs[:, :6], rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(ours[:, 6:], theirs[:, 6:])
    assert n_trunc == 2 * n  # 200-step truncation, twice in 420 steps


def test_reset_distribution_and_determinism():
    env = pn.envs.CartPole()
    a = env.reset(4000, seed=3)
    b = pn.envs.CartPole().reset(4000, seed=3)
    np.testing.assert_array_equal(a, b)
    assert np.abs(a).max() <= 0.05
    # uniform on (-0.05, 0.05): mean 0, variance 0.1**2 / 12
    assert abs(a.mean()) < 3 * 0.0289 / np.sqrt(a.size)
    assert abs(a.var() - 0.01 / 12) < 0.1 * 0.01 / 12
    p = pn.envs.Pendulum().reset(4000, seed=3)
    theta = np.arctan2(p[:, 1], p[:, 0])
    assert abs(theta.mean()) < 0.1 and np.abs(p[:, 2]).max() <= 1.0
    assert not np.array_equal(env.reset(4, seed=3, generation=1), a[:4])


def test_reset_states_come_from_the_library_stream():
    # Golden values by construction: env i starts at low + (high - low) * u,
    # u the uniforms of the Cython generator seeded by row i of the "env"
    # stream (the splitmix64 stream of 0.1.0 gave other numbers).
    seeds = row_seeds(11, 4, STREAMS["env"], 5)
    u = np.stack([_operators._rng_draws(s, 4, 0) for s in seeds])
    env = pn.envs.CartPole()
    obs = env.reset(5, seed=11, generation=4)
    np.testing.assert_array_equal(env.state, -0.05 + 0.1 * u)
    np.testing.assert_array_equal(obs, (-0.05 + 0.1 * u).astype(np.float32))
    pend = pn.envs.Pendulum()
    pend.reset(5, seed=11, generation=4)
    np.testing.assert_array_equal(pend.state[:, 0], -np.pi + 2 * np.pi * u[:, 0])
    np.testing.assert_array_equal(pend.state[:, 1], -1.0 + 2.0 * u[:, 1])


def _gym_reference(net, genome, env_id, starts, max_steps, continuous):
    """Return of one genome by a plain gymnasium loop from given start states."""
    total = 0.0
    for s0 in starts:
        g = gymnasium.make(env_id, max_episode_steps=max_steps)
        obs, _ = g.reset(seed=0)
        g.unwrapped.state = s0.copy()
        obs = (np.asarray(s0, np.float32) if env_id.startswith("CartPole") else
               np.array([np.cos(s0[0]), np.sin(s0[0]), s0[1]], np.float32))
        while True:
            out = net.forward(genome, obs[None])[0]
            if continuous:
                # rollout's documented mapping, in float64, rounded once
                o = min(max(float(out[0]), -1.0), 1.0)
                action = np.array([-2.0 + (o + 1.0) * 0.5 * 4.0], np.float32)
            else:
                action = int(np.argmax(out))
            obs, r, term, trunc, _ = g.step(action)
            total += r
            if term or trunc:
                break
    return total / len(starts)


@pytest.mark.parametrize("same_starts", [True, False])
@pytest.mark.parametrize("env_cls,sizes,acts,max_steps", [
    (pn.envs.CartPole, [4, 8, 2], ["tanh", "linear"], 200),
    (pn.envs.Pendulum, [3, 8, 1], ["tanh", "tanh"], 60),
    # narrow and wide layers, a tail beyond a multiple of 4 inputs, softmax
    (pn.envs.CartPole, [4, 5, 9, 2], ["relu", "sigmoid", "softmax"], 100),
])
def test_rollout_equals_gymnasium_loop(env_cls, sizes, acts, max_steps, same_starts):
    net = pn.Network(sizes, acts)
    pop = net.init_population(6, seed=2) * np.float32(3.0)
    env = env_cls()
    episodes = 3
    ret = pn.envs.rollout(net, pop, env, episodes=episodes, max_steps=max_steps,
                          seed=5, generation=2, same_starts=same_starts)
    # same_starts: episode e of every genome starts where env e of a reset
    # with the same (seed, generation) starts; otherwise genome p's episode e
    # starts where env p * episodes + e does
    probe = env_cls()
    probe.reset(episodes * (1 if same_starts else len(pop)), seed=5, generation=2)
    for p in range(pop.shape[0]):
        starts = probe.state if same_starts else probe.state[
            p * episodes:(p + 1) * episodes]
        ref = _gym_reference(net, pop[p], env.id, starts, max_steps,
                             not env.discrete)
        np.testing.assert_allclose(ret[p], ref, rtol=1e-12, atol=1e-12)


def test_rollout_threads_and_starts():
    net = pn.Network([4, 8, 2], ["tanh", "linear"])
    pop = net.init_population(40, seed=0) * np.float32(2.0)
    env = pn.envs.CartPole()
    # the serial kernel (one group) and the parallel one (several groups);
    # test_task_kernels.py shows in subprocesses that two threads really run
    one, steps1 = pn.envs.rollout(net, pop, env, episodes=2, seed=1,
                                  return_steps=True, n_threads=1)
    many, steps = pn.envs.rollout(net, pop, env, episodes=2, seed=1, return_steps=True,
                                  n_threads=2)
    np.testing.assert_array_equal(one, many)
    np.testing.assert_array_equal(steps1, steps)
    assert steps.dtype == np.int64 and np.all(steps == 2 * many)  # CartPole: +1/step
    # same_starts: identical genomes get identical returns; own starts: not always
    twins = np.repeat(pop[:1], 30, axis=0)
    same = pn.envs.rollout(net, twins, env, episodes=1, seed=1)
    own = pn.envs.rollout(net, twins, env, episodes=1, seed=1, same_starts=False)
    assert np.unique(same).size == 1 and np.unique(own).size > 1


def test_rollout_bad_input():
    env = pn.envs.CartPole()
    net = pn.Network([3, 4, 2], ["tanh", "linear"])
    with pytest.raises(ValueError, match=r"input has 3 values.*shape \(4,\)"):
        pn.envs.rollout(net, net.init_population(2, seed=0), env)
    net = pn.Network([4, 4, 3], ["tanh", "linear"])
    with pytest.raises(ValueError, match=r"output has 3 values.*2 discrete actions"):
        pn.envs.rollout(net, net.init_population(2, seed=0), env)
    net = pn.Network([3, 4, 2], ["tanh", "tanh"])
    with pytest.raises(ValueError, match=r"output has 2 values.*action shape \(1,\)"):
        pn.envs.Rollout(net, pn.envs.Pendulum())
    net = pn.Network([4, 4, 2], ["tanh", "linear"])
    with pytest.raises(TypeError, match="gym.evaluate"):
        pn.envs.rollout(net, net.init_population(2, seed=0), "CartPole-v1")
    with pytest.raises(ValueError, match="population"):
        pn.envs.rollout(net, np.zeros((2, 5), np.float32), env)
    with pytest.raises(ValueError, match="episodes"):
        pn.envs.rollout(net, net.init_population(2, seed=0), env, episodes=0)
    with pytest.raises(ValueError, match="n_threads"):
        pn.envs.rollout(net, net.init_population(2, seed=0), env, n_threads=0)
    with pytest.raises(ValueError, match="max_steps"):
        pn.envs.Rollout(net, env, max_steps=0)
    with pytest.raises(TypeError, match="n_threads"):
        pn.envs.Rollout(net, env, n_threads=1.5)
    with pytest.raises(ValueError, match="generation"):
        env.reset(2, seed=0, generation=-1)
    with pytest.raises(ValueError, match="actions"):
        env.reset(2, seed=0)
        env.step([0, 2])


def test_rollout_validates_the_population_once(monkeypatch):
    from pyneat_lite.tasks import _env_fitness  # where Rollout lives

    calls = count_population_checks(monkeypatch, _env_fitness)
    net = pn.Network([4, 8, 2], ["tanh", "linear"])
    fit = pn.envs.Rollout(net, pn.envs.CartPole(), episodes=2, seed=0)
    fit(net.init_population(20, seed=0))
    assert len(calls) == 1


def test_rollout_callable_advances():
    net = pn.Network([4, 8, 2], ["tanh", "linear"])
    pop = net.init_population(16, seed=0) * np.float32(2.0)
    fit = pn.envs.Rollout(net, pn.envs.CartPole(), episodes=2, seed=4)
    a, b = fit(pop), fit(pop)
    assert fit.generation == 2
    np.testing.assert_array_equal(a, fit.evaluate(pop, 0))
    np.testing.assert_array_equal(b, fit.evaluate(pop, 1))
    assert not np.array_equal(a, b)


# ---------------------------------------------------------------- solving
NET = pn.Network([4, 16, 2], ["tanh", "linear"])


def _solved_callback(env, n_val, seed, found):
    """Stop once a hall-of-fame genome (or the ES centre) with a training
    return >= 475 also averages >= 475 over ``n_val`` fresh episodes."""
    checked: set[bytes] = set()

    def callback(alg):
        hof = alg.hall_of_fame
        cands = [g for g, f in zip(hof.genomes, hof.fitness, strict=True)
                 if f >= 475.0 and g.tobytes() not in checked]
        if getattr(alg, "mean", None) is not None:
            cands.append(np.asarray(alg.mean, np.float32))
        cands = [g for g in cands if g.tobytes() not in checked]
        if not cands:
            return False
        checked.update(g.tobytes() for g in cands)
        c = np.stack(cands)
        val = pn.envs.rollout(NET, c, env, episodes=n_val, seed=seed,
                              same_starts=False)
        best = int(np.argmax(val))
        if val[best] >= 475.0:
            found["genome"] = c[best]
            return True
        return False

    return callback


@pytest.mark.parametrize("algo", ["GA", "OpenES"])
def test_cartpole_solved(algo):
    env = pn.envs.CartPole()
    fit = pn.envs.Rollout(NET, env, episodes=3, seed=0)
    if algo == "GA":
        alg = pn.GA(n_params=NET.n_params, pop_size=64, seed=0)
    else:
        alg = pn.OpenES(n_params=NET.n_params, pop_size=64, sigma=0.1, lr=0.05,
                        seed=0)
    found: dict[str, np.ndarray] = {}
    res = alg.run(fit, generations=150, callbacks=[_solved_callback(env, 100, 7,
                                                                     found)])
    assert res.stop_reason == "callback", res
    # solved: mean return >= 475 over 100 fresh episodes (new seed again)
    check = pn.envs.rollout(NET, found["genome"][None], env, episodes=100,
                            seed=12345, same_starts=False)[0]
    assert check >= 475.0, check
