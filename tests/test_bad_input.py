"""The bad-input table (issue 15): one row per hostile input.

Every row must raise the documented exception type with a message that names
the argument at fault, before any work is done: a ``run`` row uses a fitness
that fails the test if it is ever called, a constructor row builds nothing.
Add a row for every bad input found; do not write a new test for it.
"""

from __future__ import annotations

import json
import os
import struct
import zipfile

import numpy as np
import pytest

import pyneat_lite as pn
from pyneat_lite import checkpoint
from pyneat_lite.checkpoint import CheckpointError


def _never(pop):
    raise AssertionError("the fitness was called: the error came after work began")


def _sphere(pop):
    return -np.sum(pop.astype(np.float64) ** 2, axis=1)


def _ga(**kw):
    return pn.GA(n_params=4, pop_size=8, seed=0, **kw)


# --------------------------------------------------------------- networks
def _forward_complex_population(tmp):
    net = pn.Network([4, 2], "tanh")
    net.forward(np.ones((3, net.n_params), np.complex64), np.ones((2, 4), np.float32))


def _forward_complex_inputs(tmp):
    net = pn.Network([4, 2], "tanh")
    net.forward(net.init_population(3, seed=0), np.ones((2, 4)) + 1j)


def _forward_each_complex(tmp):
    net = pn.Network([4, 2], "tanh")
    net.forward_each(np.ones((3, net.n_params), complex), np.ones((3, 4), np.float32))


# ------------------------------------------------------------- algorithms
def _nan_writer(tmp):
    def fitness(pop):
        pop[0, 0] = np.nan  # corrupts the GA's next parents
        return _sphere(np.nan_to_num(pop))

    _ga().run(fitness, generations=2)


def _es_nan_writer(tmp):
    # an ES rebuilds its population from the centre: only the genomes that
    # would enter the hall of fame matter, and the best one was overwritten
    def fitness(pop):
        f = _sphere(pop)
        pop[np.argmax(f)] = np.inf
        return f

    pn.OpenES(n_params=4, pop_size=8, seed=0).run(fitness, generations=2)


def _sus_negative(tmp):
    ga = _ga(selection=pn.SUS())
    ga.ask()
    ga.tell(-np.ones(8))  # not at the next ask()


def _roulette_negative(tmp):
    ga = _ga(selection=pn.Roulette())
    ga.ask()
    try:
        ga.tell(_sphere(ga.ask()))  # negative: roulette cannot weigh it
    finally:
        assert ga.generation == 0  # refused, state unchanged


# ------------------------------------------------------------- checkpoints
def _saved(tmp) -> str:
    ga = _ga()
    ga.run(_sphere, generations=2)
    path = str(tmp / "run.ckpt")
    ga.save(path)
    return path


def _craft(tmp, edit) -> str:
    """A checkpoint edited as an attacker would: meta changed by ``edit``,
    checksum recomputed so that only the content is wrong."""
    path = _saved(tmp)
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    meta = json.loads(bytes(arrays.pop("__meta__")).decode())
    meta.pop("checksum")
    edit(meta)
    meta["checksum"] = checkpoint._digest(meta, arrays)
    blob = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    out = str(tmp / "crafted.ckpt")
    np.savez(out, __meta__=blob, **arrays)
    os.replace(out + ".npz", out)
    return out


def _load_npy(tmp):
    path = str(tmp / "a.npy")
    np.save(path, np.ones(3))
    pn.load(path)


def _load_unknown_compression(tmp):
    path = _saved(tmp)
    with open(path, "rb") as fh:
        raw = bytearray(fh.read())
    central = raw.index(b"PK\x01\x02")  # first central-directory entry
    raw[central + 10 : central + 12] = struct.pack("<H", 99)  # method 99
    with open(path, "wb") as fh:
        fh.write(bytes(raw))
    with pytest.raises(NotImplementedError):  # what zipfile itself says
        zipfile.ZipFile(path).read(zipfile.ZipFile(path).namelist()[0])
    pn.load(path)


