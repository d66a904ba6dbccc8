"""Run logs: callbacks for :meth:`Algorithm.run` that write one record per
generation -- a JSON line, a CSV row, or TensorBoard scalars.

Each record is the generation's row of :attr:`Algorithm.history`
(``generation``, ``min``, ``mean``, ``max``, ``std``, ``n_nonfinite``,
``evaluations``, ``time``) plus ``best_fitness``, the best so far.  Files are
appended to, so a resumed run continues its log; each record is written and
flushed when its generation ends, so a killed run keeps its log up to there.

Examples
--------
>>> import os, tempfile
>>> import numpy as np, pyneat_lite as pn
>>> path = os.path.join(tempfile.mkdtemp(), "run.jsonl")
>>> ga = pn.GA(n_params=4, pop_size=8, seed=0)
>>> r = ga.run(lambda pop: -np.sum(pop ** 2, axis=1), generations=3,
...            callbacks=[pn.JSONLinesLogger(path)])
>>> len(open(path).read().splitlines())
3
"""

from __future__ import annotations

import csv
import json
import math
import os
from typing import TYPE_CHECKING, Any

from ..checkpoint import check_path
from .history import HISTORY_KEYS

if TYPE_CHECKING:
    from .base import Algorithm

__all__ = ["JSONLinesLogger", "CSVLogger", "TensorBoardLogger", "LOG_FIELDS"]

#: the fields of a record, in order
LOG_FIELDS = (*HISTORY_KEYS, "best_fitness")


def _record(algorithm: Algorithm) -> dict[str, Any]:
    row = dict(algorithm._history.last())  # the row just told, no column copy
    row["best_fitness"] = algorithm.best_fitness
    return row


class JSONLinesLogger:
    """Run callback appending one JSON object per generation to ``path``.

    Non-finite numbers (a generation without any finite fitness) are
    written as ``null``, so that every line is strict JSON.

    Parameters
    ----------
    path : str or path-like
        The ``.jsonl`` file; its directory must exist (checked here, before
        the run).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = check_path(path, name="path", caller=type(self).__name__,
                               probe=True)

    def __call__(self, algorithm: Algorithm) -> bool:
        row = {k: (None if isinstance(v, float) and not math.isfinite(v) else v)
               for k, v in _record(algorithm).items()}
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(row, allow_nan=False) + "\n")
        return False  # never stops the run

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.path!r})"


class CSVLogger:
    """Run callback appending one CSV row per generation to ``path``, with a
    header line (:data:`LOG_FIELDS`) when the file is new or empty.

    Non-finite numbers are written as ``nan``/``inf``, which
    ``pandas.read_csv`` and ``float()`` read back.

    Parameters
    ----------
    path : str or path-like
        The ``.csv`` file; its directory must exist (checked here).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = check_path(path, name="path", caller=type(self).__name__,
                               probe=True)

    def __call__(self, algorithm: Algorithm) -> bool:
        row = _record(algorithm)
        new = not os.path.exists(self.path) or os.path.getsize(self.path) == 0
        with open(self.path, "a", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            if new:
                writer.writerow(LOG_FIELDS)
            writer.writerow([repr(row[k]) if isinstance(row[k], float) else row[k]
                             for k in LOG_FIELDS])
        return False

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.path!r})"


class TensorBoardLogger:
    """Run callback writing TensorBoard scalars per generation.

    Tags ``fitness/min``, ``fitness/mean``, ``fitness/max``, ``fitness/std``,
    ``fitness/best`` (best so far), ``evaluations``, ``time`` and
    ``n_nonfinite``, at step = the generation.  Uses
    ``torch.utils.tensorboard`` (which needs the ``tensorboard`` package) or
    ``tensorboardX``, whichever imports.

    Parameters
    ----------
    log_dir : str or path-like
        The run's folder (created if missing), as for ``SummaryWriter``.

    Raises
    ------
    ImportError
        If neither ``torch.utils.tensorboard`` nor ``tensorboardX`` imports.
    """

    def __init__(self, log_dir: str | os.PathLike[str]) -> None:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            try:
                from tensorboardX import SummaryWriter
            except ImportError:
                raise ImportError(
                    "TensorBoardLogger needs torch.utils.tensorboard (pip install "
                    "torch tensorboard) or tensorboardX (pip install tensorboardX)."
                ) from None
        self.log_dir = os.fspath(log_dir)
        self.writer = SummaryWriter(log_dir=self.log_dir)

    def __call__(self, algorithm: Algorithm) -> bool:
        row = _record(algorithm)
        step = int(row["generation"])
        for key in ("min", "mean", "max", "std"):
            self.writer.add_scalar(f"fitness/{key}", row[key], step)
        self.writer.add_scalar("fitness/best", row["best_fitness"], step)
        for key in ("evaluations", "time", "n_nonfinite"):
            self.writer.add_scalar(key, row[key], step)
        self.writer.flush()
        return False

    def close(self) -> None:
        """Close the event file (also done when the logger is collected)."""
        self.writer.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.log_dir!r})"
