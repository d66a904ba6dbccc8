"""Typing (issue 15): the package ships ``py.typed``, and type checkers see
every lazily imported public name (``.ci/run`` then runs mypy on
``tests/typing/public_api.py``, the public API as user code touches it)."""

from __future__ import annotations

import ast
from pathlib import Path

import pyneat_lite as pn

PACKAGE = Path(pn.__file__).resolve().parent


def _lazy_tables_and_checked_names():
    tree = ast.parse((PACKAGE / "__init__.py").read_text())
    tables, seen = {}, set()
    for node in tree.body:
        if (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
                and node.target.id in ("_LAZY_ATTRS", "_LAZY_SUBMODULES")):
            tables[node.target.id] = ast.literal_eval(node.value)
        if (isinstance(node, ast.If) and isinstance(node.test, ast.Name)
                and node.test.id == "TYPE_CHECKING"):
            for stmt in node.body:
                assert isinstance(stmt, ast.ImportFrom)
                # "X as X": the explicit re-export form type checkers honour
                seen.update((stmt.level, stmt.module, a.name, a.asname)
                            for a in stmt.names)
    return tables, seen


def test_type_checkers_see_every_lazy_name():
    tables, seen = _lazy_tables_and_checked_names()
    want = set()
    for name, module in tables["_LAZY_ATTRS"].items():
        want.add((1, module.lstrip(".") or None, name, name))
    for name, module in tables["_LAZY_SUBMODULES"].items():
        pkg, _, leaf = module.lstrip(".").rpartition(".")
        want.add((1, pkg or None, leaf, name))
    # the adapters stay out: nothing in the core imports an adapter, not even
    # for type checkers (test_layers.py); `import pyneat_lite.adapters.torch`
    want.discard((1, None, "adapters", "adapters"))
    missing = sorted(str(w) for w in want - seen)
    assert not missing, (
        "add these to the `if TYPE_CHECKING:` block of pyneat_lite/__init__.py "
        f"(level, module, name, as): {missing}")


def test_py_typed_is_shipped():
    assert (PACKAGE / "py.typed").is_file()
    pyproject = (PACKAGE.parent / "pyproject.toml").read_text()
    assert '"py.typed"' in pyproject.split("[tool.setuptools.package-data]")[1]
