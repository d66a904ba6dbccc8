"""Supervised fitness: classification and regression scores of a whole population.

:class:`Classification` and :class:`Regression` are callables ``population ->
fitness`` (higher is better).  Genomes are evaluated in chunks: the forward
pass of a chunk fills a preallocated ``(chunk, B, n_out)`` buffer and a Numba
kernel (:mod:`pyneat_lite._kernels.losses`) reduces it to one number per
genome at once, so memory stays bounded (about 16 MiB of outputs) whatever
the population size.

``X`` and ``y`` are validated once, when the task is built, and the
population once per call; below that the forward passes and the reductions
run unchecked.

With ``batch_size``, call ``g`` draws a new minibatch of distinct samples
from the library's stream ``(seed, g, STREAMS["batch"], row 0)`` (Floyd's
sampling on the xoshiro256** generator of the operators, one stream, so the
same on any number of threads): the same seed gives the same sequence of
minibatches, and every genome of one call sees the same samples.

A strategy's structured population (``ask_structured()``: a low-rank
:class:`pyneat_lite.algorithms.LowRankPopulation`, or the full-rank
antithetic :class:`~pyneat_lite.algorithms.AntitheticPopulation`) is scored
from its noise without its genomes, ``X @ W`` of the centre shared by the
whole population (see :mod:`._structured`).  The numbers agree with scoring
the materialised genomes to float32 rounding.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._kernels import losses
from .._kernels import lowrank as _lowrank
from .._kernels.rng import sample_without_replacement
from .._obs_norm import fitness_state, set_fitness_state
from .._rng import STREAMS, resolve_seed, row_seeds
from .._threads import effective_n_threads
from .._validation import check_array, check_genome, check_int, check_population
from ..algorithms._lowrank import LowRankPopulation
from ._structured import STRUCTURED, check_structured, evaluate_lowrank, evaluate_pairs

__all__ = ["Classification", "Regression", "Report", "report"]

# Output values per chunk buffer (float32): 4 Mi values = 16 MiB.
_CHUNK_VALUES = 4 * 2**20
# Floyd's sampling draws 32-bit bounded integers.
_MAX_SAMPLES = 2**32


def _forward_unchecked(net: Any, pop: np.ndarray, X: np.ndarray, out3: np.ndarray,
                       n_threads: int | None) -> None:
    """``out3 = net.forward(pop, X)`` without validation: ``pop`` float32 C
    (Pc, n_params), ``X`` float32 C finite (B, n_in), ``out3`` float32 C
    (Pc, B, n_out), all checked by the caller."""
    net._forward_unchecked(pop, X, out3, n_threads)


class _Supervised:
    """Shared data handling: validation, minibatches, chunked forward passes.

    Subclasses set ``_y`` and define ``_reduce(out, y, fitness, lo)``, the
    loss kernel call that writes ``fitness[lo:lo + len(out)]``.
    """

    _caller = "_Supervised"

    def __init__(self, net: Any, X: Any, batch_size: int | None, seed: Any,
                 chunk_size: int | None, n_threads: int | None) -> None:
        caller = self._caller
        self.net = net
        # validated once: finite float32 C-contiguous; never re-scanned
        X = check_array(X, "X", caller=caller, ndim=2, finite=True)
        if X.shape[1] != net.n_in:
            raise ValueError(
                f"The 'X' argument of {caller} must have {net.n_in} columns (the "
                f"network's n_in). Got shape {X.shape} instead."
            )
        n = X.shape[0]
        self.X = X
        if batch_size is not None:
            batch_size = check_int(batch_size, "batch_size", caller=caller,
                                   min_val=1, max_val=n)
            if n > _MAX_SAMPLES:
                raise ValueError(
                    f"The 'X' argument of {caller} must have at most 2**32 samples "
                    f"with batch_size. Got {n} instead."
                )
        self.batch_size = batch_size
        self.seed = resolve_seed(seed, caller=caller)
        self.chunk_size = None if chunk_size is None else check_int(
            chunk_size, "chunk_size", caller=caller, min_val=1)
        if n_threads is not None:
            effective_n_threads(n_threads)  # validates
        self.n_threads = n_threads
        self.generation = 0
        self._buffer: np.ndarray | None = None
        self._mask: np.ndarray | None = None

    def _check_len(self, y: np.ndarray) -> None:
        if y.shape[0] != self.X.shape[0]:
            raise ValueError(
                f"The 'X' and 'y' arguments of {self._caller} must have the same "
                f"number of samples. Got {self.X.shape[0]} and {y.shape[0]} instead."
            )

    def batch_indices(self, generation: int) -> np.ndarray | None:
        """Sorted sample indices of the minibatch of call ``generation``
        (``None`` when the whole data set is used).

        ``batch_size`` distinct indices, every subset equally likely, drawn
        by Floyd's algorithm from the stream ``row_seeds(seed, generation,
        STREAMS["batch"], 1)[0]``; ascending, so that the gather reads the
        rows in memory order.
        """
        generation = check_int(generation, "generation",
                               caller=f"{self._caller}.batch_indices", min_val=0)
        return self._batch_indices(generation)

    def _batch_indices(self, generation: int) -> np.ndarray | None:
        if self.batch_size is None:
            return None
        n = self.X.shape[0]
        if self._mask is None:
            self._mask = np.empty(n, np.bool_)
        seed = row_seeds(self.seed, generation, STREAMS["batch"], 1)[0]
        idx = np.empty(self.batch_size, np.int64)
        sample_without_replacement(seed, n, self.batch_size, self._mask, idx)
        return idx

    #: :meth:`Algorithm.run` hands this fitness a strategy's structured
    #: population (``ask_structured()``) instead of its genomes
    accepts_structured = True
    #: loss code of the structured kernel (set by subclasses)
    _kind = _lowrank.MSE

    def _evaluate_structured(self, pop: Any, generation: int) -> np.ndarray:
        """Fitness of a strategy's structured population, without its
        genomes where the network allows it."""
        idx = self._batch_indices(generation)
        X = self.X if idx is None else self.X[idx]
        y = self._y if idx is None else self._y[idx]
        if isinstance(pop, LowRankPopulation):
            return evaluate_lowrank(self.net, pop, X, y, self._kind,
                                    self._probabilities, self.n_threads)
        fitness = evaluate_pairs(self.net, pop, X, y, self._kind, self._probabilities,
                                 self.n_threads)
        if fitness is None:  # layered networks: the genomes themselves
            fitness = self._evaluate(np.asarray(pop), generation)
        return fitness

    def evaluate(self, population: Any, generation: int = 0) -> np.ndarray:
        """Fitness of ``population`` on the minibatch of ``generation`` (no
        state change).

        Returns
        -------
        ndarray of float64, shape (P,)
        """
        caller = f"{self._caller}.evaluate"
        generation = check_int(generation, "generation", caller=caller, min_val=0)
        if isinstance(population, STRUCTURED):
            check_structured(self.net, population, caller)
            return self._evaluate_structured(population, generation)
        pop = check_population(population, caller=caller, n_params=self.net.n_params,
                               finite=False)
        return self._evaluate(pop, generation)

    def _evaluate(self, pop: np.ndarray, generation: int) -> np.ndarray:
        """Unchecked :meth:`evaluate`: ``pop`` float32 C (P, n_params)."""
        idx = self._batch_indices(generation)
        X = self.X if idx is None else self.X[idx]
        y = self._y if idx is None else self._y[idx]
        n_pop, n_samples, n_out = pop.shape[0], X.shape[0], self.net.n_out
        per = self.chunk_size or max(1, _CHUNK_VALUES // (n_samples * n_out))
        per = min(per, n_pop)
        need = per * n_samples * n_out
        fitness = np.empty(n_pop)
        for lo in range(0, n_pop, per):
            hi = min(n_pop, lo + per)
            # the same chunks either way: they fix the GEMM blocks, hence bits
            if self._fused(pop[lo:hi], X, y, fitness[lo:hi]):
                continue
            if self._buffer is None or self._buffer.size < need:
                self._buffer = np.empty(need, np.float32)
            out = self._buffer[: (hi - lo) * n_samples * n_out].reshape(
                hi - lo, n_samples, n_out)
            _forward_unchecked(self.net, pop[lo:hi], X, out, self.n_threads)
            self._reduce(out, y, fitness, lo)
        return fitness

    def _fused(self, pop: np.ndarray, X: np.ndarray, y: np.ndarray,
               fitness: np.ndarray) -> bool:
        """Fitness of a chunk in one pass that never writes its outputs, when
        the task and the network allow it (False: use the buffer)."""
        return False

    def __call__(self, population: Any) -> np.ndarray:
        """Fitness of ``population`` (genomes, or a strategy's
        :class:`~pyneat_lite.algorithms.LowRankPopulation` or
        :class:`~pyneat_lite.algorithms.AntitheticPopulation`); then move on
        to the next minibatch."""
        if isinstance(population, STRUCTURED):
            check_structured(self.net, population, self._caller)
            fitness = self._evaluate_structured(population, self.generation)
            self.generation += 1
            return fitness
        pop = check_population(population, caller=self._caller,
                               n_params=self.net.n_params, finite=False)
        fitness = self._evaluate(pop, self.generation)
        self.generation += 1
        return fitness

    def advance(self) -> None:
        """Move on to the next minibatch without evaluating (the process-pool
        and Ray evaluators call this in the parent)."""
        self.generation += 1

    def get_state(self) -> dict[str, Any]:
        """``{"generation": ...}``, the minibatch counter, for checkpoints:
        ``run`` saves it, so that a resumed run draws the minibatches the
        uninterrupted run would have drawn."""
        return fitness_state(self.generation, None)

    def set_state(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`get_state` returned."""
        self.generation = set_fitness_state(state, None)

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_buffer"] = None  # scratch, not data: never pickled
        state["_mask"] = None
        return state


