"""ARS V2 state normalisation in the Numba rollouts (issue 14): the policies
see observations normalised by the statistics so far, and each call merges
the observations it visited; against rollouts stepped by hand with
``ObsNormalizer.normalize``, against a Welford reference of the statistics,
against ``pn.gym.evaluate(normalize_obs=...)``, across thread counts, and
through checkpoints."""

from __future__ import annotations

import numpy as np
import pytest
from env_helpers import gym_evaluate_from_library_starts

import pyneat_lite as pn
from pyneat_lite.layers import GRU, Dense


def _welford(count, mean, var, observations):
    """Running mean and variance, one observation at a time (Welford), from
    a prior of ``count`` observations."""
    n, m, m2 = float(count), np.array(mean, np.float64), np.array(var) * count
    for x in observations:
        n += 1.0
        d = x - m
        m = m + d / n
        m2 = m2 + d * (x - m)
    return n, m, m2 / n


def _by_hand(net, genome, env, starts, max_steps, normalizer):
    """Return and visited observations of one genome, stepped with the
    environment's own Python API, the policy fed
    ``normalizer.normalize(obs)`` (its statistics not updated)."""
    total, seen = 0.0, []
    for s0 in starts:
        e = type(env)(max_steps=max_steps)
        e.reset(1, seed=0)
        e.state[0] = s0
        obs = e.observe()
        state = net.init_state(1) if net.recurrent else None
        while True:
            seen.append(obs[0].astype(np.float64))
            x = normalizer.normalize(obs)
            out = (net.forward_each(genome[None], x, state=state) if net.recurrent
                   else net.forward_each(genome[None], x))[0]
            if env.discrete:
                a = float(np.argmax(out))
            else:
                o = min(max(float(out[0]), -1.0), 1.0)
                lo, hi = float(env.action_low[0]), float(env.action_high[0])
                a = lo + (o + 1.0) * 0.5 * (hi - lo)
            obs, r, term, trunc = e.step([a])
            total += r[0]
            if term[0] or trunc[0]:
                break
    return total / len(starts), seen


def _prior(env, seed=0):
    """A normaliser that has seen something: statistics far from the
    observations' own (so that normalising changes the actions), and one
    tiny variance (so that clipping happens)."""
    rng = np.random.default_rng(seed)
    norm = pn.envs.ObsNormalizer(env.obs_dim, clip=3.0)
    var = rng.uniform(0.05, 2.0, env.obs_dim)
    var[-1] = 1e-6
    norm.set_state({"count": np.array(50.0), "mean": rng.normal(0, 0.3, env.obs_dim),
                    "var": var})
    return norm


CASES = [
    ("CartPole-v1", "dense"),
    ("Acrobot-v1", "gru"),
    ("MountainCarContinuous-v0", "dense"),
    ("CartPoleSwingUp", "gru"),
]


def _net(env, kind):
    act = "linear" if env.discrete else "tanh"
    if kind == "gru":
        return pn.Network(layers=[GRU(5), Dense(env.n_actions, act)],
                          input_shape=env.obs_dim)
    return pn.Network([env.obs_dim, 8, env.n_actions], ["tanh", act])


