"""The documentation site's API reference lists every public name.

``docs/api/*.rst`` name the public objects in autosummary tables (under a
``.. currentmodule::``) and the public modules in ``.. automodule::``
directives.  The public names are ``pyneat_lite.__all__`` and the ``__all__``
of every public submodule reachable from it.  A name counts as documented when
its own qualified name is listed, or when the very object is listed under
another public name (``pn.GA`` documents ``pn.algorithms.GA``).
"""

from __future__ import annotations

import importlib
import inspect
import re
import types
from pathlib import Path

import pytest

import pyneat_lite as pn

API = Path(__file__).resolve().parents[1] / "docs" / "api"

_DIRECTIVE = re.compile(r"^\.\. ([\w:-]+)::\s*(\S*)\s*$")


def parse_api_sources(texts: list[str]) -> tuple[set[str], set[str]]:
    """Qualified names in autosummary tables, and the automodule names."""
    listed: set[str] = set()
    modules: set[str] = set()
    for text in texts:
        current = ""
        in_table = False
        for line in text.splitlines():
            m = _DIRECTIVE.match(line)
            if m:
                kind, arg = m.groups()
                in_table = kind == "autosummary"
                if kind in ("currentmodule", "module"):
                    current = arg
                elif kind == "automodule":
                    modules.add(arg)
                    current = arg
                continue
            if in_table:
                entry = line.strip()
                if not line.startswith("   ") and entry:
                    in_table = False  # the table ended at an unindented line
                elif entry and not entry.startswith(":"):
                    name = entry.lstrip("~")
                    listed.add(name if name.startswith("pyneat_lite") else
                               f"{current}.{name}")
    return listed, modules


def resolve(qualname: str) -> object:
    """The object a dotted name of the reference stands for."""
    parts = qualname.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj: object = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for attr in parts[i:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(qualname)


def public_modules() -> list[types.ModuleType]:
    """pyneat_lite and every module reachable through ``__all__`` names."""
    found: dict[str, types.ModuleType] = {}
    todo: list[types.ModuleType] = [pn]
    while todo:
        module = todo.pop()
        if module.__name__ in found:
            continue
        found[module.__name__] = module
        for name in getattr(module, "__all__", []):
            value = getattr(module, name)
            if (isinstance(value, types.ModuleType)
                    and value.__name__.startswith("pyneat_lite")):
                todo.append(value)
    return sorted(found.values(), key=lambda m: m.__name__)


def missing_names(listed: set[str], modules: set[str]) -> list[str]:
    """Public names (module.name) that the reference does not document."""
    documented_ids = {id(resolve(q)) for q in listed}
    missing = []
    for module in public_modules():
        if module.__name__ not in modules:
            missing.append(module.__name__)
        for name in module.__all__:
            if name.startswith("__"):
                continue  # __version__ is the site's version number
            value = getattr(module, name)
            qualname = f"{module.__name__}.{name}"
            if isinstance(value, types.ModuleType):
                if value.__name__ not in modules:
                    missing.append(qualname)
            elif qualname in listed:
                continue
            # numbers and strings are shared objects: only their own name counts
            elif (isinstance(value, (int, float, str, tuple, frozenset))
                  or id(value) not in documented_ids):
                missing.append(qualname)
    return missing


@pytest.fixture(scope="module")
def sources() -> list[str]:
    texts = [p.read_text() for p in sorted(API.glob("*.rst"))]
    assert texts, f"no API sources in {API}"
    return texts


def test_every_public_name_is_in_the_api_reference(sources):
    listed, modules = parse_api_sources(sources)
    missing = missing_names(listed, modules)
    assert not missing, (
        f"not in the API reference (add them to docs/api/*.rst): {missing}")


def test_the_reference_lists_only_public_names(sources):
    listed, _ = parse_api_sources(sources)
    public = {f"{m.__name__}.{n}" for m in public_modules() for n in m.__all__}
    assert sorted(listed - public) == []
    for qualname in listed:
        resolve(qualname)  # raises if the page would be empty


def test_a_removed_entry_is_reported(sources):
    # the check itself: dropping one table row or one automodule is caught
    top = next(t for t in sources if ".. automodule:: pyneat_lite\n" in t)
    assert "   GA\n" in top and "   load\n" in top
    cut = [t.replace("   GA\n", "").replace("   load\n", "") if t is top else t
           for t in sources]
    listed, modules = parse_api_sources(cut)
    assert set(missing_names(listed, modules)) >= {
        "pyneat_lite.GA", "pyneat_lite.algorithms.GA", "pyneat_lite.load",
        "pyneat_lite.checkpoint.load"}
    listed, modules = parse_api_sources(sources)
    assert "pyneat_lite.qd" in modules
    assert "pyneat_lite.qd" in missing_names(listed, modules - {"pyneat_lite.qd"})


def test_the_public_module_walk_reaches_the_submodules():
    names = {m.__name__ for m in public_modules()}
    assert {"pyneat_lite.adapters.torch", "pyneat_lite.adapters.keras",
            "pyneat_lite.tasks.envs", "pyneat_lite.tasks.gym", "pyneat_lite.qd",
            "pyneat_lite.operators", "pyneat_lite.evaluation",
            "pyneat_lite.algorithms"} <= names


# the names a new user meets first: each shows a runnable example (run by
# ``pytest --doctest-modules pyneat_lite`` in CI)
EXAMPLE_NAMES = [
    "pyneat_lite.Network", "pyneat_lite.Network.forward",
    "pyneat_lite.GA", "pyneat_lite.OpenES", "pyneat_lite.SNES",
    "pyneat_lite.algorithms.Algorithm.run", "pyneat_lite.tasks.Classification",
    "pyneat_lite.algorithms.Algorithm.save", "pyneat_lite.load",
]


@pytest.mark.parametrize("qualname", EXAMPLE_NAMES)
def test_main_names_have_examples(qualname):
    doc = inspect.getdoc(resolve(qualname)) or ""
    assert re.search(r"^Examples\n-{8}\n(.*\n)*>>> ", doc, re.M), qualname


def test_the_guide_includes_existing_readme_sections():
    # the guide includes README sections between two marker lines; a renamed
    # heading would otherwise fail only in the Sphinx build
    root = API.parents[1]
    readme = (root / "README.md").read_text()
    block = re.compile(r"```\{include\} \.\./\.\./README\.md\n"
                       r':start-after: "(.*)"\n:end-before: "(.*)"\n```')
    found = 0
    for page in sorted((root / "docs" / "guide").glob("*.md")):
        for start, end in block.findall(page.read_text()):
            found += 1
            i = readme.find(start)
            assert i >= 0, f"{page.name}: README has no {start!r}"
            assert readme.find(end, i + len(start)) > i, (
                f"{page.name}: README has no {end!r} after {start!r}")
    assert found >= 8
