"""The README and the documentation say what the code does now.

One run of the README's documented command (``scratchlin train --seed 0``, a few seconds) is
shared by the tests below: its transcript must be the README's, character for character once
wall-clock times are removed, and the figures the README quotes (the headline accuracy, the
example's printed score, the picture) must be that run's. The seed notebook's loss is checked
against the notebook's printed logits. When a test here fails after a change to the code,
``python docs/scripts/transcripts.py --update-readme`` rewrites the README's transcript and
picture from a fresh run; the prose figures are then edited by hand.
"""
import ast
import importlib
import os
import re
import sys
from pathlib import Path

import numpy as np
import pytest

import scratchlin as sl

REPOSITORY = Path(__file__).resolve().parents[1]
DOCS = REPOSITORY / "docs"
sys.path.insert(0, str(DOCS / "scripts"))
import api_pages  # noqa: E402
import transcripts  # noqa: E402

README = (REPOSITORY / "README.md").read_text()


@pytest.fixture(scope="module")
def readme_run(mnist_root, tmp_path_factory):
    """The README's command, run once in a fresh folder on a private copy of the data links."""
    base = tmp_path_factory.mktemp("readme_run")
    data = base / "mnist"
    data.mkdir()
    for name in os.listdir(mnist_root):
        if name.endswith(".gz"):
            (data / name).symlink_to(os.path.realpath(os.path.join(mnist_root, name)))
    env = dict(os.environ, SCRATCHLIN_DATA=str(data), XDG_CACHE_HOME=str(base / "cache"))
    work = base / "work"
    work.mkdir()
    texts = transcripts.run_all(["train"], out=None, env=env, keep=work)
    return texts["train"], work


def test_timings_are_removed_from_checked_text():
    text = ("iteration 1  loss 0.5087  lr 0.002  0.1s\n"
            "iteration 12  loss 0.2475  val_loss 0.2742  val_acc 92.23%  lr 0.000331  12.5s\n"
            "iteration  3/40  loss 0.2475  lr 0.002  1.5s\n"
            "iteration 7  loss 0.0679  max|grad| 9.71e-05  0.0s\n"
            "trained with adam: 30 iterations in 292.1s\ntest accuracy: 92.77% (9277/10000)\n")
    assert transcripts.without_timings(text) == (
        "iteration 1  loss 0.5087  lr 0.002\n"
        "iteration 12  loss 0.2475  val_loss 0.2742  val_acc 92.23%  lr 0.000331\n"
        "iteration  3/40  loss 0.2475  lr 0.002\n"
        "iteration 7  loss 0.0679  max|grad| 9.71e-05\n"
        "trained with adam: 30 iterations\ntest accuracy: 92.77% (9277/10000)\n")


@pytest.mark.mnist
def test_the_readme_transcript_is_what_the_command_prints_now(readme_run):
    fresh, _ = readme_run
    shown = transcripts.readme_blocks(README)
    assert list(shown) == ["train"], "the README holds exactly one transcript block"
    assert re.search(r"^iteration 2  loss ", fresh, re.M), fresh  # the per-iteration lines are compared too
    assert not re.search(r"\d\.\d+s\b", fresh), "a timing slipped into the checked text"
    assert shown["train"] == fresh, (
        "README.md's transcript differs from what `scratchlin train --seed 0` prints now; "
        "refresh it with: python docs/scripts/transcripts.py --update-readme")


@pytest.mark.mnist
def test_the_readme_headline_accuracy_is_the_documented_runs(readme_run):
    fresh, _ = readme_run
    match = re.search(r"^test accuracy: (\d+\.\d\d)% \((\d+)/10000\)$", fresh, re.M)
    assert match, fresh
    percent, correct = match.group(1), int(match.group(2))
    assert f"**{percent}% test accuracy**" in README
    # the example's printed score is the same model's (the README says so)
    assert re.search(rf"# {correct / 10000:.4f}$", README, re.M), f"README example should print {correct / 10000:.4f}"
    # "about 92.8%", wherever the docs say it, is the rounded figure
    abouts = [(page.name, about) for page in (REPOSITORY / "README.md", DOCS / "index.md", DOCS / "notebook.md")
              for about in re.findall(r"about (\d+\.\d)% test accuracy", page.read_text())]
    assert len(abouts) >= 3, abouts
    for name, about in abouts:
        assert abs(float(about) - float(percent)) <= 0.05 + 1e-9, (name, about, percent)


