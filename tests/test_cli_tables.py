"""The command line on one's own data, and the newcomer frictions of a fresh trial.

Every test runs ``python -m scratchlin ...`` in a subprocess, as a user would, and pins the exit
status and the exact message. The end-to-end test trains and evaluates on a CSV of
scikit-learn's wine data (178 rows, 13 numeric features, classes 0/1/2), written in tmp_path.
"""
import csv
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from scratchlin import LinearClassifier
from scratchlin.cli._tables import MAX_TABLE_BYTES

REPO = Path(__file__).resolve().parents[1]
#: Hyperparameters that fit the unscaled wine features (proline runs to 1680) in a blink.
WINE_FLAGS = ("--seed", "0")  # the defaults: L-BFGS on 178 rows
ACCURACY = re.compile(r"accuracy on the training rows: (\d+\.\d\d)% \((\d+)/178\)")


def run_cli(*args, cwd=None, env=None):
    return subprocess.run([sys.executable, "-m", "scratchlin", *map(str, args)],
                          capture_output=True, text=True, timeout=300, cwd=cwd, env=env)


def run_with_mirror_closed(*args):
    """``scratchlin ARGS`` with MNIST's mirrors on a closed local port: downloads fail at once."""
    code = ("import sys; from scratchlin import datasets; "
            "datasets.MIRRORS = ('http://127.0.0.1:9/mnist/',); "
            "from scratchlin.cli import main; sys.exit(main(sys.argv[1:]))")
    return subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True,
                          text=True, timeout=120)