class Classification(_Supervised):
    """Classification fitness of a population: accuracy or negative cross-entropy.

    Parameters
    ----------
    net : Network
        ``n_out`` is the number of classes (at least 2).
    X : array-like of shape (n_samples, net.n_in)
        Inputs, converted once to float32.
    y : array-like of int, shape (n_samples,)
        Labels in ``[0, net.n_out)``.
    metric : {"accuracy", "cross_entropy"}, default="accuracy"
        ``"accuracy"``: fraction of argmax hits.  ``"cross_entropy"``: minus
        the mean cross-entropy; the outputs are read as probabilities when
        the last activation is ``softmax`` (clipped at 1e-7 before the log),
        otherwise as logits (log-softmax computed stably).
    batch_size : int, optional
        Samples per call; ``None`` uses all of them every call.
    seed : int, default=0
        Seed of the minibatch stream.
    chunk_size : int, optional
        Genomes per forward pass; default: as many as fill 16 MiB of outputs.
    n_threads : int, optional
        Numba threads of the forward passes and reductions (``None``: all
        usable cores; negative counts back).  Small problems run on one
        thread.  Results do not depend on it.

    Attributes
    ----------
    generation : int
        Index of the next call's minibatch (set it to resume a run).

    Examples
    --------
    >>> net = pn.Network([64, 32, 10], ["tanh", "softmax"])
    >>> X, y = pn.datasets.load_digits()
    >>> fit = pn.tasks.Classification(net, X, y, batch_size=256, seed=0)
    >>> fit(net.init_population(8, seed=0)).shape
    (8,)
    """

    _caller = "Classification"

    def __init__(self, net: Any, X: Any, y: Any, metric: str = "accuracy",
                 batch_size: int | None = None, seed: Any = 0,
                 chunk_size: int | None = None, *,
                 n_threads: int | None = None) -> None:
        super().__init__(net, X, batch_size, seed, chunk_size, n_threads)
        caller = self._caller
        if metric not in ("accuracy", "cross_entropy"):
            raise ValueError(
                f"The 'metric' parameter of {caller} must be 'accuracy' or "
                f"'cross_entropy'. Got {metric!r} instead."
            )
        if net.n_out < 2:
            raise ValueError(
                f"The network of {caller} must have at least 2 outputs (one per "
                f"class). Got n_out={net.n_out} instead."
            )
        self.metric = metric
        self._y = _check_labels(y, net.n_out, caller)
        self._check_len(self._y)
        self.y = self._y
        self._probabilities = net.activations[-1] == "softmax"
        self._kind = (_lowrank.ACCURACY if metric == "accuracy"
                      else _lowrank.CROSS_ENTROPY)

    def _fused(self, pop, X, y, fitness):
        # per genome: first layer by GEMM, later layers and the loss terms in
        # one pass over blocks of samples; bit-identical to the buffer path
        fit = getattr(self.net, "_fitness_unchecked", None)
        return fit is not None and fit(pop, X, y, self.metric, fitness,
                                       self.n_threads)

    def _reduce(self, out, y, fitness, lo):
        if self.metric == "accuracy":
            losses.accuracy(out, y, fitness, lo, self.n_threads)
        else:
            losses.neg_cross_entropy(out, y, self._probabilities, 1e-7, fitness, lo,
                                     self.n_threads)

    def __repr__(self) -> str:
        return (f"Classification(metric={self.metric!r}, n_samples={self.X.shape[0]}, "
                f"batch_size={self.batch_size})")


