"""Evolve a GAN generator that draws digits, against a CNN discriminator trained by gradient.

The MNIST images (``--data DIR``) are split with a fixed seed
(:func:`pyneat_lite.tasks.judges.judge_split`): the discriminator and the
generator's decoder basis learn from one half; a
:class:`~pyneat_lite.tasks.judges.DigitJudge` built from the other half judges
the final samples. Neither the search nor the model selection sees the judge.

The game, made stable enough for a gradient-free generator:

- the generator is a pyneat_lite network ``latent -> hidden (tanh) -> d``
  whose outputs are coefficients of a ``d``-component PCA basis of real
  digits (:class:`~pyneat_lite.tasks.images.PCABasis`, a latent-to-image
  decoder): about 1,500 weights instead of 80,000, and every output is
  already a blend of digit strokes. Its latent is a one-hot code of
  ``--codes`` values (InfoGAN's categorical latent; no labels are used)
  and Gaussian inputs, so that it can switch between modes abruptly;
- its weights are evolved by SNES; every genome generates images from the
  same ``--batch`` latent vectors (common random numbers, every code equally
  often, new ones each generation), all in one ``net.forward``;
- fitness: the mean ``log D(G(z))`` (non-saturating), plus ``--diversity``
  times the spread of the genome's coefficients (mean pairwise distance,
  capped at the real digits' spread), minus ``--feature-matching`` times the
  squared gap between the mean discriminator features of the genome's
  images and of real digits (Salimans et al. 2016), relative to the real
  features' squared norm: a generator that collapses to a few images loses;
  optionally minus ``--density`` times the mean distance of its samples to
  their nearest real digits (the discriminator's half, in coefficient
  space), a mode-seeking term that is not adversarial;
- the discriminator, a small PyTorch CNN, takes ``--d-steps`` Adam steps per
  generation on real images against images of the current population, with
  one-sided label smoothing (real target ``--smooth``) and instance noise
  (Gaussian, ``--noise`` annealed to 0 over the run), so that it never
  becomes certain and its verdict keeps a slope;
- model selection without the judge: every ``--select-every`` generations
  the centre of the search distribution draws ``--n-samples`` images, whose
  Fréchet distance to the real digits is computed on the decoder basis's
  coefficients (the discriminator's half of the data, not the judge's); the
  generator with the lowest one is kept.

The final (selected) generator's samples are judged: the fraction judged a
digit of some class by every judge with probability >= 0.9, the number of
classes, the realism fraction, and the Fréchet distance between the judge's
features of the samples and of real digits, next to the same figure for
uniform noise (the issue's goals: >= 70%, >= 8 classes, FD <= noise FD / 3).

Outputs in ``--out DIR``: ``gan_samples.png`` (the judged samples with their
labels), ``gan_generation_XXXX.png`` (samples during the run),
``gan_curves.png`` (discriminator outputs and the selection statistic over
time), ``gan_samples.npy`` ``(n, 28, 28)`` float32 in [0, 1].

Usage::

    python examples/gan_generator.py --data ../shared/data/mnist
        [--time-limit 600] [--generations 100000] [--pop 32] [--batch 10]
        [--latent 14] [--codes 10] [--hidden 32] [--components 30]
        [--diversity 1.0] [--feature-matching 1.0] [--density 0.0]
        [--d-steps 1] [--d-lr 5e-4] [--smooth 0.9] [--noise 0.2]
        [--select-every 25] [--n-samples 100] [--seed 0] [--out DIR]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

import pyneat_lite as pn
from pyneat_lite.tasks import images as im
from pyneat_lite.tasks.demos import save_grid
from pyneat_lite.tasks.judges import DigitJudge, frechet_distance, judge_split


def make_discriminator(torch, seed: int):
    """The CNN's feature extractor and its linear head (one logit)."""
    nn = torch.nn
    torch.manual_seed(seed)
    body = nn.Sequential(
        nn.Conv2d(1, 8, 5, stride=2, padding=2), nn.LeakyReLU(0.2),
        nn.Conv2d(8, 16, 5, stride=2, padding=2), nn.LeakyReLU(0.2),
        nn.Flatten(),
    )
    return body, nn.Linear(16 * 7 * 7, 1)


