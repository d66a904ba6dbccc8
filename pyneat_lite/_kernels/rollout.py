"""Fused rollouts: the policy forward and the environment step in one kernel.

Each work item (a *group*) steps :data:`LANES` episodes in lockstep, stored
lane-minor (``(n, LANES)`` arrays: the genomes' weights transposed once, when a
lane takes a genome, and kept for all its episodes; the states; the
activations), so that the policy's multiply-adds (:mod:`.rollout_lanes`, in
16-lane vector blocks) and CartPole's dynamics are SIMD over lanes. A lane whose
episode ends is refilled at once with the next episode or the next genome of
a queue shared by all groups (one group per thread), so lanes stay busy
whatever the episode lengths. Lanes are independent and every lane runs the
same arithmetic, so a genome's return does not depend on its lane, its group
or the number of threads.

The policy forward computes the same sums, in the same order, with the same
activation code as ``forward_one`` of :mod:`pyneat_lite._forward` (0.1.0 summed
narrow layers in another order, so that a rollout's action could differ from
``Network.forward_each``'s in the last bit), so a rollout's actions are those
of ``Network.forward_each`` on the same observations, bit for bit.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import njit, prange, types
from numba.core import cgutils
from numba.extending import intrinsic

from ._config import EXACT_INLINE_OPTS, EXACT_OPTS
from .envs import actions_lanes, observe_lanes, reset_one, step_lanes
from .genome_source import load_lane
from .obs_norm import NORM_NONE, normalize_lanes
from .rollout_lanes import GROUP_LANES, forward_lanes

__all__ = ["LANES", "next_genome", "no_norm", "rollout_parallel", "rollout_serial"]

#: Lockstep lanes per group (two of the policy's 16-lane SIMD blocks,
#: :mod:`.rollout_lanes`).
LANES = GROUP_LANES


@intrinsic
def next_genome(typingctx, queue):
    """Take the next genome of a rollout: ``queue[0]`` before one atomic
    increment (int64 (1,)), so that threads share one queue of genomes."""
    sig = types.int64(queue)

    def codegen(context, builder, signature, args):
        arr = context.make_array(signature.args[0])(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, signature.args[0], arr,
                                       [context.get_constant(types.intp, 0)])
        one = context.get_constant(types.int64, 1)
        return builder.atomic_rmw("add", ptr, one, "monotonic")

    return sig, codegen


@njit(**EXACT_INLINE_OPTS)
def _zeros64(n, dtype=np.float32):
    """Zeros whose first element sits on a 64-byte boundary: every vector
    block of the rollout's lane-major arrays is then one cache line (a load
    across two lines costs two)."""
    buf = np.zeros(n + 64, dtype)
    off = (-buf.ctypes.data % 64) // buf.itemsize
    return buf[off:off + n]


# EXACT_OPTS: the environment step is inlined here and must keep gymnasium's
# rounding (the policy's own arithmetic is in rollout_lanes, with OPTS).
@njit(**EXACT_OPTS)
def _rollout_group(queue, population, meta, max_width, n_out, kind, obs_dim,
                   state_dim, params, low, high, seeds, max_steps, returns,
                   steps, norm_mode, norm, moments, source):
    """Genomes taken from ``queue`` (:func:`next_genome`) through LANES
    lockstep lanes until none is left (observations normalised and summed as
    :mod:`.obs_norm` says); rows of ``population``, or formed from a
    structured ``source``."""
    n_pop = returns.shape[0]
    n_params = meta[meta.shape[0] - 1, 3] + meta[meta.shape[0] - 1, 1]
    episodes = seeds.shape[1]
    shared = seeds.shape[0] == 1
    L = LANES
    W = _zeros64(n_params * L).reshape(n_params, L)
    # one work array: observations, two scratch regions, outputs (the
    # forward indexes it by offsets); flat views made once: the hot loop
    # creates no array
    ao = obs_dim * L
    bo = ao + max_width * L
    oo = bo + max_width * L
    work = _zeros64(oo + n_out * L)
    obs = work[:ao].reshape(obs_dim, L)
    out = work[oo:].reshape(n_out, L)
    w_flat = W.reshape(n_params * L)
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
    active = 0
    for lane in range(L):
        nxt = next_genome(queue)
        if nxt < n_pop:
            genome[lane] = nxt
            active += 1
            load_lane(source, population, meta, genome[lane], W, lane, gbuf, acc)
            reset_one(kind, s1, rng, seeds[0, 0] if shared else seeds[genome[lane], 0])
            for i in range(state_dim):
                S[i, lane] = s1[i]
    while active > 0:
        observe_lanes(kind, S, obs)
        if norm_mode != NORM_NONE:
            normalize_lanes(obs, genome, norm_mode, norm, moments)
        forward_lanes(w_flat, meta, work, 0, ao, bo, oo)
        actions_lanes(kind, out, low, high, action)
        step_lanes(kind, S, action, params, reward, term)
        # Every lane's sums in one branch-free (SIMD) pass; the lanes whose
        # episode ended are looked at only when there are any (rarely, for
        # long episodes).  An idle lane's sums are never read.
        ended = False
        for lane in range(L):
            total[lane] += reward[lane]
            n_steps[lane] += 1
            t[lane] += 1
            ended |= (term[lane] | (t[lane] >= max_steps)) & (genome[lane] >= 0)
        if not ended:
            continue
        for lane in range(L):
            g = genome[lane]
            if g < 0:
                continue
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
                g = next_genome(queue)
                if g < n_pop:
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
    queue = np.zeros(1, np.int64)
    for _ in prange(n_groups):
        _rollout_group(queue, population, meta, max_width, n_out, kind, obs_dim,
                       state_dim, params, low, high, seeds, max_steps, returns,
                       steps, norm_mode, norm, moments, source)


def rollout_parallel(population, meta, max_width, n_out, kind, obs_dim, state_dim,
                     params, low, high, seeds, max_steps, n_groups, returns, steps,
                     n_chunks, norm_mode, norm, moments, source):
    """Mean return and step count of every genome, ``n_groups`` lane groups
    on at most ``n_chunks`` threads.

    population float32 (P, n_params); meta int64 as ``Network.meta``; params,
    low, high float64; seeds uint64 (1 or P, episodes): the start state of
    episode ``e`` of genome ``p`` comes from ``seeds[0 or p, e]``; returns
    float64 (P,), steps int64 (P,) (outputs).  ``norm_mode``, ``norm`` and
    ``moments``: observation normalisation and sums, as :mod:`.obs_norm`
    says (:func:`no_norm` gives arrays for none).  ``source``: where the
    genomes come from (:mod:`.genome_source`; ``dense_source()``: the rows of
    ``population``, else a structured population's, formed lane by lane,
    ``population`` then unused).

    The groups share one queue of genomes (:func:`next_genome`): a lane
    whose genome is done takes the next one in the queue, whichever group it
    is in, so lanes stay busy until the last genomes whatever the episode
    lengths (with a fixed share per group, a random CartPole population kept
    half of the lanes idle), and a thread that is descheduled holds back
    only its own lanes' current genomes.  Which lane, group or thread runs a
    genome changes nothing in its arithmetic.
    """
    prev = numba.get_num_threads()
    numba.set_num_threads(max(1, min(n_chunks, prev)))
    try:
        _rollout_groups(population, meta, max_width, n_out, kind, obs_dim, state_dim,
                        params, low, high, seeds, max_steps, n_groups, returns, steps,
                        norm_mode, norm, moments, source)
    finally:
        numba.set_num_threads(prev)


@njit(**EXACT_OPTS)
def rollout_serial(population, meta, max_width, n_out, kind, obs_dim, state_dim,
                   params, low, high, seeds, max_steps, n_groups, returns, steps,
                   norm_mode, norm, moments, source):
    """Serial twin of :func:`rollout_parallel` (same results; one group
    takes every genome, ``n_groups`` is unused)."""
    _rollout_group(np.zeros(1, np.int64), population, meta, max_width, n_out, kind,
                   obs_dim, state_dim, params, low, high, seeds, max_steps, returns,
                   steps, norm_mode, norm, moments, source)


def no_norm(obs_dim):
    """``norm, moments`` arrays of a rollout without normalisation
    (``norm_mode == NORM_NONE``)."""
    return np.zeros((3, obs_dim)), np.zeros((0, 2, obs_dim))
