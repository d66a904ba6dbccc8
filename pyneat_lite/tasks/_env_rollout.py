"""Checks of a policy and environment, and the unchecked rollout behind
:func:`pyneat_lite.tasks.envs.rollout` and :class:`~pyneat_lite.tasks.envs.Rollout`.

Private: ``envs.py`` (and ``behavior.py``, through it) import these back.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._kernels.genome_source import dense_source
from .._kernels.obs_norm import NORM_APPLY, NORM_NONE, NORM_STATS
from .._kernels.rollout import LANES, no_norm, rollout_parallel, rollout_serial
from .._obs_norm import ObsNormalizer
from .._rng import STREAMS, row_seeds
from .._threads import effective_n_threads, kernel_threads
from ._env_base import _Env
from ._structured import genome_source


def _check_policy(net: Any, env: _Env, caller: str, recurrent: bool = True) -> None:
    """``recurrent``: whether ``caller`` runs networks with RNN/GRU layers."""
    if getattr(net, "_stack", None) is not None and not (recurrent and net.recurrent):
        kinds = ", ".join(sorted({type(x).__name__ for x in net.layers}))
        allowed = ("a stack of dense layers (Network(sizes, activations)), or of "
                   "Dense, RNN and GRU layers: the environments' observations are "
                   "flat vectors, not images" if recurrent else
                   "a stack of dense layers (Network(sizes, activations))")
        raise ValueError(
            f"The network of {caller} must be {allowed}. Got a network with {kinds} "
            "layers instead; use pn.gym.evaluate for it."
        )
    if net.n_in != env.obs_dim:
        raise ValueError(
            f"The network of {caller} does not fit the environment {env!r}: its input "
            f"has {net.n_in} values, the observation space has shape "
            f"({env.obs_dim},)."
        )
    if net.n_out != env.n_outputs:
        what = (f"{env.n_actions} discrete actions (one output per action, argmax)"
                if env.discrete else f"action shape ({env.n_actions},)")
        raise ValueError(
            f"The network of {caller} does not fit the environment {env!r}: its output "
            f"has {net.n_out} values, the action space needs {what}."
        )


def _check_env(env: Any, caller: str) -> None:
    if not isinstance(env, _Env):
        from .envs import ENVS  # the public table; envs imports this module

        raise TypeError(
            f"The 'env' argument of {caller} must be a pyneat_lite.envs environment "
            f"({', '.join(c.__name__ for c in ENVS.values())}). Got "
            f"{type(env).__name__} instead; use "
            "pn.gym.evaluate for gymnasium environments."
        )


def _check_n_threads(n_threads: int | None) -> int | None:
    if n_threads is not None:
        effective_n_threads(n_threads)  # validates (0 and non-ints are errors)
    return n_threads


def _check_normalizer(normalize_obs: Any, env: _Env,
                      caller: str) -> ObsNormalizer | None:
    """The ``normalize_obs`` argument of :func:`rollout`: False or an
    :class:`ObsNormalizer` of the observation's shape."""
    if normalize_obs is False or normalize_obs is None:
        return None
    if not isinstance(normalize_obs, ObsNormalizer):
        raise TypeError(
            f"The 'normalize_obs' argument of {caller} must be False or an "
            "ObsNormalizer (whose statistics persist across calls; see "
            f"pn.envs.Rollout). Got {normalize_obs!r} instead."
        )
    if normalize_obs.shape != (env.obs_dim,):
        raise ValueError(
            f"The 'normalize_obs' argument of {caller} must normalise observations "
            f"of shape ({env.obs_dim},) (the environment {env!r}). Got an "
            f"ObsNormalizer of shape {normalize_obs.shape} instead."
        )
    return normalize_obs


def _norm_arrays(normalizer: ObsNormalizer | None, n_pop: int,
                 obs_dim: int) -> tuple[int, np.ndarray, np.ndarray]:
    """``norm_mode, norm, moments`` of the kernels (:mod:`.._kernels.obs_norm`)
    for the normaliser's statistics as they are now."""
    if normalizer is None:
        return (NORM_NONE, *no_norm(obs_dim))
    norm = np.zeros((3, obs_dim))
    norm[0] = normalizer.mean
    # the divisor ObsNormalizer.normalize computes, so the results are its own
    norm[1] = np.sqrt(normalizer.var + normalizer.eps)
    norm[2, 0] = normalizer.clip
    mode = NORM_APPLY if normalizer.count > 0 else NORM_STATS
    return mode, norm, np.zeros((n_pop, 2, obs_dim))


