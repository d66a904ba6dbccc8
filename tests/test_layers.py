"""The package's layers (DESIGN.md, issue 9): imports only point down.

Every module of ``pyneat_lite`` is imported (so a move that broke an import
fails here), then the import statements of every source file are read with
:mod:`ast` -- top-level and function-level ones alike, since a lazy import
is still a dependency -- and checked against the rule table below, the one
place to edit when a module is added or moved.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import pkgutil
from pathlib import Path

import pytest

import pyneat_lite

PACKAGE = "pyneat_lite"

# ------------------------------------------------------------- rule table
#: Layers from the bottom up.  A module belongs to the layer of the longest
#: prefix that matches its dotted name, and may import modules of its own
#: layer or of a lower one.  Every module must have a layer.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    # no pyneat_lite imports of their own, or only each other: tables, types,
    # the validation helpers, the ranking rule and the checkpoint file format
    ("foundation", (
        "pyneat_lite._typing",
        "pyneat_lite._version",
        "pyneat_lite._validation",
        "pyneat_lite._ranking",
        "pyneat_lite._threads",      # the one thread decision; kernels ask it
        "pyneat_lite.activations",   # the activation table the kernels read
        "pyneat_lite.checkpoint",    # the file format; imports no algorithm
    )),
    # Numba and Cython kernels: arrays and plain numbers in, no validation
    ("kernels", (
        "pyneat_lite._kernels",
        "pyneat_lite._operators",
    )),
    # validating wrappers around the kernels
    ("wrappers", (
        "pyneat_lite._rng",
        "pyneat_lite.network",
        "pyneat_lite._network_checks",   # Network's argument checks (issue 9 split)
        "pyneat_lite._network_kernels",  # Network's kernel dispatch (issue 9 split)
        "pyneat_lite._layout",       # Network's layer table
        "pyneat_lite.layers",        # layer specs of Network(layers=...)
        "pyneat_lite._init_schemes",  # Network's initialisers
        "pyneat_lite.operators",
        "pyneat_lite._warmup",
        "pyneat_lite.policy",        # save_policy / load_policy (issue 15)
        "pyneat_lite._obs_norm",     # the state normaliser of rollouts and ARS V2
    )),
    ("algorithms", (
        "pyneat_lite.algorithms",
        "pyneat_lite.qd",            # quality diversity and novelty (issue 12)
    )),
    # users of the algorithms
    ("applications", (
        "pyneat_lite.tasks",
        "pyneat_lite.evaluation",
        "pyneat_lite.estimators",    # scikit-learn estimators (issue 15)
        "pyneat_lite.adapters",
        "pyneat_lite.cli",
    )),
]

#: (importer prefixes, imported prefix, why): forbidden even where the layer
#: order would allow it.  An importer prefix of "" means every module.
FORBIDDEN: list[tuple[tuple[str, ...], str, str]] = [
    (("pyneat_lite.checkpoint",), "pyneat_lite.algorithms",
     "checkpoint.py is the file format only and imports no algorithm"),
]

#: Only these may import an adapter (nothing in the core does).
ADAPTER_USERS = ("pyneat_lite.adapters", "pyneat_lite.cli")

#: Names that make a Numba kernel; only the kernel layer may use them.
NUMBA_KERNEL_NAMES = frozenset(
    {"njit", "jit", "prange", "vectorize", "guvectorize", "cfunc", "stencil"}
)

#: The package facade resolves its public names lazily (PEP 562); it is the
#: one module allowed to name every layer.
FACADE = "pyneat_lite"


# ---------------------------------------------------------------- helpers
def _modules() -> dict[str, Path | None]:
    """Dotted name -> source file (None for compiled extension modules)."""
    out: dict[str, Path | None] = {PACKAGE: Path(pyneat_lite.__file__)}
    for info in pkgutil.walk_packages(pyneat_lite.__path__, PACKAGE + "."):
        spec = importlib.util.find_spec(info.name)
        origin = spec.origin if spec is not None else None
        out[info.name] = Path(origin) if origin and origin.endswith(".py") else None
    return out


MODULES = _modules()


def _layer(module: str) -> int | None:
    best, best_len = None, -1
    for level, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(
                prefix
            ) > best_len:
                best, best_len = level, len(prefix)
    return best


def _matches(module: str, prefix: str) -> bool:
    return prefix == "" or module == prefix or module.startswith(prefix + ".")


def _resolve_from(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    parts = module.split(".")
    base = parts if is_package else parts[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _facade_target(name: str) -> str:
    """Where ``from pyneat_lite import name`` really comes from."""
    lazy = {**pyneat_lite._LAZY_ATTRS, **pyneat_lite._LAZY_SUBMODULES}
    if name in lazy:
        return PACKAGE + lazy[name]
    candidate = f"{PACKAGE}.{name}"
    return candidate if candidate in MODULES else PACKAGE


def _imports(module: str, path: Path) -> list[tuple[str, int]]:
    """(imported pyneat_lite module, line) for every import in the file."""
    return _imports_in(module, path.read_text(), path.name == "__init__.py")


def _imports_in(module: str, source: str, is_package: bool) -> list[tuple[str, int]]:
    tree = ast.parse(source)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if _matches(alias.name, PACKAGE):
                    found.append((alias.name, node.lineno))
        elif isinstance(node, ast.ImportFrom):
            target = _resolve_from(module, is_package, node)
            if not _matches(target, PACKAGE):
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                if target == PACKAGE:
                    found.append((_facade_target(alias.name), node.lineno))
                elif sub in MODULES:  # "from . import submodule"
                    found.append((sub, node.lineno))
                else:
                    found.append((target, node.lineno))
    return found


def _numba_kernel_uses(source: str) -> list[int]:
    """Lines that define a Numba kernel (``from numba import njit``,
    ``numba.njit(...)``, ``@numba.jit``...)."""
    tree = ast.parse(source)
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            from_numba = (node.module or "").split(".")[0] == "numba"
            if from_numba and any(a.name in NUMBA_KERNEL_NAMES for a in node.names):
                lines.append(node.lineno)
        elif (
            isinstance(node, ast.Attribute)
            and node.attr in NUMBA_KERNEL_NAMES
            and isinstance(node.value, ast.Name)
            and node.value.id == "numba"
        ):
            lines.append(node.lineno)
    return lines


SOURCES = {m: p for m, p in MODULES.items() if p is not None}


# ------------------------------------------------------------------ tests
@pytest.mark.parametrize("module", sorted(MODULES))
def test_every_module_imports(module):
    """Every module imports (the optional adapters find torch and keras)."""
    importlib.import_module(module)


def test_every_module_has_a_layer():
    unplaced = sorted(m for m in MODULES if m != FACADE and _layer(m) is None)
    assert not unplaced, (
        f"modules without a layer: {unplaced}; place each one in LAYERS of "
        "tests/test_layers.py (see the layout in DESIGN.md)"
    )


def test_imports_point_down():
    violations = []
    for module, path in sorted(SOURCES.items()):
        if module == FACADE:
            continue
        own = _layer(module)
        if own is None:
            continue  # reported by test_every_module_has_a_layer
        for target, line in _imports(module, path):
            level = _layer(target)
            if target == FACADE or level is None:
                violations.append(f"{module}:{line} imports {target} (no layer)")
            elif level > own:
                violations.append(
                    f"{module}:{line} ({LAYERS[own][0]}) imports {target} "
                    f"({LAYERS[level][0]})"
                )
    assert not violations, "imports that point up:\n" + "\n".join(violations)


def test_forbidden_imports():
    violations = []
    for module, path in sorted(SOURCES.items()):
        imports = _imports(module, path)
        for importers, imported, why in FORBIDDEN:
            if not any(_matches(module, p) for p in importers):
                continue
            for target, line in imports:
                if _matches(target, imported):
                    violations.append(f"{module}:{line} imports {target}: {why}")
        if not any(_matches(module, p) for p in ADAPTER_USERS):
            for target, line in imports:
                if _matches(target, "pyneat_lite.adapters"):
                    violations.append(
                        f"{module}:{line} imports {target}: nothing in the core "
                        "imports an adapter"
                    )
    assert not violations, "\n".join(violations)


def test_numba_kernels_live_in_the_kernel_layer():
    kernel_level = [name for name, _ in LAYERS].index("kernels")
    violations = []
    for module, path in sorted(SOURCES.items()):
        if _layer(module) == kernel_level:
            continue
        lines = _numba_kernel_uses(path.read_text())
        if lines:
            violations.append(f"{module} (lines {', '.join(map(str, sorted(lines)))})")
    assert not violations, (
        "Numba kernels outside pyneat_lite/_kernels/ (kernels get one home):\n"
        + "\n".join(violations)
    )


def test_the_rules_can_fail():
    """The checker itself: an upward import, an import of an adapter, a
    facade name and a kernel outside the kernel layer are each found (a test
    that cannot fail is a defect)."""
    src = (
        "from ..algorithms import GA\n"
        "def f():\n"
        "    from ..adapters import torch\n"
        "from pyneat_lite import GA\n"
        "import numba\n"
        "g = numba.njit(f)\n"
    )
    found = _imports_in("pyneat_lite._kernels.probe", src, is_package=False)
    assert sorted(found) == [
        ("pyneat_lite.adapters.torch", 3),
        ("pyneat_lite.algorithms", 1),
        ("pyneat_lite.algorithms", 4),
    ]
    assert _layer("pyneat_lite.algorithms") > _layer("pyneat_lite._kernels.probe")
    assert _layer("pyneat_lite.checkpoint") < _layer("pyneat_lite.algorithms")
    assert _numba_kernel_uses(src) == [6]
    assert _numba_kernel_uses("from numba import njit, prange\n") == [1]
