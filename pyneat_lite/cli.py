"""The ``pyneat-lite`` command: run a demo task, or the benchmarks.

Usage::

    pyneat-lite run cartpole                  # no data needed; well under a minute
    pyneat-lite run mountaincar               # also acrobot, mountaincar-continuous,
                                              # swingup
    pyneat-lite run digits --algorithm ga --generations 200
    pyneat-lite run mnist --data ../shared/data/mnist --plot mnist.png
    pyneat-lite run image7 --data DIR --out images/
    pyneat-lite run gan --data DIR --out images/
    pyneat-lite bench forward
    pyneat-lite run cartpole --checkpoint run.ckpt --generations 5
    pyneat-lite run cartpole --resume run.ckpt --generations 5

Tasks:

- ``cartpole``: a 4-16-2 policy for CartPole-v1 on the Numba environment,
  checked on new episodes (and on gymnasium when it is installed).
- ``acrobot``, ``mountaincar``, ``mountaincar-continuous``: policies for
  Acrobot-v1, MountainCar-v0 and MountainCarContinuous-v0 on the Numba
  environments, until they reach gymnasium's reward threshold on 100 fresh
  episodes; checked on 100 gymnasium episodes.
- ``swingup``: a 5-16-1 policy for CartPole swing-up (pole starting down).
- ``digits``: a 64-32-10 classifier on scikit-learn's 8x8 digits
  (1437 train / 360 test), fitness = negative cross-entropy.
- ``mnist``: a 784-32-10 classifier on MNIST IDX files (``--data`` or the
  ``PYNEAT_LITE_MNIST`` environment variable): 8,000 train / 2,000 test
  images (stratified, seed 0), fitness on a new minibatch of 512 per
  generation.
- ``image7``: a 28x28 image evolved until a small CNN (PyTorch, trained
  first on the MNIST data) calls it a 7.
- ``gan``: a generator network (latent 100 -> 784, sigmoid) evolved against
  a discriminator trained by gradient each generation (PyTorch).

Bad arguments and a missing data path print one line and exit with status 2.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import numpy as np

if TYPE_CHECKING:
    from .tasks.demos import Demo

__all__ = ["main", "TASKS", "BENCHMARKS"]

#: task name -> one-line description (``pyneat-lite run --help``)
TASKS: dict[str, str] = {
    "cartpole": "4-16-2 policy for CartPole-v1 (Numba env); no data needed",
    "acrobot": "6-16-3 policy for Acrobot-v1 (Numba env), SNES; no data needed",
    "mountaincar": "2-16-3 policy for MountainCar-v0 (Numba env, scaled inputs)",
    "mountaincar-continuous": "2-16-1 policy for MountainCarContinuous-v0 "
    "(Numba env, scaled inputs)",
    "swingup": "5-16-1 policy for CartPole swing-up (Numba env)",
    "digits": "64-32-10 classifier on scikit-learn's 8x8 digits",
    "mnist": "784-32-10 classifier on MNIST IDX files (--data)",
    "image7": "evolve a 28x28 image a torch CNN calls a 7 (--data, needs torch)",
    "gan": "evolve a 100->784 generator against a torch discriminator (--data)",
}
#: benchmark name -> script in the repository's benchmarks/ folder
BENCHMARKS: dict[str, str] = {
    "forward": "bench_forward.py",
    "operators": "bench_operators.py",
    "rl": "bench_rl.py",
    "quality": "bench_quality.py",
    "envs": "bench_envs.py",
}
_ALGORITHMS = ("ga", "openes", "snes", "sepcma", "cem", "pgpe")
_DATA_ENV = "PYNEAT_LITE_MNIST"
_CONTROL_TASKS = ("cartpole", "acrobot", "mountaincar", "mountaincar-continuous",
                  "swingup")


class UsageError(Exception):
    """A problem with the command line or its inputs: one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error message (and exit status 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def _checked_number(
    convert: Callable[[str], Any], ok: Callable[[Any], bool], expected: str
) -> Callable[[str], Any]:
    """An argparse ``type``: ``convert(text)``, refused unless ``ok``."""

    def parse(text: str) -> Any:
        try:
            v = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected {expected}, got {text!r}"
            ) from None
        if not ok(v):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
        return v

    return parse