def _merge_moments(normalizer: ObsNormalizer, norm: np.ndarray,
                   moments: np.ndarray, steps: np.ndarray) -> None:
    """Merge the observations a call visited (per-genome sums of ``x - c``
    and ``(x - c)**2``, ``c = norm[0]``; ``steps[p]`` observations of genome
    ``p``) into ``normalizer``: sums over the genomes in their order, so the
    statistics do not depend on the thread count."""
    n = int(steps.sum())
    if n == 0:
        return
    sums = moments.sum(axis=0)
    d_mean = sums[0] / n
    var = np.maximum(sums[1] / n - d_mean * d_mean, 0.0)
    normalizer.merge(n, norm[0] + d_mean, var)


def _rollout(net: Any, pop: Any, env: _Env, episodes: int, max_steps: int,
             seed: int, generation: int, same_starts: bool,
             n_threads: int | None, normalizer: ObsNormalizer | None = None,
             update: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Unchecked :func:`rollout`: every argument already validated.  With a
    ``normalizer``, the policies see normalised observations; ``update``
    then merges the visited observations into it.  ``pop``: float32 (P,
    n_params), or a checked structured population, whose genomes the kernel
    forms lane by lane (the returns of its genomes, bit for bit)."""
    n_pop = pop.shape[0]
    source = dense_source()
    if not isinstance(pop, np.ndarray):
        if net.recurrent:  # the recurrent kernel reads rows: the genomes
            pop = np.asarray(pop)
        else:
            pop, source = _NO_ROWS, genome_source(pop)
    n_rows = 1 if same_starts else n_pop
    seeds = row_seeds(seed, generation, STREAMS["env"], n_rows * episodes)
    seeds = seeds.reshape(n_rows, episodes)
    returns = np.empty(n_pop)
    steps = np.empty(n_pop, np.int64)
    max_groups = -(-n_pop // LANES)
    # work: an upper bound on the policy's multiply-adds (episodes may end
    # early); the groups are the parallel rows
    nt = kernel_threads(n_threads, n_pop * net.n_params * episodes * max_steps,
                        max_groups)
    norm_args = _norm_arrays(normalizer, n_pop, env.obs_dim)
    if net.recurrent:
        _rollout_recurrent(net, pop, env, seeds, max_steps, nt, returns,
                           steps, norm_args)
    else:
        args = (pop, net.meta, int(net.max_width), int(net.n_out), env._kind,
                env.obs_dim, env.state_dim, env.params, env.action_low,
                env.action_high, seeds, max_steps)
        # one group of lanes per thread, all refilled from one queue of
        # genomes; the grouping does not change any return
        if nt == 1:
            rollout_serial(*args, 1, returns, steps, *norm_args, source)
        else:
            rollout_parallel(*args, nt, returns, steps, nt, *norm_args, source)
    if normalizer is not None and update:
        _merge_moments(normalizer, norm_args[1], norm_args[2], steps)
    return returns, steps


_NO_ROWS = np.zeros((1, 1), np.float32)


def _rollout_recurrent(net: Any, pop: np.ndarray, env: _Env, seeds: np.ndarray,
                       max_steps: int, nt: int, returns: np.ndarray,
                       steps: np.ndarray, norm_args: tuple) -> None:
    """:func:`_rollout` of a network with RNN/GRU layers (its own kernel,
    compiled on first use only)."""
    from .._kernels.rollout_recurrent import (
        rollout_recurrent_parallel,
        rollout_recurrent_serial,
    )

    args = (pop, net.meta, int(net.max_width), int(net.state_size), int(net.n_out),
            env._kind, env.obs_dim, env.state_dim, env.params, env.action_low,
            env.action_high, seeds, max_steps)
    if nt == 1:
        rollout_recurrent_serial(*args, 1, returns, steps, *norm_args)
    else:
        rollout_recurrent_parallel(*args, nt, returns, steps, nt, *norm_args)
