"""Checkpoints: save an object's whole state and resume it bit for bit.

This module is the file format only; it knows no algorithm.  An object can
be saved when its class, defined inside the ``pyneat_lite`` package,
declares the checkpoint protocol (every algorithm does):

- a class attribute ``_checkpoint_protocol = PROTOCOL``;
- ``obj._state() -> (params, scalars, arrays)``: JSON constructor
  parameters, JSON scalars and NumPy arrays, together the complete state;
- ``cls._from_checkpoint(params, scalars, arrays) -> obj``, its inverse.

Format (version 2)
------------------
One ``.npz`` archive (a zip of ``.npy`` files, readable with
``np.load(path, allow_pickle=False)``) holding

- ``__meta__``: a uint8 array with UTF-8 JSON -- the format name and version,
  the object's class as ``"module:QualName"`` (e.g.
  ``"pyneat_lite.algorithms.openes:OpenES"``), its parameters, its scalar
  state and a SHA-256 checksum of everything else;
- ``state/<name>``: one array per piece of state.

Version 1 (pyneat_lite 0.1.0) differs only in naming the class by its bare
name (``"OpenES"``); such files still load.

Nothing is pickled, so a checkpoint loads without the user's code (the fitness
function is not part of it) and loading one cannot run code: :func:`load`
imports the stored class only from a module of the ``pyneat_lite`` package,
and only a class that declares the protocol.  Randomness is a function of
``(seed, generation)``, so the seed and the generation counter are all the
generator state there is.  Files are written to a temporary file in the same
directory (``.{name}.ckpt-XXXX.tmp``, locked while it is written) and moved
into place with :func:`os.replace`, so a crash never leaves a half-written
checkpoint under the final name.  The next save of the same checkpoint
deletes the temporary files that killed saves left behind (those whose
writer no longer holds the lock; see :func:`save`).  A truncated,
corrupted or unloadable file raises :class:`CheckpointError` (a
``ValueError``).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import json
import os
import re
import tempfile
import time
from typing import Any

import numpy as np

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["save", "load", "check_path", "CheckpointError", "FORMAT_VERSION",
           "PROTOCOL"]

FORMAT_NAME = "pyneat_lite.checkpoint"
FORMAT_VERSION = 2
#: versions :func:`load` reads
READ_VERSIONS = (1, 2)
#: value of ``_checkpoint_protocol`` on a class that can be saved
PROTOCOL = 1
_META = "__meta__"
_TMP_PREFIX, _TMP_SUFFIX = ".ckpt-", ".tmp"
# temporary files of versions before 0.2, named after no checkpoint
_LEGACY_TMP = re.compile(r"\.ckpt-[A-Za-z0-9_]+\.tmp")
_LEGACY_TMP_AGE = 3600.0  # seconds
_PACKAGE = "pyneat_lite"

# Version 1 named the class bare; these are the classes 0.1.0 could save.
_V1_CLASSES = {
    "GA": "pyneat_lite.algorithms.ga:GA",
    "OpenES": "pyneat_lite.algorithms.openes:OpenES",
    "SNES": "pyneat_lite.algorithms.snes:SNES",
    "SepCMAES": "pyneat_lite.algorithms.sepcma:SepCMAES",
    "CEM": "pyneat_lite.algorithms.cem:CEM",
    "PGPE": "pyneat_lite.algorithms.pgpe:PGPE",
}


class CheckpointError(ValueError):
    """The file is not a valid pyneat_lite checkpoint (truncated, corrupted,
    or written by an incompatible version)."""


def _in_package(module: str) -> bool:
    parts = module.split(".")
    return parts[0] == _PACKAGE and all(p.isidentifier() for p in parts)


def _declares_protocol(cls: Any) -> bool:
    return (
        isinstance(cls, type)
        and _in_package(getattr(cls, "__module__", ""))
        and getattr(cls, "_checkpoint_protocol", None) == PROTOCOL
        and callable(getattr(cls, "_state", None))
        and callable(getattr(cls, "_from_checkpoint", None))
    )


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

    Notes
    -----
    The file is written as ``.{name}.ckpt-XXXX.tmp`` beside ``path``, under an
    exclusive ``flock``, then renamed.  A save killed mid-write (even by
    ``kill -9``) leaves that file; the next save of the same ``path`` deletes
    every such file whose lock is free (a concurrent writer keeps its own),
    and ``.ckpt-XXXX.tmp`` files of earlier versions once they are an hour
    old.

    Raises
    ------
    TypeError
        If ``algorithm``'s class is not a pyneat_lite class that declares the
        checkpoint protocol (a subclass defined outside the package could not
        be loaded back, so it is refused here), or ``path`` is not path-like.
    ValueError
        If ``path`` is a directory or its directory is missing or refuses a
        new file (read-only, no permission); checked before anything is
        written.

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
    cls = type(algorithm)
    if not _declares_protocol(cls):
        raise TypeError(
            "The 'algorithm' argument of save must be a pyneat_lite algorithm "
            "(a class of the pyneat_lite package with the checkpoint protocol). "
            f"Got {cls.__module__}.{cls.__qualname__} instead."
        )
    path = check_path(path, caller="save")
    params, scalars, state_arrays = algorithm._state()
    arrays = {f"state/{k}": v for k, v in state_arrays.items()}
    meta: dict[str, Any] = {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "class": f"{cls.__module__}:{cls.__qualname__}",
        "params": params,
        "scalars": scalars,
        "arrays": sorted(arrays),
    }
    meta["checksum"] = _digest(meta, arrays)
    blob = np.frombuffer(json.dumps(meta, sort_keys=True).encode(), dtype=np.uint8)
    directory = os.path.dirname(os.path.abspath(path))
    _remove_stale_temp_files(directory, os.path.basename(path))
    fd, tmp = _temp_file(directory, path, "path", "save")
    try:
        # the lock lives as long as ``fd``: it marks the file as being
        # written until it has its final name (see _remove_stale_temp_files)
        _lock(fd, blocking=True)
        with os.fdopen(os.dup(fd), "wb") as fh:
            np.savez(fh, **{_META: blob}, **arrays)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        _unlink_quietly(tmp)
        raise
    finally:
        os.close(fd)


def _temp_prefix(base: str) -> str:
    """Temporary files of the checkpoint ``base`` are ``.{base}.ckpt-XXXX.tmp``
    beside it: hidden, and attributable to their checkpoint."""
    return f".{base}{_TMP_PREFIX}"


def _lock(fd: int, blocking: bool) -> bool:
    """An exclusive ``flock`` on ``fd``; False if another process holds one.
    Without ``fcntl`` (Windows) nothing is locked and True is returned."""
    if fcntl is None:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
    except BlockingIOError:
        return False
    return True


def _remove_stale_temp_files(directory: str, base: str) -> None:
    """Delete the temporary files that earlier saves of the same checkpoint
    left when they were killed mid-write.

    A writer holds an exclusive lock on its temporary file until the file
    has its final name, and the system drops the lock when the writer dies
    (even by ``kill -9``): a temporary file of this checkpoint that can be
    locked is an orphan.  Files of the unattributable ``.ckpt-XXXX.tmp``
    form written by earlier versions go when they are an hour old.
    Without ``fcntl`` (Windows), this checkpoint's files also go after an
    hour.
    """
    prefix = _temp_prefix(base)
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return
    now = time.time()
    for entry in entries:
        name = entry.name
        if not name.endswith(_TMP_SUFFIX):
            continue
        try:
            age = now - entry.stat(follow_symlinks=False).st_mtime
            if name.startswith(prefix) and fcntl is not None:
                fd = os.open(entry.path, os.O_RDONLY)
                try:
                    if _lock(fd, blocking=False):
                        os.unlink(entry.path)
                finally:
                    os.close(fd)
            elif (name.startswith(prefix) or _LEGACY_TMP.fullmatch(name)) and (
                age > _LEGACY_TMP_AGE
            ):
                os.unlink(entry.path)
        except OSError:  # gone meanwhile, or not ours to remove
            continue


def _fspath(path: Any, name: str, caller: str) -> str:
    try:
        return os.fspath(path)
    except TypeError:
        raise TypeError(
            f"The {name!r} argument of {caller} must be a str or path-like. "
            f"Got {type(path).__name__} instead."
        ) from None


def check_path(
    path: Any, *, name: str = "path", caller: str = "save", probe: bool = False
) -> str:
    """Return ``path`` as a str after checking, before any work, that a
    checkpoint can be written there: not a directory, in an existing
    directory, and (``probe=True``) one where a file can be created, which
    is tried with a temporary file removed at once.

    Raises
    ------
    TypeError
        If ``path`` is not a str or path-like.
    ValueError
        If ``path`` is a directory, or its directory is missing, not a
        directory or not writable.
    """
    path = _fspath(path, name, caller)
    directory = os.path.dirname(os.path.abspath(path))
    if path == "" or os.path.isdir(path):
        raise ValueError(
            f"The {name!r} argument of {caller} must name a file, not a directory. "
            f"Got {path!r} instead."
        )
    if not os.path.isdir(directory):
        raise ValueError(
            f"The {name!r} argument of {caller} must be in an existing directory. "
            f"Got {path!r}, whose directory {directory!r} does not exist."
        )
    if probe:
        fd, tmp = _temp_file(directory, path, name, caller)
        os.close(fd)
        _unlink_quietly(tmp)
    return path


def _temp_file(directory: str, path: str, name: str, caller: str) -> tuple[int, str]:
    """``mkstemp`` beside ``path``; a directory that refuses it (read-only,
    no permission, a read-only file system -- root included) is a
    ValueError naming the argument."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=_temp_prefix(os.path.basename(path)),
                                   suffix=_TMP_SUFFIX, dir=directory)
    except OSError as exc:
        raise ValueError(
            f"The {name!r} argument of {caller} must be in a writable directory. "
            f"Got {path!r}, where no file can be created ({exc.strerror})."
        ) from None
    return fd, tmp


