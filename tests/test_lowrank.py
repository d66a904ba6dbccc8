"""Low-rank ES populations (issue 10): structured evaluation against the
materialised genomes, the genomes and the update against NumPy references,
seeds, threads, checkpoints and bad input."""

from __future__ import annotations

import numpy as np
import pytest

import pyneat_lite as pn
from pyneat_lite._kernels import lowrank as _lowrank
from pyneat_lite._threads import numba_threads
from pyneat_lite.algorithms import LowRankPopulation
from pyneat_lite.tasks import _structured

ACTS = [a for a in pn.ACTIVATIONS]


def ref_noise(pop: LowRankPopulation) -> np.ndarray:
    """NumPy float64 reference of the full noise vectors Z_i (h, n_params)
    from the factors: A_i.T @ B_i / sqrt(r) per weight matrix, e_i per bias."""
    net, r, z = pop.network, pop.rank, pop.noise.astype(np.float64)
    h = z.shape[0]
    out = np.empty((h, net.n_params))
    o = 0
    for lay in net.layout:
        n_in, n_out = lay.w_shape
        a = z[:, o:o + r * n_in].reshape(h, r, n_in)
        o += r * n_in
        b = z[:, o:o + r * n_out].reshape(h, r, n_out)
        o += r * n_out
        w = np.einsum("iqj,iqk->ijk", a, b) / np.sqrt(r)
        out[:, lay.w_offset:lay.w_offset + n_in * n_out] = w.reshape(h, -1)
        out[:, lay.b_offset:lay.b_offset + n_out] = z[:, o:o + n_out]
        o += n_out
    assert o == z.shape[1]
    return out


def ref_genomes(pop: LowRankPopulation) -> np.ndarray:
    zf = ref_noise(pop)
    plus = pop.mean + pop.scale * zf
    if pop.antithetic:
        return np.concatenate([plus, pop.mean - pop.scale * zf])
    return plus


def random_spec(rng):
    n_layers = int(rng.integers(1, 4))
    sizes = [int(rng.integers(2, 9)) for _ in range(n_layers + 1)]
    acts = [str(rng.choice(ACTS)) for _ in range(n_layers)]
    return sizes, acts


def make_es(net, rank, *, antithetic=True, pop_size=12, seed=0, cls="openes", **kw):
    x0 = net.init_genome(seed=seed)
    if cls == "openes":
        return pn.OpenES(net.n_params, pop_size, sigma=0.1, rank=rank, network=net,
                         antithetic=antithetic, x0=x0, seed=seed, **kw)
    return pn.PGPE(net.n_params, pop_size, sigma=0.1, rank=rank, network=net, x0=x0,
                   seed=seed, **kw)


# ------------------------------------------------ structured == materialised
@pytest.mark.parametrize("case", range(12))
def test_structured_evaluation_equals_materialised(case):
    rng = np.random.default_rng(case)
    sizes, acts = random_spec(rng)
    if case < len(ACTS) - 1:  # every activation appears, on the hidden layers too
        acts = [ACTS[case]] * len(acts)
    net = pn.Network(sizes, acts)
    smallest = min(min(lay.w_shape) for lay in net.layout)
    rank = 1 + case % min(4, smallest)
    antithetic = case % 2 == 0
    es = make_es(net, rank, antithetic=antithetic, pop_size=10, seed=case)
    pop = es.ask_structured()
    assert isinstance(pop, LowRankPopulation) and pop.rank == rank
    genomes = es.ask()
    assert genomes.shape == (10, net.n_params) and genomes.dtype == np.float32
    # the genomes are the reference's, rounded once to float32
    np.testing.assert_allclose(genomes, ref_genomes(pop), rtol=1e-6, atol=1e-7)
    n = 150
    X = rng.normal(size=(n, sizes[0])).astype(np.float32)
    labels = rng.integers(0, sizes[-1], n) if sizes[-1] >= 2 else None
    tasks = [pn.tasks.Regression(net, X, rng.normal(size=(n, sizes[-1])),
                                 batch_size=100, seed=case)]
    if labels is not None:
        tasks += [pn.tasks.Classification(net, X, labels, metric=m, batch_size=100,
                                          seed=case)
                  for m in ("accuracy", "cross_entropy")]
    for task in tasks:
        for g in (0, 3):
            got = task.evaluate(pop, g)
            want = task.evaluate(genomes, g)
            if getattr(task, "metric", None) == "accuracy":
                # an argmax may flip on a float32 near-tie: at most 1 sample of 100
                assert np.abs(got - want).max() <= 0.0100001
                assert np.mean(got == want) >= 0.8
            else:
                np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-5)


