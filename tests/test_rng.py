"""The operator RNG: bit-exact against the pure-Python reference, statistical
quality (KS / chi-square against scipy), prefix stability of row streams,
thread-count independence (subprocesses with 1 and 2 OpenMP threads, the
kernels' team report showing that two threads ran), the compiled tables, and
a separate Cython module that cimports ``pyneat_lite._operators._rng``."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import ref_operators as ref
from scipy import stats

import pyneat_lite
from pyneat_lite import _operators as kernels
from pyneat_lite import operators as ops
from pyneat_lite._operators import _tables
from pyneat_lite._rng import STREAMS, row_seeds


@pytest.mark.parametrize("seed", [0, 1, 2**63 + 5, 2**64 - 1])
def test_words_match_reference(seed):
    r = ref.Rng(seed)
    want = np.array([r.next() for _ in range(64)], dtype=np.uint64)
    np.testing.assert_array_equal(kernels._rng_words(seed, 64), want)


@pytest.mark.parametrize(("kind", "method"),
                         [(0, "uniform"), (1, "normal"), (3, "exponential")])
def test_draws_match_reference_bit_exact(kind, method):
    # 30,000 normals exercise the ziggurat's wedge and tail branches too
    r = ref.Rng(4242)
    want = np.array([getattr(r, method)() for _ in range(30_000)])
    got = kernels._rng_draws(4242, 30_000, kind)
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("bound", [1, 2, 7, 1000, 2**31 + 11, 2**32])
def test_bounded_matches_reference(bound):
    r = ref.Rng(99)
    want = np.array([r.bounded(bound) for _ in range(500)], dtype=np.float64)
    np.testing.assert_array_equal(kernels._rng_draws(99, 500, 2, bound), want)


@pytest.mark.parametrize("rate", [0.003, 0.1, 0.6])
def test_gaps_match_reference(rate):
    r = ref.Rng(17)
    want = np.array([r.gap(rate, 1000) for _ in range(2000)], dtype=np.float64)
    inv = -1.0 / np.log1p(-rate)
    np.testing.assert_array_equal(kernels._rng_draws(17, 2000, 4, 1000, inv), want)


def test_compiled_tables_are_the_formulas():
    # _ziggurat.pxd (generated) holds exactly what _tables computes, and is
    # up to date with it
    got = kernels._compiled_tables()
    zk, zw, zf = _tables.ziggurat_tables(52)
    k23, w23, _ = _tables.ziggurat_tables(23)
    ek, ew, ef = _tables.exponential_tables()
    for name, want in [("ZIG_K", zk), ("ZIG_W", zw), ("ZIG_F", zf),
                       ("Z23_K", k23), ("Z23_W", w23), ("ZE_K", ek),
                       ("ZE_W", ew), ("ZE_F", ef)]:
        np.testing.assert_array_equal(got[name], want, err_msg=name)
    assert got["ZIG_R"] == ref.ZN_R and got["ZE_R"] == ref.ZE_R
    assert got["ZIG_INV_R"] == 1.0 / ref.ZN_R
    pxd = Path(_tables.__file__).with_name("_ziggurat.pxd")
    assert pxd.read_text() == _tables.render_pxd()


def test_tables_match_reference():
    k, w, f = kernels._ziggurat_tables()
    np.testing.assert_array_equal(k, np.array(ref.ZN_K, np.uint64))
    np.testing.assert_array_equal(w, ref.ZN_W)
    np.testing.assert_array_equal(f, ref.ZN_F)
    k, w, _ = kernels._ziggurat_tables(23)
    np.testing.assert_array_equal(k, np.array(ref.Z23_K, np.uint64))
    np.testing.assert_array_equal(w, ref.Z23_W)
    k, w, f = kernels._exponential_tables()
    np.testing.assert_array_equal(k, np.array(ref.ZE_K, np.uint64))
    np.testing.assert_array_equal(w, ref.ZE_W)


def test_row_seeds_reference_and_prefix_stable():
    np.testing.assert_array_equal(row_seeds(3, 7, 6, 50), ref.row_seeds(3, 7, 6, 50))
    for n in (1, 5, 17, 300):
        np.testing.assert_array_equal(row_seeds(3, 7, 6, 1000)[:n],
                                      row_seeds(3, 7, 6, n))


def test_uniform_ks_and_open_interval():
    u = ops.uniform(20, 10_000, seed=1, generation=0)
    assert u.min() > 0.0 and u.max() < 1.0
    assert stats.kstest(u.ravel(), "uniform").pvalue > 1e-3
    # rows are independent streams: correlation of neighbouring rows ~ 0
    c = np.corrcoef(u[:-1].ravel(), u[1:].ravel())[0, 1]
    assert abs(c) < 0.01


def test_standard_normal_ks_moments():
    z = ops.standard_normal(64, 5_000, seed=11, generation=2)
    assert z.dtype == np.float32 and z.shape == (64, 5_000)
    flat = z.ravel().astype(np.float64)
    assert stats.kstest(flat, "norm").pvalue > 1e-3
    assert abs(flat.mean()) < 0.005
    assert abs(flat.std() - 1.0) < 0.005
    # tails: P(|z| > 3.6541) (beyond the ziggurat's base layer) is honoured
    n_tail = int(np.sum(np.abs(flat) > ref.ZN_R))
    expect = flat.size * 2 * stats.norm.sf(ref.ZN_R)
    assert abs(n_tail - expect) < 5 * np.sqrt(expect) + 2


def test_exponential_ks():
    e = kernels._rng_draws(5, 100_000, 3)
    assert stats.kstest(e, "expon").pvalue > 1e-3


def test_bounded_chi_square():
    x = kernels._rng_draws(8, 70_000, 2, 7).astype(int)
    counts = np.bincount(x, minlength=7)
    assert stats.chisquare(counts).pvalue > 1e-3


def test_standard_normal_rows_subset_and_prefix():
    full = ops.standard_normal(10, 33, seed=5, generation=4)
    part = ops.standard_normal(3, 33, seed=5, generation=4, rows=[7, 2, 9])
    np.testing.assert_array_equal(part, full[[7, 2, 9]])
    np.testing.assert_array_equal(
        ops.standard_normal(4, 33, seed=5, generation=4), full[:4])
    other = ops.standard_normal(10, 33, seed=5, generation=5)
    assert not np.array_equal(other, full)
    stream = ops.standard_normal(10, 33, seed=5, generation=4,
                                 stream=STREAMS["init"])
    assert not np.array_equal(stream, full)


def test_standard_normal_matches_reference_rows():
    # 3 rows x 20,001 values: odd length, rejections and tail draws included
    z = ops.standard_normal(3, 20_001, seed=2, generation=1)
    seeds = ref.row_seeds(2, 1, STREAMS["es_noise"], 3)
    for i in range(3):
        want = ref.Rng(int(seeds[i])).fill_normal32(20_001)
        np.testing.assert_array_equal(z[i], want)


def _team(n_threads: int) -> list[int]:
    """The team report of a kernel run on ``n_threads`` threads."""
    return [n_threads] * n_threads if kernels.openmp_enabled() else [1]


def test_build_has_openmp():
    # a serial build is a deliberate choice (PYNEAT_LITE_NO_OPENMP=1 at build
    # time); otherwise the thread tests below must see real threads
    if os.environ.get("PYNEAT_LITE_NO_OPENMP"):
        assert not kernels.openmp_enabled()
    else:
        assert kernels.openmp_enabled(), (
            "the operators were built without OpenMP; see setup.py's probe")


def test_n_threads_argument_gives_identical_results():
    # large enough (> 2**16 values) to run on several threads
    outs = []
    for t in (1, 2, 3):
        outs.append(ops.standard_normal(37, 3000, seed=3, generation=1,
                                        n_threads=t))
        assert kernels._last_team() == _team(t)  # t threads really ran
    for o in outs[1:]:
        np.testing.assert_array_equal(o, outs[0])
    # below the threshold a kernel runs on one thread whatever n_threads
    ops.standard_normal(4, 100, seed=3, generation=1, n_threads=2)
    assert kernels._last_team() == [1]


_SCRIPT = textwrap.dedent(
    """
    import hashlib, json, numpy as np
    from pyneat_lite import operators as ops
    from pyneat_lite._operators import _last_team
    h = hashlib.sha256()
    teams = []

    def add(*arrays):
        for a in arrays:
            h.update(a.tobytes())
        teams.append(_last_team())

    rng = np.random.default_rng(0)
    par = rng.standard_normal((41, 3001)).astype(np.float32)
    fit = rng.random(41)
    fit[5] = np.nan
    out = np.empty((43, 3001), np.float32)
    for sel, cx, mut in [
        (ops.Tournament(3), ops.UniformCrossover(), ops.GaussianMutation(0.1, 0.1)),
        (ops.SUS(), ops.SBXCrossover(10.0), [ops.PolynomialMutation(0.2), ops.Clip()]),
        (ops.Rank(), ops.KPointCrossover(4), ops.UniformResetMutation(0.3)),
    ]:
        pairs = ops.next_generation(par, fit, out, selection=sel, crossover=cx,
                                    mutation=mut, elitism=3, seed=7, generation=2,
                                    crossover_prob=0.8, mutation_prob=0.9)
        add(out, pairs)
    add(ops.standard_normal(50, 2000, seed=1, generation=0))
    add(ops.GaussianMutation(0.05, 1.0).mutate(par, seed=1))
    add(ops.BLXCrossover().cross(par, par[::-1], seed=1))
    add(ops.Tournament(2).select(fit, 70_000, seed=4))
    add(ops.PatchCrossover((30, 100)).mate(par[:40, :3000], seed=2))
    print(json.dumps({"digest": h.hexdigest(), "teams": teams}))
    """
)


def test_thread_count_reproducibility_in_subprocesses():
    # n_threads=None everywhere: the thread count comes from OMP_NUM_THREADS
    runs = {}
    for n in (1, 2):
        env = dict(os.environ, OMP_NUM_THREADS=str(n))
        res = subprocess.run([sys.executable, "-c", _SCRIPT], env=env,
                             capture_output=True, text=True, check=True)
        runs[n] = json.loads(res.stdout)
    assert runs[1]["digest"] == runs[2]["digest"]
    assert len(runs[1]["digest"]) == len(hashlib.sha256().hexdigest())
    # every kernel call of the script really ran on OMP_NUM_THREADS threads
    assert runs[1]["teams"] == [[1]] * 8
    assert runs[2]["teams"] == [_team(2)] * 8


def test_golden_values():
    # pins the streams: a change here breaks every saved run's reproducibility
    # (bump deliberately, with a CHANGELOG line)
    assert [int(x) for x in kernels._rng_words(0, 3)] == [
        11091344671253066420, 13793997310169335082, 1900383378846508768]
    np.testing.assert_array_equal(
        ops.standard_normal(1, 3, seed=0, generation=0),
        np.array([[-0.4024789035320282, 1.0086824893951416,
                   -1.6961445808410645]], np.float32))
    assert ops.tournament_select([1.0, 5.0, 3.0, 2.0], 6, k=2,
                                 seed=0).tolist() == [1, 1, 3, 1, 1, 1]


_CIMPORTER = textwrap.dedent(
    """
    # cython: language_level=3
    # A third-party Cython module using the library's RNG and codes.
    from libc.stdint cimport uint64_t
    from pyneat_lite._operators._evolution cimport CX_SBX, MUT_CLIP, N_PRM, SEL_CDF
    from pyneat_lite._operators._rng cimport (
        Rng, rng_bounded, rng_exponential, rng_make, rng_next, rng_normal,
        rng_uniform,
    )

    def draws(uint64_t seed, Py_ssize_t n):
        cdef Rng r = rng_make(seed)
        cdef Py_ssize_t i
        words, normals, others = [], [], []
        for i in range(n):
            words.append(rng_next(&r))
            normals.append(rng_normal(&r))
            others.append((rng_uniform(&r), rng_bounded(&r, 1000),
                           rng_exponential(&r)))
        return words, normals, others

    def codes():
        return SEL_CDF, CX_SBX, MUT_CLIP, N_PRM
    """
)

_BUILD = textwrap.dedent(
    """
    import sys
    from Cython.Build import cythonize
    from setuptools import Extension, setup
    setup(
        name="use_rng",
        script_args=["build_ext", "--inplace", "-q"],
        ext_modules=cythonize([Extension("use_rng", ["use_rng.pyx"])],
                              include_path=[sys.argv[1]], quiet=True),
    )
    """
)


def test_other_cython_modules_cimport_the_rng(tmp_path):
    # the .pxd files are the RNG's C interface: a module compiled apart from
    # the library must draw the same stream (slow paths included: 5,000
    # normals and exponentials reach them through _rng's C API)
    (tmp_path / "use_rng.pyx").write_text(_CIMPORTER)
    root = str(Path(pyneat_lite.__file__).parents[1])
    subprocess.run([sys.executable, "-c", _BUILD, root], cwd=tmp_path,
                   check=True, capture_output=True, text=True)
    probe = textwrap.dedent(
        """
        import json, sys
        sys.path.insert(0, sys.argv[1])
        import use_rng
        words, normals, others = use_rng.draws(2024, 5000)
        print(json.dumps({"words": [str(w) for w in words], "normals": normals,
                          "others": others, "codes": use_rng.codes()}))
        """
    )
    res = subprocess.run([sys.executable, "-c", probe, str(tmp_path)],
                         check=True, capture_output=True, text=True)
    got = json.loads(res.stdout)
    r = ref.Rng(2024)
    for i in range(5000):
        assert int(got["words"][i]) == r.next()
        assert got["normals"][i] == r.normal()
        assert got["others"][i] == [r.uniform(), r.bounded(1000), r.exponential()]
    codes = kernels.SelectionCode, kernels.CrossoverCode, kernels.MutationCode
    assert got["codes"] == [codes[0].SEL_CDF, codes[1].CX_SBX,
                            codes[2].MUT_CLIP, kernels.N_PRM]
