"""scratchlin.plotting: PNGs of predictable size whose pixels show what they should."""
import sys

import numpy as np
import pytest

pytest.importorskip("matplotlib")
ndimage = pytest.importorskip("scipy.ndimage")  # scipy comes with scikit-learn (test extra)
from matplotlib.image import imread  # noqa: E402

import scratchlin as sl  # noqa: E402
from scratchlin import plotting  # noqa: E402

SIDE = 28
#: Ten 7x7 blocks on the border of a 4x4 grid of blocks: class k's template is blue there.
BORDER_BLOCKS = [(0, 0), (0, 1), (0, 2), (0, 3), (1, 3), (2, 3), (3, 3), (3, 2), (3, 1), (3, 0)]
CENTRE = slice(12, 16)  # a 4x4 block of zero weights in every template


def template_weights() -> np.ndarray:
    """W (784, 10): +1 (red) everywhere, -1 (blue) on class k's block, 0 (white) in the centre."""
    templates = np.ones((10, SIDE, SIDE))
    for k, (row, col) in enumerate(BORDER_BLOCKS):
        templates[k, 7 * row:7 * row + 7, 7 * col:7 * col + 7] = -1.0
    templates[:, CENTRE, CENTRE] = 0.0
    return templates.reshape(10, SIDE * SIDE).T.copy()


def read_rgb(path) -> np.ndarray:
    image = imread(path)
    assert image.dtype == np.float32 and image.shape[2] in (3, 4)
    return image[:, :, :3]


def find_panels(rgb: np.ndarray) -> list:
    """Bounding boxes of the square, strongly coloured regions (the image panels), in reading
    order; the colour bar is strongly coloured too, but long and thin, so it is left out."""
    saturated = rgb.max(axis=2) - rgb.min(axis=2) > 0.25
    components, _ = ndimage.label(saturated)
    boxes = []
    for box in ndimage.find_objects(components):
        height, width = box[0].stop - box[0].start, box[1].stop - box[1].start
        if height > 50 and 0.8 < width / height < 1.25:
            boxes.append(box)
    return sorted(boxes, key=lambda b: (round(b[0].start, -1), b[1].start))


def cell_colours(rgb: np.ndarray, box) -> np.ndarray:
    """'r', 'b' or 'w' at the centre of each of the 28x28 cells of one panel."""
    top, left = box[0].start, box[1].start
    height, width = box[0].stop - top, box[1].stop - left
    rows = (top + (np.arange(SIDE) + 0.5) * height / SIDE).astype(int)
    cols = (left + (np.arange(SIDE) + 0.5) * width / SIDE).astype(int)
    pixels = rgb[np.ix_(rows, cols)]
    colours = np.where(pixels[..., 0] > pixels[..., 2], "r", "b")
    return np.where(pixels.min(axis=2) > 0.85, "w", colours)


def expected_colours(W: np.ndarray, k: int) -> np.ndarray:
    template = W[:, k].reshape(SIDE, SIDE)
    return np.where(template > 0, "r", np.where(template < 0, "b", "w"))


@pytest.fixture
def template_model():
    W = template_weights()
    return sl.LinearClassifier.from_params(W, np.zeros(10))


def test_weights_png_has_the_documented_pixel_size(template_model, tmp_path):
    path = plotting.plot_weights(template_model, tmp_path / "weights.png")
    assert path == tmp_path / "weights.png"
    assert imread(path).shape[:2] == (460, 1000)
    assert (460, 1000) == tuple(round(plotting.DPI * s) for s in plotting.WEIGHTS_FIGSIZE[::-1])


def test_weights_figure_shows_each_template_in_its_own_panel(template_model, tmp_path):
    rgb = read_rgb(plotting.plot_weights(template_model, tmp_path / "weights.png"))
    panels = find_panels(rgb)
    assert len(panels) == 10
    tops = sorted({round(b[0].start, -1) for b in panels})
    assert len(tops) == 2  # a 2x5 grid
    for k, box in enumerate(panels):
        colours = cell_colours(rgb, box)
        mismatched = np.argwhere(colours != expected_colours(template_model.W, k))
        assert mismatched.size == 0, f"panel {k}: cells {mismatched[:5].tolist()} differ"


def test_a_few_extreme_weights_do_not_wash_out_the_others(tmp_path):
    W = template_weights()
    W[0, 0] = 100.0  # a corner pixel that is never inked, pushed far by the optimizer
    model = sl.LinearClassifier.from_params(W, np.zeros(10))
    rgb = read_rgb(plotting.plot_weights(model, tmp_path / "w.png"))
    panels = find_panels(rgb)
    assert len(panels) == 10
    for k, box in enumerate(panels):
        assert np.array_equal(cell_colours(rgb, box), expected_colours(W, k)), k


