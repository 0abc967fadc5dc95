"""The bounds the table reader promises: time linear in the file, memory within a stated
multiple of it, and the caps checked on what is actually read.

Time is judged by a ratio between two sizes ten times apart, measured in the same process
(linear work grows 10x, quadratic work 100x), never by seconds. Memory is judged by
tracemalloc's peak, which NumPy's and Python's allocations both report to, against the size of
the file.
"""
import io
import time
import tracemalloc

import numpy as np
import pytest

from scratchlin import LinearClassifier
from scratchlin.cli import _model_inputs, _tables
from scratchlin.cli._errors import CLIError
from scratchlin.cli._tables import MAX_TABLE_CLASSES, MAX_TABLE_COLUMNS, read_table

#: What reading a CSV may hold at its peak, per byte of the file (docs: security page).
CSV_BYTES_PER_FILE_BYTE = 8
#: ...plus, for the header, per column (a name as a Python string, its index and its entries).
CSV_BYTES_PER_COLUMN = 250


def peak_bytes(function, *args, **kwargs):
    """``(result or the error raised, peak bytes traced while it ran)``."""
    tracemalloc.start()
    try:
        try:
            result = function(*args, **kwargs)
        except CLIError as error:
            result = error
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def fastest_of(repeat, function, *args):
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        function(*args)
        times.append(time.perf_counter() - started)
    return min(times)


def wide_csv(path, n_columns, n_rows=2):
    names = [f"column{at}" for at in range(n_columns)]
    with open(path, "w") as stream:
        stream.write(",".join(names) + ",label\n")
        for row in range(n_rows):
            stream.write(",".join("1" for _ in names) + f",{row % 2}\n")
    return names


# --------------------------------------------------------------------------------------------
# time: linear in the columns


def test_matching_a_wide_csv_to_a_model_takes_time_linear_in_its_columns(tmp_path):
    # predict/evaluate read a CSV by the model's feature names: every name is looked up among
    # the header's. By list searches that is n^2: 50,000 columns took minutes.
    def read_like_a_model(path, names, model):
        return _model_inputs.table_rows(model, path, None, flag="INPUT", notes=io.StringIO())

    seconds = {}
    for n_columns in (5_000, 50_000):
        path = tmp_path / f"wide{n_columns}.csv"
        names = wide_csv(path, n_columns)
        model = LinearClassifier.from_params(np.zeros((n_columns, 2)), np.zeros(2))
        model.feature_names_in_ = np.array(names[::-1], dtype=object)  # another order than the file's
        X, _ = read_like_a_model(path, names, model)
        assert X.shape == (2, n_columns)
        seconds[n_columns] = fastest_of(3, read_like_a_model, path, names, model)
    # Linear: 10x the columns, ~10x the time; quadratic: 100x. 30 leaves room for noise.
    assert seconds[50_000] / seconds[5_000] < 30, seconds


def test_a_header_wider_than_the_column_limit_is_refused_before_its_names_are_parsed(tmp_path):
    path = tmp_path / "header.csv"
    path.write_text(",".join(f"column{at:07d}" for at in range(1_000_000)) + "\n1\n")  # 15 MB
    error, peak = peak_bytes(read_table, path, None)
    assert str(error) == (f"--table: {path} has more than {MAX_TABLE_COLUMNS} columns in its "
                          f"header; a table has at most {MAX_TABLE_COLUMNS}")
    # One piece of the line at a time is held, never the million names.
    assert peak < path.stat().st_size / 4, peak


# --------------------------------------------------------------------------------------------
# memory: within a stated multiple of the file


@pytest.mark.parametrize("shape", ["narrow", "wide", "long labels"])
def test_reading_a_csv_holds_at_most_the_stated_multiple_of_its_size(tmp_path, shape):
    path = tmp_path / "t.csv"
    if shape == "narrow":  # the fewest bytes per number and per row: "1,0\n"
        path.write_text("a,y\n" + "1,0\n" * 200_000)
        n_columns = 2
    elif shape == "wide":
        n_columns = 20_001
        wide_csv(path, n_columns - 1, n_rows=20)
    else:  # short labels and one of 1024 characters: text labels are not padded per row
        path.write_text("a,y\n" + "1,ab\n" * 100_000 + "1," + "x" * 1024 + "\n")
        n_columns = 2
    table, peak = peak_bytes(read_table, path, "y" if shape != "wide" else "label")
    assert table.X.shape[1] == n_columns - 1
    limit = CSV_BYTES_PER_FILE_BYTE * path.stat().st_size + CSV_BYTES_PER_COLUMN * n_columns
    assert peak <= limit, (peak, limit)


@pytest.mark.parametrize("case", ["one label of 130,000 characters", "a label per row",
                                  "one row of 2M fields"])
