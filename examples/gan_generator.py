"""Evolve a GAN generator that draws digits, against a CNN discriminator trained by gradient.

The MNIST images (``--data DIR``) are split with a fixed seed
(:func:`pyneat_lite.tasks.judges.judge_split`): the discriminator and the
generator's decoder basis learn from one half; a
:class:`~pyneat_lite.tasks.judges.DigitJudge` built from the other half judges
the final samples. Neither the search nor the model selection sees the judge.

The game, made stable enough for a gradient-free generator:

- the generator is a class-conditional pyneat_lite network whose outputs are
  coefficients of a ``d``-component PCA basis of real digits
  (:class:`~pyneat_lite.tasks.images.PCABasis`, a latent-to-image decoder):
  every output is already a blend of digit strokes. Its inputs are a one-hot
  class and ``--noise-dims`` Gaussian inputs placed in the block of that
  class (``--class-noise 1``: each class has directions of variation of its
  own; 0: one shared block); by default it is linear (``--hidden 0``:
  class means plus class-specific noise directions, 3,050 weights), or
  ``--hidden`` tanh units;
- its weights are evolved by SNES; every genome generates images from the
  same ``--per-class`` latent vectors of each class (common random numbers,
  new ones each generation), all in one ``net.forward``;
- fitness, averaged over a genome's images: ``log D(G(z, c))``
  (non-saturating) plus ``--aux`` times ``log C_c(G(z, c))``, the
  probability of the intended class under the discriminator's auxiliary
  class head (AC-GAN, Odena et al. 2017; the head learns from real labelled
  digits only, so it is a classifier of real digits, not a second game);
  minus ``--feature-matching`` times the squared gap between the mean
  discriminator features of the genome's images and of real digits
  (Salimans et al. 2016); minus ``--prior`` times the Gaussian prior of the
  coefficients (:func:`~pyneat_lite.tasks.images.gaussian_prior`: no
  clipped, over-contrasted strokes); plus ``--diversity`` times the spread
  of the genome's images of the same class under different noise
  (coefficient distance, capped at the real digits' within-class spread): a
  generator that ignores its noise loses;
- the discriminator, a small PyTorch CNN with a real/fake head and a class
  head, takes ``--d-steps`` Adam steps per generation on real images
  against the images of the current population, with one-sided label
  smoothing (real target ``--smooth``) and instance noise (Gaussian,
  ``--noise`` annealed to 0 over the run);
- model selection without the judge: every ``--select-every`` generations
  the centre of the search distribution draws ``--n-samples`` images (the
  same latents each time, 10 classes equally often), scored by the Fréchet
  distance of their decoder coefficients to the real digits' (the
  discriminator's half) divided by the fraction that the discriminator's
  class head gives their intended class with p >= 0.9; the generator with
  the lowest score is kept and is the example's output (model selection on
  a held-out criterion, as GAN practice picks a checkpoint: the judge, its
  data and its features never enter it).

The output samples are drawn with the noise inputs scaled by
``--truncation`` (0.8; the truncation trick of Brock et al. 2019, BigGAN:
samples nearer each class's centre, more prototypical, less varied; the
value is a default of the example like its other settings, chosen from
screening runs, and neither the search nor the selection uses it).
The selected generator (the output) and the last one are both judged, on
``--n-samples`` new latents (classes equally often, not those of the
selection, both with that truncation): the fraction judged
a digit of some class by every judge with probability >= 0.9, the number of
classes, the fraction judged their intended class, the realism fraction,
and the Fréchet distance between the judge's features of the samples and of
real digits, next to the same figure for uniform noise (the issue's goals:
>= 70%, >= 8 classes, FD <= noise FD / 3). The same figures for 100 real
digits of the discriminator's half are printed beside them.

Outputs in ``--out DIR``: ``gan_samples.png`` (the judged samples of the
selected generator, a row a class, with the judges' labels),
``gan_generation_XXXX.png`` (samples of the search centre during the run),
``gan_curves.png`` (discriminator outputs and the selection score over time),
``gan_samples.npy`` ``(n, 28, 28)`` float32 in [0, 1] (the selected
generator's samples), ``gan_generator.npy`` (its genome).

``--clock cpu`` counts ``--time-limit`` in CPU seconds of this process instead
of wall seconds (and anneals the instance noise on that clock): on a shared
machine it gives the search the budget an idle machine's wall clock would.

Usage::

    python examples/gan_generator.py --data ../shared/data/mnist
        [--time-limit 600] [--generations 100000] [--pop 32] [--per-class 2]
        [--noise-dims 5] [--class-noise 1] [--hidden 0] [--components 50]
        [--aux 1.0] [--prior 1.0] [--diversity 3.0] [--feature-matching 1.0]
        [--d-steps 1] [--d-lr 5e-4]
        [--smooth 0.9] [--noise 0.2] [--select-every 25] [--n-samples 100]
        [--truncation 0.8]
        [--seed 0] [--clock wall|cpu] [--out DIR]
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

CLASSES = 10


def truncate(z: np.ndarray, t: float) -> np.ndarray:
    """The latents with their noise inputs scaled by ``t`` (the one-hot kept)."""
    z = z.copy()
    z[:, CLASSES:] *= t
    return z


def make_discriminator(torch, seed: int):
    """The CNN's feature extractor, its real/fake head and its class head."""
    nn = torch.nn
    torch.manual_seed(seed)
    body = nn.Sequential(
        nn.Conv2d(1, 8, 5, stride=2, padding=2), nn.LeakyReLU(0.2),
        nn.Conv2d(8, 16, 5, stride=2, padding=2), nn.LeakyReLU(0.2),
        nn.Flatten(),
    )
    return body, nn.Linear(16 * 7 * 7, 1), nn.Linear(16 * 7 * 7, CLASSES)


