"""Pure-Python reference of the operator RNG recipe and of a few operators.

Written from the recipe in ``pyneat_lite/_operators/_rng.pxd``'s header, not
from its code: splitmix64 seeding of xoshiro256** (Blackman & Vigna), the
``(x >> 11) + 0.5`` uniform, Lemire's bounded integers, the 256-layer normal
and exponential ziggurats of Marsaglia & Tsang (2000), geometric gaps, and
the operators built on them.  Slow (Python ints); use on small arrays.
"""

from __future__ import annotations

import math

import numpy as np

M64 = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15


def mix64(z: int) -> int:
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


def _rotl(x: int, k: int) -> int:
    return ((x << k) | (x >> (64 - k))) & M64


def _normal_tables(bits: int = 52):
    m = 2.0**bits
    dn = 3.6541528853610088
    tn = dn
    vn = 4.92867323399e-3
    k = [0] * 256
    w = [0.0] * 256
    f = [0.0] * 256
    q = vn / math.exp(-0.5 * dn * dn)
    k[0] = int((dn / q) * m)
    w[0] = q / m
    w[255] = dn / m
    f[0] = 1.0
    f[255] = math.exp(-0.5 * dn * dn)
    for i in range(254, 0, -1):
        dn = math.sqrt(-2.0 * math.log(vn / dn + math.exp(-0.5 * dn * dn)))
        k[i + 1] = int((dn / tn) * m)
        tn = dn
        f[i] = math.exp(-0.5 * dn * dn)
        w[i] = dn / m
    return k, w, f


def _exp_tables():
    m = 2.0**53
    de = 7.69711747013104972
    te = de
    ve = 3.949659822581572e-3
    k = [0] * 256
    w = [0.0] * 256
    f = [0.0] * 256
    q = ve / math.exp(-de)
    k[0] = int((de / q) * m)
    w[0] = q / m
    w[255] = de / m
    f[0] = 1.0
    f[255] = math.exp(-de)
    for i in range(254, 0, -1):
        de = -math.log(ve / de + math.exp(-de))
        k[i + 1] = int((de / te) * m)
        te = de
        f[i] = math.exp(-de)
        w[i] = de / m
    return k, w, f


ZN_K, ZN_W, ZN_F = _normal_tables()
Z23_K, Z23_W, _ = _normal_tables(23)
ZE_K, ZE_W, ZE_F = _exp_tables()
ZN_R = 3.6541528853610088
ZE_R = 7.69711747013104972


class Rng:
    """xoshiro256** seeded by four splitmix64 outputs of the row seed."""

    def __init__(self, seed: int) -> None:
        s = int(seed) & M64
        st = []
        for _ in range(4):
            s = (s + GOLDEN) & M64
            st.append(mix64(s))
        self.s = st

    def next(self) -> int:
        s0, s1, s2, s3 = self.s
        result = (_rotl((s1 * 5) & M64, 7) * 9) & M64
        t = (s1 << 17) & M64
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = _rotl(s3, 45)
        self.s = [s0, s1, s2, s3]
        return result

    def uniform(self) -> float:
        return ((self.next() >> 11) + 0.5) * 2.0**-53

    def bounded(self, n: int) -> int:
        x = self.next() >> 32
        m = x * n
        low = m & 0xFFFFFFFF
        if low < n:
            t = ((1 << 32) - n) % n
            while low < t:
                x = self.next() >> 32
                m = x * n
                low = m & 0xFFFFFFFF
        return m >> 32

    def normal(self) -> float:
        while True:
            x = self.next()
            idx = x & 0xFF
            x >>= 8
            sign = x & 1
            rabs = (x >> 1) & ((1 << 52) - 1)
            v = float(rabs) * ZN_W[idx]
            if sign:
                v = -v
            if rabs < ZN_K[idx]:
                return v
            if idx == 0:
                while True:
                    xx = -(1.0 / ZN_R) * math.log(self.uniform())
                    yy = -math.log(self.uniform())
                    if yy + yy > xx * xx:
                        return -(ZN_R + xx) if (rabs >> 8) & 1 else ZN_R + xx
            elif (ZN_F[idx - 1] - ZN_F[idx]) * self.uniform() + ZN_F[idx] < math.exp(
                -0.5 * v * v
            ):
                return v

    def normal32(self, x: int) -> float:
        """Normal from a 32-bit draw (8 bits layer, 1 sign, 23 abscissa);
        rejections continue with the low halves of new words."""
        while True:
            idx = x & 0xFF
            rabs = (x >> 9) & 0x7FFFFF
            v = float(rabs) * Z23_W[idx]
            if (x >> 8) & 1:
                v = -v
            if rabs < Z23_K[idx]:
                return v
            if idx == 0:
                while True:
                    xx = -(1.0 / ZN_R) * math.log(self.uniform())
                    yy = -math.log(self.uniform())
                    if yy + yy > xx * xx:
                        return -(ZN_R + xx) if (rabs >> 8) & 1 else ZN_R + xx
            elif (ZN_F[idx - 1] - ZN_F[idx]) * self.uniform() + ZN_F[idx] < math.exp(
                -0.5 * v * v
            ):
                return v
            x = self.next() & 0xFFFFFFFF

    def fill_normal32(self, n: int) -> np.ndarray:
        """n float32 normals, two per word (low half first)."""
        out = np.empty(n, np.float32)
        j = 0
        while j + 1 < n:
            w = self.next()
            out[j] = self.normal32(w & 0xFFFFFFFF)
            out[j + 1] = self.normal32(w >> 32)
            j += 2
        if j < n:
            out[j] = self.normal32(self.next() & 0xFFFFFFFF)
        return out

    def exponential(self) -> float:
        while True:
            x = self.next()
            idx = x & 0xFF
            ri = x >> 11
            v = float(ri) * ZE_W[idx]
            if ri < ZE_K[idx]:
                return v
            if idx == 0:
                return ZE_R - math.log(self.uniform())
            if (ZE_F[idx - 1] - ZE_F[idx]) * self.uniform() + ZE_F[idx] < math.exp(-v):
                return v

    def gap(self, rate: float, limit: int) -> int:
        g = self.exponential() * (-1.0 / math.log1p(-rate))
        return limit if g >= limit else int(g)


