"""Evaluations per second of a low-rank ES population vs full rank (issue 10).

One generation's evaluation of an antithetic OpenES population on a 512-sample
minibatch, MNIST-sized inputs (random data: the speed does not depend on the
values), fitness minus the cross-entropy:

- low-rank, structured: ``Classification`` on ``es.ask_structured()`` (rank r);
- full-rank, library: ``Classification`` on the genomes of a full-rank OpenES
  (measured on a slice of the population and scaled: it is ~20x slower);
- plain NumPy, full rank: ``np.matmul`` of the minibatch with each genome's
  kernels, the best plain-NumPy way (a batched matmul over genomes);
- plain NumPy, low rank: ``X @ W`` once, ``X @ A`` of all members in one matmul,
  then the per-member products batched (the 40-line probe of the issue).

Printed: evaluations/s, the ratio to full rank (goal >= 20x on M2), and the
structured kernel's throughput as a fraction of the float32 GEMM peak of
``np.matmul`` measured in the same run, counting only the FLOPs the structured
forward really does (``2 B (in r h + h (r + 1) + sum of later layers
(in out + r (in + out))))`` per member, plus the two shared products).

Run:  python benchmarks/bench_lowrank.py [--hidden 128] [--pop 2000] [--rank 1]
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _util import gemm_peak_gflops, median_time  # noqa: E402

import pyneat_lite as pn  # noqa: E402


def numpy_full(pops, X, y, sizes):
    """Minus the mean cross-entropy of every genome, batched NumPy (logits)."""
    n0, n1, n2 = sizes
    w0 = pops[:, : n0 * n1].reshape(-1, n0, n1)
    o = n0 * n1
    b0 = pops[:, o:o + n1]
    o += n1
    w1 = pops[:, o:o + n1 * n2].reshape(-1, n1, n2)
    b1 = pops[:, o + n1 * n2:]
    h = np.maximum(np.matmul(X, w0) + b0[:, None, :], 0.0)
    z = np.matmul(h, w1) + b1[:, None, :]
    m = z.max(axis=2, keepdims=True)
    lse = np.log(np.exp(z - m).sum(axis=2)) + m[..., 0]
    return -(lse - np.take_along_axis(z, y[None, :, None], 2)[..., 0]).mean(axis=1)


def numpy_lowrank(mean, sigma, a0, b0, e0, a1, b1, e1, X, y, sizes, r):
    """The NumPy low-rank probe: shared X @ W, shared X @ A, batched rest."""
    n0, n1, n2 = sizes
    w0 = mean[: n0 * n1].reshape(n0, n1)
    o = n0 * n1
    c0 = mean[o:o + n1]
    o += n1
    w1 = mean[o:o + n1 * n2].reshape(n1, n2)
    c1 = mean[o + n1 * n2:]
    s = sigma / np.sqrt(r)
    base = X @ w0 + c0  # (B, n1)
    xa = np.matmul(X, a0.transpose(1, 0, 2).reshape(n0, -1))  # (B, h*r)
    xa = xa.reshape(X.shape[0], -1, r).transpose(1, 0, 2)  # (h, B, r)
    d = s * np.matmul(xa, b0) + sigma * e0[:, None, :]  # (h, B, n1)
    out = []
    for sign in (1.0, -1.0):
        h = np.maximum(base + sign * d, 0.0)
        z = (h @ w1 + c1 + sign * (s * np.matmul(np.matmul(h, a1), b1)
                                   + sigma * e1[:, None, :]))
        m = z.max(axis=2, keepdims=True)
        lse = np.log(np.exp(z - m).sum(axis=2)) + m[..., 0]
        out.append(-(lse - np.take_along_axis(z, y[None, :, None], 2)[..., 0])
                   .mean(axis=1))
    return np.concatenate(out)


def main(argv: list[str] | None = None) -> dict[str, float]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--pop", type=int, default=2000)
    ap.add_argument("--rank", type=int, default=1)
    ap.add_argument("--batch", type=int, default=512)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args(argv)
    sizes = (784, args.hidden, 10)
    r, P, B = args.rank, args.pop, args.batch
    net = pn.Network(list(sizes), ["relu", "linear"])
    rng = np.random.default_rng(0)
    X = rng.random((B, sizes[0]), dtype=np.float32)
    y = rng.integers(0, 10, B)
    x0 = net.init_genome(seed=0)
    print(f"network {sizes}, {net.n_params} weights, P={P}, B={B}, rank {r}; "
          f"load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    peak = gemm_peak_gflops(repeats=5)

    task = pn.tasks.Classification(net, X, y, metric="cross_entropy")
    es = pn.OpenES(net.n_params, P, sigma=0.01, rank=r, network=net, x0=x0, seed=0)
    pop = es.ask_structured()
    t_lr = median_time(lambda: task.evaluate(pop, 0), repeats=args.repeats)

    # full rank on a slice of the population (same per-genome cost)
    n_full = max(2, min(P, 200))
    full = pn.OpenES(net.n_params, n_full, sigma=0.01, x0=x0, seed=0).ask()
    t_full = median_time(lambda: task.evaluate(full, 0), repeats=3) * P / n_full
    n_np = 50
    t_np_full = median_time(lambda: numpy_full(full[:n_np], X, y, sizes),
                            repeats=3) * P / n_np

    h = P // 2
    z = rng.standard_normal((h, r * (sizes[0] + 2 * sizes[1] + sizes[2])
                             + sizes[1] + sizes[2]), dtype=np.float32)
    n0, n1, n2 = sizes
    o = 0
    a0 = z[:, o:o + r * n0].reshape(h, r, n0).transpose(0, 2, 1)
    o += r * n0
    b0 = z[:, o:o + r * n1].reshape(h, r, n1)
    o += r * n1
    e0 = z[:, o:o + n1]
    o += n1
    a1 = z[:, o:o + r * n1].reshape(h, r, n1).transpose(0, 2, 1)
    o += r * n1
    b1 = z[:, o:o + r * n2].reshape(h, r, n2)
    o += r * n2
    e1 = z[:, o:o + n2]
    mean32 = x0.astype(np.float32)
    t_np_lr = median_time(lambda: numpy_lowrank(mean32, np.float32(0.01), a0, b0, e0,
                                                a1, b1, e1, X, y, sizes, r),
                          repeats=3)

    flops = 2.0 * B * (h * r * n0 + n1 * n0
                       + P * (n1 * (r + 1) + n1 * n2 + r * (n1 + n2)))
    rows = [
        ("low-rank, structured kernel", t_lr),
        ("low-rank, plain NumPy", t_np_lr),
        ("full-rank, library (GEMM kernel)", t_full),
        ("full-rank, plain NumPy (batched matmul)", t_np_full),
    ]
    print(f"float32 GEMM peak (np.matmul 2048^2): {peak:.1f} GFLOP/s")
    print(f"{'evaluation of one generation':42s} {'s/gen':>8s} {'evals/s':>10s} "
          f"{'vs full-rank':>12s}")
    for name, t in rows:
        print(f"{name:42s} {t:8.3f} {P / t:10.0f} {t_full / t:11.1f}x")
    gf = flops / t_lr / 1e9
    print(f"structured kernel: {flops / 1e9:.2f} GFLOP/gen really done, {gf:.1f} GFLOP/s "
          f"= {100 * gf / peak:.0f}% of the GEMM peak")
    print(f"low-rank vs full-rank evaluations/s: {t_full / t_lr:.1f}x (goal >= 20x); "
          f"vs the NumPy low-rank probe: {t_np_lr / t_lr:.1f}x")
    return {"ratio": t_full / t_lr, "evals_lowrank": P / t_lr, "evals_full": P / t_full,
            "peak_fraction": gf / peak}


if __name__ == "__main__":
    main()