def error_line(result) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def write_csv(path, header, rows):
    with open(path, "w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture(scope="module")
def wine():
    from sklearn.datasets import load_wine
    frame = load_wine(as_frame=True).frame.rename(columns={"target": "class"})
    return frame


@pytest.fixture(scope="module")
def wine_csv(wine, tmp_path_factory):
    path = tmp_path_factory.mktemp("wine") / "wine.csv"
    wine.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def wine_model(wine_csv):
    """``train --table wine.csv --target class``: (model path, CompletedProcess)."""
    out = wine_csv.parent / "wine.npz"
    result = run_cli("train", "--table", wine_csv, "--target", "class", "--out", out, *WINE_FLAGS)
    assert result.returncode == 0, result.stderr
    return out, result


# --------------------------------------------------------------------------------------------
# 1. one's own data: train, evaluate and predict on a table


def test_train_on_the_wine_csv_shows_progress_accuracy_and_saves_a_named_model(wine_model, wine):
    out, result = wine_model
    lines = result.stdout.splitlines()
    assert lines[0] == "training on 178 rows (no validation split; see --val-fraction)"
    iterations = [line for line in lines if line.startswith("iteration ")]
    assert [line.split()[1] for line in iterations] == [str(k) for k in range(1, len(iterations) + 1)]
    assert re.fullmatch(r"iteration 1  loss \d\.\d{4}  max\|grad\| \d\.\d\de[+-]\d\d  \d+\.\ds",
                        iterations[0])
    assert re.search(rf"\ntrained with lbfgs: {len(iterations)} iterations in \d+\.\ds\n", result.stdout)
    match = ACCURACY.search(result.stdout)
    assert match and int(match.group(2)) >= 170, result.stdout  # 97.75% (174/178) measured
    assert lines[-1] == f"saved the model to {out}"
    model = LinearClassifier.load(out)
    assert model.feature_names_in_.tolist() == list(wine.columns[:-1])
    assert model.classes_.tolist() == [0, 1, 2]


def test_a_validation_split_of_a_table_is_left_out_of_its_training_accuracy(wine_csv, tmp_path):
    result = run_cli("train", "--table", wine_csv, "--target", "class", "--val-fraction", "0.2",
                     "--out", tmp_path / "m.npz", *WINE_FLAGS)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == ("training on 142 rows, validating on 36 held-out "
                                             "training rows")
    assert re.search(r"\niteration 1  loss \d\.\d{4}  val_loss \d\.\d{4}  val_acc \d+\.\d\d%",
                     result.stdout), result.stdout
    assert re.search(r"\naccuracy on the training rows: \d+\.\d\d% \(\d+/142\)\n", result.stdout)


def test_evaluate_on_the_wine_csv_agrees_with_train_and_with_predict(wine_model, wine_csv, wine):
    out, trained = wine_model
    correct = int(ACCURACY.search(trained.stdout).group(2))
    result = run_cli("evaluate", out, "--table", wine_csv, "--target", "class")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == f"{out} on {wine_csv} (178 rows)"
    assert f"accuracy: {100 * correct / 178:.2f}% ({correct}/178)" in result.stdout
    predicted = run_cli("predict", out, wine_csv)
    assert predicted.returncode == 0
    assert predicted.stderr == (f"note: the model does not use the column class of {wine_csv}; "
                                "left unread\n")
    labels = np.array(predicted.stdout.split(), dtype=int)
    assert int(np.count_nonzero(labels == wine["class"].to_numpy())) == correct


def test_predict_matches_csv_columns_by_name_not_by_position(wine_model, wine, tmp_path):
    out, _ = wine_model
    shuffled = wine[list(reversed(wine.columns))]  # class first, proline second, ...
    shuffled.to_csv(tmp_path / "shuffled.csv", index=False)
    wine.to_csv(tmp_path / "same.csv", index=False)
    assert (run_cli("predict", out, tmp_path / "shuffled.csv").stdout
            == run_cli("predict", out, tmp_path / "same.csv").stdout)
    wine.drop(columns=["hue", "ash"]).to_csv(tmp_path / "short.csv", index=False)
    result = run_cli("predict", out, tmp_path / "short.csv")
    assert result.returncode == 1
    assert error_line(result) == (
        f"scratchlin: error: INPUT: {tmp_path / 'short.csv'} lacks the columns ash, hue that the "
        f"model was trained on; its columns are: {', '.join(wine.columns.drop(['hue', 'ash']))}")


def test_text_labels_train_predict_and_evaluate_as_text(wine, tmp_path):
    names = np.array(["barolo", "grignolino", "barbera"])
    frame = wine.assign(**{"class": names[wine["class"].to_numpy()]})
    frame.to_csv(tmp_path / "named.csv", index=False)
    out = tmp_path / "named.npz"
    trained = run_cli("train", "--table", tmp_path / "named.csv", "--target", "class",
                      "--out", out, "--quiet", *WINE_FLAGS)
    assert trained.returncode == 0, trained.stderr
    assert LinearClassifier.load(out).classes_.tolist() == ["barbera", "barolo", "grignolino"]
    predicted = run_cli("predict", out, tmp_path / "named.csv").stdout.split()
    assert set(predicted) <= set(names) and len(predicted) == 178
    evaluated = run_cli("evaluate", out, "--table", tmp_path / "named.csv", "--target", "class", "--json")
    report = json.loads(evaluated.stdout)
    assert report["labels"] == ["barbera", "barolo", "grignolino"]
    assert report["correct"] == sum(p == t for p, t in zip(predicted, frame["class"]))


def test_npy_table_with_a_column_index_and_npz_with_x_and_y(wine, tmp_path):
    table = wine.to_numpy()  # the labels are the last column, as floats
    np.save(tmp_path / "wine.npy", table)
    np.savez(tmp_path / "wine.npz", X=table[:, :-1], y=table[:, -1].astype(int))
    for source, target in (("wine.npy", ["--target", "-1"]), ("wine.npz", [])):
        out = tmp_path / f"model-from-{source}"
        result = run_cli("train", "--table", tmp_path / source, *target, "--out", out, "--quiet", *WINE_FLAGS)
        assert result.returncode == 0, result.stderr
        assert ACCURACY.search(result.stdout), result.stdout
        assert LinearClassifier.load(out).classes_.tolist() == [0, 1, 2]
    evaluated = run_cli("evaluate", tmp_path / "model-from-wine.npy", "--table", tmp_path / "wine.npz")
    assert evaluated.returncode == 0, evaluated.stderr
    np.save(tmp_path / "features.npy", table[:5, :-1])
    predicted = run_cli("predict", tmp_path / "model-from-wine.npz", tmp_path / "features.npy")
    assert predicted.returncode == 0 and len(predicted.stdout.split()) == 5


def test_npz_without_the_label_array_says_what_it_holds(tmp_path):
    np.savez(tmp_path / "t.npz", features=np.zeros((3, 2)), labels=np.arange(3))
    result = run_cli("train", "--table", tmp_path / "t.npz")
    assert result.returncode == 1
    assert error_line(result) == (
        f"scratchlin: error: --table: {tmp_path / 't.npz'} holds features, labels; expected "
        "arrays named X (features, 2-D) and y (labels, 1-D), as numpy.savez(FILE, X=X, y=y) writes")


HOSTILE = {
    "ragged row": ("a,b,label\n1,2,x\n3,y\n",
                   "--table: {path} line 3 has 2 fields; the header has 3 columns"),
    "text feature": ("a,b,label\n1,2,x\n3,four,y\n",
                     "--table: {path} line 3, column 'b': 'four' is not a number; feature columns "
                     "must hold numbers (encode text columns first)"),
    "empty cell": ("a,b,label\n1,,x\n",
                   "--table: {path} line 2, column 'b': an empty cell is not a number; feature "
                   "columns must hold numbers (encode text columns first)"),
    "infinite feature": ("a,b,label\n1,inf,x\n",
                         "--table: {path} line 2, column 'b': inf is not a finite number"),
    "missing target column": ("a,b,kind\n1,2,x\n",
                              "--target: {path} has no column 'label'; its columns are: a, b, kind"),
    "empty file": ("", "--table: {path} is empty; expected a header row naming the columns, then "
                       "one row per sample"),
    "header only": ("a,b,label\n", "--table: {path} has a header but no data rows"),
    "repeated column": ("a,a,label\n1,2,x\n", "--table: {path} names the column 'a' twice in its header"),
    "empty label": ("a,b,label\n1,2,\n", "--table: {path} line 2: the target column 'label' is "
                                         "empty; every row needs a label"),
    "latin-1 text": ("a,b,label\n1,2,caf\xe9\n".encode("latin-1"),
                     "--table: {path} is not UTF-8 text (invalid continuation byte at byte 17); "
                     "save the CSV as UTF-8"),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_a_malformed_csv_is_one_line_naming_the_row_and_column(tmp_path, name):
    text, message = HOSTILE[name]
    path = tmp_path / "t.csv"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    result = run_cli("train", "--table", path, "--target", "label", "--out", tmp_path / "m.npz")
    assert result.returncode == 1
    assert error_line(result) == "scratchlin: error: " + message.format(path=path)
    assert not (tmp_path / "m.npz").exists()


def test_a_table_larger_than_the_cap_is_refused_unread(tmp_path):
    path = tmp_path / "huge.csv"
    with open(path, "wb") as stream:
        stream.truncate(MAX_TABLE_BYTES + 1)  # sparse: nothing is written
    result = run_cli("train", "--table", path, "--target", "label")
    assert result.returncode == 1
    assert error_line(result) == (f"scratchlin: error: --table: {path} is {MAX_TABLE_BYTES + 1} "
                                  f"bytes, more than the {MAX_TABLE_BYTES} this command reads; "
                                  "split it into smaller files")


def test_an_unsupported_format_names_the_supported_ones(tmp_path):
    path = tmp_path / "wine.parquet"
    path.write_bytes(b"PAR1")
    result = run_cli("train", "--table", path, "--target", "class")
    assert result.returncode == 1
    assert error_line(result) == (
        "scratchlin: error: --table: cannot read wine.parquet: .parquet is not a supported table "
        "format; expected .csv (a header row, numeric features), .npy (a 2-D array) or .npz "
        "(arrays X and y)")


def test_table_without_target_is_a_usage_error(wine_csv):
    result = run_cli("train", "--table", wine_csv)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        "scratchlin train: error: --table needs --target COLUMN: the column that holds the "
        "labels (for a .npy table its index, -1 for the last)")


def test_a_file_given_to_data_points_to_table(wine_csv):
    for command in (["train"], ["data"], ["data", "--download"]):
        result = run_cli(*command, "--data", wine_csv)
        assert result.returncode == 1
        assert error_line(result) == (
            f"scratchlin: error: --data {wine_csv}: that is a file; for your own table use "
            "--table FILE --target COLUMN (--data is the folder of the MNIST files)")


def test_a_csv_given_as_images_points_to_table(wine_csv, tmp_path):
    model = LinearClassifier.from_params(np.zeros((784, 10)), np.zeros(10)).save(tmp_path / "m.npz")
    result = run_cli("evaluate", model, "--images", wine_csv, "--labels", wine_csv)
    assert result.returncode == 1
    assert error_line(result) == (f"scratchlin: error: --images: {wine_csv} is a CSV table, not "
                                  "images; for a table use --table FILE --target COLUMN")


# --------------------------------------------------------------------------------------------
# 2. no path is created silently, nothing is left behind


def test_out_in_a_missing_folder_is_refused_and_not_created(wine_csv, tmp_path):
    missing = tmp_path / "nonexistent" / "dir"
    result = run_cli("train", "--table", wine_csv, "--target", "class", "--out", missing / "m.npz")
    assert result.returncode == 1
    assert error_line(result) == (f"scratchlin: error: --out: the folder {missing} does not exist; "
                                  f"create it first (mkdir -p {missing}) or choose another path")
    assert not (tmp_path / "nonexistent").exists()


def test_plots_folder_is_made_only_in_an_existing_folder(wine_csv, tmp_path):
    result = run_cli("train", "--table", wine_csv, "--target", "class", "--out", tmp_path / "m.npz",
                     "--plots", tmp_path / "no" / "plots")
    assert result.returncode == 1
    assert error_line(result) == (
        f"scratchlin: error: --plots: the folder {tmp_path / 'no'} does not exist; create it "
        f"first (mkdir -p {tmp_path / 'no'}) or choose another path")
    assert not (tmp_path / "no").exists()
    result = run_cli("train", "--table", wine_csv, "--target", "class", "--out", tmp_path / "m.npz",
                     "--plots", tmp_path / "plots", "--quiet", "--max-iter", "2")
    assert result.returncode == 0, result.stderr
    assert sorted(os.listdir(tmp_path / "plots")) == ["confusion.png", "history.png"]


def test_a_failed_download_leaves_no_folder_behind(tmp_path):
    typo = tmp_path / "mnsit" / "data"
    result = run_with_mirror_closed("train", "--data", typo, "--out", tmp_path / "m.npz")
    assert result.returncode == 1
    assert result.stderr.startswith("scratchlin: error: could not download MNIST: every mirror "
                                    "failed for train-images-idx3-ubyte.gz\n")
    assert os.listdir(tmp_path) == []
    result = run_with_mirror_closed("data", "--download", "--data", typo)
    assert result.returncode == 1
    assert os.listdir(tmp_path) == []


# --------------------------------------------------------------------------------------------
# 3. a model of features is spoken of in features


def test_predict_with_a_feature_model_speaks_of_features(wine_model, tmp_path):
    out, _ = wine_model
    np.save(tmp_path / "digits.npy", np.zeros((3, 28, 28), np.uint8))
    result = run_cli("predict", out, tmp_path / "digits.npy")
    assert result.returncode == 1
    assert error_line(result) == (f"scratchlin: error: INPUT: {tmp_path / 'digits.npy'} holds an "
                                  "array of shape (3, 28, 28); the model takes 13 features per row: "
                                  "expected shape (N, 13)")
    result = run_cli("evaluate", out, "--images", tmp_path / "digits.npy", "--labels", tmp_path / "digits.npy")
    assert error_line(result) == ("scratchlin: error: --images: the model takes 13 table columns, "
                                  "not images; evaluate it with --table FILE --target COLUMN")


def test_a_non_square_model_without_names_speaks_of_features(tmp_path):
    model = LinearClassifier.from_params(np.zeros((13, 3)), np.zeros(3)).save(tmp_path / "m.npz")
    np.save(tmp_path / "rows.npy", np.zeros((2, 12)))
    result = run_cli("predict", model, tmp_path / "rows.npy")
    assert result.returncode == 1
    assert error_line(result) == (f"scratchlin: error: INPUT: {tmp_path / 'rows.npy'} holds an "
                                  "array of shape (2, 12); the model takes 13 features per row: "
                                  "expected shape (N, 13)")


# --------------------------------------------------------------------------------------------
# 5. bench


def test_bench_writes_only_the_table_to_stdout_and_takes_traceback():
    result = run_cli("bench", "--quick", "--no-torch", "--max-threads", "1", "--traceback")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "one call of each operation on B rows:"
    assert lines[1].split() == ["dtype", "op", "B", "thr", "rows", "steps", "MFLOP", "us/call", "GFLOP/s",
                                "GB/s", "x", "floor"]
    assert ["dtype", "op", "B", "thr", "rows", "steps", "MFLOP", "ms/epoch", "GFLOP/s", "GB/s", "x", "core",
            "floor"] in [line.split() for line in lines]
    assert "x floor: the time over the larger of two floors measured in this run" in result.stdout
    progress = result.stderr.splitlines()
    assert progress[0].startswith("threads: policy; BLAS")
    assert not set(progress) & set(lines)  # no progress line in the redirected output


# --------------------------------------------------------------------------------------------
# 6. Ctrl-C during train


@pytest.fixture(scope="module")
def slow_table(tmp_path_factory):
    """4000 rows fed one at a time: an iteration takes a fraction of a second."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(4000, 8))
    labels = np.where(X[:, 0] > 0, "yes", "no")
    path = tmp_path_factory.mktemp("slow") / "slow.csv"
    return write_csv(path, [f"f{i}" for i in range(8)] + ["label"],
                     [[f"{v:.4f}" for v in row] + [label] for row, label in zip(X, labels)])


#: Training that only Ctrl-C ends: at this small rate the loss still falls by more than ``tol``
#: at every iteration for hundreds of iterations, so the plateau rule cannot stop it before the
#: signal, however slowly the test itself gets to send it.
ENDLESS_ADAM = ("--solver", "adam", "--batch-size", "1", "--lr", "1e-5", "--max-iter", "100000")


def _ctrl_c_as_in_a_terminal():
    """In the child, before exec: SIGINT raises KeyboardInterrupt, as in a terminal's foreground.

    A process started in the background by a non-interactive shell (``pytest &`` in a script,
    some CI runners) ignores SIGINT, and its children inherit that: Python then installs no
    handler, and the interrupted training would run to its end with status 0.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def interrupt_after_first_iteration(*args):
    """Run ``scratchlin ARGS``, press Ctrl-C once it prints its first iteration, and return its
    exit status and stderr."""
    process = subprocess.Popen([sys.executable, "-m", "scratchlin", *map(str, args)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=_ctrl_c_as_in_a_terminal)
    try:
        for line in process.stdout:
            if line.startswith("iteration "):
                break
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=120)
    finally:
        process.kill()
    return process.returncode, stderr


def test_ctrl_c_says_nothing_was_saved(slow_table, tmp_path):
    status, stderr = interrupt_after_first_iteration(
        "train", "--table", slow_table, "--target", "label", *ENDLESS_ADAM,
        "--out", tmp_path / "m.npz", "--seed", "0")
    assert status == 130
    assert re.fullmatch(r"scratchlin: interrupted during iteration (\d+); nothing was saved "
                        r"\(pass --save-on-interrupt to keep the model of the last finished "
                        r"iteration\)\n", stderr), stderr
    assert os.listdir(tmp_path) == []


def test_ctrl_c_with_save_on_interrupt_keeps_the_last_finished_iteration(slow_table, tmp_path):
    out = tmp_path / "m.npz"
    status, stderr = interrupt_after_first_iteration(
        "train", "--table", slow_table, "--target", "label", *ENDLESS_ADAM,
        "--out", out, "--seed", "0", "--save-on-interrupt")
    assert status == 130
    match = re.fullmatch(rf"scratchlin: interrupted during iteration (\d+); saved the model "
                         rf"after iteration (\d+) to {re.escape(str(out))}\n", stderr)
    assert match, stderr
    assert int(match.group(1)) == int(match.group(2)) + 1 >= 2
    model = LinearClassifier.load(out)
    assert len(model.history_) == int(match.group(2))
    assert model.feature_names_in_.tolist() == [f"f{i}" for i in range(8)]
    assert model.classes_.tolist() == ["no", "yes"]
    evaluated = run_cli("evaluate", out, "--table", slow_table, "--target", "label", "--json")
    assert json.loads(evaluated.stdout)["accuracy"] > 0.9  # label = sign of f0: one iteration learns it


# --------------------------------------------------------------------------------------------
# 7. gradcheck with a step outside the accurate range


@pytest.mark.parametrize("eps, cause", [("1e-1", "truncation error grows as eps**2"),
                                        ("1e-12", "rounding error grows as 1e-16/eps")])
def test_gradcheck_blames_a_bad_step_not_the_gradient(eps, cause):
    result = run_cli("gradcheck", "--eps", eps)
    assert result.returncode == 1
    assert "wrong" not in result.stdout
    assert f"note: eps={float(eps):g} is outside 1e-07..1e-04, where float64 central differences are " \
           f"accurate ({cause}): a large error at this step measures the step, not the gradient; " \
           "the default --eps 1e-05 is near the optimum\n" in result.stdout
    assert error_line(result).endswith("; the step is the likely cause: retry with --eps 1e-5")


def test_gradcheck_at_the_default_step_has_no_note():
    result = run_cli("gradcheck")
    assert result.returncode == 0
    assert "note:" not in result.stdout and "good (< 1e-7)" in result.stdout


# --------------------------------------------------------------------------------------------
# 8. smaller frictions


def test_train_help_gives_the_learning_rate_default_as_values():
    result = run_cli("train", "--help")
    text = " ".join(result.stdout.split())
    assert "(default: the optimizer's own: adam 0.002, adamw 0.002, sgd 0.1)" in text


def test_data_names_the_folder_origin_in_the_command_s_terms(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "SCRATCHLIN_DATA"}
    env["XDG_CACHE_HOME"] = str(tmp_path)
    result = run_cli("data", env=env)
    assert result.returncode == 1
    assert result.stdout.splitlines()[0] == (f"MNIST folder: {tmp_path / 'scratchlin' / 'mnist'}  "
                                             "(from the per-user cache; no --data, no $SCRATCHLIN_DATA)")
    assert "root=None" not in result.stdout + result.stderr


def test_predict_on_a_folder_says_it_is_a_folder(tmp_path):
    model = LinearClassifier.from_params(np.zeros((784, 10)), np.zeros(10)).save(tmp_path / "m.npz")
    result = run_cli("predict", model, tmp_path)
    assert result.returncode == 1
    assert error_line(result) == f"scratchlin: error: INPUT: {tmp_path} is a folder; expected a file"


def test_evaluate_json_prints_the_confusion_matrix_one_row_per_line(wine_model, wine_csv):
    out, _ = wine_model
    result = run_cli("evaluate", out, "--table", wine_csv, "--target", "class", "--json")
    report = json.loads(result.stdout)
    rows = [line.strip().rstrip(",") for line in result.stdout.splitlines()
            if re.fullmatch(r"\s+\[\d+, \d+, \d+\],?", line)]
    assert [json.loads(row) for row in rows] == report["confusion_matrix"]
    assert len(rows) == 3 and sum(map(sum, report["confusion_matrix"])) == 178


def test_a_3d_X_is_told_to_flatten(tmp_path):
    code = ("import numpy as np, scratchlin as sl; "
            "sl.LinearClassifier().fit(np.zeros((4, 28, 28)), [0, 1, 0, 1])")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        "ValueError: X must be 2-D, one row of features per sample, got 3-D array of shape "
        "(4, 28, 28); flatten images into rows first: scratchlin.datasets.flatten(X) or "
        "X.reshape(len(X), -1)")


