"""Evolve an MNIST classifier's weights: the DEAP-tutorial GA, SNES and low-rank OpenES.

The data are real MNIST IDX files (``--data DIR``, e.g. ``../shared/data/mnist``,
the 10,000-image test split): 8,000 images to evolve on and 2,000 held out
(stratified, seed 0; with fewer images, a fifth is held out). Each generation
scores every genome on a fresh minibatch of 512 training images.

Two searches get the same time budget:

- the GA set up as the well-known DEAP tutorial does (``eaSimple``:
  tournament of 5, blend crossover averaging the parents with probability
  0.6, Gaussian mutation sigma 0.1 of each weight with probability 0.25 for
  30% of the children, no elitism), fitness = minibatch accuracy as in the
  tutorial. The tutorial evolved a 784-128-10 network and reached about 60%
  after hours;
- SNES (separable natural evolution strategy) with its default settings,
  fitness = negative cross-entropy (a smooth signal suits an ES);
- the headline: OpenES with rank-1 noise per weight matrix (EGGROLL; a relu
  network with linear outputs, population 2000, sigma 0.01, Adam lr 0.015
  decayed by 0.996 per generation down to 0.0005),
  fitness = negative cross-entropy; the minibatch task scores the whole
  population from the noise factors, for little more than one network's cost.
  The genome reported is the centre ``es.mean``.

The script prints each run's classification report on the held-out images
and saves both fitness histories in one plot.

Usage::

    python examples/mnist_classifier.py --data ../shared/data/mnist
        [--hidden 32] [--time-limit 60] [--generations N] [--pop N]
        [--rank 1] [--only-lowrank] [--seed 0] [--out DIR]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pyneat_lite as pn


def main(argv: list[str] | None = None) -> dict[str, float]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", required=True, help="directory of the MNIST IDX files")
    ap.add_argument(
        "--hidden",
        type=int,
        default=32,
        help="hidden units (the DEAP tutorial used 128)",
    )
    ap.add_argument(
        "--time-limit",
        type=float,
        default=60.0,
        help="seconds per algorithm (default 60)",
    )
    ap.add_argument(
        "--generations",
        type=int,
        default=None,
        help="stop after this many generations as well",
    )
    ap.add_argument(
        "--pop",
        type=int,
        default=None,
        help="population of every run (default GA 300, SNES 100, low-rank OpenES 2000)",
    )
    ap.add_argument("--rank", type=int, default=1, help="rank of the OpenES noise")
    ap.add_argument("--only-lowrank", action="store_true",
                    help="run the low-rank OpenES alone")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=None, help="where to save the fitness plot")
    args = ap.parse_args(argv)

    X, y = pn.datasets.load_mnist(args.data)
    n_test = 2000 if len(y) >= 10_000 else len(y) // 5
    Xtr, Xte, ytr, yte = pn.datasets.train_test_split(X, y, test_size=n_test, seed=0)
    print(
        f"MNIST from {args.data}: {len(ytr)} train / {len(yte)} test images "
        "(stratified split, seed 0)"
    )
    net = pn.Network([784, args.hidden, 10], ["tanh", "softmax"])
    batch = min(512, len(ytr))

    runs = {
        "GA (DEAP tutorial setup)": (
            pn.GA(
                n_params=net.n_params,
                pop_size=args.pop or 300,
                seed=args.seed,
                selection=pn.Tournament(k=5),
                crossover=pn.BlendCrossover(alpha=0.5),
                crossover_prob=0.6,
                mutation=pn.GaussianMutation(rate=0.25, sigma=0.1),
                mutation_prob=0.3,
                elitism=0,
                initial_population=net.init_population(args.pop or 300, seed=args.seed),
            ),
            pn.tasks.Classification(
                net, Xtr, ytr, metric="accuracy", batch_size=batch, seed=args.seed
            ),
        ),
        "SNES (default settings)": (
            pn.SNES(
                n_params=net.n_params,
                pop_size=args.pop or 100,
                seed=args.seed,
                x0=net.init_genome(seed=args.seed),
            ),
            pn.tasks.Classification(
                net, Xtr, ytr, metric="cross_entropy", batch_size=batch, seed=args.seed
            ),
        ),
    }
    # the headline: low-rank OpenES on a relu network, scored from its factors
    lr_net = pn.Network([784, args.hidden, 10], ["relu", "linear"])
    runs["OpenES, rank-1 noise"] = (
        pn.OpenES(
            n_params=lr_net.n_params,
            pop_size=args.pop or 2000,
            sigma=0.01,
            lr=0.015,
            lr_decay=0.996,
            lr_limit=0.0005,
            rank=min(args.rank, args.hidden),
            network=lr_net,
            seed=args.seed,
            x0=lr_net.init_genome(seed=args.seed),
        ),
        pn.tasks.Classification(
            lr_net, Xtr, ytr, metric="cross_entropy", batch_size=batch, seed=args.seed
        ),
    )
    if args.only_lowrank:
        runs = {k: v for k, v in runs.items() if k.startswith("OpenES")}
    figures: dict[str, float] = {}
    results = {}
    for name, (algo, fitness) in runs.items():
        print(f"\n== {name}: {net.n_params} weights, population {algo.pop_size}")
        t0 = time.perf_counter()
        result = algo.run(
            fitness,
            generations=args.generations,
            time_limit=args.time_limit,
            progress=True,
        )
        elapsed = time.perf_counter() - t0
        if name.startswith("OpenES"):  # an ES deploys its centre
            rep = pn.tasks.report(lr_net, algo.mean, Xte, yte)
        else:
            rep = pn.tasks.report(net, result.best, Xte, yte)
        print(
            f"{result.generations_run} generations, {result.evaluations} "
            f"evaluations in {elapsed:.1f} s ({result.evaluations / elapsed:.0f}/s); "
            f"held-out accuracy {rep.accuracy:.4f}"
        )
        print(rep)
        results[name] = result
        key = {"G": "ga", "S": "snes", "O": "lowrank"}[name[0]]
        figures[f"{key}_test_accuracy"] = rep.accuracy
        figures[f"{key}_seconds"] = elapsed
        figures[f"{key}_generations"] = result.generations_run

    if args.out:
        from matplotlib.figure import Figure

        fig = Figure(figsize=(5 * len(results), 4))
        axes = fig.subplots(1, len(results), squeeze=False)[0]
        for ax, (name, result) in zip(axes, results.items(), strict=True):
            result.plot(ax=ax)
            ax.set_title(name)
        path = Path(args.out) / "mnist_fitness.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=100)
        print(f"saved {path}")
    return figures


if __name__ == "__main__":
    main()
