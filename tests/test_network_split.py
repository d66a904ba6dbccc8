"""Network.split (issue 13): the prefix's forward, then the suffix's on its
output, against the NumPy reference of the whole network; genome slices
against the layout; clear errors for a bad index."""

from __future__ import annotations

import numpy as np
import pytest
from ref_forward import forward_population_ref
from ref_layers import ref_spec, stack_forward_ref

import pyneat_lite as pn
from pyneat_lite.layers import GRU, AvgPool2D, Conv2D, Dense, Flatten, MaxPool2D

RTOL, ATOL = 2e-5, 2e-5

MIXED = ([Conv2D(4, (3, 3), activation="relu"), MaxPool2D(2),
          Conv2D(5, (3, 3), padding="same", activation="tanh"), AvgPool2D(3),
          Flatten(), Dense(6, "tanh"), Dense(3, "softmax")], (2, 9, 9))
CONV = ([Conv2D(3, (3, 3), activation="tanh"), Conv2D(2, (2, 2), stride=2,
                                                    activation="relu")], (1, 7, 7))


def _reference(net, pop, X):
    if net._stack is None:
        return forward_population_ref(net.sizes, net.activations, pop, X)
    return stack_forward_ref(ref_spec(net.layers), net.input_shape, pop, X)


def _cases():
    dense = pn.Network([5, 7, 4, 3], ["relu", "tanh", "softmax"])
    mixed = pn.Network(layers=MIXED[0], input_shape=MIXED[1])
    conv = pn.Network(layers=CONV[0], input_shape=CONV[1])
    return ([pytest.param(dense, i, id=f"dense-{i}") for i in (1, 2)]
            + [pytest.param(mixed, i, id=f"mixed-{i}") for i in range(1, 7)]
            + [pytest.param(conv, 1, id="conv-1")])


@pytest.mark.parametrize("net, index", _cases())
def test_prefix_then_suffix_is_the_whole_forward(net, index):
    pop = net.init_population(3, seed=index, scheme="normal", std=0.4)
    X = np.random.default_rng(index).normal(size=(4, net.n_in)).astype(np.float32)
    prefix, suffix = net.split(index)
    k = prefix.n_params
    assert k + suffix.n_params == net.n_params
    feats = prefix.forward(pop[:, :k], X)
    assert feats.shape == (3, 4, suffix.n_in)
    out = np.stack([suffix.forward(pop[p, k:], feats[p]) for p in range(3)])
    np.testing.assert_allclose(out, _reference(net, pop, X), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(feats, _reference(prefix, pop[:, :k], X),
                               rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("net, index", _cases())
def test_genome_slices_follow_the_layout(net, index):
    prefix, suffix = net.split(index)
    k = prefix.n_params
    n_pre = len(prefix.layout)
    assert prefix.layout == net.layout[:n_pre]
    shifted = [(lay.w_offset - k, lay.w_shape, lay.b_offset - k, lay.b_size,
                lay.activation) for lay in net.layout[n_pre:]]
    assert [(lay.w_offset, lay.w_shape, lay.b_offset, lay.b_size, lay.activation)
            for lay in suffix.layout] == shifted
    assert prefix.input_shape == net.input_shape
    joined = list(prefix.layers) + list(suffix.layers)
    if isinstance(net.layers[index], Flatten):
        joined.insert(index, Flatten())
    assert tuple(joined) == tuple(net.layers)


def test_suffix_after_flatten_is_the_sizes_form():
    net = pn.Network(layers=MIXED[0], input_shape=MIXED[1])
    _, suffix = net.split(4)
    assert suffix == pn.Network([5, 6, 3], ["tanh", "softmax"])
    _, suffix = net.split(2)
    assert suffix.input_shape == (4, 3, 3)


@pytest.mark.parametrize("index", [0, 7, -1, 99])
def test_index_out_of_range_names_the_argument(index):
    net = pn.Network(layers=MIXED[0], input_shape=MIXED[1])
    with pytest.raises(ValueError,
                       match=r"'index' parameter of Network.split.*\[1, 6\]"):
        net.split(index)


@pytest.mark.parametrize("index", [1.0, "1", True, None])
def test_index_not_an_integer(index):
    with pytest.raises(TypeError, match="'index' parameter of Network.split"):
        pn.Network([3, 4, 2], "tanh").split(index)


def test_a_side_without_parameters_is_an_error():
    net = pn.Network(layers=[MaxPool2D(2), Flatten(), Dense(3, "softmax")],
                     input_shape=(1, 4, 4))
    for index in (1, 2):
        with pytest.raises(ValueError, match="'index' argument of Network.split must "
                           "leave a layer with parameters on each side"):
            net.split(index)
    net = pn.Network(layers=[Conv2D(2, (3, 3)), Flatten(), Dense(3)],
                     input_shape=(1, 4, 4))
    with pytest.raises(ValueError, match="on each side"):
        pn.Network(layers=[Conv2D(2, (3, 3)), MaxPool2D(2)],
                   input_shape=(1, 4, 4)).split(1)
    assert net.split(1)[1] == pn.Network([8, 3], "linear")


def test_recurrent_network_is_an_error():
    net = pn.Network(layers=[Dense(4, "tanh"), GRU(3), Dense(2)], input_shape=3)
    with pytest.raises(ValueError, match="without recurrent layers"):
        net.split(1)
