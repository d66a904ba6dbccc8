"""Network spec: layout, configuration, initialisation, flatten/unflatten."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from ref_forward import n_params_ref

import pyneat_lite as pn
from pyneat_lite.activations import ACTIVATION_NAMES, ACTIVATIONS, activation_id


# ---------------------------------------------------------------- layout
def test_design_example_sizes_and_layout():
    net = pn.Network([64, 32, 10], ["tanh", "softmax"])
    assert net.n_params == 2410 == n_params_ref([64, 32, 10])
    assert net.sizes == (64, 32, 10)
    assert net.activations == ("tanh", "softmax")
    assert (net.n_in, net.n_out, net.n_layers, net.max_width) == (64, 10, 2, 64)
    l0, l1 = net.layout
    assert (l0.w_offset, l0.w_shape, l0.b_offset, l0.b_size, l0.activation) == (
        0, (64, 32), 2048, 32, "tanh")
    assert (l1.w_offset, l1.w_shape, l1.b_offset, l1.b_size, l1.activation) == (
        2080, (32, 10), 2400, 10, "softmax")


def test_meta_table_for_kernels():
    net = pn.Network([5, 7, 3, 2], ["relu", "elu", "sigmoid"])
    m = net.meta
    assert m.dtype == np.int64 and m.flags.c_contiguous and m.shape == (3, 5)
    assert not m.flags.writeable
    for row, lay in zip(m, net.layout, strict=True):
        assert tuple(row) == (*lay.w_shape, lay.w_offset, lay.b_offset,
                              ACTIVATIONS[lay.activation])
    assert net.n_params == n_params_ref(net.sizes) == m[-1, 3] + m[-1, 1]


def test_single_activation_name_applies_to_every_layer():
    net = pn.Network([4, 16, 16, 2], "tanh")
    assert net.activations == ("tanh", "tanh", "tanh")


def test_config_round_trip_eq_hash_repr_pickle():
    net = pn.Network([3, 5, 2], ["relu", "softmax"])
    cfg = net.to_config()
    assert cfg == {"sizes": [3, 5, 2], "activations": ["relu", "softmax"]}
    again = pn.Network.from_config(cfg)
    assert again == net and hash(again) == hash(net)
    assert net != pn.Network([3, 5, 2], ["relu", "linear"])
    assert "Network(sizes=[3, 5, 2]" in repr(net) and "n_params=32" in repr(net)
    clone = pickle.loads(pickle.dumps(net))
    assert clone == net and np.array_equal(clone.meta, net.meta)
    with pytest.raises(ValueError, match="keys 'sizes' and 'activations'"):
        pn.Network.from_config({"sizes": [3, 2], "activations": "tanh", "x": 1})


def test_activation_table():
    assert set(ACTIVATIONS) >= {"linear", "relu", "leaky_relu", "elu", "tanh",
                                "sigmoid", "softplus", "sin", "gaussian", "step",
                                "softmax"}
    assert sorted(ACTIVATIONS.values()) == list(range(len(ACTIVATIONS)))
    assert [activation_id(n) for n in ACTIVATION_NAMES] == list(range(len(ACTIVATIONS)))
    assert pn.ACTIVATIONS is ACTIVATIONS


# ---------------------------------------------------------------- bad specs
@pytest.mark.parametrize(
    ("sizes", "acts", "exc", "match"),
    [
        ([4, 0, 2], "tanh", ValueError, r"'sizes\[1\]' parameter of Network"),
        ([4, -3], "tanh", ValueError, r"'sizes\[1\]'.*Got -3"),
        ([4], "tanh", ValueError, "at least two sizes"),
        ([4, 2.5], "tanh", TypeError, "must be an integer"),
        ("42", "tanh", TypeError, "'sizes' argument of Network"),
        ([4, 3, 2], ["tanh"], ValueError, "one name per layer .2 for sizes"),
        ([4, 2], "swish", ValueError, "Unknown activation 'swish'. Valid names are: "
         "linear, relu, leaky_relu, elu, tanh, sigmoid, softplus, sin, gaussian, "
         "step, softmax"),
        ([4, 2], [None], TypeError, "must be given by name"),
    ],
)
def test_bad_spec_errors(sizes, acts, exc, match):
    with pytest.raises(exc, match=match):
        pn.Network(sizes, acts)


# ---------------------------------------------------------------- init
def _kernel_values(net, pop, layer):
    lay = net.layout[layer]
    return pop[:, lay.w_offset : lay.b_offset].ravel().astype(np.float64)


def test_init_glorot_uniform_statistics():
    net = pn.Network([64, 32, 10], ["tanh", "softmax"])
    pop = net.init_population(200, seed=1)
    assert pop.dtype == np.float32 and pop.flags.c_contiguous
    assert pop.shape == (200, 2410)
    for i, (n_in, n_out) in enumerate([(64, 32), (32, 10)]):
        w = _kernel_values(net, pop, i)
        lim = np.sqrt(6.0 / (n_in + n_out))
        assert np.abs(w).max() <= lim
        assert abs(w.mean()) < 0.01 * lim
        assert w.std() == pytest.approx(lim / np.sqrt(3.0), rel=0.01)
        lay = net.layout[i]
        assert not pop[:, lay.b_offset : lay.b_offset + lay.b_size].any()


def test_init_he_normal_statistics():
    net = pn.Network([50, 20, 4], "relu")
    pop = net.init_population(300, seed=2, scheme="he_normal")
    for i, n_in in enumerate([50, 20]):
        w = _kernel_values(net, pop, i)
        std = np.sqrt(2.0 / n_in)
        assert abs(w.mean()) < 0.02 * std
        assert w.std() == pytest.approx(std, rel=0.02)


def test_init_normal_uniform_zeros():
    net = pn.Network([10, 10], "linear")
    pop = net.init_population(500, seed=3, scheme="normal", std=0.3)
    w = _kernel_values(net, pop, 0)
    assert w.std() == pytest.approx(0.3, rel=0.02) and abs(w.mean()) < 0.01
    pop = net.init_population(500, seed=3, scheme="uniform", low=-2.0, high=1.0)
    w = _kernel_values(net, pop, 0)
    assert w.min() >= -2.0 and w.max() <= 1.0  # float32 rounding may reach a bound
    assert w.mean() == pytest.approx(-0.5, abs=0.02)
    assert w.std() == pytest.approx(3.0 / np.sqrt(12.0), rel=0.02)
    assert not net.init_population(3, scheme="zeros").any()
    w = _kernel_values(net, net.init_population(500, seed=3, scheme="normal"), 0)
    assert w.std() == pytest.approx(0.05, rel=0.02)  # default std


def test_init_is_seeded_and_prefix_stable():
    net = pn.Network([6, 5, 3], ["tanh", "linear"])
    a = net.init_population(10, seed=42)
    assert np.array_equal(a, net.init_population(10, seed=42))
    assert not np.array_equal(a, net.init_population(10, seed=43))
    assert np.array_equal(a[:4], net.init_population(4, seed=42))
    g = net.init_genome(seed=42)
    assert g.shape == (net.n_params,) and np.array_equal(g, a[0])
    ss = np.random.SeedSequence(42)
    assert np.array_equal(net.init_population(10, seed=ss), a)


def test_init_rows_are_the_library_streams():
    # row r comes from the stream keyed by (seed, 0, STREAMS["init"], r) alone:
    # regenerated from the public stream functions, one row at a time, it
    # gives the same bits (so any genome can be rebuilt alone, and thread
    # counts cannot matter)
    from pyneat_lite._rng import STREAMS, standard_normal, uniform

    net = pn.Network([6, 5, 3], ["tanh", "linear"])
    n = net.n_params
    key = {"seed": 42, "generation": 0, "stream": STREAMS["init"]}
    glorot = net.init_population(10, seed=42)
    normal = net.init_population(10, seed=42, scheme="normal", std=0.3)
    for r in (0, 3, 9):
        u = uniform(1, n, rows=[r], **key)[0]
        z = standard_normal(1, n, rows=[r], **key)[0]
        for lay in net.layout:
            w = slice(lay.w_offset, lay.b_offset)
            lim = np.sqrt(6.0 / sum(lay.w_shape))
            np.testing.assert_array_equal(glorot[r, w],
                                          (u[w] * (2 * lim) - lim).astype(np.float32))
            np.testing.assert_array_equal(normal[r, w], z[w] * np.float32(0.3))
            b = slice(lay.b_offset, lay.b_offset + lay.b_size)
            assert not glorot[r, b].any() and not normal[r, b].any()


@pytest.mark.parametrize(
    ("args", "kw", "exc", "match"),
    [
        ((0,), {}, ValueError, "'pop_size' parameter of Network.init_population"),
        ((3,), {"scheme": "xavier"}, ValueError, "must be one of glorot_uniform"),
        ((3,), {"scheme": "normal", "sigma": 1.0}, TypeError,
         r"accepts the keywords \['std'\]"),
        ((3,), {"scheme": "uniform", "low": 1.0, "high": 0.0}, ValueError,
         "low < high"),
        ((3,), {"scheme": "normal", "std": -1.0}, ValueError, "'std' parameter"),
        ((3,), {"seed": -1}, ValueError, "'seed' parameter"),
    ],
)
def test_init_errors(args, kw, exc, match):
    net = pn.Network([2, 2], "linear")
    with pytest.raises(exc, match=match):
        net.init_population(*args, **kw)


# ---------------------------------------------------------------- flatten
def test_unflatten_views_and_flatten_round_trip():
    net = pn.Network([3, 4, 2], ["relu", "linear"])
    g = net.init_genome(seed=0)
    g[net.layout[0].b_offset :] += 0.5  # non-zero biases too
    parts = net.unflatten(g)
    assert [w.shape for w, _ in parts] == [(3, 4), (4, 2)]
    assert [b.shape for _, b in parts] == [(4,), (2,)]
    # kernel is row-major (in, out): W[i, j] at w_offset + i*out + j
    assert parts[1][0][2, 1] == g[net.layout[1].w_offset + 2 * 2 + 1]
    assert all(np.shares_memory(w, g) and np.shares_memory(b, g) for w, b in parts)
    parts[0][1][:] = 7.0
    assert np.all(g[12:16] == 7.0)
    again = net.flatten(parts)
    assert again.dtype == np.float32 and np.array_equal(again, g)
    as_lists = [(w.tolist(), b.tolist()) for w, b in parts]
    assert np.array_equal(net.flatten(as_lists), g)


def test_flatten_unflatten_errors():
    net = pn.Network([3, 4, 2], ["relu", "linear"])
    g = net.init_genome(seed=0)
    with pytest.raises(ValueError, match=r"must have shape \(26,\).*Got shape \(25,\)"):
        net.unflatten(g[:25])
    with pytest.raises(TypeError, match="C-contiguous float32"):
        net.unflatten(g.astype(np.float64))
    with pytest.raises(TypeError, match="must be a numpy.ndarray"):
        net.unflatten(list(g))
    parts = net.unflatten(g)
    with pytest.raises(ValueError, match="one .W, b. pair per layer .2."):
        net.flatten(parts[:1])
    with pytest.raises(ValueError, match=r"W of shape \(4, 2\).*Got W \(2, 4\)"):
        net.flatten([parts[0], (parts[1][0].T, parts[1][1])])