class Game:
    """Generator fitness against a discriminator that learns as the run goes."""

    def __init__(self, net, basis, real, args, torch):
        self.net, self.basis, self.args, self.torch = net, basis, args, torch
        self.body, self.head = make_discriminator(torch, args.seed)
        self.disc = torch.nn.Sequential(self.body, self.head)
        self.opt = torch.optim.Adam(self.disc.parameters(), lr=args.d_lr,
                                    betas=(0.5, 0.999))
        self.real = torch.from_numpy(real.reshape(-1, 1, 28, 28))
        self.rng = np.random.default_rng(args.seed)
        self.noise = args.noise
        # spread of real digits in coefficient space: sqrt(2 d) for unit variance
        self.real_spread = float(np.sqrt(2.0 * basis.n_components))
        self.d_real = self.d_fake = float("nan")
        self.real_coef = np.ascontiguousarray(basis.encode(real), np.float32)
        self.real_sq = (self.real_coef**2).sum(1)
        if args.density > 0 or args.coverage > 0:
            # the same statistic among real digits (a sample of them, leave-one-out)
            c = self.real_coef[:500]
            d2 = (c**2).sum(1)[:, None] + self.real_sq[None, :] - 2.0 * (
                c @ self.real_coef.T)
            near = np.partition(np.maximum(d2, 0.0), args.density_k + 1, axis=1)
            self.real_knn_dist = float(np.sqrt(near[:, 1 : args.density_k + 1]).mean())

    def latents(self, n: int, rng: np.random.Generator | None = None) -> np.ndarray:
        rng = self.rng if rng is None else rng
        z = rng.standard_normal((n, self.net.n_in)).astype(np.float32)
        if self.args.codes:
            # the first inputs are a one-hot code (InfoGAN's categorical
            # latent): the generator can switch between modes abruptly
            k = self.args.codes
            z[:, :k] = 0.0
            # stratified: every code equally often (less noise between genomes)
            codes = np.arange(n) % k if n % k == 0 else rng.integers(0, k, n)
            z[np.arange(n), codes] = 1.0
        return z

    def generate(self, pop: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        coef = self.net.forward(pop, z, n_threads=1)  # (P, B, d)
        img = self.basis.decode(coef.reshape(-1, coef.shape[-1]))
        return coef, img

    def __call__(self, pop: np.ndarray) -> np.ndarray:
        torch, F, a = self.torch, self.torch.nn.functional, self.args
        z = self.latents(a.batch)
        coef, img = self.generate(pop, z)
        x = torch.from_numpy(img.reshape(-1, 1, 28, 28))
        with torch.no_grad():
            feats = self.body(x)
            score = F.logsigmoid(self.head(feats)).reshape(len(pop), -1).mean(1)
            fitness = score.double().numpy()
            if a.feature_matching > 0:
                # Salimans et al. 2016: each genome's mean discriminator
                # features against the real digits' (a new real batch)
                ri = torch.from_numpy(self.rng.integers(0, len(self.real), 256))
                target = self.body(self.real[ri]).mean(0)
                gap = feats.reshape(len(pop), -1, feats.shape[1]).mean(1) - target
                scale = float((target**2).sum()) + 1e-12
                fitness -= a.feature_matching * ((gap**2).sum(1) / scale).double(
                ).numpy()
        if a.diversity > 0:
            # mean pairwise distance of each genome's coefficients
            c = coef.astype(np.float64)
            sq = (c**2).sum(2)
            d2 = sq[:, :, None] + sq[:, None, :] - 2 * np.einsum("pid,pjd->pij", c, c)
            b = c.shape[1]
            spread = np.sqrt(np.maximum(d2, 0)).sum((1, 2)) / (b * (b - 1))
            fitness += a.diversity * np.minimum(spread / self.real_spread, 1.0)
        if a.density > 0:
            fitness -= a.density * self.density_penalty(coef)
        if a.coverage > 0:
            fitness -= a.coverage * self.coverage_penalty(coef)
        self.train_discriminator(x)
        return fitness

    def coverage_penalty(self, coef: np.ndarray) -> np.ndarray:
        """Mean distance of 256 real digits (new ones each generation, the
        discriminator's half) to the nearest of each genome's samples, in
        coefficient space and in units of the real digits' k-NN distance: a
        generator whose samples leave some kind of real digit far from all of
        them pays (the recall side of the density term)."""
        r = self.real_coef[self.rng.integers(0, len(self.real_coef), 256)]
        c = coef.astype(np.float32)  # (P, B, d)
        d2 = ((c**2).sum(2)[:, None, :] + (r**2).sum(1)[None, :, None]
              - 2.0 * np.einsum("rd,pbd->prb", r, c))
        return np.sqrt(np.maximum(d2.min(2), 0.0)).mean(1) / self.real_knn_dist

    def density_penalty(self, coef: np.ndarray) -> np.ndarray:
        """Mean distance of each genome's samples to their ``--density-k``
        nearest real digits (the discriminator's half), in coefficient space,
        in units of the same figure among real digits: mode-seeking toward
        dense regions of real digits, i.e. prototypical ones."""
        c = coef.reshape(-1, coef.shape[-1]).astype(np.float32)
        d2 = (c**2).sum(1)[:, None] + self.real_sq[None, :] - 2.0 * (c @ self.real_coef.T)
        k = self.args.density_k
        near = np.partition(np.maximum(d2, 0.0), k, axis=1)[:, :k]
        dist = np.sqrt(near).mean(1).reshape(coef.shape[0], -1).mean(1)
        return dist / self.real_knn_dist


    def train_discriminator(self, fake) -> None:
        torch, F, a = self.torch, self.torch.nn.functional, self.args
        n = a.d_batch
        for _ in range(a.d_steps):
            fi = torch.from_numpy(self.rng.integers(0, len(fake), n))
            ri = torch.from_numpy(self.rng.integers(0, len(self.real), n))
            x = torch.cat([self.real[ri], fake[fi]])
            if self.noise > 0:
                x = x + self.noise * torch.randn_like(x)
            target = torch.cat([torch.full((n, 1), a.smooth), torch.zeros(n, 1)])
            logits = self.disc(x)
            self.opt.zero_grad()
            F.binary_cross_entropy_with_logits(logits, target).backward()
            self.opt.step()
            with torch.no_grad():
                p = torch.sigmoid(logits)
                self.d_real, self.d_fake = float(p[:n].mean()), float(p[n:].mean())


def main(argv: list[str] | None = None) -> dict[str, float]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", required=True, help="directory of the MNIST IDX files")
    ap.add_argument("--time-limit", type=float, default=600.0, help="seconds")
    ap.add_argument("--generations", type=int, default=100_000)
    ap.add_argument("--pop", type=int, default=32)
    ap.add_argument("--batch", type=int, default=10, help="latents per genome")
    ap.add_argument("--latent", type=int, default=14)
    ap.add_argument("--hidden", type=int, default=32,
                    help="tanh hidden units (0: a linear map of the latent)")
    ap.add_argument("--components", type=int, default=30, help="PCA decoder basis")
    ap.add_argument("--sigma", type=float, default=0.1, help="SNES initial sigma")
    ap.add_argument("--diversity", type=float, default=1.0,
                    help="weight of the coefficient-spread term (0: off)")
    ap.add_argument("--feature-matching", type=float, default=1.0,
                    help="weight of the discriminator-feature matching term")
    ap.add_argument("--density", type=float, default=0.0,
                    help="weight of the real-digit density term (0: off)")
    ap.add_argument("--density-k", type=int, default=20)
    ap.add_argument("--coverage", type=float, default=0.0,
                    help="weight of the real-digit coverage term (0: off)")
    ap.add_argument("--codes", type=int, default=10,
                    help="one-hot categorical latents among the --latent inputs")
    ap.add_argument("--d-steps", type=int, default=1)
    ap.add_argument("--d-batch", type=int, default=32)
    ap.add_argument("--d-lr", type=float, default=5e-4)
    ap.add_argument("--smooth", type=float, default=0.9, help="real label target")
    ap.add_argument("--noise", type=float, default=0.2,
                    help="instance-noise std at the start (annealed to 0)")
    ap.add_argument("--select-every", type=int, default=25)
    ap.add_argument("--n-samples", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--torch-threads", type=int, default=1,
                    help="PyTorch threads (more spin idle on a shared machine)")
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(args.torch_threads)
    try:
        return run(args, torch)
    finally:
        torch.set_num_threads(threads)


def run(args: argparse.Namespace, torch) -> dict[str, float]:
    """The experiment of :func:`main` on parsed arguments."""
    X, y = pn.datasets.load_mnist(args.data)
    Xm, Xj, ym, yj = judge_split(X, y)
    basis = im.PCABasis(Xm, args.components)
    real_coef = basis.encode(Xm)
    net = (pn.Network([args.latent, args.hidden, args.components], ["tanh", "linear"])
           if args.hidden else pn.Network([args.latent, args.components], "linear"))
    game = Game(net, basis, Xm, args, torch)
    es = pn.SNES(n_params=net.n_params, pop_size=args.pop, sigma=args.sigma,
                 seed=args.seed, x0=net.init_genome(seed=args.seed))
    # the latents of model selection and of the judged samples: fixed
    z_sel = game.latents(args.n_samples, np.random.default_rng(args.seed + 1))

    def selection_fd(genome: np.ndarray) -> float:
        # judge-free: coefficients of the decoded images vs the real digits'
        _, img = game.generate(genome[None], z_sel)
        return frechet_distance(basis.encode(img), real_coef)

    out = Path(args.out) if args.out else None
    # compile the forward kernels for this network before the clock starts
    # (Numba caches them; the first run of a new shape pays once)
    selection_fd(es.mean)
    game.generate(np.tile(es.mean, (args.pop, 1)),
                  game.latents(args.batch, np.random.default_rng(0)))
    best_fd, best_genome, best_gen = np.inf, es.mean.copy(), 0
    curve: list[tuple[float, int, float, float, float]] = []
    t0 = time.perf_counter()
    print(f"generator {net.sizes} ({net.n_params} weights) -> PCA basis "
          f"({basis.explained:.0%} of the variance); discriminator: CNN on "
          f"{len(Xm)} real digits")
    gen = 0
    next_print = 0.0
    while gen < args.generations:
        elapsed = time.perf_counter() - t0
        if elapsed > args.time_limit:
            break
        game.noise = args.noise * max(0.0, 1.0 - elapsed / args.time_limit)
        pop = es.ask()
        es.tell(game(pop))
        gen += 1
        if gen % args.select_every == 0 or gen == 1:
            fd = selection_fd(es.mean)
            if fd < best_fd:
                best_fd, best_genome, best_gen = fd, es.mean.copy(), gen
            curve.append((time.perf_counter() - t0, gen, fd, game.d_real, game.d_fake))
            if curve[-1][0] >= next_print or gen == 1:
                next_print += args.time_limit / 10
                print(f"generation {gen:5d} ({curve[-1][0]:6.1f} s): D(real) "
                      f"{game.d_real:.3f}, D(fake) {game.d_fake:.3f}, selection FD "
                      f"{fd:.2f} (best {best_fd:.2f} at {best_gen})", flush=True)
                if out is not None:
                    _, img = game.generate(es.mean[None], z_sel[:32])
                    save_grid(img, out / f"gan_generation_{gen:05d}.png")
    elapsed = time.perf_counter() - t0

    judge = DigitJudge(Xj, yj, seed=0)
    figures: dict[str, float] = {"generations": gen, "seconds": elapsed,
                                 "selected_generation": best_gen,
                                 "d_real": game.d_real, "d_fake": game.d_fake}
    noise = np.random.default_rng(args.seed + 2).random((args.n_samples, 784),
                                                        dtype=np.float32)
    fd_noise = judge.frechet_distance(noise)
    for name, genome in (("final", es.mean), ("selected", best_genome)):
        _, samples = game.generate(genome[None], z_sel)
        v = judge(samples)
        fd = judge.frechet_distance(samples)
        counts = np.bincount(v.labels[v.agreed], minlength=10)
        print(f"{name} generator (generation {gen if name == 'final' else best_gen})"
              f": {v}; per class {counts.tolist()}; judge FD {fd:.2f} vs noise "
              f"{fd_noise:.2f} (ratio {fd / fd_noise:.3f})")
        figures.update({f"{name}_agree": v.agree_fraction,
                        f"{name}_classes": v.n_classes,
                        f"{name}_realism": v.realism_fraction,
                        f"{name}_fd": fd, f"{name}_fd_ratio": fd / fd_noise})
        if name == "selected":
            final, verdict = samples, v
    real_fd = judge.frechet_distance(Xm[: args.n_samples])
    figures["real_fd_ratio"] = real_fd / fd_noise
    print(f"{gen} generations in {elapsed:.1f} s; goals: >= 70% judged a digit "
          f"(selected: {figures['selected_agree']:.0%}), >= 8 classes "
          f"({figures['selected_classes']}), FD ratio <= 0.333 "
          f"({figures['selected_fd_ratio']:.3f}; {args.n_samples} real digits: "
          f"{figures['real_fd_ratio']:.3f})")
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        np.save(out / "gan_samples.npy", final.reshape(-1, 28, 28).astype(np.float32))
        save_samples(final, verdict, out / "gan_samples.png")
        save_curves(curve, out / "gan_curves.png")
        print(f"saved gan_samples.png, gan_samples.npy, gan_curves.png in {out}")
    return figures


def save_samples(images, verdict, path: Path, ncols: int = 10) -> None:
    """One grid; above each image the class every judge agrees on (red: not
    a confident or not a realistic digit)."""
    from matplotlib.figure import Figure

    n = len(images)
    nrows = (n + ncols - 1) // ncols
    cell = 28 + 10  # room for the label above each image
    grid = np.zeros((nrows * cell, ncols * 30), np.float32)
    fig = Figure(figsize=(ncols * 0.5, nrows * 0.63))
    ax = fig.add_axes((0, 0, 1, 1))
    for i in range(n):
        r, c = divmod(i, ncols)
        grid[r * cell + 9 : r * cell + 37, c * 30 + 1 : c * 30 + 29] = images[i].reshape(
            28, 28)
        lab = verdict.labels[i]
        ax.text(c * 30 + 15, r * cell + 4.5, str(lab) if lab >= 0 else "?",
                ha="center", va="center", fontsize=6,
                color="black" if verdict.passed[i] else "red")
    ax.imshow(grid, cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
    ax.axis("off")
    fig.savefig(path, dpi=100)


def save_curves(curve, path: Path) -> None:
    from matplotlib.figure import Figure

    t, _, fd, dr, df = (np.array(c) for c in zip(*curve, strict=True))
    fig = Figure(figsize=(8, 3.2))
    ax1, ax2 = fig.subplots(1, 2)
    ax1.plot(t, dr, label="D(real)")
    ax1.plot(t, df, label="D(fake)")
    ax1.set_xlabel("seconds")
    ax1.legend(fontsize=7)
    ax2.plot(t, fd)
    ax2.set_yscale("log")
    ax2.set_xlabel("seconds")
    ax2.set_ylabel("selection FD (decoder coefficients)")
    fig.tight_layout()
    fig.savefig(path, dpi=90)


if __name__ == "__main__":
    main()
