"""xNES (pn.XNES) against a dense NumPy/SciPy transcription of the paper.

Glasmachers et al. 2010, algorithm 1 / Wierstra et al. 2014, algorithm 5:
the reference forms ``G_M`` and takes ``scipy.linalg.expm`` of the
``n x n`` matrix, where the library uses the low-rank identity; plus
convergence on sphere, rosenbrock and a rotated ellipsoid.
"""

from __future__ import annotations

import hashlib
import math

import numpy as np
import pytest
import scipy.linalg

import pyneat_lite as pn
from pyneat_lite._rng import standard_normal
from pyneat_lite.algorithms.xnes import phi1


def rotated_ellipsoid(n, cond=1e4, seed=0):
    q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((n, n)))
    scale = cond ** (np.arange(n) / (n - 1))

    def f(x):
        r = np.einsum("...j,kj->...k", np.asarray(x, dtype=np.float64), q)
        return np.sum(scale * r**2, axis=-1)

    return f


def rosenbrock(x):
    x = np.asarray(x, dtype=np.float64)
    return np.sum(100.0 * (x[..., 1:] - x[..., :-1] ** 2) ** 2
                  + (1.0 - x[..., :-1]) ** 2, axis=-1)


def nes_utilities_by_rank(lam):
    k = np.arange(1, lam + 1)
    u = np.maximum(0.0, np.log(lam / 2 + 1) - np.log(k))
    return u / u.sum() - 1.0 / lam


def test_phi1_matches_its_series():
    rng = np.random.default_rng(0)
    X = 0.3 * rng.standard_normal((5, 5))
    series = sum(np.linalg.matrix_power(X, k) / math.factorial(k + 1)
                 for k in range(30))
    np.testing.assert_allclose(phi1(X), series, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("n", [5, 30])
def test_one_generation_matches_the_paper(n):
    f = rotated_ellipsoid(n)
    es = pn.XNES(n_params=n, sigma=0.5, x0=np.full(n, 0.5), minimize=True,
                 seed=2)
    es.run(f, generations=30)
    B = es.shape_matrix
    assert np.abs(B - np.diag(np.diag(B))).max() > 1e-3
    m, s = es._mean.copy(), es.step_size
    pop = es.ask()
    lam = es.pop_size
    z = standard_normal(lam, n, seed=2, generation=es.generation).astype(np.float64)
    np.testing.assert_allclose(pop, m + s * z @ B.T, rtol=1e-6, atol=1e-7 * s)
    fit = f(pop)
    u = np.empty(lam)
    u[np.argsort(fit, kind="stable")] = nes_utilities_by_rank(lam)
    g_delta = u @ z
    g_m = sum(u[k] * (np.outer(z[k], z[k]) - np.eye(n)) for k in range(lam))
    g_s = np.trace(g_m) / n
    g_b = g_m - g_s * np.eye(n)
    lr = 3 * (3 + math.log(n)) / (5 * n * math.sqrt(n))
    m1 = m + s * B @ g_delta
    s1 = s * math.exp(lr / 2 * g_s)
    B1 = B @ scipy.linalg.expm(lr / 2 * g_b)
    es.tell(fit)
    np.testing.assert_allclose(es._mean, m1, rtol=1e-12, atol=1e-14)
    assert es.step_size == pytest.approx(s1, rel=1e-12)
    np.testing.assert_allclose(es.shape_matrix, B1, rtol=1e-10, atol=1e-12)
    assert np.linalg.det(es.shape_matrix) == pytest.approx(1.0, rel=1e-9)


@pytest.mark.parametrize(("f", "x0", "gens"), [
    (lambda x: np.sum(np.asarray(x, np.float64) ** 2, axis=-1), 0.5, 400),
    (rosenbrock, 0.0, 1500),
    (rotated_ellipsoid(8), 0.5, 1500),
])
def test_converges_to_1e_8(f, x0, gens):
    es = pn.XNES(n_params=8, sigma=0.5, x0=np.full(8, x0), minimize=True, seed=0)
    r = es.run(f, target=1e-8, generations=gens)
    assert r.best_fitness <= 1e-8, r.best_fitness


def test_threads_do_not_change_a_run():
    f = rotated_ellipsoid(120)
    digests = []
    for nt in (1, 2):
        es = pn.XNES(n_params=120, pop_size=80, sigma=0.3, seed=1, minimize=True,
                     n_threads=nt)
        h = hashlib.sha256()
        for _ in range(6):
            pop = es.ask()
            h.update(pop.tobytes())
            es.tell(f(pop))
        h.update(es.shape_matrix.tobytes())
        digests.append(h.hexdigest())
    assert digests[0] == digests[1]


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="'lr_shape' parameter of XNES"):
        pn.XNES(n_params=4, lr_shape=-1.0)
    with pytest.raises(ValueError, match="'x0' argument of XNES must have 4"):
        pn.XNES(n_params=4, x0=np.zeros(3))
