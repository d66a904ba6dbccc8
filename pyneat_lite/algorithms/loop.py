"""The run loop: ask, evaluate, tell until a stop criterion is met.

:func:`run` is :meth:`Algorithm.run` (bound as the method), written against
the public ask/tell interface only, so that it works the same for every
algorithm.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import numpy as np

from .._typing import Float32Array
from .._validation import check_int, check_scalar
from ..checkpoint import check_path
from .result import Result

if TYPE_CHECKING:
    from .base import Algorithm

__all__ = ["run", "DEFAULT_GENERATIONS"]

#: Generations run by :meth:`Algorithm.run` when no stop criterion is given.
DEFAULT_GENERATIONS = 100


def _generation_best(algorithm: Algorithm) -> float:
    """Best told fitness of the last generation (NaN when none is finite)."""
    f = algorithm._fitness  # NaN where non-finite; no copy
    return float(np.fmin.reduce(f) if algorithm.minimize else np.fmax.reduce(f))


class _TextBar:
    """What ``run(progress=True)`` shows without tqdm: the part of tqdm's
    interface the loops use, printing one line at most every ``interval``
    seconds to stderr (where tqdm draws its bar).  ``unit`` names a step
    ("generation", or "iteration" for the QD scheduler); the postfix fields
    are printed in order, ``now`` (this step's best) last, in parentheses."""

    def __init__(self, name: str, total: int | None, interval: float = 0.5,
                 unit: str = "generation") -> None:
        self.name, self.total, self.interval, self.unit = name, total, interval, unit
        self.n, self.shown = 0, 0
        self.fields: dict[str, str] = {}
        self.t0 = time.perf_counter()
        self.last = -float("inf")

    def update(self, n: int) -> None:
        self.n += n

    def set_postfix(self, refresh: bool = False, **fields: str) -> None:
        self.fields = fields
        now = time.perf_counter()
        if now - self.last >= self.interval:
            self.last = now
            self._print(now)

    def _print(self, now: float) -> None:
        self.shown = self.n
        of = f"/{self.total}" if self.total is not None else ""
        fields = dict(self.fields)
        step = fields.pop("now", None)
        shown = "".join(f"  {k} {v}" for k, v in fields.items())
        where = f"this {self.unit} {step}, " if step is not None else ""
        print(f"{self.name}: {self.unit} {self.n}{of}{shown}  "
              f"({where}{now - self.t0:.1f} s)", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.n != self.shown:  # the final state, once
            self._print(time.perf_counter())


def _check_stops(caller: str, generations: Any, target: Any, time_limit: Any,
                 patience: Any, callbacks: Any, checkpoint_every: Any,
                 checkpoint_path: Any) -> tuple[Any, ...]:
    """Validate the stop criteria, callbacks and checkpointing of a run loop
    (``run`` here and ``qd.Scheduler.run``); ``generations`` defaults to
    :data:`DEFAULT_GENERATIONS` when no criterion is given."""
    if generations is not None:
        generations = check_int(generations, "generations", caller=caller, min_val=1)
    if target is not None:
        target = check_scalar(target, "target", caller=caller)
    if time_limit is not None:
        time_limit = check_scalar(
            time_limit, "time_limit", caller=caller, min_val=0.0, include_min=False
        )
    if patience is not None:
        patience = check_int(patience, "patience", caller=caller, min_val=1)
    if callable(callbacks) or not hasattr(callbacks, "__iter__"):
        raise TypeError(
            f"The 'callbacks' argument of {caller} must be a list of callables "
            f"(callbacks=[fn] for one). Got {type(callbacks).__name__} instead."
        )
    callbacks = tuple(callbacks)
    for cb in callbacks:
        if not callable(cb):
            raise TypeError(
                f"The 'callbacks' argument of {caller} must hold callables. "
                f"Got {type(cb).__name__} instead."
            )
    if checkpoint_every is not None:
        checkpoint_every = check_int(
            checkpoint_every, "checkpoint_every", caller=caller, min_val=1
        )
        if checkpoint_path is None:
            raise ValueError(
                f"The 'checkpoint_path' argument of {caller} is required with "
                "checkpoint_every. Got None instead."
            )
        # a bad path fails now, not after the first generations
        checkpoint_path = check_path(checkpoint_path, name="checkpoint_path",
                                     caller=caller, probe=True)
    elif checkpoint_path is not None:
        raise ValueError(
            f"The 'checkpoint_every' argument of {caller} is required with "
            f"checkpoint_path. Got None instead."
        )
    if all(c is None for c in (generations, target, time_limit, patience)):
        generations = DEFAULT_GENERATIONS

    return (generations, target, time_limit, patience, callbacks,
            checkpoint_every, checkpoint_path)


def run(
    algorithm: Algorithm,
    fitness: Callable[[Float32Array], Any],
    generations: int | None = None,
    target: float | None = None,
    time_limit: float | None = None,
    patience: int | None = None,
    callbacks: Iterable[Callable[[Algorithm], Any]] = (),
    progress: bool = False,
    evaluator: Any = None,
    checkpoint_every: int | None = None,
    checkpoint_path: Any = None,
) -> Result:
    """Ask, evaluate and tell until a stop criterion is met.

    Parameters
    ----------
    fitness : callable
        ``fitness(population) -> (pop_size,)`` array of real numbers;
        ``population`` is the float32 ``(pop_size, n_params)`` array of
        :meth:`ask`; a fitness with a true ``accepts_structured`` attribute
        (``Classification``, ``Regression``) gets ``ask_structured()``
        instead (an ES's low-rank noise factors, the same genomes).
    generations : int, optional
        Generations to run in this call.  When no stop criterion at all
        is given, :data:`DEFAULT_GENERATIONS` (100) are run.
    target : float, optional
        Stop once the best fitness reaches it (``>=``; ``<=`` when
        minimising).
    time_limit : float, optional
        Seconds; checked before each generation, so a generation that
        started is finished.
    patience : int, optional
        Stop after this many generations without improvement of the best
        fitness.
    callbacks : iterable of callables, default=()
        Each is called as ``callback(algorithm)`` after every generation
        (when :attr:`generation`, :attr:`best_fitness`, :attr:`fitness`
        and :attr:`history` describe the generation just told); a truthy
        return value stops the run with reason "callback".
    progress : bool, default=False
        Show a tqdm progress bar with the best fitness; without tqdm, print a
        plain line (generation, best fitness, seconds) to stderr at most
        every half second, and one at the end.
    evaluator : object, optional
        Anything with ``evaluate(fitness, population) -> (pop_size,)``,
        e.g. :class:`pyneat_lite.ProcessPool`; None calls
        ``fitness(population)`` directly.  With an evolution strategy and an
        evaluator whose ``seeds_only`` is true (``pn.Ray(seeds_only=True)``),
        ``evaluate_es(fitness, spec)`` is called instead: only the centre,
        the scale and the noise key travel, and the workers rebuild the
        rows (the same numbers).
    checkpoint_every : int, optional
        Save a checkpoint to ``checkpoint_path`` every this many
        generations (and when the run stops).  A fitness with
        ``get_state``/``set_state`` (``envs.Rollout``, ``gym.Evaluate``)
        has its state saved with it (and with ``save`` after the run): the
        first ``run`` after ``pn.load`` restores it into
        its fitness, so a resumed run uses the start states and normaliser
        statistics of an uninterrupted one.
    checkpoint_path : str or path-like, optional
        Where to save (required with ``checkpoint_every``).

    Returns
    -------
    Result
        Ctrl-C (KeyboardInterrupt) during the run returns the result so
        far with ``stop_reason="interrupted"``; the algorithm stays usable
        (a half-done generation is re-asked).  Any other exception from
        ``fitness`` propagates, and the algorithm stays consistent.

    Examples
    --------
    >>> es = pn.SNES(n_params=5, seed=0)
    >>> r = es.run(lambda pop: -np.sum(pop ** 2, axis=1), generations=200,
    ...            target=-1e-6)
    >>> r.stop_reason, bool(r.best_fitness >= -1e-6)
    ('target', True)
    >>> r = es.run(lambda pop: -np.sum(pop ** 2, axis=1), patience=5)
    >>> r.stop_reason
    'patience'
    """
    caller = f"{type(algorithm).__name__}.run"
    if not callable(fitness):
        raise TypeError(
            f"The 'fitness' argument of {caller} must be callable. "
            f"Got {type(fitness).__name__} instead."
        )
    (generations, target, time_limit, patience, callbacks, checkpoint_every,
     checkpoint_path) = _check_stops(caller, generations, target, time_limit,
                                     patience, callbacks, checkpoint_every,
                                     checkpoint_path)
    if isinstance(evaluator, type):
        raise TypeError(
            f"The 'evaluator' argument of {caller} must be an evaluator instance "
            f"such as {evaluator.__name__}(). Got the class {evaluator.__name__} "
            "instead."
        )
    if evaluator is not None and not callable(getattr(evaluator, "evaluate", None)):
        raise TypeError(
            f"The 'evaluator' argument of {caller} must have an "
            f"evaluate(fitness, population) method. Got {type(evaluator).__name__} "
            "instead."
        )

    # a stateful fitness (envs.Rollout, gym.Evaluate: start states and
    # normaliser): a run resumed from a checkpoint continues with the state
    # the fitness had when it was saved, and checkpoints save it
    stateful = (callable(getattr(fitness, "get_state", None))
                and callable(getattr(fitness, "set_state", None)))
    resume, algorithm._fitness_resume = algorithm._fitness_resume, None
    if stateful and resume is not None:
        fitness.set_state(dict(resume))  # type: ignore[attr-defined]

    def save() -> None:
        if stateful:
            algorithm._fitness_state = fitness.get_state()  # type: ignore[attr-defined]
        algorithm.save(checkpoint_path)

    bind = getattr(algorithm, "_bind_fitness", None)
    if bind is not None:  # an algorithm that keeps state of its fitness (ARS V2)
        bind(fitness)
    structured = (getattr(fitness, "accepts_structured", False)
                  and hasattr(algorithm, "ask_structured"))
    bar = None
    if progress:
        try:
            from tqdm.auto import tqdm
        except ImportError:  # tqdm is optional: plain lines instead of a bar
            bar = _TextBar(type(algorithm).__name__, generations)
        else:
            bar = tqdm(total=generations, unit="gen", desc=type(algorithm).__name__)

    minimize = algorithm.minimize
    t0 = time.perf_counter()
    start_gen = algorithm.generation
    best = algorithm.best_fitness  # NaN before any tell

    def improved(value: float, than: float) -> bool:
        if than != than:  # NaN: nothing yet
            return value == value
        return value < than if minimize else value > than

    last_improvement = start_gen
    reason: str | None = None
    try:
        while True:
            done = algorithm.generation - start_gen
            if generations is not None and done >= generations:
                reason = "generations"
                break
            if time_limit is not None and time.perf_counter() - t0 >= time_limit:
                reason = "time_limit"
                break
            # a fitness that scores structured populations (the supervised
            # tasks) gets an ES's noise factors instead of its genomes
            pop = (algorithm.ask_structured()
                   if evaluator is None and structured else algorithm.ask())
            spec = (algorithm._seeds_only_spec()
                    if getattr(evaluator, "seeds_only", False) else None)
            if evaluator is None:
                algorithm.tell(fitness(pop))
            elif spec is not None:  # an ES: only its centre and seed travel
                algorithm.tell(evaluator.evaluate_es(fitness, spec))
            else:
                algorithm.tell(evaluator.evaluate(fitness, pop))
            best_now = algorithm.best_fitness
            if bar is not None:
                bar.update(1)
                # the best so far, and this generation's best: with a fitness
                # that changes (new episodes, a GAN's discriminator) the
                # first can stay at an early lucky value
                bar.set_postfix(best=f"{best_now:.6g}",
                                now=f"{_generation_best(algorithm):.6g}",
                                refresh=False)
            if checkpoint_every is not None and (done + 1) % checkpoint_every == 0:
                save()
            if improved(best_now, best):
                best = best_now
                last_improvement = algorithm.generation
            if target is not None and (
                best_now <= target if minimize else best_now >= target
            ):
                reason = "target"  # (NaN, before any finite fitness, compares False)
            if (
                reason is None
                and patience is not None
                and algorithm.generation - last_improvement >= patience
            ):
                reason = "patience"
            for cb in callbacks:
                if cb(algorithm):
                    reason = reason or "callback"
            if reason is not None:
                break
    except KeyboardInterrupt:
        reason = "interrupted"
    finally:
        if bar is not None:
            bar.close()
    if stateful:  # for a save() after the run, too
        algorithm._fitness_state = fitness.get_state()  # type: ignore[attr-defined]
    if checkpoint_every is not None and algorithm.generation != start_gen:
        save()
    return Result(
        best=algorithm.best,
        best_fitness=algorithm.best_fitness,
        stop_reason=reason,
        generation=algorithm.generation,
        generations_run=algorithm.generation - start_gen,
        evaluations=algorithm.evaluations,
        elapsed=time.perf_counter() - t0,
        hall_of_fame=algorithm.hall_of_fame,
        history=algorithm.history,
        mean=getattr(algorithm, "mean", None),
        minimize=minimize,
        pareto_front=getattr(algorithm, "pareto_front", None),
    )
