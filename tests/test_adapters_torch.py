"""PyTorch adapter: conversions both ways, genome access for any module."""

from __future__ import annotations

import importlib
import sys

import numpy as np
import pytest
import torch
from torch import nn

import pyneat_lite as pn
from pyneat_lite.adapters import torch as pt

ATOL = 2e-6


def _all_activation_stack(n_in: int = 5, width: int = 6) -> nn.Sequential:
    acts = [
        nn.ReLU(),
        nn.LeakyReLU(0.01),
        nn.ELU(),
        nn.Tanh(),
        nn.Sigmoid(),
        nn.Softplus(),
        pt.Sin(),
        pt.Gaussian(),
        pt.Step(),
        nn.Identity(),
        nn.Softmax(dim=-1),
    ]
    layers: list[nn.Module] = []
    n = n_in
    for a in acts:
        layers += [nn.Linear(n, width), a]
        n = width
    return nn.Sequential(*layers)


def test_from_module_matches_torch_forward_every_activation():
    torch.manual_seed(0)
    model = _all_activation_stack()
    net, genome = pt.from_module(model)
    assert net.activations == (
        "relu", "leaky_relu", "elu", "tanh", "sigmoid", "softplus", "sin",
        "gaussian", "step", "linear", "softmax",
    )
    assert genome.dtype == np.float32 and genome.shape == (net.n_params,)
    assert net.n_params == sum(p.numel() for p in model.parameters())
    X = torch.randn(64, 5)
    with torch.no_grad():
        ref = model(X).numpy()
    np.testing.assert_allclose(net.forward(genome, X.numpy()), ref, atol=ATOL)


def test_from_module_transposes_linear_weight():
    model = nn.Sequential(nn.Linear(3, 2), nn.Tanh(), nn.Linear(2, 4))
    net, genome = pt.from_module(model)
    (W0, b0), (W1, b1) = net.unflatten(genome)
    # PyTorch stores (out, in); the network layout is (in, out)
    np.testing.assert_array_equal(W0, model[0].weight.detach().numpy().T)
    np.testing.assert_array_equal(b0, model[0].bias.detach().numpy())
    np.testing.assert_array_equal(W1, model[2].weight.detach().numpy().T)
    assert W0.shape == (3, 2) and W1.shape == (2, 4)
    np.testing.assert_array_equal(b1, model[2].bias.detach().numpy())


def test_to_module_matches_network_forward_and_round_trips():
    net = pn.Network([7, 9, 4, 3], ["elu", "sigmoid", "softmax"])
    genome = net.init_population(1, seed=3)[0]
    module = pt.to_module(net, genome)
    assert isinstance(module[0], nn.Linear) and module[0].weight.shape == (9, 7)
    X = np.random.default_rng(0).normal(size=(33, 7)).astype(np.float32)
    with torch.no_grad():
        got = module(torch.from_numpy(X)).numpy()
    np.testing.assert_allclose(got, net.forward(genome, X), atol=ATOL)
    net2, genome2 = pt.from_module(module)
    assert net2 == net
    np.testing.assert_array_equal(genome2, genome)


def test_from_module_flatten_and_nested_sequential():
    model = nn.Sequential(
        nn.Flatten(), nn.Sequential(nn.Linear(12, 5), nn.ReLU()), nn.Linear(5, 2)
    )
    net, genome = pt.from_module(model)
    assert net.sizes == (12, 5, 2) and net.activations == ("relu", "linear")
    X = torch.randn(10, 3, 4)
    with torch.no_grad():
        ref = model(X).numpy()
    np.testing.assert_allclose(
        net.forward(genome, X.reshape(10, -1).numpy()), ref, atol=ATOL
    )


def test_from_module_float64_model():
    model = nn.Sequential(nn.Linear(4, 3), nn.Tanh()).double()
    net, genome = pt.from_module(model)
    assert genome.dtype == np.float32
    X = torch.randn(8, 4, dtype=torch.float64)
    with torch.no_grad():
        ref = model(X).numpy()
    np.testing.assert_allclose(net.forward(genome, X.numpy()), ref, atol=1e-5)


