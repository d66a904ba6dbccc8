"""The contract every operator keeps, checked on every class of the public
``OPERATORS`` registry: a new operator gets these tests by being registered.

For each operator, alone (``select`` / ``cross`` and ``mate`` / ``mutate``)
and inside the fused ``next_generation``: output shape, dtype and range; the
same seed gives the same result; another seed or generation gives another
result exactly when the operator is random; 1, 2 and 3 threads give the same
result and the kernel's team report shows that the threads really ran; the
config round trip rebuilds an operator with the same output; bad input
raises a TypeError/ValueError naming the argument, before any kernel runs.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

import pyneat_lite as pn
from pyneat_lite import _operators as kernels
from pyneat_lite import operators as ops
from pyneat_lite._threads import PARALLEL_MIN_WORK

N = 36  # genes: a 6 x 6 image, or the 3-3-6 network below
NET = pn.Network([3, 3, 6], ["tanh", "linear"])
#: constructor arguments of the operators that need some (no default)
REQUIRED = {
    "NeuronCrossover": {"network": NET},
    "PatchCrossover": {"shape": (6, 6)},
    "BlockMutation": {"shape": (6, 6)},
}
NAMES = sorted(ops.OPERATORS)
P = 50  # parents
N_ROWS = 2048  # rows of a crossover / mutation / generation: above the
N_DRAWS = 70_000  # parallel threshold; selection draws (work n * k)

RNG = np.random.default_rng(7)
A = RNG.standard_normal((N_ROWS, N)).astype(np.float32)
B = RNG.standard_normal((N_ROWS, N)).astype(np.float32)
PARENTS = RNG.uniform(-1, 1, (P, N)).astype(np.float32)
FITNESS = RNG.random(P) + 0.1  # positive: fitness-proportional schemes too
FITNESS[[3, 17]] = np.nan


def make(name: str) -> ops.Selection | ops.Crossover | ops.Mutation:
    return ops.OPERATORS[name](**REQUIRED.get(name, {}))


def team(n_threads: int) -> list[int]:
    """Team report of a kernel run on n_threads (serial build: [1])."""
    return [n_threads] * n_threads if kernels.openmp_enabled() else [1]


def direct(op, *, seed=0, generation=0, n_threads=None):
    """The operator's own method on the shared test arrays."""
    kw = dict(seed=seed, generation=generation, n_threads=n_threads)
    if isinstance(op, ops.Selection):
        return op.select(FITNESS, N_DRAWS, **kw)
    if isinstance(op, ops.Crossover):
        return op.cross(A, B, **kw)
    return op.mutate(A, **kw)


def fused(op, *, seed=0, generation=0, n_threads=None):
    """The operator in its role in next_generation; (out, pairs)."""
    roles = dict(selection=ops.Tournament(3), crossover=None, mutation=None)
    if isinstance(op, ops.Selection):
        roles.update(selection=op, crossover=ops.UniformCrossover(),
                     mutation=ops.GaussianMutation(0.2, 0.1))
    elif isinstance(op, ops.Crossover):
        roles["crossover"] = op
    else:
        roles["mutation"] = op
    out = np.empty((N_ROWS, N), np.float32)
    pairs = ops.next_generation(PARENTS, FITNESS, out, elitism=2, seed=seed,
                                generation=generation, n_threads=n_threads,
                                crossover_prob=0.9, mutation_prob=0.9, **roles)
    return out, pairs


def parallel_alone(op) -> bool:
    # SUS draws all its pointers from one stream: serial by design
    return not isinstance(op, ops.SUS)


# ---------------------------------------------------------------------------
# the registry itself
# ---------------------------------------------------------------------------


def test_registry_lists_every_operator_class():
    bases = (ops.Selection, ops.Crossover, ops.Mutation)
    public = {name: getattr(ops, name) for name in ops.__all__}
    classes = {name: obj for name, obj in public.items()
               if isinstance(obj, type) and issubclass(obj, bases)
               and obj not in bases}
    assert classes == ops.OPERATORS
    assert len(ops.OPERATORS) == 23
    for name, cls in ops.OPERATORS.items():
        assert getattr(pn, name) is cls  # also at the top level
    # abstract bases cannot be built
    for base in bases:
        with pytest.raises(TypeError):
            base()


# ---------------------------------------------------------------------------
# per operator
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_output_shape_dtype_and_range(name):
    op = make(name)
    got = direct(op)
    assert got.flags.c_contiguous
    if isinstance(op, ops.Selection):
        assert got.shape == (N_DRAWS,) and got.dtype == np.int64
        assert got.min() >= 0 and got.max() < P
    else:
        assert got.shape == (N_ROWS, N) and got.dtype == np.float32
        assert np.isfinite(got).all()
    if isinstance(op, ops.Crossover):
        kids = op.mate(A, seed=0)
        assert kids.shape == A.shape and kids.dtype == np.float32
    out, pairs = fused(op)
    assert pairs.shape == (N_ROWS, 2) and pairs.dtype == np.int64
    assert pairs.min() >= 0 and pairs.max() < P
    assert np.isfinite(out).all()
    # the two elites: the best finite parents, copied unchanged
    best = np.argsort(-np.nan_to_num(FITNESS, nan=-np.inf), kind="stable")[:2]
    np.testing.assert_array_equal(pairs[:2], np.stack([best, best], 1))
    np.testing.assert_array_equal(out[:2], PARENTS[best])


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_same_result(name):
    op = make(name)
    np.testing.assert_array_equal(direct(op, seed=5, generation=2),
                                  direct(op, seed=5, generation=2))
    (o1, p1), (o2, p2) = fused(op, seed=5, generation=2), fused(op, seed=5,
                                                                generation=2)
    np.testing.assert_array_equal(o1, o2)
    np.testing.assert_array_equal(p1, p2)


