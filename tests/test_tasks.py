"""Supervised fitness against NumPy references; the report against scikit-learn."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import classification_report, confusion_matrix
from sklearn.metrics import precision_recall_fscore_support as prfs
from task_helpers import count_population_checks, floyd_reference

import pyneat_lite as pn
from pyneat_lite._rng import STREAMS, row_seeds

DATA = Path(__file__).parent / "data" / "mnist-1000"


@pytest.fixture(scope="module")
def mnist():
    X, y = pn.datasets.load_mnist(DATA)
    return X[:400], y[:400]


def _ref_outputs(net, pop, X):
    """Float64 NumPy forward pass (tanh hidden layers, last activation given)."""
    outs = []
    for g in pop.astype(np.float64):
        h = X.astype(np.float64)
        off = 0
        # DESIGN.md layout: per layer, W (in, out) row-major, then b (out,)
        for i, (a, b_) in enumerate(zip(net.sizes[:-1], net.sizes[1:], strict=True)):
            W = g[off:off + a * b_].reshape(a, b_)
            b = g[off + a * b_:off + a * b_ + b_]
            off += a * b_ + b_
            h = h @ W + b
            act = net.activations[i]
            if act == "tanh":
                h = np.tanh(h)
            elif act == "softmax":
                e = np.exp(h - h.max(axis=1, keepdims=True))
                h = e / e.sum(axis=1, keepdims=True)
        outs.append(h)
    return np.stack(outs)


@pytest.mark.parametrize("last", ["softmax", "linear"])
def test_classification_matches_numpy(mnist, last):
    X, y = mnist
    net = pn.Network([784, 16, 10], ["tanh", last])
    pop = net.init_population(23, seed=1)
    out = _ref_outputs(net, pop, X)
    rows = np.arange(len(y))
    acc_ref = (out.argmax(axis=2) == y).mean(axis=1)
    if last == "softmax":
        ce_ref = -np.log(np.clip(out[:, rows, y], 1e-7, None)).mean(axis=1)
    else:  # logits
        m = out.max(axis=2, keepdims=True)
        lse = (m[..., 0] + np.log(np.exp(out - m).sum(axis=2)))
        ce_ref = (lse - out[:, rows, y]).mean(axis=1)
    # small chunks: the loss is reduced chunk by chunk
    acc = pn.tasks.Classification(net, X, y, chunk_size=5)(pop)
    ce = pn.tasks.Classification(net, X, y, metric="cross_entropy", chunk_size=4)(pop)
    assert acc.dtype == np.float64 and acc.shape == (23,)
    # argmax may flip on float32 near-ties: allow one sample per genome
    assert np.abs(acc - acc_ref).max() <= 1.0 / len(y) + 1e-12
    np.testing.assert_allclose(-ce, ce_ref, rtol=1e-4, atol=1e-5)


def test_regression_matches_numpy():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 5)).astype(np.float32)
    y = rng.standard_normal((300, 2)).astype(np.float32)
    net = pn.Network([5, 8, 2], ["tanh", "linear"])
    pop = net.init_population(17, seed=0)
    ref = -((_ref_outputs(net, pop, X) - y) ** 2).mean(axis=(1, 2))
    fit = pn.tasks.Regression(net, X, y, chunk_size=3)
    np.testing.assert_allclose(fit(pop), ref, rtol=1e-5, atol=1e-6)
    net1 = pn.Network([5, 4, 1], ["tanh", "linear"])
    p1 = net1.init_population(4, seed=0)
    ref1 = -((_ref_outputs(net1, p1, X)[..., 0] - y[:, 0]) ** 2).mean(axis=1)
    np.testing.assert_allclose(pn.tasks.Regression(net1, X, y[:, 0])(p1), ref1,
                               rtol=1e-5)


def test_minibatches_reproducible_and_new_each_call(mnist):
    X, y = mnist
    net = pn.Network([784, 8, 10], ["tanh", "softmax"])
    pop = net.init_population(6, seed=0)
    fit = pn.tasks.Classification(net, X, y, metric="cross_entropy", batch_size=50,
                                  seed=3)
    idx0, idx1 = fit.batch_indices(0), fit.batch_indices(1)
    assert idx0.shape == (50,) and np.unique(idx0).size == 50
    assert not np.array_equal(idx0, idx1)
    first, second = fit(pop), fit(pop)
    assert fit.generation == 2
    # each call equals the full-data fitness restricted to that call's batch
    for gen, got in ((0, first), (1, second)):
        idx = fit.batch_indices(gen)
        ref = pn.tasks.Classification(net, X[idx], y[idx], metric="cross_entropy")
        np.testing.assert_allclose(got, ref(pop), rtol=1e-6)
    again = pn.tasks.Classification(net, X, y, metric="cross_entropy", batch_size=50,
                                    seed=3)
    np.testing.assert_array_equal(again(pop), first)
    fit.advance()
    assert fit.generation == 3


def test_minibatches_come_from_the_batch_stream(mnist):
    # Golden values by construction (0.1.0 drew them with NumPy's PCG64):
    # call g samples by Floyd's algorithm on the xoshiro256** stream of
    # row 0 of (seed, g, STREAMS["batch"]).
    X, y = mnist
    net = pn.Network([784, 4, 10], ["tanh", "softmax"])
    fit = pn.tasks.Classification(net, X, y, batch_size=37, seed=9)
    for g in (0, 1, 5):
        want = floyd_reference(row_seeds(9, g, STREAMS["batch"], 1)[0], len(y), 37)
        np.testing.assert_array_equal(fit.batch_indices(g), want)
    reg = pn.tasks.Regression(pn.Network([784, 1], "linear"), X, y.astype(float),
                              batch_size=400, seed=1)
    np.testing.assert_array_equal(reg.batch_indices(2), np.arange(400))


def test_each_sample_equally_likely_in_minibatches():
    X = np.zeros((40, 2), np.float32)
    fit = pn.tasks.Regression(pn.Network([2, 1], "linear"), X, np.zeros(40),
                              batch_size=10, seed=0)
    counts = np.bincount(np.concatenate([fit.batch_indices(g) for g in range(2000)]),
                         minlength=40)
    # 500 expected per sample; sampling without replacement is less spread
    # than multinomial, so the chi-square bound is conservative
    assert stats.chisquare(counts).pvalue > 1e-3


def test_call_validates_once(mnist, monkeypatch):
    from pyneat_lite.tasks import supervised

    X, y = mnist
    net = pn.Network([784, 8, 10], ["tanh", "softmax"])
    fit = pn.tasks.Classification(net, X, y, batch_size=100, chunk_size=3)
    calls = count_population_checks(monkeypatch, supervised)
    monkeypatch.setattr(supervised, "check_array", lambda *a, **k: pytest.fail(
        "X re-validated"))
    fit(net.init_population(10, seed=0))  # 4 chunks of 3 genomes
    assert len(calls) == 1


def test_n_threads_same_result(mnist):
    X, y = mnist
    net = pn.Network([784, 16, 10], ["tanh", "linear"])
    pop = net.init_population(30, seed=0)
    res = [pn.tasks.Classification(net, X, y, metric="cross_entropy",
                                   n_threads=n)(pop) for n in (1, 2, -1)]
    np.testing.assert_array_equal(res[0], res[1])
    np.testing.assert_array_equal(res[0], res[2])


def test_chunk_buffer_is_bounded(mnist):
    X, y = mnist
    net = pn.Network([784, 4, 10], ["tanh", "softmax"])
    pop = net.init_population(64, seed=0)
    fit = pn.tasks.Classification(net, X, y, chunk_size=8)
    fit(pop)
    # the fused path (issue 16) reduces each genome's outputs as they are
    # computed: no output buffer at all
    assert fit._buffer is None
    reg = pn.tasks.Regression(net, X, np.eye(10, dtype=np.float32)[y], chunk_size=8)
    reg(pop)
    # one chunk of outputs, not the whole population's
    assert reg._buffer.size == 8 * len(y) * 10


def test_report_equals_sklearn(mnist):
    X, y = mnist
    net = pn.Network([784, 16, 10], ["tanh", "softmax"])
    genome = net.init_population(1, seed=5)[0]
    rep = pn.tasks.report(net, genome, X, y)
    pred = net.forward(genome, X).argmax(axis=1)
    labels = list(range(10))
    p, r, f, s = prfs(y, pred, labels=labels, zero_division=0)
    np.testing.assert_allclose(rep.precision, p)
    np.testing.assert_allclose(rep.recall, r)
    np.testing.assert_allclose(rep.f1, f)
    np.testing.assert_array_equal(rep.support, s)
    np.testing.assert_array_equal(rep.confusion, confusion_matrix(y, pred,
                                                                  labels=labels))
    assert rep.accuracy == pytest.approx((pred == y).mean())
    sk = classification_report(y, pred, labels=labels, zero_division=0, digits=3)
    mine = pn.tasks.report(net, genome, X, y, digits=3).text()
    assert mine.startswith(sk.rstrip("\n") + "\n")
    assert "confusion matrix" in str(rep)
    names = [f"digit{i}" for i in range(10)]
    sk_named = classification_report(y, pred, labels=labels, target_names=names,
                                     zero_division=0)
    assert str(pn.tasks.report(net, genome, X, y, target_names=names)).startswith(
        sk_named.rstrip("\n") + "\n")


def test_bad_input(mnist):
    X, y = mnist
    net = pn.Network([784, 4, 10], ["tanh", "softmax"])
    with pytest.raises(ValueError, match=r"labels in \[0, 9\].*\[1, 10\]"):
        pn.tasks.Classification(net, X, np.where(y == 0, 10, y))
    with pytest.raises(ValueError, match=r"labels in \[0, 9\].*\[-1"):
        pn.tasks.report(net, net.init_population(1, seed=0)[0], X, np.where(
            y == 0, -1, y))
    with pytest.raises(ValueError, match="same number of samples. Got 400 and 399"):
        pn.tasks.Classification(net, X, y[:-1])
    with pytest.raises(ValueError, match="same number of samples"):
        pn.tasks.report(net, net.init_population(1, seed=0)[0], X[:10], y)
    with pytest.raises(ValueError, match="same number of samples"):
        pn.tasks.Regression(pn.Network([784, 1], "linear"), X, y[:5])
    with pytest.raises(ValueError, match="784 columns"):
        pn.tasks.Classification(net, X[:, :10], y)
    with pytest.raises(ValueError, match="metric"):
        pn.tasks.Classification(net, X, y, metric="f1")
    with pytest.raises(ValueError, match="integer class labels"):
        pn.tasks.Classification(net, X, y + 0.5)
    with pytest.raises(ValueError, match="batch_size"):
        pn.tasks.Classification(net, X, y, batch_size=401)
    with pytest.raises(ValueError, match="population"):
        pn.tasks.Classification(net, X, y)(np.zeros((2, 3), np.float32))
    with pytest.raises(ValueError, match="at least 2 outputs"):
        pn.tasks.Classification(pn.Network([784, 1], "linear"), X, y)
    with pytest.raises(ValueError, match="must be finite"):
        pn.tasks.Classification(net, np.where(X == 0, np.nan, X), y)
    with pytest.raises(ValueError, match="n_threads"):
        pn.tasks.Classification(net, X, y, n_threads=0)
    with pytest.raises(ValueError, match="generation"):
        pn.tasks.Classification(net, X, y, batch_size=10).batch_indices(-1)
    with pytest.raises(ValueError, match="784 columns"):
        pn.tasks.report(net, net.init_population(1, seed=0)[0], X[:, :5], y)
