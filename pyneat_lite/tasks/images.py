"""Image genomes: a search space learnt from real digits, and priors as fitness terms.

Evolving 784 pixels against a classifier finds fooling images: the
classifier's decision regions cover the whole pixel space, and most of each
region is noise. These pieces keep a search near real digits:

- :class:`PCABasis`, a genome decoder: a genome is a vector of ``d``
  principal-component coefficients of real digits (all classes), in units of
  each component's standard deviation; :meth:`PCABasis.decode` turns a
  population ``(P, d)`` into images ``(P, 784)`` in [0, 1]. A standard normal
  genome is a plausible blend of digits, so the usual ``N(0, 1)`` start and
  mutation scales fit.
- Priors, each a penalty ``(P,)`` >= 0 to subtract from a fitness:
  :func:`gaussian_prior` (coefficients far out in the tails),
  :func:`ink_penalty` (total ink away from the real digits'),
  :func:`smoothness_penalty` (more pixel-to-pixel variation than real strokes),
  and :class:`NearestReal` (distance to the nearest of a set of real images,
  beyond the distances among them).

Build these from the optimised model's side of
:func:`~pyneat_lite.tasks.judges.judge_split`, never from the judge's.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._threads import single_threaded_blas
from .._validation import check_array, check_int, check_scalar

__all__ = ["PCABasis", "gaussian_prior", "ink", "ink_penalty", "total_variation",
           "smoothness_penalty", "NearestReal"]

_SIDE = 28
_PIXELS = _SIDE * _SIDE


def _images(images: Any, caller: str, name: str = "images") -> np.ndarray:
    arr = check_array(images, name, caller=caller, ndim=(1, 2, 3))
    flat = arr.reshape(1, -1) if arr.ndim == 1 else arr.reshape(arr.shape[0], -1)
    if flat.shape[1] != _PIXELS:
        raise ValueError(
            f"The {name!r} argument of {caller} must hold 28x28 images ({_PIXELS} "
            f"values each). Got shape {arr.shape} instead."
        )
    return np.ascontiguousarray(flat)


class PCABasis:
    """Principal components of real images: a low-dimensional genome for images.

    Parameters
    ----------
    X : array-like of shape (n, 784) or (n, 28, 28)
        Real images with values in [0, 1].
    n_components : int, default=30
        Genome length ``d``.

    Attributes
    ----------
    mean : ndarray of shape (784,)
    components : ndarray of shape (d, 784)
        Orthonormal rows, by decreasing variance.
    scale : ndarray of shape (d,)
        Standard deviation of the real images' coefficient on each component.
    explained : float
        Share of the real images' variance the ``d`` components hold.

    Examples
    --------
    >>> X_real, _ = pn.datasets.load_mnist("tests/data/mnist-1000")
    >>> basis = PCABasis(X_real, n_components=30)
    >>> images = basis.decode(np.random.default_rng(0).normal(size=(8, 30)))
    >>> images.shape
    (8, 784)
    """

    def __init__(self, X: Any, n_components: int = 30) -> None:
        caller = "PCABasis"
        X = _images(X, caller, "X")
        self.n_components = check_int(n_components, "n_components", caller=caller,
                                      min_val=1, max_val=min(X.shape[0], _PIXELS))
        self.mean = X.mean(0)
        # LAPACK's threads gain nothing at this size and spin when the cores
        # are shared
        with single_threaded_blas():
            _, s, Vt = np.linalg.svd(X - self.mean, full_matrices=False)
        d = self.n_components
        self.components = np.ascontiguousarray(Vt[:d], np.float32)
        self.scale = (s[:d] / np.sqrt(X.shape[0])).astype(np.float32)
        self.explained = float((s[:d] ** 2).sum() / (s**2).sum())
        # decode = z @ (scale * components) + mean: one product
        self._W = np.ascontiguousarray(self.scale[:, None] * self.components)

    def decode(self, genomes: Any, *, clip: bool = True) -> np.ndarray:
        """Images of coefficient genomes: ``(P, d)`` -> ``(P, 784)`` float32.

        ``clip`` bounds the pixels to [0, 1] (images off the basis's span
        can leave it).
        """
        Z = check_array(genomes, "genomes", caller="PCABasis.decode", ndim=(1, 2))
        Z = Z.reshape(-1, Z.shape[-1])
        if Z.shape[1] != self.n_components:
            raise ValueError(
                "The 'genomes' argument of PCABasis.decode must have "
                f"{self.n_components} coefficients per row. Got shape {Z.shape} "
                "instead."
            )
        out = Z @ self._W
        out += self.mean
        return np.clip(out, 0.0, 1.0, out=out) if clip else out

    def encode(self, images: Any) -> np.ndarray:
        """Coefficient genomes of images: ``(n, 784)`` -> ``(n, d)`` float32."""
        flat = _images(images, "PCABasis.encode")
        return ((flat - self.mean) @ self.components.T) / self.scale

    def __repr__(self) -> str:
        return (f"PCABasis(n_components={self.n_components}, "
                f"explained={self.explained:.3f})")


def gaussian_prior(genomes: Any) -> np.ndarray:
    """Penalty of coefficient genomes outside the real digits' typical set.

    ``max(0, mean(z**2) - 1)`` per row: zero for a genome no farther out
    than a standard normal draw of its length, growing quadratically beyond.
    """
    Z = check_array(genomes, "genomes", caller="gaussian_prior", ndim=2)
    return np.maximum(0.0, (Z.astype(np.float64) ** 2).mean(1) - 1.0)


def ink(images: Any) -> np.ndarray:
    """Total ink of each image (the sum of its pixels): (n,) float64."""
    return _images(images, "ink").sum(1, dtype=np.float64)


def ink_penalty(images: Any, target: float, tolerance: float = 0.25) -> np.ndarray:
    """Relative distance of each image's ink from ``target``, beyond a tolerance.

    ``max(0, |ink - target| / target - tolerance)``; ``target`` is e.g. the
    mean ink of the real digits of the intended class.
    """
    caller = "ink_penalty"
    target = check_scalar(target, "target", caller=caller, min_val=0.0,
                          include_min=False)
    tolerance = check_scalar(tolerance, "tolerance", caller=caller, min_val=0.0)
    return np.maximum(0.0, np.abs(ink(images) - target) / target - tolerance)


def total_variation(images: Any) -> np.ndarray:
    """Mean absolute difference between 4-neighbour pixels of each image: (n,)."""
    img = _images(images, "total_variation").reshape(-1, _SIDE, _SIDE)
    dx = np.abs(np.diff(img, axis=2)).sum((1, 2), dtype=np.float64)
    dy = np.abs(np.diff(img, axis=1)).sum((1, 2), dtype=np.float64)
    return (dx + dy) / (2 * _SIDE * (_SIDE - 1))


def smoothness_penalty(images: Any, reference: float) -> np.ndarray:
    """Relative excess of total variation over a reference level.

    ``max(0, tv / reference - 1)``, with ``reference`` e.g. the 95th
    percentile of :func:`total_variation` over real digits: scattered pixels
    (the texture of fooling images) pay, strokes do not.
    """
    reference = check_scalar(reference, "reference", caller="smoothness_penalty",
                             min_val=0.0, include_min=False)
    return np.maximum(0.0, total_variation(images) / reference - 1.0)


class NearestReal:
    """Distance of images to the nearest of a set of real images, as a penalty.

    Parameters
    ----------
    X : array-like of shape (n, 784) or (n, 28, 28)
        Real images (e.g. the optimised model's real 7s), at least 2.
    percentile : float, default=95
        Percentile of the real images' leave-one-out nearest-neighbour
        distances that sets :attr:`threshold`.

    Attributes
    ----------
    threshold : float

    Notes
    -----
    Calling it on images returns ``max(0, distance / threshold - 1)`` per
    image; :meth:`distance` gives the raw distances.
    """

    def __init__(self, X: Any, percentile: float = 95.0) -> None:
        caller = "NearestReal"
        X = _images(X, caller, "X")
        if X.shape[0] < 2:
            raise ValueError(f"The 'X' argument of {caller} must hold at least 2 "
                             f"images. Got {X.shape[0]} instead.")
        percentile = check_scalar(percentile, "percentile", caller=caller,
                                  min_val=0.0, max_val=100.0)
        self.X = X
        self._sq = np.einsum("ij,ij->i", X, X)
        d2 = self._d2(X)
        np.fill_diagonal(d2, np.inf)
        self.threshold = float(np.percentile(np.sqrt(d2.min(1)), percentile))

    def _d2(self, flat: np.ndarray) -> np.ndarray:
        d2 = np.einsum("ij,ij->i", flat, flat)[:, None] + self._sq[None, :]
        d2 -= 2.0 * (flat @ self.X.T)
        return np.maximum(d2, 0.0, out=d2)

    def distance(self, images: Any) -> np.ndarray:
        """Euclidean distance of each image to its nearest real image: (n,)."""
        flat = _images(images, "NearestReal.distance")
        return np.sqrt(self._d2(flat).min(1).astype(np.float64))

    def __call__(self, images: Any) -> np.ndarray:
        """``max(0, distance / threshold - 1)`` per image: (n,) float64."""
        return np.maximum(0.0, self.distance(images) / self.threshold - 1.0)
