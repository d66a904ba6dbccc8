"""Where an OpenES generation's time goes on digits or M2 (issues 10 and 16).

Times each part of ``es.run(fit, generations=1)``-style generations -- ask
(noise draws), fitness (the task's structured or dense evaluation), tell
(fitness check, hall of fame, history, centered ranks, moment sums, Adam)
-- by wrapping the library's functions with counters (wall time, and CPU
time of the calling thread), over ``--gens`` generations.

Run:  python benchmarks/profile_es_generation.py [--case issue16|issue10|m2]
      [--threads 1|2] [--gens 300] [--dense]
"""

from __future__ import annotations

import argparse
import functools
import os
import time
from collections import defaultdict

import numba

import pyneat_lite as pn
from pyneat_lite._kernels import es as es_kernels
from pyneat_lite.algorithms import _es, base, openes
from pyneat_lite.tasks import supervised

WALL = defaultdict(float)
THR = defaultdict(float)
CALLS = defaultdict(int)


def timed(fn, label):
    @functools.wraps(fn)
    def inner(*a, **k):
        w0, c0 = time.perf_counter(), time.thread_time()
        try:
            return fn(*a, **k)
        finally:
            WALL[label] += time.perf_counter() - w0
            THR[label] += time.thread_time() - c0
            CALLS[label] += 1
    return inner


def patch(obj, name, label):
    setattr(obj, name, timed(getattr(obj, name), label))


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--case", default="issue16", choices=("issue16", "issue10", "m2"))
    ap.add_argument("--mnist", default="/work/shared/data/mnist",
                    help="MNIST directory (case m2)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--gens", type=int, default=300)
    ap.add_argument("--dense", action="store_true",
                    help="fitness(es.ask()) (genomes) instead of run()'s structure")
    args = ap.parse_args(argv)
    X, y = pn.datasets.load_digits()
    batch, kw = None, {}
    if args.case == "m2":  # bench_lowrank_quality.py's M2 row, rank 1, P 2000
        X, y = pn.datasets.load_mnist(args.mnist)
        X, _, y, _ = pn.datasets.train_test_split(X, y, test_size=2000, seed=0)
        net = pn.Network([784, 128, 10], ["relu", "linear"])
        P, x0, batch = 2000, net.init_genome(seed=0), 512
        kw = dict(sigma=0.01, lr=0.015, lr_decay=0.996, lr_limit=0.0005, rank=1,
                  network=net)
    elif args.case == "issue16":
        net = pn.Network([64, 32, 10], ["tanh", "softmax"])
        P, x0 = 256, None
    else:
        X, _, y, _ = pn.datasets.train_test_split(X, y, test_size=0.2, seed=0)
        net = pn.Network([64, 32, 10], ["relu", "linear"])
        P, x0 = 50, net.init_genome(seed=0)
    numba.set_num_threads(args.threads)
    fit = pn.tasks.Classification(net, X, y, metric="cross_entropy", batch_size=batch,
                                  seed=0)
    es = pn.OpenES(n_params=net.n_params, pop_size=P, x0=x0, seed=0, **kw)
    ask = es.ask if args.dense else es.ask_structured
    for _ in range(20):  # compile, warm
        es.tell(fit(ask()))
    # the parts
    patch(_es, "fill_standard_normal", "ask: noise fill")
    patch(es_kernels, "sample_population", "ask: write genomes (dense)")
    patch(supervised, "evaluate_pairs", "fitness: evaluate_pairs")
    patch(supervised, "check_structured", "fitness: check_structured")
    patch(fit, "_fused", "fitness: dense fused")
    patch(base, "check_fitness", "tell: check_fitness")
    patch(es, "_check_told", "tell: _check_told")
    patch(es._archive, "update", "tell: archive.update")
    patch(es._history, "record", "tell: history.record")
    patch(es, "_tell", "tell: _tell (all)")
    patch(openes, "centered_ranks", "tell/_tell: centered_ranks")
    patch(es_kernels, "weighted_moments", "tell/_tell: weighted_moments")
    patch(_es._lr, "weight_moments", "tell/_tell: low-rank weight_moments")
    patch(openes, "adam_step", "tell/_tell: adam_step")
    for label, f in (("ask (all)", ask), ("fitness (all)", fit), ("tell (all)", es.tell)):
        globals()[label] = timed(f, label)
    a, f_, t = (globals()[k] for k in ("ask (all)", "fitness (all)", "tell (all)"))
    c_all0, w_all0, p0 = time.thread_time(), time.perf_counter(), time.process_time()
    for _ in range(args.gens):
        t(f_(a()))
    w_all = time.perf_counter() - w_all0
    c_all = time.thread_time() - c_all0
    p_all = time.process_time() - p0
    print(f"# {args.case}: P={P}, n_params={net.n_params}, samples={len(y)}, "
          f"{args.threads} Numba threads, {'dense' if args.dense else 'structured'}"
          f", {args.gens} generations, load {os.getloadavg()[0]:.1f}")
    print(f"per generation: wall {1e3 * w_all / args.gens:.3f} ms, main-thread CPU "
          f"{1e3 * c_all / args.gens:.3f} ms, process CPU {1e3 * p_all / args.gens:.3f}"
          f" ms; {P * args.gens / w_all:,.0f} evaluations/s wall")
    print("| part | wall ms/gen | main-thread CPU ms/gen | calls/gen |")
    print("|---|---|---|---|")
    for k in sorted(WALL, key=lambda k: (k.split(":")[0].split("/")[0], k)):
        print(f"| {k} | {1e3 * WALL[k] / args.gens:.3f} | "
              f"{1e3 * THR[k] / args.gens:.3f} | {CALLS[k] / args.gens:.2f} |")
    rest = w_all - WALL["ask (all)"] - WALL["fitness (all)"] - WALL["tell (all)"]
    print(f"| loop rest | {1e3 * rest / args.gens:.3f} | | |")


if __name__ == "__main__":
    main()
