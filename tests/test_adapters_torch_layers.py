"""The torch adapter for convolution, pooling, flatten and recurrent layers
(issue 13): nn.Conv2d / MaxPool2d / AvgPool2d / Flatten / RNN / GRU both
ways, outputs compared with PyTorch's own forward."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import pyneat_lite as pn
from pyneat_lite.adapters import torch as pt


def _seeded():
    torch.manual_seed(0)


def _images(shape, B=6, seed=0):
    return np.random.default_rng(seed).standard_normal((B, *shape)).astype(np.float32)


def test_torch_convnet_to_network_and_back():
    _seeded()
    model = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(4, 6, (3, 2), stride=(2, 1)), nn.Tanh(),
                          nn.AvgPool2d(2, 1), nn.Flatten(), nn.Linear(6 * 1 * 3, 5),
                          nn.Softmax(dim=-1))
    X = _images((2, 12, 10))
    net, genome = pt.from_module(model, input_shape=(2, 12, 10))
    assert [type(lay).__name__ for lay in net.layers] == [
        "Conv2D", "MaxPool2D", "Conv2D", "AvgPool2D", "Flatten", "Dense"]
    with torch.no_grad():
        ref = model(torch.from_numpy(X)).numpy()
    np.testing.assert_allclose(net.forward(genome, X), ref, rtol=1e-5, atol=1e-6)
    back = pt.to_module(net, genome)
    with torch.no_grad():
        np.testing.assert_allclose(back(torch.from_numpy(X)).numpy(), ref, rtol=1e-5,
                                   atol=1e-6)
    net2, genome2 = pt.from_module(back, input_shape=(2, 12, 10))
    assert net2 == net
    np.testing.assert_array_equal(genome2, genome)


@pytest.mark.parametrize("padding", ["same", "valid", 2])
def test_network_convs_to_torch(padding):
    net = pn.Network(layers=[pn.Conv2D(3, (4, 3), stride=(2, 3), padding=padding,
                                       activation="elu"), pn.Flatten(),
                             pn.Dense(4, "sigmoid")], input_shape=(1, 11, 9))
    genome = net.init_genome(seed=1, scheme="normal", std=0.5)
    X = _images((1, 11, 9), seed=2)
    model = pt.to_module(net, genome)
    if padding == "same":  # strided "same" is asymmetric: a ZeroPad2d first
        assert isinstance(model[0], nn.ZeroPad2d)
    with torch.no_grad():
        ref = model(torch.from_numpy(X)).numpy()
    np.testing.assert_allclose(net.forward(genome, X), ref, rtol=1e-5, atol=1e-6)
    net2, genome2 = pt.from_module(model, input_shape=(1, 11, 9))
    np.testing.assert_allclose(net2.forward(genome2, X), ref, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(genome2, genome)


@pytest.mark.parametrize("rec", ["gru", "rnn_tanh", "rnn_relu"])
def test_recurrent_modules_both_ways(rec):
    _seeded()
    if rec == "gru":
        first: nn.Module = nn.GRU(3, 5, batch_first=True)
    else:
        first = nn.RNN(3, 5, nonlinearity=rec[4:], batch_first=True)
    model = pt.RecurrentSequential(first, nn.Linear(5, 4), nn.Tanh(),
                                   nn.GRU(4, 2, batch_first=True))
    xs = np.random.default_rng(0).standard_normal((3, 7, 3)).astype(np.float32)
    with torch.no_grad():
        ref = model(torch.from_numpy(xs)).numpy()
    net, genome = pt.from_module(model)
    assert net.recurrent and net.state_size == 7
    pop = np.stack([genome] * 3)
    state = net.init_state(3)
    ours = np.stack([net.forward_each(pop, np.ascontiguousarray(xs[:, t]), state=state)
                     for t in range(7)], axis=1)
    np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=2e-6)
    back = pt.to_module(net, genome)
    assert isinstance(back, pt.RecurrentSequential)
    with torch.no_grad():
        np.testing.assert_allclose(back(torch.from_numpy(xs)).numpy(), ref, rtol=1e-5,
                                   atol=2e-6)
    net2, genome2 = pt.from_module(back)
    assert net2 == net
    np.testing.assert_array_equal(genome2, genome)


@pytest.mark.parametrize("model, match", [
    (nn.Sequential(nn.Conv2d(1, 2, 3, dilation=2), nn.Flatten(), nn.Linear(2, 1)),
     "dilation=1"),
    (nn.Sequential(nn.Conv2d(1, 2, 3, groups=1, padding=(1, 0))), "both axes alike"),
    (nn.Sequential(nn.MaxPool2d(2, padding=1)), "no padding"),
    (pt.RecurrentSequential(nn.GRU(3, 4, num_layers=2, batch_first=True)),
     "num_layers=1"),
    (pt.RecurrentSequential(nn.RNN(3, 4)), "batch_first=True"),
    (nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2)), "not supported here"),
])
def test_unsupported_modules_raise(model, match):
    with pytest.raises(TypeError, match=match):
        pt.from_module(model, input_shape=(1, 8, 8))


def test_input_shape_errors():
    with pytest.raises(TypeError, match="'input_shape' argument of from_module is "
                                        "required"):
        pt.from_module(nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.Linear(8, 1)))
    with pytest.raises(ValueError, match="takes 8 inputs but the previous layers give "
                                         "72"):
        pt.from_module(nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.Linear(8, 1)),
                       input_shape=(1, 8, 8))
    with pytest.raises(ValueError, match="must match"):
        pt.from_module(nn.Sequential(nn.Linear(3, 2)), input_shape=4)
