"""Pictures: valid PNGs of the expected size, with something drawn on them."""

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from matplotlib.image import imread  # noqa: E402

from ldnn import plots  # noqa: E402
from ldnn.training import History  # noqa: E402

WIDTH, HEIGHT = (round(s * plots.DPI) for s in plots.FIGSIZE)


def check_png(path):
    """A PNG of WIDTH x HEIGHT pixels that is not one flat colour."""
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = imread(path)
    assert image.shape[:2] == (HEIGHT, WIDTH)
    assert image[..., :3].std() > 0.01  # not blank


def test_learning_curve(tmp_path):
    history = History()
    for epoch in range(30):
        history.append({"epoch": epoch, "cost": 1 / (epoch + 1), "val_cost": 1.2 / (epoch + 1)})
    plots.learning_curve(history, tmp_path / "curve.png")
    check_png(tmp_path / "curve.png")


def test_decision_boundary(tmp_path):
    X = np.random.default_rng(0).normal(size=(2, 50))
    Y = (X[0] > 0).astype(float).reshape(1, -1)
    plots.decision_boundary(lambda Z: (Z[0] > 0).astype(int), X, Y, tmp_path / "b.png", ["a", "b"])
    check_png(tmp_path / "b.png")


def test_confusion_matrix(tmp_path):
    plots.confusion_matrix(np.array([[5, 1], [2, 7]]), ["cat", "dog"], tmp_path / "cm.png")
    check_png(tmp_path / "cm.png")


@pytest.mark.parametrize("image_shape", [(5, 4), (4, 4, 3)])
def test_first_layer_weights(tmp_path, image_shape):
    W1 = np.random.default_rng(0).normal(size=(6, int(np.prod(image_shape))))
    plots.first_layer_weights(W1, image_shape, tmp_path / "w.png")
    check_png(tmp_path / "w.png")