class Regression(_Supervised):
    """Regression fitness of a population: minus the mean squared error.

    Parameters
    ----------
    net : Network
    X : array-like of shape (n_samples, net.n_in)
    y : array-like of shape (n_samples,) or (n_samples, net.n_out)
        Targets (1-D only when ``net.n_out == 1``).
    batch_size, seed, chunk_size, n_threads
        As in :class:`Classification`.

    Notes
    -----
    The fitness is ``-mean((net(X) - y) ** 2)`` over samples and outputs.
    """

    _caller = "Regression"

    def __init__(self, net: Any, X: Any, y: Any, batch_size: int | None = None,
                 seed: Any = 0, chunk_size: int | None = None, *,
                 n_threads: int | None = None) -> None:
        super().__init__(net, X, batch_size, seed, chunk_size, n_threads)
        y = check_array(y, "y", caller=self._caller, ndim=(1, 2))
        if y.ndim == 1:
            y = y.reshape(-1, 1)
        if y.shape[1] != net.n_out:
            raise ValueError(
                f"The 'y' argument of {self._caller} must have {net.n_out} columns "
                f"(the network's n_out). Got shape {y.shape} instead."
            )
        self._check_len(y)
        self._y = y
        self.y = y
        self._probabilities = False

    def _reduce(self, out, y, fitness, lo):
        losses.neg_mse(out, y, fitness, lo, self.n_threads)

    def __repr__(self) -> str:
        return f"Regression(n_samples={self.X.shape[0]}, batch_size={self.batch_size})"