class Game:
    """Generator fitness against a discriminator that learns as the run goes."""

    def __init__(self, net, basis, real, labels, args, torch):
        self.net, self.basis, self.args, self.torch = net, basis, args, torch
        self.body, self.head, self.cls = make_discriminator(torch, args.seed)
        params = [*self.body.parameters(), *self.head.parameters(),
                  *self.cls.parameters()]
        self.opt = torch.optim.Adam(params, lr=args.d_lr, betas=(0.5, 0.999))
        self.real = torch.from_numpy(real.reshape(-1, 1, 28, 28))
        self.labels = torch.from_numpy(labels.astype(np.int64))
        self.rng = np.random.default_rng(args.seed)
        self.noise = args.noise
        self.d_real = self.d_fake = self.c_real = float("nan")
        coef = basis.encode(real)
        # real digits' mean distance between two digits of the same class
        spread = []
        for c in range(CLASSES):
            cc = coef[labels == c][:200].astype(np.float64)
            d = np.sqrt(np.maximum(((cc[:, None] - cc[None]) ** 2).sum(2), 0))
            spread.append(d.sum() / (len(cc) * (len(cc) - 1)))
        self.real_spread = float(np.mean(spread))

    def latents(self, per_class: int, rng: np.random.Generator | None = None
                ) -> tuple[np.ndarray, np.ndarray]:
        """``per_class`` latents of every class: (z, classes), class-major."""
        rng = self.rng if rng is None else rng
        classes = np.repeat(np.arange(CLASSES), per_class)
        n, k = len(classes), self.args.noise_dims
        z = np.zeros((n, self.net.n_in), np.float32)
        z[np.arange(n), classes] = 1.0
        noise = rng.standard_normal((n, k)).astype(np.float32)
        if self.args.class_noise:
            # the noise enters in the block of its class: each class has its
            # own directions of variation (a linear generator can then draw
            # class-specific shapes, as a Gaussian per class would)
            blocks = z[:, CLASSES:].reshape(n, CLASSES, k)
            blocks[np.arange(n), classes] = noise
        else:
            z[:, CLASSES:] = noise
        return z, classes

    def generate(self, pop: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        coef = self.net.forward(pop, z, n_threads=1)  # (P, B, d)
        img = self.basis.decode(coef.reshape(-1, coef.shape[-1]))
        return coef, img

    def class_confidence(self, img: np.ndarray, classes: np.ndarray) -> np.ndarray:
        """The class head's probability of the intended class: (n,)."""
        torch = self.torch
        with torch.no_grad():
            logits = self.cls(self.body(torch.from_numpy(img.reshape(-1, 1, 28, 28))))
            p = torch.softmax(logits, 1)[torch.arange(len(classes)),
                                         torch.from_numpy(classes)]
        return p.double().numpy()

    def __call__(self, pop: np.ndarray) -> np.ndarray:
        torch, F, a = self.torch, self.torch.nn.functional, self.args
        z, classes = self.latents(a.per_class)
        coef, img = self.generate(pop, z)
        x = torch.from_numpy(img.reshape(-1, 1, 28, 28))
        P = len(pop)
        with torch.no_grad():
            feats = self.body(x)
            fitness = F.logsigmoid(self.head(feats)).reshape(P, -1).mean(1).double(
            ).numpy()
            if a.aux > 0:
                logp = F.log_softmax(self.cls(feats), 1)
                target = torch.from_numpy(np.tile(classes, P))
                hit = logp[torch.arange(len(target)), target].reshape(P, -1).mean(1)
                fitness += a.aux * hit.double().numpy()
            if a.feature_matching > 0:
                # Salimans et al. 2016: each genome's mean discriminator
                # features against the real digits' (a new real batch)
                ri = torch.from_numpy(self.rng.integers(0, len(self.real), 256))
                target = self.body(self.real[ri]).mean(0)
                gap = feats.reshape(P, -1, feats.shape[1]).mean(1) - target
                scale = float((target**2).sum()) + 1e-12
                fitness -= a.feature_matching * ((gap**2).sum(1) / scale).double(
                ).numpy()
        if a.prior > 0:
            # coefficients beyond the real digits' typical set: clipped,
            # high-contrast strokes
            fitness -= a.prior * im.gaussian_prior(coef.reshape(-1, coef.shape[-1])
                                                   ).reshape(P, -1).mean(1)
        if a.diversity > 0 and a.per_class > 1:
            # distance between the first two images of each class (same
            # class, different noise), capped at the real digits' spread
            c = coef.reshape(P, CLASSES, a.per_class, -1).astype(np.float64)
            d = np.sqrt(((c[:, :, 0] - c[:, :, 1]) ** 2).sum(2)).mean(1)
            fitness += a.diversity * np.minimum(d / self.real_spread, 1.0)
        self.train_discriminator(x)
        return fitness

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
            feats = self.body(x)
            logits = self.head(feats)
            cls_logits = self.cls(feats[:n])  # the class head: real digits only
            loss = (F.binary_cross_entropy_with_logits(logits, target)
                    + F.cross_entropy(cls_logits, self.labels[ri]))
            self.opt.zero_grad()
            loss.backward()
            self.opt.step()
            with torch.no_grad():
                p = torch.sigmoid(logits)
                self.d_real, self.d_fake = float(p[:n].mean()), float(p[n:].mean())
                self.c_real = float((cls_logits.argmax(1) == self.labels[ri]).float(
                ).mean())


def main(argv: list[str] | None = None) -> dict[str, float]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", required=True, help="directory of the MNIST IDX files")
    ap.add_argument("--time-limit", type=float, default=600.0, help="seconds")
    ap.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                    help="what --time-limit counts: wall or this process's CPU "
                         "seconds")
    ap.add_argument("--generations", type=int, default=100_000)
    ap.add_argument("--pop", type=int, default=32)
    ap.add_argument("--per-class", type=int, default=2,
                    help="latents of each class per genome and generation")
    ap.add_argument("--noise-dims", type=int, default=5,
                    help="Gaussian inputs beside the one-hot class")
    ap.add_argument("--class-noise", type=int, default=1,
                    help="1: the noise inputs in a block per class (0: shared)")
    ap.add_argument("--hidden", type=int, default=0,
                    help="tanh hidden units (0: a linear map of the latent)")
    ap.add_argument("--components", type=int, default=50, help="PCA decoder basis")
    ap.add_argument("--sigma", type=float, default=0.1, help="SNES initial sigma")
    ap.add_argument("--aux", type=float, default=1.0,
                    help="weight of the class head's log-probability (0: off)")
    ap.add_argument("--diversity", type=float, default=3.0,
                    help="weight of the within-class spread term (0: off)")
    ap.add_argument("--prior", type=float, default=1.0,
                    help="weight of the coefficients' Gaussian prior (0: off)")
    ap.add_argument("--feature-matching", type=float, default=1.0,
                    help="weight of the discriminator-feature matching term")
    ap.add_argument("--d-steps", type=int, default=1)
    ap.add_argument("--d-batch", type=int, default=32)
    ap.add_argument("--d-lr", type=float, default=5e-4)
    ap.add_argument("--smooth", type=float, default=0.9, help="real label target")
    ap.add_argument("--noise", type=float, default=0.2,
                    help="instance-noise std at the start (annealed to 0)")
    ap.add_argument("--truncation", type=float, default=0.8,
                    help="scale of the noise inputs of the output samples, in "
                         "(0, 1] (the truncation trick; 1: none)")
    ap.add_argument("--select-every", type=int, default=25)
    ap.add_argument("--n-samples", type=int, default=100,
                    help="judged samples (a multiple of 10: classes equally often)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--torch-threads", type=int, default=1,
                    help="PyTorch and BLAS threads (more spin idle on a shared "
                         "machine)")
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    if args.n_samples % CLASSES or args.per_class < 1:
        ap.error("--n-samples must be a multiple of 10 and --per-class at least 1")
    if not 0.0 < args.truncation <= 1.0:
        ap.error(f"--truncation expects a noise scale in (0, 1], got {args.truncation}")
    import torch
    from threadpoolctl import threadpool_limits

    threads = torch.get_num_threads()
    torch.set_num_threads(args.torch_threads)
    try:
        with threadpool_limits(args.torch_threads):
            return run(args, torch)
    finally:
        torch.set_num_threads(threads)


