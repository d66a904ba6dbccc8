"""Minus a deep-learning framework's mean loss: the adapters' kernel path.

The ``fit_evolve`` functions of :mod:`pyneat_lite.adapters` describe the loss
a PyTorch or Keras model was given (:class:`TargetLoss`'s parameters) and
score a whole population with it through the same chunked forward passes as
:class:`~pyneat_lite.tasks.supervised.Classification` and the loss kernels of
:mod:`pyneat_lite._kernels.losses`, never calling the framework. Private:
the public tasks are in :mod:`pyneat_lite.tasks.supervised`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._kernels import losses
from .supervised import _CHUNK_VALUES, _check_labels, _Supervised

__all__ = ["TargetLoss"]

_TARGET_LOSSES = {"mae": losses.MAE, "cross_entropy": losses.CROSS_ENTROPY,
                  "binary_cross_entropy": losses.BINARY_CROSS_ENTROPY}
_OUTPUTS = {"probabilities": losses.PROBABILITIES, "logits": losses.LOGITS,
            "log_probabilities": losses.LOG_PROBABILITIES}


class TargetLoss(_Supervised):
    """Minus the mean of a framework loss over the data: ``population -> (P,)``.

    Parameters
    ----------
    net, X, n_threads
        As in :class:`Classification`.
    y : array-like
        With ``labels``: class indices in ``[0, net.n_out)``, shape (n,) or
        (n, 1); otherwise (n, net.n_out) float targets (one-hot or
        probabilities; 0/1 or probabilities for a binary cross-entropy).
    loss : {"mse", "mae", "cross_entropy", "binary_cross_entropy"}
        ``"mse"``/``"mae"``: mean over samples and outputs; cross-entropies:
        mean over samples (binary: of the mean over outputs).
    outputs : {"probabilities", "logits", "log_probabilities"}
        How a cross-entropy reads the outputs; probabilities of
        ``"cross_entropy"`` are renormalised to sum 1 first (Keras).
    labels : bool, default=False
        ``y`` holds class indices (``"cross_entropy"`` only).
    eps : float, default=0.0
        Probabilities are clipped to ``[eps, 1 - eps]`` (Keras's epsilon).
    log_floor : float, default=-inf
        Binary cross-entropy: each logarithm is clamped from below (-100 in
        PyTorch's ``BCELoss``).
    caller : str
        The public function named in error messages.
    """

    def __init__(self, net: Any, X: Any, y: Any, loss: str, *,
                 outputs: str = "probabilities", labels: bool = False,
                 eps: float = 0.0, log_floor: float = -np.inf,
                 caller: str = "TargetLoss", n_threads: int | None = None) -> None:
        self._caller = caller
        super().__init__(net, X, None, 0, None, n_threads)
        if loss not in ("mse", *_TARGET_LOSSES) or outputs not in _OUTPUTS:
            raise ValueError(
                f"{caller}: unknown loss {loss!r} or outputs {outputs!r}."
            )
        if labels and loss != "cross_entropy":
            raise ValueError(f"{caller}: class labels need loss='cross_entropy'.")
        self.loss, self.outputs = loss, outputs
        self.eps, self.log_floor = float(eps), float(log_floor)
        y, n_out = np.asarray(y), net.n_out
        if labels:  # one-hot: one kernel for labels and dense targets
            index = _check_labels(y[:, 0] if y.ndim == 2 and y.shape[1] == 1 else y,
                                  n_out, caller)
            targets = np.zeros((len(index), n_out))
            targets[np.arange(len(index)), index] = 1.0
        else:
            targets = y.astype(np.float64).reshape(len(y), -1)
            if targets.shape[1] != n_out:
                raise ValueError(
                    f"The 'y' argument of {caller} must have {n_out} values per "
                    f"sample (the model's outputs). Got shape {y.shape} instead."
                )
        self._check_len(targets)
        self._y = np.ascontiguousarray(targets)
        self._probabilities = False  # the structured kernels' mse reads outputs

    def _evaluate_structured(self, pop: Any, generation: int) -> np.ndarray:
        """A structured ES population: ``"mse"`` by the structured kernels
        (without the genomes); the other losses, which they do not compute,
        on the genomes, written a bounded chunk of rows at a time."""
        if self.loss == "mse":
            return super()._evaluate_structured(pop, generation)
        n_pop = pop.shape[0]
        per = max(1, _CHUNK_VALUES // pop.shape[1])
        fitness = np.empty(n_pop)
        for lo in range(0, n_pop, per):
            rows = np.ascontiguousarray(pop[lo:min(n_pop, lo + per)])
            fitness[lo:lo + rows.shape[0]] = self._evaluate(rows, generation)
        return fitness

    def _reduce(self, out, y, fitness, lo):
        if self.loss == "mse":
            losses.neg_mse(out, y, fitness, lo, self.n_threads)
        else:
            losses.neg_target_loss(out, y, _TARGET_LOSSES[self.loss],
                                   _OUTPUTS[self.outputs], self.eps, self.log_floor,
                                   fitness, lo, self.n_threads)
