"""CMA-ES with full covariance (pn.CMAES) against independent references.

- The default strategy parameters against the numbers pycma 4.5.0 prints
  (``cma.CMAEvolutionStrategy(np.zeros(10), 0.5).sp``), as literals.
- One generation against a NumPy transcription of Hansen's tutorial
  (arXiv:1604.00772, eqs. 38-47, with active CMA's negative weights and
  pycma's cs / stall test), from a state with a non-trivial covariance.
- The eigendecomposition against ``numpy.linalg.eigh``.
- Convergence to 1e-8 on sphere, rosenbrock and a rotated ellipsoid (which
  a diagonal covariance cannot learn: SepCMAES stays far above on it).
"""

from __future__ import annotations

import hashlib
import math

import numpy as np
import pytest

import pyneat_lite as pn
from pyneat_lite._kernels.cma import jacobi_eigh
from pyneat_lite._rng import standard_normal
from pyneat_lite.algorithms.cmaes import cma_parameters


def sphere(x):
    x = np.asarray(x, dtype=np.float64)
    return np.sum(x**2, axis=-1)


def rosenbrock(x):
    x = np.asarray(x, dtype=np.float64)
    return np.sum(100.0 * (x[..., 1:] - x[..., :-1] ** 2) ** 2
                  + (1.0 - x[..., :-1]) ** 2, axis=-1)


def rotated_ellipsoid(n, seed=0):
    q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((n, n)))
    scale = 10.0 ** (6.0 * np.arange(n) / (n - 1))

    def f(x):
        # einsum, not BLAS: a multithreaded matmul crawls on a loaded machine
        r = np.einsum("...j,kj->...k", np.asarray(x, dtype=np.float64), q)
        return np.sum(scale * r**2, axis=-1)

    return f


# ------------------------------------------------------------- defaults
def test_defaults_are_pycmas():
    """pycma 4.5.0, n=10: popsize 10, mu 5, and these weights and rates."""
    es = pn.CMAES(n_params=10)
    assert es.pop_size == 10 and es.mu == 5 and es.active
    assert pn.CMAES(n_params=100).pop_size == 17  # 4 + floor(3 ln 100)
    p = cma_parameters(10, 10, 5, True)
    pycma_weights = [
        0.45627264690340597, 0.2707530970017852, 0.16223111715866978,
        0.08523354710016448, 0.025509591835974777, -0.08001260758087224,
        -0.22176416099914653, -0.34455494178482093, -0.45286408637842196,
        -0.5497499176973853,
    ]
    np.testing.assert_allclose(p["weights"], pycma_weights, rtol=1e-12)
    np.testing.assert_allclose(
        [p["cc"], p["c1"], p["cmu"], p["cs"], p["ds"]],
        [0.29499038303562225, 0.015283824524751714, 0.02355177665041747,
         0.3196142529106334, 1.3196142529106334],
        rtol=1e-12,
    )
    # without active CMA the worst half gets no weight
    assert np.all(cma_parameters(10, 10, 5, False)["weights"][5:] == 0.0)


