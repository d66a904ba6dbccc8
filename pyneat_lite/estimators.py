"""scikit-learn estimators: multilayer perceptrons trained by evolution.

:class:`EvolvedMLPClassifier` and :class:`EvolvedMLPRegressor` follow
``sklearn.neural_network.MLPClassifier``/``MLPRegressor``: the same
``hidden_layer_sizes`` and ``activation``, ``fit``/``predict``/``score``,
``get_params``/``set_params``, ``Pipeline`` and ``GridSearchCV`` -- but the
weights are found by one of the library's algorithms (``pn.ALGORITHMS``)
instead of by gradient descent, so the fitness can be anything and no
gradient is needed.  They require scikit-learn (``pip install
"pyneat_lite[sklearn]"``).

Examples
--------
>>> from sklearn.datasets import load_iris
>>> from pyneat_lite.estimators import EvolvedMLPClassifier
>>> X, y = load_iris(return_X_y=True)
>>> clf = EvolvedMLPClassifier(hidden_layer_sizes=(8,), max_generations=100,
...                            random_state=0).fit(X, y)
>>> bool(clf.score(X, y) > 0.9)
True
"""

from __future__ import annotations

import inspect
import numbers
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

try:
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
    from sklearn.utils import check_random_state
    from sklearn.utils.multiclass import check_classification_targets
    from sklearn.utils.validation import check_is_fitted, validate_data
except ImportError as exc:  # pragma: no cover - scikit-learn is a test dependency
    raise ImportError(
        "pyneat_lite.estimators requires scikit-learn >= 1.6: pip install "
        "\"pyneat_lite[sklearn]\" (from a checkout: pip install \".[sklearn]\")."
    ) from exc

from .activations import ACTIVATIONS
from .algorithms import ALGORITHMS, Algorithm
from .network import Network
from .tasks.supervised import Classification, Regression

__all__ = ["EvolvedMLPClassifier", "EvolvedMLPRegressor"]


def _check_params(est: _EvolvedMLP) -> tuple[list[int], int | None]:
    """Validate the hyper-parameters at fit time (scikit-learn's convention)."""
    caller = type(est).__name__
    hidden = est.hidden_layer_sizes
    if isinstance(hidden, numbers.Integral) and not isinstance(hidden, bool):
        hidden = [hidden]
    if not isinstance(hidden, Sequence | np.ndarray) or isinstance(hidden, str) or any(
            isinstance(h, bool) or not isinstance(h, numbers.Integral) or h < 1
            for h in hidden):
        raise ValueError(
            f"The 'hidden_layer_sizes' parameter of {caller} must be a positive int "
            f"or a sequence of positive ints. Got {est.hidden_layer_sizes!r} instead."
        )
    if est.activation not in ACTIVATIONS or est.activation == "softmax":
        names = ", ".join(sorted(set(ACTIVATIONS) - {"softmax"}))
        raise ValueError(
            f"The 'activation' parameter of {caller} must be one of {names}. "
            f"Got {est.activation!r} instead."
        )
    if not callable(est.algorithm) and est.algorithm not in ALGORITHMS:
        raise ValueError(
            f"The 'algorithm' parameter of {caller} must be one of "
            f"{', '.join(ALGORITHMS)} or a callable returning an algorithm. "
            f"Got {est.algorithm!r} instead."
        )
    if est.algorithm_params is not None and not isinstance(est.algorithm_params, dict):
        raise TypeError(
            f"The 'algorithm_params' parameter of {caller} must be a dict or None. "
            f"Got {type(est.algorithm_params).__name__} instead."
        )
    for name, lo in (("max_generations", 1), ("pop_size", 2), ("batch_size", 1)):
        v = getattr(est, name)
        if v is not None and (isinstance(v, bool) or not isinstance(
                v, numbers.Integral) or v < lo):
            raise ValueError(
                f"The {name!r} parameter of {caller} must be an int >= {lo} or "
                f"None. Got {v!r} instead."
            )
    t = est.max_time
    if t is not None and (isinstance(t, bool) or not isinstance(t, numbers.Real)
                          or not np.isfinite(t) or t <= 0):
        raise ValueError(
            f"The 'max_time' parameter of {caller} must be a positive number of "
            f"seconds or None. Got {t!r} instead."
        )
    if est.max_generations is None and t is None:
        raise ValueError(
            f"The 'max_generations' and 'max_time' parameters of {caller} cannot "
            "both be None: the run needs a stop criterion."
        )
    rs = est.random_state
    if rs is None or isinstance(rs, np.random.RandomState):
        seed = int(check_random_state(rs).randint(np.iinfo(np.int32).max))
    elif isinstance(rs, numbers.Integral) and not isinstance(rs, bool) and rs >= 0:
        seed = int(rs)
    else:
        raise ValueError(
            f"The 'random_state' parameter of {caller} must be a non-negative int, "
            f"a numpy RandomState or None. Got {rs!r} instead."
        )
    return [int(h) for h in hidden], seed


