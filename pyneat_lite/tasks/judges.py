"""Digit judges: does an image look like a handwritten digit, and which one?

A search that maximises a CNN's probability of "7" finds images the CNN calls
a 7 -- often noise (fooling examples). Whether the result *looks* like a 7
must be decided by models the search never saw. :class:`DigitJudge` is such a
panel, built from real digits only:

- a k-nearest-neighbour classifier on deskewed images (each image sheared
  upright by its second moments), with kernel-weighted votes and a
  *background*: an imaginary neighbour of no class at a fixed distance, so
  that an image far from every real digit gets no confident class;
- a classifier of another family trained by the library itself: a softmax
  regression on the principal components of the deskewed images'
  histograms of oriented gradients (HOG), evolved with
  :class:`~pyneat_lite.SNES` on the cross-entropy
  (:class:`~pyneat_lite.tasks.Classification`);
- a realism distance: the Euclidean distance of an image to its nearest
  real digit (pixels, not deskewed), compared with the same distance among
  the real digits (leave-one-out): an image is realistic when its distance
  is within the 95th percentile of the real digits' (of its class, when a
  class is intended).

On the MNIST test set (the judge built from 5,000 images, tested on the
other 5,000) both classifiers reach about 0.97-0.98 accuracy, and about 91%
of the held-out real digits get their own label from both at p >= 0.9;
uniform noise, sparse random ink and fooling images get none.

:func:`judge_split` splits a labelled set with a fixed seed into a part for
the optimised models (a CNN, a discriminator) and a disjoint part for the
judge, so that no judge has seen the data the optimised models learnt from.

Examples
--------
>>> X, y = pn.datasets.load_mnist("tests/data/mnist-1000")
>>> X_model, X_judge, y_model, y_judge = judge_split(X, y)
>>> judge = DigitJudge(X_judge, y_judge, seed=0)
>>> verdict = judge(X_model[y_model == 7][:20], label=7)
>>> bool(verdict.realistic.mean() > 0.9)  # real 7s: within real 7s' threshold
True
>>> bool(verdict.knn_proba[:, 7].mean() > 0.5)
True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._threads import single_threaded_blas
from .._validation import check_array, check_int, check_scalar
from ._digit_features import deskew, gradient_histograms, pca

__all__ = ["JUDGE_SEED", "judge_split", "DigitJudge", "Verdict", "frechet_distance",
           "deskew", "gradient_histograms"]

#: Seed of :func:`judge_split`: fixed, so that every example, test and
#: benchmark puts the same images on the judge's side.
JUDGE_SEED = 11
_SIDE = 28
_PIXELS = _SIDE * _SIDE
_CLASSES = 10


def _images(images: Any, caller: str, name: str = "images") -> np.ndarray:
    """``images`` as C-contiguous float32 ``(n, 784)``, one image a row."""
    arr = check_array(images, name, caller=caller, ndim=(2, 3))
    flat = arr.reshape(arr.shape[0], -1)
    if flat.shape[1] != _PIXELS:
        raise ValueError(
            f"The {name!r} argument of {caller} must hold 28x28 images ({_PIXELS} "
            f"values each), as (n, 784) or (n, 28, 28). Got shape {arr.shape} "
            "instead."
        )
    return np.ascontiguousarray(flat)


def _labels(y: Any, n: int, caller: str) -> np.ndarray:
    lab = check_array(y, "y", caller=caller, ndim=1, dtype=np.int64)
    if lab.shape[0] != n or np.any((lab < 0) | (lab >= _CLASSES)):
        raise ValueError(
            f"The 'y' argument of {caller} must hold one label in 0..9 per image. "
            f"Got {lab.shape[0]} labels for {n} images, in "
            f"[{lab.min(initial=0)}, {lab.max(initial=0)}] instead."
        )
    return lab


def judge_split(X: Any, y: Any, *, judge_fraction: float = 0.5,
                seed: int = JUDGE_SEED) -> tuple[np.ndarray, ...]:
    """Split labelled digits into a part for the optimised models and one for the judge.

    Parameters
    ----------
    X : array-like of shape (n, 784) or (n, 28, 28)
    y : array-like of int, shape (n,)
    judge_fraction : float, default=0.5
        Share of each class that goes to the judge.
    seed : int, default=JUDGE_SEED
        Seed of the stratified shuffle
        (:func:`pyneat_lite.datasets.train_test_split`).

    Returns
    -------
    X_model, X_judge, y_model, y_judge : ndarray
        Disjoint parts: the CNN or discriminator learns from ``X_model``, the
        :class:`DigitJudge` is built from ``X_judge``.
    """
    from .datasets import train_test_split

    caller = "judge_split"
    X = _images(X, caller, "X")
    y = _labels(y, X.shape[0], caller)
    frac = check_scalar(judge_fraction, "judge_fraction", caller=caller,
                        min_val=0.0, max_val=1.0, include_min=False,
                        include_max=False)
    return train_test_split(X, y, test_size=frac, seed=seed)


def _sq_distances(A: np.ndarray, B: np.ndarray, b_sq: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances ``(len(A), len(B))`` by one matrix product."""
    d2 = np.einsum("ij,ij->i", A, A)[:, None] + b_sq[None, :]
    d2 -= 2.0 * (A @ B.T)
    np.maximum(d2, 0.0, out=d2)  # rounding can make a zero distance negative
    return d2


