"""Kernels of the tasks and the evolution strategies: the Numba stream against
the Cython generator, Floyd sampling against a pure-Python reference and a
chi-square test, the ES and loss kernels against NumPy, and thread invariance
in subprocesses with 1 and 2 Numba threads (showing that 2 threads ran)."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import textwrap

import numba
import numpy as np
import pytest
from scipy import stats
from task_helpers import floyd_reference

from pyneat_lite import _operators
from pyneat_lite._kernels import es, losses
from pyneat_lite._kernels import rng as krng


@numba.njit(cache=False)
def _numba_words(seed, n):
    state = np.empty(4, np.uint64)
    krng.rng_seed(state, seed)
    out = np.empty(n, np.uint64)
    for i in range(n):
        out[i] = krng.rng_next(state)
    return out


@numba.njit(cache=False)
def _numba_draws(seed, n, kind, bound):
    state = np.empty(4, np.uint64)
    krng.rng_seed(state, seed)
    out = np.empty(n)
    for i in range(n):
        if kind == 0:
            out[i] = krng.rng_uniform(state)
        else:
            out[i] = krng.rng_bounded(state, bound)
    return out


SEEDS = [0, 1, 2**63 + 5, 2**64 - 1, 0x0123456789ABCDEF]


@pytest.mark.parametrize("seed", SEEDS)
def test_numba_stream_is_the_cython_stream(seed):
    s = np.uint64(seed)
    np.testing.assert_array_equal(_numba_words(s, 2000), _operators._rng_words(s, 2000))
    np.testing.assert_array_equal(_numba_draws(s, 2000, 0, 0),
                                  _operators._rng_draws(s, 2000, 0))
    for bound in (1, 2, 7, 1000, 2**31 + 11, 2**32):
        np.testing.assert_array_equal(
            _numba_draws(s, 500, 2, bound),
            _operators._rng_draws(s, 500, 2, np.uint64(bound)))
    u = _numba_draws(s, 2000, 0, 0)
    assert u.min() > 0.0 and u.max() < 1.0  # open interval: safe for log


@pytest.mark.parametrize(("n", "k"), [(1, 1), (10, 10), (10, 3), (1000, 50),
                                      (70000, 512)])
def test_sample_without_replacement_matches_reference(n, k):
    for seed in (0, 7, 2**64 - 3):
        out = np.empty(k, np.int64)
        mask = np.empty(n, np.bool_)
        krng.sample_without_replacement(np.uint64(seed), n, k, mask, out)
        np.testing.assert_array_equal(out, floyd_reference(seed, n, k))
        assert np.all(np.diff(out) > 0) and out[0] >= 0 and out[-1] < n


def test_sample_without_replacement_every_subset_equally_likely():
    # all C(6, 3) = 20 subsets, 20,000 draws (1,000 expected each)
    n, k, draws = 6, 3, 20_000
    subsets = {c: i for i, c in enumerate(itertools.combinations(range(n), k))}
    counts = np.zeros(len(subsets))
    out = np.empty(k, np.int64)
    mask = np.empty(n, np.bool_)
    for s in range(draws):
        krng.sample_without_replacement(np.uint64(s * 7919 + 1), n, k, mask, out)
        counts[subsets[tuple(out)]] += 1
    assert stats.chisquare(counts).pvalue > 1e-3


def test_seed_sequence_words_are_numpys():
    rng = np.random.default_rng(0)
    entropies = [0, 1, 2**32 - 1, 2**32, 2**64 + 7, 2**127 + 3,
                 int(np.random.SeedSequence(5).generate_state(1, np.uint64)[0])]
    entropies += [int(v) >> int(s) for v, s in zip(rng.integers(0, 2**63, 40),
                                                    rng.integers(0, 63, 40),
                                                    strict=True)]
    for i, e in enumerate(entropies):
        key = tuple(int(k) for k in rng.integers(0, 2**40, i % 4) >> (i % 40))
        for n in (0, 1, 5, 64):
            want = np.random.SeedSequence(e, spawn_key=key).generate_state(n, np.uint64)
            np.testing.assert_array_equal(krng.seed_sequence_words(e, key, n), want)
    with pytest.raises(ValueError, match="non-negative"):
        krng.seed_sequence_words(1, (0, -1), 3)


# ------------------------------------------------------------------- ES kernels
@pytest.mark.parametrize("antithetic", [False, True])
@pytest.mark.parametrize("n_threads", [1, 2])
def test_sample_population_matches_numpy(antithetic, n_threads):
    rng = np.random.default_rng(0)
    h, n = 160, 900  # 2h x n above the parallel threshold
    mean = rng.standard_normal(n)
    scale = rng.uniform(0.01, 1.0, n)
    z = rng.standard_normal((h, n)).astype(np.float32)
    out = np.empty((2 * h if antithetic else h, n), np.float32)
    es.sample_population(mean, scale, z, out, antithetic, n_threads)
    d = scale * z.astype(np.float64)
    want = (mean + d).astype(np.float32)
    if antithetic:
        want = np.concatenate([want, (mean - d).astype(np.float32)])
    np.testing.assert_array_equal(out, want)


@pytest.mark.parametrize("n_threads", [1, 2])
def test_weighted_moments_match_numpy(n_threads):
    rng = np.random.default_rng(1)
    z = rng.standard_normal((200, 1300)).astype(np.float32)
    rows = rng.permutation(200)[:150].astype(np.int64)
    w1, w2 = rng.standard_normal(150), rng.standard_normal(150)
    o1, o2 = np.empty(1300), np.empty(1300)
    es.weighted_moments(z, rows, w1, w2, o1, o2, n_threads)
    # rows summed in order, as the kernel documents: bit-identical
    r1, r2 = np.zeros(1300), np.zeros(1300)
    for r, a, c in zip(rows, w1, w2, strict=True):
        v = z[r].astype(np.float64)
        r1 += a * v
        r2 += c * v * v
    np.testing.assert_array_equal(o1, r1)
    np.testing.assert_array_equal(o2, r2)


# ------------------------------------------------------------------ losses
def test_loss_kernels_match_numpy():
    rng = np.random.default_rng(2)
    out = rng.standard_normal((40, 300, 7)).astype(np.float32)
    y = rng.integers(0, 7, 300)
    prob = np.exp(out) / np.exp(out).sum(axis=2, keepdims=True)
    prob = prob.astype(np.float32)
    target = rng.standard_normal((300, 7)).astype(np.float32)
    o64 = out.astype(np.float64)
    rows = np.arange(300)
    m = o64.max(axis=2)
    lse = m + np.log(np.exp(o64 - m[..., None]).sum(axis=2))
    want = {
        "acc": (out.argmax(axis=2) == y).mean(axis=1),
        "ce_logits": -(lse - o64[:, rows, y]).mean(axis=1),
        "ce_prob": np.log(np.maximum(prob[:, rows, y].astype(np.float64),
                                     1e-7)).mean(axis=1),
        "mse": -((o64 - target) ** 2).mean(axis=(1, 2)),
    }
    for nt in (1, 2):
        got = {k: np.full(45, np.nan) for k in want}
        losses.accuracy(out, y, got["acc"], 5, nt)
        losses.neg_cross_entropy(out, y, False, 1e-7, got["ce_logits"], 5, nt)
        losses.neg_cross_entropy(prob, y, True, 1e-7, got["ce_prob"], 5, nt)
        losses.neg_mse(out, target, got["mse"], 5, nt)
        for k, v in want.items():
            assert np.isnan(got[k][:5]).all()  # written at lo + p only
            np.testing.assert_allclose(got[k][5:], v, rtol=1e-13, atol=1e-14)


# ------------------------------------------------------- thread invariance
_PROBE = textwrap.dedent('''
    import glob, hashlib, json
    import numpy as np
    import pyneat_lite as pn
    from pyneat_lite._kernels import es, losses

    def cpu_ns():
        """CPU time of every thread of this process (ns)."""
        out = {}
        for p in glob.glob("/proc/self/task/*"):
            try:
                with open(p + "/schedstat") as f:
                    out[p] = int(f.read().split()[0])
            except OSError:
                with open(p + "/stat") as f:  # clock ticks, coarser
                    fields = f.read().rsplit(")", 1)[1].split()
                out[p] = (int(fields[11]) + int(fields[12])) * 10**7
        return out

    def run(fn, repeats, rounds=3):
        """fn's result and, per round of ``repeats`` calls, the number of
        threads that did a real share of its CPU work (at least 20% of it).
        Several rounds, because an unrelated thread of the process can take
        a few milliseconds in any one of them."""
        fn()  # loads the compiled code, starts the pool
        used = []
        for _ in range(rounds):
            before = cpu_ns()
            for _ in range(repeats):
                res = fn()
            after = cpu_ns()
            d = [after[t] - before.get(t, 0) for t in after]
            used.append(int(sum(x >= 0.2 * sum(d) for x in d)))
        h = hashlib.sha256()
        for a in res:
            h.update(np.ascontiguousarray(a).tobytes())
        return [h.hexdigest(), used]

    rng = np.random.default_rng(0)
    report = {}
    pend = pn.Network([3, 16, 1], ["tanh", "tanh"])
    pop_p = pend.init_population(512, seed=0)
    report["rollout_pendulum"] = run(lambda: pn.envs.rollout(
        pend, pop_p, pn.envs.Pendulum(), episodes=2, seed=1, same_starts=False,
        return_steps=True, n_threads=2), 3)
    cart = pn.Network([4, 16, 2], ["tanh", "linear"])
    pop_c = cart.init_population(1024, seed=0) * np.float32(2.0)
    report["rollout_cartpole"] = run(lambda: pn.envs.rollout(
        cart, pop_c, pn.envs.CartPole(), episodes=3, seed=2, return_steps=True,
        n_threads=2), 5)
    out = rng.standard_normal((64, 2000, 10)).astype(np.float32)
    y = rng.integers(0, 10, 2000)
    target = rng.standard_normal((2000, 10)).astype(np.float32)

    def loss_kernels():
        f = np.empty((3, 64))
        losses.accuracy(out, y, f[0], 0, 2)
        losses.neg_cross_entropy(out, y, False, 1e-7, f[1], 0, 2)
        losses.neg_mse(out, target, f[2], 0, 2)
        return [f]

    report["losses"] = run(loss_kernels, 5)
    t64 = target.astype(np.float64)

    def target_loss():  # the adapters' framework losses, one call per kind
        f = np.empty((3, 64))
        for i, kind in enumerate((losses.MAE, losses.CROSS_ENTROPY,
                                  losses.BINARY_CROSS_ENTROPY)):
            losses.neg_target_loss(out, t64, kind, losses.LOGITS, 0.0, -np.inf,
                                   f[i], 0, 2)
        return [f]

    report["target_loss"] = run(target_loss, 5)
    mean, scale = rng.standard_normal(4096), rng.uniform(0.1, 1, 4096)
    z = rng.standard_normal((256, 4096)).astype(np.float32)

    def sample():
        o = np.empty((512, 4096), np.float32)
        es.sample_population(mean, scale, z, o, True, 2)
        return [o]

    report["es_sample"] = run(sample, 20)
    # 512 x 4096 values: at es.PARALLEL_MIN_VALUES, where the sums go parallel
    zm = rng.standard_normal((512, 4096)).astype(np.float32)
    rows = np.arange(512, dtype=np.int64)
    w1, w2 = rng.standard_normal(512), rng.standard_normal(512)

    def moments():
        o1, o2 = np.empty(4096), np.empty(4096)
        es.weighted_moments(zm, rows, w1, w2, o1, o2, 2)
        return [o1, o2]

    report["es_moments"] = run(moments, 20)
    net = pn.Network([64, 32, 10], ["tanh", "softmax"])
    X = rng.standard_normal((600, 64)).astype(np.float32)
    fit = pn.tasks.Classification(net, X, rng.integers(0, 10, 600),
                                  metric="cross_entropy", batch_size=300, seed=4,
                                  n_threads=2)
    pop = net.init_population(64, seed=0)
    # task level: results and minibatches only (the forward is the network's)
    report["classification"] = [run(lambda: [fit.evaluate(pop, 3),
                                             fit.batch_indices(3)], 1, 1)[0], None]
    print(json.dumps(report))
''')


def _probe(n_threads: int) -> dict:
    env = dict(os.environ, NUMBA_NUM_THREADS=str(n_threads),
               OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    res = subprocess.run([sys.executable, "-c", _PROBE], env=env,
                         capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout.strip().splitlines()[-1])


def test_kernels_thread_invariant_with_two_threads_running():
    one, two = _probe(1), _probe(2)
    for name in one:
        assert one[name][0] == two[name][0], name  # bit for bit
        if one[name][1] is not None:
            # the CPU-time probe tells the cases apart: one thread worked
            # alone, then two threads each did a real share
            assert min(one[name][1]) == 1, (name, one[name])
            assert max(two[name][1]) >= 2, (name, two[name])
