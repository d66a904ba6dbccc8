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
import zlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .. import _ranking
from .._typing import Float32Array, Float64Array

__all__ = ["HallOfFame", "Archive"]


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
        # Only rows that beat the current last entry can enter: usually few,
        # so the common case costs one comparison over the scores.
        floor = -self._neg[-1] if len(self._neg) == k else -np.inf
        cand = (score > floor).nonzero()[0]
        if cand.shape[0] == 0:
            return
        if cand.shape[0] > 1:
            cand = cand[_ranking.order(score[cand])]
        head = cand[:k].tolist()
        crcs = [zlib.crc32(population[i]) for i in head]
        if set(crcs).isdisjoint(self._crc) and len(set(crcs)) == len(crcs):
            # k distinct newcomers: no candidate after them can enter
            self._merge(population, head, score[cand[:k]].tolist(), crcs)
        else:
            self._insert_one_by_one(population, cand, score)

    def _merge(
        self, population: Float32Array, rows: list[int], scores: list[float],
        crcs: list[int],
    ) -> None:
        """No candidate is a duplicate: the new entries are the ``size`` best
        of the old ones followed by the candidates (best first), a stable
        sort -- what inserting them one by one gives, in one pass."""
        old = [(v, 0, j) for j, v in enumerate(self._neg)]
        new = [(-s, 1, j) for j, s in enumerate(scores)]
        kept = sorted(old + new)[: self.size]
        used = {self._slot[j] for v, is_new, j in kept if not is_new}
        free = sorted(set(range(self.size)).difference(used), reverse=True)
        slot, neg, crc, dst, src = [], [], [], [], []
        for v, is_new, j in kept:
            if is_new:
                s = free.pop()
                dst.append(s)
                src.append(rows[j])
                crc.append(crcs[j])
            else:
                s = self._slot[j]
                crc.append(self._crc[j])
            slot.append(s)
            neg.append(v)
        if dst:
            self._slots[dst] = population[src]
        self._slot, self._neg, self._crc = slot, neg, crc

    def _insert_one_by_one(
        self, population: Float32Array, cand: np.ndarray, score: Float64Array
    ) -> None:
        """The general case (a candidate repeats a genome): candidates best
        first, each enters unless its genome is already there."""
        k = self.size
        neg, slots, kept_crc = self._neg, self._slot, self._crc
        for i in cand.tolist():
            s = float(score[i])
            if len(neg) == k and s <= -neg[-1]:
                break  # candidates are best first: none of the rest enters
            row = population[i]
            crc = zlib.crc32(row)
            if crc in kept_crc and any(
                c == crc and np.array_equal(self._slots[slot], row)
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
            self._slots[slot] = row
            slots.insert(pos, slot)
            neg.insert(pos, -s)
            kept_crc.insert(pos, crc)

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