@pytest.mark.parametrize(
    "model, match",
    [
        (nn.Sequential(nn.Conv2d(1, 2, 3)), "Conv2d"),
        (nn.Sequential(nn.Linear(3, 2), nn.LeakyReLU(0.2)), "LeakyReLU"),
        (nn.Sequential(nn.Linear(3, 2, bias=False)), "bias"),
        (nn.Sequential(nn.Linear(3, 2), nn.ReLU(), nn.Tanh()), "Tanh"),
        (nn.Linear(3, 2), "nn.Sequential"),
        (nn.Sequential(), "at least one Linear"),
    ],
)
def test_from_module_rejects_unsupported(model, match):
    with pytest.raises(TypeError, match=match):
        pt.from_module(model)


def test_from_module_rejects_mismatched_sizes():
    with pytest.raises(ValueError, match="takes 4 inputs"):
        pt.from_module(nn.Sequential(nn.Linear(3, 2), nn.Linear(4, 1)))


def test_to_module_validates():
    net = pn.Network([3, 2], "tanh")
    with pytest.raises(ValueError, match="8 values"):
        pt.to_module(net, np.zeros(5, np.float32))
    with pytest.raises(TypeError, match="Network"):
        pt.to_module("net", np.zeros(8, np.float32))


class _TinyCNN(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 3, 3)
        self.bn = nn.BatchNorm2d(3)
        self.fc = nn.Linear(3 * 4 * 4, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.relu(self.bn(self.conv(x))).flatten(1))


def test_genome_of_set_genome_any_module():
    torch.manual_seed(1)
    cnn = _TinyCNN().eval()
    g = pt.genome_of(cnn)
    ref = torch.nn.utils.parameters_to_vector(cnn.parameters()).detach().numpy()
    np.testing.assert_array_equal(g, ref)  # torch's own order and layout
    new = np.random.default_rng(0).normal(size=g.shape).astype(np.float32)
    assert pt.set_genome(cnn, new) is cnn
    np.testing.assert_array_equal(pt.genome_of(cnn), new)
    # independent reference: torch's vector_to_parameters on a fresh copy
    other = _TinyCNN().eval()
    other.load_state_dict(cnn.state_dict())
    torch.nn.utils.vector_to_parameters(torch.from_numpy(new), other.parameters())
    x = torch.randn(4, 1, 6, 6)
    with torch.no_grad():
        np.testing.assert_array_equal(cnn(x).numpy(), other(x).numpy())
    with pytest.raises(ValueError, match=f"{g.size} values"):
        pt.set_genome(cnn, new[:-1])
    with pytest.raises(TypeError, match="torch.nn.Module"):
        pt.genome_of(np.zeros(3))


def test_set_genome_keeps_dtype():
    model = nn.Linear(2, 2).double()
    pt.set_genome(model, np.arange(6, dtype=np.float32))
    assert model.weight.dtype == torch.float64
    np.testing.assert_array_equal(model.weight.detach().numpy().ravel(), [0, 1, 2, 3])


def test_population_fitness_matches_loop_and_restores():
    torch.manual_seed(2)
    cnn = _TinyCNN().eval()
    x = torch.randn(5, 1, 6, 6)
    original = pt.genome_of(cnn)
    pop = original + 0.1 * np.random.default_rng(1).normal(
        size=(6, original.size)
    ).astype(np.float32)

    def fn(m):
        return m(x).sum()

    got = pt.population_fitness(cnn, pop, fn)
    assert got.dtype == np.float64 and got.shape == (6,)
    expected = []
    for row in pop:
        ref = _TinyCNN().eval()
        ref.load_state_dict(cnn.state_dict())
        torch.nn.utils.vector_to_parameters(torch.from_numpy(row), ref.parameters())
        with torch.no_grad():
            expected.append(float(ref(x).sum()))
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    np.testing.assert_array_equal(pt.genome_of(cnn), original)
    with pytest.raises(ValueError, match="columns"):
        pt.population_fitness(cnn, pop[:, :-1], fn)
    with pytest.raises(TypeError, match="callable"):
        pt.population_fitness(cnn, pop, "fn")


def test_missing_torch_gives_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)
    monkeypatch.delitem(sys.modules, "pyneat_lite.adapters.torch")
    with pytest.raises(ImportError, match=r'pip install "pyneat_lite\[torch\]" '
                       r'\(from a checkout: pip install "\.\[torch\]"\)'):
        importlib.import_module("pyneat_lite.adapters.torch")
