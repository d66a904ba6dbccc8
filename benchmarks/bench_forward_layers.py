"""Forward benchmark for convolution and recurrent layers (issue 13).

Three cases, each timed in one run against the machine's float32 GEMM peak and
against the best plain-NumPy and PyTorch ways measured in the same run:

* conv: EvoJAX's MNIST ConvNet (conv 8 5x5 same, relu, avg pool 2, conv 16
  5x5 same, relu, avg pool 2, dense 10 softmax; 11,274 weights), a
  population of P genomes on B shared images (``Network.forward``).
  PyTorch: the whole population as one grouped convolution per layer
  (first layer: the P kernels as P*8 output channels of one conv2d; second:
  ``groups=P``), then one batched product for the dense layer.  NumPy:
  per genome, im2col with ``sliding_window_view`` and one matmul per layer.
* conv, one genome: the same ConvNet, one genome on ``--one-batch`` images
  (a test set, or the prefix of a split network in a block-wise ES).
  PyTorch: the plain model (conv2d, relu, avg_pool2d, linear, softmax);
  NumPy: the im2col way above for one genome.
* recurrent: one step of P GRU policies (8 inputs, GRU 32, dense 4)
  (``Network.forward_each`` with a state).  NumPy and PyTorch: batched
  products over the population (``np.matmul`` / ``torch.bmm`` of
  ``(P, 1, n)`` by ``(P, n, 3u)``) and the gate arithmetic.

Everything runs on one thread (Numba, BLAS and torch), timed as process CPU
time (median of repeats): on a shared machine a descheduled thread then
costs nothing, so the ratios of one run compare fairly.  Prints the load.

    python benchmarks/bench_forward_layers.py [--pop 64] [--batch 64]
"""

from __future__ import annotations

import argparse
import os

import numpy as np
import threadpoolctl
import torch
from _util import median_cpu_time

import pyneat_lite as pn


def convnet() -> pn.Network:
    return pn.Network(layers=[pn.Conv2D(8, 5, padding="same", activation="relu"),
                              pn.AvgPool2D(2),
                              pn.Conv2D(16, 5, padding="same", activation="relu"),
                              pn.AvgPool2D(2), pn.Flatten(), pn.Dense(10, "softmax")],
                      input_shape=(1, 28, 28))


def gemm_peak_cpu(n: int = 1024, repeats: int = 5) -> float:
    a = np.random.default_rng(0).standard_normal((n, n), dtype=np.float32)
    c = np.empty_like(a)
    return 2.0 * n**3 / median_cpu_time(lambda: np.matmul(a, a, out=c),
                                        repeats=repeats) / 1e9


def torch_conv_population(net, pop, X):
    """The population as grouped convolutions: returns a closure."""
    P = pop.shape[0]
    lays = net.layout
    w1 = torch.from_numpy(np.ascontiguousarray(
        pop[:, :200].reshape(P, 25, 8).transpose(0, 2, 1).reshape(P * 8, 1, 5, 5)))
    b1 = torch.from_numpy(np.ascontiguousarray(pop[:, 200:208].reshape(-1)))
    w2 = torch.from_numpy(np.ascontiguousarray(
        pop[:, lays[1].w_offset:lays[1].b_offset].reshape(P, 200, 16)
        .transpose(0, 2, 1).reshape(P * 16, 8, 5, 5)))
    b2 = torch.from_numpy(np.ascontiguousarray(
        pop[:, lays[1].b_offset:lays[1].b_offset + 16].reshape(-1)))
    w3 = torch.from_numpy(np.ascontiguousarray(
        pop[:, lays[2].w_offset:lays[2].b_offset].reshape(P, 784, 10)))
    b3 = torch.from_numpy(np.ascontiguousarray(pop[:, lays[2].b_offset:]))
    x = torch.from_numpy(X.reshape(-1, 1, 28, 28))
    F = torch.nn.functional

    def run():
        with torch.no_grad():
            h = F.avg_pool2d(F.relu(F.conv2d(x, w1, b1, padding=2)), 2)
            h = F.avg_pool2d(F.relu(F.conv2d(h, w2, b2, padding=2, groups=P)), 2)
            h = h.reshape(x.shape[0], P, 784).transpose(0, 1)  # (P, B, 784)
            return torch.softmax(torch.baddbmm(b3[:, None, :], h, w3), -1)
    return run