# --------------------------------------------------------------------------------------------
# 4. tables from the wild: labels, members, outputs and signals


def table_model(path, W, classes, names=None, b=None):
    """A model of the given parameters saved at ``path`` (named columns if ``names``)."""
    W = np.asarray(W, dtype=np.float64)
    model = LinearClassifier.from_params(W, np.zeros(W.shape[1]) if b is None else np.asarray(b, float),
                                         classes=np.asarray(classes))
    if names is not None:
        model.feature_names_in_ = np.asarray(names, dtype=object)
    model.save(path)
    return model


@pytest.mark.parametrize("labels", [("1e300", "2e300"), ("1e19", "3e19"),
                                    ("9007199254740993", "9007199254740992")])
def test_whole_number_labels_too_large_for_int64_or_float64_precision_stay_distinct(tmp_path, labels):
    path = write_csv(tmp_path / "t.csv", ["x", "label"],
                     [[row % 2 + 0.1 * row, labels[row % 2]] for row in range(20)])
    result = run_cli("train", "--table", path, "--target", "label", "--out", tmp_path / "m.npz", "--quiet")
    assert result.returncode == 0, result.stderr
    classes = LinearClassifier.load(tmp_path / "m.npz").classes_
    expected = sorted(int(label) if label.isdigit() else float(label) for label in labels)
    assert classes.tolist() == expected and len(set(classes.tolist())) == 2


