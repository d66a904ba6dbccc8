"""Run logs (issue 15): JSON lines, CSV rows and TensorBoard scalars per
generation, each read back with an independent reader (json, csv, pandas,
TensorBoard's own event reader) and compared with ``Result.history``."""

from __future__ import annotations

import csv
import json

import numpy as np
import pandas as pd
import pytest

import pyneat_lite as pn
from pyneat_lite.algorithms.logs import LOG_FIELDS

# the fitness below counts one NaN per generation on purpose
pytestmark = pytest.mark.filterwarnings(
    "ignore::pyneat_lite.algorithms.base.NonFiniteFitnessWarning")


def _fitness(pop):
    f = -np.sum(pop.astype(np.float64) ** 2, axis=1)
    f[0] = np.nan  # counted in n_nonfinite
    return f


def _run(callbacks, generations=4, algo=None):
    algo = algo or pn.SNES(n_params=6, pop_size=8, seed=0)
    return algo, algo.run(_fitness, generations=generations, callbacks=callbacks)


def _best_so_far(history):
    return np.maximum.accumulate(history["max"])


def test_json_lines_equal_the_history_and_a_resumed_run_appends(tmp_path):
    path = tmp_path / "run.jsonl"
    algo, _ = _run([pn.JSONLinesLogger(path)])
    algo, result = _run([pn.JSONLinesLogger(path)], generations=3, algo=algo)
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    h = result.history
    assert len(rows) == 7 and all(list(r) == list(LOG_FIELDS) for r in rows)
    for key in h:
        assert [r[key] for r in rows] == h[key].tolist()  # exact: repr round trip
    assert [r["best_fitness"] for r in rows] == _best_so_far(h).tolist()
    assert all(r["n_nonfinite"] == 1 for r in rows)


def test_json_lines_write_null_for_a_generation_without_finite_fitness(tmp_path):
    path = tmp_path / "nan.jsonl"
    ga = pn.GA(n_params=3, pop_size=4, seed=0)
    ga.run(lambda pop: np.full(4, np.nan), generations=2,
           callbacks=[pn.JSONLinesLogger(path)])
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r["max"] for r in rows] == [None, None]
    assert [r["n_nonfinite"] for r in rows] == [4, 4]


def test_csv_rows_equal_the_history(tmp_path):
    path = tmp_path / "run.csv"
    _, result = _run([pn.CSVLogger(path)])
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == list(LOG_FIELDS) and len(rows) == 5
    h = result.history
    for j, key in enumerate(LOG_FIELDS[:-1]):
        assert [float(r[j]) for r in rows[1:]] == h[key].astype(float).tolist()
    frame = pd.read_csv(path)
    np.testing.assert_array_equal(frame["best_fitness"], _best_so_far(h))


def test_tensorboard_scalars_read_back_by_tensorboard(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import (
        EventAccumulator,
    )

    logger = pn.TensorBoardLogger(tmp_path / "tb")
    _, result = _run([logger])
    logger.close()
    acc = EventAccumulator(str(tmp_path / "tb"))
    acc.Reload()
    h = result.history
    expected = {"fitness/min": h["min"], "fitness/mean": h["mean"],
                "fitness/max": h["max"], "fitness/std": h["std"],
                "fitness/best": _best_so_far(h), "evaluations": h["evaluations"],
                "n_nonfinite": h["n_nonfinite"]}
    assert set(expected) <= set(acc.Tags()["scalars"])
    for tag, values in expected.items():
        events = acc.Scalars(tag)
        assert [e.step for e in events] == h["generation"].tolist()
        # TensorBoard stores float32
        np.testing.assert_array_equal([e.value for e in events],
                                      np.asarray(values, np.float32))


def test_history_frame_is_the_history_indexed_by_generation():
    _, result = _run([], generations=3)
    frame = result.history_frame()
    h = result.history
    assert frame.index.name == "generation"
    np.testing.assert_array_equal(frame.index, h["generation"])
    assert list(frame.columns) == [k for k in h if k != "generation"]
    for key in frame.columns:
        np.testing.assert_array_equal(frame[key].to_numpy(), h[key])


def test_logger_path_checked_before_the_run(tmp_path):
    with pytest.raises(ValueError, match="'path' argument of JSONLinesLogger"):
        pn.JSONLinesLogger(tmp_path / "missing" / "run.jsonl")
    with pytest.raises(ValueError, match="'path' argument of CSVLogger"):
        pn.CSVLogger(tmp_path)