def test_small_csvs_that_would_blow_up_memory_are_refused_early(tmp_path, case):
    path = tmp_path / "t.csv"
    if case == "one label of 130,000 characters":
        path.write_text("a,y\n" + "".join(f"1,{i}\n" for i in range(500)) + "1," + "x" * 130_000 + "\n")
        message = (f"--table: {path} line 502: the label in column 'y' has 130000 characters; a "
                   "label has at most 1024, as a model file holds")
    elif case == "a label per row":
        path.write_text("a,y\n" + "".join(f"1,id{i}\n" for i in range(20_000)))
        message = (f"--table: {path} line {MAX_TABLE_CLASSES + 2}: the target column 'y' holds "
                   f"more than {MAX_TABLE_CLASSES} distinct labels, the most a table's model may "
                   "have; is it an identifier or a measurement rather than a class?")
    else:
        path.write_text("a,y\n1," + "12," * 2_000_000 + "0\n")
        message = f"--table: {path} line 2 has more than 2 fields; the header has 2 columns"
    error, peak = peak_bytes(read_table, path, "y")
    assert str(error) == message
    # Before, these peaked at 9.7 GiB (labels padded to the longest), 1.3 GB and 1.5 GB.
    assert peak <= 2 * path.stat().st_size + (1 << 20), peak


def test_the_byte_cap_holds_for_the_bytes_read_not_the_size_first_seen(tmp_path, monkeypatch):
    # A file still being appended to passes the size check, then grows: the reader counts
    # what it reads. Here the check sees the file under a cap of 1000 bytes, then it grows.
    path = tmp_path / "growing.csv"
    path.write_text("a,y\n" + "1,0\n" * 100)
    monkeypatch.setattr(_tables, "MAX_TABLE_BYTES", 1000)
    real_check = _tables._check_file

    def check_then_grow(checked, flag):
        real_check(checked, flag)
        with open(checked, "a") as stream:
            stream.write("1,0\n" * 1000)

    monkeypatch.setattr(_tables, "_check_file", check_then_grow)
    with pytest.raises(CLIError) as caught:
        read_table(path, "y")
    assert str(caught.value) == (f"--table: {path} holds more than the 1000 bytes this command "
                                 "reads (did it grow while being read?); split it into smaller files")


def test_a_uint8_npy_table_is_converted_without_a_float_copy_of_the_whole_file(tmp_path):
    # float64 is 8 bytes a number: the table itself is 8x a uint8 file. Converting the whole
    # array, then deleting the label column, made it 16x and more.
    path = tmp_path / "t.npy"
    np.save(path, np.random.default_rng(0).integers(0, 10, (20_000, 201), dtype=np.uint8))
    table, peak = peak_bytes(read_table, path, "-1")
    assert table.X.shape == (20_000, 200) and table.X.dtype == np.float64
    assert peak <= table.X.nbytes * 1.25, (peak, table.X.nbytes)


# --------------------------------------------------------------------------------------------
# memory layouts: a stochastic solver trains on C-ordered rows, made once


@pytest.mark.parametrize("layout", ["F order", "column slice", "DataFrame"])
def test_a_stochastic_fit_gathers_minibatches_from_one_c_ordered_copy(layout, monkeypatch):
    from scratchlin import training

    rng = np.random.default_rng(0)
    X = rng.standard_normal((4000, 50))
    y = rng.integers(0, 3, 4000)
    if layout == "F order":
        data = np.asfortranarray(X)
    elif layout == "column slice":
        data = np.hstack([X, X])[:, :50]
    else:
        pandas = pytest.importorskip("pandas")
        data = pandas.DataFrame(X, columns=[f"x{j}" for j in range(50)])
    seen = []
    real_fit = training.Trainer.fit

    def recording_fit(self, X, *args, **kwargs):
        seen.append(X.flags.c_contiguous)
        return real_fit(self, X, *args, **kwargs)

    params = dict(solver="adam", max_iter=1, tol=None, seed=0)
    LinearClassifier(**params).fit(X, y)  # once, so that one-time allocations are not counted
    _, c_order_peak = peak_bytes(LinearClassifier(**params).fit, X, y)
    monkeypatch.setattr(training.Trainer, "fit", recording_fit)
    model, peak = peak_bytes(LinearClassifier(**params).fit, data, y)
    assert seen == [True]
    # At most one copy of X (its own size), plus what the solver uses from C order too.
    assert peak <= c_order_peak + 1.1 * X.nbytes, (peak, c_order_peak)
    np.testing.assert_array_equal(model.W, LinearClassifier(**params).fit(X, y).W)


def test_predict_converts_a_large_npy_of_images_a_block_at_a_time(tmp_path, capsys):
    # A float copy of every image was 4x a uint8 file (float32), and more on the way.
    from scratchlin.cli import main
    rng = np.random.default_rng(0)
    LinearClassifier.from_params(rng.normal(size=(784, 10)).astype(np.float32),
                                 np.zeros(10, np.float32)).save(tmp_path / "m.npz")
    path = tmp_path / "images.npy"
    np.save(path, rng.integers(0, 256, (60_000, 784), dtype=np.uint8))  # 47 MB
    status, peak = peak_bytes(main, ["predict", str(tmp_path / "m.npz"), str(path)])
    assert status == 0
    assert len(capsys.readouterr().out.splitlines()) == 60_000
    assert peak < path.stat().st_size, peak
