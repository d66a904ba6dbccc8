"""Evolve a 28x28 image that a CNN calls a "7" and that looks like a 7.

The MNIST images (``--data DIR``) are split with a fixed seed
(:func:`pyneat_lite.tasks.judges.judge_split`): a small PyTorch CNN is
trained by gradient on one half, and a :class:`~pyneat_lite.tasks.judges.DigitJudge`
(a k-NN on deskewed digits, a softmax regression on gradient histograms
evolved by the library, a realism distance) is built from the other half. The search sees the CNN only;
the judges decide afterwards whether its image is a 7.

Two searches, each run for ``--seeds`` seeds, binary (pixels 0/1) and
grayscale:

- **priors** (the recommended way): the genome is 30 principal-component
  coefficients of real digits of all classes (:class:`~pyneat_lite.tasks.images.PCABasis`,
  a genome decoder; binary images are its decoding thresholded at 0.5),
  evolved by SNES from a random start with fitness
  ``P_cnn(7) - prior * (gaussian_prior + ink_penalty + NearestReal)`` -- the
  priors of :mod:`pyneat_lite.tasks.images`, built from the CNN's half of
  the data, never from the judge's; ``NearestReal`` penalises a distance to
  the nearest real 7 beyond the ``--near-percentile`` (default 30) of the
  real 7s' own nearest-neighbour distances, which keeps the faint ghost
  strokes of a blend of components off the image;
- **fooling** (the priors switched off): the genome is the 784 pixels, a GA
  with 2-D patch crossover and block mutation, fitness ``P_cnn(7)`` alone.
  It reaches the CNN's target just as well, and its images are noise that
  no judge calls a 7: fooling examples (Nguyen, Yosinski and Clune, "Deep
  neural networks are easily fooled", 2015).

A run succeeds when the CNN's P(7) >= ``--target`` AND both judges call the
image a 7 with probability >= 0.9 AND its distance to the nearest real digit
is within the 95th percentile of real 7s'.

Outputs in ``--out DIR``: ``evolved_7.png`` and ``evolved_7_fooling.png``
(grids with the CNN's and the judges' scores), ``fitness_7.png`` (P(7) of the
best image over time, seed 0), ``images_7.npy`` and
``images_7_fooling.npy`` (the final images, ``(n, 28, 28)`` float32 in
[0, 1], binary runs first).

Usage::

    python examples/evolve_digit_image.py --data ../shared/data/mnist
        [--seeds 10] [--prior 1.0] [--near-percentile 30] [--components 30] [--pop 32]
        [--generations 300] [--time-limit 60] [--target 0.99] [--epochs 2]
        [--out DIR]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

import pyneat_lite as pn
from pyneat_lite.tasks import images as im
from pyneat_lite.tasks.demos import class_probability, predict_digits, train_digit_cnn
from pyneat_lite.tasks.judges import DigitJudge, judge_split

SHAPE = (28, 28)
KINDS = ("binary", "grayscale")


def prior_search(cnn, basis, priors, *, binary, seed, args):
    """SNES on PCA coefficients: returns (image, P(7) over time)."""

    def decode(Z: np.ndarray) -> np.ndarray:
        img = basis.decode(Z)
        return (img > 0.5).astype(np.float32) if binary else img

    def fitness(Z: np.ndarray) -> np.ndarray:
        img = decode(Z)
        f = class_probability(cnn, img, 7)
        if args.prior > 0:
            f = f - args.prior * priors(Z, img)
        return f

    rng = np.random.default_rng(seed)
    es = pn.SNES(n_params=basis.n_components, pop_size=args.pop, sigma=1.0,
                 seed=seed, x0=0.5 * rng.standard_normal(basis.n_components))
    curve = _Curve(lambda a: class_probability(cnn, decode(a.best[None]), 7)[0])
    # fitness >= target: P(7) >= target with (almost) no penalty
    es.run(fitness, generations=args.generations, target=args.target,
           time_limit=args.time_limit, callbacks=[curve])
    return decode(es.best[None])[0], curve


def fooling_search(cnn, start_ink, *, binary, seed, args):
    """The GA on 784 pixels with the CNN's P(7) alone: (image, P(7) over time)."""
    rng = np.random.default_rng(seed)
    start = (rng.random((args.fooling_pop, 784)) < start_ink).astype(np.float32)
    mutation = ([pn.BlockMutation(SHAPE, size=4, mode="flip"),
                 pn.BitFlipMutation(rate=2 / 784)] if binary else
                [pn.BlockMutation(SHAPE, size=4, mode="perturb", sigma=0.4),
                 pn.Clip(0.0, 1.0)])
    ga = pn.GA(n_params=784, pop_size=args.fooling_pop, seed=seed,
               selection=pn.Tournament(k=3), crossover=pn.PatchCrossover(SHAPE),
               mutation=mutation, elitism=2, initial_population=start)

    def fitness(pop: np.ndarray) -> np.ndarray:
        return class_probability(cnn, pop, 7)

    curve = _Curve(lambda a: a.best_fitness)
    ga.run(fitness, generations=args.fooling_generations, target=args.target,
           time_limit=args.time_limit, callbacks=[curve])
    return ga.best.copy(), curve