def _load_bad_json(tmp):
    path = str(tmp / "bad.ckpt")
    np.savez(path, __meta__=np.frombuffer(b'{"format": "pyneat_lite.chec', np.uint8))
    os.replace(path + ".npz", path)
    pn.load(path)


def _load_missing_key(tmp):
    pn.load(_craft(tmp, lambda m: m.pop("params")))


def _load_other_class(tmp):
    snes = "pyneat_lite.algorithms.snes:SNES"
    pn.load(_craft(tmp, lambda m: m.update({"class": snes})))


def _load_changed_pop_size(tmp):
    pn.load(_craft(tmp, lambda m: m["params"].update({"pop_size": 16})))


def _read_only_dir(tmp):
    # writable by nobody, root included: /proc is a read-only pseudo file system
    _ga().save("/proc/run.ckpt")


# ---------------------------------------------------------------- datasets
def _mnist_overflowing_header(tmp):
    # (2**32 - 1)**2 * 7 bytes announced: wraps around in int64
    header = struct.pack(">HBBIII", 0, 8, 3, 2**32 - 1, 2**32 - 1, 7)
    labels = struct.pack(">HBBI", 0, 8, 1, 1) + b"\0"
    (tmp / "t10k-images-idx3-ubyte").write_bytes(header + bytes(49))
    (tmp / "t10k-labels-idx1-ubyte").write_bytes(labels)
    pn.datasets.load_mnist(tmp)


def _mnist_file_not_dir(tmp):
    (tmp / "f").write_bytes(b"")
    pn.datasets.load_mnist(tmp / "f")


# -------------------------------------------------------------- the command
class CommandUsageError(Exception):
    """``pyneat-lite`` exited with status 2 and one line on stderr (the line),
    before the run started."""


def _cli(*argv, hide=None):
    """Run ``pyneat-lite argv``; raise CommandUsageError(its one-line message) if it
    refused them as promised (exit 2, one line, no generation run), else fail.
    ``hide``: a module the command must believe is not installed."""
    import contextlib
    import importlib.util
    import io
    from unittest import mock

    from pyneat_lite.cli import main

    real = importlib.util.find_spec
    out, err = io.StringIO(), io.StringIO()
    with contextlib.ExitStack() as stack:
        if hide is not None:
            stack.enter_context(mock.patch.object(
                importlib.util, "find_spec",
                lambda name, *a: None if name == hide else real(name, *a)))
        stack.enter_context(contextlib.redirect_stdout(out))
        stack.enter_context(contextlib.redirect_stderr(err))
        try:
            rc = main([str(a) for a in argv])
        except SystemExit as exc:  # argparse's own errors
            rc = exc.code
    lines = err.getvalue().strip().splitlines()
    assert rc == 2 and len(lines) == 1, (rc, err.getvalue())
    assert "generations in" not in out.getvalue()  # refused before the run
    raise CommandUsageError(lines[0])


def _cli_resume_other_algorithm(tmp):
    path = tmp / "snes.ckpt"
    pn.SNES(n_params=114, pop_size=8, seed=0).save(path)
    _cli("run", "cartpole", "--algorithm", "ga", "--resume", path)


def _cli_resume_npy(tmp):
    np.save(tmp / "x.npy", np.ones(3))
    _cli("run", "cartpole", "--resume", tmp / "x.npy")


def _cli_resume_text(tmp):
    (tmp / "notes.txt").write_text("not a checkpoint")
    _cli("run", "cartpole", "--resume", tmp / "notes.txt")


def _cli_data_file(tmp):
    (tmp / "t10k-images-idx3-ubyte").write_bytes(b"")
    _cli("run", "mnist", "--data", tmp / "t10k-images-idx3-ubyte")


