"""Saved policies: a network's architecture and one genome, in one file.

The one policy format of the library (``pyneat-lite run ... --out DIR``,
``examples/cartpole.py`` and user code): a NumPy ``.npz`` archive, readable
with ``np.load(path, allow_pickle=False)``, holding

- ``__policy__``: a uint8 array with UTF-8 JSON ``{"format":
  "pyneat_lite.policy", "version": 1, "network": Network.to_config()}``;
- ``genome``: the float32 genome ``(n_params,)``.

Nothing is pickled. :func:`load_policy` also reads the two key sets the
command and the CartPole example wrote before this format existed
(``genome`` + ``sizes`` + ``activations``, and ``genome`` + ``network``).

Examples
--------
>>> import os, tempfile
>>> import pyneat_lite as pn
>>> net = pn.Network([4, 16, 2], ["tanh", "linear"])
>>> genome = net.init_population(1, seed=0)[0]
>>> path = os.path.join(tempfile.mkdtemp(), "policy.npz")
>>> pn.save_policy(path, net, genome)
>>> net2, genome2 = pn.load_policy(path)
>>> net2 == net, bool((genome2 == genome).all())
(True, True)
"""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np

from ._typing import Float32Array
from ._validation import check_genome
from .network import Network

__all__ = ["save_policy", "load_policy", "POLICY_FORMAT"]

POLICY_FORMAT = "pyneat_lite.policy"
_VERSION = 1
_META = "__policy__"


def save_policy(path: str | os.PathLike[str], network: Network, genome: Any) -> None:
    """Write ``network``'s architecture and ``genome`` to ``path`` (``.npz``).

    Parameters
    ----------
    path : str or path-like
        Destination, written exactly there (NumPy adds no ``.npz`` suffix
        to an open file).  Its directory must exist.
    network : Network
    genome : array-like of shape (network.n_params,)
        Converted to float32; must be finite.

    Raises
    ------
    TypeError
        If ``network`` is not a :class:`Network`.
    ValueError
        If ``genome`` does not fit ``network`` or is not finite, or the
        directory of ``path`` does not exist.
    """
    if not isinstance(network, Network):
        raise TypeError(
            "The 'network' argument of save_policy must be a pyneat_lite Network. "
            f"Got {type(network).__name__} instead."
        )
    genome = check_genome(genome, caller="save_policy", n_params=network.n_params)
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise ValueError(
            "The 'path' argument of save_policy must be in an existing directory. "
            f"Got {path!r}, whose directory {directory!r} does not exist."
        )
    meta = {"format": POLICY_FORMAT, "version": _VERSION,
            "network": network.to_config()}
    blob = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    with open(path, "wb") as fh:
        np.savez(fh, **{_META: blob}, genome=genome)


def load_policy(path: str | os.PathLike[str]) -> tuple[Network, Float32Array]:
    """Read a policy written by :func:`save_policy`.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    network : Network
    genome : float32 ndarray of shape (network.n_params,)

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file is not a policy (not an ``.npz`` archive, no network
        description, a genome that does not fit the network); the message
        names the file.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"No policy file at {path!r}.")
    try:
        with np.load(path, allow_pickle=False) as data:
            files = set(data.files)
            if _META in files:
                meta = json.loads(bytes(data[_META]).decode())
                if meta.get("format") != POLICY_FORMAT:
                    raise ValueError("its format is not " + POLICY_FORMAT)
                config = meta["network"]
            elif "network" in files:  # examples/cartpole.py before the format
                config = json.loads(str(data["network"]))
            elif {"sizes", "activations"} <= files:  # pyneat-lite run, before
                config = {"sizes": data["sizes"].tolist(),
                          "activations": [str(a) for a in data["activations"]]}
            else:
                raise ValueError("it holds no network description")
            genome = np.ascontiguousarray(data["genome"], dtype=np.float32)
        network = Network.from_config(config)
        genome = check_genome(genome, caller="load_policy", n_params=network.n_params)
    except Exception as exc:
        raise ValueError(
            f"{path!r} is not a pyneat_lite policy file: {exc}"
        ) from exc
    return network, genome
