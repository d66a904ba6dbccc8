"""Forward passes against the plain NumPy reference (tests/ref_forward.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import warnings

import numba
import numpy as np
import pytest
import threadpoolctl
from hypothesis import given
from hypothesis import strategies as st
from ref_forward import activation_ref, forward_population_ref, forward_ref

import pyneat_lite as pn
from pyneat_lite import _threads
from pyneat_lite._kernels import forward as kernels
from pyneat_lite._validation import check_genome
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
    kernels.apply_activation(row, ACTIVATIONS[act])
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
            kernels.apply_activation(r, ACTIVATIONS[act])
            if act not in ("linear", "relu", "leaky_relu", "softplus", "elu"):
                assert np.isfinite(r).all(), act
        r = row.copy()
        kernels.apply_activation(r, ACTIVATIONS["sigmoid"])
        assert r[0] == 1.0 and r[1] == 0.0 and r[2] == 0.5
        r = row.copy()
        kernels.apply_activation(r, ACTIVATIONS["softmax"])
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


def test_chunking_matches_unchunked_and_bounds_memory(tmp_path):
    net = pn.Network([20, 16, 3], ["tanh", "softmax"])
    pop, X = _data(net, 37, 70)
    ref = forward_population_ref(net.sizes, net.activations, pop, X)
    for chunk in (1, 5, 36, 37):
        _close(net.forward(pop, X, method="gemm", chunk_size=chunk), ref)
    # default blocks: each thread holds one block's first-layer activations
    # and kernels, so the only allocation that grows with the population is
    # the output.  Budget here: the hidden layer of 4 genomes per thread.
    # Measured in a fresh process (tracemalloc's peak counts every thread's
    # allocations, and other tests leave threads behind), at two population
    # sizes that both run on two threads (above FORWARD_PARALLEL_MIN_WORK): a
    # constant overhead of the Python layer (a few KB, which varies between
    # machines) cancels in the difference, growth with P does not.
    code = textwrap.dedent("""
        import sys, tracemalloc
        import numpy as np
        import pyneat_lite as pn
        from pyneat_lite._kernels import forward as kernels
        from pyneat_lite.network import FORWARD_PARALLEL_MIN_WORK
        X = np.load(sys.argv[2])
        kernels.BLOCK_VALUES = 16 * 70 * 4
        for reps, out in ((2, sys.argv[3]), (8, sys.argv[4])):
            pop = np.ascontiguousarray(np.tile(np.load(sys.argv[1]), (reps, 1)))
            assert kernels.block_genomes(len(pop), 16, 70) == 4
            assert len(pop) * 70 * (20 * 16 + 16 * 3) >= FORWARD_PARALLEL_MIN_WORK
            net = pn.Network([20, 16, 3], ["tanh", "softmax"])
            net.forward(pop, X, method="gemm", n_threads=2)  # JIT outside
            net = pn.Network([20, 16, 3], ["tanh", "softmax"])  # no scratch yet
            tracemalloc.start()
            y = net.forward(pop, X, method="gemm", n_threads=2)
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            np.save(out, y)
            print(peak - y.nbytes)
    """)
    paths = [str(tmp_path / f"{n}.npy") for n in ("pop", "X", "y2", "y8")]
    np.save(paths[0], pop)
    np.save(paths[1], X)
    res = subprocess.run([sys.executable, "-c", code, *paths], capture_output=True,
                         text=True, timeout=600)
    assert res.returncode == 0, res.stderr
    extra2, extra8 = (int(v) for v in res.stdout.strip().splitlines()[-2:])
    block = 2 * (4 * 70 * 16 * 4 + 20 * 4 * 16 * 4)  # two threads' blocks
    hidden_all = 37 * 70 * 16 * 4  # bytes if the hidden layer of 37 were held
    assert extra2 <= block + 49152 < 2 * hidden_all
    # 6 x 37 more genomes: holding their hidden layer would add 6 * hidden_all
    assert extra8 - extra2 < 0.05 * 6 * hidden_all
    _close(np.load(paths[2]), np.tile(ref, (2, 1, 1)))
    _close(np.load(paths[3]), np.tile(ref, (8, 1, 1)))


def test_block_size_depends_on_sizes_not_threads():
    # blocks fix which products BLAS computes together (hence the last bits):
    # about 512 GEMM rows, at most P/8 genomes, within the memory budget
    assert kernels.block_genomes(256, 32, 1797) == 16
    assert kernels.block_genomes(256, 128, 1024) == 4
    assert kernels.block_genomes(16, 128, 1024) == 2
    assert kernels.block_genomes(37, 16, 70, chunk_size=10) == 10  # 4 x 10 - 3
    assert kernels.block_genomes(40, 16, 70, chunk_size=12) == 10  # evened out
    assert kernels.block_genomes(3, 4096, 4096) == 1
    assert kernels.block_genomes(5, 16, 70, chunk_size=99) == 5


# Run in a fresh process with the given thread settings: every forward path
# on problems above the parallel threshold, the outputs saved, and what ran
# recorded from inside the kernel calls (n_chunks, Numba's and BLAS's thread
# counts at that moment).
_THREADS_CHILD = textwrap.dedent("""
    import json, sys
    import numba, numpy as np, threadpoolctl
    import pyneat_lite as pn
    from pyneat_lite._kernels import forward as kernels

    seen = {}
    def spy(name, fn):
        def wrapped(*args):
            blas = [i["num_threads"] for i in threadpoolctl.threadpool_info()
                    if i["user_api"] == "blas"]
            seen[name] = {"n_chunks": args[-1], "numba": numba.get_num_threads(),
                          "blas": max(blas)}
            return fn(*args)
        return wrapped
    for name in ("forward_shared_gemm", "forward_shared_direct",
                 "forward_each_kernel"):
        setattr(kernels, name, spy(name, getattr(kernels, name)))

    n_threads = None if sys.argv[2] == "None" else int(sys.argv[2])
    net = pn.Network([8, 32, 4], ["relu", "softmax"])
    rng = np.random.default_rng(0)
    pop = rng.normal(0, 0.5, (3000, net.n_params)).astype(np.float32)
    X = rng.standard_normal((50, 8)).astype(np.float32)
    obs = rng.standard_normal((3000, 8)).astype(np.float32)
    before = numba.get_num_threads()
    # each above network.FORWARD_PARALLEL_MIN_WORK (2**20) multiply-adds
    out = {"gemm": net.forward(pop[:64], X, method="gemm", n_threads=n_threads),
           "loops": net.forward(pop[:600], X[:5], method="loops", n_threads=n_threads),
           "each": net.forward_each(pop, obs, n_threads=n_threads)}
    assert numba.get_num_threads() == before  # restored
    np.savez(sys.argv[1], **out)
    print(json.dumps(seen))