# one row per case: (id, call, exception type, text the message must hold)
CASES = [
    ("network-sizes-overflow", lambda t: pn.Network([2**40, 2**40, 1], "tanh"),
     ValueError, "'sizes'"),
    ("network-activations-none", lambda t: pn.Network([4, 2], None),
     TypeError, "sizes and activations"),
    ("network-activations-number", lambda t: pn.Network([4, 2], 3),
     TypeError, "'activations'"),
    ("forward-complex-population", _forward_complex_population,
     TypeError, "'population_or_genome'"),
    ("forward-complex-inputs", _forward_complex_inputs, TypeError, "'X'"),
    ("forward-each-complex", _forward_each_complex, TypeError, "'population'"),
    ("run-callbacks-function", lambda t: _ga().run(_never, callbacks=lambda a: None),
     TypeError, "'callbacks'"),
    ("run-callbacks-number", lambda t: _ga().run(_never, callbacks=3),
     TypeError, "'callbacks'"),
    ("run-evaluator-class", lambda t: _ga().run(_never, evaluator=pn.Serial),
     TypeError, "'evaluator'"),
    ("openes-sigma-overflow", lambda t: pn.OpenES(n_params=4, sigma=1e39),
     ValueError, "'sigma'"),
    ("snes-sigma-overflow", lambda t: pn.SNES(n_params=4, sigma=1e38),
     ValueError, "'sigma'"),
    ("ga-init-sigma-overflow", lambda t: _ga(init_sigma=1e39),
     ValueError, "'init_sigma'"),
    ("gaussian-mutation-sigma-overflow", lambda t: pn.GaussianMutation(sigma=3e38),
     ValueError, "'sigma'"),
    ("gaussian-mutation-sigma-vector-overflow",
     lambda t: pn.GaussianMutation(sigma_vector=np.full(4, 3e38)),
     ValueError, "'sigma_vector'"),
    ("fitness-writes-nan-ga", _nan_writer, ValueError, "'fitness'"),
    ("fitness-writes-inf-es", _es_nan_writer, ValueError, "'fitness'"),
    ("ga-tournament-larger-than-population",
     lambda t: pn.GA(n_params=4, pop_size=4, selection=pn.Tournament(k=10)),
     ValueError, "tournament size k"),
    ("sus-negative-fitness-at-tell", _sus_negative, ValueError, "'fitness'"),
    ("roulette-negative-fitness-at-tell", _roulette_negative, ValueError, "'fitness'"),
    ("run-checkpoint-missing-dir",
     lambda t: _ga().run(_never, checkpoint_every=1,
                         checkpoint_path=t / "missing" / "run.ckpt"),
     ValueError, "'checkpoint_path'"),
    ("run-checkpoint-onto-dir",
     lambda t: _ga().run(_never, checkpoint_every=1, checkpoint_path=t),
     ValueError, "'checkpoint_path'"),
    ("save-missing-dir", lambda t: _ga().save(t / "missing" / "run.ckpt"),
     ValueError, "'path'"),
    ("save-onto-dir", lambda t: _ga().save(t), ValueError, "'path'"),
    ("save-read-only-dir", _read_only_dir, ValueError, "'path'"),
    ("save-path-none", lambda t: _ga().save(None), TypeError, "'path'"),
    ("load-none", lambda t: pn.load(None), TypeError, "'path'"),
    ("load-npy-file", _load_npy, CheckpointError, "a.npy"),
    ("load-unknown-compression", _load_unknown_compression,
     CheckpointError, "run.ckpt"),
    ("load-bad-json", _load_bad_json, CheckpointError, "bad.ckpt"),
    ("load-crafted-missing-key", _load_missing_key,
     CheckpointError, "crafted.ckpt"),
    ("load-crafted-other-class", _load_other_class, CheckpointError, "crafted.ckpt"),
    ("load-crafted-pop-size", _load_changed_pop_size, CheckpointError, "crafted.ckpt"),
    ("load-mnist-overflowing-header", _mnist_overflowing_header,
     ValueError, "t10k-images-idx3-ubyte"),
    ("load-mnist-file-not-dir", _mnist_file_not_dir, FileNotFoundError, "'path'"),
    ("cli-pop-1", lambda t: _cli("run", "cartpole", "--pop", "1"),
     CommandUsageError, "--pop 1"),
    ("cli-openes-odd-pop", lambda t: _cli("run", "cartpole", "--algorithm", "openes",
                                          "--pop", "3"),
     CommandUsageError, "--pop 3"),
    ("cli-resume-npy", _cli_resume_npy, CommandUsageError, "x.npy"),
    ("cli-resume-text-file", _cli_resume_text, CommandUsageError, "notes.txt"),
    ("cli-resume-other-algorithm", _cli_resume_other_algorithm,
     CommandUsageError, "--algorithm ga"),
    ("cli-checkpoint-missing-dir",
     lambda t: _cli("run", "cartpole", "--checkpoint", t / "missing" / "run.ckpt"),
     CommandUsageError, "--checkpoint"),
    ("cli-plot-missing-dir",
     lambda t: _cli("run", "cartpole", "--plot", t / "missing" / "fit.png"),
     CommandUsageError, "--plot"),
    ("cli-plot-onto-dir", lambda t: _cli("run", "cartpole", "--plot", t),
     CommandUsageError, "--plot"),
    ("cli-plot-without-matplotlib",
     lambda t: _cli("run", "cartpole", "--plot", t / "fit.png", hide="matplotlib"),
     CommandUsageError, "--plot needs matplotlib"),
    ("cli-digits-without-scikit-learn",
     lambda t: _cli("run", "digits", hide="sklearn"),
     CommandUsageError, "needs scikit-learn"),
    ("cli-data-names-a-file", _cli_data_file, CommandUsageError, "--data"),
]


