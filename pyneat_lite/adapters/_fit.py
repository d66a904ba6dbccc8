"""The search behind both ``fit_evolve`` functions, and its kernel path.

- :class:`Search` and :func:`evolve`: the search of
  ``deepevolution.fit_evolve`` (a :class:`pyneat_lite.GA` configured like it),
  its parameters checked once;
- :func:`fit_evolve`: the skeleton both adapters call -- the kernel path
  (a plain dense stack with a recognised loss: the whole population goes
  through pyneat_lite's forward kernels, the framework is never called during
  the search), else the framework path (each genome written into the model
  and scored by the framework), then the best genome written into the model;
- :class:`LossSpec`, :func:`prepare_targets`, :func:`network_data`,
  :func:`population_loss`: the framework's loss, recomputed for a whole
  population.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .._rng import resolve_seed
from .._validation import check_int, check_scalar
from ..network import Network
from ._common import (
    Framework,
    framework_order,
    from_stack,
    read_all,
    score_rows,
    write_all,
)

if TYPE_CHECKING:
    from ..algorithms import Result

__all__ = [
    "Search",
    "evolve",
    "fit_evolve",
    "check_fitness_func",
    "LossSpec",
    "prepare_targets",
    "network_data",
    "population_loss",
]


@dataclass(frozen=True)
class Search:
    """The settings of ``fit_evolve``'s search, checked once (:meth:`checked`)."""

    max_generations: int
    population: int
    top_k: int
    mutation_rate: float
    mutation_std: float
    init_std: float
    verbose: int
    seed: int

    @classmethod
    def checked(cls, caller: str, *, max_generations: Any, population: Any,
                top_k: Any, mutation_rate: Any, mutation_std: Any, init_std: Any,
                verbose: Any, seed: Any) -> Search:
        """The settings of ``caller``, each validated (ValueError/TypeError)."""
        population = check_int(population, "population", caller=caller, min_val=2)
        return cls(
            max_generations=check_int(max_generations, "max_generations",
                                      caller=caller, min_val=1),
            population=population,
            top_k=check_int(top_k, "top_k", caller=caller, min_val=1,
                            max_val=population - 1),
            mutation_rate=check_scalar(mutation_rate, "mutation_rate", caller=caller,
                                       min_val=0.0, max_val=1.0),
            mutation_std=check_scalar(mutation_std, "mutation_std", caller=caller,
                                      min_val=0.0),
            init_std=check_scalar(init_std, "init_std", caller=caller, min_val=0.0),
            verbose=check_int(verbose, "verbose", caller=caller, min_val=0,
                              max_val=2),
            seed=resolve_seed(seed, caller=caller),
        )


def evolve(start: np.ndarray, evaluate: Callable[[np.ndarray], np.ndarray],
           search: Search) -> Result:
    """The search behind ``fit_evolve`` (both frameworks).

    As in ``deepevolution.fit_evolve``: the first population is the model's
    current weights plus N(0, ``init_std``) noise (row 0 is the unchanged
    weights, so the result is never worse than the start); each generation
    keeps the ``top_k`` best unchanged (elitism) and fills the rest with
    uniform-crossover children of two of the ``top_k`` best, a fraction
    ``mutation_rate`` of whose genes gets N(0, ``mutation_std``) noise.
    ``verbose=1`` prints a line per generation, ``verbose=2`` shows a tqdm bar.
    """
    from .. import GA, GaussianMutation, Truncation, UniformCrossover

    s = search
    ga = GA(
        n_params=start.shape[0],
        pop_size=s.population,
        seed=s.seed,
        selection=Truncation(top_k=s.top_k),
        crossover=UniformCrossover(swap_prob=0.5),
        mutation=GaussianMutation(rate=s.mutation_rate, sigma=s.mutation_std),
        elitism=s.top_k,
        crossover_prob=1.0,
        mutation_prob=1.0,
        initial_population=start,
        init_sigma=s.init_std,
    )
    callbacks = [_print_generation(s.max_generations)] if s.verbose == 1 else []
    return ga.run(evaluate, generations=s.max_generations, progress=s.verbose == 2,
                  callbacks=callbacks)