class _EvolvedMLP(BaseEstimator):
    """Shared fit machinery of the two estimators (not public)."""

    _output_activation = "linear"

    def __init__(
        self,
        hidden_layer_sizes: int | Sequence[int] = (32,),
        activation: str = "tanh",
        *,
        algorithm: str | Callable[..., Algorithm] = "snes",
        algorithm_params: dict[str, Any] | None = None,
        pop_size: int | None = None,
        max_generations: int | None = 300,
        max_time: float | None = None,
        batch_size: int | None = None,
        random_state: int | np.random.RandomState | None = None,
        n_threads: int | None = None,
    ) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.algorithm = algorithm
        self.algorithm_params = algorithm_params
        self.pop_size = pop_size
        self.max_generations = max_generations
        self.max_time = max_time
        self.batch_size = batch_size
        self.random_state = random_state
        self.n_threads = n_threads

    def _make_algorithm(self, net: Network, seed: int) -> Algorithm:
        kw: dict[str, Any] = dict(self.algorithm_params or {})
        kw.update(n_params=net.n_params, seed=seed)
        if self.pop_size is not None:
            kw["pop_size"] = self.pop_size
        if callable(self.algorithm):
            algo = self.algorithm(**kw)
            if not (callable(getattr(algo, "run", None)) and callable(
                    getattr(algo, "ask", None))):
                raise TypeError(
                    f"The 'algorithm' parameter of {type(self).__name__} must "
                    "return an algorithm (with ask, tell and run). Got "
                    f"{type(algo).__name__} instead."
                )
            return algo
        cls = ALGORITHMS[self.algorithm]
        params = inspect.signature(cls).parameters
        kw.setdefault("n_threads", self.n_threads)
        # start from the network's own initialisation, not from zeros
        if "x0" in params:
            kw.setdefault("x0", net.init_genome(seed=seed))
        elif "initial_population" in params:
            p = kw.get("pop_size", params["pop_size"].default)
            kw.setdefault("initial_population", net.init_population(p, seed=seed))
        return cls(**kw)

    def _evolve(self, X: np.ndarray, target: np.ndarray, n_out: int) -> None:
        hidden, seed = _check_params(self)
        sizes = [X.shape[1], *hidden, n_out]
        acts = [self.activation] * len(hidden) + [self._output_activation]
        net = Network(sizes, acts)
        batch = self.batch_size
        if batch is not None:
            batch = min(batch, X.shape[0])  # as MLPClassifier: clipped
        fitness = self._fitness(net, X, target, batch, seed)
        algo = self._make_algorithm(net, seed)
        result = algo.run(fitness, generations=self.max_generations,
                          time_limit=self.max_time)
        # deploy the better of the best genome seen and the ES centre, judged
        # on the whole training set (a minibatch's best is a noisy pick)
        candidates = [result.best]
        if getattr(result, "mean", None) is not None:
            candidates.append(np.asarray(result.mean, dtype=np.float32))
        full = self._fitness(net, X, target, None, seed)
        scores = full(np.stack(candidates))
        scores[~np.isfinite(scores)] = -np.inf
        genome = candidates[int(np.argmax(scores))]
        self.network_ = net
        self.genome_ = np.ascontiguousarray(genome, dtype=np.float32)
        self.coefs_ = [w.copy() for w, _ in net.unflatten(self.genome_)]
        self.intercepts_ = [b.copy() for _, b in net.unflatten(self.genome_)]
        self.result_ = result
        self.algorithm_ = algo
        self.n_iter_ = int(result.generations_run)
        self.best_fitness_ = float(np.max(scores))

    def _forward(self, X: Any) -> np.ndarray:
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        # the loop kernel, not the GEMM path: a sample's output then does not
        # depend on the batch it comes in, nor on the number of BLAS threads
        out = self.network_.forward(self.genome_, X, method="loops")
        return out.astype(np.float64)


