"""Full-rank antithetic ES populations (issue 10, shared first-layer products):
structured evaluation against a NumPy reference and the materialised genomes,
the genomes, the unchanged update, threads, checkpoints and bad input."""

from __future__ import annotations

import numpy as np
import pytest
from ref_forward import forward_population_ref

import pyneat_lite as pn
from pyneat_lite.algorithms import AntitheticPopulation

ACTS = list(pn.ACTIVATIONS)


def make_es(cls, net, pop_size, seed=0, **kw):
    x0 = net.init_genome(seed=seed)
    if cls == "snes":
        return pn.SNES(net.n_params, pop_size, sigma=0.1, antithetic=True, x0=x0,
                       seed=seed, **kw)
    if cls == "pgpe":
        return pn.PGPE(net.n_params, pop_size, sigma=0.1, x0=x0, seed=seed, **kw)
    if cls == "ars":
        return pn.ARS(net.n_params, pop_size, x0=x0, seed=seed, **kw)
    return pn.OpenES(net.n_params, pop_size, sigma=0.1, x0=x0, seed=seed, **kw)


def ref_genomes(pop):
    """mean +- scale * z in float64, the rows of the pairs then the mirrors."""
    d = pop.scale * pop.noise.astype(np.float64)
    return np.concatenate([pop.mean + d, pop.mean - d])


def ref_scores(sizes, acts, genomes, X, y, kind):
    """NumPy float64 fitness of every genome (the tasks' definitions)."""
    out = forward_population_ref(sizes, acts, genomes.astype(np.float64),
                                 X.astype(np.float64))
    if kind == "mse":
        return -np.mean((out - y[None]) ** 2, axis=(1, 2))
    if kind == "accuracy":
        return np.mean(np.argmax(out, axis=2) == y[None], axis=1)
    if acts[-1] == "softmax":
        p = np.take_along_axis(out, y[None, :, None], 2)[..., 0]
        return np.mean(np.log(np.maximum(p, 1e-7)), axis=1)
    m = out.max(axis=2, keepdims=True)
    lse = np.log(np.exp(out - m).sum(axis=2)) + m[..., 0]
    return -np.mean(lse - np.take_along_axis(out, y[None, :, None], 2)[..., 0], axis=1)


# ------------------------------------------------ structured == materialised
@pytest.mark.parametrize("case", range(14))
def test_structured_evaluation_equals_reference(case):
    rng = np.random.default_rng(100 + case)
    n_layers = int(rng.integers(1, 4))
    sizes = [int(rng.integers(2, 12)) for _ in range(n_layers + 1)]
    acts = [str(rng.choice(ACTS)) for _ in range(n_layers)]
    if case < len(ACTS):  # every activation, on every layer
        acts = [ACTS[case]] * n_layers
    net = pn.Network(sizes, acts)
    cls = ("openes", "pgpe", "snes", "ars")[case % 4]
    pop_size = (6, 48)[case % 2]  # one pair per GEMM block, and several
    es = make_es(cls, net, pop_size, seed=case)
    pop = es.ask_structured()
    assert isinstance(pop, AntitheticPopulation)
    genomes = np.array(es.ask())
    # the genomes are the reference's, rounded once to float32
    np.testing.assert_array_equal(genomes, ref_genomes(pop).astype(np.float32))
    n = 150  # minibatches of 100 samples: a partial block of 64
    X = rng.normal(size=(n, sizes[0])).astype(np.float32)
    targets = rng.normal(size=(n, sizes[-1]))
    tasks = [("mse", pn.tasks.Regression(net, X, targets, batch_size=100, seed=case))]
    if sizes[-1] >= 2:
        labels = rng.integers(0, sizes[-1], n)
        tasks += [(m, pn.tasks.Classification(net, X, labels, metric=m, batch_size=100,
                                              seed=case))
                  for m in ("accuracy", "cross_entropy")]
    for kind, task in tasks:
        for g in (0, 3):
            idx = task.batch_indices(g)
            y = task.y[idx]
            got = task.evaluate(pop, g)
            want = task.evaluate(genomes, g)
            ref = ref_scores(sizes, acts, genomes, X[idx], y, kind)
            if kind == "accuracy":
                # an argmax may flip on a float32 near-tie: at most 1 sample of 100
                assert np.abs(got - want).max() <= 0.0100001
                assert np.abs(got - ref).max() <= 0.0100001
                assert np.mean(got == want) >= 0.8
            else:
                np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-5)
                np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("act", ACTS)