_positive_int = _checked_number(int, lambda v: v >= 1, "a positive integer")
_seed = _checked_number(int, lambda v: v >= 0, "an integer >= 0")
_positive_float = _checked_number(
    float, lambda v: v > 0 and bool(np.isfinite(v)), "a positive number"
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``pyneat-lite`` (sub-commands ``run`` and ``bench``)."""
    from ._version import __version__

    parser = _Parser(
        prog="pyneat-lite",
        description="Neuroevolution on the CPU: run a demo task or the benchmarks.",
    )
    parser.add_argument(
        "--version", action="version", version=f"pyneat_lite {__version__}"
    )
    sub = parser.add_subparsers(
        dest="command", metavar="{run,bench}", parser_class=_Parser
    )
    sub.required = True

    run = sub.add_parser(
        "run",
        help="evolve a solution to one of the demo tasks",
        description="Evolve a solution to a demo task, with a progress bar and a "
        "final summary. Tasks: "
        + "; ".join(f"{k}: {v}" for k, v in TASKS.items())
        + ".",
    )
    run.add_argument("task", choices=tuple(TASKS), help="the task to run")
    run.add_argument(
        "--generations",
        type=_positive_int,
        metavar="N",
        help="generations to run (default: per task)",
    )
    run.add_argument(
        "--pop",
        type=_positive_int,
        metavar="N",
        help="population size (default: per task)",
    )
    run.add_argument(
        "--algorithm", choices=_ALGORITHMS, help="search algorithm (default: per task)"
    )
    run.add_argument(
        "--seed", type=_seed, default=0, metavar="S", help="seed (default 0)"
    )
    run.add_argument(
        "--time-limit",
        type=_positive_float,
        metavar="SECONDS",
        help="stop after this many seconds",
    )
    run.add_argument(
        "--plot", metavar="PATH", help="save the fitness history plot there"
    )
    run.add_argument(
        "--checkpoint",
        metavar="PATH",
        help="save a checkpoint there every 10 generations and at the end",
    )
    run.add_argument(
        "--resume",
        metavar="PATH",
        help="continue the run saved in this checkpoint (same task)",
    )
    run.add_argument(
        "--data",
        metavar="DIR",
        help=f"MNIST IDX directory for mnist/image7/gan (default: ${_DATA_ENV})",
    )
    run.add_argument(
        "--out",
        metavar="DIR",
        help="save images there (image7, gan) and the policy (control tasks)",
    )
    run.add_argument("--quiet", action="store_true", help="no progress bar")

    bench = sub.add_parser(
        "bench",
        help="run the benchmarks (benchmarks/bench_*.py of the source tree)",
        description="Run the benchmark scripts of the repository's benchmarks/ "
        "folder (they are not installed with the package: run from a source "
        "checkout, or point PYNEAT_LITE_BENCHMARKS at the folder).",
    )
    bench.add_argument(
        "which",
        nargs="?",
        default="all",
        choices=(*BENCHMARKS, "all"),
        help="which benchmark (default all: forward, operators and rl; quality "
        "and envs run only when named, they take minutes)",
    )
    bench.add_argument(
        "script_args",
        nargs=argparse.REMAINDER,
        metavar="...",
        help="arguments passed on to the script(s), e.g. --quick or --repeats 3",
    )
    return parser


# ------------------------------------------------------------------- tasks
def _data_dir(args: argparse.Namespace) -> Path:
    path = args.data or os.environ.get(_DATA_ENV)
    if not path:
        raise UsageError(
            f"task {args.task!r} needs MNIST IDX files: give --data DIR or set "
            f"{_DATA_ENV}"
        )
    p = Path(path)
    if p.is_file():
        raise UsageError(
            f"--data must name the folder that holds the MNIST IDX files, not a "
            f"file: got {str(p)!r} (try {str(p.parent)!r})"
        )
    stem = "t10k-images-idx3-ubyte"
    found = p.is_dir() and any(
        (p / name).is_file()
        for name in (
            stem,
            stem + ".gz",
            stem.replace("-idx", ".idx"),
            stem.replace("-idx", ".idx") + ".gz",
        )
    )
    if not found:
        raise UsageError(f"no MNIST data at {str(p)!r} (expected {stem}[.gz] there)")
    return p


def _import_torch(task: str) -> None:
    try:
        import torch  # noqa: F401
    except ImportError:
        raise UsageError(
            f'task {task!r} needs PyTorch: pip install "pyneat_lite[torch]" '
            '(from a checkout: pip install ".[torch]")'
        ) from None


def _build_task(args: argparse.Namespace) -> Demo:
    """The demo of ``args.task`` (tasks/demos.py), its inputs checked first."""
    from .tasks import demos

    name = args.task
    out = Path(args.out) if args.out else None
    control = {"cartpole": demos.cartpole, "acrobot": demos.acrobot,
               "mountaincar": demos.mountaincar,
               "mountaincar-continuous": demos.mountaincar_continuous,
               "swingup": demos.swingup}
    if name in control:
        return control[name](seed=args.seed, out=out)
    if name == "digits":
        if importlib.util.find_spec("sklearn") is None:
            raise UsageError(
                'task \'digits\' needs scikit-learn: pip install scikit-learn (or '
                'pip install "pyneat_lite[sklearn]"; from a checkout: '
                'pip install ".[sklearn]")'
            )
        return demos.digits(seed=args.seed)
    if name in ("image7", "gan"):
        _import_torch(name)
    data = _data_dir(args)
    if name == "mnist":
        return demos.mnist(data, seed=args.seed)
    build = demos.image7 if name == "image7" else demos.gan
    return build(data, seed=args.seed, out=out)


def _make_algorithm(task: Demo, name: str, pop: int, seed: int) -> Any:
    from .algorithms import ALGORITHMS

    if name == "ga":
        if task.make_ga is not None:
            return task.make_ga(pop, seed)
        init = task.init_population(pop, seed) if task.init_population else None
        return ALGORITHMS["ga"](
            n_params=task.n_params,
            pop_size=pop,
            seed=seed,
            initial_population=init,
            **task.ga_kwargs,
        )
    return ALGORITHMS[name](
        n_params=task.n_params, pop_size=pop, seed=seed, x0=task.x0, **task.es_kwargs
    )


class _TextProgress:
    """Run callback printing one progress line at most every half second."""

    def __init__(self, interval: float = 0.5) -> None:
        self.interval = interval
        self.t0 = time.perf_counter()
        self.last = -float("inf")

    def __call__(self, algo: Any) -> bool:
        now = time.perf_counter()
        if now - self.last >= self.interval:
            self.last = now
            f = algo.fitness
            last = np.fmin.reduce(f) if algo.minimize else np.fmax.reduce(f)
            print(
                f"  generation {algo.generation:5d}  best {algo.best_fitness:.6g}  "
                f"this generation {last:.6g}  ({now - self.t0:.1f} s)",
                flush=True,
            )
        return False


def _check_output_paths(args: argparse.Namespace) -> None:
    """Fail before the run, not after it, on paths the run will write."""
    for option, value in (("--checkpoint", args.checkpoint), ("--plot", args.plot)):
        if value is None:
            continue
        p = Path(value)
        if p.is_dir():
            raise UsageError(f"{option} must name a file, not the directory {value!r}")
        parent = p.resolve().parent
        if not parent.is_dir():
            raise UsageError(
                f"{option} {value!r}: the directory {str(parent)!r} does not exist"
            )
        if not os.access(parent, os.W_OK):
            raise UsageError(
                f"{option} {value!r}: the directory {str(parent)!r} is not writable"
            )
    if args.plot and importlib.util.find_spec("matplotlib") is None:
        raise UsageError(
            '--plot needs matplotlib: pip install matplotlib (or pip install '
            '"pyneat_lite[plot]"; from a checkout: pip install ".[plot]")'
        )


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def _first_run_notice(task: str) -> None:
    """Say so when the kernels the task needs are not in Numba's cache yet:
    the first run spends its first tens of seconds compiling, in silence
    otherwise."""
    from ._warmup import kernels_cached

    if task in _CONTROL_TASKS:
        from ._kernels.rollout import rollout_serial as kernel
    else:
        from ._kernels.forward import forward_shared_gemm as kernel
    if not kernels_cached(kernel):
        print("compiling kernels (first run only: later runs load them from "
              "Numba's cache) ...", flush=True)


def _cmd_run(args: argparse.Namespace) -> int:
    from .checkpoint import load

    if args.resume and not Path(args.resume).is_file():
        raise UsageError(f"no checkpoint at {args.resume!r}")
    _check_output_paths(args)
    task = _build_task(args)
    for line in task.notes:
        print(line)
    if args.resume:
        try:
            algo = load(args.resume)
        except (ValueError, TypeError, OSError) as exc:
            raise UsageError(
                f"cannot resume from {args.resume!r}: {_one_line(exc)}"
            ) from None
        if args.algorithm and args.algorithm != algo.name:
            raise UsageError(
                f"--algorithm {args.algorithm} does not match the checkpoint "
                f"{args.resume!r}, which holds a {algo.name} run (leave "
                "--algorithm out to resume it)"
            )
        if args.pop and args.pop != algo.pop_size:
            raise UsageError(
                f"--pop {args.pop} does not match the checkpoint {args.resume!r}, "
                f"whose population is {algo.pop_size} (leave --pop out to resume it)"
            )
        if algo.n_params != task.n_params:
            raise UsageError(
                f"the checkpoint {args.resume!r} holds genomes of {algo.n_params} "
                f"values, but task {args.task!r} needs {task.n_params}"
            )
        # run() restores the fitness's saved state (minibatch or episode
        # counter, normaliser): the resumed run draws what the whole would.
        name = algo.name
    else:
        name = args.algorithm or task.algorithm
        pop = args.pop or task.pop
        try:
            algo = _make_algorithm(task, name, pop, args.seed)
        except (ValueError, TypeError) as exc:
            # e.g. --pop 1, or an odd --pop for an antithetic ES
            raise UsageError(
                f"--algorithm {name} --pop {pop}: {_one_line(exc)}"
            ) from None
    generations = args.generations or (None if args.time_limit else task.generations)
    ckpt = args.checkpoint or args.resume
    print(
        f"pyneat-lite run {args.task}: {type(algo).__name__}, population "
        f"{algo.pop_size}, {task.n_params} parameters"
        + (f", resumed at generation {algo.generation}" if args.resume else "")
    )
    _first_run_notice(args.task)
    # tqdm is optional ([progress] extra): without it, print plain lines.
    use_bar = not args.quiet and importlib.util.find_spec("tqdm") is not None
    callbacks = () if args.quiet or use_bar else (_TextProgress(),)
    callbacks = (*callbacks, *task.callbacks)
    result = algo.run(
        task.fitness,
        generations=generations,
        target=task.target,
        time_limit=args.time_limit,
        progress=use_bar,
        callbacks=callbacks,
        checkpoint_every=10 if ckpt else None,
        checkpoint_path=ckpt,
    )
    h = result.history
    step = max(1, len(h["max"]) // 8)
    print(
        "best / mean fitness by generation: "
        + ", ".join(
            f"{int(g)}: {b:.4g} / {m:.4g}"
            for g, b, m in zip(
                h["generation"][::step],
                h["max"][::step],
                h["mean"][::step],
                strict=True,
            )
        )
    )
    print(
        f"{result.stop_reason}: {result.generations_run} generations in "
        f"{result.elapsed:.1f} s ({result.evaluations} evaluations in total), "
        + (
            f"best {task.fitness_name} {result.best_fitness:.4f}"
            if task.stationary
            else f"last generation's best {task.fitness_name} "
            f"{result.history['max'][-1]:.4f}"
        )
    )
    for line in task.summary(result.best):
        print(line)
    if args.plot:
        result.plot(args.plot)
        print(f"saved the fitness plot to {args.plot}")
    if ckpt:
        print(f"checkpoint: {ckpt} (continue with --resume {ckpt})")
    return 0


def _benchmarks_dir() -> Path | None:
    env = os.environ.get("PYNEAT_LITE_BENCHMARKS")
    candidates = [Path(env)] if env else []
    # a source checkout (editable install): benchmarks/ beside the package
    candidates.append(Path(__file__).resolve().parent.parent / "benchmarks")
    candidates.append(Path.cwd() / "benchmarks")
    for c in candidates:
        if c.is_dir() and any(c.glob("bench_*.py")):
            return c
    return None


def _cmd_bench(args: argparse.Namespace) -> int:
    folder = _benchmarks_dir()
    if folder is None:
        raise UsageError(
            "benchmarks not found: they live in the source repository's benchmarks/ "
            "folder; run from a checkout or set PYNEAT_LITE_BENCHMARKS"
        )
    names = ["forward", "operators", "rl"] if args.which == "all" else [args.which]
    scripts = [(n, folder / BENCHMARKS[n]) for n in names]
    missing = [str(s) for _, s in scripts if not s.is_file()]
    if missing and args.which != "all":
        raise UsageError(f"benchmark script not found: {missing[0]}")
    status = 0
    for name, script in scripts:
        if not script.is_file():
            print(f"== {name}: {script} not found, skipped")
            continue
        print(f"== {name}: {script}", flush=True)
        cmd = [sys.executable, str(script), *args.script_args]
        rc = subprocess.call(cmd)
        status = status or rc
    return status


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``pyneat-lite``; returns the exit status.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments without the program name (default ``sys.argv[1:]``).

    Returns
    -------
    int
        0 on success, 2 on bad arguments or a missing data path (one line on
        stderr), or the failing benchmark's status.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "run":
            return _cmd_run(args)
        return _cmd_bench(args)
    except UsageError as exc:
        prog = f"pyneat-lite {args.command}"
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover - python -m pyneat_lite.cli
    sys.exit(main())
