"""Shared timing helpers for the benchmarks: medians of repeats and the
machine limits (float32 GEMM peak, memory copy bandwidth) measured in the
same run, so that every figure can be printed as a ratio to its limit."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import numpy as np


def median_time(fn: Callable[[], object], repeats: int = 7, warmup: int = 1,
                min_time: float = 0.0) -> float:
    """Median wall time of ``fn()`` in seconds over ``repeats`` calls.

    With ``min_time`` > 0 each sample loops until it lasts that long, and the
    per-call time is reported (for calls of a few microseconds).
    """
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeats):
        n = 0
        t0 = time.perf_counter()
        while True:
            fn()
            n += 1
            dt = time.perf_counter() - t0
            if dt >= min_time:
                break
        samples.append(dt / n)
    return statistics.median(samples)


def gemm_peak_gflops(n: int = 2048, repeats: int = 7) -> float:
    """float32 GEMM rate of ``np.matmul`` on two n x n matrices, GFLOP/s."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    c = np.empty((n, n), np.float32)
    t = median_time(lambda: np.matmul(a, b, out=c), repeats=repeats)
    return 2.0 * n**3 / t / 1e9


def copy_bandwidth_gbs(n_bytes: int = 512 * 2**20, repeats: int = 7) -> float:
    """Memory copy bandwidth of a large ``np.copyto``, counted as bytes read
    plus bytes written, GB/s."""
    n = n_bytes // 4
    src = np.ones(n, np.float32)
    dst = np.empty_like(src)
    t = median_time(lambda: np.copyto(dst, src), repeats=repeats)
    return 2.0 * n_bytes / t / 1e9


def fmt_row(cols: list[object], widths: list[int]) -> str:
    """Left-aligned fixed-width row for the benchmark tables."""
    return "  ".join(str(c).ljust(w) for c, w in zip(cols, widths, strict=False))


def median_cpu_time(fn: Callable[[], object], repeats: int = 7, warmup: int = 1,
                    min_time: float = 0.0) -> float:
    """:func:`median_time` in process CPU seconds (all threads): on a loaded
    machine the time a one-thread call spends descheduled is not counted, so
    one-thread figures compare fairly within a run (spinning threads count)."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeats):
        n = 0
        t0 = time.process_time()
        w0 = time.perf_counter()
        while True:
            fn()
            n += 1
            if time.perf_counter() - w0 >= min_time:
                break
        samples.append((time.process_time() - t0) / n)
    return statistics.median(samples)


def gemm_peak_gflops_cpu(n: int = 1024, repeats: int = 7) -> float:
    """:func:`gemm_peak_gflops` on one BLAS thread, in CPU time."""
    import threadpoolctl

    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    c = np.empty((n, n), np.float32)
    with threadpoolctl.threadpool_limits(1, user_api="blas"):
        t = median_cpu_time(lambda: np.matmul(a, b, out=c), repeats=repeats)
    return 2.0 * n**3 / t / 1e9