@pytest.mark.parametrize("name", NAMES)
def test_other_seed_differs_exactly_when_random(name):
    op = make(name)
    base = direct(op, seed=5, generation=2)
    for other in (direct(op, seed=6, generation=2),
                  direct(op, seed=5, generation=3)):
        assert np.array_equal(other, base) is (not op.random)
    # in a generation, selection is random whatever the operator
    assert not np.array_equal(fused(op, seed=5)[1], fused(op, seed=6)[1])


@pytest.mark.parametrize("name", NAMES)
def test_thread_count_invariance_with_threads_really_running(name):
    op = make(name)
    assert N_ROWS * N >= PARALLEL_MIN_WORK
    alone, gen = [], []
    for t in (1, 2, 3):
        alone.append(direct(op, seed=1, n_threads=t))
        assert kernels._last_team() == (team(t) if parallel_alone(op) else [1])
        gen.append(fused(op, seed=1, n_threads=t))
        assert kernels._last_team() == team(t)
    for t in (1, 2):
        np.testing.assert_array_equal(alone[t], alone[0])
        np.testing.assert_array_equal(gen[t][0], gen[0][0])
        np.testing.assert_array_equal(gen[t][1], gen[0][1])


@pytest.mark.parametrize("name", NAMES)
def test_config_round_trip(name):
    op = make(name)
    cfg = json.loads(json.dumps(op.to_config()))
    assert cfg["type"] == name
    back = ops.operator_from_config(cfg)
    assert type(back) is type(op) and back == op and repr(back) == repr(op)
    assert hash(back) == hash(op)
    np.testing.assert_array_equal(direct(back, seed=3), direct(op, seed=3))


@pytest.mark.parametrize("name", NAMES)
def test_bad_parameters_name_the_parameter(name):
    cfg = make(name).to_config()
    cls = ops.OPERATORS[cfg.pop("type")]
    for param in cfg:
        bad = dict(cfg, **{param: object()})
        with pytest.raises((TypeError, ValueError), match=f"'{param}'"):
            cls(**bad)


@pytest.mark.parametrize("name", NAMES)
def test_bad_call_arguments_name_the_argument(name):
    op = make(name)
    method = {ops.Selection: "select", ops.Crossover: "cross",
              ops.Mutation: "mutate"}
    caller = next(f"{name}.{m}" for base, m in method.items()
                  if isinstance(op, base))
    with pytest.raises(ValueError, match="'n_threads'"):
        direct(op, n_threads=0)
    with pytest.raises(ValueError, match="'seed' parameter of " + caller):
        direct(op, seed=-1)
    with pytest.raises(ValueError, match="'generation' parameter of " + caller):
        direct(op, generation=-1)
    kw = dict(seed=0)
    if isinstance(op, ops.Selection):
        # a multi-objective selection takes (P, n_obj): 3-D is its bad shape
        shape = (5, 2, 5) if getattr(op, "multi_objective", False) else (5, 10)
        with pytest.raises(ValueError, match=f"'fitness' argument of {caller}"):
            op.select(FITNESS.reshape(shape), 3, **kw)
        with pytest.raises(ValueError, match=f"'n' parameter of {caller}"):
            op.select(FITNESS, -1, **kw)
    elif isinstance(op, ops.Crossover):
        with pytest.raises(ValueError, match=f"'parents_b' argument of {caller}"):
            op.cross(A, B[:, :-1], **kw)
        with pytest.raises(TypeError, match=f"'out' argument of {caller}"):
            op.cross(A, B, out=np.empty(A.shape), **kw)
        with pytest.raises(ValueError, match=f"'out' argument of {caller}.*share"):
            op.cross(A, B, out=A, **kw)
    else:
        bad = A[:4].copy()
        bad[1, 2] = np.nan
        with pytest.raises(ValueError,
                           match=f"'population' argument of {caller} must be "
                                 "finite"):
            op.mutate(bad, **kw)
        with pytest.raises(ValueError, match=f"'out' argument of {caller}"):
            op.mutate(A, out=np.empty((3, N), np.float32), **kw)
    # and in a generation: the role's argument is named
    role = next(r for base, r in [(ops.Selection, "selection"),
                                  (ops.Crossover, "crossover"),
                                  (ops.Mutation, "mutation")]
                if isinstance(op, base))
    with pytest.raises(TypeError, match=f"'{role}' argument of next_generation"):
        ops.next_generation(PARENTS, FITNESS, np.empty_like(PARENTS),
                            **{"selection": ops.Tournament(3), role: name},
                            seed=0, generation=0)
