"""IPOP / BIPOP restarts (pn.Restarts) around the library's strategies.

- IPOP: each restart multiplies the population by ``pop_factor`` (Auger &
  Hansen 2005) and the wrapper reaches 1e-8 on rastrigin, which one CMA-ES
  run with the default population does not.
- BIPOP: small-population runs (below the large regime's current size,
  smaller step size) interleave with the doubling large ones (Hansen 2009).
- The population size changes at a restart, and a checkpoint taken across
  restarts continues bit for bit.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

import pyneat_lite as pn


def rastrigin(x):
    x = np.asarray(x, dtype=np.float64)
    return 10.0 * x.shape[1] + np.sum(x * x - 10.0 * np.cos(2 * np.pi * x), axis=1)


def sphere(x):
    return np.sum(np.asarray(x, dtype=np.float64) ** 2, axis=1)


def test_ipop_grows_the_population_and_solves_rastrigin():
    n = 6
    single = pn.CMAES(n_params=n, sigma=2.0, x0=np.ones(n), minimize=True, seed=3)
    one = single.run(rastrigin, target=1e-8, generations=3000).best_fitness
    es = pn.Restarts(n_params=n, sigma=2.0, x0=np.ones(n), minimize=True, seed=3)
    r = es.run(rastrigin, target=1e-8, generations=6000)
    assert one > 0.5  # a local minimum: rastrigin's are 1 apart
    assert r.best_fitness <= 1e-8 and es.restarts >= 1
    # the population of every generation, from the evaluation counts
    sizes = np.diff(r.history["evaluations"], prepend=0)
    lam0 = es.pop_size
    assert sorted(set(sizes.tolist())) == [lam0 * 2**k
                                           for k in range(es.restarts + 1)]
    assert np.all(np.diff(sizes) >= 0)  # only ever grows
    assert es.current_pop_size == sizes[-1]


def test_bipop_interleaves_small_runs():
    n = 6
    es = pn.Restarts(n_params=n, sigma=2.0, x0=np.ones(n), minimize=True,
                     mode="bipop", seed=5, max_restarts=8)
    runs = []  # (pop size, sigma0 of the run) at each run's start
    last = [None]

    def watch(a):
        if a.current is not last[0]:
            last[0] = a.current
            runs.append((a.current_pop_size, a.current.sigma0))

    es.run(rastrigin, generations=4000, callbacks=[watch])
    lam0 = es.pop_size
    large = [lam for lam, s in runs if s == es.sigma0]
    small = [(lam, s) for lam, s in runs if s != es.sigma0]
    assert es.restarts >= 4 and small and len(large) >= 2
    # the large runs double; a small run has at most half the largest
    # population so far and a step size in [sigma0 / 100, sigma0]
    assert large == [lam0 * 2**k for k in range(len(large))]
    assert all(lam <= max(large) and 0.01 * es.sigma0 <= s < es.sigma0
               for lam, s in small)


@pytest.mark.parametrize("strategy", ["sepcma", "snes", "xnes"])
def test_wraps_other_strategies(strategy):
    es = pn.Restarts(n_params=5, sigma=0.5, x0=np.full(5, 0.5), minimize=True,
                     strategy=strategy, seed=1, tol_fun=1e-6)
    assert type(es.current) is pn.ALGORITHMS[strategy]
    r = es.run(sphere, generations=300)
    assert r.best_fitness < 1e-3


def _feed(es, gens, h):
    for _ in range(gens):
        pop = es.ask()
        h.update(pop.tobytes())
        es.tell(rastrigin(pop))


def test_checkpoint_across_restarts(tmp_path):
    kw = dict(n_params=4, sigma=2.0, x0=np.ones(4), minimize=True, seed=2,
              mode="bipop", tol_fun=1e-3)
    ref = pn.Restarts(**kw)
    h_ref = hashlib.sha256()
    _feed(ref, 400, h_ref)
    assert ref.restarts >= 3
    es = pn.Restarts(**kw)
    h = hashlib.sha256()
    _feed(es, 150, h)
    es.ask()
    es.save(tmp_path / "r.ckpt")
    back = pn.load(tmp_path / "r.ckpt")
    assert back.current_pop_size == es.current_pop_size
    _feed(back, 250, h)
    assert h.hexdigest() == h_ref.hexdigest()
    assert back.restarts == ref.restarts and back.best_fitness == ref.best_fitness
    np.testing.assert_array_equal(back.history["max"], ref.history["max"])


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="'strategy' parameter of Restarts"):
        pn.Restarts(n_params=3, strategy="ga")
    with pytest.raises(ValueError, match="'pop_factor' parameter of Restarts"):
        pn.Restarts(n_params=3, pop_factor=1.0)
    with pytest.raises(ValueError, match="'mode' parameter of Restarts"):
        pn.Restarts(n_params=3, mode="restart")
    es = pn.Restarts(n_params=3, pop_size=6)
    es.ask()
    with pytest.raises(ValueError, match=r"'fitness' argument of Restarts\.tell "
                                         r"must have shape \(6,\)"):
        es.tell(np.zeros(7))


def test_ars_v2_binds_the_normaliser_across_restarts_and_resumes(tmp_path):
    net = pn.Network([4, 2], ["linear"])
    env = pn.envs.CartPole(max_steps=60)

    def make():
        # tol_x above ARS's constant sigma: a restart after every generation
        return pn.Restarts(n_params=net.n_params, pop_size=8, sigma=0.03,
                           strategy="ars", strategy_params={"version": "v2"},
                           tol_x=0.05, max_restarts=3, seed=4)

    def fit():
        return pn.envs.Rollout(net, env, episodes=1, seed=2, normalize_obs=True)

    whole, wfit = make(), fit()
    whole.run(wfit, generations=4)
    assert whole.restarts == 3 and whole.current.version == "v2"
    assert whole.current.normalizer is wfit.normalizer
    assert wfit.normalizer.count > 0

    half, hfit = make(), fit()
    path = tmp_path / "r.ckpt"
    half.run(hfit, generations=2, checkpoint_every=2, checkpoint_path=path)
    resumed = pn.load(path)
    np.testing.assert_array_equal(resumed.current.normalizer.mean, hfit.normalizer.mean)
    assert resumed.current.normalizer.count == hfit.normalizer.count
    fresh = fit()
    fresh.generation = 2  # the start states where the first part stopped
    resumed.run(fresh, generations=2)
    assert resumed.restarts == whole.restarts
    np.testing.assert_array_equal(resumed.mean, whole.mean)
    np.testing.assert_array_equal(resumed.history["max"], whole.history["max"])
    for k, v in wfit.normalizer.get_state().items():
        np.testing.assert_array_equal(fresh.normalizer.get_state()[k], v)


def test_bad_strategy_params_are_named():
    with pytest.raises(ValueError, match="'strategy_params' parameter of Restarts "
                       "must name keyword arguments of ARS"):
        pn.Restarts(n_params=3, strategy="ars", strategy_params={"versio": "v2"})
    with pytest.raises(ValueError, match="must not set 'seed'"):
        pn.Restarts(n_params=3, strategy_params={"seed": 1})
    with pytest.raises(TypeError, match="'strategy_params' parameter of Restarts "
                       "must be a dict"):
        pn.Restarts(n_params=3, strategy_params=["version"])
    with pytest.raises(ValueError, match="'version' parameter of ARS"):
        pn.Restarts(n_params=3, strategy="ars", strategy_params={"version": "v3"})
