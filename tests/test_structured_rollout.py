"""Structured ES populations in policy evaluations (issue 10): envs.rollout,
Rollout and gym.evaluate form each genome where the kernel needs it, and
agree with the materialised genomes bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

import pyneat_lite as pn
from pyneat_lite.algorithms import AntitheticPopulation, LowRankPopulation

ACTS = [a for a in pn.ACTIVATIONS if a != "softmax"]


def strategies(net, pop_size=24):
    x0 = net.init_genome(seed=0)
    return [
        pn.OpenES(net.n_params, pop_size, sigma=0.5, x0=x0, seed=1),
        pn.SNES(net.n_params, pop_size, sigma=0.5, antithetic=True, x0=x0, seed=2),
        pn.OpenES(net.n_params, pop_size, sigma=0.5, network=net, x0=x0, seed=3,
                  rank=min(2, min(min(lay.w_shape) for lay in net.layout))),
        pn.PGPE(net.n_params, pop_size, sigma=0.5, rank=1, network=net, x0=x0,
                seed=4),
        pn.OpenES(net.n_params, pop_size - 1, sigma=0.5, rank=1, network=net,
                  antithetic=False, x0=x0, seed=5),
    ]


@pytest.mark.parametrize("env_name", ["CartPole", "Pendulum", "Acrobot"])
def test_rollout_of_the_structure_equals_the_genomes(env_name):
    env = getattr(pn.envs, env_name)(max_steps=60)
    rng = np.random.default_rng(len(env_name))
    hidden = [int(rng.integers(2, 9))]
    net = pn.Network([env.obs_dim, *hidden, env.n_outputs],
                     [str(rng.choice(ACTS)), "tanh"])
    for es in strategies(net):
        pop = es.ask_structured()
        assert isinstance(pop, (AntitheticPopulation, LowRankPopulation))
        genomes = np.array(es.ask())
        for same in (True, False):
            for nt in (1, 2):
                got, steps = pn.envs.rollout(net, pop, env, episodes=2, seed=7,
                                             same_starts=same, n_threads=nt,
                                             return_steps=True)
                want, want_steps = pn.envs.rollout(net, genomes, env, episodes=2,
                                                   seed=7, same_starts=same,
                                                   n_threads=nt, return_steps=True)
                np.testing.assert_array_equal(got, want)
                np.testing.assert_array_equal(steps, want_steps)


@pytest.mark.parametrize("act", ACTS)
def test_every_activation_and_depth(act):
    env = pn.envs.CartPole(max_steps=40)
    net = pn.Network([4, 5, 3, 2], [act, act, "linear"])
    for es in strategies(net, 16):
        pop = es.ask_structured()
        np.testing.assert_array_equal(
            pn.envs.rollout(net, pop, env, episodes=1, same_starts=False),
            pn.envs.rollout(net, es.ask(), env, episodes=1, same_starts=False))


def test_run_hands_the_structure_to_rollout():
    env = pn.envs.CartPole(max_steps=100)
    net = pn.Network([4, 8, 2], ["tanh", "linear"])
    fit = pn.envs.Rollout(net, env, episodes=2, seed=0)
    seen = []
    call = fit.__call__

    class Spy:
        accepts_structured = True

        def __call__(self, pop):
            seen.append(type(pop))
            return call(pop)

    a = pn.OpenES(net.n_params, 20, sigma=0.3, rank=1, network=net, seed=0)
    a.run(Spy(), generations=3)
    b = pn.OpenES(net.n_params, 20, sigma=0.3, rank=1, network=net, seed=0)
    fit2 = pn.envs.Rollout(net, env, episodes=2, seed=0)
    b.run(lambda pop: fit2(pop), generations=3)  # genomes
    assert seen == [LowRankPopulation] * 3
    np.testing.assert_array_equal(a.mean, b.mean)
    np.testing.assert_array_equal(a.history["max"], b.history["max"])


def test_recurrent_policy_gets_the_genomes():
    env = pn.envs.CartPole(max_steps=50)
    net = pn.Network(layers=[pn.RNN(4), pn.Dense(2)], input_shape=(4,))
    es = pn.OpenES(net.n_params, 12, sigma=0.3, seed=0)
    pop = es.ask_structured()
    np.testing.assert_array_equal(pn.envs.rollout(net, pop, env),
                                  pn.envs.rollout(net, es.ask(), env))


def test_bad_input():
    env = pn.envs.CartPole()
    net = pn.Network([4, 3, 2], ["tanh", "linear"])
    other = pn.Network([4, 5, 2], ["tanh", "linear"])
    lr = pn.OpenES(net.n_params, 8, rank=1, network=net, seed=0).ask_structured()
    pairs = pn.OpenES(net.n_params, 8, seed=0).ask_structured()
    with pytest.raises(ValueError, match="LowRankPopulation of the network"):
        pn.envs.rollout(other, lr, env)
    with pytest.raises(ValueError, match="AntitheticPopulation of 23 parameters"):
        pn.envs.Rollout(other, env)(pairs)


# ------------------------------------------------------------- gym.evaluate
@pytest.mark.parametrize("env_id", ["CartPole-v1", "Pendulum-v1"])
def test_gym_evaluate_of_the_structure_equals_the_genomes(env_id):
    import gymnasium

    obs, n_out = (4, 2) if env_id.startswith("CartPole") else (3, 1)
    net = pn.Network([obs, 5, n_out], ["relu", "tanh"])
    for es in strategies(net, 10):
        pop = es.ask_structured()
        genomes = np.array(es.ask())
        for num_envs in (None, 4):  # one group, and groups with an offset
            got = pn.gym.evaluate(net, pop, lambda: gymnasium.make(env_id),
                                  episodes=1, seed=3, max_steps=40, num_envs=num_envs)
            want = pn.gym.evaluate(net, genomes, lambda: gymnasium.make(env_id),
                                   episodes=1, seed=3, max_steps=40,
                                   num_envs=num_envs)
            np.testing.assert_array_equal(got, want)
    assert pn.gym.Evaluate(net, env_id).accepts_structured


def test_forward_each_of_the_structure_equals_the_genomes():
    from pyneat_lite._kernels.genome_source import forward_each_source
    from pyneat_lite.tasks._structured import genome_source

    rng = np.random.default_rng(0)
    for act in pn.ACTIVATIONS:
        net = pn.Network([6, 7, 4, 3], [act, "tanh", act])
        for es in strategies(net, 12):
            pop = es.ask_structured()
            genomes = np.array(es.ask())
            x = rng.normal(size=(len(genomes), 6)).astype(np.float32)
            want = net.forward_each(genomes, x)
            for nt in (1, 2):
                out = np.empty_like(want[2:])
                forward_each_source(genome_source(pop), 2, x[2:], net.meta,
                                    int(net.max_width), out, nt)
                np.testing.assert_array_equal(out, want[2:])


# ------------------------------------------- fit_evolve's kernel-path task
@pytest.mark.parametrize("loss", ["mse", "mae", "cross_entropy"])
def test_fit_evolve_loss_task_scores_the_structure(loss):
    from pyneat_lite.adapters._fit import LossSpec, loss_task

    rng = np.random.default_rng(1)
    net = pn.Network([5, 6, 3], ["tanh", "softmax"])
    X = rng.normal(size=(70, 5)).astype(np.float32)
    y = np.eye(3)[rng.integers(0, 3, 70)]
    task = loss_task(net, X, y, LossSpec(loss=loss), "fit_evolve")
    assert task.accepts_structured
    for es in strategies(net, 12):
        pop = es.ask_structured()
        want = task.evaluate(np.array(es.ask()))
        np.testing.assert_allclose(task.evaluate(pop), want, rtol=2e-5, atol=2e-6)
