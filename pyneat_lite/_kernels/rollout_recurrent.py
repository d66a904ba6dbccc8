"""Fused rollouts of recurrent policies (Dense, RNN and GRU layers; issue 13).

The twin of :mod:`.rollout` for networks with a state: a group steps
:data:`~.rollout.LANES` episodes in lockstep, the environment SIMD over the
lanes (the same :mod:`.envs` kernels, with the same lane refilling from one
queue of genomes shared by the groups), and the
policy one lane at a time with :func:`.recurrent._step_row`, the very code
that ``Network.forward_each(state=...)`` runs: a rollout's actions are those
of ``forward_each`` on the same observations and states, bit for bit.  Each
lane keeps its genome's hidden state (the row ``hs[lane]``) and zeroes it at
the start of every episode.

Lanes are independent and run the same arithmetic, so a genome's return does
not depend on its lane, its group or the number of threads.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import njit, prange

from ._config import EXACT_OPTS
from .envs import actions_lanes, observe_lanes, reset_one, step_lanes
from .obs_norm import NORM_NONE, normalize_lanes
from .recurrent import _step_row
from .rollout import LANES, next_genome

__all__ = ["rollout_recurrent_parallel", "rollout_recurrent_serial"]


# EXACT_OPTS: the environment step is inlined here and must keep gymnasium's
# rounding (the policy's arithmetic is _step_row's, compiled with OPTS).
@njit(**EXACT_OPTS)
def _group(queue, population, meta, width, state_size, n_out, kind, obs_dim,
           state_dim, params, low, high, seeds, max_steps, returns, steps,
           norm_mode, norm, moments):
    """Genomes taken from ``queue`` (:func:`.rollout.next_genome`) through
    LANES lockstep lanes until none is left."""
    n_pop = population.shape[0]
    episodes = seeds.shape[1]
    shared = seeds.shape[0] == 1
    L = LANES
    x = np.zeros((L, obs_dim), np.float32)  # one input row per lane
    hs = np.zeros((L, state_size), np.float32)  # one state row per lane
    buf_a = np.zeros(width, np.float32)
    buf_b = np.zeros(width, np.float32)
    gi = np.zeros(3 * width, np.float32)
    gh = np.zeros(3 * width, np.float32)
    obs = np.zeros((obs_dim, L), np.float32)
    out = np.zeros((n_out, L), np.float32)
    S = np.zeros((state_dim, L), np.float64)
    action = np.zeros(L, np.float64)
    reward = np.zeros(L, np.float64)
    term = np.zeros(L, np.bool_)
    s1 = np.empty(state_dim, np.float64)
    rng = np.empty(4, np.uint64)
    genome = np.full(L, -1, np.int64)
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
            reset_one(kind, s1, rng, seeds[0, 0] if shared else seeds[genome[lane], 0])
            for i in range(state_dim):
                S[i, lane] = s1[i]
    while active > 0:
        observe_lanes(kind, S, obs)
        if norm_mode != NORM_NONE:
            normalize_lanes(obs, genome, norm_mode, norm, moments)
        for lane in range(L):
            g = genome[lane]
            if g < 0:
                continue
            for i in range(obs_dim):
                x[lane, i] = obs[i, lane]
            res = _step_row(population[g], lane, meta, x, hs, buf_a, buf_b, gi, gh)
            for k in range(n_out):
                out[k, lane] = res[k]
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
            for i in range(state_size):  # every episode starts from a zero state
                hs[lane, i] = 0.0
            if episode[lane] == episodes:
                returns[g] = total[lane] / episodes
                steps[g] = n_steps[lane]
                total[lane] = 0.0
                n_steps[lane] = 0
                episode[lane] = 0
                g = next_genome(queue)
                if g < n_pop:
                    genome[lane] = g
                else:  # idle lane: a valid state, never read back
                    genome[lane] = -1
                    active -= 1
                    for i in range(state_dim):
                        S[i, lane] = 0.0
                    for k in range(n_out):
                        out[k, lane] = 0.0
                    continue
            e = episode[lane]
            reset_one(kind, s1, rng, seeds[0, e] if shared else seeds[g, e])
            for i in range(state_dim):
                S[i, lane] = s1[i]


@njit(parallel=True, **EXACT_OPTS)
def _groups(population, meta, width, state_size, n_out, kind, obs_dim, state_dim,
            params, low, high, seeds, max_steps, n_groups, returns, steps,
            norm_mode, norm, moments):
    queue = np.zeros(1, np.int64)
    for _ in prange(n_groups):
        _group(queue, population, meta, width, state_size, n_out, kind, obs_dim,
               state_dim, params, low, high, seeds, max_steps, returns, steps,
               norm_mode, norm, moments)


def rollout_recurrent_parallel(population, meta, width, state_size, n_out, kind,
                               obs_dim, state_dim, params, low, high, seeds,
                               max_steps, n_groups, returns, steps, n_chunks,
                               norm_mode, norm, moments):
    """Mean return and step count of every recurrent genome, ``n_groups``
    lane groups on at most ``n_chunks`` threads sharing one queue of genomes
    (as :func:`.rollout.rollout_parallel`).

    ``meta`` the layered network's table (:mod:`.conv`), ``width`` its
    widest layer or input, ``state_size`` its state values per genome; the
    other arguments as in :func:`.rollout.rollout_parallel` (``norm_mode``,
    ``norm``, ``moments``: :mod:`.obs_norm`).
    """
    prev = numba.get_num_threads()
    numba.set_num_threads(max(1, min(n_chunks, prev)))
    try:
        _groups(population, meta, width, state_size, n_out, kind, obs_dim, state_dim,
                params, low, high, seeds, max_steps, n_groups, returns, steps,
                norm_mode, norm, moments)
    finally:
        numba.set_num_threads(prev)


@njit(**EXACT_OPTS)
def rollout_recurrent_serial(population, meta, width, state_size, n_out, kind,
                             obs_dim, state_dim, params, low, high, seeds, max_steps,
                             n_groups, returns, steps, norm_mode, norm, moments):
    """Serial twin of :func:`rollout_recurrent_parallel` (same results; one
    group takes every genome, ``n_groups`` is unused)."""
    _group(np.zeros(1, np.int64), population, meta, width, state_size, n_out, kind,
           obs_dim, state_dim, params, low, high, seeds, max_steps, returns, steps,
           norm_mode, norm, moments)
