"""The search behind both ``fit_evolve`` functions, and its kernel path.

- :class:`Search` and :func:`evolve`: the search of
  ``deepevolution.fit_evolve`` (a :class:`pyneat_lite.GA` configured like it),
  its parameters checked once;
- :func:`fit_evolve`: the skeleton both adapters call -- the kernel path
  (a plain dense stack with a recognised loss: the whole population goes
  through pyneat_lite's forward kernels, the framework is never called during
  the search), else the framework path (each genome written into the model
  and scored by the framework), then the best genome written into the model;
- :class:`LossSpec`, :func:`loss_task`, :func:`population_loss`: the
  framework's loss, recomputed for a whole population by a supervised task of
  :mod:`pyneat_lite.tasks` (its chunked forward passes and loss kernels).
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
    "loss_task",
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
        task = loss_task(net, network_data(net, x, caller, fw.to_numpy),
                         fw.to_numpy(y), spec, caller)
        perm = framework_order(fw, net)

        def evaluate(pop: np.ndarray) -> np.ndarray:
            return task.evaluate(pop if perm is None else pop[:, perm])

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
    """A framework loss, described as the tasks' ``TargetLoss`` computes it.

    The fields are the parameters of
    :class:`pyneat_lite.tasks._target_loss.TargetLoss`.

    Attributes
    ----------
    loss : {"mse", "mae", "cross_entropy", "binary_cross_entropy"}
    outputs : {"probabilities", "logits", "log_probabilities"}
        How a cross-entropy reads the model's outputs.
    labels : bool
        The targets are class indices (sparse categorical, ``CrossEntropyLoss``).
    eps : float
        Keras convention: probabilities clipped to ``[eps, 1 - eps]``
        (categorical ones renormalised first); 0 for none.
    log_floor : float
        PyTorch convention (``BCELoss``): each logarithm clamped from below;
        -inf for none.
    """

    loss: str
    outputs: str = "probabilities"
    labels: bool = False
    eps: float = 0.0
    log_floor: float = -np.inf


def loss_task(net: Network, x: np.ndarray, y: Any, spec: LossSpec,
              caller: str) -> Any:
    """The supervised task scoring a population by ``-loss`` on ``(x, y)``.

    ``x`` comes from :func:`network_data`; ``y`` (any array-like) is checked
    against ``spec`` there, with messages naming ``caller``.
    """
    from ..tasks._target_loss import TargetLoss

    return TargetLoss(net, x, y, spec.loss, outputs=spec.outputs,
                      labels=spec.labels, eps=spec.eps, log_floor=spec.log_floor,
                      caller=caller)


def population_loss(net: Network, population: np.ndarray, x: np.ndarray, y: Any,
                    spec: LossSpec) -> np.ndarray:
    """Mean loss over the samples of every genome of ``population``: (P,) float64."""
    return -loss_task(net, x, y, spec, "population_loss").evaluate(population)


def network_data(net: Network, x: Any, caller: str,
                 to_numpy: Callable[[Any], np.ndarray]) -> np.ndarray:
    """``x`` as the network wants it: C-contiguous float32 ``(B, net.n_in)``.

    ``to_numpy`` turns the framework's tensors (or array-likes) into arrays;
    each sample is flattened.
    """
    xa = to_numpy(x)
    xa = np.ascontiguousarray(xa.reshape(len(xa), -1), dtype=np.float32)
    if xa.shape[1] != net.n_in:
        raise ValueError(
            f"The 'x' argument of {caller} must have {net.n_in} features "
            f"per sample (the model's inputs). Got shape {tuple(np.shape(x))} "
            "instead."
        )
    return xa