""")


_ENTRIES = ("forward_shared_gemm", "forward_shared_direct", "forward_each_kernel")


def _run_threads_child(tmp_path, name, env, n_threads=None):
    path = tmp_path / f"{name}.npz"
    env = {**os.environ, **env}
    res = subprocess.run(
        [sys.executable, "-c", _THREADS_CHILD, str(path), str(n_threads)],
        env=env, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr
    seen = json.loads(res.stdout.strip().splitlines()[-1])
    with np.load(path) as z:
        return seen, {k: z[k] for k in z.files}


def test_results_do_not_depend_on_thread_count(tmp_path):
    """Numba threads 1 vs 2 with BLAS fixed at 1 thread; then BLAS 1 vs 2 with
    Numba fixed at 2: the outputs of the three paths (GEMM, loops,
    forward_each) compared bit for bit, and the 2-thread runs shown to run
    2 Numba threads in 2 chunks inside every kernel call."""
    one, out1 = _run_threads_child(
        tmp_path, "one", {"NUMBA_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"})
    two, out2 = _run_threads_child(
        tmp_path, "two", {"NUMBA_NUM_THREADS": "2", "OPENBLAS_NUM_THREADS": "1"},
        n_threads=2)
    blas2, out3 = _run_threads_child(
        tmp_path, "blas2", {"NUMBA_NUM_THREADS": "2", "OPENBLAS_NUM_THREADS": "2"},
        n_threads=2)
    for kernel in _ENTRIES:
        assert one[kernel]["n_chunks"] == 1 and one[kernel]["numba"] == 1
        assert two[kernel]["n_chunks"] == 2 and two[kernel]["numba"] == 2
        assert blas2[kernel]["n_chunks"] == 2
    # the GEMM path holds BLAS at one thread inside, whatever it was set to
    assert blas2["forward_shared_gemm"]["blas"] == 1
    assert blas2["forward_each_kernel"]["blas"] == 2  # and only there
    ref = forward_population_ref(
        (8, 32, 4), ("relu", "softmax"), *_child_inputs()[:2])
    _close(out1["gemm"], ref)
    for k in out1:
        np.testing.assert_array_equal(out1[k], out2[k])
        np.testing.assert_array_equal(out1[k], out3[k])


def _child_inputs():
    """The child's arrays (same generator calls), for the reference check."""
    rng = np.random.default_rng(0)
    pop = rng.normal(0, 0.5, (3000, 8 * 32 + 32 + 32 * 4 + 4)).astype(np.float32)
    X = rng.standard_normal((50, 8)).astype(np.float32)
    return pop[:64], X


