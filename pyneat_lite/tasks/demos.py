"""Demo tasks: the problems behind ``pyneat-lite run`` and the examples.

Each builder returns a :class:`Demo`: the fitness function, the algorithm,
population and budget the command uses by default, and the lines of its
final report. The pieces that need PyTorch are here too, so that the command
and ``examples/`` share them instead of repeating them:

- :func:`train_digit_cnn`, :func:`predict_digits`, :func:`class_probability`:
  a small CNN trained by Adam on 28x28 digits, and the class probabilities
  that score evolved images (``image7``, ``examples/evolve_digit_image.py``);
- :class:`GANGame`: a generator network evolved against a discriminator
  trained by gradient (``gan``, ``examples/gan_generator.py``);
- :func:`save_grid`: 28x28 images as one PNG (matplotlib).

PyTorch is imported on first use: ``import pyneat_lite.tasks.demos`` needs
only NumPy; the torch pieces raise an ``ImportError`` naming the extra.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._validation import check_int, check_population, check_scalar
from ..policy import save_policy
from ._demo_builders import _classifier, _control
from ._demo_checks import _PIXELS, _SIDE, _images, _seed, _torch
from ._digit_cnn import class_probability, predict_digits, save_grid, train_digit_cnn

__all__ = ["Demo", "Solved", "cartpole", "acrobot", "mountaincar",
           "mountaincar_continuous", "swingup", "digits", "mnist", "image7", "gan",
           "mnist_split", "train_digit_cnn", "predict_digits", "class_probability",
           "GANGame", "save_grid"]


@dataclass
class Demo:
    """A demo task: what ``pyneat-lite run`` needs to evolve a solution.

    ``fitness`` maps a population ``(P, n_params)`` to ``(P,)`` float64
    (higher is better); ``algorithm`` (a key of :data:`pyneat_lite.ALGORITHMS`),
    ``pop`` and ``generations`` are the command's defaults. Optional:
    ``make_ga(pop, seed)`` when the GA needs task-specific operators, ``x0``
    (the start of an evolution strategy), ``init_population(pop, seed)`` (the
    default GA's first population), extra constructor arguments
    ``es_kwargs``/``ga_kwargs``, a ``target`` fitness that stops the run.
    ``stationary`` is False when fitness values of different generations are
    not comparable (the GAN's discriminator keeps learning: report the last
    generation's best). ``summary(best)`` returns the report's lines;
    ``notes`` are lines about the set-up (the CNN's training), shown first.
    ``callbacks`` are extra run callbacks (a :class:`Solved` check that
    stops the run).
    """

    n_params: int
    fitness: Callable[[np.ndarray], np.ndarray]
    algorithm: str
    pop: int
    generations: int
    make_ga: Callable[[int, int], Any] | None = None
    x0: np.ndarray | None = None
    init_population: Callable[[int, int], np.ndarray] | None = None
    es_kwargs: dict[str, Any] = field(default_factory=dict)
    ga_kwargs: dict[str, Any] = field(default_factory=dict)
    target: float | None = None
    fitness_name: str = "fitness"
    stationary: bool = True
    summary: Callable[[np.ndarray], list[str]] = lambda best: []
    notes: list[str] = field(default_factory=list)
    callbacks: list[Callable[[Any], bool]] = field(default_factory=list)


# ------------------------------------------------------------- no-data demos
def cartpole(seed: int = 0, out: Path | None = None) -> Demo:
    """A 4-16-2 policy for CartPole-v1 on the Numba environment.

    Fitness: the mean return of 10 episodes with new start states each
    generation (a policy must be robust, not lucky, to reach the target of
    500, the maximum). The report checks the best policy on 100 new Numba
    episodes and 5 gymnasium ``CartPole-v1`` episodes (when gymnasium is
    installed), and saves it to ``out/cartpole_policy.npz`` when ``out`` is
    given.
    """
    from ..network import Network
    from .envs import CartPole, Rollout, rollout

    seed = _seed(seed, "cartpole")
    net = Network([4, 16, 2], ["tanh", "linear"])
    env = CartPole()
    # One thread: the README's first command then compiles only the serial
    # rollout kernel (its check of one policy below needs that one anyway),
    # not the parallel one too -- a third less of the first run's compile
    # time, for generations that take milliseconds either way.
    fitness = Rollout(net, env, episodes=10, seed=seed, n_threads=1)

    def summary(best: np.ndarray) -> list[str]:
        check = rollout(net, best[None], env, episodes=100, seed=seed + 1,
                        generation=10**6, n_threads=1)
        lines = [f"check: mean return {check[0]:.1f} on 100 new episodes (Numba "
                 "env; CartPole-v1 counts as solved at 475)"]
        try:
            from .gym import evaluate

            g = evaluate(net, best[None], "CartPole-v1", episodes=5, seed=seed + 2)
            lines.append(f"check: mean return {g[0]:.1f} on 5 gymnasium "
                         "CartPole-v1 episodes")
        except ImportError:
            lines.append("gymnasium not installed: skipped the gymnasium check")
        if out is not None:
            folder = Path(out)
            folder.mkdir(parents=True, exist_ok=True)
            save_policy(folder / "cartpole_policy.npz", net, best)
            lines.append(f"saved the policy to {folder / 'cartpole_policy.npz'} "
                         "(read it with pn.load_policy)")
        return lines

    # The GA starts from small N(0, 0.1) weights (its default), not from a
    # Glorot init: with CartPole that easy, a random Glorot population often
    # holds a perfect policy already.
    return Demo(net.n_params, fitness, "ga", pop=64, generations=50,
                x0=np.zeros(net.n_params, np.float32), target=500.0,
                fitness_name="mean return", summary=summary)


class Solved:
    """Run callback: stop once a policy is good on fresh episodes.

    Every ``every`` generations, the candidates -- the evolution strategy's
    centre (when the algorithm has one) and the hall of fame's best -- play
    ``episodes`` fresh episodes each (their own start states, a new set per
    check, from a stream of their own); the run stops when one averages at
    least ``threshold``.  Training returns are noisy and optimistic (the best
    of a population on a few episodes), so the check is what says solved.

    Parameters
    ----------
    net : Network
    env : a :mod:`pyneat_lite.envs` environment
    threshold : float
    episodes : int, default=100
    every : int, default=5
    scale : array-like of shape (net.n_in,), optional
        The run evolves genomes for inputs divided by ``scale``
        (:func:`pyneat_lite.envs.scale_inputs`); candidates are mapped back
        before they play.
    seed : int, default=0

    Attributes
    ----------
    genome : float32 array or None
        The policy that passed (for the raw observations), else None.
    score : float or None
        Its mean return on the check's episodes.
    checks : int
        Checks made.
    """

    def __init__(self, net: Any, env: Any, threshold: float, *, episodes: int = 100,
                 every: int = 5, scale: Any = None, seed: int = 0) -> None:
        caller = "Solved"
        self.net = net
        self.env = env
        self.threshold = check_scalar(threshold, "threshold", caller=caller)
        self.episodes = check_int(episodes, "episodes", caller=caller, min_val=1)
        self.every = check_int(every, "every", caller=caller, min_val=1)
        self.scale = None if scale is None else np.asarray(scale, np.float64)
        self.seed = _seed(seed, caller)
        self.genome: np.ndarray | None = None
        self.score: float | None = None
        self.checks = 0

    def policy(self, genomes: Any) -> np.ndarray:
        """Genomes of the run mapped to policies for the raw observations."""
        from .envs import scale_inputs

        g = np.asarray(genomes, np.float32)
        return g if self.scale is None else scale_inputs(self.net, g, self.scale)

    def __call__(self, algo: Any) -> bool:
        from .envs import rollout

        if algo.generation % self.every or len(algo.hall_of_fame) == 0:
            return False
        cands = [algo.hall_of_fame.genomes[0]]
        if getattr(algo, "mean", None) is not None:
            cands.insert(0, np.asarray(algo.mean, np.float32))
        c = self.policy(np.stack(cands))
        # a stream apart from the training episodes' (seed + 1), new per check
        val = rollout(self.net, c, self.env, episodes=self.episodes,
                      seed=self.seed + 1, generation=self.checks, same_starts=False)
        self.checks += 1
        best = int(np.argmax(val))
        if val[best] >= self.threshold:
            self.genome = c[best]
            self.score = float(val[best])
            return True
        return False


def acrobot(seed: int = 0, out: Path | None = None) -> Demo:
    """A 6-16-3 policy for Acrobot-v1 on the Numba environment.

    SNES (population 64, ``sigma = 0.5``) on the mean return of 5 episodes
    with new start states each generation; the run stops when the centre or
    the best genome averages -97 or more on 100 fresh episodes (Acrobot-v1
    counts as solved at -100).  The report checks the policy on 100 new Numba
    episodes and 100 gymnasium ``Acrobot-v1`` episodes, and saves it to
    ``out/acrobot_policy.npz`` when ``out`` is given.
    """
    from ..network import Network
    from .envs import Acrobot

    seed = _seed(seed, "acrobot")
    net = Network([6, 16, 3], ["tanh", "linear"])
    return _control("acrobot", Acrobot(), net, "snes", 64, 200, 5, -100.0, seed,
                    out, es_kwargs={"sigma": 0.5})


#: MountainCar's inputs divided by the half-widths of the observation box:
#: position in [-1.2, 0.6], velocity in [-0.07, 0.07]
_CAR_SCALE = (0.9, 0.07)


def mountaincar(seed: int = 0, out: Path | None = None) -> Demo:
    """A 2-16-3 policy for MountainCar-v0 on the Numba environment.

    The reward is sparse and deceptive: every policy that misses the goal
    scores -200, and with raw inputs a random policy hardly sees the
    velocity (30 times smaller than the position), the one input that
    matters for pumping energy.  So the search evolves a policy for inputs
    divided by ``(0.9, 0.07)`` (:func:`pyneat_lite.envs.scale_inputs`), in
    which many random policies already reach the goal and the returns rank
    them; SNES (population 64, ``sigma = 0.5``) on 30 episodes per
    generation (common start states), until a policy averages -105.5 or more
    on 200 fresh episodes (MountainCar-v0 counts as solved at -110).  The
    margin is wide because a 100-episode mean of a good car policy still
    varies by about 2 and the check, passed by the first lucky candidate,
    is optimistic.  The report checks the policy (for the raw
    observations) as :func:`acrobot` does.
    """
    from ..network import Network
    from .envs import MountainCar

    seed = _seed(seed, "mountaincar")
    net = Network([2, 16, 3], ["tanh", "linear"])
    return _control("mountaincar", MountainCar(), net, "snes", 64, 300, 30, -110.0,
                    seed, out, scale=_CAR_SCALE, es_kwargs={"sigma": 0.5},
                    margin=4.5, check_episodes=200)


def mountaincar_continuous(seed: int = 0, out: Path | None = None) -> Demo:
    """A 2-16-1 policy (tanh output) for MountainCarContinuous-v0.

    Deceptive too: each step costs ``0.1 a^2`` and only the goal pays (+100),
    so a search that never reaches the goal learns to stand still (the GA
    does).  With the inputs scaled as in :func:`mountaincar`, SNES
    (population 64, ``sigma = 0.5``) on 5 episodes per generation finds the
    goal at once; the run stops when a policy averages 93 or more on 100
    fresh episodes (MountainCarContinuous-v0 counts as solved at 90).
    """
    from ..network import Network
    from .envs import MountainCarContinuous

    seed = _seed(seed, "mountaincar_continuous")
    net = Network([2, 16, 1], ["tanh", "tanh"])
    return _control("mountaincar_continuous", MountainCarContinuous(), net, "snes",
                    64, 200, 5, 90.0, seed, out, scale=_CAR_SCALE,
                    es_kwargs={"sigma": 0.5})


def swingup(seed: int = 0, out: Path | None = None) -> Demo:
    """A 5-16-1 policy (tanh output) for CartPole swing-up (no gymnasium
    counterpart): SNES (population 64, ``sigma = 0.5``) on 5 episodes per
    generation, for 200 generations; the report checks it on 100 new
    episodes (the return is at most 500, one per step upright)."""
    from ..network import Network
    from .envs import CartPoleSwingUp

    seed = _seed(seed, "swingup")
    net = Network([5, 16, 1], ["tanh", "tanh"])
    return _control("swingup", CartPoleSwingUp(), net, "snes", 64, 200, 5, None,
                    seed, out, es_kwargs={"sigma": 0.5}, gym_check=False)


def digits(seed: int = 0) -> Demo:
    """A 64-32-10 classifier on scikit-learn's 8x8 digits.

    1437 train / 360 test images (stratified, seed 0); fitness: minus the
    cross-entropy on the whole training set; SNES for 150 generations.
    """
    from ..network import Network
    from .datasets import load_digits, train_test_split

    seed = _seed(seed, "digits")
    X, y = load_digits()
    split = train_test_split(X, y, test_size=360, seed=0)
    net = Network([64, 32, 10], ["tanh", "softmax"])
    return _classifier(net, split, None, seed, 150)


# ------------------------------------------------------------- MNIST demos
def mnist_split(data: str | Path) -> tuple[np.ndarray, ...]:
    """The demos' MNIST split: ``Xtr, Xte, ytr, yte``.

    The IDX files of folder ``data`` (:func:`pyneat_lite.datasets.load_mnist`),
    split stratified with seed 0: ``min(2000, max(10, n // 5))`` test images.
    """
    from .datasets import load_mnist, train_test_split

    X, y = load_mnist(data)
    n_test = min(2000, max(10, len(y) // 5))
    return train_test_split(X, y, test_size=n_test, seed=0)


def mnist(data: str | Path, seed: int = 0) -> Demo:
    """A 784-32-10 classifier on the MNIST IDX files of folder ``data``.

    The split of :func:`mnist_split` (at most 8,000 train / 2,000 test images
    with the full test set); fitness: minus the cross-entropy on a new
    minibatch of 512 training images each generation; SNES for 300
    generations.
    """
    from ..network import Network

    seed = _seed(seed, "mnist")
    split = mnist_split(data)
    net = Network([784, 32, 10], ["tanh", "softmax"])
    return _classifier(net, split, min(512, len(split[2])), seed, 300)


def image7(data: str | Path, seed: int = 0, out: Path | None = None) -> Demo:
    """A 28x28 image evolved until a small CNN calls it a 7.

    The CNN (:func:`train_digit_cnn`, 2 epochs) is trained first on the
    training images of :func:`mnist_split`; fitness: its probability of the
    class 7 for each image (pixels clipped to [0, 1]); a GA with 2-D patch
    crossover and block mutation from a sparse random start, until P(7)
    reaches 0.99. The image is saved to ``out/image7.png`` when ``out`` is
    given.
    """
    from ..algorithms import GA
    from ..operators import BlockMutation, Clip, PatchCrossover, Tournament

    seed = _seed(seed, "image7")
    Xtr, Xte, ytr, yte = mnist_split(data)
    t0 = time.perf_counter()
    cnn = train_digit_cnn(Xtr, ytr, seed=seed)
    # float32, as torch's mean of the hit mask
    acc = float(np.mean(predict_digits(cnn, Xte) == yte, dtype=np.float32))
    note = (f"trained the CNN in {time.perf_counter() - t0:.1f} s: test accuracy "
            f"{acc:.3f}")

    def fitness(pop: np.ndarray) -> np.ndarray:
        return class_probability(cnn, np.clip(pop, 0.0, 1.0), 7)

    def make_ga(pop: int, seed: int) -> Any:
        rng = np.random.default_rng(seed)
        init = (rng.random((pop, _PIXELS)) < 0.1).astype(np.float32)
        shape = (_SIDE, _SIDE)
        return GA(n_params=_PIXELS, pop_size=pop, seed=seed,
                  selection=Tournament(k=3), crossover=PatchCrossover(shape),
                  mutation=[BlockMutation(shape, size=4, sigma=0.4), Clip(0.0, 1.0)],
                  elitism=2, initial_population=init)

    def summary(best: np.ndarray) -> list[str]:
        img = np.clip(best, 0, 1).reshape(_SIDE, _SIDE)
        lines = [
            f"CNN's P(7) for the best image: {fitness(best[None])[0]:.4f}; "
            f"ink {img.sum():.0f} (real 7s: "
            f"{Xtr[ytr == 7].reshape(-1, _PIXELS).sum(1).mean():.0f})"
        ]
        if out is not None:
            path = Path(out) / "image7.png"
            save_grid(img[None], path, ncols=1)
            lines.append(f"saved the image to {path}")
        return lines

    return Demo(_PIXELS, fitness, "ga", pop=64, generations=200, make_ga=make_ga,
                x0=np.full(_PIXELS, 0.1, np.float32), target=0.99,
                fitness_name="P(7)", summary=summary, notes=[note])


class GANGame:
    """A generator network evolved against a discriminator trained by gradient.

    The discriminator is a PyTorch MLP (784 -> 128, LeakyReLU 0.2 -> 1 logit)
    trained by Adam. Called with a population of generator genomes, the game
    (1) generates every genome's images from the same latent vectors
    :attr:`z` (common random numbers) in one call of ``net.forward``, (2)
    scores each genome by the mean ``log D(G(z))`` of its images (the
    non-saturating generator objective), then (3) takes ``d_steps`` steps of
    binary cross-entropy on as many real images (drawn with replacement) as
    generated ones. The fitness changes as the discriminator learns: a GA
    should re-score its elites.

    Parameters
    ----------
    net : Network
        The generator: ``n_out == 784`` outputs in [0, 1] (e.g. a sigmoid).
    real : array-like of shape (n, 784)
        Real images with values in [0, 1].
    n_latents : int, default=16
        Latent vectors (images per genome and generation).
    d_steps : int, default=1
        Discriminator steps per call.
    d_lr : float, default=2e-4
        The discriminator's Adam learning rate.
    seed : int, default=0
        Seeds the discriminator's init (``torch.manual_seed``), then a NumPy
        generator that draws :attr:`z` and the real batches.

    Attributes
    ----------
    z : ndarray of shape (n_latents, net.n_in), float32
    disc : torch.nn.Sequential
    best : ndarray or None
        The fittest genome of the last call (a copy).
    last_fake, last_real : torch.Tensor or None
        The last call's images ``(P * n_latents, 784)``; the real batch of its
        last discriminator step.
    """

    def __init__(self, net: Any, real: Any, *, n_latents: int = 16, d_steps: int = 1,
                 d_lr: float = 2e-4, seed: int = 0) -> None:
        caller = "GANGame"
        if getattr(net, "n_out", None) != _PIXELS:
            raise ValueError(
                f"The 'net' argument of {caller} must be a Network with {_PIXELS} "
                f"outputs (28x28 images). Got {net!r} instead."
            )
        real = _images(real, caller, "real")
        n_latents = check_int(n_latents, "n_latents", caller=caller, min_val=1)
        self.d_steps = check_int(d_steps, "d_steps", caller=caller, min_val=0)
        d_lr = check_scalar(d_lr, "d_lr", caller=caller, min_val=0.0,
                            include_min=False)
        seed = _seed(seed, caller)
        torch = _torch()
        nn = torch.nn
        self.net = net
        torch.manual_seed(seed)
        self.disc = nn.Sequential(
            nn.Linear(_PIXELS, 128), nn.LeakyReLU(0.2), nn.Linear(128, 1)
        )
        self._opt = torch.optim.Adam(self.disc.parameters(), lr=d_lr)
        self._rng = np.random.default_rng(seed)
        self.z = self._rng.normal(size=(n_latents, net.n_in)).astype(np.float32)
        self._real = torch.from_numpy(real)
        self.best: np.ndarray | None = None
        self.last_fake: Any = None
        self.last_real: Any = None

    def __call__(self, population: Any) -> np.ndarray:
        """Fitness of ``population`` (mean log D(G(z))), then train D: (P,) float64."""
        torch = _torch()
        F = torch.nn.functional
        pop = check_population(population, caller="GANGame",
                               n_params=self.net.n_params)
        fake = self.net.forward(pop, self.z)  # (P, n_latents, 784)
        flat = torch.from_numpy(fake.reshape(-1, _PIXELS))
        with torch.no_grad():
            score = F.logsigmoid(self.disc(flat)).reshape(pop.shape[0], -1)
        fitness = score.mean(1).double().numpy()
        self.best = pop[int(np.argmax(fitness))].copy()
        for _ in range(self.d_steps):
            idx = torch.from_numpy(self._rng.integers(0, len(self._real),
                                                      size=flat.shape[0]))
            logits = self.disc(torch.cat([self._real[idx], flat]))
            target = torch.cat([torch.ones(len(idx), 1), torch.zeros(len(flat), 1)])
            self._opt.zero_grad()
            F.binary_cross_entropy_with_logits(logits, target).backward()
            self._opt.step()
            self.last_real = self._real[idx]
        self.last_fake = flat
        return fitness

    def samples(self, genome: Any) -> np.ndarray:
        """The images of one generator genome: (n_latents, 784) float32."""
        return self.net.forward(genome, self.z)

    def discriminate(self, images: Any) -> float:
        """The discriminator's mean ``D(x)`` (probability of real) over images."""
        torch = _torch()
        x = images if isinstance(images, torch.Tensor) else torch.from_numpy(
            _images(images, "GANGame.discriminate"))
        with torch.no_grad():
            return float(torch.sigmoid(self.disc(x.reshape(-1, _PIXELS))).mean())


def gan(data: str | Path, seed: int = 0, out: Path | None = None) -> Demo:
    """A generator (latent 100 -> 784, sigmoid) evolved against a discriminator.

    A :class:`GANGame` on the training images of :func:`mnist_split`; SNES
    for 100 generations (the GA re-scores its elites). The report shows the
    discriminator's verdict on the last generation's best generator (the
    best-ever genome was scored by an earlier, weaker discriminator) and
    saves its 16 samples to ``out/gan_samples.png`` when ``out`` is given.
    """
    from ..network import Network

    seed = _seed(seed, "gan")
    Xtr = mnist_split(data)[0]
    net = Network([100, _PIXELS], "sigmoid")
    game = GANGame(net, Xtr, seed=seed)

    def summary(best: np.ndarray) -> list[str]:
        imgs = game.samples(game.best if game.best is not None else best)
        lines = [
            "discriminator's mean D(G(z)) for the last generation's best "
            f"generator: {game.discriminate(imgs):.3f}"
        ]
        if out is not None:
            path = Path(out) / "gan_samples.png"
            save_grid(imgs, path)
            lines.append(f"saved 16 samples to {path}")
        return lines

    return Demo(net.n_params, game, "snes", pop=32, generations=100,
                init_population=lambda p, s: net.init_population(p, seed=s),
                x0=net.init_genome(seed=seed), fitness_name="mean log D(G(z))",
                stationary=False, ga_kwargs={"reevaluate_elites": True},
                summary=summary)
