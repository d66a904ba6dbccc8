"""The pyneat-lite command: end to end on small settings, clean failures."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import pyneat_lite as pn
from pyneat_lite.cli import main

MNIST = str(Path(__file__).parent / "data" / "mnist-1000")


@pytest.fixture(autouse=True)
def _no_env_data(monkeypatch):
    monkeypatch.delenv("PYNEAT_LITE_MNIST", raising=False)
    monkeypatch.delenv("PYNEAT_LITE_BENCHMARKS", raising=False)


def test_run_cartpole_plot_checkpoint_and_resume(tmp_path, capsys):
    ckpt, plot, out = tmp_path / "run.ckpt", tmp_path / "fit.png", tmp_path / "out"
    rc = main(
        [
            "run",
            "cartpole",
            "--generations",
            "3",
            "--pop",
            "16",
            "--quiet",
            "--plot",
            str(plot),
            "--checkpoint",
            str(ckpt),
            "--out",
            str(out),
        ]
    )
    text = capsys.readouterr().out
    assert rc == 0
    assert "GA, population 16, 114 parameters" in text
    m = re.search(r"(\w+): (\d+) generations in .* best mean return ([\d.]+)", text)
    assert m and m.group(1) in ("generations", "target") and int(m.group(2)) <= 3
    assert "new episodes" in text and "gymnasium" in text
    assert plot.stat().st_size > 0 and ckpt.is_file()
    # the saved policy is the best genome, and reproduces its return
    with np.load(out / "cartpole_policy.npz") as f:
        genome = f["genome"]
    net = pn.Network([4, 16, 2], ["tanh", "linear"])
    assert np.isfinite(pn.envs.rollout(net, genome[None], pn.envs.CartPole())[0])

    saved = pn.load(ckpt)
    rc = main(
        ["run", "cartpole", "--resume", str(ckpt), "--generations", "2", "--quiet"]
    )
    text = capsys.readouterr().out
    assert rc == 0
    assert f"resumed at generation {saved.generation}" in text
    assert pn.load(ckpt).generation > saved.generation  # saved again in place


def test_run_digits_with_an_evolution_strategy(capsys):
    rc = main(
        [
            "run",
            "digits",
            "--algorithm",
            "openes",
            "--generations",
            "3",
            "--pop",
            "8",
            "--quiet",
            "--seed",
            "1",
        ]
    )
    text = capsys.readouterr().out
    assert rc == 0
    assert "OpenES, population 8, 2410 parameters" in text
    m = re.search(r"test accuracy ([\d.]+) \(3\d\d test samples\)", text)
    assert m and 0.0 <= float(m.group(1)) <= 1.0
    assert "confusion matrix" in text


@pytest.mark.parametrize("task", ["mnist", "image7", "gan"])
def test_run_mnist_tasks_on_the_test_subset(task, tmp_path, capsys):
    rc = main(
        [
            "run",
            task,
            "--data",
            MNIST,
            "--generations",
            "2",
            "--pop",
            "8",
            "--quiet",
            "--out",
            str(tmp_path),
        ]
    )
    text = capsys.readouterr().out
    assert rc == 0, text
    assert re.search(r"(generations|target): \d+ generations in", text)
    if task == "mnist":
        assert re.search(r"\((19|20)\d test samples\)", text)
    else:
        png = tmp_path / ("image7.png" if task == "image7" else "gan_samples.png")
        assert png.stat().st_size > 0


def test_mnist_data_from_environment_variable(monkeypatch, capsys):
    monkeypatch.setenv("PYNEAT_LITE_MNIST", MNIST)
    assert main(["run", "mnist", "--generations", "1", "--pop", "4", "--quiet"]) == 0
    assert "test accuracy" in capsys.readouterr().out


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


@pytest.mark.parametrize(
    "argv, match",
    [
        (["run", "nosuchtask"], "invalid choice"),
        (["run", "cartpole", "--pop", "0"], "positive integer"),
        (["run", "cartpole", "--generations", "x"], "positive integer"),
        (["run", "cartpole", "--algorithm", "adam"], "invalid choice"),
        (["run", "cartpole", "--seed", "-1"], "integer >= 0"),
        (["run", "cartpole", "--time-limit", "0"], "positive number"),
        (["bench", "gpu"], "invalid choice"),
        (["frobnicate"], "invalid choice"),
        ([], "required"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(argv, match, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    line = _one_line_error(capsys)
    assert line.startswith("pyneat-lite") and match in line and "--help" in line


@pytest.mark.parametrize(
    "argv, match",
    [
        (["run", "mnist"], "needs MNIST IDX files"),
        (["run", "image7", "--data", "/nonexistent/mnist"], "no MNIST data at"),
        (["run", "gan", "--data", str(Path(__file__))],
         "--data must name the folder that holds the MNIST IDX files, not a file"),
        (["run", "cartpole", "--resume", "/nonexistent.ckpt"], "no checkpoint at"),
    ],
)
def test_missing_data_exit_2_with_one_line(argv, match, capsys):
    assert main(argv) == 2
    line = _one_line_error(capsys)
    assert line.startswith("pyneat-lite run: error:") and match in line


def test_resume_with_another_task_or_a_bad_file(tmp_path, capsys):
    ckpt = tmp_path / "cp.ckpt"
    assert (
        main(
            [
                "run",
                "cartpole",
                "--generations",
                "1",
                "--pop",
                "4",
                "--quiet",
                "--checkpoint",
                str(ckpt),
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert main(["run", "digits", "--resume", str(ckpt), "--quiet"]) == 2
    assert "holds genomes of 114 values" in _one_line_error(capsys)
    bad = tmp_path / "bad.ckpt"
    bad.write_bytes(b"not a checkpoint")
    assert main(["run", "cartpole", "--resume", str(bad), "--quiet"]) == 2
    assert "cannot resume" in _one_line_error(capsys)


def test_bench_runs_the_scripts_of_the_folder(tmp_path, monkeypatch, capsys):
    for name in ("forward", "operators"):
        (tmp_path / f"bench_{name}.py").write_text(
            f"import sys\nprint('{name} ran', sys.argv[1:])\n"
        )
    monkeypatch.setenv("PYNEAT_LITE_BENCHMARKS", str(tmp_path))
    rc = subprocess.run(
        [sys.executable, "-m", "pyneat_lite.cli", "bench", "all", "--quick"],
        capture_output=True,
        text=True,
        env={**_env(), "PYNEAT_LITE_BENCHMARKS": str(tmp_path)},
    )
    assert rc.returncode == 0, rc.stderr
    assert "forward ran ['--quick']" in rc.stdout and "operators ran" in rc.stdout
    assert "bench_rl.py not found, skipped" in rc.stdout
    assert main(["bench", "rl"]) == 2
    assert "benchmark script not found" in _one_line_error(capsys)
    monkeypatch.setenv("PYNEAT_LITE_BENCHMARKS", str(tmp_path / "missing"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("pyneat_lite.cli._benchmarks_dir", lambda: None)
    assert main(["bench", "forward"]) == 2
    assert "benchmarks not found" in _one_line_error(capsys)


def _env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if k != "PYNEAT_LITE_MNIST"}


def test_console_script_help_and_error():
    exe = Path(sys.executable).with_name("pyneat-lite")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "pyneat_lite.cli"]
    top = subprocess.run([*cmd, "--help"], capture_output=True, text=True)
    assert top.returncode == 0 and "{run,bench}" in top.stdout
    run = subprocess.run([*cmd, "run", "--help"], capture_output=True, text=True)
    assert run.returncode == 0
    for word in (
        "cartpole",
        "digits",
        "mnist",
        "image7",
        "gan",
        "--generations",
        "--pop",
        "--algorithm",
        "--seed",
        "--plot",
        "--checkpoint",
        "--resume",
        "--data",
    ):
        assert word in run.stdout
    bench = subprocess.run([*cmd, "bench", "--help"], capture_output=True, text=True)
    assert bench.returncode == 0 and "forward" in bench.stdout
    bad = subprocess.run(
        [*cmd, "run", "cartpole", "--pop", "-3"], capture_output=True, text=True
    )
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1


def test_run_without_tqdm_prints_text_progress(monkeypatch, capsys):
    """A plain `pip install .` has no tqdm: the run still shows its progress."""
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec",
        lambda name, *a: None if name == "tqdm" else real(name, *a),
    )
    rc = main(["run", "cartpole", "--generations", "2", "--pop", "16"])
    text = capsys.readouterr().out
    assert rc == 0
    assert re.search(r"generation\s+[12]\s+best [\d.]+", text)