def _print_generation(max_generations: int) -> Callable[[Any], None]:
    """Callback printing one line per generation (``verbose=1``)."""

    def callback(algo: Any) -> None:
        h = algo.history
        print(
            f"[Generation {int(h['generation'][-1]) + 1} / {max_generations}] "
            f"best: {h['max'][-1]:.6g}  mean: {h['mean'][-1]:.6g}  "
            f"std: {h['std'][-1]:.4g}"
        )

    return callback


def check_fitness_func(fitness_func: Any, caller: str) -> None:
    """Raise TypeError unless ``fitness_func`` is None or callable."""
    if fitness_func is not None and not callable(fitness_func):
        raise TypeError(
            f"The 'fitness_func' argument of {caller} must be callable. "
            f"Got {type(fitness_func).__name__} instead."
        )


def fit_evolve(
    fw: Framework,
    model: Any,
    x: Any,
    y: Any,
    search: Search,
    *,
    spec: LossSpec | None,
    objective: Callable[[], Callable[[Any], float]],
    context: Callable[[], AbstractContextManager[Any]] = contextlib.nullcontext,
    caller: str = "fit_evolve",
) -> Result:
    """The body of both ``fit_evolve`` functions; the best ends up in ``model``.

    ``spec`` describes the model's loss when the kernel path may serve (None:
    framework path); the kernel path is taken when ``model`` is a dense stack
    :func:`from_stack` accepts, and searches in the framework's parameter
    order (so that ``result.best`` matches ``genome_of``): one gather per
    generation gives the network layout the kernels read. Otherwise
    ``objective()`` gives ``model -> fitness`` and each genome is written into
    the model and scored, inside ``context()`` (e.g. evaluation mode).
    """
    params = fw.parameters(model, caller)
    start = read_all(fw, params)
    net = None
    if spec is not None:
        try:
            net, _ = from_stack(fw, model, caller)
        except (TypeError, ValueError):
            net = None
    if net is not None:
        assert spec is not None
        xa, ya = network_data(net, x, y, spec, caller, fw.to_numpy)
        perm = framework_order(fw, net)

        def evaluate(pop: np.ndarray) -> np.ndarray:
            rows = pop if perm is None else pop[:, perm]
            return -population_loss(net, rows, xa, ya, spec)

        result = evolve(start, evaluate, search)
    else:
        fn = objective()
        with context():
            result = evolve(start, lambda pop: score_rows(fw, model, params, pop, fn),
                            search)
    write_all(fw, params, result.best)
    return result


# ----------------------------------------------------------- the kernel path
@dataclass(frozen=True)
class LossSpec:
    """A framework loss, described well enough to recompute it in NumPy.

    Attributes
    ----------
    kind : str
        ``"mse"``, ``"mae"``, ``"categorical"`` (one-hot or probability
        targets), ``"sparse_categorical"`` (integer class targets),
        ``"binary"`` (binary cross-entropy) or ``"nll"`` (outputs are already
        log-probabilities, integer targets).
    from_logits : bool
        Cross-entropies only: the outputs are logits, not probabilities.
    clip_eps : float or None
        Keras convention: probabilities are clipped to ``[eps, 1 - eps]``
        before the logarithm (and categorical outputs renormalised first).
    log_floor : float or None
        PyTorch convention (``BCELoss``): each logarithm is clamped from below.
    """

    kind: str
    from_logits: bool = False
    clip_eps: float | None = None
    log_floor: float | None = None