class EvolvedMLPClassifier(ClassifierMixin, _EvolvedMLP):
    """Multilayer perceptron classifier whose weights are evolved.

    A network ``n_features -> hidden_layer_sizes -> n_classes`` (softmax
    output) is trained by an evolution strategy or a genetic algorithm that
    maximises minus the cross-entropy on the training set (or on one
    minibatch per generation).

    Parameters
    ----------
    hidden_layer_sizes : int or sequence of int, default=(32,)
        Units of each hidden layer; ``()`` gives multinomial logistic
        regression.
    activation : str, default="tanh"
        Hidden-layer activation, a name of ``pn.ACTIVATIONS`` other than
        ``"softmax"``.
    algorithm : str or callable, default="snes"
        A name of ``pn.ALGORITHMS`` (``"snes"``, ``"openes"``, ``"ga"``,
        ...) or a factory called as ``algorithm(n_params=..., seed=...,
        **algorithm_params)`` (plus ``pop_size=`` when set) that returns an
        algorithm, e.g. ``functools.partial(pn.OpenES, sigma=0.05)``.
    algorithm_params : dict, optional
        Extra constructor arguments of the algorithm (``{"sigma": 0.05}``).
    pop_size : int, optional
        Genomes per generation; default: the algorithm's.
    max_generations : int or None, default=300
        Generations to run.
    max_time : float or None, default=None
        Seconds to run at most; with ``max_generations``, whichever comes
        first.
    batch_size : int or None, default=None
        Samples per generation (a new minibatch each generation); ``None``
        uses the whole training set.  Clipped to the number of samples.
    random_state : int, RandomState or None, default=None
        Seeds the initial weights, the algorithm and the minibatches: the same
        int gives the same fit.
    n_threads : int, optional
        Threads of the library's kernels (results do not depend on it).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    n_features_in_ : int
    feature_names_in_ : ndarray of str, present when X had column names
    network_ : pyneat_lite.Network
    genome_ : float32 ndarray of shape ``(network_.n_params,)``
        The deployed weights: the better of the best genome evaluated and
        (for an evolution strategy) the final centre, on the training set.
    coefs_, intercepts_ : lists of ndarrays
        Per-layer weights ``(n_in, n_out)`` and biases, as in MLPClassifier.
    result_ : pyneat_lite.Result
        The run's result (history, stop reason, ...).
    algorithm_ : Algorithm
        The fitted algorithm (resume with ``algorithm_.run``).
    n_iter_ : int
        Generations run.
    best_fitness_ : float
        Minus the training cross-entropy of ``genome_``.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.model_selection import train_test_split
    >>> X, y = load_digits(return_X_y=True)
    >>> Xtr, Xte, ytr, yte = train_test_split(X / 16, y, random_state=0)
    >>> clf = EvolvedMLPClassifier((16,), max_generations=60, random_state=0)
    >>> bool(clf.fit(Xtr, ytr).score(Xte, yte) > 0.8)
    True
    """

    _output_activation = "softmax"

    def _fitness(self, net: Network, X: np.ndarray, y: np.ndarray,
                 batch: int | None, seed: int) -> Classification:
        return Classification(net, X, y, metric="cross_entropy", batch_size=batch,
                              seed=seed)

    def fit(self, X: Any, y: Any) -> EvolvedMLPClassifier:
        """Evolve the weights on ``X`` (n_samples, n_features) and labels ``y``.

        Returns
        -------
        self
        """
        X, y = validate_data(self, X, y, dtype=[np.float64, np.float32])
        check_classification_targets(y)
        self.classes_, codes = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(
                f"{type(self).__name__}.fit needs samples of at least 2 classes in "
                f"y. Got 1 class ({self.classes_[0]!r}) instead."
            )
        self._evolve(X, codes.astype(np.int64), len(self.classes_))
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, float64 ``(n_samples, n_classes)``; columns in
        the order of ``classes_``."""
        p = self._forward(X)
        return p / p.sum(axis=1, keepdims=True)

    def predict_log_proba(self, X: Any) -> np.ndarray:
        """Logarithm of :meth:`predict_proba`."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X: Any) -> np.ndarray:
        """Most probable class of each sample (first one on ties)."""
        proba = self.predict_proba(X)  # checks fitted-ness first
        return self.classes_[np.argmax(proba, axis=1)]


