"""The ``pyneat-lite`` command: run a demo task, or the benchmarks.

Usage::

    pyneat-lite run cartpole                  # no data needed; well under a minute
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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

__all__ = ["main", "TASKS", "BENCHMARKS"]

#: task name -> one-line description (``pyneat-lite run --help``)
TASKS: dict[str, str] = {
    "cartpole": "4-16-2 policy for CartPole-v1 (Numba env); no data needed",
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
}
_ALGORITHMS = ("ga", "openes", "snes", "sepcma", "cem", "pgpe")
_DATA_ENV = "PYNEAT_LITE_MNIST"


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
        help="save images there (image7, gan) and the policy (cartpole)",
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
        "runs only when named, it takes minutes)",
    )
    bench.add_argument(
        "script_args",
        nargs=argparse.REMAINDER,
        metavar="...",
        help="arguments passed on to the script(s), e.g. --quick or --repeats 3",
    )
    return parser


# ------------------------------------------------------------------- tasks
@dataclass
class Task:
    """What ``run`` needs to know about a task."""

    n_params: int
    fitness: Callable[[np.ndarray], np.ndarray]
    algorithm: str
    pop: int
    generations: int
    make_ga: Callable[[int, int], Any] | None = None
    x0: np.ndarray | None = None
    init_population: Callable[[int, int], np.ndarray] | None = None
    es_kwargs: dict[str, Any] = field(default_factory=dict)
    ga_kwargs: dict[str, Any] = field(default_factory=dict)
    target: float | None = None
    fitness_name: str = "fitness"
    #: False when fitness values of different generations are not comparable
    #: (the GAN's discriminator keeps learning): report the last generation's
    stationary: bool = True
    summary: Callable[[np.ndarray], list[str]] = lambda best: []


def _data_dir(args: argparse.Namespace) -> Path:
    path = args.data or os.environ.get(_DATA_ENV)
    if not path:
        raise UsageError(
            f"task {args.task!r} needs MNIST IDX files: give --data DIR or set "
            f"{_DATA_ENV}"
        )
    p = Path(path)
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


def _mnist_split(args: argparse.Namespace) -> tuple[np.ndarray, ...]:
    from .tasks.datasets import load_mnist, train_test_split

    X, y = load_mnist(_data_dir(args))
    n_test = min(2000, max(10, len(y) // 5))
    return train_test_split(X, y, test_size=n_test, seed=0)


def _import_torch(task: str) -> Any:
    try:
        import torch
    except ImportError:
        raise UsageError(
            f"task {task!r} needs PyTorch: pip install pyneat_lite[torch]"
        ) from None
    return torch


def _task_cartpole(args: argparse.Namespace) -> Task:
    from . import Network
    from .tasks.envs import CartPole, Rollout, rollout

    net = Network([4, 16, 2], ["tanh", "linear"])
    env = CartPole()
    # 10 episodes with new start states each generation: a policy must be
    # robust, not lucky, to reach the target of 500 (the maximum).
    fitness = Rollout(net, env, episodes=10, seed=args.seed)

    def summary(best: np.ndarray) -> list[str]:
        lines = []
        check = rollout(
            net, best[None], env, episodes=100, seed=args.seed + 1, generation=10**6
        )
        lines.append(
            f"check: mean return {check[0]:.1f} on 100 new episodes (Numba "
            "env; CartPole-v1 counts as solved at 475)"
        )
        try:
            from .tasks.gym import evaluate

            g = evaluate(net, best[None], "CartPole-v1", episodes=5, seed=args.seed + 2)
            lines.append(
                f"check: mean return {g[0]:.1f} on 5 gymnasium CartPole-v1 episodes"
            )
        except ImportError:
            lines.append("gymnasium not installed: skipped the gymnasium check")
        if args.out:
            out = Path(args.out)
            out.mkdir(parents=True, exist_ok=True)
            np.savez(
                out / "cartpole_policy.npz",
                genome=best,
                **{
                    "sizes": np.array(net.sizes),
                    "activations": np.array(net.activations),
                },
            )
            lines.append(f"saved the policy to {out / 'cartpole_policy.npz'}")
        return lines

    return Task(
        # The GA starts from small N(0, 0.1) weights (its default), not from a
        # Glorot init: with CartPole that easy, a random Glorot population
        # often holds a perfect policy already.
        n_params=net.n_params,
        fitness=fitness,
        algorithm="ga",
        pop=64,
        generations=50,
        x0=np.zeros(net.n_params, np.float32),
        target=500.0,
        fitness_name="mean return",
        summary=summary,
    )


def _classifier_task(net: Any, Xtr, ytr, Xte, yte, batch_size, args, gens) -> Task:
    from .tasks.supervised import Classification, report

    fitness = Classification(
        net, Xtr, ytr, metric="cross_entropy", batch_size=batch_size, seed=args.seed
    )

    def summary(best: np.ndarray) -> list[str]:
        rep = report(net, best, Xte, yte)
        train = report(net, best, Xtr, ytr).accuracy
        return [
            f"train accuracy {train:.4f}, test accuracy {rep.accuracy:.4f} "
            f"({len(yte)} test samples)",
            str(rep),
        ]

    return Task(
        n_params=net.n_params,
        fitness=fitness,
        algorithm="snes",
        pop=100,
        generations=gens,
        init_population=lambda p, s: net.init_population(p, seed=s),
        x0=net.init_genome(seed=args.seed),
        fitness_name="-cross-entropy",
        summary=summary,
    )


def _task_digits(args: argparse.Namespace) -> Task:
    from . import Network
    from .tasks.datasets import load_digits, train_test_split

    X, y = load_digits()
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=360, seed=0)
    net = Network([64, 32, 10], ["tanh", "softmax"])
    return _classifier_task(net, Xtr, ytr, Xte, yte, None, args, 150)


def _task_mnist(args: argparse.Namespace) -> Task:
    from . import Network

    Xtr, Xte, ytr, yte = _mnist_split(args)
    net = Network([784, 32, 10], ["tanh", "softmax"])
    return _classifier_task(net, Xtr, ytr, Xte, yte, min(512, len(ytr)), args, 300)


def _train_digit_cnn(
    torch: Any, X: np.ndarray, y: np.ndarray, seed: int, epochs: int = 2
) -> Any:
    """A small CNN trained by Adam on 28x28 digits (X in [0, 1], flat)."""
    nn = torch.nn
    torch.manual_seed(seed)
    cnn = nn.Sequential(
        nn.Conv2d(1, 8, 5),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 5),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(16 * 4 * 4, 10),
    )
    opt = torch.optim.Adam(cnn.parameters(), lr=2e-3)
    Xt = torch.from_numpy(X.reshape(-1, 1, 28, 28))
    yt = torch.from_numpy(y)
    gen = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        for idx in torch.randperm(len(yt), generator=gen).split(64):
            opt.zero_grad()
            nn.functional.cross_entropy(cnn(Xt[idx]), yt[idx]).backward()
            opt.step()
    return cnn.eval()


def _save_grid(images: np.ndarray, path: Path, ncols: int = 8) -> None:
    """Save (n, 28, 28) images in [0, 1] as one grayscale PNG (matplotlib)."""
    from matplotlib.figure import Figure

    n = images.shape[0]
    nrows = (n + ncols - 1) // ncols
    grid = np.ones((nrows * 30, ncols * 30), np.float32)
    for i in range(n):
        r, c = divmod(i, ncols)
        grid[r * 30 + 1 : r * 30 + 29, c * 30 + 1 : c * 30 + 29] = images[i]
    fig = Figure(figsize=(ncols * 0.6, nrows * 0.6))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.imshow(grid, cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
    ax.axis("off")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)


def _task_image7(args: argparse.Namespace) -> Task:
    from . import GA, BlockMutation, Clip, PatchCrossover, Tournament

    torch = _import_torch("image7")
    Xtr, Xte, ytr, yte = _mnist_split(args)
    t0 = time.perf_counter()
    cnn = _train_digit_cnn(torch, Xtr, ytr, args.seed)
    with torch.no_grad():
        acc = float(
            (
                cnn(torch.from_numpy(Xte.reshape(-1, 1, 28, 28))).argmax(1)
                == torch.from_numpy(yte)
            )
            .float()
            .mean()
        )
    print(
        f"trained the CNN in {time.perf_counter() - t0:.1f} s: test accuracy {acc:.3f}"
    )

    def fitness(pop: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            img = torch.from_numpy(np.clip(pop, 0.0, 1.0).reshape(-1, 1, 28, 28))
            return torch.softmax(cnn(img), dim=1)[:, 7].double().numpy()

    def make_ga(pop: int, seed: int) -> Any:
        rng = np.random.default_rng(seed)
        init = (rng.random((pop, 784)) < 0.1).astype(np.float32)
        return GA(
            n_params=784,
            pop_size=pop,
            seed=seed,
            selection=Tournament(k=3),
            crossover=PatchCrossover((28, 28)),
            mutation=[BlockMutation((28, 28), size=4, sigma=0.4), Clip(0.0, 1.0)],
            elitism=2,
            initial_population=init,
        )

    def summary(best: np.ndarray) -> list[str]:
        img = np.clip(best, 0, 1).reshape(28, 28)
        lines = [
            f"CNN's P(7) for the best image: {fitness(best[None])[0]:.4f}; "
            f"ink {img.sum():.0f} (real 7s: "
            f"{Xtr[ytr == 7].reshape(-1, 784).sum(1).mean():.0f})"
        ]
        if args.out:
            path = Path(args.out) / "image7.png"
            _save_grid(img[None], path, ncols=1)
            lines.append(f"saved the image to {path}")
        return lines

    return Task(
        n_params=784,
        fitness=fitness,
        algorithm="ga",
        pop=64,
        generations=200,
        make_ga=make_ga,
        x0=np.full(784, 0.1, np.float32),
        target=0.99,
        fitness_name="P(7)",
        summary=summary,
    )


def _task_gan(args: argparse.Namespace) -> Task:
    from . import Network

    torch = _import_torch("gan")
    nn = torch.nn
    Xtr, _, _, _ = _mnist_split(args)
    net = Network([100, 784], "sigmoid")
    torch.manual_seed(args.seed)
    disc = nn.Sequential(nn.Linear(784, 128), nn.LeakyReLU(0.2), nn.Linear(128, 1))
    opt = torch.optim.Adam(disc.parameters(), lr=2e-4)
    rng = np.random.default_rng(args.seed)
    z = rng.normal(size=(16, 100)).astype(
        np.float32
    )  # fixed latents: common random numbers
    real = torch.from_numpy(Xtr)
    # the best-ever genome was scored by an earlier, weaker discriminator:
    # the summary shows the best genome of the last generation instead
    last: dict[str, np.ndarray] = {}

    def fitness(pop: np.ndarray) -> np.ndarray:
        fake = net.forward(pop, z)  # (P, 16, 784)
        flat = torch.from_numpy(fake.reshape(-1, 784))
        with torch.no_grad():
            # log D(G(z)): the non-saturating generator objective
            score = nn.functional.logsigmoid(disc(flat)).reshape(pop.shape[0], -1)
        fit = score.mean(1).double().numpy()
        last["best"] = pop[int(np.argmax(fit))].copy()
        # then one gradient step of the discriminator: real vs this generation
        idx = torch.from_numpy(rng.integers(0, len(real), size=flat.shape[0]))
        logits = disc(torch.cat([real[idx], flat]))
        target = torch.cat([torch.ones(len(idx), 1), torch.zeros(len(flat), 1)])
        opt.zero_grad()
        nn.functional.binary_cross_entropy_with_logits(logits, target).backward()
        opt.step()
        return fit

    def summary(best: np.ndarray) -> list[str]:
        best = last.get("best", best)
        imgs = net.forward(best, z).reshape(-1, 28, 28)
        with torch.no_grad():
            d = torch.sigmoid(disc(torch.from_numpy(imgs.reshape(-1, 784)))).mean()
        lines = [
            "discriminator's mean D(G(z)) for the last generation's best "
            f"generator: {float(d):.3f}"
        ]
        if args.out:
            path = Path(args.out) / "gan_samples.png"
            _save_grid(imgs, path)
            lines.append(f"saved 16 samples to {path}")
        return lines

    return Task(
        n_params=net.n_params,
        fitness=fitness,
        algorithm="snes",
        pop=32,
        generations=100,
        init_population=lambda p, s: net.init_population(p, seed=s),
        x0=net.init_genome(seed=args.seed),
        fitness_name="mean log D(G(z))",
        stationary=False,
        ga_kwargs={"reevaluate_elites": True},
        summary=summary,
    )


_TASK_BUILDERS: dict[str, Callable[[argparse.Namespace], Task]] = {
    "cartpole": _task_cartpole,
    "digits": _task_digits,
    "mnist": _task_mnist,
    "image7": _task_image7,
    "gan": _task_gan,
}


def _make_algorithm(task: Task, name: str, pop: int, seed: int) -> Any:
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
            print(
                f"  generation {algo.generation:5d}  best {algo.best_fitness:.6g}  "
                f"({now - self.t0:.1f} s)",
                flush=True,
            )
        return False


def _cmd_run(args: argparse.Namespace) -> int:
    from .checkpoint import load

    if args.resume and not Path(args.resume).is_file():
        raise UsageError(f"no checkpoint at {args.resume!r}")
    task = _TASK_BUILDERS[args.task](args)
    if args.resume:
        try:
            algo = load(args.resume)
        except ValueError as exc:
            raise UsageError(f"cannot resume from {args.resume!r}: {exc}") from None
        if algo.n_params != task.n_params:
            raise UsageError(
                f"the checkpoint {args.resume!r} holds genomes of {algo.n_params} "
                f"values, but task {args.task!r} needs {task.n_params}"
            )
        # A fitness with per-generation state (new episodes or minibatches)
        # continues where the saved run stopped.
        if hasattr(task.fitness, "generation"):
            task.fitness.generation = algo.generation
        name = algo.name
    else:
        name = args.algorithm or task.algorithm
        algo = _make_algorithm(task, name, args.pop or task.pop, args.seed)
    generations = args.generations or (None if args.time_limit else task.generations)
    ckpt = args.checkpoint or args.resume
    print(
        f"pyneat-lite run {args.task}: {type(algo).__name__}, population "
        f"{algo.pop_size}, {task.n_params} parameters"
        + (f", resumed at generation {algo.generation}" if args.resume else "")
    )
    # tqdm is optional ([progress] extra): without it, print plain lines.
    use_bar = not args.quiet and importlib.util.find_spec("tqdm") is not None
    callbacks = () if args.quiet or use_bar else (_TextProgress(),)
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
