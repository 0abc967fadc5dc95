"""Package-level promises: runtime dependencies stay numpy and mnist; the public API exists."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import scratchlin as sl


def test_importing_the_library_and_its_command_pulls_in_no_optional_dependency():
    code = ("import sys, scratchlin, scratchlin.cli, scratchlin.plotting; "
            "print(sorted(m for m in ('torch', 'matplotlib', 'sklearn', 'hypothesis', 'pytest') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_every_public_name_exists_and_the_contract_names_are_public():
    assert all(hasattr(sl, name) for name in sl.__all__)
    contract = {"logsumexp", "softmax", "log_softmax", "softmax_backward", "log_softmax_backward",
                "one_hot", "cross_entropy", "cross_entropy_backward", "linear", "linear_backward",
                "numerical_gradient", "gradcheck", "LinearClassifier", "datasets"}
    assert contract <= set(sl.__all__)
    assert {"load_mnist", "flatten", "to_float"} <= set(dir(sl.datasets))


ACCURACY_FLOOR = 0.925  # the documented floor of the default fit (tests/test_mnist_accuracy.py)


@pytest.mark.mnist
@pytest.mark.slow
def test_the_readme_example_runs_and_prints_an_accuracy_above_the_floor(
        private_mnist_root, tmp_path, monkeypatch, capsys):
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    code = readme.split("```python\n", 1)[1].split("```", 1)[0]
    # (the example reads $SCRATCHLIN_DATA: the fixture's private folder; its caches stay in tmp)
    monkeypatch.chdir(tmp_path)  # it saves model.npz
    namespace = {}
    exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102 -- the README's own code
    printed = float(capsys.readouterr().out)
    # The README's comment shows the figure of one machine; another BLAS may flip a few of the
    # 10000 rows, so only the documented floor is asserted here ...
    assert printed >= ACCURACY_FLOOR
    # ... and, independent of rounding, that the printed figure is the accuracy of the fitted
    # W, b: recomputed in float64, it may differ only on rows whose top two logits are closer
    # than float32 rounding could move them (counted, not guessed).
    model, X_test = namespace["model"], namespace["to_float"](namespace["flatten"](namespace["test_images"]))
    logits = X_test.astype(np.float64) @ model.W.astype(np.float64) + model.b.astype(np.float64)
    top2 = np.sort(logits, axis=1)[:, -2:]
    # float32 logit error <= 784 u32 sum|x w| (+|b|): a generous 1e-3 absolute margin
    ambiguous = np.count_nonzero(top2[:, 1] - top2[:, 0] <= 1e-3)
    exact = np.mean(np.argmax(logits, axis=1) == namespace["test_labels"])
    assert abs(printed - exact) <= ambiguous / len(X_test)
    np.testing.assert_array_equal(namespace["same"].W, model.W)  # saved and loaded bit for bit
    assert namespace["dW"].dtype == np.float32 and namespace["dW"].shape == (784, 10)
    # the example's gradient of the mean loss is (softmax(z) - onehot(y)) / 8
    z = namespace["logits"].astype(np.float64)
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    expected = (p - np.eye(10)[namespace["labels"][:8]]) / 8
    np.testing.assert_allclose(namespace["grad_logits"], expected, rtol=0, atol=1e-6)  # float32 ~1e-7


def test_no_source_file_holds_a_control_character():
    # A docstring's "\varepsilon" or "\tfrac" written without the r prefix, or edited through a
    # non-raw string, turns its backslash into a vertical tab or a tab: the page shows garbage.
    root = Path(sl.__file__).parent
    offenders = [f"{path.relative_to(root)}:{number}"
                 for path in sorted(root.rglob("*.py"))
                 for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                 if any(ord(ch) < 32 for ch in line)]
    assert offenders == []
    def docstring(obj) -> str:
        doc = getattr(obj, "__doc__", None)
        return doc if isinstance(doc, str) else ""

    escaped = [f"{name}: {getattr(obj, '__name__', obj)}"
               for name, module in sorted(sys.modules.items()) if name.startswith("scratchlin")
               for obj in (module, *vars(module).values())
               if any(ord(ch) < 32 and ch != "\n" for ch in docstring(obj))]
    assert escaped == []
