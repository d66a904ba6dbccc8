"""Forward passes against the plain NumPy reference (tests/ref_forward.py)."""

from __future__ import annotations

import tracemalloc
import warnings

import numba
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from ref_forward import activation_ref, forward_population_ref, forward_ref

import pyneat_lite as pn
from pyneat_lite import _forward, network
from pyneat_lite.activations import ACTIVATION_NAMES, ACTIVATIONS

# float32 arithmetic against a float64 reference
RTOL, ATOL = 2e-5, 2e-5


def _close(got, ref, rtol=RTOL, atol=ATOL):
    np.testing.assert_allclose(got, ref, rtol=rtol, atol=atol)


def _data(net, P, B, seed=0, scale=1.0):
    rng = np.random.default_rng(seed)
    pop = net.init_population(P, seed=seed, scheme="normal", std=0.5)
    # non-zero biases, so bias handling is tested too
    for lay in net.layout:
        pop[:, lay.b_offset : lay.b_offset + lay.b_size] = rng.normal(
            0, 0.5, (P, lay.b_size))
    X = (scale * rng.standard_normal((B, net.n_in))).astype(np.float32)
    return pop, X


def _all_paths(net, pop, X):
    """Every way of computing the shared-input forward, and forward_each."""
    ref = forward_population_ref(net.sizes, net.activations, pop, X)
    for method in ("auto", "gemm", "loops"):
        _close(net.forward(pop, X, method=method), ref)
    n = min(len(pop), len(X))
    each = net.forward_each(pop[:n], X[:n])
    _close(each, ref[np.arange(n), np.arange(n)])
    return ref


def test_every_activation_has_a_kernel_code():
    # the kernels read their ids from the one table; each name needs its code
    from pyneat_lite._kernels import _config

    for name, i in ACTIVATIONS.items():
        assert getattr(_config, name.upper()) == i


@pytest.mark.parametrize("act", ACTIVATION_NAMES)
def test_every_activation_in_every_path(act):
    net = pn.Network([5, 12, 3], [act, act])
    pop, X = _data(net, 4, 40, scale=2.0)
    _all_paths(net, pop, X)


@pytest.mark.parametrize("act", ACTIVATION_NAMES)
def test_apply_activation_matches_reference_over_wide_range(act):
    z = np.concatenate([np.linspace(-30, 30, 6001), np.linspace(-1e-3, 1e-3, 101)])
    z = z.astype(np.float32)
    row = z.copy()
    _forward.apply_activation(row, ACTIVATIONS[act])
    _close(row, activation_ref(act, z[None, :])[0] if act == "softmax"
           else activation_ref(act, z), rtol=3e-6, atol=1e-6)


@given(
    sizes=st.lists(st.integers(1, 20), min_size=2, max_size=5),
    acts=st.data(),
    P=st.integers(1, 5),
    B=st.integers(1, 40),
    seed=st.integers(0, 2**31),
)
def test_random_specs_match_reference(sizes, acts, P, B, seed):
    names = acts.draw(st.lists(st.sampled_from(ACTIVATION_NAMES),
                               min_size=len(sizes) - 1, max_size=len(sizes) - 1))
    net = pn.Network(sizes, names)
    pop, X = _data(net, P, B, seed=seed)
    _all_paths(net, pop, X)


def test_design_example_shapes():
    net = pn.Network([64, 32, 10], ["tanh", "softmax"])
    pop, X = _data(net, 6, 30)
    y = net.forward(pop, X)
    assert y.shape == (6, 30, 10) and y.dtype == np.float32
    _close(y.sum(axis=-1), 1.0, rtol=0, atol=1e-6)
    assert net.forward_each(pop, X[:6]).shape == (6, 10)


def test_edge_cases_one_neuron_one_sample_one_genome():
    net = pn.Network([1, 1], "tanh")
    pop, X = _data(net, 1, 1)
    _all_paths(net, pop, X)
    net = pn.Network([3, 1, 1, 2], ["relu", "sigmoid", "softmax"])
    pop, X = _data(net, 1, 50)
    _all_paths(net, pop, X)
    pop, X = _data(net, 7, 1)
    _all_paths(net, pop, X)


def test_single_genome_gives_2d_output():
    net = pn.Network([4, 6, 3], ["elu", "linear"])
    pop, X = _data(net, 2, 25)
    g = pop[1]
    for method in ("gemm", "loops"):
        y = net.forward(g, X, method=method)
        assert y.shape == (25, 3)
        _close(y, forward_ref(net.sizes, net.activations, g, X))