# ----------------------------------------------------- one generation
def tutorial_generation(n, lam, mu, m, step, C, B, d, pc, ps, z, order, g):
    """Hansen's tutorial, written from the paper (independent of the
    library's kernels): the state after one generation with samples
    ``y_k = B D z_k`` ranked by ``order`` (best first), generation ``g``
    (1-based, for the stall test)."""
    wp = np.log((lam + 1) / 2.0) - np.log(np.arange(1, lam + 1))
    mueff = wp[:mu].sum() ** 2 / (wp[:mu] ** 2).sum()
    mueff_neg = wp[mu:].sum() ** 2 / (wp[mu:] ** 2).sum()
    c1 = 2.0 / ((n + 1.3) ** 2 + mueff) * min(1.0, lam / 6.0)
    cmu = min(1 - c1, 2.0 * (0.25 + mueff - 2 + 1 / mueff)
              / ((n + 2) ** 2 + mueff))
    a_mu = 1 + c1 / cmu
    a_mueff = 1 + 2 * mueff_neg / (mueff + 2)
    a_posdef = (1 - c1 - cmu) / (n * cmu)
    w = np.where(wp >= 0, wp / wp[wp >= 0].sum(),
                 min(a_mu, a_mueff, a_posdef) * wp / -wp[wp < 0].sum())
    cc = (4 + mueff / n) / (n + 4 + 2 * mueff / n)
    cs = (mueff + 2) / (n + mueff + 3)  # pycma (the tutorial: + 5)
    ds = 1 + 2 * max(0.0, math.sqrt((mueff - 1) / (n + 1)) - 1) + cs
    chi = math.sqrt(n) * (1 - 1 / (4 * n) + 1 / (21 * n * n))
    D = np.diag(d)
    Y = (B @ D @ z.T).T[order]  # ranked steps
    yw = w[:mu] @ Y[:mu]
    m_new = m + step * yw
    c_inv_half = B @ np.diag(1 / d) @ B.T
    ps_new = (1 - cs) * ps + math.sqrt(cs * (2 - cs) * mueff) * c_inv_half @ yw
    step_new = step * math.exp(min(1.0, cs / ds * (np.linalg.norm(ps_new) / chi
                                                   - 1)))
    h = (ps_new @ ps_new) / (1 - (1 - cs) ** (2 * g)) / n < 2 + 4 / (n + 1)
    pc_new = (1 - cc) * pc + h * math.sqrt(cc * (2 - cc) * mueff) * yw
    w_o = w.copy()
    for i in range(mu, lam):
        w_o[i] *= n / np.sum((c_inv_half @ Y[i]) ** 2)
    delta = (1 - h) * cc * (2 - cc)
    C_new = ((1 + c1 * delta - c1 - cmu * w.sum()) * C
             + c1 * np.outer(pc_new, pc_new)
             + cmu * sum(w_o[i] * np.outer(Y[i], Y[i]) for i in range(lam)))
    return m_new, step_new, C_new, pc_new, ps_new


