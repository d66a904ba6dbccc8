"""gymnasium evaluation against a plain one-environment-per-genome loop; the
running observation normalizer against NumPy statistics."""

from __future__ import annotations

import gymnasium
import numpy as np
import pytest
from task_helpers import count_population_checks

import pyneat_lite as pn
from pyneat_lite._rng import STREAMS, row_seeds


def _reference(net, pop, env_id, episodes, seed, generation, continuous,
               normalizer=None):
    """Per-genome gymnasium loop with the seeds gym.evaluate documents: episode
    e of genome i resets with seed ``s_e + i``."""
    seeds = [int(s % (2**31 - 1)) for s in
             row_seeds(seed, generation, STREAMS["env"], episodes)]
    returns = np.zeros(len(pop))
    for i, genome in enumerate(pop):
        for e in range(episodes):
            env = gymnasium.make(env_id)
            obs, _ = env.reset(seed=seeds[e] + i)
            while True:
                x = obs.astype(np.float32)[None]
                if normalizer is not None:
                    x = normalizer.normalize(x)
                out = net.forward(genome, x)[0]
                if continuous:
                    lo, hi = env.action_space.low, env.action_space.high
                    action = (lo + (np.clip(out, -1, 1) + 1) * 0.5 * (hi - lo)).astype(
                        np.float32)
                else:
                    action = int(np.argmax(out))
                obs, r, term, trunc, _ = env.step(action)
                returns[i] += r
                if term or trunc:
                    break
    return returns / episodes


@pytest.mark.parametrize("env_id,sizes,acts", [
    ("CartPole-v1", [4, 6, 2], ["tanh", "linear"]),
    ("Pendulum-v1", [3, 6, 1], ["tanh", "tanh"]),
])
def test_evaluate_equals_plain_loop(env_id, sizes, acts):
    net = pn.Network(sizes, acts)
    pop = net.init_population(5, seed=0) * np.float32(3.0)
    got = pn.gym.evaluate(net, pop, lambda: gymnasium.make(env_id), episodes=2,
                          seed=3, generation=1)
    ref = _reference(net, pop, env_id, 2, 3, 1, env_id.startswith("Pendulum"))
    np.testing.assert_allclose(got, ref, rtol=1e-6, atol=1e-6)


def test_evaluate_env_id_vector_entry_point():
    net = pn.Network([4, 8, 2], ["tanh", "linear"])
    pop = net.init_population(40, seed=0) * np.float32(3.0)
    a = pn.gym.evaluate(net, pop, "CartPole-v1", episodes=2, seed=0)
    b = pn.gym.evaluate(net, pop, "CartPole-v1", episodes=2, seed=0)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (40,) and a.min() >= 8 and a.max() <= 500
    # groups of 16 environments give the same kind of result
    c = pn.gym.evaluate(net, pop, "CartPole-v1", episodes=2, seed=0, num_envs=16,
                        max_steps=50)
    assert c.shape == (40,) and c.max() <= 50


def test_discrete_observations_one_hot():
    net = pn.Network([16, 4], ["linear"])
    pop = net.init_population(6, seed=0)
    ret = pn.gym.evaluate(net, pop, "FrozenLake-v1", episodes=3, seed=0)
    assert ret.shape == (6,) and np.all((ret >= 0) & (ret <= 1))


