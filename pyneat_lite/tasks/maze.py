"""A deceptive maze for novelty search (after Lehman & Stanley 2011).

A point robot starts below a cup whose only opening faces away from it; the
goal lies inside the cup.  Heading for the goal drives the robot into the
cup's bottom wall (a local optimum at distance 0.1), and reaching the goal
means first moving *away* from it, around the cup and over its rim -- the
trap that makes objective-only search fail and novelty search succeed.

The robot is open-loop: a genome holds ``segments`` pairs of values, each
squashed by tanh into a velocity of at most ``speed`` per step, held for
``steps_per_segment`` steps; a step that would cross a wall is not taken.
The whole population is stepped by one Numba call
(:mod:`pyneat_lite._kernels.maze`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._kernels.maze import maze_rollout
from .._threads import numba_thread_count
from .._validation import check_array, check_int, check_population, check_scalar

__all__ = ["DeceptiveMaze", "CUP_WALLS"]

#: Walls of the default maze, (x0, y0, x1, y1): the unit arena and a cup
#: open at the top around the goal.
CUP_WALLS = np.array([
    [0.0, 0.0, 1.0, 0.0], [1.0, 0.0, 1.0, 1.0], [1.0, 1.0, 0.0, 1.0],
    [0.0, 1.0, 0.0, 0.0],
    [0.3, 0.45, 0.7, 0.45], [0.3, 0.45, 0.3, 0.85], [0.7, 0.45, 0.7, 0.85],
])


class DeceptiveMaze:
    """Population -> (objective, measures) of a point robot in a maze.

    Parameters
    ----------
    segments : int, default=10
        Velocity commands per genome (``n_params = 2 * segments``).
    steps_per_segment : int, default=10
        Steps each command is held.
    speed : float, default=0.04
        Largest displacement per step and axis.
    walls : array-like of shape (W, 4), optional
        Wall segments ``(x0, y0, x1, y1)``; default :data:`CUP_WALLS`.
    start, goal : (x, y), defaults (0.5, 0.1) and (0.5, 0.55)
    goal_radius : float, default=0.05
        :meth:`solved` when the final position is this close to the goal.
    n_threads : int, optional
        Threads of the kernel (results do not depend on it).

    Calling the task returns ``objective = -distance(final position, goal)``
    (float64 (P,)) and ``measures = final position`` (float64 (P, 2)), the
    behaviour descriptor of Lehman & Stanley.

    Examples
    --------
    >>> import numpy as np, pyneat_lite as pn
    >>> maze = pn.tasks.maze.DeceptiveMaze()
    >>> obj, meas = maze(np.zeros((1, maze.n_params), np.float32))
    >>> meas.tolist(), round(float(obj[0]), 2)   # a still robot stays at the start
    ([[0.5, 0.1]], -0.45)
    """

    def __init__(self, segments: int = 10, steps_per_segment: int = 10,
                 speed: float = 0.04, walls: Any = None, start: Any = (0.5, 0.1),
                 goal: Any = (0.5, 0.55), goal_radius: float = 0.05,
                 n_threads: int | None = None) -> None:
        caller = "DeceptiveMaze"
        self.segments = check_int(segments, "segments", caller=caller, min_val=1)
        self.steps_per_segment = check_int(steps_per_segment, "steps_per_segment",
                                           caller=caller, min_val=1)
        self.speed = check_scalar(speed, "speed", caller=caller, min_val=0.0,
                                  include_min=False)
        w = CUP_WALLS if walls is None else walls
        self.walls = check_array(w, "walls", caller=caller, ndim=2,
                                 dtype=np.float64, allow_empty=True).copy()
        if self.walls.shape[1] != 4:
            raise ValueError(f"The 'walls' parameter of {caller} must have shape "
                             f"(W, 4). Got shape {self.walls.shape} instead.")
        self.start = self._point(start, "start", caller)
        self.goal = self._point(goal, "goal", caller)
        self.goal_radius = check_scalar(goal_radius, "goal_radius", caller=caller,
                                        min_val=0.0, include_min=False)
        self.n_threads = n_threads

    @staticmethod
    def _point(p: Any, name: str, caller: str) -> np.ndarray:
        a = check_array(p, name, caller=caller, ndim=1, dtype=np.float64)
        if a.shape != (2,):
            raise ValueError(f"The {name!r} parameter of {caller} must be a point "
                             f"(x, y). Got shape {a.shape} instead.")
        return a.copy()

    @property
    def n_params(self) -> int:
        """Genome length, ``2 * segments``."""
        return 2 * self.segments

    def final_positions(self, population: Any) -> np.ndarray:
        """Where every robot ends, float64 (P, 2)."""
        pop = check_population(population, caller="DeceptiveMaze",
                               n_params=self.n_params, finite=False)
        out = np.empty((pop.shape[0], 2))
        work = pop.shape[0] * self.segments * self.steps_per_segment * len(self.walls)
        nt = numba_thread_count(self.n_threads, work, pop.shape[0])
        maze_rollout(pop, self.walls, self.start, self.speed, self.steps_per_segment,
                     out, nt)
        return out

    def __call__(self, population: Any) -> tuple[np.ndarray, np.ndarray]:
        pos = self.final_positions(population)
        dist = np.sqrt(((pos - self.goal) ** 2).sum(axis=1))
        return -dist, pos

    def solved(self, measures: Any) -> np.ndarray:
        """Whether each final position is within ``goal_radius`` of the goal."""
        m = np.asarray(measures, dtype=np.float64).reshape(-1, 2)
        return np.sqrt(((m - self.goal) ** 2).sum(axis=1)) <= self.goal_radius

    def plot(self, path: Any = None, *, measures: Any = None, ax: Any = None) -> Any:
        """Draw the walls, start, goal and optionally final positions
        (matplotlib); returns the figure."""
        try:
            from matplotlib.figure import Figure
        except ImportError as exc:
            raise ImportError("DeceptiveMaze.plot requires matplotlib. Install it "
                              "with `pip install pyneat_lite[plot]`.") from exc
        if ax is None:
            fig = Figure(figsize=(5.0, 5.0))
            ax = fig.subplots()
        else:
            fig = ax.figure
        for x0, y0, x1, y1 in self.walls:
            ax.plot([x0, x1], [y0, y1], color="k", lw=2)
        if measures is not None:
            m = np.asarray(measures).reshape(-1, 2)
            ax.scatter(m[:, 0], m[:, 1], s=3, alpha=0.4)
        ax.scatter(*self.start, c="tab:green", s=60, label="start")
        ax.scatter(*self.goal, c="tab:red", s=60, marker="*", label="goal")
        ax.set_aspect("equal")
        ax.legend(loc="lower right")
        if path is not None:
            fig.savefig(path)
        return fig

    def __repr__(self) -> str:
        return (f"DeceptiveMaze(segments={self.segments}, steps_per_segment="
                f"{self.steps_per_segment}, speed={self.speed:g}, "
                f"walls={len(self.walls)})")