@pytest.mark.parametrize("env_id, kind", CASES)
def test_normalised_rollout_equals_stepping_by_hand(env_id, kind):
    env = pn.envs.ENVS[env_id]()
    net = _net(env, kind)
    P, episodes, max_steps = 6, 2, 80
    pop = net.init_population(P, seed=1, scheme="normal", std=1.0)
    norm = _prior(env)
    frozen = pn.envs.ObsNormalizer(env.obs_dim, clip=3.0)
    frozen.set_state(norm.get_state())
    ret, steps = pn.envs.rollout(net, pop, env, episodes=episodes,
                                 max_steps=max_steps, seed=3, normalize_obs=norm,
                                 return_steps=True)
    probe = type(env)()
    probe.reset(episodes, seed=3)
    seen = []
    for p in range(P):
        ref, obs = _by_hand(net, pop[p], env, probe.state, max_steps, frozen)
        assert ret[p] == ref
        assert steps[p] == len(obs)
        seen += obs
    seen = np.array(seen)
    # the statistics: the parallel update of the prior with all the visited
    # observations, and a Welford pass over them one at a time
    ref_norm = pn.envs.ObsNormalizer(env.obs_dim)
    ref_norm.set_state(frozen.get_state())
    ref_norm.update(seen)
    count, mean, var = _welford(50.0, frozen.mean, frozen.var, seen)
    assert norm.count == ref_norm.count == count == 50 + steps.sum()
    np.testing.assert_allclose(norm.mean, ref_norm.mean, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(norm.var, ref_norm.var, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(norm.mean, mean, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(norm.var, var, rtol=1e-10, atol=1e-14)
    # normalising changed what the policies did, and some inputs were clipped
    # (with raw inputs the policies visit other states)
    raw = pn.envs.ObsNormalizer(env.obs_dim)
    pn.envs.rollout(net, pop, env, episodes=episodes, max_steps=max_steps, seed=3,
                    normalize_obs=raw)
    assert np.abs(raw.mean - seen.mean(0)).max() > 1e-3
    z = (seen - frozen.mean) / np.sqrt(frozen.var + frozen.eps)
    assert (np.abs(z) > 3.0).any()


def test_first_call_sees_raw_observations():
    env = pn.envs.MountainCar()
    net = pn.Network([2, 3], "linear")
    pop = net.init_population(9, seed=0) * np.float32(50.0)
    norm = pn.envs.ObsNormalizer(2)
    ret, steps = pn.envs.rollout(net, pop, env, episodes=2, seed=1, normalize_obs=norm,
                                 return_steps=True)
    np.testing.assert_array_equal(ret, pn.envs.rollout(net, pop, env, episodes=2,
                                                       seed=1))
    assert norm.count == steps.sum()
    # MountainCar's position has mean near -0.5 and a small spread: the
    # shifted sums must not cancel
    seen = []
    probe = pn.envs.MountainCar()
    probe.reset(2, seed=1)
    frozen = pn.envs.ObsNormalizer(2)
    for p in range(len(pop)):
        seen += _by_hand(net, pop[p], env, probe.state, env.max_steps, frozen)[1]
    seen = np.array(seen)
    np.testing.assert_allclose(norm.mean, seen.mean(0), rtol=1e-12)
    np.testing.assert_allclose(norm.var, seen.var(0), rtol=1e-9)


@pytest.mark.parametrize("env_id", ["CartPole-v1", "Pendulum-v1"])
def test_agrees_with_gym_evaluate_over_generations(env_id):
    env = pn.envs.ENVS[env_id]()
    net = _net(env, "dense")
    pop = net.init_population(5, seed=4, scheme="normal", std=1.0)
    ours, theirs = pn.envs.ObsNormalizer(env.obs_dim), pn.gym.ObsNormalizer(
        env.obs_dim)
    for g in range(3):
        a = pn.envs.rollout(net, pop, env, episodes=2, max_steps=60, seed=2,
                            generation=g, normalize_obs=ours)
        b = gym_evaluate_from_library_starts(net, pop, env, 2, 2, 60, generation=g,
                                             normalize_obs=theirs)
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
        assert ours.count == theirs.count
        np.testing.assert_allclose(ours.mean, theirs.mean, rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(ours.var, theirs.var, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("kind", ["dense", "gru"])
def test_statistics_do_not_depend_on_threads(kind):
    env = pn.envs.Acrobot(max_steps=120)
    net = _net(env, kind)
    pop = net.init_population(45, seed=2, scheme="normal", std=1.5)
    results = []
    for nt in (1, 2):
        norm = _prior(env)
        fit = pn.envs.Rollout(net, env, episodes=2, same_starts=False,
                              normalize_obs=norm, n_threads=nt)
        rets = [fit(pop) for _ in range(2)]
        results.append((rets, norm.get_state()))
    (r1, s1), (r2, s2) = results
    for a, b in zip(r1, r2, strict=True):
        np.testing.assert_array_equal(a, b)
    for k in s1:
        np.testing.assert_array_equal(s1[k], s2[k])


def test_rollout_callable_state_resumes():
    env = pn.envs.CartPole(max_steps=100)
    net = _net(env, "dense")
    pop = net.init_population(16, seed=0, scheme="normal", std=1.0)
    fit = pn.envs.Rollout(net, env, episodes=2, normalize_obs=True)
    assert isinstance(fit.normalizer, pn.envs.ObsNormalizer)
    fit(pop)
    fit(pop)
    saved = {k: v.copy() for k, v in fit.get_state().items()}
    third = fit(pop)
    again = pn.envs.Rollout(net, env, episodes=2, normalize_obs=True)
    again.set_state(saved)
    assert again.generation == 2
    np.testing.assert_array_equal(again(pop), third)
    np.testing.assert_array_equal(again.normalizer.mean, fit.normalizer.mean)
    # evaluate() applies the statistics and leaves them alone
    before = fit.normalizer.get_state()
    fit.evaluate(pop, 0)
    assert fit.normalizer.count == before["count"]


def test_bad_normalizer_is_refused():
    env = pn.envs.CartPole()
    net = pn.Network([4, 2], "linear")
    pop = net.init_population(2, seed=0)
    with pytest.raises(TypeError, match="'normalize_obs' argument of rollout"):
        pn.envs.rollout(net, pop, env, normalize_obs=True)
    with pytest.raises(ValueError, match=r"shape \(4,\).*shape \(3,\)"):
        pn.envs.rollout(net, pop, env, normalize_obs=pn.envs.ObsNormalizer(3))
    with pytest.raises(TypeError, match="'normalize_obs' argument of Rollout"):
        pn.envs.Rollout(net, env, normalize_obs="yes")


def test_fitness_state_format_is_shared_and_stable():
    # the keys and values the earlier Rollout/Evaluate.get_state wrote, built
    # by hand: both callables read them, and write exactly this format
    env = pn.envs.CartPole(max_steps=50)
    net = pn.Network([4, 2], "linear")
    pop = net.init_population(4, seed=1, scheme="normal", std=1.0)
    ref = pn.envs.ObsNormalizer(4)
    ref.update(np.random.default_rng(0).normal(size=(30, 4)))
    old = {"generation": np.array(5), "obs_count": np.array(ref.count),
           "obs_mean": ref.mean.copy(), "obs_var": ref.var.copy()}
    for fit in (pn.envs.Rollout(net, env, episodes=1, normalize_obs=True),
                pn.gym.Evaluate(net, "CartPole-v1", episodes=1, normalize_obs=True)):
        fit.set_state(old)
        assert fit.generation == 5 and fit.normalizer.count == 30
        np.testing.assert_array_equal(fit.normalizer.mean, ref.mean)
        state = fit.get_state()
        assert sorted(state) == sorted(old)
        for k in old:
            np.testing.assert_array_equal(state[k], old[k])
    # and the restored Rollout scores as one normalising with ``ref`` at 5
    fit = pn.envs.Rollout(net, env, episodes=1, normalize_obs=True)
    fit.set_state(old)
    want = pn.envs.rollout(net, pop, env, episodes=1, generation=5, normalize_obs=ref)
    np.testing.assert_array_equal(fit(pop), want)
    plain = pn.envs.Rollout(net, env, episodes=1)
    plain.set_state({"generation": np.array(3)})
    assert plain.generation == 3 and sorted(plain.get_state()) == ["generation"]
