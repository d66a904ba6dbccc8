"""The Network contract for every kind of layer stack (issue 13): the same
checks for a dense net, a ConvNet and a recurrent net -- seeded initialisation
per layer, out buffers, NaN propagation, config round trips, bad input."""

from __future__ import annotations

import numpy as np
import pytest

import pyneat_lite as pn

NETS = {
    "dense": lambda: pn.Network([6, 5, 3], ["tanh", "softmax"]),
    "conv": lambda: pn.Network(
        layers=[pn.Conv2D(3, 3, padding="same", activation="relu"), pn.MaxPool2D(2),
                pn.Flatten(), pn.Dense(3, "softmax")], input_shape=(1, 6, 6)),
    "recurrent": lambda: pn.Network(layers=[pn.Dense(5, "tanh"), pn.GRU(4),
                                            pn.RNN(3), pn.Dense(3)], input_shape=6),
}


def _step(net, pop, x, out=None):
    if net.recurrent:
        return net.forward_each(pop, x, out, state=net.init_state(len(pop)))
    return net.forward_each(pop, x, out)


@pytest.mark.parametrize("kind", NETS)
def test_init_is_seeded_per_row_and_per_layer(kind):
    net = NETS[kind]()
    a = net.init_population(9, seed=4)
    np.testing.assert_array_equal(a, net.init_population(9, seed=4))
    np.testing.assert_array_equal(a[:3], net.init_population(3, seed=4))
    np.testing.assert_array_equal(net.init_genome(seed=4), a[0])
    assert not np.array_equal(a, net.init_population(9, seed=5))
    big = net.init_population(400, seed=0)
    for lay in net.layout:
        w = big[:, lay.w_offset: lay.b_offset]
        lim = np.sqrt(6 / (lay.w_shape[0] + lay.w_shape[1]))
        assert np.abs(w).max() <= lim and np.abs(w).max() > 0.95 * lim
        assert abs(w.std() - lim / np.sqrt(3)) < 0.03 * lim
        assert not big[:, lay.b_offset: lay.b_offset + lay.b_size].any()
    he = net.init_population(400, seed=0, scheme="he_normal")
    for lay in net.layout:
        std = he[:, lay.w_offset: lay.b_offset].std()
        assert abs(std / np.sqrt(2 / lay.w_shape[0]) - 1) < 0.05


@pytest.mark.parametrize("kind", NETS)
def test_out_buffer_nan_and_config(kind):
    net = NETS[kind]()
    pop = net.init_population(4, seed=0, scheme="normal", std=0.5)
    x = np.random.default_rng(0).standard_normal((4, net.n_in)).astype(np.float32)
    out = np.empty((4, net.n_out), np.float32)
    assert _step(net, pop, x, out) is out
    np.testing.assert_array_equal(out, _step(net, pop, x))
    bad = pop.copy()
    bad[2, net.layout[0].w_offset: net.layout[0].b_offset] = np.nan
    res = _step(net, bad, x)
    assert np.isnan(res[2]).all() and np.isfinite(res[[0, 1, 3]]).all()
    np.testing.assert_array_equal(res[[0, 1, 3]], _step(net, pop, x)[[0, 1, 3]])
    again = pn.Network.from_config(net.to_config())
    assert again == net and again.n_params == net.n_params
    np.testing.assert_array_equal(_step(again, pop, x), out)


@pytest.mark.parametrize("kind", NETS)
def test_bad_input(kind):
    net = NETS[kind]()
    pop = net.init_population(4, seed=0)
    x = np.zeros((4, net.n_in), np.float32)
    with pytest.raises(ValueError, match="n_params"):
        _step(net, pop[:, 1:], x)
    with pytest.raises(ValueError, match="finite"):
        _step(net, pop, np.full_like(x, np.nan))
    with pytest.raises(ValueError, match="out"):
        _step(net, pop, x, np.empty((4, net.n_out + 1), np.float32))
    with pytest.raises(ValueError, match="inputs"):
        _step(net, pop, x[:3])