class _Curve:
    """A run callback: (seconds, P(7) of the best image) after each generation."""

    def __init__(self, p7: Callable) -> None:
        self.p7, self.t0, self.points = p7, time.perf_counter(), []

    def __call__(self, algo) -> bool:
        self.points.append((time.perf_counter() - self.t0, float(self.p7(algo))))
        return False

    @property
    def seconds(self) -> float:
        return self.points[-1][0] if self.points else 0.0


def save_grid(images, titles, path: Path, ncols: int = 5) -> None:
    from matplotlib.figure import Figure

    n = len(images)
    nrows = (n + ncols - 1) // ncols
    fig = Figure(figsize=(2.1 * ncols, 2.3 * nrows))
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax in axes:
        ax.axis("off")
    for ax, img, title in zip(axes, images, titles, strict=False):
        ax.imshow(img.reshape(SHAPE), cmap="gray_r", vmin=0, vmax=1)
        ax.set_title(title, fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=90)


def save_curves(curves: dict, path: Path) -> None:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 3.5))
    ax = fig.subplots()
    for name, curve in curves.items():
        t, p = zip(*curve.points, strict=True)
        ax.plot(t, p, marker=".", label=name)
    ax.set_xlabel("seconds")
    ax.set_ylabel("CNN P(7) of the best image")
    ax.set_xscale("symlog", linthresh=0.1)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=90)


def main(argv: list[str] | None = None) -> dict[str, float]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", required=True, help="directory of the MNIST IDX files")
    ap.add_argument("--seeds", type=int, default=10, help="runs per search and kind")
    ap.add_argument("--prior", type=float, default=1.0,
                    help="weight of the priors in the fitness (0: the basis alone)")
    ap.add_argument("--near-percentile", type=float, default=30.0,
                    help="percentile of real 7s' nearest-neighbour distances beyond "
                         "which the nearest-real-7 prior penalises")
    ap.add_argument("--components", type=int, default=30, help="PCA genome length")
    ap.add_argument("--pop", type=int, default=32, help="SNES population")
    ap.add_argument("--generations", type=int, default=300)
    ap.add_argument("--fooling-pop", type=int, default=64)
    ap.add_argument("--fooling-generations", type=int, default=300)
    ap.add_argument("--time-limit", type=float, default=60.0, help="seconds per run")
    ap.add_argument("--target", type=float, default=0.99, help="CNN P(7) to reach")
    ap.add_argument("--epochs", type=int, default=2, help="CNN training epochs")
    ap.add_argument("--torch-threads", type=int, default=1,
                    help="PyTorch threads (more spin idle on a shared machine)")
    ap.add_argument("--out", default=None, help="where to save PNGs and arrays")
    args = ap.parse_args(argv)
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(args.torch_threads)
    try:
        return run(args)
    finally:
        torch.set_num_threads(threads)