@pytest.mark.parametrize(
    ("call", "exc", "text"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_bad_input(call, exc, text, tmp_path):
    with pytest.raises(exc) as info:
        call(tmp_path)
    assert text in str(info.value)
    # one clear error, not a raw one re-labelled: the text says what is wanted
    assert len(str(info.value)) > len(text) + 20


def test_huge_finite_fitness_has_finite_statistics():
    """``tell(np.full(8, 1e308))`` gives the mean and std of those numbers
    (mean 1e308, std 0), not inf: the sums are scaled; against NumPy on the
    values divided by 1e300."""
    ga = _ga(elitism=0)
    rng = np.random.default_rng(0)
    told = [np.full(8, 1e308), rng.uniform(-1.7, 1.7, 8) * 1e308]
    for f in told:
        ga.ask()
        ga.tell(f)
    h = ga.history
    for g, f in enumerate(told):
        small = f / 1e300
        np.testing.assert_allclose(h["mean"][g], small.mean() * 1e300, rtol=1e-12)
        np.testing.assert_allclose(h["std"][g], small.std() * 1e300, rtol=1e-12)
        assert h["min"][g] == f.min() and h["max"][g] == f.max()


def test_damaged_checkpoints_raise_checkpoint_error_or_load_unchanged(tmp_path):
    """300 single-bit flips spread over a checkpoint: each load either raises
    CheckpointError or (a flip in a byte nobody reads, such as a zip
    timestamp) gives back the saved state, checked through the next
    population, which is a function of the whole state."""
    path = _saved(tmp_path)
    with open(path, "rb") as fh:
        raw = fh.read()
    expected = pn.load(path).ask().copy()
    rng = np.random.default_rng(0)
    damaged = str(tmp_path / "damaged.ckpt")
    n_loaded = 0
    for pos in rng.choice(len(raw) * 8, size=300, replace=False):
        flipped = bytearray(raw)
        flipped[pos // 8] ^= 1 << (pos % 8)
        with open(damaged, "wb") as fh:
            fh.write(bytes(flipped))
        try:
            algo = pn.load(damaged)
        except CheckpointError:
            continue
        n_loaded += 1
        np.testing.assert_array_equal(algo.ask(), expected)
    assert n_loaded < 150  # most flips hit bytes that are read and checked