def test_one_hidden_layer_equals_the_genomes(act):
    """Networks of one hidden layer (16-sample vectors, the second layer in
    register accumulators, a softmax cross-entropy from the logits): every
    hidden activation, softmax and other outputs, sample counts off whole
    vectors and blocks, outputs off whole passes of the accumulators, and
    logits far enough apart that a probability falls below eps."""
    rng = np.random.default_rng(300 + ACTS.index(act))
    specs = [(5, 3, 2, "softmax", 37, 1.0), (64, 32, 10, "softmax", 150, 1.0),
             (7, 17, 13, act, 64, 1.0), (3, 40, 7, "linear", 81, 1.0),
             (4, 6, 5, "softmax", 50, 60.0)]
    for n_in, n1, n_out, out_act, n, x_scale in specs:
        net = pn.Network([n_in, n1, n_out], [act, out_act])
        es = make_es("openes", net, 10, seed=n)
        pop = es.ask_structured()
        genomes = np.array(es.ask())
        X = (x_scale * rng.normal(size=(n, n_in))).astype(np.float32)
        labels = rng.integers(0, n_out, n)
        tasks = [("mse", pn.tasks.Regression(net, X, rng.normal(size=(n, n_out))))]
        tasks += [(m, pn.tasks.Classification(net, X, labels, metric=m))
                  for m in ("accuracy", "cross_entropy")]
        for kind, task in tasks:
            got = task.evaluate(pop)
            want = task.evaluate(genomes)
            if kind == "accuracy":  # an argmax may flip on a float32 near-tie
                assert np.abs(got - want).max() <= 1.0001 / n
                assert np.mean(got == want) >= 0.8
                continue
            ref = ref_scores([n_in, n1, n_out], [act, out_act], genomes, X,
                             task.y, kind)
            np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-5)
            np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-4)


def test_rows_and_array_are_the_genomes_of_ask():
    net = pn.Network([5, 4, 3], ["tanh", "softmax"])
    es = make_es("snes", net, 8)
    pop = es.ask_structured()
    rows = pop[[6, 1, -1]]  # before any genome is written
    one = pop[5]
    dense = es.ask()
    np.testing.assert_array_equal(rows, dense[[6, 1, 7]])
    np.testing.assert_array_equal(one, dense[5])
    np.testing.assert_array_equal(pop[2:7], dense[2:7])
    assert np.asarray(pop) is dense  # the strategy's own buffer
    assert np.asarray(pop, dtype=np.float64).dtype == np.float64
    assert len(pop) == 8 and pop.shape == (8, net.n_params)
    np.testing.assert_array_equal(es.ask_structured().noise, pop.noise)
    # a generic NumPy function takes the structure as its genomes
    np.testing.assert_array_equal(np.sum(pop, axis=1), dense.sum(axis=1))
    with pytest.raises(IndexError, match="out of range"):
        pop[8]


def test_strategies_without_pairs_keep_their_arrays():
    net = pn.Network([4, 3, 2], ["relu", "linear"])
    for es in (pn.SNES(net.n_params, 10, seed=0), pn.CEM(net.n_params, 10, seed=0),
               pn.OpenES(net.n_params, 10, antithetic=False, seed=0),
               pn.CMAES(net.n_params, 10, seed=0)):
        pop = es.ask_structured()
        assert isinstance(pop, np.ndarray) and pop is es.ask()


# ---------------------------------------------------------------- the update
@pytest.mark.parametrize("cls", ["openes", "pgpe", "snes", "ars"])
def test_update_is_unchanged(cls):
    net = pn.Network([6, 5, 3], ["tanh", "linear"])
    a, b = make_es(cls, net, 16), make_es(cls, net, 16)
    rng = np.random.default_rng(3)
    for _ in range(3):
        a.ask_structured()  # no genome written
        b.ask()
        f = rng.normal(size=16)
        a.tell(f)
        b.tell(f)
    np.testing.assert_array_equal(a.mean, b.mean)
    np.testing.assert_array_equal(a.sigma, b.sigma)
    np.testing.assert_array_equal(a.best, b.best)
    np.testing.assert_array_equal(a.hall_of_fame.genomes, b.hall_of_fame.genomes)


@pytest.mark.parametrize("size", [1, 3, 20])
def test_hall_of_fame_from_the_pairs_equals_the_genomes(size):
    # candidates fetched from the structure k rows at a time; tied scores
    # keep the earlier row ahead, as with the genomes
    net = pn.Network([6, 5, 3], ["tanh", "linear"])
    a = make_es("openes", net, 16, hall_of_fame_size=size)
    b = make_es("openes", net, 16, hall_of_fame_size=size)
    rng = np.random.default_rng(5)
    for _ in range(4):
        a.ask_structured()
        b.ask()
        f = np.round(rng.normal(size=16), 1)  # ties
        a.tell(f)
        b.tell(f)
    np.testing.assert_array_equal(a.hall_of_fame.genomes, b.hall_of_fame.genomes)
    np.testing.assert_array_equal(a.hall_of_fame.fitness, b.hall_of_fame.fitness)


def digits_task(net, **kw):
    X, y = pn.datasets.load_digits()
    return pn.tasks.Classification(net, X[:600], y[:600], metric="cross_entropy",
                                   batch_size=128, seed=0, **kw)