def test_softmax_rows_sum_to_one_and_huge_inputs_are_stable():
    net = pn.Network([3, 8, 5], ["linear", "softmax"])
    pop, X = _data(net, 3, 30, scale=1e4)  # pre-activations ~1e4..1e5
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for method in ("gemm", "loops"):
            y = net.forward(pop, X, method=method)
            assert np.isfinite(y).all()
            _close(y.sum(axis=-1), 1.0, rtol=0, atol=1e-6)
            _close(y, forward_population_ref(net.sizes, net.activations, pop, X),
                   atol=1e-6)
        row = np.array([3e38, -3e38, 0.0, 88.0, -1e30], np.float32)
        for act in ACTIVATION_NAMES:
            r = row.copy()
            _forward.apply_activation(r, ACTIVATIONS[act])
            if act not in ("linear", "relu", "leaky_relu", "softplus", "elu"):
                assert np.isfinite(r).all(), act
        r = row.copy()
        _forward.apply_activation(r, ACTIVATIONS["sigmoid"])
        assert r[0] == 1.0 and r[1] == 0.0 and r[2] == 0.5
        r = row.copy()
        _forward.apply_activation(r, ACTIVATIONS["softmax"])
        assert r[0] == 1.0 and r.sum() == 1.0


def test_float64_and_list_inputs_are_converted_once():
    net = pn.Network([4, 5, 2], ["tanh", "sigmoid"])
    pop, X = _data(net, 3, 10)
    ref = net.forward(pop, X)
    np.testing.assert_array_equal(
        net.forward(pop.astype(np.float64), X.astype(np.float64)), ref)
    np.testing.assert_array_equal(net.forward(pop.tolist(), X.tolist()), ref)
    np.testing.assert_array_equal(
        net.forward_each(pop.astype(np.float64), X[:3].astype(np.float64)),
        net.forward_each(pop, X[:3]))
    # non-contiguous views are fine too
    big = np.zeros((3, 2 * net.n_params), np.float32)
    big[:, ::2] = pop
    np.testing.assert_array_equal(net.forward(big[:, ::2], X), ref)


def test_out_buffer_is_written_and_returned():
    net = pn.Network([4, 5, 2], ["relu", "softmax"])
    pop, X = _data(net, 3, 20)
    out = np.empty((3, 20, 2), np.float32)
    for method in ("gemm", "loops"):
        res = net.forward(pop, X, out=out, method=method)
        assert res is out
        _close(out, forward_population_ref(net.sizes, net.activations, pop, X))
    out1 = np.empty((20, 2), np.float32)
    assert net.forward(pop[0], X, out=out1) is out1
    oe = np.empty((3, 2), np.float32)
    assert net.forward_each(pop, X[:3], out=oe) is oe
    with pytest.raises(ValueError, match=r"'out' argument of Network.forward must have "
                       r"shape \(3, 20, 2\). Got shape \(3, 20, 3\)"):
        net.forward(pop, X, out=np.empty((3, 20, 3), np.float32))
    with pytest.raises(TypeError, match="dtype float32"):
        net.forward(pop, X, out=np.empty((3, 20, 2)))
    with pytest.raises(ValueError, match="must not share memory"):
        net.forward_each(pop, X[:3], out=pop.reshape(-1)[:6].reshape(3, 2))


