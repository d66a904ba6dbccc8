"""Evaluators: how a population's fitness is computed, from one process to a cluster.

Every evaluator implements ``evaluate(fn, population) -> fitness`` (float64,
shape ``(P,)``) and ``evaluate_es(fn, spec)`` for an evolution strategy's
population given by its :class:`ESSpec`, plus ``close()`` and the
context-manager protocol; the algorithms' ``run(..., evaluator=...)`` calls
one of them once per generation.

============  ===============================================================
evaluator     ``fn`` receives
============  ===============================================================
Vectorized    the whole population ``(P, N)`` (the default; one call)
Serial        one genome ``(N,)`` at a time, returns a number
ProcessPool   one genome, or a chunk ``(k, N)`` with ``batched=True``, in
              worker processes; the population travels in shared memory
Ray           the same, in Ray tasks; the population is ``ray.put`` once
============  ===============================================================

With ``seeds_only=True`` (ProcessPool, Ray) an evolution strategy's
population does not travel: only its centre, scale and the key of its noise
stream do (:class:`ESSpec`, a few bytes plus ``8 * n_params``), and every
worker rebuilds its rows, bit-identical to ``es.ask()`` (Salimans et al.
2017).

Distributed evaluators give up after ``timeout`` seconds per generation
(:data:`DEFAULT_TIMEOUT`, 600 s, by default) with a ``TimeoutError``, and
cancel the outstanding chunks at the first failing one.

Stateful fitness objects (``tasks.Classification`` with ``batch_size``,
``envs.Rollout``, ``gym.Evaluate``) draw new minibatches or start states on
each call.  A distributed evaluator pickles ``fn`` once per generation; every
chunk is evaluated by a shallow copy of that snapshot, so all chunks of one
generation see the same minibatch, and then the evaluator calls
``fn.advance()`` in the parent (when ``fn`` has it) so that the next
generation moves on, exactly as the in-process call would.

Genomes handed to ``fn`` by ProcessPool are views of the shared segment and
by Ray private copies of the chunk; a fitness that writes into them changes
nothing in the parent's population.
"""

from __future__ import annotations

from ._common import DEFAULT_TIMEOUT
from ._local import Serial, Vectorized
from ._pool import ProcessPool
from ._ray import Ray
from ._seeds import ESSpec

__all__ = ["DEFAULT_TIMEOUT", "ESSpec", "ProcessPool", "Ray", "Serial", "Vectorized"]