@pytest.mark.parametrize("case", range(8))
def test_one_hidden_layer_path_equals_materialised(case, monkeypatch):
    """The fused path of one hidden layer (lowrank_mlp) on MNIST-like widths:
    hidden widths and sample counts that are not multiples of the 16-sample
    blocks, 10 or 3 outputs, ranks 1..3, antithetic or not, several hidden and
    output activations; and the same bits on one or two threads."""
    rng = np.random.default_rng(100 + case)
    hidden = [37, 16, 50, 9, 128, 23, 32, 41][case]
    n_out = 10 if case % 3 else 3
    acts = [["relu", "linear"], ["tanh", "softmax"], ["sigmoid", "linear"],
            ["linear", "tanh"], ["relu", "linear"], ["elu", "sigmoid"],
            ["relu", "softmax"], ["leaky_relu", "linear"]][case]
    net = pn.Network([30, hidden, n_out], acts)
    rank = 1 + case % 3
    es = make_es(net, rank, antithetic=case % 4 != 1, pop_size=14, seed=case)
    pop = es.ask_structured()
    genomes = es.ask()
    n = [150, 300, 77, 512, 40, 257, 33, 16][case]
    X = rng.random((n, 30)).astype(np.float32)
    labels = rng.integers(0, n_out, n)
    tasks = [pn.tasks.Regression(net, X, rng.normal(size=(n, n_out)), seed=case),
             pn.tasks.Classification(net, X, labels, metric="cross_entropy", seed=case),
             pn.tasks.Classification(net, X, labels, metric="accuracy", seed=case)]
    for task in tasks:
        got = task.evaluate(pop, 0)
        want = task.evaluate(genomes, 0)
        if task is tasks[2]:
            assert np.abs(got - want).max() <= 1.0 / n + 1e-9
            assert np.mean(got == want) >= 0.8
        else:
            np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-5)
    # one and two chunks of members (forced: the work is below the threshold)
    monkeypatch.setattr(_structured, "numba_thread_count", lambda n, *a, **k: n)
    kind = _lowrank.CROSS_ENTROPY
    one, two = (_structured.evaluate_lowrank(net, pop, X, labels, kind, False, nt)
                for nt in (1, 2))
    np.testing.assert_array_equal(one, two)


def test_rows_and_mirrors_are_the_genomes():
    net = pn.Network([5, 4, 3], ["tanh", "softmax"])
    es = make_es(net, 2, pop_size=8)
    pop = es.ask_structured()
    dense = es.ask()
    np.testing.assert_array_equal(pop[5], dense[5])
    np.testing.assert_array_equal(pop[[6, 1, -1]], dense[[6, 1, 7]])
    np.testing.assert_array_equal(pop[2:7], dense[2:7])
    np.testing.assert_array_equal(pop.materialize(), dense)
    assert len(pop) == 8 and pop.shape == (8, net.n_params)
    # the mirror of sample i is member h + i, exactly
    d_plus = dense[:4].astype(np.float64) - pop.mean
    d_minus = pop.mean - dense[4:].astype(np.float64)
    np.testing.assert_allclose(d_plus, d_minus, atol=1e-6)