def _log_softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def _chunk_loss_sum(out: np.ndarray, y: np.ndarray, spec: LossSpec) -> np.ndarray:
    """Sum over the samples of a chunk of the per-sample loss: (P,) float64.

    ``out`` is (P, b, k) float32 network output; ``y`` the matching targets,
    already shaped (b, k) (dense targets) or (b,) (integer targets).
    """
    o = out.astype(np.float64)
    if spec.kind == "mse":
        per = ((o - y) ** 2).mean(axis=-1)
    elif spec.kind == "mae":
        per = np.abs(o - y).mean(axis=-1)
    elif spec.kind in ("categorical", "sparse_categorical"):
        if spec.from_logits:
            logp = _log_softmax(o)
        else:
            p = o / o.sum(axis=-1, keepdims=True) if spec.clip_eps is not None else o
            if spec.clip_eps is not None:
                p = np.clip(p, spec.clip_eps, 1.0 - spec.clip_eps)
            with np.errstate(divide="ignore"):
                logp = np.log(p)
        if spec.kind == "categorical":
            per = -(y * logp).sum(axis=-1)
        else:
            per = -np.take_along_axis(logp, y[None, :, None], axis=-1)[..., 0]
    elif spec.kind == "nll":
        per = -np.take_along_axis(o, y[None, :, None], axis=-1)[..., 0]
    elif spec.kind == "binary":
        if spec.from_logits:
            # log(sigmoid(z)) = -softplus(-z), log(1 - sigmoid(z)) = -softplus(z)
            sp_pos = np.logaddexp(0.0, o)
            sp_neg = np.logaddexp(0.0, -o)
            per = (y * sp_neg + (1.0 - y) * sp_pos).mean(axis=-1)
        else:
            p = o
            if spec.clip_eps is not None:
                p = np.clip(p, spec.clip_eps, 1.0 - spec.clip_eps)
            with np.errstate(divide="ignore"):
                lp, lq = np.log(p), np.log1p(-p)
            if spec.log_floor is not None:
                lp = np.maximum(lp, spec.log_floor)
                lq = np.maximum(lq, spec.log_floor)
            per = -(y * lp + (1.0 - y) * lq).mean(axis=-1)
    else:  # pragma: no cover - LossSpec values are produced by the adapters
        raise ValueError(f"Unknown loss kind {spec.kind!r}.")
    return per.sum(axis=-1)


def prepare_targets(y: Any, spec: LossSpec, n_out: int, caller: str) -> np.ndarray:
    """Targets as the NumPy loss wants them: int64 (B,) or float64 (B, n_out)."""
    y = np.asarray(y)
    if spec.kind in ("sparse_categorical", "nll"):
        y = y.reshape(len(y), -1)
        if y.shape[1] != 1 or y.dtype.kind not in "iuf":
            raise ValueError(
                f"The 'y' argument of {caller} must hold one class index per "
                f"sample for this loss. Got an array of shape {np.shape(y)} instead."
            )
        yi = y[:, 0].astype(np.int64)
        if yi.size and (yi.min() < 0 or yi.max() >= n_out):
            raise ValueError(
                f"The 'y' argument of {caller} must hold class indices in "
                f"[0, {n_out}). Got values in [{yi.min()}, {yi.max()}] instead."
            )
        return yi
    yf = y.astype(np.float64).reshape(len(y), -1)
    if yf.shape[1] != n_out:
        raise ValueError(
            f"The 'y' argument of {caller} must have {n_out} values per sample "
            f"(the model's outputs). Got an array of shape {np.shape(y)} instead."
        )
    return yf


def population_loss(
    net: Network,
    population: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    spec: LossSpec,
    *,
    max_floats: int = 1 << 24,
) -> np.ndarray:
    """Mean loss over the samples of every genome of ``population``: (P,) float64.

    The samples are processed in chunks so that the largest activation
    buffer (P, chunk, widest layer) stays under ``max_floats`` float32 values.
    ``y`` must come from :func:`prepare_targets`.
    """
    P, B = population.shape[0], x.shape[0]
    chunk = max(1, min(B, max_floats // max(1, P * max(net.sizes))))
    total = np.zeros(P, dtype=np.float64)
    for start in range(0, B, chunk):
        out = net.forward(population, x[start : start + chunk])
        total += _chunk_loss_sum(out, y[start : start + chunk], spec)
    return total / B


def network_data(
    net: Network,
    x: Any,
    y: Any,
    spec: LossSpec,
    caller: str,
    to_numpy: Callable[[Any], np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    """``(x, y)`` as :func:`population_loss` wants them for ``net``.

    ``to_numpy`` turns the framework's tensors (or array-likes) into arrays;
    ``x`` becomes C-contiguous float32 ``(B, net.n_in)`` (each sample
    flattened) and ``y`` goes through :func:`prepare_targets`.
    """
    xa = to_numpy(x)
    xa = np.ascontiguousarray(xa.reshape(len(xa), -1), dtype=np.float32)
    if xa.shape[1] != net.n_in:
        raise ValueError(
            f"The 'x' argument of {caller} must have {net.n_in} features "
            f"per sample (the model's inputs). Got shape {tuple(np.shape(x))} "
            "instead."
        )
    return xa, prepare_targets(to_numpy(y), spec, net.n_out, caller)
