"""sphinx-gallery hooks: the command-line arguments each example runs with in the docs build,
the pictures examples write to files, and the order of the gallery.

Each example is a script with ``--help``. The gallery runs them as scripts, with the arguments
below; an example run on a smaller budget than its default says so in its own text.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

#: Where the examples write their files during the docs build (never the repository root).
OUTPUTS = Path(__file__).resolve().parent.parent / "_build" / "gallery_outputs"

#: The gallery's order: the learner's path through the examples.
ORDER = ("seed_walkthrough", "train_mnist", "gradient_check", "early_stopping", "compare_with_sklearn",
         "compare_with_torch", "train_with_dask")

#: Arguments per example (after the ones every example gets).
ARGUMENTS = {
    # torch's per-batch overhead makes the full 60000 rows take minutes: the same
    # agreement shows on 5000 rows (the page says so).
    "compare_with_torch": ["--train-size", "5000"],
}


def output_dir(name: str) -> Path:
    folder = OUTPUTS / name
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def reset_argv(gallery_conf, script_vars) -> list:
    """``sys.argv[1:]`` for one example in the docs build."""
    name = Path(script_vars["src_file"]).stem
    argv = list(ARGUMENTS.get(name, []))
    if name == "train_mnist":
        argv += ["--out-dir", str(output_dir(name))]
    return argv


_shown: set = set()


def png_scraper(block, block_vars, gallery_conf):
    """Show the pictures an example wrote into its output folder during a code block.

    scratchlin's plotting functions draw on matplotlib's Agg canvas without pyplot, so the
    usual matplotlib scraper cannot see them: they are picked up as the PNG files they are.
    """
    from sphinx_gallery.scrapers import figure_rst

    name = Path(block_vars["src_file"]).stem
    folder = OUTPUTS / name
    if not folder.is_dir():
        return ""
    new = sorted((p for p in folder.glob("*.png") if p not in _shown), key=os.path.getmtime)
    image_paths = []
    for picture in new:
        _shown.add(picture)
        target = next(block_vars["image_path_iterator"])
        shutil.copyfile(picture, target)
        image_paths.append(target)
    return figure_rst(image_paths, gallery_conf["src_dir"])


class order:
    """Sort key of the gallery (sphinx-gallery's ``within_subsection_order``)."""

    def __init__(self, src_dir):
        self.src_dir = src_dir

    def __call__(self, filename: str):
        stem = Path(filename).stem
        return (ORDER.index(stem) if stem in ORDER else len(ORDER), stem)
