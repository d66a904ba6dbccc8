"""Population forward passes: pyneat_lite against the machine's GEMM peak and
the best plain-NumPy way, all measured in the same run.

Cases (issue 2):
  A  64-32-10 tanh/softmax, P=256, B=1797 shared inputs   goal >= 40% of GEMM peak
  B  784-128-10 relu/softmax, P=256, B=1024 shared inputs goal >= 85% of GEMM peak
  C  4-16-2 tanh, P=1024, one input row per genome       goal >= 5x best NumPy
  C1 the same on one Numba thread (the kernel without the thread wake-up)
  C2 the same kernel forced onto two Numba threads (0.1.0's choice at this
     size: what waking the pool costs on this machine, now)

For every case: median wall time of repeated calls (output buffer passed with
``out=``, as an evolution loop does), GFLOP/s counting 2*in*out per layer per
sample per genome, the ratio to float32 GEMM peak (``np.matmul`` 2048x2048,
same run), and the speedup over the faster of two plain-NumPy ways (a Python
loop of ``X @ W`` per genome, or batched ``np.matmul`` on stacked kernels;
kernels pre-stacked outside the timing, activations in NumPy too).  Then the
first-call time in a fresh process, with an empty and with a warm on-disk
Numba cache (temporary ``NUMBA_CACHE_DIR``).  Prints a markdown table.

The limit of a case is the larger of its FLOPs at the GEMM peak and its
genome bytes read at the memory copy bandwidth (both measured in the same
run); ``CPU/call`` is the process CPU time per call (all threads), which
shows the time thread pools burn spinning on a loaded machine, and the
speedup in CPU time compares it with the best NumPy way's (fairer than wall
time when other jobs share the cores).

``--spin``: in a fresh process, the CPU time each thread pool (NumPy's
OpenBLAS, SciPy's OpenBLAS, Numba's workers) burns over cycles of one small
call then 2 ms of sleep: which pool spins, and how much.

Run:  python benchmarks/bench_forward.py [--repeats 7] [--no-jit] [--spin] [--cases A,C]
Single-core figures (kernel efficiency, less sensitive to a busy machine):
      OPENBLAS_NUM_THREADS=1 NUMBA_NUM_THREADS=1 python benchmarks/bench_forward.py
Figures only; nothing is asserted about time.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _util import (  # noqa: E402
    copy_bandwidth_gbs,
    gemm_peak_gflops,
    gemm_peak_gflops_cpu,
    median_cpu_time,
    median_time,
)

import pyneat_lite as pn  # noqa: E402


# ------------------------------------------------------------------ numpy ways
def _np_act(name, h):
    if name == "tanh":
        return np.tanh(h, out=h)
    if name == "relu":
        return np.maximum(h, 0.0, out=h)
    if name == "softmax":
        h -= h.max(axis=-1, keepdims=True)
        np.exp(h, out=h)
        h /= h.sum(axis=-1, keepdims=True)
        return h
    if name == "linear":
        return h
    raise ValueError(name)


def numpy_loop(net, pop, X):
    """Python loop over genomes, ``X @ W`` per layer (weights as views)."""
    weights = [net.unflatten(g) for g in pop]

    def run():
        out = np.empty((len(pop), len(X), net.n_out), np.float32)
        for p, layers in enumerate(weights):
            h = X
            for (W, b), act in zip(layers, net.activations, strict=True):
                h = _np_act(act, h @ W + b)
            out[p] = h
        return out

    return run


def numpy_batched(net, pop, X, shared=True):
    """Batched ``np.matmul`` on kernels stacked (P, in, out) beforehand."""
    stacks = [
        (np.ascontiguousarray(pop[:, lay.w_offset : lay.b_offset].reshape(-1, *lay.w_shape)),
         np.ascontiguousarray(pop[:, lay.b_offset : lay.b_offset + lay.b_size])[:, None, :])
        for lay in net.layout
    ]

    def run():
        h = X if shared else X[:, None, :]
        for (W, b), act in zip(stacks, net.activations, strict=True):
            h = _np_act(act, np.matmul(h, W) + b)
        return h if shared else h[:, 0, :]

    return run


# ------------------------------------------------------------------ JIT timing
_CHILD = textwrap.dedent(
    """
    import json, time
    t0 = time.perf_counter()
    import numpy as np
    import pyneat_lite as pn
    t1 = time.perf_counter()
    net = pn.Network([64, 32, 10], ["tanh", "softmax"])
    pop = net.init_population(8, seed=0)
    X = np.zeros((100, 64), np.float32)
    t2 = time.perf_counter(); net.forward(pop, X); t3 = time.perf_counter()
    net.forward(pop, X[:4]); t4 = time.perf_counter()
    pol = pn.Network([4, 16, 2], "tanh")
    pp = pol.init_population(8, seed=0)
    t5 = time.perf_counter(); pol.forward_each(pp, np.zeros((8, 4), np.float32))
    t6 = time.perf_counter()
    w = pn.warmup(); t7 = time.perf_counter()
    print(json.dumps({"import": t1 - t0, "forward_gemm": t3 - t2,
                      "forward_loops": t4 - t3, "forward_each": t6 - t5,
                      "warmup_after": w, "process": t7 - t0}))
    """
)


_SPIN_CHILD = textwrap.dedent(
    """
    import json, os, time
    def cpu():  # ns of CPU per thread of this process
        d = {}
        for t in os.listdir("/proc/self/task"):
            try:
                d[int(t)] = int(open(f"/proc/self/task/{t}/schedstat").read().split()[0])
            except OSError:
                pass
        return d
    base = set(cpu())
    import numpy as np
    t_np = set(cpu()) - base
    import scipy.linalg.cython_blas  # noqa: F401
    t_sp = set(cpu()) - base - t_np
    import numba
    import pyneat_lite as pn
    from pyneat_lite._kernels import forward as kernels
    pre = set(cpu())
    net = pn.Network([4, 16, 2], ["tanh", "tanh"])
    pop = net.init_population(1024, seed=0)
    X = np.zeros((1024, 4), np.float32)
    out = np.empty((1024, 2), np.float32)
    each = lambda n: kernels.forward_each_kernel(pop, X, net.meta, net.max_width, out, n)
    each(1)
    numba.set_num_threads(2)
    each(2)
    t_nb = set(cpu()) - pre
    pools = {"NumPy OpenBLAS": t_np, "SciPy OpenBLAS": t_sp,
             f"Numba {numba.threading_layer()}": t_nb}
    a = np.ones((256, 256), np.float32)
    res = {"threads": {k: len(v) for k, v in pools.items()}, "cases": []}
    main = os.getpid()
    for label, f in (("np.matmul 256x256 (2 BLAS threads)", lambda: a @ a),
                     ("forward_each 4-16-2 P=1024, 2 Numba threads", lambda: each(2)),
                     ("forward_each 4-16-2 P=1024, 1 thread", lambda: each(1))):
        f()
        c0 = cpu()
        w0 = time.perf_counter()
        for _ in range(100):
            f()
            time.sleep(0.002)
        wall = (time.perf_counter() - w0) / 100 - 0.002
        c1 = cpu()
        per = {k: sum(c1.get(t, 0) - c0.get(t, 0) for t in v) / 100e3
               for k, v in pools.items()}
        per["calling thread"] = (c1[main] - c0[main]) / 100e3
        res["cases"].append((label, wall * 1e6, per))
    print(json.dumps(res))
    """
)


def spin_profile():
    """Per-pool CPU time (us per call) over cycles of a call and 2 ms of
    sleep, in a fresh process (so that each pool's threads can be told apart
    by when they appear)."""
    out = subprocess.run([sys.executable, "-c", _SPIN_CHILD], check=True,
                         capture_output=True, text=True).stdout
    res = json.loads(out.strip().splitlines()[-1])
    print(f"\nWho spins (load {_load()}): CPU us per call over 100 cycles of "
          "(call, 2 ms sleep); threads per pool "
          + ", ".join(f"{k} {v}" for k, v in res["threads"].items()) + "\n")
    names = list(res["cases"][0][2])
    print("| call | wall us (sleep excluded) | " + " | ".join(names) + " |")
    print("|---" * (len(names) + 2) + "|")
    for label, wall, per in res["cases"]:
        print(f"| {label} | {wall:.0f} | " + " | ".join(f"{per[k]:.0f}" for k in names)
              + " |")


def jit_times():
    """First-call seconds in fresh processes: empty cache, then warm cache."""
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        res = []
        for _ in range(2):
            out = subprocess.run([sys.executable, "-c", _CHILD], env=env, check=True,
                                 capture_output=True, text=True).stdout
            res.append(json.loads(out.strip().splitlines()[-1]))
    return res


# ------------------------------------------------------------------ main
def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--no-jit", action="store_true", help="skip the fresh-process JIT timing")
    ap.add_argument("--cases", default="A,B,C,C1,C2",
                    help="comma-separated cases to run (default: all)")
    ap.add_argument("--spin", action="store_true",
                    help="also profile which thread pool spins (fresh process)")
    ap.add_argument("--quick", action="store_true",
                    help="3 repeats and no fresh-process JIT timing (a smoke run)")
    args = ap.parse_args(argv)
    if args.quick:
        args.repeats, args.no_jit = min(args.repeats, 3), True

    import numba
    import threadpoolctl

    rng = np.random.default_rng(0)
    pn.warmup()
    peak = gemm_peak_gflops(repeats=args.repeats)
    bandwidth = copy_bandwidth_gbs(64 * 2**20, repeats=args.repeats)
    blas = [(i["internal_api"], i["num_threads"]) for i in threadpoolctl.threadpool_info()
            if i["user_api"] == "blas"]
    print(f"# bench_forward: numpy {np.__version__}, numba {numba.__version__} "
          f"({numba.get_num_threads()} threads, layer {numba.threading_layer()}), "
          f"BLAS {blas}, OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}")
    print("load average at start: " + _load())
    print(f"float32 GEMM peak (np.matmul 2048x2048): {peak:.1f} GFLOP/s, "
          f"copy bandwidth {bandwidth:.1f} GB/s\n")

    cases = [
        ("A", [64, 32, 10], ["tanh", "softmax"], 256, 1797, True, "40% of peak"),
        ("B", [784, 128, 10], ["relu", "softmax"], 256, 1024, True, "85% of peak"),
        ("C", [4, 16, 2], ["tanh", "tanh"], 1024, 1, False, "5x NumPy"),
        # the same step on one Numba thread: the kernel alone, without the
        # cost of waking the thread pool (large on a loaded machine)
        ("C1", [4, 16, 2], ["tanh", "tanh"], 1024, 1, False, "(1 Numba thread)"),
        ("C2", [4, 16, 2], ["tanh", "tanh"], 1024, 1, False, "(forced 2 threads)"),
    ]
    wanted = set(args.cases.split(","))
    rows = []
    for name, sizes, acts, P, B, shared, goal in cases:
        if name not in wanted:
            continue
        net = pn.Network(sizes, acts)
        pop = net.init_population(P, seed=0)
        flops_per = sum(2 * a * b for a, b in zip(sizes[:-1], sizes[1:], strict=True))
        if shared:
            X = rng.standard_normal((B, sizes[0])).astype(np.float32)
            out = np.empty((P, B, net.n_out), np.float32)
            ours = lambda net=net, pop=pop, X=X, out=out: net.forward(pop, X, out=out)  # noqa: E731
            ways = {"loop": numpy_loop(net, pop, X), "batched": numpy_batched(net, pop, X)}
            flops = flops_per * P * B
            min_time = 0.0
        else:
            X = rng.standard_normal((P, sizes[0])).astype(np.float32)
            out = np.empty((P, net.n_out), np.float32)
            ours = lambda net=net, pop=pop, X=X, out=out: net.forward_each(pop, X, out=out)  # noqa: E731
            if name == "C2":
                ours = forced_two_threads(net, pop, X, out)
            ways = {"batched": numpy_batched(net, pop, X, shared=False),
                    "loop": numpy_loop_each(net, pop, X)}
            flops = flops_per * P
            min_time = 0.05
        n_threads = numba.get_num_threads()
        if name == "C1":
            numba.set_num_threads(1)
        ref = ours().copy()
        for f in ways.values():  # same numbers, or the comparison is void
            np.testing.assert_allclose(f(), ref, rtol=1e-3, atol=1e-4)
        t = median_time(ours, repeats=args.repeats, min_time=min_time)
        cpu = cpu_per_call(ours, args.repeats)
        t_np = {k: median_time(f, repeats=args.repeats, min_time=min_time)
                for k, f in ways.items()}
        numba.set_num_threads(n_threads)
        best = min(t_np, key=t_np.get)
        cpu_np = cpu_per_call(ways[best], args.repeats)
        gf = flops / t / 1e9
        limit = max(flops / (peak * 1e9), pop.nbytes / (bandwidth * 1e9))
        rows.append((name, f"{'-'.join(map(str, sizes))} {'/'.join(dict.fromkeys(acts))}",
                     P, B if shared else "1/genome", t, cpu, gf, 100 * gf / peak,
                     100 * limit / t, best, t_np[best], t_np[best] / t, cpu_np / cpu,
                     goal))

    print("| case | network | P | B | time | CPU/call | GFLOP/s | % of GEMM peak "
          "| % of limit | best NumPy | NumPy time | speedup | speedup in CPU time "
          "| goal |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r[0]} | {r[1]} | {r[2]} | {r[3]} | {_fmt_t(r[4])} | {_fmt_t(r[5])} | "
              f"{r[6]:.1f} | {r[7]:.0f}% | {r[8]:.0f}% | {r[9]} | {_fmt_t(r[10])} | "
              f"{r[11]:.1f}x | {r[12]:.1f}x | {r[13]} |")

    if "A" in wanted:
        breakdown_a(peak, args.repeats, rng)
    if "B" in wanted:
        net = pn.Network([784, 128, 10], ["relu", "softmax"])
        one_thread_breakdown("B", net, net.init_population(256, seed=0),
                             rng.standard_normal((1024, 784)).astype(np.float32),
                             rng.integers(0, 10, 1024), args.repeats)
    print("\nload average after the timings: " + _load())
    if args.spin:
        spin_profile()
    if not args.no_jit:
        cold, warm = jit_times()
        print("\nFirst call in a fresh process (seconds; cold = empty NUMBA_CACHE_DIR, "
              "warm = cache written by the cold run):\n")
        print("| | import | first forward (GEMM path) | first forward (loops) "
              "| first forward_each | warmup() after those |")
        print("|---|---|---|---|---|---|")
        for label, r in (("cold cache", cold), ("warm cache", warm)):
            print(f"| {label} | {r['import']:.2f} | {r['forward_gemm']:.2f} | "
                  f"{r['forward_loops']:.2f} | {r['forward_each']:.2f} | "
                  f"{r['warmup_after']:.2f} |")


def breakdown_a(peak, repeats, rng):
    """Case A as a fitness (Classification, cross-entropy): fused (the
    outputs reduced per genome as they are computed) against the forward
    followed by the loss kernel; then a one-thread breakdown of the forward:
    the BLAS block products alone against the whole pass."""


    net = pn.Network([64, 32, 10], ["tanh", "softmax"])
    P = 256
    X, y = pn.datasets.load_digits()  # the real digits: B = 1797
    X = X.astype(np.float32)
    B = len(y)
    pop = net.init_population(P, seed=0)
    flops = 2 * (64 * 32 + 32 * 10) * P * B
    batched = numpy_batched(net, pop, X)

    def numpy_fitness():  # the best plain-NumPy way: batched matmul, then the loss
        prob = batched()
        return np.log(np.maximum(prob[:, np.arange(B), y], 1e-7)).mean(axis=1)
    fused = pn.tasks.Classification(net, X, y, metric="cross_entropy")
    plain = pn.tasks.Classification(net, X, y, metric="cross_entropy")
    plain._fused = lambda *a: False
    assert np.array_equal(fused(pop), plain(pop))  # same numbers, bit for bit
    np.testing.assert_allclose(numpy_fitness(), fused(pop), rtol=1e-4)
    t_f = median_time(lambda: fused.evaluate(pop), repeats=repeats)
    t_p = median_time(lambda: plain.evaluate(pop), repeats=repeats)
    t_n = median_time(numpy_fitness, repeats=repeats)
    print("\nDigits fitness (Classification cross-entropy, 64-32-10, P=256, all "
          "1797 samples), evaluations/s:\n")
    print("| way | time | evaluations/s | % of GEMM peak | vs NumPy batched |")
    print("|---|---|---|---|---|")
    for label, t in (("fused (outputs never written)", t_f),
                     ("forward into a buffer + loss kernel", t_p),
                     ("NumPy batched matmul + NumPy loss", t_n)):
        print(f"| {label} | {_fmt_t(t)} | {P / t:,.0f} | "
              f"{100 * flops / t / 1e9 / peak:.0f}% | {t_n / t:.1f}x |")

    digits_peer(net, fused, X, y, P, repeats)
    one_thread_breakdown("A", net, pop, X, y, repeats)


def digits_peer(net, fitness, X, y, P, repeats, gens=20):
    """Whole OpenES generations on digits (ask, cross-entropy fitness, tell),
    evaluations/s: pyneat_lite against evosax (JAX, one jitted generation
    with a jit(vmap) fitness of the same network), in the same run.  evosax
    is optional: without it a note is printed."""
    import statistics
    import time

    es = pn.OpenES(n_params=net.n_params, pop_size=P, seed=0)
    es_genomes = pn.OpenES(n_params=net.n_params, pop_size=P, seed=0)

    def ours():  # what es.run(fitness) does: the task scores the pairs' noise
        es.tell(fitness(es.ask_structured()))

    def genomes():  # the genomes written by ask(), scored as any population
        es_genomes.tell(fitness(es_genomes.ask()))

    t_ours = median_time(ours, repeats=repeats, min_time=0.2)
    t_gen = median_time(genomes, repeats=repeats, min_time=0.2)
    c_ours = cpu_per_call(ours, repeats, min_time=0.2)
    print(f"\nDigits, whole OpenES generations (P={P}): pyneat_lite "
          f"{P / t_ours:,.0f} evaluations/s as run() does them (ask_structured: "
          f"the antithetic pairs scored from their noise), {P / t_gen:,.0f} with "
          f"ask()'s genomes; {P / c_ours:,.0f} evaluations per process CPU second")
    try:
        import jax
        import jax.numpy as jnp
        from evosax.algorithms import Open_ES
    except ImportError:
        print("(evosax not installed: no same-run peer; `pip install evosax`)")
        return
    sizes = [lay.w_shape for lay in net.layout]
    Xj, yj = jnp.asarray(X), jnp.asarray(y)

    def loss(g):
        h, o = Xj, 0
        for i, (n_in, n_out) in enumerate(sizes):
            W = g[o:o + n_in * n_out].reshape(n_in, n_out)
            b = g[o + n_in * n_out:o + n_in * n_out + n_out]
            o += n_in * n_out + n_out
            h = h @ W + b
            h = jnp.tanh(h) if i < len(sizes) - 1 else jax.nn.log_softmax(h)
        return -jnp.mean(h[jnp.arange(yj.shape[0]), yj])

    peer = Open_ES(population_size=P, solution=jnp.zeros(net.n_params))
    params = peer.default_params
    fit = jax.jit(jax.vmap(loss))

    @jax.jit
    def generation(key, state):
        k1, k2, key = jax.random.split(key, 3)
        pop, state = peer.ask(k1, state, params)
        f = fit(pop)
        state, _ = peer.tell(k2, pop, f, state, params)
        return key, state, f

    key = jax.random.key(0)
    state = peer.init(key, jnp.zeros(net.n_params), params)
    key, state, f = generation(key, state)  # compile
    f.block_until_ready()
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(gens):
            key, state, f = generation(key, state)
        f.block_until_ready()
        samples.append((time.perf_counter() - t0) / gens)
    t_peer = statistics.median(samples)

    def peer_gens():
        nonlocal key, state
        for _ in range(gens):
            key, state, f = generation(key, state)
        f.block_until_ready()

    c_peer = cpu_per_call(peer_gens, repeats, min_time=0.2) / gens
    print(f"evosax OpenES (jit generation, jit(vmap) fitness): {P / t_peer:,.0f} "
          f"evaluations/s; ratio {t_peer / t_ours:.1f}x (goal >= 4x); "
          f"{P / c_peer:,.0f} evaluations per process CPU second: ratio "
          f"{c_peer / c_ours:.1f}x")


def one_thread_breakdown(name, net, pop, X, y, repeats):
    """One thread, CPU time (robust to a loaded machine): the BLAS products
    of the GEMM path's blocks alone, against the whole forward and the two
    ways to a cross-entropy fitness, all against the one-thread GEMM peak."""
    import threadpoolctl

    from pyneat_lite._kernels import forward as kernels

    P, B = len(pop), len(X)
    n_in, h1 = net.sizes[0], net.sizes[1]
    flops = 2 * net._n_weights * P * B
    g = kernels.block_genomes(P, h1, B)
    wblocks = [np.ascontiguousarray(
        pop[p0:p0 + g, :n_in * h1].reshape(-1, n_in, h1).transpose(1, 0, 2)
        .reshape(n_in, -1)) for p0 in range(0, P, g)]
    hbuf = np.empty((g * h1, B), np.float32)
    out = np.empty((P, B, net.n_out), np.float32)
    peak1 = gemm_peak_gflops_cpu(repeats=repeats)

    def products():
        for w in wblocks:
            np.dot(w.T, X.T, out=hbuf[: w.shape[1]])

    with threadpoolctl.threadpool_limits(1, user_api="blas"):
        t_gemm = median_cpu_time(products, repeats=repeats)
    t_all = median_cpu_time(lambda: net.forward(pop, X, out=out, n_threads=1),
                            repeats=repeats)
    fit1 = pn.tasks.Classification(net, X, y, metric="cross_entropy", n_threads=1)
    plain1 = pn.tasks.Classification(net, X, y, metric="cross_entropy", n_threads=1)
    plain1._fused = lambda *a: False
    t_fit1 = median_cpu_time(lambda: fit1.evaluate(pop), repeats=repeats)
    t_plain1 = median_cpu_time(lambda: plain1.evaluate(pop), repeats=repeats)
    f1 = 2 * n_in * h1 * P * B
    print(f"\nCase {name} ({'-'.join(map(str, net.sizes))}, P={P}, B={B}) on one "
          f"thread, CPU time (one-thread GEMM peak {peak1:.1f} GFLOP/s, same "
          f"measure), blocks of {g} genomes:\n")
    print("| part | CPU time | share of the forward | GFLOP/s | % of 1-thread peak |")
    print("|---|---|---|---|---|")
    print(f"| first-layer BLAS products ({-(-P // g)} blocks) | {_fmt_t(t_gemm)} | "
          f"{100 * t_gemm / t_all:.0f}% | {f1 / t_gemm / 1e9:.1f} | "
          f"{100 * f1 / t_gemm / 1e9 / peak1:.0f}% |")
    print(f"| the rest: gather, bias+activation, later layers, write | "
          f"{_fmt_t(t_all - t_gemm)} | {100 * (t_all - t_gemm) / t_all:.0f}% | - | - |")
    for label, t in (("whole forward (outputs written)", t_all),
                     ("fitness: forward into a buffer + loss kernel", t_plain1),
                     ("fitness: fused (no output written)", t_fit1)):
        print(f"| {label} | {_fmt_t(t)} | {100 * t / t_all:.0f}% | "
              f"{flops / t / 1e9:.1f} | {100 * flops / t / 1e9 / peak1:.0f}% |")


def forced_two_threads(net, pop, X, out):
    """The forward_each kernel on two Numba threads whatever the size."""
    import numba

    from pyneat_lite._kernels import forward as kernels

    def run():
        prev = numba.get_num_threads()
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        try:
            kernels.forward_each_kernel(pop, X, net.meta, net.max_width, out,
                                        numba.get_num_threads())
        finally:
            numba.set_num_threads(prev)
        return out

    return run


def cpu_per_call(fn, repeats=7, min_time=0.05):
    """Process CPU seconds (all threads) per call: the median of ``repeats``
    samples of at least ``min_time`` seconds of wall time each (one long
    sample on a shared machine mixes calls slowed by other jobs' cache and
    core use into the figure; the median of several does less so)."""
    return median_cpu_time(fn, repeats=repeats, min_time=min_time)


def numpy_loop_each(net, pop, X):
    """Python loop over genomes, one input row each."""
    weights = [net.unflatten(g) for g in pop]

    def run():
        out = np.empty((len(pop), net.n_out), np.float32)
        for p, layers in enumerate(weights):
            h = X[p : p + 1]
            for (W, b), act in zip(layers, net.activations, strict=True):
                h = _np_act(act, h @ W + b)
            out[p] = h[0]
        return out

    return run


def _load():
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def _fmt_t(t):
    return f"{t * 1e6:.0f} us" if t < 1e-3 else f"{t * 1e3:.1f} ms"


if __name__ == "__main__":
    main()