def _gaussian_stats(F: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    F = F.astype(np.float64)
    return F.mean(0), np.cov(F, rowvar=False)


def _frechet(mu1: np.ndarray, c1: np.ndarray, mu2: np.ndarray,
             c2: np.ndarray) -> float:
    # tr(sqrt(C1 C2)) = sum of sqrt of the eigenvalues of sqrt(C1) C2 sqrt(C1),
    # a symmetric matrix: no complex square root of a non-symmetric product
    w, V = np.linalg.eigh(c1)
    s1 = (V * np.sqrt(np.clip(w, 0.0, None))) @ V.T
    m = s1 @ c2 @ s1
    ev = np.linalg.eigvalsh((m + m.T) / 2.0)
    tr_sqrt = float(np.sqrt(np.clip(ev, 0.0, None)).sum())
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(c1) + np.trace(c2) - 2.0 * tr_sqrt)


def frechet_distance(features_a: Any, features_b: Any) -> float:
    """Fréchet distance between Gaussians fitted to two sets of feature vectors.

    ``|mu_a - mu_b|^2 + tr(C_a + C_b - 2 (C_a C_b)^(1/2))`` (Dowson and
    Landau 1982), the statistic of the FID (Heusel et al. 2017) computed on
    any features.

    Parameters
    ----------
    features_a, features_b : array-like of shape (n_a, d) and (n_b, d)
        At least two rows each.

    Returns
    -------
    float
    """
    caller = "frechet_distance"
    A = check_array(features_a, "features_a", caller=caller, ndim=2,
                    dtype=np.float64)
    B = check_array(features_b, "features_b", caller=caller, ndim=2,
                    dtype=np.float64)
    if A.shape[0] < 2 or B.shape[0] < 2 or A.shape[1] != B.shape[1]:
        raise ValueError(
            f"The feature arguments of {caller} must have at least 2 rows each and "
            f"the same number of columns. Got shapes {A.shape} and {B.shape} "
            "instead."
        )
    return _frechet(*_gaussian_stats(A), *_gaussian_stats(B))


