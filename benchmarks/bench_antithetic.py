"""Evaluations per second of shared antithetic products vs plain full rank (issue 10).

One generation's evaluation of a full-rank antithetic OpenES population on a
512-sample minibatch, MNIST-sized inputs (random data: the speed does not
depend on the values), fitness minus the cross-entropy, in the same run:

- shared antithetic: ``Classification`` on ``es.ask_structured()`` (an
  ``AntitheticPopulation``): ``X @ W`` of the centre once, one first-layer
  product ``X @ (sigma z_i)`` per pair for both its members;
- plain full rank: ``Classification`` on the genomes of ``es.ask()`` (the
  library's GEMM kernel, one first-layer product per member), with and
  without the time ``ask()`` takes to write the genomes (the structured
  path never writes them);
- for reference, low rank (``rank=1``, the same population size).

Printed: seconds per generation (median of repeats, wall and process CPU),
evaluations/s, the ratio shared/plain (expected 1.5-2x: the first layer is
halved, the rest is not), and each kernel's throughput as a fraction of the
float32 GEMM peak of ``np.matmul`` measured in the same run, counting the
FLOPs each path really does.

Run:  python benchmarks/bench_antithetic.py [--hidden 128] [--pop 200] [--batch 512]
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _util import gemm_peak_gflops, median_cpu_time, median_time  # noqa: E402

import pyneat_lite as pn  # noqa: E402


def main(argv: list[str] | None = None) -> dict[str, float]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--pop", type=int, default=200)
    ap.add_argument("--batch", type=int, default=512)
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args(argv)
    sizes = (784, args.hidden, 10)
    P, B = args.pop, args.batch
    n0, n1, n2 = sizes
    net = pn.Network(list(sizes), ["relu", "linear"])
    rng = np.random.default_rng(0)
    X = rng.random((B, n0), dtype=np.float32)
    y = rng.integers(0, 10, B)
    x0 = net.init_genome(seed=0)
    print(f"network {sizes}, {net.n_params} weights, P={P}, B={B}; "
          f"load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    peak = gemm_peak_gflops(repeats=5)
    task = pn.tasks.Classification(net, X, y, metric="cross_entropy")
    es = pn.OpenES(net.n_params, P, sigma=0.01, x0=x0, seed=0)
    pairs = es.ask_structured()
    genomes = np.array(es.ask())  # a copy: ask() below rewrites the buffer

    def ask_and_plain():
        es._pop_generation = -1  # the genomes written again, as each generation
        return task.evaluate(es.ask(), 0)

    lr = pn.OpenES(net.n_params, P, sigma=0.01, x0=x0, seed=0, rank=1, network=net)
    lowrank = lr.ask_structured()
    cases = [
        ("shared antithetic (ask_structured)", lambda: task.evaluate(pairs, 0)),
        ("plain full rank (ask genomes)", lambda: task.evaluate(genomes, 0)),
        ("plain full rank incl. writing them", ask_and_plain),
        ("low rank 1 (reference)", lambda: task.evaluate(lowrank, 0)),
    ]
    later = n1 * n2
    flops = {  # multiply-adds really done, x2
        cases[0][0]: 2.0 * B * (n0 * n1 * (P // 2 + 1) + P * later),
        cases[1][0]: 2.0 * B * P * (n0 * n1 + later),
    }
    flops[cases[2][0]] = flops[cases[1][0]]
    flops[cases[3][0]] = 2.0 * B * (n0 * n1 + (P // 2) * n0
                                    + P * (2 * n1 + later + n1 + n2))
    wall, cpu = {}, {}
    for name, fn in cases:
        wall[name] = median_time(fn, repeats=args.repeats)
        cpu[name] = median_cpu_time(fn, repeats=args.repeats)
    print(f"float32 GEMM peak (np.matmul 2048^2): {peak:.1f} GFLOP/s")
    print(f"{'evaluation of one generation':36s} {'wall s':>7s} {'cpu s':>7s} "
          f"{'evals/s':>8s} {'GFLOP/s':>8s} {'of peak':>7s}")
    for name, _ in cases:
        gf = flops[name] / wall[name] / 1e9
        print(f"{name:36s} {wall[name]:7.3f} {cpu[name]:7.3f} {P / wall[name]:8.0f} "
              f"{gf:8.1f} {100 * gf / peak:6.0f}%")
    s, p, pw = (cases[0][0], cases[1][0], cases[2][0])
    print(f"shared antithetic vs plain full rank, evaluations/s: wall "
          f"{wall[p] / wall[s]:.2f}x, cpu {cpu[p] / cpu[s]:.2f}x; with the genomes' "
          f"writing: wall {wall[pw] / wall[s]:.2f}x, cpu {cpu[pw] / cpu[s]:.2f}x "
          f"(load {os.getloadavg()[0]:.1f})")
    return {"ratio_wall": wall[p] / wall[s], "ratio_cpu": cpu[p] / cpu[s],
            "peak_fraction": flops[s] / wall[s] / 1e9 / peak}


if __name__ == "__main__":
    main()
