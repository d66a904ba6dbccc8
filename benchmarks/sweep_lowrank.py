"""Sweep of the low-rank OpenES settings on MNIST (issue 10): rank, population,
sigma and learning rate, test accuracy of the centre after a fixed budget of
process CPU seconds (a budget that does not depend on the machine's load).

Protocol of ``bench_lowrank_quality.py`` (8,000 / 2,000 stratified split,
seed 0, 512-image minibatches, relu hidden layer, fitness minus the minibatch
cross-entropy).  Writes a markdown table to ``--out``.

Run:  python benchmarks/sweep_lowrank.py [--hidden 32] [--budget 15]
      [--grid rank|pop|sigma_lr] [--out benchmarks/results]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, os.path.dirname(__file__))
from bench_lowrank_quality import MNIST, curve  # noqa: E402

import pyneat_lite as pn  # noqa: E402

GRIDS = {
    # (rank, pop_size, sigma, lr)
    "rank": [(1, 2000, 0.01, 0.01), (2, 2000, 0.01, 0.01), (4, 2000, 0.01, 0.01)],
    "pop": [(1, 500, 0.01, 0.01), (1, 1000, 0.01, 0.01), (1, 2000, 0.01, 0.01),
            (1, 4000, 0.01, 0.01)],
    "sigma_lr": [(1, 2000, 0.005, 0.01), (1, 2000, 0.02, 0.01), (1, 2000, 0.01, 0.005),
                 (1, 2000, 0.01, 0.02)],
}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mnist", default=MNIST)
    ap.add_argument("--hidden", type=int, default=32)
    ap.add_argument("--budget", type=float, default=15.0, help="CPU seconds per run")
    ap.add_argument("--grid", default="rank", choices=sorted(GRIDS))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results"))
    args = ap.parse_args(argv)
    X, y = pn.datasets.load_mnist(args.mnist)
    Xtr, Xte, ytr, yte = pn.datasets.train_test_split(X, y, test_size=2000, seed=0)
    net = pn.Network([784, args.hidden, 10], ["relu", "linear"])
    test = pn.tasks.Classification(net, Xte, yte)
    marks = (args.budget / 3, args.budget)
    lines = [f"MNIST 784-{args.hidden}-10, seed {args.seed}, budget {args.budget:g} "
             f"CPU s, load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", "",
             "| rank | pop | sigma | lr | test acc. at "
             f"{marks[0]:g} / {marks[1]:g} CPU s | generations |",
             "|---|---|---|---|---|---|"]
    for rank, pop, sigma, lr in GRIDS[args.grid]:
        fit = pn.tasks.Classification(net, Xtr, ytr, metric="cross_entropy",
                                      batch_size=512, seed=args.seed)
        es = pn.OpenES(net.n_params, pop, sigma=sigma, lr=lr, rank=rank, network=net,
                       x0=net.init_genome(seed=args.seed), seed=args.seed)
        _, _, at, _, _, gens = curve(es, fit, test, args.budget, marks, None, True)
        row = (f"| {rank} | {pop} | {sigma:g} | {lr:g} | "
               f"{at[marks[0]]:.4f} / {at[marks[1]]:.4f} | {gens} |")
        print(row, flush=True)
        lines.append(row)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"sweep_lowrank_{args.hidden}_{args.grid}.md"
    path.write_text("\n".join(lines) + "\n")
    print(f"saved {path}")


if __name__ == "__main__":
    main()