@dataclass
class Verdict:
    """The judges' verdict on a set of images (returned by :meth:`DigitJudge.__call__`).

    Attributes
    ----------
    knn_proba, classifier_proba : ndarray of shape (n, 10)
        Each judge's class probabilities.
    labels : ndarray of int, shape (n,)
        The class on which every judge agrees with probability at least
        ``confidence``; -1 where they do not.
    distance : ndarray of shape (n,)
        Distance to the nearest real digit of the judge's data.
    threshold : ndarray of shape (n,)
        The realism threshold each image was compared with: the 95th
        percentile of real digits' nearest-neighbour distances, of the
        intended class (or of the class the judges agree on; of all digits
        where they do not agree).
    agreed : ndarray of bool, shape (n,)
        Every judge gives the intended class (any class when none is
        intended) with probability at least ``confidence``.
    realistic : ndarray of bool, shape (n,)
        ``distance <= threshold``.
    label : int or None
        The intended class.
    confidence : float
    """

    knn_proba: np.ndarray
    classifier_proba: np.ndarray
    labels: np.ndarray
    distance: np.ndarray
    threshold: np.ndarray
    agreed: np.ndarray
    realistic: np.ndarray
    label: int | None
    confidence: float

    @property
    def n(self) -> int:
        """Number of images judged."""
        return int(self.labels.shape[0])

    @property
    def agree_fraction(self) -> float:
        """Fraction of images that every judge labels as the intended class."""
        return float(self.agreed.mean())

    @property
    def n_classes(self) -> int:
        """Distinct classes among the agreed images (mode coverage)."""
        return int(np.unique(self.labels[self.agreed]).size)

    @property
    def realism_fraction(self) -> float:
        """Fraction of images whose realism distance is within the threshold."""
        return float(self.realistic.mean())

    @property
    def passed(self) -> np.ndarray:
        """Images that are both agreed and realistic (bool, (n,))."""
        return self.agreed & self.realistic

    @property
    def pass_fraction(self) -> float:
        """Fraction of images that are both agreed and realistic."""
        return float(self.passed.mean())

    def __str__(self) -> str:
        what = f"a {self.label}" if self.label is not None else "a digit"
        return (f"{self.n} images: {self.agree_fraction:.0%} judged {what} by every "
                f"judge (p >= {self.confidence:g}), {self.n_classes} classes, "
                f"{self.realism_fraction:.0%} within the realism threshold, "
                f"{self.pass_fraction:.0%} both")


