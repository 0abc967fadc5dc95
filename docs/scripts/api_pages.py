"""Write the API reference's pages from the public modules' ``__all__``.

Every public name is listed, so a name added to a module's ``__all__`` appears in the reference
without anyone editing a page, and a name removed disappears. autosummary then writes one page
per function and class from its numpydoc docstring.
"""
from __future__ import annotations

import importlib
import inspect
from pathlib import Path

#: The public modules, in the reference's order, with the heading each gets.
MODULES = [
    ("scratchlin", "The package: the estimator and the functional API"),
    ("scratchlin.functional", "Functional operations and their backward rules"),
    ("scratchlin.objective", "The training objective"),
    ("scratchlin.optim", "Optimizers and learning-rate schedules"),
    ("scratchlin.training", "The training loop"),
    ("scratchlin.gradcheck", "Gradient checking"),
    ("scratchlin.metrics", "Metrics"),
    ("scratchlin.datasets", "MNIST and other IDX data sets"),
    ("scratchlin.preprocessing", "Preprocessing"),
    ("scratchlin.idx", "The IDX file format"),
    ("scratchlin.persistence", "Model files"),
    ("scratchlin.plotting", "Pictures"),
]


def public_names(module_name: str) -> tuple[list, list, list]:
    """The module's own public callables, classes and other values (by ``__all__``)."""
    module = importlib.import_module(module_name)
    functions, classes, values = [], [], []
    for name in module.__all__:
        value = getattr(module, name)
        if inspect.ismodule(value):
            continue
        if inspect.isclass(value):
            classes.append(name)
        elif callable(value):
            functions.append(name)
        else:
            values.append(name)
    return functions, classes, values


def documented_where(module_name: str, name: str) -> str:
    """The name's documented path: a re-exported name is documented once, where it is defined
    publicly first in MODULES order."""
    for candidate, _ in MODULES:
        module = importlib.import_module(candidate)
        if name in getattr(module, "__all__", ()) and getattr(module, name) is getattr(
                importlib.import_module(module_name), name):
            return candidate
    return module_name


def module_section(module_name: str, heading: str) -> str:
    module = importlib.import_module(module_name)
    summary = (inspect.getdoc(module) or "").split("\n\n")[0]
    lines = [f"``{module_name}``: {heading}", "-" * (len(module_name) + len(heading) + 6), "",
             f".. currentmodule:: {module_name}", "", summary, ""]
    functions, classes, values = public_names(module_name)
    for title, names in (("Classes", classes), ("Functions", functions)):
        own = [n for n in names if documented_where(module_name, n) == module_name]
        elsewhere = [n for n in names if n not in own]
        if own:
            lines += [f".. rubric:: {title}", "", ".. autosummary::", "   :toctree: generated",
                      "   :nosignatures:", ""]
            lines += [f"   {name}" for name in own] + [""]
        if elsewhere:
            refs = ", ".join(f":py:obj:`{n} <{documented_where(module_name, n)}.{n}>`" for n in elsewhere)
            lines += [f"Also here: {refs}.", ""]
    if values:
        lines += [".. rubric:: Constants", "", ", ".join(f"``{v}``" for v in values), ""]
    return "\n".join(lines)


def write(out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    page = ["API reference", "=============", "",
            "Every public name of scratchlin, generated from the docstrings (numpydoc format).",
            "Each entry's page has its parameters with their shapes and dtypes, what it returns,",
            "the errors it raises and, where it has one, its formula.", "", ".. contents:: Modules",
            "   :local:", "   :depth: 1", ""]
    page += [module_section(name, heading) for name, heading in MODULES]
    path = out / "index.rst"
    text = "\n".join(page)
    if not path.exists() or path.read_text() != text:
        path.write_text(text)
    return path


if __name__ == "__main__":
    print(write(Path(__file__).resolve().parent.parent / "api"))
