"""Recurrent layers (issue 13): Elman RNN and GRU stepped by forward_each with
a caller-owned state, against the NumPy reference (tests/ref_layers.py) and
against torch.nn.RNN / torch.nn.GRU."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from ref_layers import recurrent_step_ref

import pyneat_lite as pn
from pyneat_lite.layers import GRU, RNN, Conv2D, Dense, Flatten

RTOL, ATOL = 2e-5, 2e-5


def _ref_spec(layers):
    out = []
    for lay in layers:
        if isinstance(lay, RNN):
            out.append(("rnn", lay.units, lay.activation))
        elif isinstance(lay, GRU):
            out.append(("gru", lay.units))
        else:
            out.append(("dense", lay.units, lay.activation))
    return out


def _pop(net, P, seed=0):
    rng = np.random.default_rng(seed)
    pop = net.init_population(P, seed=seed, scheme="normal", std=0.5)
    for lay in net.layout:
        pop[:, lay.b_offset: lay.b_offset + lay.b_size] = rng.normal(0, 0.3,
                                                                       (P, lay.b_size))
    return pop


SPECS = [
    ([RNN(5)], 3),
    ([GRU(4)], 3),
    ([Dense(6, "relu"), GRU(5), Dense(2, "softmax")], 4),
    ([RNN(3, "relu"), RNN(4), Dense(3)], 2),
    ([GRU(3), RNN(2, "sigmoid"), GRU(9), Dense(1, "tanh")], 5),
]


@pytest.mark.parametrize("layers, n_in", SPECS)
def test_steps_match_numpy_reference(layers, n_in):
    net = pn.Network(layers=layers, input_shape=n_in)
    P, T = 7, 6
    pop = _pop(net, P)
    xs = np.random.default_rng(1).standard_normal((T, P, n_in)).astype(np.float32)
    state = net.init_state(P)
    units = [lay.units for lay in layers if isinstance(lay, (RNN, GRU))]
    assert state.shape == (P, sum(units)) and net.state_size == sum(units)
    ref_states = [[np.zeros(u) for u in units] for _ in range(P)]
    for t in range(T):
        if t == 4:  # a new episode for some genomes
            state[[1, 5]] = 0
            for p in (1, 5):
                for s in ref_states[p]:
                    s[:] = 0
        out = net.forward_each(pop, xs[t], state=state)
        ref = np.stack([recurrent_step_ref(_ref_spec(layers), n_in, pop[p], xs[t, p],
                                           ref_states[p]) for p in range(P)])
        np.testing.assert_allclose(out, ref, rtol=RTOL, atol=ATOL)
        np.testing.assert_allclose(state, np.stack([np.concatenate(s) for s in
                                                    ref_states]), rtol=RTOL, atol=ATOL)


def test_layout_of_recurrent_layers():
    net = pn.Network(layers=[RNN(4), GRU(3), Dense(2)], input_shape=5)
    rnn, gru, dense = net.layout
    assert rnn.w_shape == (9, 4) and rnn.b_size == 4
    assert gru.w_offset == 40 and gru.w_shape == (7, 9) and gru.b_size == 18
    assert dense.w_offset == 40 + 63 + 18 and net.n_params == dense.b_offset + 2
    assert pn.Network.from_config(net.to_config()) == net
    assert pickle.loads(pickle.dumps(net)) == net


def _torch_weights(mod, W, b, n_in, gru):
    with torch.no_grad():
        mod.weight_ih_l0.copy_(torch.from_numpy(np.ascontiguousarray(W[:n_in].T)))
        mod.weight_hh_l0.copy_(torch.from_numpy(np.ascontiguousarray(W[n_in:].T)))
        if gru:
            n = b.size // 2
            mod.bias_ih_l0.copy_(torch.from_numpy(b[:n].copy()))
            mod.bias_hh_l0.copy_(torch.from_numpy(b[n:].copy()))
        else:  # one bias: torch adds b_ih and b_hh
            mod.bias_ih_l0.copy_(torch.from_numpy(b.copy()))
            mod.bias_hh_l0.zero_()


@pytest.mark.parametrize("kind", ["rnn", "gru"])
def test_sequences_match_torch(kind):
    n_in, units, P, T = 4, 6, 3, 9
    layer = RNN(units) if kind == "rnn" else GRU(units)
    net = pn.Network(layers=[layer], input_shape=n_in)
    pop = _pop(net, P, seed=2)
    xs = np.random.default_rng(3).standard_normal((P, T, n_in)).astype(np.float32)
    state = net.init_state(P)
    ours = np.stack([net.forward_each(pop, np.ascontiguousarray(xs[:, t]),
                                      state=state) for t in range(T)], axis=1)
    lay = net.layout[0]
    for p in range(P):
        mod = (torch.nn.RNN if kind == "rnn" else torch.nn.GRU)(n_in, units,
                                                               batch_first=True)
        W = pop[p, lay.w_offset: lay.b_offset].reshape(lay.w_shape)
        _torch_weights(mod, W, pop[p, lay.b_offset: lay.b_offset + lay.b_size], n_in,
                       kind == "gru")
        with torch.no_grad():
            seq, h = mod(torch.from_numpy(xs[p:p + 1]))
        np.testing.assert_allclose(ours[p], seq[0].numpy(), rtol=1e-5, atol=2e-6)
        np.testing.assert_allclose(state[p], h[0, 0].numpy(), rtol=1e-5, atol=2e-6)


def test_threads_do_not_change_results():
    net = pn.Network(layers=[Dense(16, "tanh"), GRU(32), Dense(4)], input_shape=8)
    pop = _pop(net, 300)
    x = np.random.default_rng(0).standard_normal((300, 8)).astype(np.float32)
    s1, s2 = net.init_state(300), net.init_state(300)
    for _ in range(3):
        a = net.forward_each(pop, x, state=s1, n_threads=1)
        b = net.forward_each(pop, x, state=s2, n_threads=2)
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(s1, s2)


def test_bad_use_raises_clear_errors():
    net = pn.Network(layers=[RNN(3), Dense(2)], input_shape=4)
    pop = net.init_population(5, seed=0)
    x = np.zeros((5, 4), np.float32)
    with pytest.raises(ValueError, match="recurrent layers"):
        net.forward(pop, x)
    with pytest.raises(ValueError, match="'state' argument .* is required"):
        net.forward_each(pop, x)
    with pytest.raises(ValueError, match=r"shape \(5, 3\)"):
        net.forward_each(pop, x, state=np.zeros((5, 4), np.float32))
    with pytest.raises(TypeError, match="float32"):
        net.forward_each(pop, x, state=np.zeros((5, 3)))
    with pytest.raises(ValueError, match="only for networks with"):
        pn.Network([4, 2], "tanh").forward_each(pop[:, :10], x,
                                                state=np.zeros((5, 1), np.float32))
    with pytest.raises(ValueError, match="may hold only Dense, RNN and GRU"):
        pn.Network(layers=[Conv2D(2, 1), Flatten(), RNN(3)], input_shape=(1, 2, 2))
    with pytest.raises(ValueError, match="cannot be 'softmax'"):
        RNN(3, "softmax")
    # pn.envs.rollout runs recurrent policies: tests/test_envs_recurrent.py


def test_gym_rollouts_reset_the_state_every_episode():
    import gymnasium

    from pyneat_lite._rng import STREAMS, row_seeds

    net = pn.Network(layers=[GRU(6), Dense(2)], input_shape=4)
    pop = _pop(net, 4, seed=5) * np.float32(2.0)
    # a factory: the id alone would use CartPole's own vector implementation
    got = pn.gym.evaluate(net, pop, lambda: gymnasium.make("CartPole-v1"), episodes=2,
                          seed=3)
    # one genome at a time, a fresh zero state per episode
    seeds = [int(s % (2**31 - 1)) for s in row_seeds(3, 0, STREAMS["env"], 2)]
    ref = np.zeros(4)
    for i in range(4):
        for e in range(2):
            env = gymnasium.make("CartPole-v1")
            obs, _ = env.reset(seed=seeds[e] + i)
            state = net.init_state(1)
            while True:
                out = net.forward_each(pop[i:i + 1], obs.astype(np.float32)[None],
                                       state=state)
                obs, r, term, trunc, _ = env.step(int(np.argmax(out[0])))
                ref[i] += r
                if term or trunc:
                    break
    np.testing.assert_allclose(got, ref / 2)
    assert len(set(got)) > 1  # the policies differ