def _check_labels(y: Any, n_classes: int, caller: str) -> np.ndarray:
    arr = np.asarray(y)
    if arr.ndim != 1:
        raise ValueError(
            f"The 'y' argument of {caller} must be a 1-D array of labels. Got shape "
            f"{arr.shape} instead."
        )
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
            raise ValueError(
                f"The 'y' argument of {caller} must hold integer class labels. Got "
                "non-integer values instead."
            )
    elif arr.dtype.kind not in "iub":
        raise TypeError(
            f"The 'y' argument of {caller} must hold integer class labels. Got dtype "
            f"{arr.dtype} instead."
        )
    arr = arr.astype(np.int64)
    if arr.size and (arr.min() < 0 or arr.max() >= n_classes):
        raise ValueError(
            f"The 'y' argument of {caller} must hold labels in [0, {n_classes - 1}] "
            f"(the network has {n_classes} outputs). Got labels in "
            f"[{arr.min()}, {arr.max()}] instead."
        )
    return np.ascontiguousarray(arr)


@dataclass(frozen=True)
class Report:
    """Classification report of one genome (see :func:`report`).

    Attributes
    ----------
    accuracy : float
    confusion : ndarray of int64, shape (K, K)
        ``confusion[i, j]``: samples of true class ``i`` predicted as ``j``.
    precision, recall, f1 : ndarray of float64, shape (K,)
        Per class; 0 where undefined (no prediction, or no sample), as
        scikit-learn's ``zero_division=0``.
    support : ndarray of int64, shape (K,)
    target_names : tuple of str
    digits : int
    """

    accuracy: float
    confusion: np.ndarray
    precision: np.ndarray
    recall: np.ndarray
    f1: np.ndarray
    support: np.ndarray
    target_names: tuple[str, ...]
    digits: int = 2

    def text(self) -> str:
        """The table, laid out like ``sklearn.metrics.classification_report``."""
        d = self.digits
        headers = ["precision", "recall", "f1-score", "support"]
        width = max(max(len(n) for n in self.target_names), len("weighted avg"), d)
        head_fmt = "{:>{width}s} " + " {:>9}" * len(headers)
        out = head_fmt.format("", *headers, width=width) + "\n\n"
        row_fmt = "{:>{width}s} " + " {:>9.{digits}f}" * 3 + " {:>9}\n"
        for i, name in enumerate(self.target_names):
            out += row_fmt.format(name, self.precision[i], self.recall[i], self.f1[i],
                                  int(self.support[i]), width=width, digits=d)
        out += "\n"
        total = int(self.support.sum())
        acc_fmt = ("{:>{width}s} " + " {:>9.{digits}}" * 2 + " {:>9.{digits}f}"
                   + " {:>9}\n")
        out += acc_fmt.format("accuracy", "", "", self.accuracy, total, width=width,
                              digits=d)
        # weights = support, exactly as sklearn (normalised weights round
        # differently, and the last digit could differ)
        for name, avg in (("macro avg", None), ("weighted avg", self.support)):
            vals = [np.average(v, weights=avg) for v in
                    (self.precision, self.recall, self.f1)]
            out += row_fmt.format(name, *vals, total, width=width, digits=d)
        out += "\nconfusion matrix (rows: true class, columns: predicted class)\n"
        cw = max(len(str(int(self.confusion.max()))), max(len(n) for n in
                                                          self.target_names))
        out += " " * (width + 1) + " ".join(f"{n:>{cw}s}" for n in self.target_names)
        out += "\n"
        for i, name in enumerate(self.target_names):
            out += f"{name:>{width}s} " + " ".join(
                f"{int(v):>{cw}d}" for v in self.confusion[i]) + "\n"
        return out

    def __str__(self) -> str:
        return self.text()