def test_n_threads_one_runs_serially_and_restores_settings(monkeypatch):
    net = pn.Network([8, 32, 4], ["relu", "softmax"])
    # above network.FORWARD_PARALLEL_MIN_WORK: 64 x 50 x 384 multiply-adds in
    # 8 GEMM blocks, 600 x 5 x 384 in loops, 3000 x 384 in forward_each
    pop, X = _data(net, 64, 50)
    many, _ = _data(net, 3000, 1)
    obs = np.random.default_rng(1).standard_normal((3000, 8)).astype(np.float32)
    seen = []

    def spy(fn):
        def wrapped(*args):
            seen.append(args[-1])  # n_chunks
            return fn(*args)
        return wrapped

    for name in _ENTRIES:
        monkeypatch.setattr(kernels, name, spy(getattr(kernels, name)))
    before_blas = [i["num_threads"] for i in threadpoolctl.threadpool_info()]
    before = numba.get_num_threads()
    default = min(_threads.effective_n_threads(), before, 8)
    for method, p, x in (("gemm", pop, X), ("loops", many[:600], X[:5])):
        y = net.forward(p, x, method=method)
        assert seen[-1] == default
        np.testing.assert_array_equal(net.forward(p, x, method=method, n_threads=1),
                                      y)
        assert seen[-1] == 1
        _close(y, forward_population_ref(net.sizes, net.activations, p, x))
    np.testing.assert_array_equal(net.forward_each(many, obs, n_threads=1),
                                  net.forward_each(many, obs))
    assert seen[-2:] == [1, min(_threads.effective_n_threads(), before)]
    assert numba.get_num_threads() == before
    assert [i["num_threads"] for i in threadpoolctl.threadpool_info()] == before_blas


def test_small_forwards_run_on_one_thread(monkeypatch):
    """Below network.FORWARD_PARALLEL_MIN_WORK multiply-adds every path runs
    serially (waking a pool costs more than the work on a shared machine),
    even with an explicit n_threads; one genome more goes parallel; the
    outputs do not change and match the NumPy reference."""
    from pyneat_lite.network import FORWARD_PARALLEL_MIN_WORK

    net = pn.Network([4, 16, 2], ["tanh", "tanh"])  # 96 multiply-adds a genome
    seen = []

    def spy(fn):
        def wrapped(*args):
            seen.append(args[-1])  # n_chunks
            return fn(*args)
        return wrapped

    for name in _ENTRIES:
        monkeypatch.setattr(kernels, name, spy(getattr(kernels, name)))
    # small steps of small nets go straight to the one-thread tiled kernel
    from pyneat_lite import _network_kernels

    _network_kernels._load_each_small()
    width, serial = _network_kernels._EACH_SMALL

    def serial_spy(*args):
        seen.append(1)  # that kernel has no thread count: one thread
        return serial(*args)

    monkeypatch.setattr(_network_kernels, "_EACH_SMALL", (width, serial_spy))
    n_small = FORWARD_PARALLEL_MIN_WORK // 96  # 10,922 (issue 16's step: 1,024)
    n_big = n_small + 1
    pop, _ = _data(net, n_big, 1)
    obs = np.random.default_rng(2).standard_normal((n_big, 4)).astype(np.float32)
    small = net.forward_each(pop[:n_small], obs[:n_small], n_threads=2)
    assert seen[-1] == 1
    big = net.forward_each(pop, obs)
    assert seen[-1] == min(_threads.effective_n_threads(), numba.get_num_threads())
    np.testing.assert_array_equal(small, big[:n_small])
    ref = forward_population_ref(net.sizes, net.activations, pop[:300], obs[:300])
    _close(big[:300], ref[np.arange(300), np.arange(300)])
    # the shared-input paths: 1024 genomes x 10 samples x 96 is below too
    for method in ("gemm", "loops"):
        y = net.forward(pop[:1024], obs[:10], method=method, n_threads=2)
        assert seen[-1] == 1
        _close(y, forward_population_ref(net.sizes, net.activations, pop[:1024],
                                         obs[:10]))


@pytest.mark.parametrize(("n_threads", "exc"), [(0, ValueError), (1.5, TypeError),
                                                ("2", TypeError)])
