"""Sphinx configuration of the pyneat_lite documentation site.

Build:  python -m sphinx -W --keep-going -b html docs docs/_build/html
(needs the ``docs`` extra: ``pip install -e ".[docs]"``).

- API reference: ``docs/api/*.rst`` list every public name in autosummary
  tables; autosummary writes one page per name into ``docs/api/generated/``
  (not committed) from the numpydoc docstrings.  ``tests/test_docs.py`` fails
  when a name of ``pyneat_lite.__all__`` or of a public submodule's
  ``__all__`` is missing from those tables.
- Examples: a hand-made gallery (``docs/examples/``), one page per script of
  ``examples/`` with its source, how to run it and its committed pictures
  from ``docs/gallery/``.  Not sphinx-gallery: it would execute the examples
  (minutes each, the MNIST ones need the data set), far too slow for CI, and
  without execution it adds nothing but its thumbnails.
- The docstrings' examples are run by ``pytest --doctest-modules pyneat_lite``
  (``.ci/run``), not by ``sphinx -b doctest``: one import of each module, no
  second Sphinx build.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# document the checkout (built in place), not whatever is installed
sys.path.insert(0, str(ROOT))
os.environ.setdefault("KERAS_BACKEND", "torch")

from pyneat_lite._version import __version__  # noqa: E402

project = "pyneat_lite"
author = "pyneat_lite developers"
copyright = "pyneat_lite developers"
release = __version__
version = __version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "myst_parser",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "gallery", "make_gallery.py"]
templates_path = ["_templates"]

# autodoc / autosummary
autosummary_generate = True
autosummary_imported_members = True
autodoc_default_options = {"show-inheritance": True}
autodoc_typehints = "signature"
autodoc_member_order = "bysource"
# the adapters import torch / keras; the package itself never needs them
autodoc_mock_imports: list[str] = []

# numpydoc: the class template lists members itself (no stub pages per method)
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

# MyST: README sections are included into the guide
myst_heading_anchors = 3

html_theme = "pydata_sphinx_theme"
html_title = f"pyneat_lite {__version__}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
}
html_static_path: list[str] = []


def _defined_outside(obj: object) -> bool:
    """True for a member that pyneat_lite does not define (builtins, sklearn)."""
    for candidate in (obj, getattr(obj, "fget", None), getattr(obj, "__func__", None)):
        module = getattr(candidate, "__module__", None)
        if isinstance(module, str):
            return not module.startswith("pyneat_lite")
    return False


def _skip_foreign_members(app, what, name, obj, skip, options):  # noqa: ANN001
    # Inherited members are shown (an algorithm's page lists run, save, ...),
    # but not those of tuple, Exception or scikit-learn's BaseEstimator, whose
    # docstrings refer to targets of their own documentation.
    if what == "class" and _defined_outside(obj):
        return True
    return None


def setup(app):  # noqa: ANN001, ANN201
    app.connect("autodoc-skip-member", _skip_foreign_members)