def run(args: argparse.Namespace) -> dict[str, float]:
    """The experiment of :func:`main` on parsed arguments."""

    X, y = pn.datasets.load_mnist(args.data)
    Xm, Xj, ym, yj = judge_split(X, y)
    t0 = time.perf_counter()
    cnn = train_digit_cnn(Xm, ym, epochs=args.epochs, seed=0)
    acc = float((predict_digits(cnn, Xj) == yj).mean())
    judge = DigitJudge(Xj, yj, seed=0)
    print(f"CNN trained on {len(ym)} images, judge built from the other {len(yj)} "
          f"({time.perf_counter() - t0:.1f} s): CNN accuracy on the judge's images "
          f"{acc:.3f}; {judge}")

    # the priors, from the CNN's side of the split only
    basis = im.PCABasis(Xm, args.components)
    sevens = Xm[ym == 7]
    ink7 = float(im.ink(sevens).mean())
    near7 = im.NearestReal(sevens, percentile=args.near_percentile)

    def priors(Z: np.ndarray, img: np.ndarray) -> np.ndarray:
        return im.gaussian_prior(Z) + im.ink_penalty(img, ink7) + near7(img)

    figures: dict[str, float] = {"cnn_accuracy": acc}
    finals: dict[str, list] = {"priors": [], "fooling": []}
    titles: dict[str, list] = {"priors": [], "fooling": []}
    curves: dict[str, _Curve] = {}
    print(f"{'search':>8} {'kind':>9} {'seed':>4} {'P(7)':>6} {'kNN':>5} {'clf':>5} "
          f"{'dist':>5} {'thr':>5} {'7?':>3} {'s':>6}")
    for search in ("priors", "fooling"):
        for kind in KINDS:
            ok = []
            times = []
            for seed in range(args.seeds):
                if search == "priors":
                    img, curve = prior_search(cnn, basis, priors,
                                              binary=kind == "binary", seed=seed,
                                              args=args)
                else:
                    img, curve = fooling_search(cnn, ink7 / 784,
                                                binary=kind == "binary", seed=seed,
                                                args=args)
                p7 = float(class_probability(cnn, img[None], 7)[0])
                v = judge(img[None], label=7)
                good = bool(p7 >= args.target and v.passed[0])
                ok.append(good)
                times.append(curve.seconds)
                finals[search].append(img)
                titles[search].append(
                    f"{kind} s{seed}: CNN {p7:.3f}\nkNN {v.knn_proba[0, 7]:.1f} "
                    f"clf {v.classifier_proba[0, 7]:.2f} d {v.distance[0]:.1f}/"
                    f"{v.threshold[0]:.1f}")
                if seed == 0:
                    curves[f"{search}, {kind}"] = curve
                print(f"{search:>8} {kind:>9} {seed:4d} {p7:6.3f} "
                      f"{v.knn_proba[0, 7]:5.2f} {v.classifier_proba[0, 7]:5.2f} "
                      f"{v.distance[0]:5.2f} {v.threshold[0]:5.2f} "
                      f"{'yes' if good else 'no':>3} {curve.seconds:6.2f}", flush=True)
            figures[f"{search}_{kind}_success"] = int(sum(ok))
            figures[f"{search}_{kind}_median_seconds"] = float(np.median(times))
    print(f"\nsuccess (CNN P(7) >= {args.target}, both judges say 7 at p >= 0.9, "
          f"realistic), of {args.seeds} seeds:")
    for kind in KINDS:
        print(f"  {kind:>9}: priors {figures[f'priors_{kind}_success']}/{args.seeds} "
              f"(median {figures[f'priors_{kind}_median_seconds']:.2f} s), fooling "
              f"{figures[f'fooling_{kind}_success']}/{args.seeds} (median "
              f"{figures[f'fooling_{kind}_median_seconds']:.2f} s)")
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        for search, suffix in (("priors", ""), ("fooling", "_fooling")):
            arr = np.stack(finals[search]).reshape(-1, *SHAPE).astype(np.float32)
            np.save(out / f"images_7{suffix}.npy", arr)
            save_grid(arr, titles[search], out / f"evolved_7{suffix}.png",
                      ncols=max(1, min(args.seeds, 5)))
        save_curves(curves, out / "fitness_7.png")
        print(f"saved evolved_7.png, evolved_7_fooling.png, fitness_7.png, "
              f"images_7.npy, images_7_fooling.npy in {out}")
    return figures


if __name__ == "__main__":
    main()
