"""The scikit-learn estimators pass scikit-learn's own estimator checks, learn
real data sets, and work inside Pipeline and GridSearchCV."""

from __future__ import annotations

import functools
import importlib.util
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

import pyneat_lite as pn
from pyneat_lite.estimators import EvolvedMLPClassifier, EvolvedMLPRegressor

# Small budgets keep the checks fast; 100 generations are enough for the
# accuracy (> 0.83) and R^2 (> 0.5) floors of check_*_train.
CHECKED = [
    EvolvedMLPClassifier((4,), max_generations=100, pop_size=16, random_state=0),
    EvolvedMLPRegressor((4,), max_generations=100, pop_size=16, random_state=0),
]


@parametrize_with_checks(CHECKED)
def test_sklearn_estimator_checks(estimator, check, monkeypatch):
    # Every check runs, none is skipped.  check_array_api_input refuses to run
    # unless SCIPY_ARRAY_API=1; these estimators do not declare array API
    # support, so it runs its NumPy-only variant (array_api_dispatch on, NumPy
    # inputs: the results must not change), for which scipy's own array API
    # mode makes no difference.
    monkeypatch.setenv("SCIPY_ARRAY_API", "1")
    check(estimator)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16.0, y, test_size=0.3, random_state=0)


def test_classifier_learns_digits(digits):
    Xtr, Xte, ytr, yte = digits
    clf = EvolvedMLPClassifier((16,), max_generations=100, pop_size=50,
                               batch_size=256, random_state=0)
    clf.fit(Xtr, ytr)
    acc = accuracy_score(yte, clf.predict(Xte))
    assert acc > 0.85  # chance: 0.1
    proba = clf.predict_proba(Xte)
    assert proba.shape == (len(yte), 10)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert clf.score(Xte, yte) == acc
    # the deployed genome is what the attributes hold
    net = clf.network_
    assert tuple(net.sizes) == (64, 16, 10) and clf.genome_.shape == (net.n_params,)
    np.testing.assert_array_equal(net.flatten(list(zip(clf.coefs_, clf.intercepts_,
                                                        strict=True))), clf.genome_)
    assert clf.n_iter_ == 100 and clf.result_.stop_reason == "generations"
    # the same seed gives the same fit; another seed another one
    fits = [EvolvedMLPClassifier((8,), max_generations=10, batch_size=100,
                                 random_state=s).fit(Xtr, ytr).genome_
            for s in (3, 3, 4)]
    np.testing.assert_array_equal(fits[0], fits[1])
    assert not np.array_equal(fits[0], fits[2])


def test_classifier_string_labels_minibatch_and_time_limit(digits):
    Xtr, _, ytr, _ = digits
    names = np.array(["zero", "one", "two", "three", "four", "five", "six",
                      "seven", "eight", "nine"])
    clf = EvolvedMLPClassifier((8,), algorithm="openes", pop_size=20,
                               max_generations=60, batch_size=64, random_state=1)
    clf.fit(Xtr, names[ytr])
    assert list(clf.classes_) == sorted(names)
    assert set(clf.predict(Xtr)) <= set(names)
    assert clf.score(Xtr, names[ytr]) > 0.3  # chance: 0.1
    timed = EvolvedMLPClassifier((8,), max_generations=None, max_time=0.3,
                                 random_state=1).fit(Xtr, ytr)
    assert timed.result_.stop_reason == "time_limit" and timed.n_iter_ >= 1
    assert timed.result_.elapsed < 5.0


def test_regressor_learns_a_function():
    rng = np.random.default_rng(0)
    X = rng.uniform(-2, 2, (400, 2))
    y = np.column_stack([np.sin(X[:, 0]) * 3 + 10, X[:, 0] * X[:, 1]])
    reg = EvolvedMLPRegressor((16,), max_generations=150, pop_size=50,
                              random_state=0)
    reg.fit(X[:300], y[:300])
    pred = reg.predict(X[300:])
    assert pred.shape == (100, 2) and reg.n_outputs_ == 2
    assert r2_score(y[300:], pred) > 0.8
    one = EvolvedMLPRegressor((16,), max_generations=150, pop_size=50,
                              random_state=0)
    assert one.fit(X[:300], y[:300, 0]).predict(X[300:]).shape == (100,)
    # the target's offset and scale are learnt through the standardization
    assert abs(one.predict(X[300:]).mean() - y[300:, 0].mean()) < 0.5


