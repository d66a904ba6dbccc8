"""ARS (pn.ARS) against a NumPy transcription of Mania et al. 2018, alg. 2.

- One generation: mirrored directions from the library's noise stream, the
  top-b directions by max(r+, r-), the step lr / (b sigma_R) sum (r+ - r-)
  delta, for V1 (all directions) and V1-t (top_b < pop_size / 2).
- V1 solves the library's CartPole with a linear policy; V2 (the states
  normalised by pn.gym.Evaluate's running statistics) solves gymnasium's.
"""

from __future__ import annotations

import numpy as np
import pytest

import pyneat_lite as pn
from pyneat_lite._rng import standard_normal


@pytest.mark.parametrize("top_b", [None, 3])
def test_one_generation_matches_the_paper(top_b):
    n, P = 9, 16
    ars = pn.ARS(n_params=n, pop_size=P, sigma=0.05, lr=0.1, top_b=top_b,
                 x0=np.full(n, 0.2), seed=4)
    target = np.linspace(-1, 1, n)

    def f(pop):
        return -np.sum((pop.astype(np.float64) - target) ** 2, axis=1)

    ars.run(f, generations=3)
    m = ars._mean.copy()
    pop = ars.ask()
    delta = standard_normal(P // 2, n, seed=4, generation=3).astype(np.float64)
    np.testing.assert_allclose(pop[: P // 2], m + 0.05 * delta, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(pop[P // 2:], m - 0.05 * delta, rtol=1e-6, atol=1e-7)
    r = f(pop)
    r_plus, r_minus = r[: P // 2], r[P // 2:]
    b = P // 2 if top_b is None else top_b
    top = np.argsort(-np.maximum(r_plus, r_minus), kind="stable")[:b]
    sigma_r = np.std(np.concatenate([r_plus[top], r_minus[top]]))
    step = 0.1 / (b * sigma_r) * ((r_plus[top] - r_minus[top]) @ delta[top])
    ars.tell(r)
    np.testing.assert_allclose(ars._mean, m + step, rtol=1e-12, atol=1e-14)


def test_nonfinite_returns_count_as_one_below_the_lowest():
    a = pn.ARS(n_params=4, pop_size=8, seed=1)
    b = pn.ARS(n_params=4, pop_size=8, seed=1)
    pop = a.ask()
    b.ask()
    r = -np.sum(pop.astype(np.float64) ** 2, axis=1)
    low = r.copy()
    bad = r.copy()
    i = int(np.argmin(r))
    bad[i] = np.nan
    with pytest.warns(pn.algorithms.NonFiniteFitnessWarning):
        a.tell(bad)
    low[i] = np.delete(r, i).min() - 1.0
    b.tell(low)
    np.testing.assert_array_equal(a.mean, b.mean)


def test_v1_solves_cartpole_with_a_linear_policy():
    net = pn.Network([4, 2], ["linear"])
    env = pn.envs.CartPole()
    ars = pn.ARS(n_params=net.n_params, pop_size=16, seed=1)

    def fitness(pop):
        return pn.envs.rollout(net, pop, env, episodes=3, seed=0,
                               generation=ars.generation)

    r = ars.run(fitness, target=500.0, generations=100)
    assert r.best_fitness == 500.0
    # the best policy also balances on 20 fresh episodes
    fresh = pn.envs.rollout(net, r.best[None], env, episodes=20, seed=99)
    assert fresh[0] >= 475.0


def test_v2_with_state_normalisation_solves_gymnasium_cartpole():
    net = pn.Network([4, 2], ["linear"])
    fitness = pn.gym.Evaluate(net, "CartPole-v1", normalize_obs=True, seed=0)
    ars = pn.ARS(n_params=net.n_params, pop_size=8, seed=0)
    r = ars.run(fitness, target=500.0, generations=40)
    assert r.best_fitness == 500.0
    assert fitness.normalizer.count > 0  # the states were normalised
    assert np.all(fitness.normalizer.var > 0)


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="'pop_size' parameter of ARS must be even"):
        pn.ARS(n_params=3, pop_size=7)
    with pytest.raises(ValueError, match="'top_b' parameter of ARS must be at most"):
        pn.ARS(n_params=3, pop_size=8, top_b=5)
    with pytest.raises(ValueError, match="'lr' parameter of ARS"):
        pn.ARS(n_params=3, lr=0.0)


def test_v2_normalises_the_library_rollouts_and_checkpoints_them(tmp_path):
    net = pn.Network([4, 2], ["linear"])
    env = pn.envs.CartPole(max_steps=200)

    def run(generations, ars=None, fit=None):
        ars = ars or pn.ARS(n_params=net.n_params, pop_size=8, seed=3, version="v2")
        fit = fit or pn.envs.Rollout(net, env, episodes=2, seed=1,
                                     normalize_obs=True)
        ars.run(fit, generations=generations)
        return ars, fit

    whole, fit = run(5)
    assert whole.normalizer is fit.normalizer and fit.normalizer.count > 0
    path = tmp_path / "ars.ckpt"
    half, _ = run(3)
    half.save(path)
    resumed = pn.load(path)
    assert resumed.version == "v2"
    np.testing.assert_array_equal(resumed.normalizer.mean, half.normalizer.mean)
    # a fresh fitness at the same start states continues with the run's
    # statistics, bit for bit
    fresh = pn.envs.Rollout(net, env, episodes=2, seed=1, normalize_obs=True)
    fresh.generation = 3
    resumed, fresh = run(2, resumed, fresh)
    np.testing.assert_array_equal(resumed.mean, whole.mean)
    for k, v in whole.normalizer.get_state().items():
        np.testing.assert_array_equal(fresh.normalizer.get_state()[k], v)


def test_v2_tells_the_returns_of_normalised_policies():
    net = pn.Network([4, 2], ["linear"])
    env = pn.envs.CartPole(max_steps=200)
    ars = pn.ARS(n_params=net.n_params, pop_size=8, seed=0, version="v2")
    fit = pn.envs.Rollout(net, env, episodes=1, seed=2, normalize_obs=True)
    ars.run(fit, generations=2)
    before = pn.envs.ObsNormalizer(4)
    before.set_state(fit.normalizer.get_state())
    pop = ars.ask()
    told = fit(pop)
    ars.tell(told)
    raw = pn.envs.rollout(net, pop, env, episodes=1, seed=2, generation=2)
    replay = pn.envs.rollout(net, pop, env, episodes=1, seed=2, generation=2,
                             normalize_obs=before)
    np.testing.assert_array_equal(told, replay)
    assert not np.array_equal(told, raw)


def test_v2_needs_a_normalising_fitness():
    net = pn.Network([4, 2], ["linear"])
    ars = pn.ARS(n_params=net.n_params, pop_size=8, version="v2")
    with pytest.raises(TypeError, match="'fitness' argument of ARS.run must normalise"):
        ars.run(pn.envs.Rollout(net, pn.envs.CartPole()), generations=1)
    with pytest.raises(ValueError, match="'version' parameter of ARS must be 'v1' or"):
        pn.ARS(n_params=3, version="v3")
    v1 = pn.ARS(n_params=net.n_params, pop_size=8)
    v1.run(pn.envs.Rollout(net, pn.envs.CartPole(max_steps=20)), generations=1)
    assert v1.normalizer is None and v1.version == "v1"