@pytest.mark.mnist
def test_the_readme_picture_is_the_documented_models(readme_run, tmp_path):
    matplotlib = pytest.importorskip("matplotlib")
    from matplotlib import image

    from scratchlin import plotting

    _, work = readme_run
    fresh = plotting.plot_weights(sl.LinearClassifier.load(work / "model.npz"), tmp_path / "weights.png")
    committed = image.imread(DOCS / "images" / "weights.png")
    drawn = image.imread(fresh)
    assert committed.shape == drawn.shape, "refresh it: python docs/scripts/transcripts.py --update-readme"
    # Weights that differ only by BLAS rounding draw the same pixels; another model does not.
    difference = np.abs(committed.astype(np.float64) - drawn.astype(np.float64))
    assert difference.mean() < 1 / 255, (
        f"docs/images/weights.png is not the README run's model (mean pixel difference "
        f"{difference.mean():.4f}, matplotlib {matplotlib.__version__}); refresh it with: "
        "python docs/scripts/transcripts.py --update-readme")


def notebook_logits():
    """The seed notebook's printed logits and labels, as the walkthrough writes them."""
    tree = ast.parse((REPOSITORY / "examples" / "seed_walkthrough.py").read_text())
    values = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name) and \
                node.targets[0].id in ("NOTEBOOK_LOGITS", "NOTEBOOK_LABELS"):
            values[node.targets[0].id] = np.array(ast.literal_eval(node.value.args[0]))
    return values["NOTEBOOK_LOGITS"].astype(np.float32), values["NOTEBOOK_LABELS"]


def test_the_seed_loss_quoted_in_readme_and_docs_is_the_notebooks():
    logits, labels = notebook_logits()
    loss = f"{sl.cross_entropy(logits, labels):.4f}"
    assert loss == "16.0491"  # the notebook's own printed value (its cells 83 and 84)
    for path in [REPOSITORY / "README.md", DOCS / "notebook.md", DOCS / "user_guide" / "testing.md"]:
        # a four-decimal figure shortly after "loss" or "cross-entropy"
        # (transcripts' iteration lines are checked against a fresh run elsewhere)
        prose = re.sub(r"^iteration .*$", "", path.read_text(), flags=re.M)
        quoted = re.findall(r"(?:loss|cross-entropy)\b[^|\n]{0,60}?\b(\d+\.\d{4})\b", prose, re.S)
        assert quoted and set(quoted) == {loss}, f"{path.name} quotes {quoted}"


def test_the_readme_is_a_front_page():
    words = len(README.split())
    assert words <= 1500, f"README.md has {words} words"
    for command in ('pip install . && scratchlin train', 'pip install -e ".[test]" && python -m pytest',
                    'pip install -e ".[docs]" && make -C docs html',
                    "pip install torch --index-url https://download.pytorch.org/whl/cpu",
                    'pip install -e ".[plot]"', "export SCRATCHLIN_DATA="):
        assert command in README, command
    assert not re.search(r"pip install [^\"'`\s]*\[", README), "an unquoted extra"


def product_docs():
    pages = [REPOSITORY / "README.md", *DOCS.glob("*.md"), *(DOCS / "user_guide").glob("*.md"),
             *(REPOSITORY / "examples").glob("*.py"), REPOSITORY / "examples" / "GALLERY_HEADER.rst"]
    return pages


@pytest.mark.parametrize("page", product_docs(), ids=lambda p: p.name)
def test_the_docs_speak_to_users_not_about_the_projects_history(page):
    text = page.read_text()
    # A machine path is any of these folders at the start of a path, as a reader's would not be.
    machine_path = r"/(?:work|home|Users|root|tmp)/"
    for pattern in (r"\bissues? \d+", r"\d\d:\d\d UTC", r"\bhelpers?\b(?! thread)", r"\bsessions?\b",
                    machine_path):
        assert not re.search(pattern, text, re.I), f"{page.name}: {pattern!r}"


def test_the_api_reference_lists_every_public_name(tmp_path):
    text = api_pages.write(tmp_path).read_text()
    for module_name, _ in api_pages.MODULES:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            if not isinstance(getattr(module, name), type(sl)):
                assert re.search(rf"(^   {name}$|``{name}``|<[\w.]+\.{name}>)", text, re.M), f"{module_name}.{name}"
    assert "   LinearClassifier\n" in text


def test_every_transcript_the_docs_include_is_one_the_script_writes():
    included = set()
    for page in [*DOCS.glob("*.md"), *(DOCS / "user_guide").glob("*.md")]:
        included |= set(re.findall(r"_generated/(\w+)\.txt", page.read_text()))
    assert included and included <= set(transcripts.TRANSCRIPTS), included - set(transcripts.TRANSCRIPTS)