def test_bad_n_threads(n_threads, exc):
    net = pn.Network([4, 5, 2], ["tanh", "softmax"])
    pop, X = _data(net, 3, 10)
    with pytest.raises(exc, match="'n_threads' parameter"):
        net.forward(pop, X, n_threads=n_threads)
    with pytest.raises(exc, match="'n_threads' parameter"):
        net.forward_each(pop, X[:3], n_threads=n_threads)


def test_nan_genome_gives_nan_outputs_alone_or_in_a_population():
    # one rule for a genome and a population under evaluation: NaN weights
    # are accepted and give NaN outputs (so they count as the worst fitness)
    net = pn.Network([4, 6, 3], ["tanh", "softmax"])
    pop, X = _data(net, 3, 20)
    pop[1, 5] = np.nan  # a first-layer weight of neuron 5
    for method in ("gemm", "loops"):
        y = net.forward(pop, X, method=method)
        assert np.isnan(y[1]).all() and np.isfinite(y[[0, 2]]).all()
        single = net.forward(pop[1], X, method=method)
        assert single.shape == (20, 3) and np.isnan(single).all()
    assert np.isnan(net.forward_each(pop, X[:3])[1]).all()
    # step is a comparison: NaN > 0 is false
    step = pn.Network([2, 2], "step")
    g = np.array([np.nan, 1.0, 1.0, 1.0, 0.0, 0.0], np.float32)
    np.testing.assert_array_equal(step.forward(g, np.ones((1, 2), np.float32)),
                                  [[0.0, 1.0]])
    # the validator: strict by default (a genome that starts something),
    # lenient for evaluation
    bad = pop[1]
    with pytest.raises(ValueError, match="'genome' argument.*finite"):
        check_genome(bad)
    assert check_genome(bad, finite=False) is bad  # accepted as is, no copy


def test_forward_one_is_callable_from_njit_code():
    from pyneat_lite.network import forward_one  # the public path

    assert forward_one is kernels.forward_one
    net = pn.Network([4, 16, 2], "tanh")
    pop, X = _data(net, 5, 5)

    @numba.njit
    def policy_step(pop, obs, meta, max_width, out):
        buf_a = np.empty(max_width, np.float32)
        buf_b = np.empty(max_width, np.float32)
        for i in range(pop.shape[0]):
            forward_one(pop[i], obs[i], meta, buf_a, buf_b, out[i])

    out = np.empty((5, 2), np.float32)
    policy_step(pop, X, net.meta, net.max_width, out)
    _close(out, net.forward_each(pop, X))
    _close(out, np.stack([forward_ref(net.sizes, net.activations, pop[i], X[i:i + 1])[0]
                          for i in range(5)]))


def test_warmup_compiles_every_entry_kernel():
    # in a fresh process: after warmup() alone, every kernel that Python
    # calls has a compiled (or cache-loaded) signature
    code = textwrap.dedent("""
        import json
        import pyneat_lite as pn
        from pyneat_lite._kernels import forward as k
        seconds = pn.warmup()
        names = ["forward_one", "apply_activation", "_each_serial", "_each_parallel",
                 "_each_tiled_serial", "_each_tiled_parallel", "_shared_range",
                 "_shared_parallel", "_gemm_serial", "_gemm_parallel"]
        compiled = {n: len(getattr(k, n).signatures) for n in names}
        print(json.dumps({"seconds": seconds, "compiled": compiled}))
    """)
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=600, env=dict(os.environ))
    assert res.returncode == 0, res.stderr
    got = json.loads(res.stdout.strip().splitlines()[-1])
    assert got["seconds"] > 0.0
    assert all(n >= 1 for n in got["compiled"].values()), got["compiled"]


def test_single_threaded_blas_is_reference_counted():
    # two overlapping users (two Python threads running the GEMM path): BLAS
    # stays at one thread until the last one leaves, then gets its count back
    def counts():
        return [i["num_threads"] for i in threadpoolctl.threadpool_info()
                if i["user_api"] == "blas"]

    before = counts()
    with threadpoolctl.threadpool_limits(2, user_api="blas"):
        assert max(counts()) == 2
        first, second = _threads.single_threaded_blas(), _threads.single_threaded_blas()
        first.__enter__()
        second.__enter__()
        assert max(counts()) == 1
        first.__exit__(None, None, None)
        assert max(counts()) == 1
        second.__exit__(None, None, None)
        assert max(counts()) == 2
    assert counts() == before


def _ce_ref(out, y, probabilities):
    """NumPy float64 reference of minus the mean cross-entropy per genome."""
    o = out.astype(np.float64)
    idx = np.arange(len(y))
    if probabilities:
        return np.log(np.maximum(o[:, idx, y], 1e-7)).mean(axis=1)
    m = o.max(axis=2, keepdims=True)
    lse = m[..., 0] + np.log(np.exp(o - m).sum(axis=2))
    return -(lse - o[:, idx, y]).mean(axis=1)