def test_run_hands_the_pairs_to_a_task_and_genomes_to_others():
    net = pn.Network([64, 16, 10], ["relu", "linear"])
    task = digits_task(net)
    seen = []
    call = task.__call__

    class Spy:
        accepts_structured = True

        def __call__(self, pop):
            seen.append(type(pop))
            return call(pop)

    a = make_es("openes", net, 20)
    a.run(Spy(), generations=2)
    assert seen == [AntitheticPopulation] * 2
    b = make_es("openes", net, 20)
    task2 = digits_task(net)
    for _ in range(2):
        b.tell(task2(b.ask_structured()))
    np.testing.assert_array_equal(a.mean, b.mean)
    got = []
    c = make_es("openes", net, 20)
    c.run(lambda pop: got.append(type(pop)) or -np.sum(pop ** 2, axis=1),
          generations=1)
    assert got == [np.ndarray]


@pytest.mark.parametrize("cls", ["openes", "snes"])
def test_same_fitness_whatever_the_threads(cls):
    net = pn.Network([64, 16, 10], ["relu", "softmax"])
    X, y = pn.datasets.load_digits()
    fits = []
    for nt in (1, 2):
        es = make_es(cls, net, 40, n_threads=nt)
        task = pn.tasks.Classification(net, X[:256], y[:256], metric="cross_entropy",
                                       n_threads=nt)
        es.run(task, generations=2)
        fits.append((task.evaluate(es.ask_structured()), es.mean))
    np.testing.assert_array_equal(fits[0][0], fits[1][0])
    np.testing.assert_array_equal(fits[0][1], fits[1][1])


def test_checkpoint_round_trip(tmp_path):
    net = pn.Network([64, 16, 10], ["relu", "linear"])
    full = make_es("snes", net, 20)
    full.run(digits_task(net), generations=4)
    part = make_es("snes", net, 20)
    task = digits_task(net)
    part.run(task, generations=2)
    part.ask_structured()  # saved with a pending, unwritten population
    part.save(tmp_path / "pairs.ckpt")
    resumed = pn.load(tmp_path / "pairs.ckpt")
    resumed.run(task, generations=2)
    np.testing.assert_array_equal(resumed.mean, full.mean)
    np.testing.assert_array_equal(resumed.sigma, full.sigma)
    np.testing.assert_array_equal(resumed.best, full.best)


def test_layered_network_scores_the_genomes():
    net = pn.Network(layers=[pn.Conv2D(2, 3), pn.Flatten(), pn.Dense(3)],
                     input_shape=(1, 5, 5))
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 25)).astype(np.float32)
    task = pn.tasks.Classification(net, X, rng.integers(0, 3, 20),
                                   metric="cross_entropy")
    es = pn.OpenES(net.n_params, 8, seed=0)
    pop = es.ask_structured()
    np.testing.assert_array_equal(task.evaluate(pop), task.evaluate(es.ask()))


# ----------------------------------------------------------------- bad input
def test_bad_input():
    net = pn.Network([6, 3, 4], ["relu", "linear"])
    other = pn.Network([6, 4, 4], ["relu", "linear"])
    pop = make_es("openes", net, 8).ask_structured()
    task = pn.tasks.Regression(other, np.zeros((5, 6)), np.zeros((5, 4)))
    with pytest.raises(ValueError, match="AntitheticPopulation of 37 parameters"):
        task(pop)
    with pytest.raises(ValueError, match="AntitheticPopulation of 37 parameters"):
        task.evaluate(pop)
    with pytest.raises(IndexError, match="out of range"):
        pop[[0, -9]]


def test_sampling_and_moment_kernels_are_thread_independent():
    # above the kernels' parallel threshold: two threads give the serial bits;
    # all-zero square weights (OpenES, ARS) skip the square sums
    from pyneat_lite._kernels import es as kernels

    h, n = 64, kernels.PARALLEL_MIN_VALUES // 64 + 7
    rng = np.random.default_rng(0)
    z = rng.standard_normal((h, n)).astype(np.float32)
    mean, scale = rng.normal(size=n), rng.uniform(0.01, 0.1, n)
    rows = np.arange(h, dtype=np.int64)
    w1, w2 = rng.normal(size=h), rng.normal(size=h)
    got = []
    for nt in (1, 2):
        pop = np.empty((2 * h, n), np.float32)
        kernels.sample_population(mean, scale, z, pop, True, nt)
        g1, g2, z1, z2 = (np.full(n, np.nan) for _ in range(4))
        kernels.weighted_moments(z, rows, w1, w2, g1, g2, nt)
        kernels.weighted_moments(z, rows, w1, np.zeros(h), z1, z2, nt)
        got.append((pop, g1, g2, z1, z2))
    for a, b in zip(*got, strict=True):
        np.testing.assert_array_equal(a, b)
    pop, g1, g2, z1, z2 = got[0]
    np.testing.assert_array_equal(pop[h:], (mean - scale * z).astype(np.float32))
    np.testing.assert_allclose(g1, w1 @ z.astype(np.float64), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(g2, w2 @ (z.astype(np.float64) ** 2), rtol=1e-10,
                               atol=1e-10)
    np.testing.assert_array_equal(z1, g1)
    assert not z2.any()
