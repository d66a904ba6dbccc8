"""Several separable-CMA-ES emitters driven by one kernel call per step
(private to :mod:`pyneat_lite.qd`).

A :class:`SepGroup` stacks the states of ``E`` :class:`EvolutionStrategyEmitter`
of one kind (``es="sep_cma"``, one batch size, ranker, selection rule and
bounds): each emitter's :class:`~pyneat_lite.SepCMAES` keeps its arrays, but
as views into the group's (E, n) buffers, so the strategies stay the
emitters' own (checkpoints, ``emitter.mean``, a direct ``emitter.ask()``),
while one ask draws every row seed, every normal and every sample in three
compiled calls, and one tell ranks every batch and updates every state in one
(:mod:`pyneat_lite._kernels.qd_es`).  A lone emitter's ``tell`` goes through a
group of one, so the scheduler's fused path and the per-emitter path run the
same arithmetic.

A restart gives the emitter a new strategy; the group notices (each emitter
records the group its arrays live in) and copies the new state into its
buffers before the next step.  The same happens when an emitter moves
between groups (a second scheduler over the same emitters).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from .. import _operators as _ops
from .._kernels import qd_es as _kq
from .._rng import STREAMS
from .._threads import kernel_threads
from ..algorithms.sepcma import sep_cma_constants

if TYPE_CHECKING:
    from ._es_emitter import EvolutionStrategyEmitter

__all__ = ["SepGroup", "sep_tables"]

_TABLES: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}


def sep_tables(n: int, b: int) -> tuple[np.ndarray, np.ndarray]:
    """Weights (b + 1, b) and constants (b + 1, N_CONSTS) of SepCMAES with
    ``k`` parents in row ``k`` (row 0 unused), from the strategy's own
    formulas (:func:`~pyneat_lite.algorithms.sepcma.sep_cma_constants`)."""
    key = (n, b)
    if key not in _TABLES:
        w = np.zeros((b + 1, b), dtype=np.float64)
        c = np.zeros((b + 1, _kq.N_CONSTS), dtype=np.float64)
        for k in range(1, b + 1):
            weights, mueff, cs, ds, cc, c1, cmu, chi_n = sep_cma_constants(n, k)
            w[k, :k] = weights
            c[k, _kq.CS], c[k, _kq.DS], c[k, _kq.CC] = cs, ds, cc
            c[k, _kq.C1], c[k, _kq.CMU], c[k, _kq.CHI_N] = c1, cmu, chi_n
            c[k, _kq.MUEFF] = mueff
            # the path coefficients as SepCMAES._tell computes them
            c[k, _kq.PS_COEF] = math.sqrt(cs * (2.0 - cs) * mueff)
            c[k, _kq.PC_COEF] = math.sqrt(cc * (2.0 - cc) * mueff)
        _TABLES[key] = (w, c)
    return _TABLES[key]


class SepGroup:
    """The stacked strategies of ``emitters`` (all ``es="sep_cma"``, one
    batch size, ranker, selection rule and bounds; see :meth:`compatible`)."""

    _STATE = ("_mean", "_C", "_pc", "_ps", "_scale_vec")

    def __init__(self, emitters: list[EvolutionStrategyEmitter]) -> None:
        first = emitters[0]
        self._ems = list(emitters)
        e_n = len(emitters)
        n = first.archive.solution_dim
        b = first.batch_size
        self._b = b
        self._n_rows = e_n * b
        self._two_stage = first._ranker == "2imp"
        self._filter = first._selection_rule == "filter"
        self._weights, self._consts = sep_tables(n, b)
        self._arrays = {k: np.zeros((e_n, n), dtype=np.float64) for k in self._STATE}
        self._z = np.zeros((e_n * b, n), dtype=np.float32)
        self._raw = np.zeros((e_n * b, n), dtype=np.float32)
        self._seeds = np.zeros(e_n, dtype=np.uint64)
        self._row_seeds = np.zeros(e_n * b, dtype=np.uint64)
        self._gens = np.zeros(e_n, dtype=np.int64)
        self._steps = np.zeros(e_n, dtype=np.float64)
        self._converged = np.zeros(e_n, dtype=np.bool_)
        self._added = np.zeros(e_n, dtype=np.bool_)
        self._order = np.zeros(e_n * b, dtype=np.int64)
        self._clip = first._lower is not None
        self._lower = first._lower if self._clip else np.zeros(n)
        self._upper = first._upper if self._clip else np.zeros(n)
        self._threads = kernel_threads(first._n_threads, e_n * b * n, e_n * b)
        self._stream = STREAMS["es_noise"]
        self._bind()

    @staticmethod
    def compatible(emitters: list) -> bool:
        """Whether ``emitters`` can share one group."""
        from ._es_emitter import EvolutionStrategyEmitter

        if not emitters or len({id(e) for e in emitters}) != len(emitters):
            return False
        first = emitters[0]
        if not all(type(e) is EvolutionStrategyEmitter and e._es_kind == "sep_cma"
                   for e in emitters):
            return False
        key = (first.archive, first.batch_size, first._ranker,
               first._selection_rule, first._n_threads)
        for e in emitters[1:]:
            if (e.archive, e.batch_size, e._ranker, e._selection_rule,
                    e._n_threads) != key:
                return False
            if (e._lower is None) != (first._lower is None):
                return False
            if e._lower is not None and not (
                    np.array_equal(e._lower, first._lower)
                    and np.array_equal(e._upper, first._upper)):
                return False
        return True

    def _bind(self) -> None:
        """Copy every emitter's strategy into the buffers and make its arrays
        views of them."""
        b = self._b
        for i, e in enumerate(self._ems):
            es = e._es
            for name, stacked in self._arrays.items():
                stacked[i] = getattr(es, name)
                setattr(es, name, stacked[i])
            rows = slice(i * b, (i + 1) * b)
            self._z[rows] = es._z
            es._z = self._z[rows]
            self._raw[rows] = es._pop
            es._pop = self._raw[rows]
            self._seeds[i] = es._params.seed
            e._group = self
        self._es = [e._es for e in self._ems]

    def _check_bound(self) -> None:
        for e in self._ems:
            if e._group is not self:
                self._bind()
                return

    def ask(self, out: np.ndarray) -> None:
        """Every emitter's next batch into ``out`` (float32 (E * b, n))."""
        self._check_bound()
        gens = self._gens
        gens[:] = [es._generation for es in self._es]
        _kq.group_row_seeds(self._seeds, gens, self._stream, self._b,
                            self._row_seeds)
        _ops._standard_normal(self._z, self._row_seeds, self._threads)
        a = self._arrays
        _kq.group_sample(a["_mean"], a["_scale_vec"], self._z, self._lower,
                         self._upper, self._clip, self._raw, out)
        for es in self._es:
            es._pending = True

    def tell(self, status: np.ndarray, value: np.ndarray) -> None:
        """Rank and update every emitter (status int32, value float64, both
        (E * b,) and C-contiguous), then restart the stalled ones."""
        self._check_bound()
        gens, steps = self._gens, self._steps
        gens[:] = [es._generation for es in self._es]
        steps[:] = [es._step for es in self._es]
        a = self._arrays
        _kq.group_sep_tell(status, value, self._z, self._two_stage, self._filter,
                           self._weights, self._consts, a["_mean"], a["_C"],
                           a["_pc"], a["_ps"], a["_scale_vec"], steps, gens,
                           self._converged, self._added, self._order)
        b = self._b
        for e, es, step, added, converged in zip(
                self._ems, self._es, steps.tolist(), self._added.tolist(),
                self._converged.tolist(), strict=True):
            es._step = step
            es._evaluations += b
            es._generation += 1
            es._pending = False
            es._told = True
            e._itrs += 1
            e._stall = 0 if added else e._stall + 1
            if converged or e._rule_restart(added):
                e._restart()  # a new strategy: rebound before the next step

    def ranked(self, i: int) -> np.ndarray:
        """Emitter ``i``'s ranking of its last batch (row indices)."""
        return self._order[i * self._b:(i + 1) * self._b]