def test_obs_normalizer_statistics():
    rng = np.random.default_rng(0)
    batches = [rng.normal(3.0, 2.0, (n, 3)) for n in (5, 40, 1, 17)]
    norm = pn.gym.ObsNormalizer(3)
    np.testing.assert_array_equal(norm.normalize(batches[0]),
                                  batches[0].astype(np.float32))
    for b in batches:
        norm.update(b)
    allx = np.concatenate(batches)
    np.testing.assert_allclose(norm.mean, allx.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(norm.var, allx.var(axis=0), rtol=1e-12)
    z = norm.normalize(allx)
    np.testing.assert_allclose(z, (allx - allx.mean(0)) / np.sqrt(allx.var(0) + 1e-8),
                               rtol=1e-5)
    clone = pn.gym.ObsNormalizer(3)
    clone.set_state(norm.get_state())
    np.testing.assert_array_equal(clone.normalize(allx), z)
    with pytest.raises(ValueError, match=r"shape \(3,\)"):
        clone.set_state({"count": 1, "mean": np.zeros(2), "var": np.ones(2)})


def test_evaluate_with_normalizer_updates_from_rollouts():
    net = pn.Network([4, 6, 2], ["tanh", "linear"])
    pop = net.init_population(4, seed=1) * np.float32(3.0)
    factory = lambda: gymnasium.make("CartPole-v1")  # noqa: E731
    norm = pn.gym.ObsNormalizer(4)
    norm.update(np.random.default_rng(0).normal(0, 0.1, (50, 4)))
    frozen = pn.gym.ObsNormalizer(4)
    frozen.set_state(norm.get_state())
    got = pn.gym.evaluate(net, pop, factory, episodes=1, seed=2, normalize_obs=norm)
    # during the call the statistics are frozen: equal to the reference loop
    ref = _reference(net, pop, "CartPole-v1", 1, 2, 0, False, normalizer=frozen)
    np.testing.assert_allclose(got, ref)
    # afterwards one observation per step of every genome was merged in
    assert norm.count == 50 + got.sum()

    fit = pn.gym.Evaluate(net, "CartPole-v1", episodes=1, seed=0, normalize_obs=True)
    fit(pop)
    state = fit.get_state()
    assert int(state["generation"]) == 1 and state["obs_count"] > 0
    again = pn.gym.Evaluate(net, "CartPole-v1", episodes=1, seed=0,
                            normalize_obs=True)
    again.set_state(state)
    np.testing.assert_array_equal(again(pop), fit(pop))


class _NanObs(gymnasium.Wrapper):
    """CartPole whose third observation is NaN."""

    def __init__(self):
        super().__init__(gymnasium.make("CartPole-v1"))
        self.t = 0

    def reset(self, **kw):
        self.t = 0
        return self.env.reset(**kw)

    def step(self, action):
        obs, r, term, trunc, info = self.env.step(action)
        self.t += 1
        if self.t == 3:
            obs = np.full_like(obs, np.nan)
        return obs, r, term, trunc, info


def test_validates_once_then_checks_observations(monkeypatch):
    from pyneat_lite.tasks import gym

    calls = count_population_checks(monkeypatch, gym)
    net = pn.Network([4, 6, 2], ["tanh", "linear"])
    pop = net.init_population(3, seed=0)
    one = pn.gym.evaluate(net, pop, "CartPole-v1", episodes=2, seed=0, n_threads=1)
    assert len(calls) == 1
    np.testing.assert_array_equal(
        one, pn.gym.evaluate(net, pop, "CartPole-v1", episodes=2, seed=0, n_threads=2))
    with pytest.raises(ValueError, match="non-finite observations at step 3"):
        pn.gym.evaluate(net, pop, _NanObs)


def test_bad_input():
    net = pn.Network([4, 6, 2], ["tanh", "linear"])
    pop = net.init_population(2, seed=0)
    with pytest.raises(ValueError, match="'CartPole-v9'"):
        pn.gym.evaluate(net, pop, "CartPole-v9")
    with pytest.raises(ValueError, match="'NoSuchEnv-v0'"):
        pn.gym.evaluate(net, pop, "NoSuchEnv-v0")
    with pytest.raises(ValueError, match=r"input has shape \(4,\).*Box of sha"):
        pn.gym.evaluate(net, pop, "Pendulum-v1")
    net3 = pn.Network([4, 6, 3], ["tanh", "linear"])
    with pytest.raises(ValueError, match=r"output has shape \(3,\).*Discrete\(2\)"):
        pn.gym.evaluate(net3, net3.init_population(2, seed=0), "CartPole-v1")
    with pytest.raises(TypeError, match="factory"):
        pn.gym.evaluate(net, pop, 42)
    with pytest.raises(TypeError, match="ObsNormalizer"):
        pn.gym.evaluate(net, pop, "CartPole-v1", normalize_obs=True)
    with pytest.raises(ValueError, match="population"):
        pn.gym.evaluate(net, np.zeros((2, 3), np.float32), "CartPole-v1")
    with pytest.raises(ValueError, match="n_threads"):
        pn.gym.evaluate(net, pop, "CartPole-v1", n_threads=0)
    with pytest.raises(ValueError, match="max_steps"):
        pn.gym.Evaluate(net, "CartPole-v1", max_steps=0)