class EvolvedMLPRegressor(RegressorMixin, _EvolvedMLP):
    """Multilayer perceptron regressor whose weights are evolved.

    A network ``n_features -> hidden_layer_sizes -> n_targets`` (linear
    output) is trained to minimise the mean squared error of the
    standardized targets (each target column centred and divided by its
    standard deviation, which puts the output layer's weights on the scale
    of their initialisation; predictions are mapped back).  Inputs are not
    rescaled: put a ``StandardScaler`` in front, as for ``MLPRegressor``.

    Parameters
    ----------
    hidden_layer_sizes, activation, algorithm, algorithm_params, pop_size,
    max_generations, max_time, batch_size, random_state, n_threads
        As in :class:`EvolvedMLPClassifier`.

    Attributes
    ----------
    n_features_in_, feature_names_in_, network_, genome_, coefs_,
    intercepts_, result_, algorithm_, n_iter_
        As in :class:`EvolvedMLPClassifier`.
    best_fitness_ : float
        Minus the training mean squared error of ``genome_`` on the
        standardized targets.
    n_outputs_ : int
        Number of targets.

    Examples
    --------
    >>> X = np.linspace(-2, 2, 200)[:, None]
    >>> reg = EvolvedMLPRegressor((16,), max_generations=300, random_state=0)
    >>> bool(reg.fit(X, np.sin(X[:, 0])).score(X, np.sin(X[:, 0])) > 0.9)
    True
    """

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags

    def _fitness(self, net: Network, X: np.ndarray, y: np.ndarray,
                 batch: int | None, seed: int) -> Regression:
        return Regression(net, X, y, batch_size=batch, seed=seed)

    def fit(self, X: Any, y: Any) -> EvolvedMLPRegressor:
        """Evolve the weights on ``X`` (n_samples, n_features) and targets ``y``
        of shape (n_samples,) or (n_samples, n_targets).

        Returns
        -------
        self
        """
        X, y = validate_data(self, X, y, dtype=[np.float64, np.float32],
                             multi_output=True, y_numeric=True)
        y = np.asarray(y, dtype=np.float64)
        self._y_1d = y.ndim == 1
        y2 = y.reshape(len(y), -1)
        self.n_outputs_ = y2.shape[1]
        self._y_mean = y2.mean(axis=0)
        std = y2.std(axis=0)
        self._y_scale = np.where(std > 0, std, 1.0)
        self._evolve(X, (y2 - self._y_mean) / self._y_scale, self.n_outputs_)
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Predicted targets, ``(n_samples,)`` or ``(n_samples, n_targets)`` as
        ``y`` in :meth:`fit`."""
        out = self._forward(X) * self._y_scale + self._y_mean
        return out[:, 0] if self._y_1d else out
