"""Numba side of the library's random streams: xoshiro256** seeded by splitmix64.

The same generator as the Cython kernels (``pyneat_lite._operators``): a
row's 64-bit seed (from :func:`pyneat_lite._rng.row_seeds`, keyed by
``(seed, generation, stream, row)``) fills the four state words with four
splitmix64 steps, and every draw advances xoshiro256** (Blackman & Vigna
2018).  The words, the uniform doubles and the bounded integers are
bit-identical to the Cython ones (``_operators._rng_words`` and
``_rng_draws`` pin them in the tests), so Numba and Cython consumers of a
stream agree.

A state is a C-contiguous uint64 array of 4 words, owned by one row: no
global or per-thread generator, so results do not depend on the threads.
"""

from __future__ import annotations

import functools

import numpy as np
from numba import njit

from ._config import OPTS

__all__ = [
    "rng_bounded",
    "rng_next",
    "rng_seed",
    "rng_uniform",
    "sample_without_replacement",
    "seed_sequence_state",
    "seed_sequence_words",
]

_U = np.uint64
_GOLDEN = _U(0x9E3779B97F4A7C15)
_M1 = _U(0xBF58476D1CE4E5B9)
_M2 = _U(0x94D049BB133111EB)
_LOW32 = _U(0xFFFFFFFF)
# Inlined at the Numba level: a state in a register beats a call per draw.
_INLINE = {**OPTS, "inline": "always"}


@njit(**_INLINE)
def _mix64(z):
    z = (z ^ (z >> _U(30))) * _M1
    z = (z ^ (z >> _U(27))) * _M2
    return z ^ (z >> _U(31))


@njit(**_INLINE)
def _rotl(x, k):
    return (x << _U(k)) | (x >> _U(64 - k))


@njit(**_INLINE)
def rng_seed(state, seed):
    """Fill ``state`` (uint64 (4,)) from a 64-bit ``seed``: four splitmix64
    steps, as the Cython ``rng_make``."""
    s = _U(seed)
    for i in range(4):
        s += _GOLDEN
        state[i] = _mix64(s)


@njit(**_INLINE)
def rng_next(state):
    """Next 64-bit word of xoshiro256** (advances ``state`` in place)."""
    s0, s1, s2, s3 = state[0], state[1], state[2], state[3]
    result = _rotl(s1 * _U(5), 7) * _U(9)
    t = s1 << _U(17)
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = _rotl(s3, 45)
    state[0], state[1], state[2], state[3] = s0, s1, s2, s3
    return result


@njit(**_INLINE)
def rng_uniform(state):
    """Uniform double strictly inside (0, 1): ``((x >> 11) + 0.5) * 2**-53``."""
    # the 53-bit value fits an int64: a signed conversion, as in Cython
    return (np.float64(np.int64(rng_next(state) >> _U(11))) + 0.5) * (
        1.1102230246251565e-16)


@njit(**OPTS)
def _bounded_slow(state, n, m):
    # Lemire's rejection step, entered when the low half of m is below n
    low = m & _LOW32
    t = (_U(0x100000000) - n) % n
    while low < t:
        m = (rng_next(state) >> _U(32)) * n
        low = m & _LOW32
    return np.int64(m >> _U(32))


@njit(**_INLINE)
def rng_bounded(state, n):
    """Exactly uniform integer in ``[0, n)``, ``1 <= n <= 2**32`` (Lemire's
    multiply-shift on the upper 32 bits of a word, with rejection)."""
    n = _U(n)
    m = (rng_next(state) >> _U(32)) * n
    if (m & _LOW32) < n:
        return _bounded_slow(state, n, m)
    return np.int64(m >> _U(32))


@njit(**OPTS)
def sample_without_replacement(seed, n, k, mask, out):
    """``out`` (int64 (k,)) <- ``k`` distinct indices of ``range(n)``, sorted.

    Floyd's algorithm on the stream of ``seed``: for ``j`` in ``n-k .. n-1``
    draw ``t`` uniform in ``[0, j]`` and take ``t``, or ``j`` if ``t`` was
    taken; every ``k``-subset is equally likely.  ``mask`` (bool (n,)) is
    scratch; reading it in order gives the indices ascending.  ``k`` draws
    and one pass over ``mask``; ``n <= 2**32``.
    """
    state = np.empty(4, np.uint64)
    rng_seed(state, seed)
    for i in range(n):
        mask[i] = False
    for j in range(n - k, n):
        t = rng_bounded(state, j + 1)
        if mask[t]:
            t = j
        mask[t] = True
    c = 0
    for i in range(n):
        if mask[i]:
            out[c] = i
            c += 1