def numpy_conv_population(net, pop, X):
    """Per genome, im2col by sliding windows and one matmul per layer."""
    from numpy.lib.stride_tricks import sliding_window_view as win

    lays = net.layout
    x0 = np.pad(X.reshape(-1, 1, 28, 28), ((0, 0), (0, 0), (2, 2), (2, 2)))
    cols0 = win(x0, (5, 5), axis=(2, 3)).transpose(0, 2, 3, 1, 4, 5).reshape(
        -1, 25)  # (B*28*28, 25), rows (c, i, j)

    def pool(h):  # (B, H, W, C) -> (B, H/2, W/2, C)
        b, hh, ww, c = h.shape
        return h.reshape(b, hh // 2, 2, ww // 2, 2, c).mean(axis=(2, 4))

    def run():
        out = []
        B = X.shape[0]
        for g in pop:
            h = np.maximum(cols0 @ g[:200].reshape(25, 8) + g[200:208], 0)
            h = pool(h.reshape(B, 28, 28, 8))
            hp = np.pad(h, ((0, 0), (2, 2), (2, 2), (0, 0)))
            c = win(hp, (5, 5), axis=(1, 2))  # (B, 14, 14, 8, 5, 5)
            W2 = g[lays[1].w_offset:lays[1].b_offset].reshape(200, 16)
            h = np.maximum(c.reshape(-1, 200) @ W2 + g[lays[1].b_offset:
                                                       lays[1].b_offset + 16], 0)
            h = pool(h.reshape(B, 14, 14, 16)).transpose(0, 3, 1, 2).reshape(B, 784)
            z = h @ g[lays[2].w_offset:lays[2].b_offset].reshape(784, 10) + \
                g[lays[2].b_offset:]
            e = np.exp(z - z.max(1, keepdims=True))
            out.append(e / e.sum(1, keepdims=True))
        return out
    return run


def gru_refs(net, pop, x):
    """Batched NumPy and torch steps of the GRU policy (state kept inside)."""
    P = pop.shape[0]
    lg, ld = net.layout
    n, u = 8, 32
    W = pop[:, lg.w_offset:lg.b_offset].reshape(P, n + u, 3 * u)
    Wx, Wh = np.ascontiguousarray(W[:, :n]), np.ascontiguousarray(W[:, n:])
    bi = pop[:, lg.b_offset:lg.b_offset + 3 * u]
    bh = pop[:, lg.b_offset + 3 * u:lg.b_offset + 6 * u]
    Wd = np.ascontiguousarray(pop[:, ld.w_offset:ld.b_offset].reshape(P, u, 4))
    bd = pop[:, ld.b_offset:]
    h = np.zeros((P, u), np.float32)

    def sig(z):
        return 1 / (1 + np.exp(-z))

    def np_step():
        gi = np.matmul(x[:, None], Wx)[:, 0] + bi
        gh = np.matmul(h[:, None], Wh)[:, 0] + bh
        r = sig(gi[:, :u] + gh[:, :u])
        z = sig(gi[:, u:2 * u] + gh[:, u:2 * u])
        c = np.tanh(gi[:, 2 * u:] + r * gh[:, 2 * u:])
        h[:] = (1 - z) * c + z * h
        return np.matmul(h[:, None], Wd)[:, 0] + bd

    T = {k: torch.from_numpy(v) for k, v in dict(x=x, Wx=Wx, Wh=Wh, bi=bi, bh=bh,
                                                 Wd=Wd, bd=bd).items()}
    th = torch.zeros(P, u)

    def torch_step():
        nonlocal th
        with torch.no_grad():
            gi = torch.baddbmm(T["bi"][:, None], T["x"][:, None], T["Wx"])[:, 0]
            gh = torch.baddbmm(T["bh"][:, None], th[:, None], T["Wh"])[:, 0]
            r = torch.sigmoid(gi[:, :u] + gh[:, :u])
            z = torch.sigmoid(gi[:, u:2 * u] + gh[:, u:2 * u])
            c = torch.tanh(gi[:, 2 * u:] + r * gh[:, 2 * u:])
            th = (1 - z) * c + z * th
            return torch.baddbmm(T["bd"][:, None], th[:, None], T["Wd"])[:, 0]
    return np_step, torch_step


def conv_case(net, pop, X, peak, repeats, title, names) -> None:
    """Time the ConvNet's forward of ``pop`` on ``X`` against torch's and
    NumPy's (checked against ours first) and print the rows."""
    flops = 2.0 * net._n_weights * pop.shape[0] * X.shape[0]
    out = np.empty((pop.shape[0], X.shape[0], 10), np.float32)
    ref = net.forward(pop, X)
    tr, nr = torch_conv_population(net, pop, X), numpy_conv_population(net, pop, X)
    np.testing.assert_allclose(tr().numpy(), ref, atol=1e-4)
    np.testing.assert_allclose(np.stack(nr()), ref, atol=1e-4)
    rows = [("pyneat_lite forward", median_cpu_time(
                lambda: net.forward(pop, X, out, n_threads=1), repeats)),
            (names[0], median_cpu_time(tr, repeats)),
            (names[1], median_cpu_time(nr, repeats))]
    print(f"\nconv: EvoJAX ConvNet, {title} ({flops / 1e9:.2f} GFLOP)")
    base = rows[0][1]
    for name, t in rows:
        print(f"  {name:26s} {t * 1e3:8.1f} ms  {flops / t / 1e9:6.2f} GFLOP/s  "
              f"{flops / t / 1e9 / peak:5.2f} x peak  {t / base:5.2f} x ours")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pop", type=int, default=64)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--one-batch", type=int, default=1024)
    ap.add_argument("--rnn-pop", type=int, default=1024)
    ap.add_argument("--repeats", type=int, default=5)
    a = ap.parse_args()
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    print(f"load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; one thread "
          "everywhere, process CPU time (medians)")
    with threadpoolctl.threadpool_limits(1):
        peak = gemm_peak_cpu()
        print(f"float32 GEMM peak (np.matmul 1024^2, 1 thread): {peak:.1f} GFLOP/s")

        net = convnet()
        pop = net.init_population(a.pop, seed=0)
        conv_case(net, pop, rng.random((a.batch, 784), dtype=np.float32), peak,
                  a.repeats, f"P={a.pop} genomes x B={a.batch} shared images",
                  ("torch grouped conv2d", "numpy im2col per genome"))
        conv_case(net, pop[:1], rng.random((a.one_batch, 784), dtype=np.float32),
                  peak, a.repeats, f"one genome x B={a.one_batch} images",
                  ("torch conv2d", "numpy im2col"))

        gnet = pn.Network(layers=[pn.GRU(32), pn.Dense(4)], input_shape=8)
        P = a.rnn_pop
        gpop = gnet.init_population(P, seed=0)
        x = rng.standard_normal((P, 8)).astype(np.float32)
        state = gnet.init_state(P)
        gout = np.empty((P, 4), np.float32)
        gflops = 2.0 * gnet._n_weights * P
        np_step, torch_step = gru_refs(gnet, gpop, x)
        s_chk = gnet.init_state(P)
        for _ in range(3):
            o = gnet.forward_each(gpop, x, state=s_chk)
            np.testing.assert_allclose(np_step(), o, atol=1e-4)
            np.testing.assert_allclose(torch_step().numpy(), o, atol=1e-4)
        rows = [("pyneat_lite forward_each", median_cpu_time(
                    lambda: gnet.forward_each(gpop, x, gout, state=state, n_threads=1),
                    a.repeats, min_time=0.05)),
                ("torch bmm + gates", median_cpu_time(torch_step, a.repeats,
                                                      min_time=0.05)),
                ("numpy matmul + gates", median_cpu_time(np_step, a.repeats,
                                                         min_time=0.05))]
        print(f"\nrecurrent: one step of P={P} GRU policies 8-GRU32-4 "
              f"({gflops / 1e6:.1f} MFLOP)")
        base = rows[0][1]
        for name, t in rows:
            print(f"  {name:26s} {t * 1e6:8.0f} us  {gflops / t / 1e9:6.2f} GFLOP/s  "
                  f"{gflops / t / 1e9 / peak:5.2f} x peak  {t / base:5.2f} x ours")
    print(f"\nload {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
