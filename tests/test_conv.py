"""Convolution, pooling and flatten layers (issue 13): population forwards
against the NumPy reference (tests/ref_layers.py) and against PyTorch, the
layer specs, and clear errors."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from ref_layers import ref_spec as _ref_spec
from ref_layers import stack_forward_ref

import pyneat_lite as pn
from pyneat_lite.layers import AvgPool2D, Conv2D, Dense, Flatten, MaxPool2D

RTOL, ATOL = 2e-5, 2e-5


def _data(net, P, B, seed=0):
    rng = np.random.default_rng(seed)
    pop = net.init_population(P, seed=seed, scheme="normal", std=0.4)
    for lay in net.layout:  # non-zero biases
        pop[:, lay.b_offset: lay.b_offset + lay.b_size] = rng.normal(0, 0.3,
                                                                       (P, lay.b_size))
    X = rng.standard_normal((B, net.n_in)).astype(np.float32)
    return pop, X


def _random_spec(rng):
    """A random valid conv stack and its input shape."""
    c, h, w = (int(rng.integers(1, 4)), int(rng.integers(6, 13)),
               int(rng.integers(6, 13)))
    layers = []
    shape = (c, h, w)
    acts = ["linear", "relu", "tanh", "sigmoid", "elu"]
    for _ in range(int(rng.integers(1, 3))):
        k = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
        s = (int(rng.integers(1, 3)), int(rng.integers(1, 3)))
        pad = ["valid", "same", int(rng.integers(0, 2))][int(rng.integers(0, 3))]
        layers.append(Conv2D(int(rng.integers(1, 6)), k, s, pad,
                             acts[int(rng.integers(0, len(acts)))]))
        net = pn.Network(layers=layers, input_shape=shape)
        _, hh, ww = net._stack.shapes[-1]
        if hh >= 2 and ww >= 2 and rng.random() < 0.7:
            layers.append((MaxPool2D if rng.random() < 0.5 else AvgPool2D)(
                2, int(rng.integers(1, 3))))
    if rng.random() < 0.8:
        act = ["linear", "softmax", "tanh"][int(rng.integers(0, 3))]
        layers += [Flatten(), Dense(int(rng.integers(1, 7)), act)]
    return layers, shape


@pytest.mark.parametrize("seed", range(8))
def test_random_specs_match_numpy_reference(seed):
    layers, shape = _random_spec(np.random.default_rng(seed))
    net = pn.Network(layers=layers, input_shape=shape)
    pop, X = _data(net, 11, 23, seed)
    ref = stack_forward_ref(_ref_spec(layers), shape, pop, X)
    for method in ("auto", "gemm", "loops"):
        np.testing.assert_allclose(net.forward(pop, X, method=method), ref,
                                   rtol=RTOL, atol=ATOL)
    # images as (B, C, H, W), one genome, forward_each
    np.testing.assert_allclose(net.forward(pop[3], X.reshape(-1, *shape)), ref[3],
                               rtol=RTOL, atol=ATOL)
    each = net.forward_each(pop, X[:11])
    np.testing.assert_allclose(each, ref[np.arange(11), np.arange(11)],
                               rtol=RTOL, atol=ATOL)


def _torch_convnet(net, genome):
    """The EvoJAX-shaped ConvNet in PyTorch, weights copied by hand from the
    documented layout (not through the adapter)."""
    mods = [torch.nn.Conv2d(1, 8, 5, padding="same"), torch.nn.ReLU(),
            torch.nn.AvgPool2d(2),
            torch.nn.Conv2d(8, 16, 5, padding="same"), torch.nn.ReLU(),
            torch.nn.AvgPool2d(2), torch.nn.Flatten(), torch.nn.Linear(784, 10),
            torch.nn.Softmax(dim=-1)]
    convs = [mods[0], mods[3], mods[7]]
    with torch.no_grad():
        for m, lay in zip(convs, net.layout, strict=True):
            W = genome[lay.w_offset: lay.b_offset].reshape(lay.w_shape)
            if isinstance(m, torch.nn.Conv2d):
                m.weight.copy_(torch.from_numpy(np.ascontiguousarray(
                    W.T.reshape(m.weight.shape))))
            else:
                m.weight.copy_(torch.from_numpy(np.ascontiguousarray(W.T)))
            m.bias.copy_(torch.from_numpy(genome[lay.b_offset: lay.b_offset
                                                 + lay.b_size]))
    return torch.nn.Sequential(*mods)


def convnet():
    return pn.Network(layers=[Conv2D(8, 5, padding="same", activation="relu"),
                              AvgPool2D(2),
                              Conv2D(16, 5, padding="same", activation="relu"),
                              AvgPool2D(2), Flatten(), Dense(10, "softmax")],
                      input_shape=(1, 28, 28))


def test_evojax_convnet_matches_torch():
    net = convnet()
    assert net.n_params == 11274  # EvoJAX's "about 11k weights"
    pop, X = _data(net, 5, 40)
    X = np.abs(X)
    y = net.forward(pop, X)
    for p in range(5):
        model = _torch_convnet(net, pop[p])
        with torch.no_grad():
            ref = model(torch.from_numpy(X.reshape(-1, 1, 28, 28))).numpy()
        np.testing.assert_allclose(y[p], ref, rtol=1e-4, atol=1e-5)


def test_maxpool_and_strided_conv_match_torch():
    rng = np.random.default_rng(1)
    net = pn.Network(layers=[Conv2D(3, (3, 2), stride=(2, 1), padding=1,
                                    activation="tanh"), MaxPool2D(2, 1)],
                     input_shape=(2, 9, 8))
    pop, X = _data(net, 3, 7)
    y = net.forward(pop, X)
    conv = torch.nn.Conv2d(2, 3, (3, 2), stride=(2, 1), padding=1)
    lay = net.layout[0]
    for p in range(3):
        with torch.no_grad():
            conv.weight.copy_(torch.from_numpy(np.ascontiguousarray(
                pop[p, lay.w_offset: lay.b_offset].reshape(lay.w_shape).T
                .reshape(3, 2, 3, 2))))
            conv.bias.copy_(torch.from_numpy(pop[p, lay.b_offset: lay.b_offset + 3]))
            ref = torch.nn.functional.max_pool2d(
                torch.tanh(conv(torch.from_numpy(X.reshape(-1, 2, 9, 8)))), 2, 1)
        np.testing.assert_allclose(y[p], ref.reshape(7, -1).numpy(), rtol=1e-5,
                                   atol=1e-6)
    assert rng is not None


def test_threads_and_blocks_do_not_change_results():
    net = convnet()
    pop, X = _data(net, 20, 9)
    one = net.forward(pop, X, n_threads=1)
    np.testing.assert_array_equal(net.forward(pop, X, n_threads=2), one)
    np.testing.assert_array_equal(net.forward(pop, X, n_threads=-1), one)
    # a genome's outputs do not depend on the other genomes
    np.testing.assert_allclose(net.forward(pop[:7], X, n_threads=2), one[:7],
                               rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("block_values", [2 * 19600, 2**18])
def test_few_genomes_share_sample_blocks_between_threads(monkeypatch, block_values):
    # one or two genomes on many samples (a test set, a split network's
    # prefix): the threads take runs of sample blocks, which change nothing
    from pyneat_lite import _network_kernels
    from pyneat_lite._kernels import conv

    monkeypatch.setattr(conv, "BLOCK_VALUES", block_values)
    calls = []
    real = conv.stack_forward_shared

    def spy(*args):
        calls.append((args[6], args[7]))  # n_chunks, by_samples
        return real(*args)

    net = convnet()
    pop, X = _data(net, 2, 101, seed=3)
    ref = stack_forward_ref(_ref_spec(net.layers), (1, 28, 28), pop, X)
    monkeypatch.setattr(conv, "stack_forward_shared", spy)
    for P in (1, 2):
        one = net.forward(pop[:P], X, n_threads=1)
        np.testing.assert_allclose(one, ref[:P], rtol=1e-4, atol=1e-6)
        np.testing.assert_array_equal(net.forward(pop[:P], X, n_threads=2), one)
    # one genome block: split by samples; two: by genomes
    assert calls == [(1, False), (2, True), (1, False), (2, False)]
    # two genomes split by samples give the same bits as well
    nb = conv.block_samples(net.meta, 1, len(X))
    assert -(-len(X) // nb) >= 4
    out = np.empty((2, len(X), 10), np.float32)
    with _network_kernels.single_threaded_blas():
        real(pop, X, net.meta, 1, nb, out, 2, True)
    np.testing.assert_array_equal(out, net.forward(pop, X, n_threads=1))
    assert len(X) * net.n_params >= _network_kernels.FORWARD_PARALLEL_MIN_WORK


def test_dense_layers_are_the_sizes_network():
    a = pn.Network(layers=[Dense(8, "tanh"), Dense(3, "softmax")], input_shape=5)
    b = pn.Network([5, 8, 3], ["tanh", "softmax"])
    assert a == b and hash(a) == hash(b) and a.to_config() == b.to_config()
    assert a._stack is None and a.layers == b.layers


def test_layout_config_and_pickle():
    net = convnet()
    assert [lay.w_shape for lay in net.layout] == [(25, 8), (200, 16), (784, 10)]
    assert net.layout[1].w_offset == 208 and net.layout[2].b_offset == 11264
    assert net.n_in == 784 and net.n_out == 10 and net.input_shape == (1, 28, 28)
    again = pn.Network.from_config(net.to_config())
    assert again == net and hash(again) == hash(net)
    assert pickle.loads(pickle.dumps(net)) == net
    assert net != pn.Network(layers=[Conv2D(8, 5), Flatten(), Dense(10)],
                             input_shape=(1, 28, 28))
    # flatten/unflatten use the layout's kernel shapes
    g = net.init_genome(seed=3)
    ws = net.unflatten(g)
    assert ws[0][0].shape == (25, 8)
    np.testing.assert_array_equal(net.flatten(ws), g)
    # glorot limits per layer, biases zero
    lim = np.sqrt(6 / (200 + 16))
    w1 = ws[1][0]
    assert np.abs(w1).max() <= lim and np.abs(w1).max() > 0.9 * lim
    assert not ws[1][1].any()


def test_classification_task_scores_a_convnet():
    net = pn.Network(layers=[Conv2D(2, 3, activation="relu"), MaxPool2D(2), Flatten(),
                             Dense(3, "softmax")], input_shape=(1, 8, 8))
    pop, X = _data(net, 6, 50)
    y = np.random.default_rng(0).integers(0, 3, 50)
    fit = pn.tasks.Classification(net, X, y, metric="accuracy")
    ref = stack_forward_ref(_ref_spec(net.layers), (1, 8, 8), pop, X)
    np.testing.assert_allclose(fit(pop), (ref.argmax(-1) == y).mean(axis=1))


@pytest.mark.parametrize("kwargs, match", [
    (dict(layers=[Conv2D(2, 5)], input_shape=(1, 4, 8)), "larger than its input 4x8"),
    (dict(layers=[Conv2D(2, 4, padding=1)], input_shape=(1, 1, 1)),
     "larger than its input 1x1 padded by 1"),
    (dict(layers=[MaxPool2D(3), Flatten(), Dense(2)], input_shape=(1, 2, 5)),
     "larger than its input"),
    (dict(layers=[Conv2D(2, 3), Dense(2)], input_shape=(1, 5, 5)),
     "put a Flatten"),
    (dict(layers=[Dense(4), Conv2D(2, 1)], input_shape=16), "needs an image input"),
    (dict(layers=[Conv2D(2, 1)], input_shape=(3, 4)), "input_shape"),
    (dict(layers=[MaxPool2D(2)], input_shape=(1, 4, 4)), "at least one layer"),
    (dict(layers=[], input_shape=(1, 4, 4)), "non-empty list"),
])
def test_bad_specs_raise_clear_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        pn.Network(**kwargs)


def test_bad_layer_arguments():
    with pytest.raises(ValueError, match="'padding' argument of Conv2D"):
        Conv2D(2, 3, padding="full")
    with pytest.raises(ValueError, match="cannot be 'softmax'"):
        Conv2D(2, 3, activation="softmax")
    with pytest.raises(ValueError, match="activation"):
        Conv2D(2, 3, activation="swish")
    with pytest.raises(ValueError, match="'kernel'"):
        Conv2D(2, 0)
    with pytest.raises(ValueError, match="pair of ints"):
        MaxPool2D((2, 2, 2))
    with pytest.raises(TypeError, match="layers\\[1\\]"):
        pn.Network(layers=[Conv2D(2, 1), "flatten"], input_shape=(1, 2, 2))
    with pytest.raises(TypeError, match="not both"):
        pn.Network([4, 2], "tanh", layers=[Dense(2)], input_shape=4)
    with pytest.raises(TypeError, match="needs both"):
        pn.Network(layers=[Dense(2)])
    with pytest.raises(TypeError, match="needs sizes and activations"):
        pn.Network([4, 2])


def test_bad_inputs_raise_clear_errors():
    net = convnet()
    pop = net.init_population(2, seed=0)
    with pytest.raises(ValueError, match="784 columns"):
        net.forward(pop, np.zeros((3, 783), np.float32))
    with pytest.raises(ValueError, match=r"shape \(B, 1, 28, 28\)"):
        net.forward(pop, np.zeros((3, 1, 28, 27), np.float32))
    with pytest.raises(ValueError, match="inputs"):
        net.forward_each(pop, np.zeros((3, 784), np.float32))
    with pytest.raises(ValueError, match="n_params"):
        net.forward(pop[:, :-1], np.zeros((3, 784), np.float32))


def test_env_rollout_refuses_a_convnet():
    net = pn.Network(layers=[Conv2D(1, 1), Flatten(), Dense(2)], input_shape=(1, 2, 2))
    with pytest.raises(ValueError, match="stack of dense layers"):
        pn.envs.rollout(net, net.init_population(2, seed=0), pn.envs.CartPole(),
                        max_steps=5)


def test_es_on_a_convnet_resumes_from_a_checkpoint(tmp_path):
    net = pn.Network(layers=[Conv2D(3, 3, activation="relu"), MaxPool2D(2), Flatten(),
                             Dense(3, "softmax")], input_shape=(1, 8, 8))
    rng = np.random.default_rng(0)
    X = rng.random((40, 64), dtype=np.float32)
    y = rng.integers(0, 3, 40)
    fit = pn.tasks.Classification(net, X, y, metric="cross_entropy")
    es = pn.OpenES(n_params=net.n_params, pop_size=8, seed=0,
                   x0=net.init_genome(seed=0))
    for _ in range(2):
        es.tell(fit(es.ask()))
    es.save(tmp_path / "run.ckpt")
    for _ in range(3):
        es.tell(fit(es.ask()))
    again = pn.load(tmp_path / "run.ckpt")
    for _ in range(3):
        again.tell(fit(again.ask()))
    np.testing.assert_array_equal(again.mean, es.mean)


def test_forward_each_threads_do_not_change_results():
    net = convnet()
    pop, X = _data(net, 6, 6)
    np.testing.assert_array_equal(net.forward_each(pop, X, n_threads=2),
                                  net.forward_each(pop, X, n_threads=1))


@pytest.mark.parametrize("pool", [MaxPool2D(3, 2), AvgPool2D((2, 3), 1), MaxPool2D(2),
                                  AvgPool2D(2)])
def test_stride1_convs_fused_with_pooling_match_numpy_reference(pool):
    # stride-1 convolutions run on padded rows with bias, activation and the
    # following pooling fused (2x2 windows have their own loop); a convolution
    # ending the network and one followed by a convolution take the unfused
    # epilogue
    layers = [Conv2D(3, (3, 4), padding="same", activation="tanh"), pool,
              Conv2D(4, 3, padding=1, activation="relu"), pool,
              Conv2D(2, (1, 2), padding="valid", activation="elu"),
              Conv2D(3, 1, activation="sigmoid")]
    shape = (2, 13, 12)
    net = pn.Network(layers=layers, input_shape=shape)
    pop, X = _data(net, 10, 7, seed=3)
    ref = stack_forward_ref(_ref_spec(layers), shape, pop, X)
    for method in ("gemm", "loops"):
        np.testing.assert_allclose(net.forward(pop, X, method=method), ref,
                                   rtol=RTOL, atol=ATOL)
    each = net.forward_each(pop, X[np.arange(10) % 7])
    np.testing.assert_allclose(each, ref[np.arange(10), np.arange(10) % 7],
                               rtol=RTOL, atol=ATOL)


# the largest buffer per sample is the first convolution's patches (25 * 784 =
# 19600 values) or product (rows * 784)
@pytest.mark.parametrize("block_values,rows,nb", [(1, 1, 1), (2 * 19600, 8, 2),
                                                  (3 * 19600, 24, 3), (2**18, 64, 5)])
def test_sample_and_genome_blocks_match_reference(monkeypatch, block_values, rows, nb):
    # blocks of 1, 2 or 3 samples (7 samples: a short last block) and of 1 to
    # 8 genomes in the first convolution's GEMM (13 genomes: a short last
    # block); the blocks depend on the sizes only, so threads change nothing
    from pyneat_lite._kernels import conv

    monkeypatch.setattr(conv, "BLOCK_VALUES", block_values)
    monkeypatch.setattr(conv, "GEMM_TARGET_ROWS", rows)
    net = convnet()
    assert conv.block_samples(net.meta, -(-rows // 8), 7) == nb
    pop, X = _data(net, 13, 7, seed=5)
    ref = stack_forward_ref(_ref_spec(net.layers), (1, 28, 28), pop, X)
    one = net.forward(pop, X, n_threads=1)
    np.testing.assert_allclose(one, ref, rtol=1e-4, atol=1e-6)
    np.testing.assert_array_equal(net.forward(pop, X, n_threads=2), one)