@pytest.mark.parametrize("rank", [1, 2])
def test_count_nonfinite_is_the_genomes_and_a_writer_is_caught(rank):
    net = pn.Network([5, 4, 3], ["tanh", "linear"])
    es = make_es(net, rank, pop_size=8)
    pop = es.ask_structured()
    rows = [0, 3, 5, 7]

    def want():
        return int(np.count_nonzero(~np.isfinite(pop.materialize(rows))))

    pop._cache.clear()
    assert pop.count_nonfinite(rows) == want() == 0
    # past the bound the genomes decide: mean 3e38 overflows float32 where
    # the noise of sample 1 (members 1 and 5) pushes it past 3.4e38
    es._mean[:] = 3e38
    pop.noise[1] *= 1e20
    pop._cache.clear()
    n_bad = pop.count_nonfinite(rows)
    pop._cache.clear()
    assert n_bad == want() > 0
    assert pop.count_nonfinite([0, 3]) == 0
    # a fitness that wrote NaN into the noise of the best member
    es = make_es(net, rank, pop_size=8)
    pop = es.ask_structured()
    f = np.arange(8.0)
    pop.noise[7 - 4, 2] = np.nan
    with pytest.raises(ValueError, match="must still be finite"):
        es.tell(f)
    pop.noise[3, 2] = 0.0  # the state was left unchanged: tell again
    es.tell(f)


# ---------------------------------------------------------------- the update
def ref_centered_ranks(score):
    r = np.empty(len(score))
    r[np.argsort(score, kind="stable")] = np.arange(len(score))
    return r / (len(score) - 1) - 0.5


@pytest.mark.parametrize("rank", [1, 3])
def test_openes_update_equals_numpy_reference(rank):
    net = pn.Network([6, 5, 4], ["relu", "linear"])
    es = make_es(net, rank, pop_size=16, optimizer="sgd", momentum=0.0, lr=0.05,
                 weight_decay=0.01)
    pop = es.ask_structured()
    mean0 = pop.mean.copy()
    zf = ref_noise(pop)
    fitness = np.random.default_rng(1).normal(size=16)
    es.tell(fitness)
    u = ref_centered_ranks(fitness)
    # sample i enters with +z_i (member i) and -z_i (member h + i)
    g = (u[:8] - u[8:]) @ zf / (16 * 0.1) - 0.01 * mean0
    np.testing.assert_allclose(es._mean, mean0 + 0.05 * g, rtol=1e-10, atol=1e-12)


def test_pgpe_update_equals_numpy_reference():
    net = pn.Network([6, 5, 4], ["tanh", "linear"])
    es = make_es(net, 2, cls="pgpe", pop_size=16, optimizer="adam", lr=0.01)
    pop = es.ask_structured()
    mean0, sigma0 = pop.mean.copy(), pop.scale.copy()
    zf = ref_noise(pop)
    fitness = np.random.default_rng(2).normal(size=16)
    es.tell(fitness)
    u = ref_centered_ranks(fitness)
    n_pairs = 8
    g_mu = sigma0 * ((u[:8] - u[8:]) / 2 @ zf) / n_pairs
    avg = (u[:8] + u[8:]) / 2
    g_sq = (avg - avg.mean()) @ (zf * zf) / n_pairs
    for lay in net.layout:  # one standard deviation per weight matrix
        w = slice(lay.w_offset, lay.b_offset)
        g_sq[w] = g_sq[w].mean()
    sigma = np.clip(sigma0 + 0.1 * sigma0 * g_sq, 0.8 * sigma0, 1.2 * sigma0)
    np.testing.assert_allclose(es.sigma, sigma, rtol=1e-10)
    # Adam's first step from the reference gradient
    step = 0.01 * g_mu / (np.abs(g_mu) + 1e-8)
    np.testing.assert_allclose(es._mean, mean0 + step, rtol=1e-7, atol=1e-10)
    for lay in net.layout:
        assert np.unique(es.sigma[lay.w_offset:lay.b_offset]).size == 1