def row_seeds(seed: int, generation: int, stream: int, n: int) -> np.ndarray:
    """Independent restatement of ``_validation.row_seeds``."""
    ss = np.random.SeedSequence(entropy=seed, spawn_key=(generation, stream))
    return ss.generate_state(n, np.uint64)


# ---------------------------------------------------------------------------
# operators on one row
# ---------------------------------------------------------------------------


def uniform_cross_row(a, b, p: float, rng: Rng) -> np.ndarray:
    n = a.shape[0]
    o = a.copy()
    if p == 0.5:
        for j0 in range(0, n, 64):
            w = rng.next()
            for t in range(min(64, n - j0)):
                if (w >> t) & 1:
                    o[j0 + t] = b[j0 + t]
        return o
    if p <= 0.0:
        return o
    if p >= 1.0:
        return b.copy()
    src, o, q = (b, a.copy(), p) if p < 0.5 else (a, b.copy(), 1.0 - p)
    j = rng.gap(q, n)
    while j < n:
        o[j] = src[j]
        j += 1 + rng.gap(q, n)
    return o


def gaussian_mutate_row(x, rate: float, sigma: float, rng: Rng) -> np.ndarray:
    o = x.copy()
    n = o.shape[0]
    if rate <= 0.0:
        return o
    if rate >= 1.0:
        for j in range(n):
            o[j] = np.float32(float(o[j]) + sigma * rng.normal())
        return o
    j = rng.gap(rate, n)
    while j < n:
        o[j] = np.float32(float(o[j]) + sigma * rng.normal())
        j += 1 + rng.gap(rate, n)
    return o


def tournament_one(keys, k: int, rng: Rng) -> int:
    n = keys.shape[0]
    best = rng.bounded(n)
    for _ in range(1, k):
        c = rng.bounded(n)
        if keys[c] > keys[best]:
            best = c
    return best


def oriented_keys(fitness, minimize: bool) -> np.ndarray:
    keys = -np.asarray(fitness, np.float64) if minimize else np.array(
        fitness, np.float64)
    keys[np.isnan(keys)] = -np.inf
    return keys


def next_generation_tournament(parents, fitness, n_out: int, *, k: int,
                               swap_prob: float, rate: float, sigma: float,
                               elitism: int, seed: int, generation: int,
                               stream: int, minimize: bool = False):
    """Reference of next_generation(Tournament(k), UniformCrossover(p),
    GaussianMutation(rate, sigma), elitism) with probabilities 1."""
    keys = oriented_keys(fitness, minimize)
    order = np.argsort(-keys, kind="stable")
    out = np.empty((n_out, parents.shape[1]), np.float32)
    pairs = np.empty((n_out, 2), np.int64)
    seeds = row_seeds(seed, generation, stream, n_out)
    for i in range(n_out):
        if i < elitism:
            out[i] = parents[order[i]]
            pairs[i] = order[i]
            continue
        rng = Rng(int(seeds[i]))
        a = tournament_one(keys, k, rng)
        b = tournament_one(keys, k, rng)
        pairs[i] = (a, b)
        child = uniform_cross_row(parents[a], parents[b], swap_prob, rng)
        out[i] = gaussian_mutate_row(child, rate, sigma, rng)
    return out, pairs


def tournament_probabilities(P: int, k: int) -> np.ndarray:
    """P(pick rank r), r = 1 (best) .. P, distinct fitness, with replacement."""
    r = np.arange(1, P + 1, dtype=np.float64)
    return ((P - r + 1) ** k - (P - r) ** k) / P**k