# --------------------------------------------------------------------------
# NumPy's SeedSequence, bit for bit (numpy/random/bit_generator.pyx): the
# pool mixing of the assembled entropy and generate_state.  row_seeds runs
# once or twice per generation, and SeedSequence's Python-level assembly
# costs tens of microseconds; this costs one call.
# --------------------------------------------------------------------------
_U32 = np.uint32
_INIT_A = _U32(0x43B0D7E5)
_MULT_A = _U32(0x931E8875)
_INIT_B = _U32(0x8B51F9DD)
_MULT_B = _U32(0x58F38DED)
_MIX_L = _U32(0xCA01F9DD)
_MIX_R = _U32(0x4973F715)
_XSHIFT = _U32(16)
_POOL = 4


# Numba computes uint32 products in 64 bits: every product and difference is
# truncated back to 32 bits (np.uint32) before it is shifted.
@njit(**_INLINE)
def _hashmix(value, h):
    value = _U32(value ^ h[0])
    h[0] = _U32(h[0] * _MULT_A)
    value = _U32(value * h[0])
    return _U32(value ^ (value >> _XSHIFT))


@njit(**_INLINE)
def _mix(x, y):
    r = _U32(_U32(_MIX_L * x) - _U32(_MIX_R * y))
    return _U32(r ^ (r >> _XSHIFT))


@njit(**OPTS)
def seed_sequence_state(entropy, out):
    """``out`` (uint64 (n,)) <- ``SeedSequence(...).generate_state(n,
    np.uint64)`` for the assembled entropy ``entropy`` (uint32: the run
    entropy's words, zero-padded to 4 when a spawn key follows, then the
    spawn key's words)."""
    pool = np.empty(_POOL, np.uint32)
    h = np.empty(1, np.uint32)
    h[0] = _INIT_A
    n_ent = entropy.shape[0]
    for i in range(_POOL):
        pool[i] = _hashmix(entropy[i] if i < n_ent else _U32(0), h)
    for i_src in range(_POOL):
        for i_dst in range(_POOL):
            if i_src != i_dst:
                pool[i_dst] = _mix(pool[i_dst], _hashmix(pool[i_src], h))
    for i_src in range(_POOL, n_ent):
        for i_dst in range(_POOL):
            pool[i_dst] = _mix(pool[i_dst], _hashmix(entropy[i_src], h))
    hb = _INIT_B
    for i in range(2 * out.shape[0]):
        v = _U32(pool[i % _POOL] ^ hb)
        hb = _U32(hb * _MULT_B)
        v = _U32(v * hb)
        v = _U32(v ^ (v >> _XSHIFT))
        # little-endian pairs of 32-bit words, as generate_state's view
        if i % 2 == 0:
            out[i // 2] = np.uint64(v)
        else:
            out[i // 2] |= np.uint64(v) << np.uint64(32)


def _words32(x: int, out: list[int]) -> None:
    # SeedSequence's coercion of a non-negative int: 32-bit words, lowest
    # first, and one zero word for 0
    if x == 0:
        out.append(0)
    while x > 0:
        out.append(x & 0xFFFFFFFF)
        x >>= 32


@functools.lru_cache(maxsize=64)
def _entropy_words(entropy: int, padded: bool) -> tuple[int, ...]:
    # a run's entropy words, zero-padded to the pool size when a spawn key
    # follows (as SeedSequence since 1.19): the same for every generation,
    # so assembled once per seed
    words: list[int] = []
    _words32(entropy, words)
    if padded and len(words) < _POOL:
        words.extend([0] * (_POOL - len(words)))
    return tuple(words)


def seed_sequence_words(entropy: int, spawn_key: tuple[int, ...], n: int) -> np.ndarray:
    """``np.random.SeedSequence(entropy, spawn_key=spawn_key)
    .generate_state(n, np.uint64)``, bit for bit, in one compiled call.

    ``entropy`` and the keys are non-negative ints (a negative one raises
    ``ValueError``, as in SeedSequence).
    """
    if entropy < 0 or (spawn_key and min(spawn_key) < 0):
        raise ValueError("expected non-negative integer")
    words = list(_entropy_words(int(entropy), bool(spawn_key)))
    for k in spawn_key:
        _words32(int(k), words)
    out = np.empty(int(n), np.uint64)
    seed_sequence_state(np.array(words, np.uint32), out)
    return out
