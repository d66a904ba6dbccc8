"""Crossover: uniform, one/two/k-point, blend, BLX-alpha, SBX, neuron-wise
and 2-D patch crossover.

``cross(a, b)`` returns one child per row pair.  Its sibling -- the second
child of the classic two-children operators -- is ``cross(b, a)`` with the
same seed and generation: both use the same random draws with the parents'
roles swapped.  For blend, BLX and unbounded SBX, ``cross(a, b) + cross(b, a)
== a + b`` (up to float32 rounding).  :meth:`Crossover.mate` makes both
children of consecutive row pairs at once.

Eshelman & Schaffer (1993) for BLX-alpha; Deb & Agrawal (1995) for SBX.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any

import numpy as np

from .. import _operators as _k
from .._rng import STREAMS
from .._typing import Float32Array, SeedLike
from .._validation import check_int, check_population, check_scalar
from ._base import (
    EMPTY_I64,
    Operator,
    check_bounds,
    check_image_genes,
    check_shape2,
    inv_lambda,
    out_like,
    prm,
    register,
    seeds_for,
    threads_for,
)

__all__ = [
    "BLXCrossover",
    "BlendCrossover",
    "Crossover",
    "KPointCrossover",
    "NeuronCrossover",
    "OnePointCrossover",
    "PatchCrossover",
    "SBXCrossover",
    "TwoPointCrossover",
    "UniformCrossover",
]

_CX = _k.CrossoverCode
MAX_CUTS = int(_k.MAX_CUTS)


def _check_pair(
    a: Any, b: Any, caller: str
) -> tuple[np.ndarray, np.ndarray]:
    a = check_population(a, "parents_a", caller=caller)
    b = check_population(b, "parents_b", caller=caller)
    if a.shape != b.shape:
        raise ValueError(
            f"The 'parents_b' argument of {caller} must have the shape of "
            f"'parents_a' {a.shape}. Got shape {b.shape} instead."
        )
    return a, b


class Crossover(Operator):
    """Base class of the crossover operators (one child per parent pair)."""

    @abstractmethod
    def _params(
        self, n_params: int, caller: str
    ) -> tuple[int, np.ndarray, np.ndarray]:
        """Kernel parameters ``(code, prm, iprm)`` for genomes of
        ``n_params`` genes; raises if the operator cannot cross them."""

    def cross(
        self,
        parents_a: Any,
        parents_b: Any,
        *,
        seed: SeedLike,
        generation: int = 0,
        out: Float32Array | None = None,
        n_threads: int | None = None,
    ) -> Float32Array:
        """Cross row ``i`` of ``parents_a`` with row ``i`` of ``parents_b``.

        Parameters
        ----------
        parents_a, parents_b : array-like of shape (n, N)
            First and second parent of each pair (float32, finite).
        seed, generation : int
            Randomness key; pair ``i`` uses row ``i`` of the ``crossover``
            stream.  ``cross(parents_b, parents_a)`` with the same key gives
            the siblings.
        out : float32 array of shape (n, N), optional
            Output buffer (must not share memory with the parents).
        n_threads : int, optional
            OpenMP threads (``None``: all cores).

        Returns
        -------
        float32 array of shape (n, N)
            One child per pair.
        """
        caller = f"{type(self).__name__}.cross"
        a, b = _check_pair(parents_a, parents_b, caller)
        code, p, ip = self._params(a.shape[1], caller)
        out = out_like(out, a.shape, caller, (a, b))
        seeds = seeds_for(seed, generation, STREAMS["crossover"], a.shape[0], caller)
        _k._cross(a, b, out, seeds, code, p, ip, threads_for(n_threads, *a.shape))
        return out

    def mate(
        self,
        population: Any,
        *,
        seed: SeedLike,
        generation: int = 0,
        out: Float32Array | None = None,
        n_threads: int | None = None,
    ) -> Float32Array:
        """Cross consecutive rows pairwise, two children per pair (DEAP style).

        Rows ``2i`` and ``2i + 1`` are the parents of pair ``i``; row ``2i``
        of the result is ``cross(a, b)`` and row ``2i + 1`` its sibling
        ``cross(b, a)``, both with the same draws (stream ``crossover``, row
        ``i``), so that e.g. blend children keep the parents' mean.

        Parameters
        ----------
        population : array-like of shape (2m, N)
            An even number of rows.
        seed, generation : int
            Randomness key.
        out : float32 array of shape (2m, N), optional
            Must not share memory with ``population``.
        n_threads : int, optional

        Returns
        -------
        float32 array of shape (2m, N)
        """
        caller = f"{type(self).__name__}.mate"
        pop = check_population(population, "population", caller=caller)
        if pop.shape[0] % 2:
            raise ValueError(
                f"The 'population' argument of {caller} must have an even number "
                f"of rows (parent pairs). Got {pop.shape[0]} rows instead."
            )
        code, p, ip = self._params(pop.shape[1], caller)
        out = out_like(out, pop.shape, caller, (pop,))
        seeds = seeds_for(seed, generation, STREAMS["crossover"], pop.shape[0] // 2,
                          caller)
        _k._mate(pop, out, seeds, code, p, ip,
                 threads_for(n_threads, pop.shape[0] // 2, 2 * pop.shape[1]))
        return out


@register
class UniformCrossover(Crossover):
    """Uniform crossover: each gene from the second parent with probability
    ``swap_prob``, else from the first, at the same position.

    With ``swap_prob=0.5`` one random 64-bit word decides 64 genes; otherwise
    the genes taken from the rarer parent are found by geometric gaps.

    Parameters
    ----------
    swap_prob : float in [0, 1], default 0.5
    """

    def __init__(self, swap_prob: float = 0.5) -> None:
        self.swap_prob = check_scalar(swap_prob, "swap_prob",
                                      caller="UniformCrossover",
                                      min_val=0.0, max_val=1.0)

    def _cfg(self) -> dict[str, Any]:
        return {"swap_prob": self.swap_prob}

    def _params(self, n_params, caller):
        p = self.swap_prob
        return _CX.CX_UNIFORM, prm(p, inv_lambda(min(p, 1.0 - p))), EMPTY_I64


@register
class KPointCrossover(Crossover):
    """k-point crossover: ``k`` distinct cut points in ``[1, N - 1]``; the
    child takes segments alternately from the first and second parent,
    starting with the first.

    Parameters
    ----------
    k : int in [1, 256], default 3
        Number of cuts; needs ``N >= k + 1`` genes.
    """

    def __init__(self, k: int = 3) -> None:
        self.k = check_int(k, "k", caller=type(self).__name__, min_val=1,
                           max_val=MAX_CUTS)

    def _cfg(self) -> dict[str, Any]:
        return {"k": self.k}

    def _params(self, n_params, caller):
        if n_params < self.k + 1:
            raise ValueError(
                f"{caller} with k={self.k} cut points needs genomes of at least "
                f"{self.k + 1} genes. Got {n_params} instead."
            )
        return _CX.CX_KPOINT, prm(self.k), EMPTY_I64


@register
class OnePointCrossover(KPointCrossover):
    """One-point crossover: ``a[:c] + b[c:]``, ``c`` uniform in ``[1, N-1]``."""

    def __init__(self) -> None:
        self.k = 1

    def _cfg(self) -> dict[str, Any]:
        return {}


@register
class TwoPointCrossover(KPointCrossover):
    """Two-point crossover: ``a[:c1] + b[c1:c2] + a[c2:]``,
    ``1 <= c1 < c2 <= N - 1``."""

    def __init__(self) -> None:
        self.k = 2

    def _cfg(self) -> dict[str, Any]:
        return {}


@register
class BlendCrossover(Crossover):
    """Arithmetic (blend) crossover: ``child = alpha a + (1 - alpha) b``.

    Deterministic (the seed is unused).  ``alpha=0.5`` gives the parents'
    average (the sibling, ``cross(b, a)``, is the same average), as in the
    DEAP tutorial GA that averages two parents.

    Parameters
    ----------
    alpha : float in [0, 1], default 0.5
    """

    random = False

    def __init__(self, alpha: float = 0.5) -> None:
        self.alpha = check_scalar(alpha, "alpha", caller="BlendCrossover",
                                  min_val=0.0, max_val=1.0)

    def _cfg(self) -> dict[str, Any]:
        return {"alpha": self.alpha}

    def _params(self, n_params, caller):
        return _CX.CX_BLEND, prm(self.alpha), EMPTY_I64


@register
class BLXCrossover(Crossover):
    """BLX-alpha crossover (Eshelman & Schaffer 1993).

    Each gene is ``a + g (b - a)`` with ``g ~ U(-alpha, 1 + alpha)``: uniform
    on ``[min - alpha d, max + alpha d]``, ``d = |a - b|``.  The sibling
    ``cross(b, a)`` uses the mirrored weight, so the pair keeps the parents'
    mean.  (DEAP's ``cxBlend`` draws the same ``g``.)

    Parameters
    ----------
    alpha : float >= 0, default 0.5
    """

    def __init__(self, alpha: float = 0.5) -> None:
        self.alpha = check_scalar(alpha, "alpha", caller="BLXCrossover",
                                  min_val=0.0)

    def _cfg(self) -> dict[str, Any]:
        return {"alpha": self.alpha}

    def _params(self, n_params, caller):
        return _CX.CX_BLX, prm(self.alpha), EMPTY_I64


@register
class SBXCrossover(Crossover):
    """Simulated binary crossover (Deb & Agrawal 1995), as in Deb's code and
    DEAP's ``cxSimulatedBinaryBounded``.

    Each gene is crossed with probability ``gene_prob`` (else the child keeps
    its first parent's value).  A crossed gene is one of SBX's two children
    of the pair, the one on the first parent's side or the one on the second
    parent's side with probability 1/2 each (Deb's exchange of the children,
    which makes SBX recombine the parents' genes).  Unbounded: the children
    are ``((1 + beta) a + (1 - beta) b) / 2`` and ``((1 - beta) a + (1 +
    beta) b) / 2`` with the spread factor ``beta`` of distribution index
    ``eta``.  Bounded (``low`` and ``high`` given): Deb's bounded spread
    factors, and every gene of the child (crossed or not) within the bounds.
    The sibling ``cross(b, a)`` (same seed) takes the other child of every
    gene, so a pair is Deb's two children; unbounded, its mean is the
    parents' mean.

    Parameters
    ----------
    eta : float >= 0, default 15.0
        Larger values give children closer to their parents.
    low, high : float, optional
        Bounds, both or neither, ``low < high``.
    gene_prob : float in [0, 1], default 0.5
        Probability that a gene is crossed (Deb's and DEAP's 0.5).
    exchange : bool, default True
        Deb's exchange of the two children of a gene.  False keeps every
        child on its first parent's side: the library's SBX before this
        option (with ``gene_prob=1``), which mutates more than it
        recombines.  A config without ``gene_prob`` (written before both
        existed) rebuilds that operator, so that old checkpoints continue
        exactly.
    """

    def __init__(self, eta: float = 15.0, low: float | None = None,
                 high: float | None = None, gene_prob: float = 0.5,
                 exchange: bool = True) -> None:
        self.eta = check_scalar(eta, "eta", caller="SBXCrossover", min_val=0.0)
        if (low is None) != (high is None):
            raise ValueError(
                "SBXCrossover takes both 'low' and 'high' or neither. "
                f"Got low={low!r} and high={high!r} instead."
            )
        self.low: float | None = None
        self.high: float | None = None
        if low is not None:
            self.low, self.high = check_bounds(low, high, "SBXCrossover",
                                                strict=True)
        self.gene_prob = check_scalar(gene_prob, "gene_prob", caller="SBXCrossover",
                                      min_val=0.0, max_val=1.0)
        if not isinstance(exchange, (bool, np.bool_)):
            raise TypeError(
                "The 'exchange' parameter of SBXCrossover must be a bool. "
                f"Got {exchange!r} instead."
            )
        self.exchange = bool(exchange)

    def _cfg(self) -> dict[str, Any]:
        return {"eta": self.eta, "low": self.low, "high": self.high,
                "gene_prob": self.gene_prob, "exchange": self.exchange}

    @classmethod
    def _upgrade_config(cls, params: dict[str, Any]) -> dict[str, Any]:
        if "gene_prob" not in params:  # written before gene_prob and exchange
            return {**params, "gene_prob": 1.0, "exchange": False}
        return params

    def _params(self, n_params, caller):
        bounded = self.low is not None
        return (_CX.CX_SBX,
                prm(self.eta, self.low if bounded else 0.0,
                     self.high if bounded else 0.0, 1.0 if bounded else 0.0,
                     self.gene_prob, 1.0 if self.exchange else 0.0),
                EMPTY_I64)


def _layout_rows(network: Any) -> list[tuple[int, int, int, int]]:
    """(w_offset, n_in, n_out, b_offset) per layer from a Network, an object
    with ``.layout``, or a sequence of layer records / dicts."""
    layout = getattr(network, "layout", network)
    if layout is None or isinstance(layout, (str, bytes)):
        raise TypeError(
            "The 'network' argument of NeuronCrossover must be a Network (or an "
            "object with a .layout). Got "
            f"{type(network).__name__} instead."
        )
    rows = []
    try:
        for lay in layout:
            get = (lay.get if isinstance(lay, dict)
                   else lambda name, _l=lay: getattr(_l, name))
            n_in, n_out = (int(v) for v in get("w_shape"))
            w_off = int(get("w_offset"))
            b_off = int(get("b_offset"))
            b_size = int(get("b_size"))
            if b_size != n_out or min(w_off, b_off, n_in, n_out) < 0:
                raise ValueError(f"inconsistent layer record {lay!r}")
            rows.append((w_off, n_in, n_out, b_off))
    except (TypeError, KeyError, AttributeError, ValueError) as exc:
        raise TypeError(
            "The 'network' argument of NeuronCrossover must provide a layout: "
            "records with w_offset, w_shape=(n_in, n_out), b_offset and "
            f"b_size=n_out. Got {type(network).__name__} instead ({exc})."
        ) from exc
    if not rows:
        raise ValueError(
            "The 'network' argument of NeuronCrossover must have at least one "
            "layer. Got an empty layout instead."
        )
    return rows


@register
class NeuronCrossover(Crossover):
    """Neuron-wise uniform crossover for network genomes.

    Each unit (output neuron) of each layer comes whole from one parent: its
    incoming weights (column ``u`` of that layer's ``W``, stored row-major
    ``(n_in, n_out)``) and its bias travel together.  The unit is taken from
    the second parent with probability ``swap_prob``.

    Parameters
    ----------
    network : Network, object with ``.layout``, or a list of layer records
        Records have ``w_offset``, ``w_shape=(n_in, n_out)``, ``b_offset``,
        ``b_size`` (attributes or dict keys), as ``Network.layout``.
    swap_prob : float in [0, 1], default 0.5
    """

    def __init__(self, network: Any, swap_prob: float = 0.5) -> None:
        self.layers = _layout_rows(network)
        self.swap_prob = check_scalar(swap_prob, "swap_prob",
                                      caller="NeuronCrossover",
                                      min_val=0.0, max_val=1.0)
        self.n_params = max(max(w + i * o, b + o) for w, i, o, b in self.layers)

    def _cfg(self) -> dict[str, Any]:
        return {
            "network": [
                {"w_offset": w, "w_shape": [i, o], "b_offset": b, "b_size": o}
                for w, i, o, b in self.layers
            ],
            "swap_prob": self.swap_prob,
        }

    def __repr__(self) -> str:
        return (f"NeuronCrossover(<{len(self.layers)} layers, "
                f"{self.n_params} params>, swap_prob={self.swap_prob!r})")

    def _params(self, n_params, caller):
        if n_params != self.n_params:
            raise ValueError(
                f"{caller} was built for genomes of {self.n_params} parameters "
                f"(its network layout). Got genomes of {n_params} instead."
            )
        iprm = np.array([len(self.layers)] + [v for row in self.layers for v in row],
                        dtype=np.int64)
        return _CX.CX_NEURON, prm(self.swap_prob), iprm


_PATCH_MODES = {"any": 0, "rect": 1, "horizontal": 2, "vertical": 3}


@register
class PatchCrossover(Crossover):
    """2-D crossover for image genomes of shape ``(H, W)`` (row-major).

    The child is the first parent with a region taken from the second:

    * ``"rect"``: a random rectangle (corners uniform, inclusive);
    * ``"horizontal"``: the rows below a random cut ``c`` in ``[1, H - 1]``;
    * ``"vertical"``: the columns right of a random cut in ``[1, W - 1]``;
    * ``"any"`` (default): one of the three, uniformly, per child.

    Parameters
    ----------
    shape : (H, W)
        Image shape; genomes must have ``H * W`` genes.
    mode : {"any", "rect", "horizontal", "vertical"}
    """

    def __init__(self, shape: tuple[int, int], mode: str = "any") -> None:
        self.shape = check_shape2(shape, "PatchCrossover")
        if mode not in _PATCH_MODES:
            raise ValueError(
                "The 'mode' parameter of PatchCrossover must be one of "
                f"{sorted(_PATCH_MODES)}. Got {mode!r} instead."
            )
        H, W = self.shape
        if (mode in ("any", "horizontal") and H < 2) or (
                mode in ("any", "vertical") and W < 2):
            raise ValueError(
                f"PatchCrossover mode {mode!r} needs a cut inside the image. "
                f"Got shape {self.shape} instead."
            )
        self.mode = mode

    def _cfg(self) -> dict[str, Any]:
        return {"shape": list(self.shape), "mode": self.mode}

    def _params(self, n_params, caller):
        check_image_genes(self.shape, n_params, caller)
        H, W = self.shape
        return _CX.CX_PATCH, prm(H, W, _PATCH_MODES[self.mode]), EMPTY_I64