@pytest.mark.parametrize(("sizes", "acts"), [
    ((64, 32, 10), ("tanh", "softmax")),
    ((64, 32, 10), ("tanh", "linear")),
    ((20, 7), ("softmax",)),
    ((12, 24, 9, 3), ("relu", "sigmoid", "softmax")),
])
def test_fused_classification_fitness(sizes, acts):
    """Classification on the GEMM path reduces each genome's outputs to its
    fitness without writing them (issue 16): the same numbers, bit for bit,
    as the forward followed by the loss kernels, and close to a NumPy
    reference; chunk and block boundaries and minibatches included."""
    from pyneat_lite.tasks import supervised

    net = pn.Network(list(sizes), list(acts))
    rng = np.random.default_rng(3)
    pop, X = _data(net, 37, 150, seed=4)
    y = rng.integers(0, net.n_out, 150)
    ref_out = forward_population_ref(net.sizes, net.activations, pop, X)
    for metric in ("accuracy", "cross_entropy"):
        for chunk, batch in ((None, None), (5, None), (None, 60)):
            fused = pn.tasks.Classification(net, X, y, metric=metric, chunk_size=chunk,
                                            batch_size=batch, seed=1)
            plain = pn.tasks.Classification(net, X, y, metric=metric, chunk_size=chunk,
                                            batch_size=batch, seed=1)
            plain._fused = lambda *a: False
            f = fused(pop)
            assert fused._buffer is None  # nothing written
            np.testing.assert_array_equal(f, plain(pop))
            if batch is None:
                if metric == "accuracy":
                    ref = (ref_out.argmax(axis=2) == y).mean(axis=1)
                    # a near-tie may flip in float32: at most one sample
                    assert np.abs(f - ref).max() <= 1 / len(y) + 1e-12
                else:
                    _close(f, _ce_ref(ref_out, y, acts[-1] == "softmax"), rtol=1e-4,
                           atol=1e-5)
    # the loops path (few samples) is not fused, and says so
    out = np.empty(37)
    assert not net._fitness_unchecked(pop, X[:4], y[:4], "accuracy", out)
    assert supervised.Classification(net, X[:4], y[:4])(pop).shape == (37,)


def test_fused_fitness_does_not_depend_on_threads():
    net = pn.Network([64, 32, 10], ["tanh", "softmax"])
    pop, X = _data(net, 40, 400, seed=5)  # 40 x 400 x 2368: parallel
    y = np.random.default_rng(0).integers(0, 10, 400)
    res = [pn.tasks.Classification(net, X, y, metric="cross_entropy",
                                   n_threads=n)(pop) for n in (1, 2)]
    np.testing.assert_array_equal(res[0], res[1])


@pytest.mark.parametrize("act", ACTIVATION_NAMES)
def test_tiled_forward_each_equals_genome_by_genome(act):
    """forward_each of small networks runs layer-major over tiles of genomes
    (issue 16): bit-identical to the genome-by-genome kernel, for every
    activation, narrow and wide layers, tile and chunk boundaries; and close
    to the NumPy reference."""
    rng = np.random.default_rng(ACTIVATIONS[act])
    for sizes in ([4, 16, 2], [3, 9, 7, 1], [5, 32, 8, 3]):
        acts = [act] * (len(sizes) - 1)
        net = pn.Network(sizes, acts)
        assert net.max_width <= kernels.TILE_MAX_WIDTH
        n = 2 * kernels.TILE_GENOMES + 37  # two full tiles and a partial one
        pop, _ = _data(net, n, 1, seed=int(rng.integers(100)))
        obs = (2 * rng.standard_normal((n, sizes[0]))).astype(np.float32)
        ref = np.empty((n, net.n_out), np.float32)
        kernels._each_serial(pop, obs, net.meta, net.max_width, ref)
        tiled = np.empty_like(ref)
        kernels.forward_each_kernel(pop, obs, net.meta, net.max_width, tiled, 1)
        np.testing.assert_array_equal(tiled, ref)
        for n_chunks in (2, 3):  # chunk edges inside tiles
            par = np.empty_like(ref)
            kernels.forward_each_kernel(pop, obs, net.meta, net.max_width, par,
                                        n_chunks)
            np.testing.assert_array_equal(par, ref)
        full = forward_population_ref(net.sizes, net.activations, pop[:50], obs[:50])
        _close(tiled[:50], full[np.arange(50), np.arange(50)], rtol=1e-4, atol=1e-4)