def test_float_npy_labels_beyond_int64_stay_distinct(tmp_path):
    table = np.array([[row % 2 + 0.1 * row, (1e300, 2e300)[row % 2]] for row in range(20)])
    np.save(tmp_path / "t.npy", table)
    result = run_cli("train", "--table", tmp_path / "t.npy", "--target", "-1", "--out",
                     tmp_path / "m.npz", "--quiet")
    assert result.returncode == 0, result.stderr
    assert LinearClassifier.load(tmp_path / "m.npz").classes_.tolist() == [1e300, 2e300]


@pytest.mark.parametrize("case", ["merged by float64", "continuous"])
def test_labels_that_would_merge_or_are_continuous_are_refused(tmp_path, case):
    if case == "merged by float64":
        labels = ["1e300", "1.0000000000000001e300"]
        message = ("holds labels in the target column 'label' that are different whole numbers "
                   "but the same float64 number (or too large for one); write them as text "
                   "(e.g. with a letter) or as smaller numbers")
    else:  # 60 distinct measurements
        labels = [f"{0.5 + row:.1f}" for row in range(60)]
        message = ("holds '0.5' in the target column 'label': a continuous target (a "
                   "measurement), not class labels; a classifier needs whole numbers or text as labels")
    path = write_csv(tmp_path / "t.csv", ["x", "label"],
                     [[row, labels[row % len(labels)]] for row in range(60)])
    result = run_cli("train", "--table", path, "--target", "label", "--out", tmp_path / "m.npz")
    assert result.returncode == 1
    assert error_line(result) == f"scratchlin: error: --table: {path} {message}"
    assert "training on" not in result.stdout