@pytest.mark.parametrize("rank", [None, 1, 3])
def test_pgpe_weight_decay_is_the_natural_gradient_of_an_l2_penalty(rank):
    # three generations against a NumPy reference: the centre gradient minus
    # weight_decay * sigma^2 * mean, then Adam (float64 moments)
    net = pn.Network([6, 5, 4], ["relu", "linear"])
    wd, lr, b1, b2 = 0.7, 0.01, 0.9, 0.999
    # a centre far from zero, so that the pull outweighs the fitness's gradient
    es = pn.PGPE(net.n_params, 16, sigma=0.1, lr=lr, optimizer="adam",
                 weight_decay=wd, rank=rank, network=net if rank else None,
                 x0=net.init_genome(seed=0) * 20.0, seed=0)
    m = np.zeros(net.n_params)
    v = np.zeros(net.n_params)
    rng = np.random.default_rng(4)
    for t in range(1, 4):
        mean0, sigma0 = es.mean.astype(np.float64), es.sigma.copy()
        if rank:
            zf = ref_noise(es.ask_structured())
        else:
            es.ask()
            zf = es._z.astype(np.float64)
        fitness = rng.normal(size=16)
        es.tell(fitness)
        u = ref_centered_ranks(fitness)
        g = sigma0 * ((u[:8] - u[8:]) / 2 @ zf) / 8 - wd * sigma0**2 * mean0
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        step = lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + 1e-8)
        np.testing.assert_allclose(es._mean, mean0 + step, rtol=1e-6, atol=1e-9,
                                   err_msg=f"generation {t}")
    with pytest.raises(ValueError, match="weight_decay"):
        pn.PGPE(net.n_params, weight_decay=-0.1)


# ------------------------------------------- seeds, threads, checkpoints, run
def digits_task(net, **kw):
    X, y = pn.datasets.load_digits()
    return pn.tasks.Classification(net, X[:600], y[:600], metric="cross_entropy",
                                   batch_size=128, seed=0, **kw)


@pytest.mark.parametrize("cls", ["openes", "pgpe"])
def test_same_seed_same_run_whatever_the_threads(cls):
    net = pn.Network([64, 16, 10], ["relu", "linear"])
    means = []
    for nt in (1, 2):
        es = make_es(net, 1, cls=cls, pop_size=40, n_threads=nt)
        es.run(digits_task(net, n_threads=nt), generations=3)
        means.append(es.mean)
        hist = es.history["max"]
    np.testing.assert_array_equal(means[0], means[1])
    other = make_es(net, 1, cls=cls, pop_size=40, seed=5)
    other.run(digits_task(net), generations=3)
    assert not np.array_equal(other.mean, means[0])
    assert np.all(np.isfinite(hist))


def test_run_hands_the_structure_to_a_task_and_genomes_to_others():
    net = pn.Network([64, 16, 10], ["relu", "linear"])
    task = digits_task(net)
    a = make_es(net, 1, pop_size=20)
    a.run(task, generations=2)
    # the same generations by hand, structured
    task2 = digits_task(net)
    b = make_es(net, 1, pop_size=20)
    for _ in range(2):
        b.tell(task2(b.ask_structured()))
    np.testing.assert_array_equal(a.mean, b.mean)
    np.testing.assert_array_equal(a.history["max"], b.history["max"])
    # a generic fitness receives the genomes
    seen = []

    def fitness(pop):
        seen.append((type(pop), pop.shape, pop.dtype))
        return -np.sum(pop.astype(np.float64) ** 2, axis=1)

    c = make_es(net, 1, pop_size=20)
    c.run(fitness, generations=1)
    assert seen == [(np.ndarray, (20, net.n_params), np.float32)]
    assert c.best.shape == (net.n_params,)


def test_checkpoint_round_trip(tmp_path):
    net = pn.Network([64, 16, 10], ["relu", "linear"])
    full = make_es(net, 2, cls="pgpe", pop_size=20)
    task = digits_task(net)
    full.run(task, generations=4)
    part = make_es(net, 2, cls="pgpe", pop_size=20)
    task2 = digits_task(net)
    part.run(task2, generations=2)
    part.save(tmp_path / "lr.ckpt")
    resumed = pn.load(tmp_path / "lr.ckpt")
    assert resumed.rank == 2 and resumed.network == net
    resumed.run(task2, generations=2)
    np.testing.assert_array_equal(resumed.mean, full.mean)
    np.testing.assert_array_equal(resumed.sigma, full.sigma)
    np.testing.assert_array_equal(resumed.best, full.best)


