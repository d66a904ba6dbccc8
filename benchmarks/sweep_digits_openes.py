"""Full-rank OpenES settings on digits 64-32-10: generations and time to 0.95.

The task of ``bench_lowrank_quality.py --only digits`` (relu hidden layer,
linear outputs, minus the cross-entropy on the 1,437 training images of the
seed-0 80/20 split, test accuracy of the centre on the other 360).  For each
setting and seed the run goes one generation at a time until the centre's
test accuracy reaches 0.95 (or ``--max-gens``): the number of generations is
exact and does not depend on the machine or its load.  The time per
generation of each population size is measured separately (median of
``--repeats`` blocks of generations, main-thread CPU seconds: about the wall
time of an idle machine, see ``bench_lowrank_quality.py``), and the time to
0.95 is their product.

Run:  python benchmarks/sweep_digits_openes.py [--seeds 0,1,2,3,4]
      [--pop 20,50] [--sigma 0.02,0.04] [--lr 0.03,0.06,0.1] [--out FILE]
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import sys
import time

import numpy as np

import pyneat_lite as pn


def task():
    X, y = pn.datasets.load_digits()
    Xtr, Xte, ytr, yte = pn.datasets.train_test_split(X, y, test_size=0.2, seed=0)
    net = pn.Network([64, 32, 10], ["relu", "linear"])
    fit = pn.tasks.Classification(net, Xtr, ytr, metric="cross_entropy")
    test = pn.tasks.Classification(net, Xte, yte)
    return net, fit, test


def generations_to(net, fit, test, pop, sigma, lr, seed, target, max_gens):
    """Generations until the centre's test accuracy reaches ``target``
    (None if not within ``max_gens``)."""
    es = pn.OpenES(net.n_params, pop, sigma=sigma, lr=lr, x0=net.init_genome(seed=seed),
                   seed=seed)
    for g in range(1, max_gens + 1):
        es.tell(fit(es.ask_structured()))
        if test(es.mean[None])[0] >= target:
            return g
    return None


def seconds_per_generation(net, fit, pop, repeats, gens=40):
    """Median main-thread CPU seconds of one generation (ask, fitness, tell)."""
    es = pn.OpenES(net.n_params, pop, x0=net.init_genome(seed=0), seed=0)
    es.tell(fit(es.ask_structured()))
    samples = []
    for _ in range(repeats):
        t0 = time.thread_time()
        for _ in range(gens):
            es.tell(fit(es.ask_structured()))
        samples.append((time.thread_time() - t0) / gens)
    return statistics.median(samples)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="0,1,2,3,4")
    ap.add_argument("--pop", default="20,50")
    ap.add_argument("--sigma", default="0.02,0.04")
    ap.add_argument("--lr", default="0.03,0.06,0.1")
    ap.add_argument("--target", type=float, default=0.95)
    ap.add_argument("--max-gens", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", default=None, help="also write the table to this file")
    args = ap.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    pops = [int(p) for p in args.pop.split(",")]
    sigmas = [float(s) for s in args.sigma.split(",")]
    lrs = [float(v) for v in args.lr.split(",")]
    net, fit, test = task()
    load0 = os.getloadavg()[0]
    per_gen = {p: seconds_per_generation(net, fit, p, args.repeats) for p in pops}
    lines = [f"load {load0:.1f} at the start, {os.cpu_count()} cores; seconds per "
             "generation (main-thread CPU, median): "
             + ", ".join(f"P {p}: {1e3 * t:.2f} ms" for p, t in per_gen.items()), "",
             f"| P | sigma | lr | generations to {args.target} (seeds "
             f"{args.seeds}) | median | time to {args.target} (median, s) | worst (s) |",
             "|---|---|---|---|---|---|---|"]
    print("\n".join(lines), flush=True)
    for p, s, lr in itertools.product(pops, sigmas, lrs):
        gens = [generations_to(net, fit, test, p, s, lr, seed, args.target,
                               args.max_gens) for seed in seeds]
        done = [g if g is not None else np.inf for g in gens]
        med = statistics.median(done)
        row = (f"| {p} | {s:g} | {lr:g} | {' / '.join('-' if g is None else str(g) for g in gens)}"
               f" | {med:g} | {med * per_gen[p]:.2f} | {max(done) * per_gen[p]:.2f} |")
        print(row, flush=True)
        lines.append(row)
    if args.out:
        with open(args.out, "w") as f:
            f.write("command: python benchmarks/sweep_digits_openes.py "
                    + " ".join(argv if argv is not None else sys.argv[1:]) + "\n\n"
                    + "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
