"""Evolve a 28x28 image that a small CNN calls a "7".

A CNN (PyTorch, two conv layers) is first trained by gradient on MNIST
images (``--data DIR``). Then a GA evolves images -- genomes of 784 pixels,
one binary run (pixels 0/1) and one grayscale run (pixels in [0, 1]) -- whose
fitness is the CNN's softmax probability of the class 7. The operators know
the genome is an image: 2-D patch crossover (a rectangle of one parent pasted
into the other) and block mutation (a 4x4 block flipped, or perturbed and
clipped to [0, 1]). An optional prior (``--prior WEIGHT``) subtracts
``WEIGHT * |ink - ink7| / ink7``, where ``ink`` is the image's summed
intensity and ``ink7`` the mean ink of the real 7s, to keep the strokes'
amount realistic.

Why the winner can look like noise
----------------------------------
The CNN was trained to separate the handwritten digits, which occupy a tiny
region of the space of all 28x28 images. Outside that region its output is
unconstrained: a classifier's decision regions extend over the whole input
space, and most of any region is made of images no human would call a digit.
An evolutionary search maximises the classifier's probability, not
resemblance to a 7, so it usually finds such an image -- scattered pixels
that push the CNN's features the right way -- long before anything
stroke-like. These are adversarial (or "fooling") examples (Szegedy et al.,
"Intriguing properties of neural networks", 2014; Nguyen, Yosinski and
Clune, "Deep neural networks are easily fooled", 2015). The ink prior, a
smoother start or a classifier trained with noise images as an extra class
make the result more digit-like; none guarantees it.

Usage::

    python examples/evolve_digit_image.py --data ../shared/data/mnist
        [--generations 300] [--pop 64] [--prior 0.0] [--target 0.99]
        [--epochs 2] [--seed 0] [--out DIR]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

import pyneat_lite as pn
from pyneat_lite.tasks.demos import class_probability, predict_digits, train_digit_cnn

SHAPE = (28, 28)


def save_images(images: dict[str, np.ndarray], path: Path) -> None:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(2.2 * len(images), 2.6))
    for ax, (title, img) in zip(
        fig.subplots(1, len(images)), images.items(), strict=True
    ):
        ax.imshow(img.reshape(SHAPE), cmap="gray_r", vmin=0, vmax=1)
        ax.set_title(title, fontsize=8)
        ax.axis("off")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)


def main(argv: list[str] | None = None) -> dict[str, float]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="directory of the MNIST IDX files")
    ap.add_argument("--generations", type=int, default=300)
    ap.add_argument("--pop", type=int, default=64)
    ap.add_argument(
        "--prior",
        type=float,
        default=0.0,
        help="weight of the ink-count prior (0: off)",
    )
    ap.add_argument("--target", type=float, default=0.99, help="P(7) to reach")
    ap.add_argument("--epochs", type=int, default=2, help="CNN training epochs")
    ap.add_argument("--time-limit", type=float, default=None, help="seconds per run")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=None, help="where to save the images")
    args = ap.parse_args(argv)

    X, y = pn.datasets.load_mnist(args.data)
    Xtr, Xte, ytr, yte = pn.datasets.train_test_split(
        X, y, test_size=len(y) // 5, seed=0
    )
    t0 = time.perf_counter()
    cnn = train_digit_cnn(Xtr, ytr, epochs=args.epochs, seed=args.seed)
    pred = predict_digits(cnn, Xte)
    print(
        f"CNN trained on {len(ytr)} images in {time.perf_counter() - t0:.1f} s: "
        f"held-out accuracy {(pred == yte).mean():.3f}"
    )
    sevens = Xtr[ytr == 7]
    ink7 = float(sevens.sum(axis=1).mean())

    def fitness(pop: np.ndarray) -> np.ndarray:
        f = class_probability(cnn, pop, 7)
        if args.prior > 0:
            f = f - args.prior * np.abs(pop.sum(axis=1) - ink7) / ink7
        return f

    def reached(algo: pn.GA) -> bool:
        # stop on the CNN's verdict, whatever the prior adds
        return bool(class_probability(cnn, algo.best[None], 7)[0] >= args.target)

    rng = np.random.default_rng(args.seed)
    start = (rng.random((args.pop, 784)) < ink7 / 784).astype(np.float32)
    setups = {
        "binary": [
            pn.BlockMutation(SHAPE, size=4, mode="flip"),
            pn.BitFlipMutation(rate=2 / 784),
        ],
        "grayscale": [
            pn.BlockMutation(SHAPE, size=4, mode="perturb", sigma=0.4),
            pn.Clip(0.0, 1.0),
        ],
    }
    images = {"a real 7": sevens[0]}
    figures: dict[str, float] = {"cnn_accuracy": float((pred == yte).mean())}
    for kind, mutation in setups.items():
        ga = pn.GA(
            n_params=784,
            pop_size=args.pop,
            seed=args.seed,
            selection=pn.Tournament(k=3),
            crossover=pn.PatchCrossover(SHAPE),
            mutation=mutation,
            elitism=2,
            initial_population=start,
        )
        t0 = time.perf_counter()
        result = ga.run(
            fitness,
            generations=args.generations,
            time_limit=args.time_limit,
            callbacks=[reached],
            progress=True,
        )
        p7 = class_probability(cnn, result.best[None], 7)[0]
        ink = float(result.best.sum())
        print(
            f"{kind}: P(7) = {p7:.4f} after {result.generations_run} generations "
            f"({time.perf_counter() - t0:.1f} s); ink {ink:.0f} vs {ink7:.0f} "
            "for real 7s"
        )
        images[f"{kind}: P(7)={p7:.3f}"] = result.best
        figures[f"{kind}_p7"] = float(p7)
        figures[f"{kind}_generations"] = result.generations_run
    if args.out:
        path = Path(args.out) / "evolved_7.png"
        save_images(images, path)
        print(f"saved {path}")
    return figures


if __name__ == "__main__":
    main()