# ----------------------------------------------------------------- bad input
def test_bad_input():
    net = pn.Network([6, 3, 4], ["relu", "linear"])
    with pytest.raises(ValueError, match="'rank' parameter of OpenES must be in"):
        pn.OpenES(net.n_params, rank=0, network=net)
    with pytest.raises(ValueError, match=r"PGPE must be in \[1, 3\]"):
        pn.PGPE(net.n_params, rank=4, network=net)
    with pytest.raises(ValueError, match="'network' parameter of OpenES is required"):
        pn.OpenES(net.n_params, rank=1)
    with pytest.raises(ValueError, match="must have n_params=50"):
        pn.OpenES(50, rank=1, network=net)
    with pytest.raises(TypeError, match="'network' parameter of OpenES must be a"):
        pn.OpenES(net.n_params, rank=1, network=[6, 3, 4])
    conv = pn.Network(layers=[pn.Conv2D(2, 3), pn.Flatten(), pn.Dense(3)],
                      input_shape=(1, 5, 5))
    with pytest.raises(ValueError, match="Dense layers only.*Conv2D, Flatten layers"):
        pn.OpenES(conv.n_params, rank=1, network=conv)
    gru = pn.Network(layers=[pn.GRU(4), pn.Dense(2)], input_shape=(3,))
    with pytest.raises(ValueError, match="Dense layers only.*with GRU layers instead"):
        pn.OpenES(gru.n_params, rank=1, network=gru)
    with pytest.raises(TypeError):
        pn.SepCMAES(net.n_params, rank=1, network=net)  # no low-rank analogue
    es = make_es(net, 1, pop_size=8)
    pop = es.ask_structured()
    with pytest.raises(TypeError, match="LowRankPopulation"):
        np.asarray(pop)
    with pytest.raises(TypeError, match="LowRankPopulation"):
        net.forward(pop, np.zeros((2, 6), np.float32))
    other = pn.Network([6, 3, 4], ["tanh", "linear"])
    task = pn.tasks.Regression(other, np.zeros((5, 6)), np.zeros((5, 4)))
    with pytest.raises(ValueError, match="LowRankPopulation of the network"):
        task(pop)


def test_openes_lr_decay_equals_numpy_reference():
    # learning rate of step t (1-based): max(lr * decay**(t - 1), limit)
    n = 5
    es = pn.OpenES(n, 8, sigma=0.1, lr=0.1, lr_decay=0.5, lr_limit=0.03,
                   optimizer="sgd", momentum=0.0, seed=0)
    for t, lr in enumerate([0.1, 0.05, 0.03, 0.03]):
        pop = es.ask().astype(np.float64)
        mean0 = es._mean.copy()
        fitness = -np.sum((pop - 1.0) ** 2, axis=1)
        es.tell(fitness)
        z = (pop[:4] - mean0) / 0.1
        u = ref_centered_ranks(fitness)
        g = (u[:4] - u[4:]) @ z / (8 * 0.1)
        np.testing.assert_allclose(es._mean, mean0 + lr * g, rtol=1e-5, atol=1e-7,
                                   err_msg=f"step {t}")
    with pytest.raises(ValueError, match="lr_decay"):
        pn.OpenES(n, lr_decay=0.0)


def test_pgpe_lr_decay_scales_adams_steps():
    # Adam's moments do not depend on the rate, so on the same fitness the
    # centre's step t is the constant-rate step times max(decay**t, limit/lr)
    # (float32 genomes: equal to 1e-5)
    n = 7
    kw = {"pop_size": 8, "sigma": 0.1, "lr": 0.1, "optimizer": "adam", "seed": 0}
    const = pn.PGPE(n, **kw)
    decay = pn.PGPE(n, lr_decay=0.5, lr_limit=0.03, **kw)
    rng = np.random.default_rng(1)
    for t, factor in enumerate([1.0, 0.5, 0.3, 0.3]):
        m_c, m_d = const.mean.copy(), decay.mean.copy()
        const.ask()
        decay.ask()
        f = rng.normal(size=8)
        const.tell(f)
        decay.tell(f)
        np.testing.assert_allclose(decay.mean - m_d, factor * (const.mean - m_c),
                                   rtol=1e-5, atol=1e-9, err_msg=f"step {t}")
    with pytest.raises(ValueError, match="lr_decay"):
        pn.PGPE(n, lr_decay=1.5)