@pytest.mark.parametrize("n", [6, 24])  # Jacobi and LAPACK eigensolvers
def test_one_generation_matches_the_tutorial(n):
    f = rotated_ellipsoid(n)
    es = pn.CMAES(n_params=n, sigma=0.5, x0=np.full(n, 0.5), minimize=True,
                  seed=3)
    es.run(f, generations=40)  # a covariance far from the identity
    C0 = es.covariance
    assert np.abs(C0 - np.diag(np.diag(C0))).max() > 1e-3 * np.abs(C0).max()
    m, step = es._mean.copy(), es.step_size
    B, d = es._BT.T.copy(), es._d.copy()
    pc, ps = es._pc.copy(), es._ps.copy()
    pop = es.ask()
    z = standard_normal(es.pop_size, n, seed=3, generation=es.generation)
    z = z.astype(np.float64)
    # the population is the float32 rounding of m + step * B D z
    np.testing.assert_allclose(pop, m + step * (B @ np.diag(d) @ z.T).T,
                               rtol=1e-6, atol=1e-7 * step)
    fit = f(pop)
    g = es.generation + 1
    ref = tutorial_generation(n, es.pop_size, es.mu, m, step, C0, B, d, pc, ps,
                              z, np.argsort(fit, kind="stable"), g)
    es.tell(fit)
    m1, step1, C1, pc1, ps1 = ref
    np.testing.assert_allclose(es._mean, m1, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(es._ps, ps1, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(es._pc, pc1, rtol=1e-10, atol=1e-13)
    assert es.step_size == pytest.approx(step1, rel=1e-12)
    np.testing.assert_allclose(es.covariance, C1, rtol=1e-10,
                               atol=1e-12 * np.abs(C1).max())


def test_eigendecomposition_reproduces_the_covariance():
    """After a decomposition ``C = B diag(d**2) B^T`` with orthonormal B."""
    for n in (5, 30):
        es = pn.CMAES(n_params=n, sigma=0.5, x0=np.full(n, 0.5), minimize=True,
                      seed=1)
        f = rotated_ellipsoid(n, seed=2)
        es.run(f, generations=30)
        es._decompose()
        B = es._BT.T
        np.testing.assert_allclose(B @ np.diag(es.eigenvalues) @ B.T,
                                   es.covariance, rtol=1e-9,
                                   atol=1e-12 * es.eigenvalues.max())
        np.testing.assert_allclose(B.T @ B, np.eye(n), atol=1e-12)
        assert np.all(np.diff(es.eigenvalues) >= 0)


@pytest.mark.parametrize("n", [1, 2, 7, 16])
def test_jacobi_matches_numpy_eigh(n):
    rng = np.random.default_rng(n)
    A = rng.standard_normal((n, n))
    C = A @ A.T + np.diag(10.0 ** rng.uniform(-3, 3, n))
    w = np.empty(n)
    V = np.empty((n, n))
    jacobi_eigh(C, w, V)
    np.testing.assert_allclose(w, np.linalg.eigvalsh(C), rtol=1e-12,
                               atol=1e-13 * w.max())
    np.testing.assert_allclose(V @ np.diag(w) @ V.T, C, atol=1e-12 * w.max())
    np.testing.assert_allclose(V.T @ V, np.eye(n), atol=1e-13)


# ------------------------------------------------------------ convergence
@pytest.mark.parametrize(("f", "x0", "max_evals"), [
    (sphere, 0.5, 1600),  # pycma: 1220-1300 evaluations (3 seeds)
    (rosenbrock, 0.0, 6500),  # pycma: 4570-4870
    (rotated_ellipsoid(10), 0.5, 6000),  # pycma (axis-parallel): 3640-3930
])
def test_reaches_1e_8_in_about_pycmas_evaluations(f, x0, max_evals):
    es = pn.CMAES(n_params=10, sigma=0.5, x0=np.full(10, x0), minimize=True,
                  seed=0)
    r = es.run(f, target=1e-8, generations=max_evals // es.pop_size)
    assert r.best_fitness <= 1e-8, (r.best_fitness, es.evaluations)
    assert r.stop_reason == "target"


def test_full_covariance_beats_diagonal_on_a_rotated_ellipsoid():
    f = rotated_ellipsoid(10, seed=5)
    kw = dict(n_params=10, pop_size=10, sigma=0.5, x0=np.full(10, 0.5),
              minimize=True, seed=0)
    full = pn.CMAES(**kw).run(f, generations=500).best_fitness
    diag = pn.SepCMAES(**kw).run(f, generations=500).best_fitness
    assert full < 1e-10 and diag > 1e3 * full


# ----------------------------------------------------- threads and state
def _digest(es, gens, f):
    h = hashlib.sha256()
    for _ in range(gens):
        pop = es.ask()
        h.update(pop.tobytes())
        es.tell(f(pop))
    h.update(es.covariance.tobytes())
    return h.hexdigest()


def test_threads_do_not_change_a_run_with_eigendecompositions():
    """120 x 80: parallel sampling and covariance kernels (above the
    threshold), and LAPACK decompositions every 3 generations."""
    f = rotated_ellipsoid(120)
    runs = []
    for nt in (1, 2):
        es = pn.CMAES(n_params=120, pop_size=80, sigma=0.3, seed=4,
                      minimize=True, n_threads=nt)
        runs.append(_digest(es, 12, f))
        assert es._eigen_evals > 0
    assert runs[0] == runs[1]


def test_checkpoint_after_decompositions(tmp_path):
    f = rotated_ellipsoid(24)
    ref = pn.CMAES(n_params=24, sigma=0.3, seed=4, minimize=True)
    expected = _digest(ref, 30, f)
    es = pn.CMAES(n_params=24, sigma=0.3, seed=4, minimize=True)
    h = hashlib.sha256()
    for _ in range(15):
        pop = es.ask()
        h.update(pop.tobytes())
        es.tell(f(pop))
    es.ask()  # saved with a pending population
    es.save(tmp_path / "c.ckpt")
    back = pn.load(tmp_path / "c.ckpt")
    for _ in range(15):
        pop = back.ask()
        h.update(pop.tobytes())
        back.tell(f(pop))
    h.update(back.covariance.tobytes())
    assert h.hexdigest() == expected
    assert back.step_size == ref.step_size


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="'mu' parameter of CMAES must be at most"):
        pn.CMAES(n_params=5, pop_size=6, mu=7)
    with pytest.raises(ValueError, match="'x0' argument of CMAES must have 5"):
        pn.CMAES(n_params=5, x0=np.zeros(4))
    with pytest.raises(ValueError, match="'pop_size' parameter of CMAES"):
        pn.CMAES(n_params=5, pop_size=1)
    with pytest.raises(TypeError, match="'active' parameter of CMAES must be a bool"):
        pn.CMAES(n_params=5, active=1)
