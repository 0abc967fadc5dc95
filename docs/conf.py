"""Sphinx configuration of the scratchlin documentation site.

The stack is the one NumPy, SciPy and scikit-learn use: Sphinx, numpydoc for the docstrings,
autosummary for the API reference, sphinx-gallery for the examples (run at build time, with
their figures and output), the PyData theme, and MyST so the user guide is Markdown.

Every transcript and picture the pages show is written by ``scripts/transcripts.py``, which
runs at the start of each build (``builder-inited``), so nothing shown can go stale.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS / "scripts"))

import scratchlin  # noqa: E402

project = "scratchlin"
author = "the scratchlin developers"
copyright = "2026, the scratchlin developers"
release = version = scratchlin.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.doctest",
    "sphinx.ext.mathjax",
    # MathJax from the site itself, not a CDN: formulas render offline (and in CI's browser check).
    "sphinx-mathjax-offline",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "benchmarks", "**/*.ipynb", "auto_examples/*.md5",
                    "_generated/**/*.md"]
templates_path = ["_templates"]

# -- API reference --------------------------------------------------------------------------
autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": False}
# numpydoc renders the docstring sections; autosummary lists the members (one place each).
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
default_role = "py:obj"

# -- MyST ----------------------------------------------------------------------------------
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3

# -- the gallery -----------------------------------------------------------------------------
import importlib.util  # noqa: E402


def _runnable_examples() -> str:
    """A pattern of the examples to run: those whose optional dependency is missing are shown
    without output (their page says what to install) instead of failing the build."""
    missing = [name for name, module in (("compare_with_torch", "torch"), ("train_with_dask", "dask_ml"))
               if importlib.util.find_spec(module) is None]
    return rf"^(?!.*({'|'.join(missing)})\.py$)" if missing else r"/"


sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": _runnable_examples(),  # every example, not only plot_*.py
    "ignore_pattern": r"__init__\.py",
    "reset_argv": "gallery_hooks.reset_argv",   # the smaller budgets, said on each page
    "image_scrapers": ("matplotlib", "gallery_hooks.png_scraper"),
    "abort_on_example_error": True,
    "download_all_examples": False,
    "remove_config_comments": True,
    "show_memory": False,
    "min_reported_time": 10**6,                # timings are not part of the pages
    "within_subsection_order": "gallery_hooks.order",
    "run_stale_examples": True,                # every build runs every example again
}

# -- HTML ------------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"scratchlin {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_show_sourcelink = False

# -- doctest ---------------------------------------------------------------------------------
doctest_global_setup = """
import numpy as np
import scratchlin as sl
np.set_printoptions(precision=4, suppress=True)
"""


def _write_api_pages(app, config):
    """The API reference's pages, from the public modules' ``__all__``."""
    import api_pages

    api_pages.write(DOCS / "api")


def _write_transcripts(app):
    """Run the documented commands, write their output under ``_generated/``."""
    if os.environ.get("SCRATCHLIN_DOCS_SKIP_TRANSCRIPTS"):
        return
    import transcripts

    transcripts.main(["--out", str(DOCS / "_generated")])


def setup(app):
    app.connect("config-inited", _write_api_pages)
    app.connect("builder-inited", _write_transcripts)
