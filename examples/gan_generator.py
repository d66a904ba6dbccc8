"""Evolve a GAN generator against a discriminator trained by gradient.

The generator is a pyneat_lite network, latent 100 -> 784 with a sigmoid
output (``--hidden H`` inserts a tanh hidden layer), whose weights are
evolved; the discriminator is a small PyTorch MLP trained by Adam. Each
generation:

1. every genome generates images from the same 16 latent vectors (common
   random numbers: fitness differences come from the genomes), all in one
   call of ``net.forward``;
2. its fitness is the mean ``log D(G(z))`` of its images (the non-saturating
   generator objective);
3. the discriminator takes ``--d-steps`` gradient steps on real MNIST images
   (``--data DIR``) against the images of this generation.

The fitness changes as the discriminator learns, so the GA re-scores its
elites every generation (``reevaluate_elites=True``). This is the setup of a
hand-written NumPy GA that evolves a generator against a Keras/PyTorch
discriminator, with the generation loop written with ask/tell.

A PNG grid of samples of the best genome of the current generation is saved
at the start, at each third of the run and at the end (``--out DIR``).
Expect no digits: in 200 generations (about 3 minutes here) the discriminator
wins -- D(fake) falls to about 0.005 with the GA and 0.02 with
``--algorithm snes``, whose samples are central ink blobs on a noisy
background. Gradient-free search over ~80,000 weights against a target that
learns by gradient is the hard case this example documents.

Usage::

    python examples/gan_generator.py --data ../shared/data/mnist
        [--generations 300] [--pop 64] [--algorithm ga|snes] [--hidden 0]
        [--d-steps 1] [--d-lr 2e-4] [--seed 0] [--out DIR]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pyneat_lite as pn
from pyneat_lite.tasks.demos import GANGame, save_grid


def main(argv: list[str] | None = None) -> dict[str, float]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="directory of the MNIST IDX files")
    ap.add_argument("--generations", type=int, default=300)
    ap.add_argument("--pop", type=int, default=64)
    ap.add_argument("--algorithm", choices=("ga", "snes"), default="ga")
    ap.add_argument("--hidden", type=int, default=0, help="hidden units (0: none)")
    ap.add_argument(
        "--d-steps",
        type=int,
        default=1,
        help="discriminator gradient steps per generation",
    )
    ap.add_argument(
        "--d-lr", type=float, default=2e-4, help="discriminator learning rate (Adam)"
    )
    ap.add_argument("--time-limit", type=float, default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=None, help="where to save the PNG grids")
    args = ap.parse_args(argv)

    X, _ = pn.datasets.load_mnist(args.data)
    sizes = [100, args.hidden, 784] if args.hidden else [100, 784]
    net = pn.Network(sizes, ["tanh", "sigmoid"] if args.hidden else "sigmoid")
    if args.algorithm == "ga":
        algo = pn.GA(
            n_params=net.n_params,
            pop_size=args.pop,
            seed=args.seed,
            selection=pn.Tournament(k=3),
            mutation=pn.GaussianMutation(rate=0.05, sigma=0.1),
            elitism=4,
            reevaluate_elites=True,
            initial_population=net.init_population(args.pop, seed=args.seed),
        )
    else:
        algo = pn.SNES(
            n_params=net.n_params,
            pop_size=args.pop,
            seed=args.seed,
            x0=net.init_genome(seed=args.seed),
        )

    game = GANGame(net, X, d_steps=args.d_steps, d_lr=args.d_lr, seed=args.seed)
    out = Path(args.out) if args.out else None
    stages = {0, args.generations // 3, 2 * args.generations // 3, args.generations - 1}
    d_real = d_fake = float("nan")
    t0 = time.perf_counter()
    for gen in range(args.generations):
        if args.time_limit is not None and time.perf_counter() - t0 > args.time_limit:
            break
        pop = algo.ask()
        fitness = game(pop)  # scores, then trains the discriminator
        algo.tell(fitness)
        d_real = game.discriminate(game.last_real[:256])
        d_fake = game.discriminate(game.last_fake)
        best_now = game.best
        if gen in stages or gen % 50 == 0:
            print(
                f"generation {gen:4d}: mean log D(G(z)) best {fitness.max():.3f} "
                f"mean {fitness.mean():.3f}; D(real) {d_real:.3f}, D(fake) {d_fake:.3f}"
                f" ({time.perf_counter() - t0:.1f} s)",
                flush=True,
            )
        if out is not None and gen in stages:
            save_grid(game.samples(best_now), out / f"gan_generation_{gen:04d}.png")
    elapsed = time.perf_counter() - t0
    print(
        f"{algo.generation} generations in {elapsed:.1f} s; "
        f"final D(real) {d_real:.3f}, D(fake) {d_fake:.3f}"
    )
    if out is not None:
        print(f"saved the sample grids in {out}")
    return {
        "generations": algo.generation,
        "seconds": elapsed,
        "d_real": d_real,
        "d_fake": d_fake,
    }


if __name__ == "__main__":
    main()