@pytest.mark.parametrize(
    ("call", "exc", "match"),
    [
        (lambda n, p, X: n.forward(p[:, :-1], X), ValueError,
         r"'population_or_genome' argument of Network.forward must be a 2-D array "
         r"with 37 columns \(n_params\). Got shape \(3, 36\)"),
        (lambda n, p, X: n.forward(p[0, :-1], X), ValueError,
         r"must have 37 values \(n_params\). Got shape \(36,\)"),
        (lambda n, p, X: n.forward(p[None], X), ValueError,
         r"must be a 1-D or 2-D array. Got an array of shape \(1, 3, 37\)"),
        (lambda n, p, X: n.forward(p, X[:, :3]), ValueError,
         r"'X' argument of Network.forward must have 4 columns \(n_in\). "
         r"Got shape \(10, 3\)"),
        (lambda n, p, X: n.forward(p, X[0]), ValueError,
         r"'X' argument of Network.forward must be a 2-D array. Got an array of "
         r"shape \(4,\)"),
        (lambda n, p, X: n.forward(p[:0], X), ValueError,
         r"'population_or_genome' argument of Network.forward must not be empty. "
         r"Got shape \(0, 37\)"),
        (lambda n, p, X: n.forward(p, X * np.nan), ValueError, "'X' argument.*finite"),
        (lambda n, p, X: n.forward(p, X, method="fast"), ValueError, "'method'"),
        (lambda n, p, X: n.forward(p, X, chunk_size=0), ValueError, "'chunk_size'"),
        (lambda n, p, X: n.forward("abc", X), TypeError, "convertible to a float32"),
        (lambda n, p, X: n.forward_each(p, X[:2]), ValueError,
         r"'inputs' argument of Network.forward_each must have shape \(3, 4\).*"
         r"Got shape \(2, 4\)"),
        (lambda n, p, X: n.forward_each(p[0], X[:1]), ValueError,
         r"'population' argument of Network.forward_each must be a 2-D array"),
        (lambda n, p, X: n.forward_each(p[:0], X[:0]), ValueError, "must not be empty"),
    ],
)
def test_bad_input_errors(call, exc, match):
    net = pn.Network([4, 5, 2], ["tanh", "softmax"])
    pop, X = _data(net, 3, 10)
    with pytest.raises(exc, match=match):
        call(net, pop, X)


def test_chunking_matches_unchunked_and_bounds_memory(monkeypatch):
    net = pn.Network([20, 16, 3], ["tanh", "softmax"])
    pop, X = _data(net, 37, 70)
    whole = net.forward(pop, X, method="gemm", chunk_size=37)
    for chunk in (1, 5, 36):
        np.testing.assert_allclose(net.forward(pop, X, method="gemm", chunk_size=chunk),
                                   whole, rtol=1e-6, atol=1e-7)
    _close(whole, forward_population_ref(net.sizes, net.activations, pop, X))
    # default chunking: hidden activations of a chunk stay within the budget,
    # so the only large allocation is the output
    # budget: the hidden layer of 4 genomes
    monkeypatch.setattr(network, "_CHUNK_VALUES", 16 * 70 * 4)
    fresh = pn.Network([20, 16, 3], ["tanh", "softmax"])  # no cached scratch yet
    tracemalloc.start()
    try:
        y = fresh.forward(pop, X, method="gemm")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    hidden_all = 37 * 70 * 16 * 4  # bytes if the whole hidden layer were held
    budget = y.nbytes + 2 * (4 * 70 * 16 * 4 + 20 * 4 * 16 * 4) + 16384
    assert peak <= budget < y.nbytes + hidden_all
    np.testing.assert_allclose(y, whole, rtol=1e-6, atol=1e-7)


def test_results_do_not_depend_on_thread_count():
    net = pn.Network([8, 32, 4], ["relu", "softmax"])
    pop, X = _data(net, 600, 50)  # forward_each above the parallel threshold
    assert 600 * net.n_params >= network._PARALLEL_MIN_WORK
    obs = np.random.default_rng(1).standard_normal((600, 8)).astype(np.float32)
    before = numba.get_num_threads()
    results = []
    try:
        for n in sorted({1, min(2, numba.config.NUMBA_NUM_THREADS)}):
            numba.set_num_threads(n)
            results.append((net.forward(pop, X, method="gemm"),
                            net.forward(pop, X[:5], method="loops"),
                            net.forward_each(pop, obs)))
    finally:
        numba.set_num_threads(before)
    for a, b in zip(results[0], results[-1], strict=True):
        np.testing.assert_array_equal(a, b)


def test_forward_one_is_callable_from_njit_code():
    net = pn.Network([4, 16, 2], "tanh")
    pop, X = _data(net, 5, 5)

    @numba.njit
    def policy_step(pop, obs, meta, max_width, out):
        buf_a = np.empty(max_width, np.float32)
        buf_b = np.empty(max_width, np.float32)
        for i in range(pop.shape[0]):
            _forward.forward_one(pop[i], obs[i], meta, buf_a, buf_b, out[i])

    out = np.empty((5, 2), np.float32)
    policy_step(pop, X, net.meta, net.max_width, out)
    _close(out, net.forward_each(pop, X))
    _close(out, np.stack([forward_ref(net.sizes, net.activations, pop[i], X[i:i + 1])[0]
                          for i in range(5)]))


def test_warmup_returns_seconds():
    assert pn.warmup() >= 0.0