def _unlink_quietly(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


def _class_of(path: str, meta: dict[str, Any]) -> Any:
    """The class named in ``meta``, imported only from inside the package."""
    name = meta.get("class")
    if meta["version"] == 1:
        name = _V1_CLASSES.get(name, name)
    if not isinstance(name, str) or name.count(":") != 1:
        raise CheckpointError(f"{path!r} holds an unknown algorithm class {name!r}.")
    module, qualname = name.split(":")
    if not _in_package(module):
        raise CheckpointError(
            f"{path!r} names the class {name!r}, which is not inside the "
            f"{_PACKAGE} package; refusing to import it."
        )
    if not qualname.isidentifier():
        raise CheckpointError(f"{path!r} holds an unknown algorithm class {name!r}.")
    try:
        cls = getattr(importlib.import_module(module), qualname, None)
    except ImportError:
        cls = None
    if not _declares_protocol(cls) or cls.__module__ != module:
        raise CheckpointError(
            f"{path!r} holds an unknown algorithm class {name!r} (no such "
            "pyneat_lite class with the checkpoint protocol)."
        )
    return cls


def load(path: str | os.PathLike[str]) -> Any:
    """Restore an algorithm saved with :func:`save` (``pn.load``).

    Reads format versions 2 and 1 (pyneat_lite 0.1.0).

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
        If the file is truncated, corrupted, not a checkpoint, of an unknown
        format version, or names a class that is not a pyneat_lite algorithm.

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "es.ckpt")
    >>> es = pn.OpenES(n_params=3, pop_size=4, seed=0)
    >>> es.tell(es.ask().sum(axis=1))
    >>> es.save(path)
    >>> resumed = pn.load(path)
    >>> type(resumed).__name__, resumed.generation
    ('OpenES', 1)
    """
    path = _fspath(path, "path", "load")
    if not os.path.exists(path):
        raise FileNotFoundError(f"No checkpoint at {path!r}.")
    try:
        with open(path, "rb") as fh:
            if fh.read(4) != b"PK\x03\x04":  # what np.savez writes first
                raise CheckpointError(
                    f"{path!r} is not a pyneat_lite checkpoint (not an .npz archive)."
                )
        with np.load(path, allow_pickle=False) as data:
            if _META not in data.files:
                raise CheckpointError(
                    f"{path!r} is not a pyneat_lite checkpoint (no {_META!r} entry)."
                )
            meta = json.loads(bytes(data[_META]).decode())
            arrays = {name: data[name] for name in data.files if name != _META}
    except CheckpointError:
        raise
    except IsADirectoryError:
        raise CheckpointError(f"{path!r} is a directory, not a checkpoint.") from None
    except Exception as exc:
        # damaged bytes reach zipfile, zlib, NumPy's header parser and json
        # (BadZipFile, NotImplementedError for an unknown compression method,
        # zlib.error, ValueError, RecursionError, ...): all mean "corrupted"
        raise CheckpointError(
            f"{path!r} is not a readable pyneat_lite checkpoint: it is truncated or "
            f"corrupted ({type(exc).__name__}: {exc})."
        ) from exc
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_NAME:
        raise CheckpointError(f"{path!r} is not a pyneat_lite checkpoint.")
    if meta.get("version") not in READ_VERSIONS:
        raise CheckpointError(
            f"{path!r} has checkpoint format version {meta.get('version')!r}; this "
            f"pyneat_lite reads versions {', '.join(map(str, READ_VERSIONS))}."
        )
    checksum = meta.pop("checksum", None)
    if sorted(arrays) != meta.get("arrays") or checksum != _digest(meta, arrays):
        raise CheckpointError(
            f"{path!r} is corrupted: its checksum does not match its content."
        )
    cls = _class_of(path, meta)
    state = {k[len("state/") :]: v for k, v in arrays.items()}
    try:
        return cls._from_checkpoint(meta["params"], meta["scalars"], state)
    except Exception as exc:
        # a crafted file with a valid checksum: missing keys, parameters of
        # another class, arrays whose shapes do not fit the parameters
        raise CheckpointError(
            f"{path!r} does not hold a consistent {cls.__name__} state "
            f"({type(exc).__name__}: {exc})."
        ) from exc
