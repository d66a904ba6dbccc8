"""First contact (issue 15): what a new user meets before reading any docs --
progress without tqdm, a short ``print(result)``, one policy format, an
unbuilt source tree, the first-run compilation notice, ``bench --quick``."""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import pyneat_lite as pn
from pyneat_lite.cli import BENCHMARKS

ROOT = Path(pn.__file__).resolve().parent.parent


def _sphere(pop):
    return -np.sum(pop.astype(np.float64) ** 2, axis=1)


def test_progress_without_tqdm_prints_plain_lines(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "tqdm", None)  # import tqdm -> ImportError
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    ga = pn.GA(n_params=5, pop_size=8, seed=0)
    result = ga.run(_sphere, generations=3, progress=True)
    lines = capsys.readouterr().err.strip().splitlines()
    assert 1 <= len(lines) <= 3  # at most one line per half second, plus the end
    last = re.fullmatch(
        r"GA: generation (\d+)/3  best (\S+)  \(this generation (\S+), [\d.]+ s\)",
        lines[-1])
    assert last, lines[-1]
    assert int(last.group(1)) == 3
    assert float(last.group(2)) == pytest.approx(result.best_fitness, rel=1e-5)
    assert float(last.group(3)) == pytest.approx(np.nanmax(ga.fitness), rel=1e-5)


def test_qd_scheduler_progress_without_tqdm(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    archive = pn.qd.GridArchive(solution_dim=3, dims=(5, 5),
                                ranges=[(-1.0, 1.0), (-1.0, 1.0)])
    emitter = pn.qd.GaussianEmitter(archive, np.zeros(3), sigma=0.3, batch_size=8,
                                    seed=0)
    sched = pn.qd.Scheduler(archive, [emitter])

    def fn(pop):
        return _sphere(pop), np.clip(pop[:, :2], -1.0, 1.0)

    sched.run(fn, generations=3, progress=True)
    last = capsys.readouterr().err.strip().splitlines()[-1]
    m = re.fullmatch(r"Scheduler: iteration 3/3  coverage ([\d.]+)%  qd (\S+)  "
                     r"\([\d.]+ s\)", last)
    assert m, last
    assert float(m.group(1)) == pytest.approx(100 * archive.stats.coverage, abs=0.01)


def test_result_repr_is_one_short_line():
    result = pn.GA(n_params=1000, pop_size=16, seed=0).run(_sphere, generations=2)
    text = repr(result)
    assert "\n" not in text and len(text) < 250, text
    assert text.startswith(f"Result(best_fitness={result.best_fitness:.6g}, "
                           "stop_reason='generations', generation=2,")
    assert "best=<1000 genes>" in text and "hall_of_fame=<10 genomes>" in text
    assert str(result) == text


def test_policy_round_trip_and_the_formats_written_before(tmp_path):
    net = pn.Network([4, 16, 2], ["tanh", "linear"])
    genome = net.init_population(1, seed=3)[0]
    path = tmp_path / "p.npz"
    pn.save_policy(path, net, genome)
    net2, genome2 = pn.load_policy(path)
    assert net2 == net and genome2.dtype == np.float32
    np.testing.assert_array_equal(genome2, genome)
    with np.load(path, allow_pickle=False) as z:  # plain NumPy reads it
        meta = json.loads(bytes(z["__policy__"]).decode())
        assert meta == {"format": "pyneat_lite.policy", "version": 1,
                        "network": net.to_config()}
    # what `pyneat-lite run --out` and examples/cartpole.py wrote before
    old_cli, old_example = tmp_path / "cli.npz", tmp_path / "ex.npz"
    np.savez(old_cli, genome=genome, sizes=np.array(net.sizes),
             activations=np.array(net.activations))
    np.savez(old_example, genome=genome, network=json.dumps(net.to_config()))
    for p in (old_cli, old_example):
        n, g = pn.load_policy(p)
        assert n == net
        np.testing.assert_array_equal(g, genome)
    bad = tmp_path / "bad.npz"
    np.savez(bad, genome=genome[:5], network=json.dumps(net.to_config()))
    with pytest.raises(ValueError, match="bad.npz.*114"):
        pn.load_policy(bad)
    with pytest.raises(ValueError, match="'genome'"):
        pn.save_policy(path, net, genome[:-1])


def test_cli_saves_the_policy_load_policy_reads(tmp_path, capsys):
    from pyneat_lite.cli import main

    rc = main(["run", "cartpole", "--generations", "2", "--pop", "16", "--quiet",
               "--out", str(tmp_path)])
    assert rc == 0 and "pn.load_policy" in capsys.readouterr().out
    net, genome = pn.load_policy(tmp_path / "cartpole_policy.npz")
    assert net == pn.Network([4, 16, 2], ["tanh", "linear"])
    assert genome.shape == (net.n_params,)


def test_unbuilt_source_tree_says_what_to_do(tmp_path):
    # a checkout without the compiled extensions, imported from its root
    skip = shutil.ignore_patterns("*.so", "*.pyd", "*.c", "__pycache__")
    shutil.copytree(ROOT / "pyneat_lite", tmp_path / "pyneat_lite", ignore=skip)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    res = subprocess.run(
        [sys.executable, "-c", "import pyneat_lite as pn; pn.GA(n_params=3)"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 1
    last = res.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError: pyneat_lite's compiled operators are "
                           f"missing from {tmp_path / 'pyneat_lite' / '_operators'}")
    assert "unbuilt source tree" in last and "pip install -e ." in last


def test_first_run_notice_follows_numba_cache(tmp_path):
    """With an empty cache (a fresh process) the kernel is not cached; once it
    ran with this process's cache, it is (cache=True saves it)."""
    from pyneat_lite._kernels.rollout import rollout_serial
    from pyneat_lite._warmup import kernels_cached

    net = pn.Network([4, 2], "linear")
    pn.envs.rollout(net, net.init_population(1, seed=0), pn.envs.CartPole(),
                    episodes=1, max_steps=2, n_threads=1)  # rollout_serial
    assert kernels_cached(rollout_serial)
    code = ("from pyneat_lite._warmup import kernels_cached\n"
            "from pyneat_lite._kernels.rollout import rollout_serial as k\n"
            "print(kernels_cached(k))\n")
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "empty"))
    res = subprocess.run([sys.executable, "-c", code], env=env,
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == ["False"]


@pytest.mark.parametrize("script", ["forward", "operators", "rl"])
def test_bench_all_scripts_take_quick(script):
    """`pyneat-lite bench all --quick` passes --quick to each of these."""
    path = ROOT / "benchmarks" / BENCHMARKS[script]
    options = {
        node.args[0].value
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Call)
        and getattr(node.func, "attr", "") == "add_argument"
        and node.args and isinstance(node.args[0], ast.Constant)
    }
    assert "--quick" in options