def report(net: Any, genome: Any, X: Any, y: Any, *,
           target_names: list[str] | None = None, digits: int = 2) -> Report:
    """Accuracy, confusion matrix and per-class precision, recall, F1, support.

    Parameters
    ----------
    net : Network
    genome : array-like of float32, shape (net.n_params,)
    X : array-like of shape (n_samples, net.n_in)
    y : array-like of int, shape (n_samples,)
        Labels in ``[0, net.n_out)``; every class ``0..n_out-1`` is reported.
    target_names : list of str, optional
        Display names of the classes; default ``"0"``, ``"1"``, ...
    digits : int, default=2

    Returns
    -------
    Report
        ``print(report(...))`` shows scikit-learn's ``classification_report``
        layout followed by the confusion matrix; the numbers are attributes.
    """
    caller = "report"
    genome = check_genome(genome, caller=caller, n_params=net.n_params)
    X = check_array(X, "X", caller=caller, ndim=2)
    if X.shape[1] != net.n_in:
        raise ValueError(
            f"The 'X' argument of {caller} must have {net.n_in} columns (the "
            f"network's n_in). Got shape {X.shape} instead."
        )
    labels = _check_labels(y, net.n_out, caller)
    if X.shape[0] != labels.shape[0]:
        raise ValueError(
            f"The 'X' and 'y' arguments of {caller} must have the same number of "
            f"samples. Got {X.shape[0]} and {labels.shape[0]} instead."
        )
    digits = check_int(digits, "digits", caller=caller, min_val=0)
    k = net.n_out
    names = tuple(str(i) for i in range(k)) if target_names is None else tuple(
        str(n) for n in target_names)
    if len(names) != k:
        raise ValueError(
            f"The 'target_names' argument of {caller} must have {k} names. Got "
            f"{len(names)} instead."
        )
    out = np.empty((1, X.shape[0], k), np.float32)
    _forward_unchecked(net, genome.reshape(1, -1), X, out, None)
    pred = np.argmax(out[0], axis=1)
    confusion = np.zeros((k, k), np.int64)
    np.add.at(confusion, (labels, pred), 1)
    tp = np.diag(confusion).astype(np.float64)
    predicted = confusion.sum(axis=0)
    support = confusion.sum(axis=1)
    precision = np.divide(tp, predicted, out=np.zeros(k), where=predicted > 0)
    recall = np.divide(tp, support, out=np.zeros(k), where=support > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros(k), where=denom > 0)
    accuracy = float(tp.sum() / max(labels.shape[0], 1))
    return Report(accuracy, confusion, precision, recall, f1, support, names, digits)