@pytest.mark.parametrize("where", ["column name", "label"])
def test_a_name_or_label_a_model_file_cannot_hold_is_refused_before_training(tmp_path, where):
    long = "n" * 1025
    header = ["x", long, "label"] if where == "column name" else ["x", "label"]
    rows = [[row, row] + (["a", "b"][row % 2:row % 2 + 1]) if where == "column name"
            else [row, long if row == 3 else "ab"[row % 2]] for row in range(10)]
    path = write_csv(tmp_path / "t.csv", header, rows)
    result = run_cli("train", "--table", path, "--target", "label", "--out", tmp_path / "m.npz")
    assert result.returncode == 1
    expected = ("has a column name of 1025 characters (column 2); a name has at most 1024, as "
                "a model file holds" if where == "column name" else
                "line 5: the label in column 'label' has 1025 characters; a label has at most "
                "1024, as a model file holds")
    assert error_line(result) == f"scratchlin: error: --table: {path} {expected}"
    assert "training on" not in result.stdout


def _zip_with(path, members: dict):
    import io
    import zipfile
    with zipfile.ZipFile(path, "w") as archive:
        for name, value in members.items():
            if isinstance(value, np.ndarray):
                buffer = io.BytesIO()
                np.save(buffer, value)
                value = buffer.getvalue()
            archive.writestr(name, value)
    return path


