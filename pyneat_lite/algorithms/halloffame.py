"""The hall of fame: the best distinct genomes evaluated so far.

:class:`Archive` is what an algorithm updates after every ``tell`` (owned
buffers, no allocation once full); :class:`HallOfFame` is the frozen copy
users get from ``algorithm.hall_of_fame`` and ``Result.hall_of_fame``.

Order: best first by score (higher is better); of equal scores the one
evaluated first stays ahead -- within a generation the earlier row
(:mod:`pyneat_lite._ranking`'s rule), across generations the older entry.
Genomes are compared bit for bit, so an elite copied unchanged into the next
generation enters once.
"""

from __future__ import annotations

import bisect
import math
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import _ranking
from .._typing import Float32Array, Float64Array

__all__ = ["HallOfFame", "Archive"]

# Up to this many candidates, a Python sort orders them (NumPy beyond).
_SORT_IN_PYTHON = 32


@dataclass(frozen=True)
class HallOfFame:
    """The best distinct genomes evaluated so far, best first.

    Attributes
    ----------
    genomes : float32 array of shape (k, n_params)
        Bit-wise distinct genomes (an elite copied unchanged enters once).
    fitness : float64 array of shape (k,)
        Their fitness, in the user's sign.
    """

    genomes: Float32Array
    fitness: Float64Array

    def __len__(self) -> int:
        return int(self.fitness.shape[0])


def _row_getter(population: Any, rows: list[int], k: int) -> Callable[[int], Any]:
    """``get(i)``: row ``i`` of ``population``.  An array is indexed; a
    structured population (an ES's noise, whose rows are computed) is asked
    for the candidates' rows ``k`` at a time, in ``rows``' order (at most
    ``k`` enter, so usually one call)."""
    if isinstance(population, np.ndarray):
        return population.__getitem__
    done: dict[int, Any] = {}
    where = {r: j for j, r in enumerate(rows)}

    def get(i: int) -> Any:
        if i not in done:
            j = where[i]
            batch = rows[j:j + k]
            done.update(zip(batch, population[batch], strict=True))
        return done[i]

    return get


class Archive:
    """Top-``size`` distinct genomes by score, in a preallocated buffer.

    Genomes stay in the slot they were written to; a short list maps rank to
    slot, so an insertion copies one genome, whatever its rank.  The
    bookkeeping (at most ``size`` entries) is in Python lists, which beat
    NumPy calls at this length.

    Parameters
    ----------
    size : int
        Entries kept.
    n_params : int
        Genome length.
    """

    def __init__(self, size: int, n_params: int) -> None:
        self.size = size
        self._slots = np.zeros((size, n_params), dtype=np.float32)
        self._slot: list[int] = []  # slot of each entry, best first
        self._neg: list[float] = []  # minus the scores, ascending (bisect)
        self._crc: list[int] = []  # CRC-32 of each entry's bytes

    @property
    def n(self) -> int:
        """Entries in use."""
        return len(self._slot)

    @property
    def best_score(self) -> float:
        """Score of the best entry (``-inf`` when empty)."""
        return -self._neg[0] if self._neg else -np.inf

    @property
    def best(self) -> Float32Array:
        """View of the best genome (the archive must not be empty)."""
        return self._slots[self._slot[0]]

    def update(self, population: Float32Array, score: Float64Array) -> None:
        """Offer every row of ``population`` with its ``score`` (higher is
        better, ``-inf`` for failed evaluations, which never enter)."""
        k = self.size
        neg, slots, kept_crc = self._neg, self._slot, self._crc
        # Only rows that beat the current last entry can enter: usually few,
        # so the common case costs one comparison over the scores.
        floor = -neg[-1] if len(neg) == k else -math.inf
        cand = (score > floor).nonzero()[0]
        if cand.shape[0] == 0:
            return
        rows, scores = cand.tolist(), score[cand].tolist()
        if len(rows) > _SORT_IN_PYTHON:
            o = _ranking.order(score[cand])
            rows, scores = cand[o].tolist(), score[cand[o]].tolist()
        elif len(rows) > 1:
            # _ranking's rule (best first, ties by row) with a stable sort:
            # cheaper than NumPy calls for a handful of candidates
            o = sorted(range(len(rows)), key=scores.__getitem__, reverse=True)
            rows, scores = [rows[j] for j in o], [scores[j] for j in o]
        # Candidates best first, each enters unless its genome is already
        # there.  A newcomer never falls off in the same call (every later
        # candidate scores at most as well and goes after it), so the genomes
        # are copied once, at the end: slot -> row of ``population``.
        pending: dict[int, int] = {}
        get = _row_getter(population, rows, k)
        for i, s in zip(rows, scores, strict=True):
            if len(neg) == k and s <= -neg[-1]:
                break  # candidates are best first: none of the rest enters
            row = get(i)
            crc = zlib.crc32(row)
            if crc in kept_crc and any(
                c == crc and np.array_equal(
                    get(pending[slot]) if slot in pending else self._slots[slot], row)
                for c, slot in zip(kept_crc, slots, strict=True)
            ):
                continue
            # after the entries with an equal score (the older one stays ahead)
            pos = bisect.bisect_right(neg, -s)
            if len(neg) == k:  # the last entry falls off; its slot is reused
                slot = slots.pop()
                neg.pop()
                kept_crc.pop()
            else:
                slot = min(set(range(k)).difference(slots))
            pending[slot] = i
            slots.insert(pos, slot)
            neg.insert(pos, -s)
            kept_crc.insert(pos, crc)
        for slot, i in pending.items():  # row by row: cheaper than fancy indexing
            self._slots[slot] = get(i)

    # --------------------------------------------------------- views, state
    def snapshot(self, to_user: Callable[[Float64Array], Float64Array]) -> HallOfFame:
        """A frozen copy; ``to_user`` maps scores to the user's fitness sign."""
        score = -np.array(self._neg, dtype=np.float64)
        return HallOfFame(self._slots[self._slot], to_user(score))

    def state(self) -> tuple[int, dict[str, np.ndarray]]:
        """``(n, arrays)`` for checkpoints: genomes (best first, zero rows
        after the last entry), scores (``-inf`` there) and CRCs (0)."""
        n = self.n
        genomes = np.zeros_like(self._slots)
        genomes[:n] = self._slots[self._slot]
        score = np.full(self.size, -np.inf)
        score[:n] = [-v for v in self._neg]
        crc = np.zeros(self.size, dtype=np.int64)
        crc[:n] = self._crc
        return n, {"genomes": genomes, "score": score, "crc": crc}

    def set_state(self, n: int, arrays: dict[str, np.ndarray]) -> None:
        """Inverse of :meth:`state` (arrays already checked for shape)."""
        self._slots[...] = arrays["genomes"]
        self._slot = list(range(n))
        self._neg = [-v for v in arrays["score"][:n].tolist()]
        self._crc = arrays["crc"][:n].tolist()
