"""The shared builders behind the demos of :mod:`pyneat_lite.tasks.demos`.

:func:`_control` makes a control-task demo (a Numba environment, a
:class:`~pyneat_lite.tasks.demos.Solved` check, the final report);
:func:`_classifier` a classification demo.  Private: the public demo
builders, :class:`Demo` and :class:`Solved` stay in ``demos.py``, imported
here on call (``demos`` imports this module).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..policy import save_policy

if TYPE_CHECKING:
    from .demos import Demo


def _control(name: str, env: Any, net: Any, algorithm: str, pop: int,
             generations: int, episodes: int, threshold: float | None,
             seed: int, out: Path | None, *, scale: Any = None,
             es_kwargs: dict[str, Any] | None = None, gym_check: bool = True,
             margin: float = 3.0, check_episodes: int = 100) -> Demo:
    """A control task on a Numba environment, checked at the end on 100 new
    episodes (and on gymnasium's own environment when it has one)."""
    from .demos import Demo, Solved
    from .envs import Rollout, rollout, scale_inputs

    fit = Rollout(net, env, episodes=episodes, seed=seed)
    # the check stops a little above the goal, so that 100 other episodes
    # (gymnasium's, in the report) pass too
    solved = None if threshold is None else Solved(
        net, env, threshold + margin, episodes=check_episodes, scale=scale, seed=seed)

    def policy(genomes: np.ndarray) -> np.ndarray:
        return genomes if scale is None else scale_inputs(net, genomes, scale)

    fitness: Any = fit if scale is None else _ScaledFitness(fit, policy)

    def summary(best: np.ndarray) -> list[str]:
        passed = solved is not None and solved.genome is not None
        genome = solved.genome if passed else policy(best)
        goal = ("" if threshold is None else
                f"; {env.id} counts as solved at {threshold:g}")
        lines = []
        if passed:
            lines.append(f"solved check passed: mean return {solved.score:.1f} on "
                         f"{solved.episodes} fresh episodes")
        check = rollout(net, genome[None], env, episodes=100, seed=seed + 2,
                        same_starts=False)
        lines.append(f"check: mean return {check[0]:.1f} on 100 new episodes (Numba "
                     f"env{goal})")
        if gym_check:
            try:
                from .gym import evaluate

                g = evaluate(net, genome[None], env.id, episodes=100, seed=seed + 3)
                lines.append(f"check: mean return {g[0]:.1f} on 100 gymnasium "
                             f"{env.id} episodes")
            except ImportError:
                lines.append("gymnasium not installed: skipped the gymnasium check")
        if out is not None:
            folder = Path(out)
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"{name}_policy.npz"
            save_policy(path, net, genome)
            lines.append(f"saved the policy to {path} (read it with pn.load_policy)")
        return lines

    return Demo(net.n_params, fitness, algorithm, pop=pop, generations=generations,
                x0=np.zeros(net.n_params, np.float32), es_kwargs=es_kwargs or {},
                fitness_name="mean return", summary=summary,
                callbacks=[] if solved is None else [solved])


class _ScaledFitness:
    """``fit(policy(pop))``, with ``fit``'s ``generation`` (for --resume)."""

    def __init__(self, fit: Any, policy: Callable[[np.ndarray], np.ndarray]) -> None:
        self.fit = fit
        self.policy = policy

    @property
    def generation(self) -> int:
        return self.fit.generation

    @generation.setter
    def generation(self, value: int) -> None:
        self.fit.generation = value

    def __call__(self, population: np.ndarray) -> np.ndarray:
        return self.fit(self.policy(population))


def _classifier(net: Any, split: tuple[np.ndarray, ...], batch_size: int | None,
                seed: int, generations: int) -> Demo:
    from .demos import Demo
    from .supervised import Classification, report

    Xtr, Xte, ytr, yte = split
    fitness = Classification(net, Xtr, ytr, metric="cross_entropy",
                             batch_size=batch_size, seed=seed)

    def summary(best: np.ndarray) -> list[str]:
        rep = report(net, best, Xte, yte)
        train = report(net, best, Xtr, ytr).accuracy
        return [f"train accuracy {train:.4f}, test accuracy {rep.accuracy:.4f} "
                f"({len(yte)} test samples)", str(rep)]

    return Demo(net.n_params, fitness, "snes", pop=100, generations=generations,
                init_population=lambda p, s: net.init_population(p, seed=s),
                x0=net.init_genome(seed=seed), fitness_name="-cross-entropy",
                summary=summary)