def test_npz_members_that_are_not_npy_and_zips_named_npy_are_one_line(tmp_path, wine_model):
    model_path, _ = wine_model
    bad_npz = _zip_with(tmp_path / "t.npz", {"X": b"not an array", "y.npy": np.arange(3)})
    np.savez(tmp_path / "zip.npz", X=np.zeros((3, 13)), y=np.arange(3))
    zip_named_npy = tmp_path / "zip.npy"
    zip_named_npy.write_bytes((tmp_path / "zip.npz").read_bytes())
    member_message = ("holds X as a member that is not a .npy array; expected X.npy, as "
                      "numpy.savez writes")
    zip_message = ("is a zip archive (.npz), not one array saved with numpy.save; name it .npz "
                   "if it holds arrays X and y")
    for args, flag, path, message in [
        (("train", "--table", bad_npz, "--out", tmp_path / "m.npz"), "--table", bad_npz, member_message),
        (("evaluate", model_path, "--table", bad_npz), "--table", bad_npz, member_message),
        (("predict", model_path, bad_npz), "INPUT", bad_npz, member_message),
        (("train", "--table", zip_named_npy, "--target", "-1", "--out", tmp_path / "m.npz"),
         "--table", zip_named_npy, zip_message),
        (("predict", model_path, zip_named_npy), "INPUT", zip_named_npy, zip_message),
    ]:
        result = run_cli(*args)
        assert result.returncode == 1, result.stderr
        assert error_line(result) == f"scratchlin: error: {flag}: {path} {message}"