def run(args: argparse.Namespace, torch) -> dict[str, float]:
    """The experiment of :func:`main` on parsed arguments."""
    X, y = pn.datasets.load_mnist(args.data)
    Xm, Xj, ym, yj = judge_split(X, y)
    basis = im.PCABasis(Xm, args.components)
    real_coef = basis.encode(Xm)
    n_in = CLASSES + args.noise_dims * (CLASSES if args.class_noise else 1)
    net = (pn.Network([n_in, args.hidden, args.components], ["tanh", "linear"])
           if args.hidden else pn.Network([n_in, args.components], "linear"))
    game = Game(net, basis, Xm, ym, args, torch)
    # one thread everywhere: on a shared machine a parallel kernel waits for
    # its slowest thread, which another process may hold off the core
    es = pn.SNES(n_params=net.n_params, pop_size=args.pop, sigma=args.sigma,
                 seed=args.seed, x0=net.init_genome(seed=args.seed), n_threads=1)
    # the latents of model selection and of the judged samples: fixed
    z_sel, c_sel = game.latents(args.n_samples // CLASSES,
                                np.random.default_rng(args.seed + 1))

    def selection_score(genome: np.ndarray) -> tuple[float, float, float]:
        # judge-free: decoder coefficients vs the real digits' (the
        # discriminator's half), and the discriminator's class head; on the
        # untruncated noise, the generator's whole distribution
        _, img = game.generate(genome[None], z_sel)
        fd = frechet_distance(basis.encode(img), real_coef)
        conf = float((game.class_confidence(img, c_sel) >= 0.9).mean())
        return fd / max(conf, 0.05), fd, conf

    out = Path(args.out) if args.out else None
    # compile the forward kernels for this network before the clock starts
    # (Numba caches them; the first run of a new shape pays once)
    selection_score(es.mean)
    game.generate(np.tile(es.mean, (args.pop, 1)),
                  game.latents(args.per_class, np.random.default_rng(0))[0])
    best = (np.inf, es.mean.copy(), 0)
    curve: list[tuple[float, ...]] = []
    t0, c0 = time.perf_counter(), time.process_time()
    print(f"generator {net.sizes} ({net.n_params} weights) -> PCA basis "
          f"({basis.explained:.0%} of the variance); discriminator: CNN on "
          f"{len(Xm)} real digits")
    clock = time.perf_counter if args.clock == "wall" else time.process_time
    k0 = clock()
    gen = 0
    next_print = 0.0
    while gen < args.generations:
        elapsed = clock() - k0
        if elapsed > args.time_limit:
            break
        game.noise = args.noise * max(0.0, 1.0 - elapsed / args.time_limit)
        pop = es.ask()
        es.tell(game(pop))
        gen += 1
        if gen % args.select_every == 0 or gen == 1:
            score, fd, conf = selection_score(es.mean)
            if score < best[0]:
                best = (score, es.mean.copy(), gen)
            curve.append((clock() - k0, gen, score, game.d_real,
                          game.d_fake, conf))
            if curve[-1][0] >= next_print or gen == 1:
                next_print += args.time_limit / 10
                print(f"generation {gen:5d} ({curve[-1][0]:6.1f} s): D(real) "
                      f"{game.d_real:.3f}, D(fake) {game.d_fake:.3f}, class head "
                      f"confident {conf:.0%}, coefficient FD {fd:.2f}, score "
                      f"{score:.2f} (best {best[0]:.2f} at {best[2]})", flush=True)
                if out is not None:
                    _, img = game.generate(es.mean[None], z_sel)
                    save_grid(img, out / f"gan_generation_{gen:05d}.png", ncols=10)
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    if gen % args.select_every:
        # the last centre is a candidate too
        score = selection_score(es.mean)[0]
        if score < best[0]:
            best = (score, es.mean.copy(), gen)

    judge = DigitJudge(Xj, yj, seed=0)
    figures: dict[str, float] = {"generations": gen, "seconds": elapsed,
                                 "cpu_seconds": cpu, "selected_generation": best[2],
                                 "d_real": game.d_real, "d_fake": game.d_fake}
    noise = np.random.default_rng(args.seed + 2).random((args.n_samples, 784),
                                                        dtype=np.float32)
    fd_noise = judge.frechet_distance(noise)
    real = Xm[np.random.default_rng(args.seed + 3).choice(len(Xm), args.n_samples,
                                                          replace=False)]
    # "final": the example's output, the judge-free selected generator;
    # "last": the search centre when the budget ran out
    # the judged samples come from latents the selection never used, so that
    # the selection cannot have picked a generator lucky on these ones
    z_out, c_out = game.latents(args.n_samples // CLASSES,
                                np.random.default_rng(args.seed + 4))
    # both drawn with the noise scaled by --truncation
    z_out = truncate(z_out, args.truncation)
    sets = {"final": game.generate(best[1][None], z_out)[1],
            "last": game.generate(es.mean[None], z_out)[1],
            "real": real, "noise": noise}
    for name, samples in sets.items():
        v = judge(samples)
        fd = judge.frechet_distance(samples)
        counts = np.bincount(v.labels[v.agreed], minlength=CLASSES)
        what = {"final": f"selected generator (generation {best[2]}, the output)",
                "last": f"last generator (generation {gen})",
                "real": f"{args.n_samples} real digits", "noise": "uniform noise"}
        intended = (f"; {(v.labels == c_out).mean():.0%} their intended class"
                    if name in ("final", "last") else "")
        print(f"{what[name]}: {v}{intended}; per class {counts.tolist()}; judge FD "
              f"{fd:.2f} (ratio to noise {fd / fd_noise:.3f})")
        figures.update({f"{name}_agree": v.agree_fraction,
                        f"{name}_classes": v.n_classes,
                        f"{name}_realism": v.realism_fraction,
                        f"{name}_fd": fd, f"{name}_fd_ratio": fd / fd_noise})
        if name in ("final", "last"):
            figures[f"{name}_intended"] = float((v.labels == c_out).mean())
        if name == "final":
            final, verdict = samples, v
    print(f"{gen} generations in {elapsed:.1f} s ({cpu:.1f} s of CPU); goals for the "
          f"selected generator: >= 70% judged a digit ({figures['final_agree']:.0%}), "
          f">= 8 classes ({figures['final_classes']}), FD ratio <= 0.333 "
          f"({figures['final_fd_ratio']:.3f})")
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        np.save(out / "gan_samples.npy", final.reshape(-1, 28, 28).astype(np.float32))
        np.save(out / "gan_generator.npy", best[1])
        save_samples(final, verdict, out / "gan_samples.png")
        save_curves(curve, out / "gan_curves.png")
        print(f"saved gan_samples.png, gan_samples.npy, gan_generator.npy, "
              f"gan_curves.png in {out}")
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

    t, _, score, dr, df, conf = (np.array(c) for c in zip(*curve, strict=True))
    fig = Figure(figsize=(8, 3.2))
    ax1, ax2 = fig.subplots(1, 2)
    ax1.plot(t, dr, label="D(real)")
    ax1.plot(t, df, label="D(fake)")
    ax1.plot(t, conf, label="class head confident")
    ax1.set_xlabel("seconds")
    ax1.legend(fontsize=7)
    ax2.plot(t, score)
    ax2.set_yscale("log")
    ax2.set_xlabel("seconds")
    ax2.set_ylabel("selection score (coefficient FD / confident)")
    fig.tight_layout()
    fig.savefig(path, dpi=90)


if __name__ == "__main__":
    main()
