"""Fused rollouts: the policy forward and the environment step in one kernel.

Each work item (a *group*) steps :data:`LANES` episodes in lockstep, stored
lane-minor (``(n, LANES)`` arrays: the genomes' weights transposed, the
states, the activations), so that the policy's multiply-adds and CartPole's
dynamics are SIMD over lanes.  A lane whose episode ends is refilled at once
with the next episode or the next genome, so lanes stay busy whatever the
episode lengths.  Lanes are independent and every lane runs the same
arithmetic, so a genome's return does not depend on its lane, its group or
the number of threads; groups are spread over threads by ``prange`` (or run
in a loop by the serial twin, for small populations).

The policy forward computes the same sums, in the same order, with the same
activation code as ``forward_one`` of :mod:`pyneat_lite._forward` (0.1.0 summed
narrow layers in another order, so that a rollout's action could differ from
``Network.forward_each``'s in the last bit), so a rollout's actions are those
of ``Network.forward_each`` on the same observations, bit for bit.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import njit, prange

from ._config import EXACT_OPTS, LINEAR, OPTS, SOFTMAX, TANH
from .envs import actions_lanes, observe_lanes, reset_one, step_lanes
from .genome_source import load_lane
from .math32 import elementwise, exp32, tanh32_inline
from .obs_norm import NORM_NONE, normalize_lanes

__all__ = ["LANES", "no_norm", "rollout_parallel", "rollout_serial"]

#: Lockstep lanes per group (``_dense_lanes`` spells out 8 accumulators:
#: change both together).
LANES = 8
_U = np.uint64


@njit(inline="always", **OPTS)
def _madd8(w, x, r, c, a):
    """The 8 lane accumulators ``a`` plus ``x[c + lane] * w[r + lane]``."""
    return (a[0] + x[c] * w[r], a[1] + x[c + 1] * w[r + 1],
            a[2] + x[c + 2] * w[r + 2], a[3] + x[c + 3] * w[r + 3],
            a[4] + x[c + 4] * w[r + 4], a[5] + x[c + 5] * w[r + 5],
            a[6] + x[c + 6] * w[r + 6], a[7] + x[c + 7] * w[r + 7])


@njit(**OPTS)
def _dense_lanes(w, wo, bo, n_in, n_o, act, x, y):
    """y[:n_o] = act(x[:n_in]^T W + b) for all lanes (one layer).

    Flat lane-minor arrays (element (i, lane) at ``i * LANES + lane``) and
    unsigned offsets: with signed indices Numba must handle negative ones,
    which keeps LLVM from vectorising over the lanes.  The sums are those of
    ``forward_one``, in its order: a wide layer (8 outputs or more) from the
    bias through the inputs in order; a narrow one as four running sums over
    the inputs ``j = 0, 1, 2, 3 mod 4`` (the tail beyond a multiple of 4 in
    the first), then ``b + ((s0 + s1) + (s2 + s3))``.
    """
    L = _U(LANES)
    wo = _U(wo)
    bo = _U(bo)
    n_in = _U(n_in)
    n_o = _U(n_o)
    # One output unit at a time, the 8 lanes of each running sum in a tuple
    # of 8 scalars that stays in registers (one SIMD register).
    for k in range(n_o):
        b = (bo + k) * L
        c = k * L
        if n_o >= _U(8):
            s0 = (w[b], w[b + 1], w[b + 2], w[b + 3], w[b + 4], w[b + 5],
                  w[b + 6], w[b + 7])
            for j in range(n_in):
                s0 = _madd8(w, x, (wo + j * n_o + k) * L, j * L, s0)
            for i in range(L):
                y[c + i] = s0[i]
        else:
            z = np.float32(0.0)
            s0 = s1 = s2 = s3 = (z, z, z, z, z, z, z, z)
            n4 = n_in - n_in % _U(4)
            for j in range(_U(0), n4, _U(4)):
                s0 = _madd8(w, x, (wo + j * n_o + k) * L, j * L, s0)
                s1 = _madd8(w, x, (wo + (j + 1) * n_o + k) * L, (j + 1) * L, s1)
                s2 = _madd8(w, x, (wo + (j + 2) * n_o + k) * L, (j + 2) * L, s2)
                s3 = _madd8(w, x, (wo + (j + 3) * n_o + k) * L, (j + 3) * L, s3)
            for j in range(n4, n_in):
                s0 = _madd8(w, x, (wo + j * n_o + k) * L, j * L, s0)
            for i in range(L):
                y[c + i] = w[b + i] + ((s0[i] + s1[i]) + (s2[i] + s3[i]))
    n = n_o * L
    if act == TANH:  # the common case: its own loop, SIMD over lanes
        for i in range(n):
            y[i] = tanh32_inline(y[i])
    elif act == SOFTMAX:
        for lane in range(L):
            m = y[lane]
            for k in range(1, n_o):
                m = max(m, y[k * L + lane])
            tot = np.float32(0.0)
            for k in range(n_o):
                e = exp32(y[k * L + lane] - m)
                y[k * L + lane] = e
                tot += e
            inv = np.float32(1.0) / tot
            for k in range(n_o):
                y[k * L + lane] *= inv
    elif act != LINEAR:
        for i in range(n):
            y[i] = elementwise(y[i], act)


@njit(**OPTS)
def _forward_lanes(w, meta, x, buf_a, buf_b, out):
    """Policy forward for every lane, on flat lane-minor arrays: ``w`` the
    transposed genomes (n_params * L), ``x`` inputs (n_in * L), ``out``
    (n_out * L)."""
    n_layers = meta.shape[0]
    if n_layers == 1:
        _dense_lanes(w, meta[0, 2], meta[0, 3], meta[0, 0], meta[0, 1], meta[0, 4],
                     x, out)
        return
    _dense_lanes(w, meta[0, 2], meta[0, 3], meta[0, 0], meta[0, 1], meta[0, 4],
                 x, buf_a)
    for layer in range(1, n_layers - 1):
        if layer % 2 == 1:
            _dense_lanes(w, meta[layer, 2], meta[layer, 3], meta[layer, 0],
                         meta[layer, 1], meta[layer, 4], buf_a, buf_b)
        else:
            _dense_lanes(w, meta[layer, 2], meta[layer, 3], meta[layer, 0],
                         meta[layer, 1], meta[layer, 4], buf_b, buf_a)
    last = n_layers - 1
    src = buf_a if last % 2 == 1 else buf_b
    _dense_lanes(w, meta[last, 2], meta[last, 3], meta[last, 0], meta[last, 1],
                 meta[last, 4], src, out)


# EXACT_OPTS: the environment step is inlined here and must keep gymnasium's
# rounding (the policy's own arithmetic is in _dense_lanes, with OPTS).
@njit(**EXACT_OPTS)
def _rollout_group(grp, population, meta, max_width, n_out, kind, obs_dim,
                   state_dim, params, low, high, seeds, max_steps, n_groups,
                   returns, steps, norm_mode, norm, moments, source):
    """Genomes grp, grp + n_groups, ... through LANES lockstep lanes
    (observations normalised and summed as :mod:`.obs_norm` says); rows of
    ``population``, or formed from a structured ``source``."""
    n_pop = returns.shape[0]
    n_params = meta[meta.shape[0] - 1, 3] + meta[meta.shape[0] - 1, 1]
    episodes = seeds.shape[1]
    shared = seeds.shape[0] == 1
    L = LANES
    W = np.zeros((n_params, L), np.float32)
    buf_a = np.zeros(max_width * L, np.float32)
    buf_b = np.zeros(max_width * L, np.float32)
    obs = np.zeros((obs_dim, L), np.float32)
    out = np.zeros((n_out, L), np.float32)
    # flat views, made once: the hot loop creates no array
    w_flat = W.reshape(n_params * L)
    obs_flat = obs.reshape(obs_dim * L)
    out_flat = out.reshape(n_out * L)
    S = np.zeros((state_dim, L), np.float64)
    action = np.zeros(L, np.float64)
    reward = np.zeros(L, np.float64)
    term = np.zeros(L, np.bool_)
    s1 = np.empty(state_dim, np.float64)
    rng = np.empty(4, np.uint64)
    genome = np.full(L, -1, np.int64)
    gbuf = np.empty(n_params, np.float32)
    acc = np.empty(max_width, np.float64)
    episode = np.zeros(L, np.int64)
    t = np.zeros(L, np.int64)
    total = np.zeros(L, np.float64)
    n_steps = np.zeros(L, np.int64)
    nxt = np.int64(grp)  # this group's genomes: grp, grp + n_groups, ...
    active = 0
    for lane in range(L):
        if nxt < n_pop:
            genome[lane] = nxt
            nxt += n_groups
            active += 1
            load_lane(source, population, meta, genome[lane], W, lane, gbuf, acc)
            reset_one(kind, s1, rng, seeds[0, 0] if shared else seeds[genome[lane], 0])
            for i in range(state_dim):
                S[i, lane] = s1[i]
    while active > 0:
        observe_lanes(kind, S, obs)
        if norm_mode != NORM_NONE:
            normalize_lanes(obs, genome, norm_mode, norm, moments)
        _forward_lanes(w_flat, meta, obs_flat, buf_a, buf_b, out_flat)
        actions_lanes(kind, out, low, high, action)
        step_lanes(kind, S, action, params, reward, term)
        for lane in range(L):
            g = genome[lane]
            if g < 0:
                continue
            total[lane] += reward[lane]
            n_steps[lane] += 1
            t[lane] += 1
            if not (term[lane] or t[lane] >= max_steps):
                continue
            t[lane] = 0
            episode[lane] += 1
            if episode[lane] == episodes:
                returns[g] = total[lane] / episodes
                steps[g] = n_steps[lane]
                total[lane] = 0.0
                n_steps[lane] = 0
                episode[lane] = 0
                if nxt < n_pop:
                    g = nxt
                    nxt += n_groups
                    genome[lane] = g
                    load_lane(source, population, meta, g, W, lane, gbuf, acc)
                else:  # idle lane: a valid state, never read back
                    genome[lane] = -1
                    active -= 1
                    for i in range(state_dim):
                        S[i, lane] = 0.0
                    continue
            e = episode[lane]
            reset_one(kind, s1, rng, seeds[0, e] if shared else seeds[g, e])
            for i in range(state_dim):
                S[i, lane] = s1[i]


@njit(parallel=True, **EXACT_OPTS)
def _rollout_groups(population, meta, max_width, n_out, kind, obs_dim, state_dim,
                    params, low, high, seeds, max_steps, n_groups, returns, steps,
                    norm_mode, norm, moments, source):
    for grp in prange(n_groups):
        _rollout_group(grp, population, meta, max_width, n_out, kind, obs_dim,
                       state_dim, params, low, high, seeds, max_steps, n_groups,
                       returns, steps, norm_mode, norm, moments, source)


def rollout_parallel(population, meta, max_width, n_out, kind, obs_dim, state_dim,
                     params, low, high, seeds, max_steps, n_groups, returns, steps,
                     n_chunks, norm_mode, norm, moments, source):
    """Mean return and step count of every genome, groups spread over threads.

    population float32 (P, n_params); meta int64 as ``Network.meta``; params,
    low, high float64; seeds uint64 (1 or P, episodes): the start state of
    episode ``e`` of genome ``p`` comes from ``seeds[0 or p, e]``; returns
    float64 (P,), steps int64 (P,) (outputs).  Genome ``p`` runs in group
    ``p % n_groups``; at most ``n_chunks`` threads run.  ``norm_mode``,
    ``norm`` and ``moments``: observation normalisation and sums, as
    :mod:`.obs_norm` says (:func:`no_norm` gives arrays for none).
    ``source``: where the genomes come from (:mod:`.genome_source`;
    ``dense_source()``: the rows of ``population``, else a structured
    population's, formed lane by lane, ``population`` then unused).

    Groups are handed to threads one at a time as threads become free
    (dynamic schedule, ``numba.set_parallel_chunksize(1)``), not split in
    equal runs up front: on a shared machine a thread that is descheduled
    holds back one group, not half of the work, and episodes of unequal
    length balance out.  Which thread runs a group changes nothing in its
    arithmetic.
    """
    prev = numba.get_num_threads()
    prev_chunk = numba.set_parallel_chunksize(1)
    numba.set_num_threads(max(1, min(n_chunks, prev)))
    try:
        _rollout_groups(population, meta, max_width, n_out, kind, obs_dim, state_dim,
                        params, low, high, seeds, max_steps, n_groups, returns, steps,
                        norm_mode, norm, moments, source)
    finally:
        numba.set_num_threads(prev)
        numba.set_parallel_chunksize(prev_chunk)


@njit(**EXACT_OPTS)
def rollout_serial(population, meta, max_width, n_out, kind, obs_dim, state_dim,
                   params, low, high, seeds, max_steps, n_groups, returns, steps,
                   norm_mode, norm, moments, source):
    """Serial twin of :func:`rollout_parallel` (same results)."""
    for grp in range(n_groups):
        _rollout_group(grp, population, meta, max_width, n_out, kind, obs_dim,
                       state_dim, params, low, high, seeds, max_steps, n_groups,
                       returns, steps, norm_mode, norm, moments, source)


def no_norm(obs_dim):
    """``norm, moments`` arrays of a rollout without normalisation
    (``norm_mode == NORM_NONE``)."""
    return np.zeros((3, obs_dim)), np.zeros((0, 2, obs_dim))