# ------------------------------------------------------------------ defaults
def test_defaults_depend_on_the_mode_and_survive_a_checkpoint(tmp_path):
    """Arguments left out take the full-rank defaults (tuned on digits)
    without ``rank`` and the low-rank ones (the sweep's) with it; given
    values win, and a checkpoint keeps the resolved values."""
    from pyneat_lite.algorithms.openes import FULL_RANK_DEFAULTS, LOW_RANK_DEFAULTS

    net = pn.Network([6, 5, 4], ["relu", "linear"])
    keys = ("pop_size", "sigma", "lr", "lr_decay", "lr_limit")
    full = pn.OpenES(net.n_params, seed=0)
    assert {k: getattr(full.params, k) for k in keys} == FULL_RANK_DEFAULTS
    assert FULL_RANK_DEFAULTS == {"pop_size": 50, "sigma": 0.02, "lr": 0.03,
                                  "lr_decay": 1.0, "lr_limit": 0.0}
    low = pn.OpenES(net.n_params, rank=1, network=net, seed=0)
    assert {k: getattr(low.params, k) for k in keys} == LOW_RANK_DEFAULTS
    assert low.ask().shape == (LOW_RANK_DEFAULTS["pop_size"], net.n_params)
    given = pn.OpenES(net.n_params, 8, sigma=0.3, lr=0.2, lr_decay=0.9,
                      lr_limit=0.01, rank=1, network=net, seed=0)
    assert [getattr(given.params, k) for k in keys] == [8, 0.3, 0.2, 0.9, 0.01]
    low.save(tmp_path / "d.ckpt")
    back = pn.load(tmp_path / "d.ckpt")
    assert back.params == low.params
    np.testing.assert_array_equal(back.ask(), low.ask())


@pytest.mark.parametrize("rank", [1, 3])
def test_weight_moments_tiles_are_thread_invariant(rank):
    # a first layer of several fixed tiles, summed on 1 and 2 threads
    from pyneat_lite._kernels import lowrank as lr

    net = pn.Network([300, 20, 4], ["tanh", "linear"])
    offs, m = lr.noise_offsets(net.meta, rank)
    rng = np.random.default_rng(rank)
    h = 37
    z = rng.standard_normal((h, m)).astype(np.float32)
    w1 = rng.standard_normal(h)
    want = np.zeros(net.n_params)
    for layer in range(2):
        n_in, n_out, wo, bo = (int(v) for v in net.meta[layer, :4])
        ao, bfo, eo = (int(v) for v in offs[layer])
        a = z[:, ao:ao + rank * n_in].astype(np.float64).reshape(h, rank, n_in)
        b = z[:, bfo:bfo + rank * n_out].astype(np.float64).reshape(h, rank, n_out)
        want[wo:wo + n_in * n_out] = (np.einsum("i,iqj,iqk->jk", w1, a, b)
                                      / np.sqrt(rank)).reshape(-1)
        want[bo:bo + n_out] = w1 @ z[:, eo:eo + n_out].astype(np.float64)
    got = []
    for nt in (1, 2):
        g1 = np.full(net.n_params, np.nan)
        g2 = np.zeros(net.n_params)
        with numba_threads(nt):
            lr.weight_moments(z, w1, None, net.meta, offs, rank, g1, g2, nt)
        got.append(g1)
        assert not g2.any()  # w2=None leaves it untouched
    np.testing.assert_array_equal(got[0], got[1])
    np.testing.assert_allclose(got[0], want, rtol=1e-12, atol=1e-12)
