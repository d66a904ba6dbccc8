"""Digits with scikit-learn: EvolvedMLPClassifier next to MLPClassifier.

Both classifiers get the same network (64 -> hidden -> 10) in the same
``Pipeline(StandardScaler(), classifier)``, on the same stratified 70/30
split of scikit-learn's 8x8 digits (1,797 images).  MLPClassifier trains it
with Adam on the gradient of the cross-entropy; EvolvedMLPClassifier evolves
the weights with an evolution strategy on minus the cross-entropy, without
gradients.  The script prints test accuracy and fit time of both, then the
evolved model's best parameters of a small GridSearchCV (``--grid``).

Needs scikit-learn (``pip install ".[sklearn]"``).

Usage::

    python examples/sklearn_digits.py [--hidden 32] [--generations 300]
        [--time-limit SECONDS] [--algorithm snes] [--pop N]
        [--batch-size 256] [--seed 0] [--grid]
"""

from __future__ import annotations

import argparse
import time
import warnings

from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import pyneat_lite as pn


def main(argv: list[str] | None = None) -> dict[str, float]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--hidden", type=int, default=32, help="hidden units (default 32)")
    ap.add_argument("--generations", type=int, default=300,
                    help="generations of the evolution (default 300)")
    ap.add_argument("--time-limit", type=float, default=None,
                    help="seconds of evolution at most (default: no limit)")
    ap.add_argument("--algorithm", default="snes", choices=sorted(pn.ALGORITHMS),
                    help="algorithm of EvolvedMLPClassifier (default snes)")
    ap.add_argument("--pop", type=int, default=None,
                    help="population size (default: the algorithm's)")
    ap.add_argument("--batch-size", type=int, default=256,
                    help="training images per generation (default 256)")
    ap.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    ap.add_argument("--grid", action="store_true",
                    help="also run a small GridSearchCV over the evolved model")
    args = ap.parse_args(argv)

    X, y = load_digits(return_X_y=True)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.3, stratify=y,
                                          random_state=args.seed)
    models = {
        "MLPClassifier (Adam)": MLPClassifier(
            (args.hidden,), activation="tanh", max_iter=300, random_state=args.seed),
        f"EvolvedMLPClassifier ({args.algorithm})": pn.EvolvedMLPClassifier(
            (args.hidden,), activation="tanh", algorithm=args.algorithm,
            pop_size=args.pop, max_generations=args.generations,
            max_time=args.time_limit, batch_size=args.batch_size,
            random_state=args.seed),
    }
    # the first fit compiles the library's kernels: do it outside the timing
    pn.EvolvedMLPClassifier((args.hidden,), max_generations=1).fit(Xtr[:50], ytr[:50])
    figures: dict[str, float] = {}
    print(f"digits: {len(Xtr)} training, {len(Xte)} test images; network "
          f"64-{args.hidden}-10 (tanh, softmax)")
    print(f"{'model':34s} {'test accuracy':>13s} {'fit time (s)':>12s}")
    for key, (name, clf) in zip(("mlp", "evolved"), models.items(), strict=True):
        pipe = make_pipeline(StandardScaler(), clf)
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            pipe.fit(Xtr, ytr)
        seconds = time.perf_counter() - t0
        acc = pipe.score(Xte, yte)
        figures[f"{key}_accuracy"], figures[f"{key}_seconds"] = acc, seconds
        print(f"{name:34s} {acc:13.3f} {seconds:12.2f}")
    evolved = models[f"EvolvedMLPClassifier ({args.algorithm})"]
    print(f"evolution: {evolved.n_iter_} generations, stop: "
          f"{evolved.result_.stop_reason}")

    if args.grid:
        pipe = make_pipeline(StandardScaler(), pn.EvolvedMLPClassifier(
            algorithm=args.algorithm, max_generations=max(1, args.generations // 3),
            batch_size=args.batch_size, random_state=args.seed))
        grid = GridSearchCV(pipe, {
            "evolvedmlpclassifier__hidden_layer_sizes": [(16,), (args.hidden,)],
            "evolvedmlpclassifier__activation": ["tanh", "relu"]}, cv=3)
        t0 = time.perf_counter()
        grid.fit(Xtr, ytr)
        figures["grid_accuracy"] = grid.score(Xte, yte)
        figures["grid_seconds"] = time.perf_counter() - t0
        print(f"GridSearchCV (4 settings x 3 folds, {time.perf_counter() - t0:.1f} s): "
              f"best {grid.best_params_}, test accuracy {figures['grid_accuracy']:.3f}")
    return figures


if __name__ == "__main__":
    main()
