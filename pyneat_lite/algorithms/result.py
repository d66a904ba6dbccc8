"""What :meth:`Algorithm.run` returns: the best genome, the stop reason, a hall
of fame (:class:`~.halloffame.HallOfFame`, re-exported here) and the
per-generation history."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._typing import Float32Array
from ._multiobjective import ParetoFront
from .halloffame import HallOfFame

__all__ = ["Result", "HallOfFame", "ParetoFront", "STOP_REASONS"]

STOP_REASONS = (
    "generations",
    "target",
    "time_limit",
    "patience",
    "callback",
    "interrupted",
)


@dataclass(frozen=True)
class Result:
    """Outcome of :meth:`Algorithm.run`.

    Attributes
    ----------
    best : float32 array of shape (n_params,) or None
        Best genome evaluated so far (over the algorithm's whole life, not only
        this run); None if nothing was evaluated.
    best_fitness : float
        Its fitness (NaN if nothing was evaluated).
    stop_reason : str
        One of "generations", "target", "time_limit", "patience", "callback",
        "interrupted".
    generation : int
        The algorithm's generation counter at the end of the run.
    generations_run : int
        Generations completed during this run.
    evaluations : int
        Genome evaluations over the algorithm's whole life.
    elapsed : float
        Wall time of this run in seconds.
    hall_of_fame : HallOfFame
        Top distinct genomes with their fitness, best first.
    history : dict of str to numpy array
        One entry per generation: "generation", "min", "mean", "max", "std"
        (of the finite fitness values, in the user's sign), "n_nonfinite",
        "evaluations" (cumulative) and "time" (seconds since the first
        ``ask``, summed over resumed runs).
    mean : float32 array of shape (n_params,) or None
        Centre of the search distribution for the evolution strategies, None
        for the GA.
    minimize : bool
        Whether lower fitness was better.
    pareto_front : ParetoFront or None
        A multi-objective GA's (``selection=pn.NSGA2()``) non-dominated
        parents with their objectives; None otherwise.
    """

    best: Float32Array | None
    best_fitness: float
    stop_reason: str
    generation: int
    generations_run: int
    evaluations: int
    elapsed: float
    hall_of_fame: HallOfFame
    history: dict[str, np.ndarray] = field(repr=False)
    mean: Float32Array | None = None
    minimize: bool = False
    pareto_front: ParetoFront | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        # a summary, as scikit-learn's reprs: the arrays are attributes
        n = "None" if self.best is None else f"<{self.best.shape[0]} genes>"
        return (
            f"Result(best_fitness={self.best_fitness:.6g}, "
            f"stop_reason={self.stop_reason!r}, generation={self.generation}, "
            f"generations_run={self.generations_run}, "
            f"evaluations={self.evaluations}, elapsed={self.elapsed:.3g}, best={n}, "
            f"hall_of_fame=<{len(self.hall_of_fame)} genomes>)"
        )

    def history_frame(self) -> Any:
        """:attr:`history` as a pandas DataFrame, one row per generation,
        indexed by ``generation`` (needs pandas).

        Raises
        ------
        ImportError
            If pandas is not installed.
        """
        try:
            import pandas as pd
        except ImportError as exc:
            raise ImportError(
                "Result.history_frame requires pandas: pip install pandas."
            ) from exc
        return pd.DataFrame(self.history).set_index("generation")

    def plot(self, path: str | None = None, *, ax: Any = None) -> Any:
        """Draw the fitness history (max, mean +- std, min per generation).

        Parameters
        ----------
        path : str or path-like, optional
            Save the figure there (format from the extension).
        ax : matplotlib Axes, optional
            Draw into this axes instead of a new figure.

        Returns
        -------
        matplotlib.figure.Figure

        Raises
        ------
        ImportError
            If matplotlib is not installed (``pip install pyneat_lite[plot]``).
        """
        try:
            # The object-oriented API needs no display and leaves the user's
            # pyplot backend alone.
            from matplotlib.figure import Figure
        except ImportError as exc:
            raise ImportError(
                "Result.plot requires matplotlib. Install it with "
                "`pip install \"pyneat_lite[plot]\"` (from a checkout: "
                "`pip install \".[plot]\"`)."
            ) from exc
        h = self.history
        if ax is None:
            fig = Figure(figsize=(6.0, 4.0))
            ax = fig.subplots()
        else:
            fig = ax.figure
        g = h["generation"]
        ax.plot(g, h["max"], label="max")
        ax.plot(g, h["mean"], label="mean")
        ax.fill_between(g, h["mean"] - h["std"], h["mean"] + h["std"], alpha=0.2)
        ax.plot(g, h["min"], label="min")
        ax.set_xlabel("generation")
        ax.set_ylabel("fitness")
        ax.set_title(f"best {self.best_fitness:.6g} ({self.stop_reason})")
        ax.legend()
        if path is not None:
            fig.savefig(path)
        return fig