def test_weights_colour_scale_is_centred_at_zero(tmp_path):
    """All-positive weights must all look red: a scale from min to max would make the
    smallest ones blue."""
    W = np.linspace(0.3, 1.0, SIDE * SIDE * 10).reshape(SIDE * SIDE, 10)
    model = sl.LinearClassifier.from_params(W, np.zeros(10))
    rgb = read_rgb(plotting.plot_weights(model, tmp_path / "w.png"))
    panels = find_panels(rgb)
    assert len(panels) == 10
    for box in panels:
        assert set(np.unique(cell_colours(rgb, box))) <= {"r", "w"}


def test_weights_refuses_unfitted_and_non_square(tmp_path):
    with pytest.raises(ValueError, match="fitted"):
        plotting.plot_weights(sl.LinearClassifier(), tmp_path / "w.png")
    model = sl.LinearClassifier.from_params(np.ones((10, 3)), np.zeros(3))
    with pytest.raises(ValueError, match="square number of features"):
        plotting.plot_weights(model, tmp_path / "w.png")
    assert not (tmp_path / "w.png").exists()


def colour_pixels(rgb: np.ndarray, hex_colour: str) -> int:
    target = np.array([int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)])
    return int(np.count_nonzero(np.abs(rgb - target).max(axis=2) < 0.03))


HISTORY = [{"iteration": e, "train_loss": 1.0 / e, "lr": 0.1 / e, "seconds": 0.5} for e in (1, 2, 3, 4)]
BLUE, ORANGE, GREEN = "#1f77b4", "#ff7f0e", "#2ca02c"  # matplotlib's C0, C1, C2


def test_history_without_validation_draws_loss_and_learning_rate(tmp_path):
    path = plotting.plot_history(HISTORY, tmp_path / "h.png")
    rgb = read_rgb(path)
    assert rgb.shape[:2] == (400, 1000)
    assert colour_pixels(rgb, BLUE) > 200  # the training loss curve
    assert colour_pixels(rgb, GREEN) > 200  # the learning rate curve
    assert colour_pixels(rgb, ORANGE) == 0  # no validation curve


def test_history_with_validation_draws_validation_curves(tmp_path):
    history = [{**r, "val_loss": 1.2 / r["iteration"], "val_accuracy": 0.8 + 0.02 * r["iteration"]}
               for r in HISTORY]
    rgb = read_rgb(plotting.plot_history(history, tmp_path / "h.png"))
    assert rgb.shape[:2] == (400, 1000)
    assert colour_pixels(rgb, BLUE) > 200
    assert colour_pixels(rgb, ORANGE) > 400  # validation loss and accuracy
    assert colour_pixels(rgb, GREEN) == 0


@pytest.mark.parametrize("history, match", [
    ([], "non-empty"),
    ([{"iteration": 1}], "train_loss"),
    ([{"iteration": 1, "train_loss": 0.5}, "epoch 2"], "dict"),
])
def test_history_refuses_malformed_records(history, match, tmp_path):
    with pytest.raises((ValueError, TypeError), match=match):
        plotting.plot_history(history, tmp_path / "h.png")


def test_confusion_png_size_and_content(tmp_path):
    cm = np.array([[50, 2, 0], [3, 40, 7], [0, 0, 60]])
    first = read_rgb(plotting.plot_confusion_matrix(cm, ["a", "b", "c"], tmp_path / "1.png"))
    again = read_rgb(plotting.plot_confusion_matrix(cm, ["a", "b", "c"], tmp_path / "2.png"))
    other = cm.copy()
    other[1] = [0, 50, 0]
    changed = read_rgb(plotting.plot_confusion_matrix(other, ["a", "b", "c"], tmp_path / "3.png"))
    assert first.shape[:2] == (620, 700)
    assert np.array_equal(first, again)
    assert not np.array_equal(first, changed)
    # the heat map: a diagonal cell (a share near 1) is drawn in a dark blue
    dark_blue = (first[..., 2] > 0.3) & (first[..., 0] < 0.15)
    assert dark_blue.sum() > 3 * 1000


@pytest.mark.parametrize("cm, labels, match", [
    (np.ones((2, 3), dtype=int), ["a", "b"], "square"),
    (np.ones((2, 2), dtype=int), ["a", "b", "c"], "labels"),
    (np.ones((2, 2)), ["a", "b"], "integer"),
    (-np.ones((2, 2), dtype=int), ["a", "b"], "non-negative"),
])
def test_confusion_refuses_bad_input(cm, labels, match, tmp_path):
    with pytest.raises(ValueError, match=match):
        plotting.plot_confusion_matrix(cm, labels, tmp_path / "c.png")


def test_missing_matplotlib_names_the_extra(monkeypatch, template_model, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    with pytest.raises(ImportError, match=r"pip install scratchlin\[plot\]"):
        plotting.plot_weights(template_model, tmp_path / "w.png")
    with pytest.raises(ImportError, match=r"pip install scratchlin\[plot\]"):
        plotting.require_matplotlib()