@pytest.mark.parametrize("algorithm", [name for name in pn.ALGORITHMS])
def test_every_algorithm_and_a_factory(digits, algorithm):
    Xtr, Xte, ytr, yte = digits
    clf = EvolvedMLPClassifier((8,), algorithm=algorithm, pop_size=20,
                               max_generations=40, random_state=0).fit(Xtr, ytr)
    assert type(clf.algorithm_) is pn.ALGORITHMS[algorithm]
    assert clf.algorithm_.pop_size == 20
    assert clf.score(Xte, yte) > 0.25  # well above chance (0.1) after 40 gens


def test_algorithm_factory_and_params(digits):
    Xtr, _, ytr, _ = digits
    factory = functools.partial(pn.OpenES, sigma=0.05, lr=0.05)
    clf = EvolvedMLPClassifier((8,), algorithm=factory, max_generations=5,
                               random_state=0).fit(Xtr, ytr)
    assert isinstance(clf.algorithm_, pn.OpenES) and clf.algorithm_.sigma0 == 0.05
    clf = EvolvedMLPClassifier((8,), algorithm="snes",
                               algorithm_params={"sigma": 0.3}, max_generations=5,
                               random_state=0).fit(Xtr, ytr)
    assert clf.algorithm_.sigma0 == 0.3
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict_proba(Xtr), clf.predict_proba(Xtr))


def test_pipeline_and_grid_search(digits):
    Xtr, Xte, ytr, yte = digits
    pipe = make_pipeline(StandardScaler(), EvolvedMLPClassifier(
        max_generations=20, pop_size=20, random_state=0))
    key = "evolvedmlpclassifier__"
    grid = GridSearchCV(pipe, {key + "hidden_layer_sizes": [(4,), (12,)],
                               key + "activation": ["tanh", "relu"]}, cv=2)
    grid.fit(Xtr[:400], ytr[:400])
    assert len(grid.cv_results_["params"]) == 4
    assert grid.best_params_[key + "hidden_layer_sizes"] in [(4,), (12,)]
    assert grid.score(Xte, yte) > 0.4
    best = grid.best_estimator_[-1]
    assert best.get_params()["max_generations"] == 20
    assert best.set_params(max_generations=3).max_generations == 3


@pytest.mark.parametrize(("params", "exc", "match"), [
    ({"hidden_layer_sizes": (4, 0)}, ValueError, "'hidden_layer_sizes'"),
    ({"hidden_layer_sizes": "16"}, ValueError, "'hidden_layer_sizes'"),
    ({"activation": "softmax"}, ValueError, "'activation' parameter.*tanh"),
    ({"algorithm": "adam"}, ValueError, "'algorithm' parameter.*snes"),
    ({"algorithm": lambda **kw: 3}, TypeError, "'algorithm' parameter.*int"),
    ({"algorithm_params": [("sigma", 1)]}, TypeError, "'algorithm_params'"),
    ({"algorithm_params": {"sigmaa": 1}}, TypeError, "sigmaa"),
    ({"max_generations": 0}, ValueError, "'max_generations'"),
    ({"max_generations": None}, ValueError, "'max_generations' and 'max_time'"),
    ({"max_time": -1.0}, ValueError, "'max_time'"),
    ({"pop_size": 1}, ValueError, "'pop_size'"),
    ({"batch_size": 2.5}, ValueError, "'batch_size'"),
    ({"random_state": -3}, ValueError, "'random_state'"),
])
def test_bad_parameters_are_named(params, exc, match):
    X = np.random.default_rng(0).standard_normal((20, 3))
    y = np.arange(20) % 2
    with pytest.raises(exc, match=match):
        EvolvedMLPClassifier(**{"max_generations": 2, "pop_size": 4, **params}).fit(
            X, y)
    with pytest.raises(ValueError, match="at least 2 classes"):
        EvolvedMLPClassifier(max_generations=2).fit(X, np.zeros(20))


def test_clear_import_error_without_sklearn():
    code = ("import sys; sys.modules['sklearn'] = None\n"
            "try:\n    import pyneat_lite.estimators\n"
            "except ImportError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert "requires scikit-learn" in out and "pyneat_lite[sklearn]" in out


def test_sklearn_digits_example():
    path = Path(__file__).resolve().parents[1] / "examples" / "sklearn_digits.py"
    spec = importlib.util.spec_from_file_location("example_sklearn_digits", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    fig = module.main(["--hidden", "8", "--generations", "15", "--pop", "20",
                       "--grid"])
    assert set(fig) == {"mlp_accuracy", "mlp_seconds", "evolved_accuracy",
                        "evolved_seconds", "grid_accuracy", "grid_seconds"}
    assert fig["mlp_accuracy"] > 0.9 and fig["evolved_accuracy"] > 0.2
    assert fig["grid_accuracy"] > 0.2
