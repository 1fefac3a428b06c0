"""What a learner meets: the presets named after the course give the course's numbers
(its seeds, its draws), the built-in planar set is the course's own flower, a separate
test file trains as the course ships its data, and a wrong call of the course's predict
raises instead of printing a false accuracy."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ldnn import DeepNetwork
from ldnn.cli import main
from ldnn.course import L_layer_model, load_planar_dataset, two_layer_model
from ldnn.course import predict as course_predict
from ldnn.errors import ShapeError

h5py = pytest.importorskip("h5py")


def write_h5(path, images, labels, split):
    with h5py.File(path, "w") as file:
        file[f"{split}_set_x"] = images
        file[f"{split}_set_y"] = labels
        file["list_classes"] = np.array([b"non-cat", b"cat"])


@pytest.fixture
def cats(tmp_path, monkeypatch):
    """Course-layout files of 8 x 8 RGB images: 80 to train on, 30 to test."""
    rng = np.random.default_rng(0)
    for split, m in (("train", 80), ("test", 30)):
        labels = rng.integers(0, 2, m)
        images = rng.integers(0, 200, (m, 8, 8, 3)) + 50 * labels[:, None, None, None]
        write_h5(tmp_path / f"{split}_cats.h5", images.astype(np.uint8), labels, split)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def course_arrays(path, split):
    with h5py.File(path, "r") as file:
        X = file[f"{split}_set_x"][:]
        Y = file[f"{split}_set_y"][:].reshape(1, -1)
    return X.reshape(X.shape[0], -1).T / 255, Y  # the course's flattening


@pytest.mark.parametrize(
    "preset, hidden, model",
    [("course-4layer", [20, 7, 5], L_layer_model), ("course-2layer", [7], two_layer_model)],
)
def test_a_course_preset_trains_what_the_course_trains(cats, capsys, preset, hidden, model):
    argv = [
        "train",
        "train_cats.h5",
        "--test-data",
        "test_cats.h5",
        "--preset",
        preset,
        "--epochs",
        "200",
        "--name",
        preset,
        "-q",
        "--no-plots",
    ]
    assert main(argv) == 0, capsys.readouterr().err
    X, Y = course_arrays(cats / "train_cats.h5", "train")
    dims = [X.shape[0], *hidden, 1]
    course = model(X, Y, dims, num_iterations=200)
    course = course[0] if isinstance(course, tuple) else course
    network = DeepNetwork.load(cats / "runs" / preset / "model.npz")
    for key, value in course.items():
        np.testing.assert_allclose(network.parameters[key], value, rtol=1e-7, atol=1e-12)
    X_test, Y_test = course_arrays(cats / "test_cats.h5", "test")
    capsys.readouterr()
    course_predictions = course_predict(X_test, Y_test, course)
    printed = float(capsys.readouterr().out.split("Accuracy: ")[1])
    metrics = json.loads((cats / "runs" / preset / "metrics.json").read_text())
    assert metrics["test"]["m"] == 30
    assert metrics["test"]["accuracy"] == pytest.approx(printed, abs=1e-12)
    # the same labels, but for an example whose probability ties with 0.5 within the
    # parameters' agreement (another order of sums can put it either side)
    p = network.predict_proba(X_test)
    decided = np.abs(p - 0.5) > 1e-6
    assert decided.mean() > 0.9
    np.testing.assert_array_equal(network.predict(X_test)[decided], course_predictions[decided])


def test_evaluate_a_run_with_a_test_file_scores_that_file(cats, capsys):
    argv = [
        "train",
        "train_cats.h5",
        "--test-data",
        "test_cats.h5",
        "--epochs",
        "5",
        "--name",
        "t",
        "-q",
        "--no-plots",
    ]
    assert main(argv) == 0
    capsys.readouterr()
    assert main(["evaluate", "runs/t", "--json"]) == 0
    scores = json.loads(capsys.readouterr().out)
    metrics = json.loads((cats / "runs" / "t" / "metrics.json").read_text())
    assert scores["m"] == 30 and scores["accuracy"] == pytest.approx(metrics["test"]["accuracy"])
    assert metrics["train"]["m"] == 80  # the whole training file: no split
    assert main(["train", "train_cats.h5", "--test-data", "none.h5", "-q"]) == 2
    assert "'none.h5' is not a file" in capsys.readouterr().err


def test_the_built_in_planar_set_is_the_courses_flower():
    from ldnn.data import load_dataset

    X, Y = load_planar_dataset()
    data = load_dataset("planar")
    ours = np.hstack([data.X_train, data.X_test])
    labels = np.hstack([data.Y_train, data.Y_test])
    order = np.lexsort(ours)  # the same 400 points, split into two parts
    course = np.lexsort(X)
    np.testing.assert_array_equal(ours[:, order], X[:, course])
    np.testing.assert_array_equal(labels[:, order], Y[:, course])


def test_the_courses_predict_without_labels_raises():
    X, Y = load_planar_dataset()
    parameters = {
        "W1": np.zeros((4, 2)),
        "b1": np.zeros((4, 1)),
        "W2": np.zeros((1, 4)),
        "b2": np.zeros((1, 1)),
    }
    with pytest.raises(ShapeError, match="needs y, the true labels"):
        course_predict(X, parameters=parameters)
    assert course_predict(parameters, X).shape == (1, 400)  # week 3's form still works
