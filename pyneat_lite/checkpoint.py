"""Checkpoints: save an algorithm's whole state and resume it bit for bit.

Format
------
One ``.npz`` archive (a zip of ``.npy`` files, readable with
``np.load(path, allow_pickle=False)``) holding

- ``__meta__``: a uint8 array with UTF-8 JSON -- the format name and version,
  the algorithm's class, its constructor arguments (operators as their
  ``to_config()`` dicts), its scalar state (generation counter, pending flag,
  evaluation count, ...) and a SHA-256 checksum of everything else;
- one array per piece of state: population buffers, fitness, the search
  distribution, optimiser moments, the hall of fame and the history.

Nothing is pickled, so a checkpoint loads without the user's code (the fitness
function is not part of it) and loading one cannot run code.  Randomness is a
function of ``(seed, generation)``, so the seed and the generation counter are
all the generator state there is.  Files are written to a temporary file in
the same directory and moved into place with :func:`os.replace`, so a crash
never leaves a half-written checkpoint under the final name.  A truncated or
corrupted file raises :class:`CheckpointError` (a ``ValueError``).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zipfile
from typing import Any

import numpy as np

__all__ = ["save", "load", "CheckpointError", "FORMAT_VERSION"]

FORMAT_NAME = "pyneat_lite.checkpoint"
FORMAT_VERSION = 1
_META = "__meta__"


class CheckpointError(ValueError):
    """The file is not a valid pyneat_lite checkpoint (truncated, corrupted,
    or written by an incompatible version)."""


def _digest(meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> str:
    h = hashlib.sha256()
    h.update(json.dumps(meta, sort_keys=True).encode())
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}|{a.dtype.str}|{a.shape}".encode())
        if a.size:
            h.update(memoryview(a.reshape(-1)).cast("B"))
    return h.hexdigest()


def save(algorithm: Any, path: str | os.PathLike[str]) -> None:
    """Write ``algorithm``'s complete state to ``path`` atomically.

    Parameters
    ----------
    algorithm : Algorithm
        Any of :data:`pyneat_lite.ALGORITHMS`' classes, at any point (also
        between ``ask`` and ``tell``).
    path : str or path-like
        Destination; written exactly there (no suffix is added).

    Examples
    --------
    >>> import pyneat_lite as pn, numpy as np, tempfile, os
    >>> es = pn.OpenES(n_params=5, seed=0)
    >>> es.tell(-np.sum(es.ask() ** 2, axis=1))
    >>> path = os.path.join(tempfile.mkdtemp(), "run.ckpt")
    >>> es.save(path)
    >>> pn.load(path).generation
    1
    """
    from .algorithms.base import Algorithm

    if not isinstance(algorithm, Algorithm):
        raise TypeError(
            "The 'algorithm' argument of save must be a pyneat_lite algorithm. "
            f"Got {type(algorithm).__name__} instead."
        )
    path = os.fspath(path)
    scalars, state_arrays = algorithm._state()
    arrays = {f"state/{k}": v for k, v in state_arrays.items()}
    meta: dict[str, Any] = {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "class": type(algorithm).__name__,
        "params": algorithm.get_params(),
        "scalars": scalars,
        "arrays": sorted(arrays),
    }
    meta["checksum"] = _digest(meta, arrays)
    blob = np.frombuffer(json.dumps(meta, sort_keys=True).encode(), dtype=np.uint8)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".ckpt-", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **{_META: blob}, **arrays)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def load(path: str | os.PathLike[str]) -> Any:
    """Restore an algorithm saved with :func:`save` (``pn.load``).

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    Algorithm
        In exactly the saved state: continuing it gives the same populations
        and history, bit for bit, as the run that was saved would have.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    CheckpointError
        If the file is truncated, corrupted, not a checkpoint, or of an
        unknown format version.
    """
    from .algorithms import ALGORITHMS

    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"No checkpoint at {path!r}.")
    try:
        with np.load(path, allow_pickle=False) as data:
            if _META not in data.files:
                raise CheckpointError(
                    f"{path!r} is not a pyneat_lite checkpoint (no {_META!r} entry)."
                )
            meta = json.loads(bytes(data[_META]).decode())
            arrays = {name: data[name] for name in data.files if name != _META}
    except CheckpointError:
        raise
    except (
        zipfile.BadZipFile,
        EOFError,
        OSError,
        ValueError,
        KeyError,
        UnicodeError,
    ) as exc:
        raise CheckpointError(
            f"{path!r} is not a readable pyneat_lite checkpoint: it is truncated or "
            f"corrupted ({type(exc).__name__}: {exc})."
        ) from exc
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_NAME:
        raise CheckpointError(f"{path!r} is not a pyneat_lite checkpoint.")
    if meta.get("version") != FORMAT_VERSION:
        raise CheckpointError(
            f"{path!r} has checkpoint format version {meta.get('version')!r}; this "
            f"pyneat_lite reads version {FORMAT_VERSION}."
        )
    checksum = meta.pop("checksum", None)
    if sorted(arrays) != meta.get("arrays") or checksum != _digest(meta, arrays):
        raise CheckpointError(
            f"{path!r} is corrupted: its checksum does not match its content."
        )
    by_class = {cls.__name__: cls for cls in ALGORITHMS.values()}
    cls = by_class.get(meta["class"])
    if cls is None:
        raise CheckpointError(
            f"{path!r} holds an unknown algorithm class {meta['class']!r}."
        )
    algorithm = cls._from_params(meta["params"])
    state = {k[len("state/") :]: v for k, v in arrays.items()}
    algorithm._set_state(meta["scalars"], state)
    return algorithm