class DigitJudge:
    """A panel of judges of 28x28 digit images, built from real labelled digits.

    Parameters
    ----------
    X : array-like of shape (n, 784) or (n, 28, 28)
        Real digits with values in [0, 1] (the judge's side of
        :func:`judge_split`); at least 2 per class.
    y : array-like of int, shape (n,)
        Their labels, 0..9.
    k : int, default=10
        Neighbours of the k-NN judge.
    bandwidth : float, default=0.125
        Width ``h`` of the k-NN judge's vote kernel, in units of the median
        leave-one-out nearest-neighbour distance of the (deskewed) real
        digits.
    background : float, default=1.75
        Distance ``b`` of the k-NN judge's background neighbour, in the same
        units.
    n_components : int, default=40
        Principal components of the pixels: the features of
        :meth:`features` and :meth:`frechet_distance`.
    classifier_components : int, default=40
        Principal components of the gradient histograms: the second
        classifier's input.
    generations : int, default=1000
        SNES generations that train the second classifier.
    percentile : float, default=95
        Percentile of the real digits' nearest-neighbour distances that
        bounds a realistic image.
    seed : int, default=0
        Seed of the second classifier's training.

    Attributes
    ----------
    classifier_accuracy : float
        The second classifier's accuracy on the judge's own data.
    thresholds : ndarray of shape (10,)
        Per class, the ``percentile`` of the real digits' leave-one-out
        nearest-neighbour distances (pixels); ``threshold_all`` over all
        digits.
    knn_scale : float
        The unit of ``bandwidth`` and ``background``.

    Notes
    -----
    The k-NN judge's probability of class ``c`` for an image whose deskewed
    version has squared distances ``d_i^2`` to its ``k`` nearest deskewed real
    digits is ``sum_{i: y_i = c} w_i / (sum_i w_i + w_b)`` with ``w_i =
    exp(-d_i^2 / 2h^2)`` and ``w_b = exp(-b^2 / 2h^2)``: the nearest digits
    dominate the vote (a narrow kernel), and an image much farther than
    ``b`` from every real digit gets probability near 0 for every class.
    An image is judged a digit of class ``c`` when the k-NN judge's and the
    classifier's probabilities of ``c`` are both at least the ``confidence``
    of :meth:`__call__`. Distances are computed as ``|a|^2 + |b|^2 - 2 a.b``
    with one float32 matrix product.
    """

    def __init__(self, X: Any, y: Any, *, k: int = 10, bandwidth: float = 0.125,
                 background: float = 1.75, n_components: int = 40,
                 classifier_components: int = 40, generations: int = 1000,
                 percentile: float = 95.0, seed: int = 0) -> None:
        caller = "DigitJudge"
        X = _images(X, caller, "X")
        y = _labels(y, X.shape[0], caller)
        counts = np.bincount(y, minlength=_CLASSES)
        if counts.min() < 2:
            raise ValueError(
                f"The 'y' argument of {caller} must hold at least 2 images of each "
                f"class 0..9. Got counts {counts.tolist()} instead."
            )
        self.k = check_int(k, "k", caller=caller, min_val=1, max_val=X.shape[0] - 1)
        bandwidth = check_scalar(bandwidth, "bandwidth", caller=caller, min_val=0.0,
                                 include_min=False)
        background = check_scalar(background, "background", caller=caller,
                                  min_val=0.0, include_min=False)
        n_max = min(X.shape[0], _PIXELS)
        n_components = check_int(n_components, "n_components", caller=caller,
                                 min_val=1, max_val=n_max)
        classifier_components = check_int(
            classifier_components, "classifier_components", caller=caller,
            min_val=1, max_val=n_max)
        generations = check_int(generations, "generations", caller=caller,
                                min_val=1)
        self.percentile = check_scalar(percentile, "percentile", caller=caller,
                                       min_val=0.0, max_val=100.0)
        seed = check_int(seed, "seed", caller=caller, min_val=0)
        self.X, self.y = X, y
        self._sq = np.einsum("ij,ij->i", X, X)

        # realism: each real digit's distance to its nearest other real digit
        self.real_distances = self._loo_nearest(X, self._sq)
        self.thresholds = np.array(
            [np.percentile(self.real_distances[y == c], self.percentile)
             for c in range(_CLASSES)])
        self.threshold_all = float(np.percentile(self.real_distances, self.percentile))

        # the k-NN judge works on deskewed digits, in units of their spacing
        self.X_deskewed = deskew(X)
        self._dsq = np.einsum("ij,ij->i", self.X_deskewed, self.X_deskewed)
        self.knn_scale = float(np.median(self._loo_nearest(self.X_deskewed,
                                                           self._dsq)))
        self.bandwidth = bandwidth * self.knn_scale
        self.background = background * self.knn_scale

        # LAPACK's threads gain nothing at this size and spin for seconds
        # when other processes share the cores
        with single_threaded_blas():
            self.mean, self.components, self._scale = pca(X, n_components)
            H = gradient_histograms(self.X_deskewed)
            self._h_mean, self._h_components, self._h_scale = pca(
                H, classifier_components)
        self._train_classifier(H, generations, seed)
        self._real_stats = _gaussian_stats(self.features(X))

    @staticmethod
    def _loo_nearest(A: np.ndarray, a_sq: np.ndarray) -> np.ndarray:
        d2 = _sq_distances(A, A, a_sq)
        np.fill_diagonal(d2, np.inf)
        return np.sqrt(d2.min(1).astype(np.float64))

    # ------------------------------------------------------------ classifier
    def _hog_pcs(self, H: np.ndarray) -> np.ndarray:
        # unit-variance principal components: a well-scaled input for SNES
        return np.ascontiguousarray(
            ((H - self._h_mean) @ self._h_components.T) / self._h_scale)

    def _train_classifier(self, H: np.ndarray, generations: int, seed: int) -> None:
        from ..algorithms import SNES
        from ..network import Network
        from .supervised import Classification, report

        F = self._hog_pcs(H)
        self.net = Network([F.shape[1], _CLASSES], "softmax")
        fit = Classification(self.net, F, self.y, metric="cross_entropy",
                             batch_size=min(500, F.shape[0]), seed=seed,
                             n_threads=1)
        es = SNES(n_params=self.net.n_params, pop_size=64, sigma=0.1, seed=seed,
                  n_threads=1)
        es.run(fit, generations=generations)
        # the centre averages out the minibatch noise that picked es.best
        self.genome = np.ascontiguousarray(es.mean, np.float32)
        self.classifier_accuracy = float(report(self.net, self.genome, F,
                                                self.y).accuracy)

    # ------------------------------------------------------------ the judges
    def knn_proba(self, images: Any) -> np.ndarray:
        """k-NN judge's class probabilities (see Notes): (n, 10) float64."""
        return self._knn(deskew(_images(images, "DigitJudge.knn_proba")))

    def _knn(self, deskewed: np.ndarray) -> np.ndarray:
        d2 = _sq_distances(deskewed, self.X_deskewed, self._dsq).astype(np.float64)
        idx = np.argpartition(d2, self.k - 1, axis=1)[:, : self.k]
        near = np.take_along_axis(d2, idx, 1)
        # shift the exponents so that the largest weight is 1: no underflow
        b2 = self.background**2
        shift = np.minimum(near.min(1, keepdims=True), b2)
        two_h2 = 2.0 * self.bandwidth**2
        w = np.exp(-(near - shift) / two_h2)
        proba = np.zeros((deskewed.shape[0], _CLASSES))
        np.add.at(proba, (np.arange(deskewed.shape[0])[:, None], self.y[idx]), w)
        proba /= w.sum(1, keepdims=True) + np.exp(-(b2 - shift) / two_h2)
        return proba

    def classifier_proba(self, images: Any) -> np.ndarray:
        """The second classifier's class probabilities: (n, 10) float64."""
        flat = _images(images, "DigitJudge.classifier_proba")
        return self._classify(deskew(flat))

    def _classify(self, deskewed: np.ndarray) -> np.ndarray:
        F = self._hog_pcs(gradient_histograms(deskewed))
        return self.net.forward(self.genome, F).astype(np.float64)

    def nearest_distance(self, images: Any) -> np.ndarray:
        """Euclidean distance of each image to its nearest real digit: (n,)."""
        return self._nearest(_images(images, "DigitJudge.nearest_distance"))

    def _nearest(self, flat: np.ndarray) -> np.ndarray:
        d2 = _sq_distances(flat, self.X, self._sq)
        return np.sqrt(d2.min(1).astype(np.float64))

    def features(self, images: Any) -> np.ndarray:
        """Principal-component features of images: (n, n_components) float64."""
        flat = _images(images, "DigitJudge.features")
        return (((flat - self.mean) @ self.components.T) / self._scale).astype(
            np.float64)

    def frechet_distance(self, images: Any) -> float:
        """Fréchet distance between the features of ``images`` and of the real digits.

        The judge's principal components of the pixels (:meth:`features`)
        are the feature space; compare with the same figure for noise images
        to read it.
        """
        F = self.features(images)
        if F.shape[0] < 2:
            raise ValueError("The 'images' argument of DigitJudge.frechet_distance "
                             f"must hold at least 2 images. Got {F.shape[0]} instead.")
        return _frechet(*_gaussian_stats(F), *self._real_stats)

    def __call__(self, images: Any, label: int | None = None, *,
                 confidence: float = 0.9) -> Verdict:
        """Judge a set of images.

        Parameters
        ----------
        images : array-like of shape (n, 784) or (n, 28, 28)
            Values in [0, 1].
        label : int, optional
            The intended class; ``None`` accepts any class (a generator's
            samples).
        confidence : float, default=0.9
            Probability that every judge must give the class.

        Returns
        -------
        Verdict
        """
        caller = "DigitJudge"
        flat = _images(images, caller)
        if label is not None:
            label = check_int(label, "label", caller=caller, min_val=0, max_val=9)
        confidence = check_scalar(confidence, "confidence", caller=caller,
                                  min_val=0.0, max_val=1.0)
        desk = deskew(flat)
        knn, clf = self._knn(desk), self._classify(desk)
        dist = self._nearest(flat)
        both = np.minimum(knn, clf)  # a class every judge gives at least this
        top = both.argmax(1)
        ok = both[np.arange(flat.shape[0]), top] >= confidence
        # at confidence <= 0.5 two classes can tie: the argmax of each judge decides
        ok &= (knn.argmax(1) == top) & (clf.argmax(1) == top)
        labels = np.where(ok, top, -1)
        agreed = ok if label is None else labels == label
        cls = labels if label is None else np.full(flat.shape[0], label)
        threshold = np.where(cls >= 0, self.thresholds[np.maximum(cls, 0)],
                             self.threshold_all)
        return Verdict(knn_proba=knn, classifier_proba=clf, labels=labels,
                       distance=dist, threshold=threshold, agreed=agreed,
                       realistic=dist <= threshold, label=label,
                       confidence=confidence)

    def __repr__(self) -> str:
        return (f"DigitJudge(n={self.X.shape[0]}, k={self.k}, "
                f"n_components={self.components.shape[0]}, "
                f"classifier_accuracy={self.classifier_accuracy:.3f})")

