"""Package-level promises: runtime dependencies stay numpy and mnist; the public API exists."""
import subprocess
import sys
from pathlib import Path

import numpy as np

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


def test_the_readme_example_runs_and_prints_the_accuracy_it_claims(mnist_root, tmp_path, monkeypatch, capsys):
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    code = readme.split("```python\n", 1)[1].split("```", 1)[0]
    monkeypatch.chdir(tmp_path)  # it saves model.npz
    namespace = {}
    exec(compile(code, "README.md", "exec"), namespace)
    # The comment next to the print says 0.9277. Same machine, same seed: bit-identical. On a CPU
    # whose BLAS kernels round differently a few of the 10000 test rows may flip, hence 0.001.
    assert abs(float(capsys.readouterr().out) - 0.9277) <= 0.001
    assert namespace["dW"].dtype == np.float32 and namespace["dW"].shape == (784, 10)
