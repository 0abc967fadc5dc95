"""Every example runs (on a subset where the full run is long) and prints the right numbers."""
import ast
import importlib.util
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
NAMES = ("seed_walkthrough", "train_mnist", "gradient_check", "compare_with_torch", "compare_with_sklearn",
         "train_with_dask", "early_stopping")


def load_example(name):
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_script(name, *args, env=None, timeout=600):
    """The example run as a user runs it: ``python examples/NAME.py ARGS`` in a subprocess."""
    return subprocess.run([sys.executable, str(EXAMPLES / f"{name}.py"), *args], capture_output=True,
                          text=True, timeout=timeout, env=env)


def number_after(label: str, text: str) -> float:
    match = re.search(re.escape(label) + r"\s*=?\s*(-?[\d.]+(?:e[-+]?\d+)?|nan|inf)", text)
    assert match, f"{label!r} not found in:\n{text}"
    return float(match.group(1))


@pytest.mark.parametrize("name", NAMES)
def test_every_example_runs_as_a_script(name):
    result = subprocess.run([sys.executable, str(EXAMPLES / f"{name}.py"), "--help"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage:")


@pytest.mark.parametrize("name", NAMES)
def test_every_flag_of_every_example_has_help_and_a_default(name):
    result = subprocess.run([sys.executable, str(EXAMPLES / f"{name}.py"), "--help"],
                            capture_output=True, text=True, timeout=120)
    options = result.stdout.split("options:", 1)[1]
    # One entry per flag: from its line "  --flag ..." to the next such line.
    entries = re.split(r"\n  (?=-)", "\n" + options)[1:]
    flags = [entry for entry in entries if not entry.startswith("-h")]
    assert flags, result.stdout
    for entry in flags:
        text = " ".join(entry.split())
        # ArgumentDefaultsHelpFormatter shows a default only for a flag with help text, so
        # this checks both.
        assert "(default: " in text, f"{name}: no default shown for {text!r}"


@pytest.mark.mnist
def test_seed_walkthrough(mnist_root):
    result = run_script("seed_walkthrough", "--data", mnist_root, "--no-download")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "60000 training instances and 10000 test instances" in out
    assert "(60000, 28, 28)" in out and "(60000, 784)" in out
    assert "[0 1 2 3 4 5 6 7 8 9]" in out and "10 classes" in out
    assert "784 dimensions" in out and "128 dimensions" not in out and "26 classes" not in out
    assert re.search(r"TypeError: x must be a floating-point array .* got dtype uint8", out)
    assert "labels: [5, 0, 4, 1, 9, 2, 1, 3]" in out

    manual = number_after("manual   -(p * log_softmax(logits)).sum() / 8", out)
    library = number_after("library  sl.cross_entropy(logits, labels)", out)
    with_p = number_after("library  sl.cross_entropy(logits, p)", out)
    torch_value = number_after("torch    F.cross_entropy(logits, labels)", out)
    assert manual > 1 and manual == pytest.approx(library, rel=1e-6) == pytest.approx(with_p, rel=1e-6)
    assert torch_value == pytest.approx(library, rel=1e-5)

    assert math.isnan(number_after("-(p * log(softmax(10 z))).sum() / 8", out))
    stable = number_after("-(p * log_softmax(10 z)).sum() / 8", out)
    assert math.isfinite(stable) and stable == pytest.approx(number_after("sl.cross_entropy(10 z, p)", out))

    assert "sl.cross_entropy = 16.0491  (notebook: 16.0491)" in out
    assert "argmax = [3, 3, 0, 6, 3, 6, 0, 9]  (notebook: [3, 3, 0, 6, 3, 6, 0, 9])" in out


def test_seed_walkthrough_fixes_the_notebook_typos():
    source = (EXAMPLES / "seed_walkthrough.py").read_text()
    assert "new_dim" not in source
    assert "reshape([-1, num_features])" in source


def test_seed_walkthrough_is_a_notebook_style_page():
    source = (EXAMPLES / "seed_walkthrough.py").read_text()
    cells = source.count("\n# %%\n")
    assert cells >= 10, f"{cells} cells"
    assert source.startswith('"""\nThe seed notebook, step by step\n===============================\n')


def notebook_constants():
    """NOTEBOOK_LOGITS and NOTEBOOK_LABELS as written in the walkthrough (read, not run)."""
    tree = ast.parse((EXAMPLES / "seed_walkthrough.py").read_text())
    values = {node.targets[0].id: np.array(ast.literal_eval(node.value.args[0]))
              for node in tree.body if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
              and node.targets[0].id in ("NOTEBOOK_LOGITS", "NOTEBOOK_LABELS")}
    return values["NOTEBOOK_LOGITS"].astype(np.float32), values["NOTEBOOK_LABELS"]


def test_notebook_numbers_without_data():
    import scratchlin as sl

    logits, labels = notebook_constants()
    assert round(float(sl.cross_entropy(logits, labels)), 4) == 16.0491
    assert logits.argmax(axis=1).tolist() == [3, 3, 0, 6, 3, 6, 0, 9]


@pytest.mark.mnist
def test_train_mnist(mnist_root, tmp_path, capsys):
    argv = ["--data", mnist_root, "--no-download", "--train-size", "5000",
            "--out-dir", str(tmp_path)]
    assert load_example("train_mnist").main(argv) == 0
    out = capsys.readouterr().out
    assert "5000 training rows, 5000 validation rows" in out
    assert "solver: lbfgs (chosen by solver='auto' for 5000 rows)" in out
    lines = re.findall(r"^iteration +(\d+)/1000 .*val_acc .*max\|grad\|", out, re.M)
    assert [int(k) for k in lines] == list(range(1, len(lines) + 1)) and len(lines) > 10
    # 5000 rows, L-BFGS to convergence at C=1: 90.1% measured
    assert number_after("test accuracy:", out) > 0.88
    assert "the reloaded model predicts identically: True" in out
    assert len(re.findall(r"image \d: predicted \d \(p=(?:0\.\d{3}|1\.000)\), true \d", out)) == 8
    for name in ("model.npz", "weights.png", "history.png", "confusion.png"):
        assert (tmp_path / name).stat().st_size > 1000, name


@pytest.mark.mnist
def test_train_mnist_writes_into_a_temporary_folder_by_default(mnist_root, tmp_path):
    result = run_script("train_mnist", "--data", mnist_root, "--no-download", "--max-iter", "1",
                        "--train-size", "500", "--val-size", "500")
    assert result.returncode == 0, result.stderr
    folder = Path(re.search(r"^writing the model and the pictures into (.+)$", result.stdout, re.M).group(1))
    try:
        assert folder.name.startswith("scratchlin-train-mnist-") and (folder / "model.npz").is_file()
        assert not (EXAMPLES.parent / "train_mnist_output").exists()
    finally:
        for child in folder.iterdir():
            child.unlink()
        folder.rmdir()


def test_train_with_dask_without_dask_says_what_to_install(tmp_path):
    # A folder that shadows dask with a module that cannot be imported, as on a machine without it.
    (tmp_path / "dask").mkdir()
    (tmp_path / "dask" / "__init__.py").write_text("raise ImportError('no dask here', name='dask')\n")
    env = dict(os.environ, PYTHONPATH=str(tmp_path))
    result = run_script("train_with_dask", env=env, timeout=120)
    assert result.returncode == 1
    assert result.stderr == ""  # no traceback
    assert result.stdout == ('this example needs dask and dask-ml (dask is not installed): '
                             'pip install "dask[array]" dask-ml\n')


@pytest.mark.slow
def test_compare_with_sklearn_prints_a_table_of_four_data_sets():
    pytest.importorskip("sklearn")
    result = run_script("compare_with_sklearn", env=dict(os.environ, MPLBACKEND="Agg"))
    assert result.returncode == 0, result.stderr
    rows = re.findall(r"^(iris|wine|breast_cancer|digits)\s+((?:\d\.\d{4} \(\d+\)\s*){4})$", result.stdout, re.M)
    assert [name for name, _ in rows] == ["iris", "wine", "breast_cancer", "digits"]
    for name, cells in rows:
        accuracies = [float(a) for a in re.findall(r"(\d\.\d{4}) \(", cells)]
        assert len(accuracies) == 4 and all(0 < a <= 1 for a in accuracies), (name, cells)
        # scikit-learn's scaled LogisticRegression is the yardstick: it exceeds 0.9 on all four
        assert accuracies[3] > 0.9, (name, accuracies)


def test_gradient_check(capsys):
    assert load_example("gradient_check").main([]) == 0
    out = capsys.readouterr().out
    for name in ("dW", "db"):
        line = next(line for line in out.splitlines() if line.startswith(f"max relative error of {name}"))
        assert number_after("by hand vs loss_and_grad", line) < 1e-12
        assert number_after("loss_and_grad vs numerical", line) < 1e-7
    assert out.count("passed=True") == 2
    sweep = {float(m.group(1)): float(m.group(2))
             for m in re.finditer(r"^  (1e-\d\d)\s+(\S+)$", out, re.M)}
    assert len(sweep) == 8
    assert sweep[1e-5] < 1e-7 < min(sweep[1e-1], sweep[1e-10])  # the U shape
    assert "TypeError: x must be float64" in out
    assert "caught: gradient check failed for W" in out


@pytest.mark.mnist
@pytest.mark.parametrize("dtype, weight_bound", [("float64", 1e-13), ("float32", 1e-5)])
def test_compare_with_torch(dtype, weight_bound, mnist_root, capsys):
    pytest.importorskip("torch")
    argv = ["--data", mnist_root, "--no-download", "--train-size", "1000", "--epochs", "2",
            "--dtype", dtype]
    assert load_example("compare_with_torch").main(argv) == 0
    out = capsys.readouterr().out
    epochs = re.findall(r"^\s+(\d)\s+\S+\s+(\S+)\s+(\S+)\s+\S+$", out, re.M)
    assert [e[0] for e in epochs] == ["1", "2"]
    for _, ours, theirs in epochs:
        assert float(ours) == pytest.approx(float(theirs), rel=10 * weight_bound)
    assert number_after("max |W_scratchlin - W_torch| =", out) < weight_bound
    assert number_after("max |b_scratchlin - b_torch| =", out) < weight_bound
    assert number_after("max |W| =", out) > 0.1  # the weights did move
    agree = re.search(r"agree on (\d+)/10000", out)
    assert int(agree.group(1)) >= 9990


REPOSITORY = EXAMPLES.parent


def test_notebook_summary_reproduces_the_notebooks_numbers(capsys):
    text = (REPOSITORY / "docs" / "notebook.md").read_text()
    code = re.search(r"```python\n(.*?)```", text, re.S).group(1)
    exec(compile(code, "docs/notebook.md", "exec"), {})
    assert capsys.readouterr().out.splitlines() == ["16.0491", "[3, 3, 0, 6, 3, 6, 0, 9]"]
    # The table holds the same logits as the code block, row by row.
    rows = re.findall(r"^\| (\d) \| (\d) \| (.*) \|$", text, re.M)
    logits, labels = notebook_constants()
    assert [int(label) for _, label, _ in rows] == labels.tolist()
    table = np.array([[float(v) for v in cells.split(" | ")] for _, _, cells in rows])
    np.testing.assert_array_equal(table.astype(np.float32), logits)
    for typo in ("new_dim", "128 dimensions", "26 classes"):
        assert typo not in text


def test_the_readme_links_only_existing_files():
    # (Machine paths in the README, the docs and the examples: tests/test_docs.py.)
    readme = (REPOSITORY / "README.md").read_text()
    for target in re.findall(r"\]\(([^)#]+)\)", readme):
        assert (REPOSITORY / target).exists(), f"README links {target}, which is not there"
    assert "DESIGN.md" not in readme.split("## Layout")[0]


def test_license_is_the_mit_license_setup_cfg_declares():
    text = (REPOSITORY / "LICENSE").read_text()
    assert text.startswith("MIT License\n\nCopyright (c) 2026 the scratchlin developers\n")
    assert "license = MIT" in (REPOSITORY / "setup.cfg").read_text()


@pytest.mark.mnist
@pytest.mark.slow
def test_early_stopping_table(mnist_root):
    result = run_script("early_stopping", "--data", mnist_root, "--no-download", "--seeds", "0")
    assert result.returncode == 0, result.stderr
    rows = re.findall(r"^(budget 40|the defaults)[^\d]*?(\d+) \((\d+)\)\s+(\d+\.\d\d)\s+(\d+\.\d\d)%$",
                      result.stdout, re.M)
    assert len(rows) == 4, result.stdout
    for budget, ran, kept, accuracy, mean in rows:
        assert 1 <= int(kept) <= int(ran) <= (40 if budget == "budget 40" else 100)
        assert accuracy == mean  # one seed: the mean is that run's accuracy
        assert 90 < float(accuracy) < 94  # a linear model on MNIST, whatever the schedule
    # without early stopping the tol rule ends the run and its last iteration is kept
    assert rows[-1][1] == rows[-1][2]