def test_an_npz_table_listing_more_members_than_a_table_has_is_refused_unread(tmp_path):
    arrays = {f"extra{k}": np.zeros(1) for k in range(98)}
    np.savez(tmp_path / "t.npz", X=np.zeros((4, 2)), y=np.arange(4) % 2, **arrays)
    result = run_cli("train", "--table", tmp_path / "t.npz", "--out", tmp_path / "m.npz")
    assert result.returncode == 1
    assert error_line(result) == (f"scratchlin: error: --table: {tmp_path / 't.npz'} lists 100 "
                                  "members in its zip directory; a .npz table is read only with "
                                  "at most 64")


def test_predict_csv_neutralises_labels_that_spreadsheets_would_run(tmp_path):
    classes = ['=HYPERLINK("http://x","y")', "+cmd|' /C calc'!A0", "-5", "@SUM(1)"]
    W = [[10.0, -10.0, 0.0, 0.0], [0.0, 0.0, 10.0, -10.0]]
    table_model(tmp_path / "m.npz", W, classes, names=["a", "b"])
    rows = write_csv(tmp_path / "rows.csv", ["a", "b"], [[1, 0], [-1, 0], [0, 1], [0, -1]])
    result = run_cli("predict", tmp_path / "m.npz", rows, "--csv", "-")
    assert result.returncode == 0, result.stderr
    written = [row[1] for row in csv.reader(result.stdout.splitlines()[1:])]
    assert written == ["'" + classes[0], "'" + classes[1], "-5", "'@SUM(1)"]


def test_plain_predict_writes_one_line_per_row_whatever_the_label(tmp_path):
    table_model(tmp_path / "m.npz", [[5.0, -5.0]], ["two\nlines", "tab\there"], names=["a"])
    rows = write_csv(tmp_path / "rows.csv", ["a"], [[1], [-1], [1]])
    result = run_cli("predict", tmp_path / "m.npz", rows)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "two\\nlines\ntab\\there\ntwo\\nlines\n"


def test_sigterm_while_saving_leaves_no_temporary_file(wine_csv, tmp_path):
    # The signal arrives once the model's bytes are written, before the rename.
    code = ("import os, signal, sys, numpy\n"
            "real = numpy.savez\n"
            "def savez(file, **arrays):\n"
            "    real(file, **arrays)\n"
            "    os.kill(os.getpid(), signal.SIGTERM)\n"
            "numpy.savez = savez\n"
            "from scratchlin.cli import main\n"
            "sys.exit(main(sys.argv[1:]))\n")
    result = subprocess.run([sys.executable, "-c", code, "train", "--table", wine_csv, "--target",
                             "class", "--out", tmp_path / "m.npz", "--quiet", *WINE_FLAGS],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 128 + signal.SIGTERM, result.stderr
    assert result.stderr.strip().splitlines()[-1] == "scratchlin: terminated by signal 15"
    assert sorted(os.listdir(tmp_path)) == []


def test_out_is_checked_again_when_saving(tmp_path):
    from scratchlin.cli import _train
    from scratchlin.cli._errors import CLIError
    out = tmp_path / "model.npz"
    out.write_text("notes written while training ran\n")
    model = LinearClassifier.from_params(np.eye(2), np.zeros(2))
    with pytest.raises(CLIError) as caught:
        _train.save_model(model, str(out))
    assert str(caught.value) == (f"--out: {out} exists and is not a scratchlin model; not "
                                 "replacing it (remove it or choose another path)")
    assert out.read_text() == "notes written while training ran\n"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX")
def test_predict_csv_to_a_fifo_is_refused_at_once(tmp_path, wine_model, wine_csv):
    from scratchlin.cli._errors import CLIError
    from scratchlin.cli._outputs import open_output_file
    fifo = tmp_path / "out.csv"
    os.mkfifo(fifo)
    result = run_cli("predict", wine_model[0], wine_csv, "--csv", fifo)
    assert result.returncode == 1
    assert error_line(result) == (f"scratchlin: error: --csv: {fifo} is not a regular file (a "
                                  "FIFO or a device?); expected a file name ('-' writes to stdout)")
    with pytest.raises(CLIError, match="No such device or address"):  # made after the check
        open_output_file("--csv", fifo)


def test_features_float32_cannot_hold_name_the_cast(tmp_path):
    path = write_csv(tmp_path / "t.csv", ["a", "b", "label"],
                     [[row, 1e300 if row == 4 else row, row % 2] for row in range(10)])
    result = run_cli("train", "--table", path, "--target", "label", "--dtype", "float32",
                     "--out", tmp_path / "m.npz")
    assert result.returncode == 1
    assert error_line(result) == (
        f"scratchlin: error: --table: {path} holds 1e+300 (row 5, feature column 2), beyond "
        "float32's range (about ±3.4e38), and --dtype float32 cannot hold it; use --dtype "
        "float64; rescale that column")


def test_feature_names_with_surrounding_spaces_match_and_are_shown_quoted(tmp_path):
    pandas = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    frame = pandas.DataFrame(rng.normal(size=(30, 2)), columns=[" a", "b "])
    model = LinearClassifier().fit(frame, (frame[" a"] > 0).astype(int))
    model.save(tmp_path / "m.npz")
    frame.to_csv(tmp_path / "exact.csv", index=False)
    frame.rename(columns=str.strip).to_csv(tmp_path / "stripped.csv", index=False)
    expected = "".join(f"{label}\n" for label in model.predict(frame))
    for name in ("exact.csv", "stripped.csv"):
        result = run_cli("predict", tmp_path / "m.npz", tmp_path / name)
        assert result.returncode == 0, result.stderr
        assert result.stdout == expected
    write_csv(tmp_path / "other.csv", ["c", "d"], [[1, 2]])
    result = run_cli("predict", tmp_path / "m.npz", tmp_path / "other.csv")
    assert error_line(result) == (f"scratchlin: error: INPUT: {tmp_path / 'other.csv'} lacks the "
                                  "columns ' a', 'b ' that the model was trained on; its columns "
                                  "are: c, d")


def test_a_pixel_model_reads_a_table_of_0_to_255_pixels_as_its_images(tmp_path):
    rng = np.random.default_rng(0)
    table_model(tmp_path / "m.npz", rng.normal(size=(784, 10)), np.arange(10), b=rng.normal(size=10))
    pixels = rng.integers(0, 256, (5, 784), dtype=np.uint8)
    np.save(tmp_path / "images.npy", pixels)
    np.save(tmp_path / "labels.npy", np.arange(5))
    names = [f"pixel{j}" for j in range(784)]
    write_csv(tmp_path / "pixels.csv", names, pixels.tolist())  # as Kaggle's test.csv
    write_csv(tmp_path / "labelled.csv", names + ["label"],  # as its train.csv
              [[*row, label] for label, row in enumerate(pixels.tolist())])
    as_images = run_cli("predict", tmp_path / "m.npz", tmp_path / "images.npy", "--top-k", "2")
    as_table = run_cli("predict", tmp_path / "m.npz", tmp_path / "pixels.csv", "--top-k", "2")
    assert as_images.returncode == 0 and as_table.returncode == 0, as_table.stderr
    assert as_table.stdout == as_images.stdout
    assert "divided by 255" in as_table.stderr
    images = run_cli("evaluate", tmp_path / "m.npz", "--images", tmp_path / "images.npy",
                     "--labels", tmp_path / "labels.npy", "--json")
    table = run_cli("evaluate", tmp_path / "m.npz", "--table", tmp_path / "labelled.csv",
                    "--target", "label", "--json")
    assert json.loads(table.stdout)["loss"] == json.loads(images.stdout)["loss"]


def test_predict_on_logits_that_overflow_gives_valid_json_and_the_model_s_labels(tmp_path):
    W = [[1.0, -1.0, 0.5], [2.0, 0.0, -1.0], [0.0, 1.0, 0.0], [1.0, 1.0, -2.0]]
    model = table_model(tmp_path / "m.npz", W, ["a", "b", "c"], names=["w", "x", "y", "z"])
    rows = [[1e308, 1e308, 1e308, -1e308], [-1e308, 1e308, 0, 0], [1, 2, 3, 4]]
    path = write_csv(tmp_path / "rows.csv", ["w", "x", "y", "z"], rows)
    result = run_cli("predict", tmp_path / "m.npz", path, "--json", "--top-k", "3")
    assert result.returncode == 0, result.stderr

    def no_constants(name):
        raise AssertionError(f"{name} is not JSON")

    predictions = json.loads(result.stdout, parse_constant=no_constants)
    model.__dict__.pop("feature_names_in_")
    assert [row["label"] for row in predictions] == model.predict(np.array(rows)).tolist()
    for row in predictions:
        assert sum(top["probability"] for top in row["top"]) == pytest.approx(1.0)


def test_evaluate_of_a_table_model_without_a_table_says_so(wine_model):
    result = run_cli("evaluate", wine_model[0])
    assert result.returncode == 1
    assert error_line(result) == ("scratchlin: error: MODEL: the model takes 13 table columns, "
                                  "not images; evaluate it with --table FILE --target COLUMN")
