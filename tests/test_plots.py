"""Pictures: valid PNGs of the expected size, with something drawn on them, and figures
that say what their curves are (checked on the matplotlib objects)."""

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from matplotlib.image import imread  # noqa: E402

from ldnn.runs import plots  # noqa: E402
from ldnn.training.history import History  # noqa: E402

WIDTH, HEIGHT = (round(s * plots.DPI) for s in plots.FIGSIZE)


def check_png(path, size=(WIDTH, HEIGHT)):
    """A PNG of ``size`` (width, height) pixels that is not one flat colour."""
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = imread(path)
    assert image.shape[:2] == (size[1], size[0])
    assert image[..., :3].std() > 0.01  # not blank


def make_history(epochs=30, accuracy=True, validation=True):
    history = History()
    for epoch in range(epochs):
        record = {"epoch": epoch, "cost": 1 / (epoch + 1)}
        if accuracy:
            record["accuracy"] = 1 - 0.5 / (epoch + 1)
        if validation:
            record["val_cost"] = 1.2 / (epoch + 1)
            record["val_accuracy"] = 1 - 0.6 / (epoch + 1) if accuracy else None
        history.append(record)
    return history


def panels(figure):
    """The figure's plotting axes, without colour bars."""
    return [axes for axes in figure.axes if axes.get_label() != "<colorbar>"]


def labels(axes) -> list[str]:
    return [line.get_label() for line in axes.get_lines()]


def legend_labels(axes) -> list[str]:
    return [text.get_text() for text in axes.get_legend().get_texts()]


def test_learning_curve(tmp_path):
    figure = plots.learning_curve(make_history(accuracy=False), tmp_path / "curve.png")
    check_png(tmp_path / "curve.png")
    (axes,) = panels(figure)  # regression: the cost panel only, full size
    assert labels(axes) == [plots.TRAINING_COST, "validation cost"]
    assert "mini-batch" in plots.TRAINING_COST and "dropout and L2" in plots.TRAINING_COST
    assert axes.get_yscale() == "log"  # costs from 1.2 to 1/30 span more than 20 times


def test_learning_curve_with_accuracy(tmp_path):
    figure = plots.learning_curve(make_history(), tmp_path / "curve.png", "digits")
    check_png(tmp_path / "curve.png")
    cost, accuracy = panels(figure)
    assert cost.get_title() == "digits"
    assert labels(cost) == [plots.TRAINING_COST, "validation cost"]
    assert labels(accuracy) == [plots.TRAINING_ACCURACY, "validation accuracy"]
    assert "mini-batches" in plots.TRAINING_ACCURACY and "dropout" in plots.TRAINING_ACCURACY
    assert accuracy.get_ylabel() == "accuracy" and accuracy.get_yscale() == "linear"
    assert legend_labels(cost) == labels(cost)


def test_learning_curve_without_validation_and_from_a_dict():
    history = make_history(validation=False)
    rows = {name: getattr(history, name) for name in History.COLUMNS}
    figure = plots.learning_curve_figure(rows)  # the figure learning_curve writes
    cost, accuracy = panels(figure)
    assert labels(cost) == [plots.TRAINING_COST] and labels(accuracy) == [plots.TRAINING_ACCURACY]


def test_learning_curve_test_curves_are_grey_dashed_and_for_reporting():
    test = {"test cost": [1.3 / (e + 1) for e in range(30)], "accuracy": [0.9] * 20}
    figure = plots.learning_curve_figure(make_history(), test=test)
    cost, accuracy = panels(figure)
    (test_cost,) = [line for line in cost.get_lines() if "test" in line.get_label()]
    (test_accuracy,) = [line for line in accuracy.get_lines() if "test" in line.get_label()]
    assert test_cost.get_label() == "test cost (reporting only)"
    assert test_accuracy.get_label() == "test accuracy (reporting only)"
    for line in (test_cost, test_accuracy):
        assert line.get_linestyle() == "--" and line.get_color() == plots.TEST_STYLE["color"]
    assert len(test_accuracy.get_xdata()) == 20  # drawn for the epochs it has
    # Without a test argument, no test curve.
    figure = plots.learning_curve_figure(make_history())
    assert not any("test" in label for axes in panels(figure) for label in labels(axes))


def test_learning_curve_no_extra_parameter(tmp_path):
    with pytest.raises(TypeError):
        plots.learning_curve(make_history(), tmp_path / "c.png", "t", {"test cost": [1.0]})


@pytest.mark.parametrize("accuracy", [True, False])
def test_learning_curve_best_epoch_line_in_each_panel(accuracy):
    figure = plots.learning_curve_figure(make_history(accuracy=accuracy), best_epoch=12)
    assert len(panels(figure)) == (2 if accuracy else 1)
    for axes in panels(figure):
        (line,) = [line for line in axes.get_lines() if line.get_label().startswith("best")]
        assert line.get_label() == "best epoch 12 (restored)"
        assert list(line.get_xdata()) == [12, 12]  # a vertical line at that epoch
        assert line.get_label() in legend_labels(axes)


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
    figure = plots.first_layer_weights(W1, image_shape, tmp_path / "w.png")
    check_png(tmp_path / "w.png")
    assert len(panels(figure)) == 6
    bars = [axes for axes in figure.axes if axes.get_label() == "<colorbar>"]
    if len(image_shape) == 2:
        # One symmetric scale for all units, shown by a colour bar.
        (bar,) = bars
        assert bar.get_ylabel() == "weight"
        limit = np.abs(W1).max()
        for axes in panels(figure):
            assert axes.get_images()[0].get_clim() == pytest.approx((-limit, limit))
    else:
        # RGB, each unit on its own scale: no colour bar, a note saying so.
        assert bars == []
        assert any("grey = 0" in text.get_text() for text in figure.texts)


def test_first_layer_weights_keeps_its_signature(tmp_path):
    W1 = np.random.default_rng(1).normal(size=(20, 9))
    figure = plots.first_layer_weights(W1, (3, 3), tmp_path / "w.png", max_units=4, title="w")
    assert len(panels(figure)) == 4 and figure.get_suptitle() == "w"


def toy_study(finished=6):
    """A study of a 2-parameter toy objective: ``finished`` complete trials, one failed."""
    optuna = pytest.importorskip("optuna")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))

    def objective(trial):
        x = trial.suggest_float("x", -1, 1)
        if trial.number == finished:
            raise ValueError("a failed trial is not a finished one")
        return x**2 + 0.1 * trial.suggest_int("k", 0, 3)

    study.optimize(objective, n_trials=finished + 1, catch=(ValueError,))
    return study


def test_importance_from_few_trials_says_it_is_a_rough_guide(tmp_path, monkeypatch):
    import matplotlib.pyplot as plt
    from matplotlib.text import Text

    from ldnn.tune import report

    study = toy_study()
    figures = report.study_figures(study)
    try:
        assert set(figures) == {"history.png", "importance.png"}
        texts = [t.get_text() for t in figures["importance.png"].findobj(Text)]
        assert report.caveat(6) in texts
        assert "from 6 finished trials: a rough guide, not a ranking" in texts
        history_texts = [t.get_text() for t in figures["history.png"].findobj(Text)]
        assert not any("rough guide" in text for text in history_texts)
    except BaseException:
        for figure in figures.values():
            plt.close(figure)
        raise
    # write_plots saves those figures (not drawn again: importances take a while).
    monkeypatch.setattr(report, "study_figures", lambda _: figures)
    assert report.write_plots(study, tmp_path) == ["history.png", "importance.png"]
    check_png(tmp_path / "importance.png", size=(800, 500))
    for figure in figures.values():  # write_plots closes what Optuna opened
        assert not plt.fignum_exists(figure.number)


def test_learning_curve_draws_alpha_when_a_schedule_changes_it():
    from ldnn.core.schedules import scheduled_learning_rate

    history = make_history()
    history.learning_rate = [
        scheduled_learning_rate(0.1, e, "cosine", epochs=30, warmup_epochs=3) for e in range(30)
    ]
    figure = plots.learning_curve_figure(history)
    rate = [a for a in figure.axes if a.get_ylabel() == plots.RATE]
    assert len(rate) == 1
    np.testing.assert_allclose(rate[0].lines[0].get_ydata(), history.learning_rate)
    constant = make_history()
    constant.learning_rate = [0.1] * 30
    assert not [
        a for a in plots.learning_curve_figure(constant).axes if a.get_ylabel() == plots.RATE
    ]


# -- regression: the cost's units, predicted against actual, the residuals ------------------------
def test_learning_curve_says_the_units_of_its_cost(tmp_path):
    history = make_history(accuracy=False)
    (axes,) = panels(plots.learning_curve_figure(history))
    assert axes.get_ylabel() == "cost J"
    path = tmp_path / "curve.png"
    figure = plots.learning_curve(history, path, cost_label=plots.STANDARDISED_COST)
    check_png(path)
    (axes,) = panels(figure)
    assert axes.get_ylabel() == "cost J (standardised units)"


def test_predicted_vs_actual_draws_the_line_y_equals_x(tmp_path):
    rng = np.random.default_rng(0)
    actual = rng.normal(23, 7, size=80)
    predicted = actual + rng.normal(0, 3, size=80)
    figure = plots.predicted_vs_actual(actual, predicted, tmp_path / "p.png", names=["mpg"])
    check_png(tmp_path / "p.png")
    (axes,) = panels(figure)
    (points,) = axes.collections
    np.testing.assert_array_equal(points.get_offsets(), np.column_stack([actual, predicted]))
    (line,) = axes.get_lines()
    assert line.get_label() == "y = x (perfect prediction)"
    np.testing.assert_array_equal(line.get_xdata(), line.get_ydata())
    # Both axes span the same range, which holds every point: the line is the diagonal.
    assert axes.get_xlim() == axes.get_ylim() == (line.get_xdata()[0], line.get_xdata()[1])
    low, high = axes.get_xlim()
    assert low < min(actual.min(), predicted.min()) and max(actual.max(), predicted.max()) < high
    assert (axes.get_xlabel(), axes.get_ylabel()) == ("actual mpg", "predicted mpg")


def test_residuals_are_actual_minus_predicted_about_zero(tmp_path):
    rng = np.random.default_rng(1)
    actual = rng.normal(size=(2, 30))  # two outputs: one colour and legend entry each
    predicted = actual + rng.normal(0, 0.2, size=(2, 30))
    figure = plots.residuals(actual, predicted, tmp_path / "r.png")
    check_png(tmp_path / "r.png")
    (axes,) = panels(figure)
    assert len(axes.collections) == 2
    for k, points in enumerate(axes.collections):
        np.testing.assert_allclose(
            points.get_offsets(), np.column_stack([predicted[k], actual[k] - predicted[k]])
        )
    (zero,) = axes.get_lines()
    assert list(zero.get_ydata()) == [0, 0]
    assert legend_labels(axes) == ["output 0", "output 1", "residual 0"]
    with pytest.raises(ValueError, match="differ in shape"):
        plots.residuals(actual, predicted[:, :5], tmp_path / "x.png")


def test_names_from_files_are_drawn_as_they_are(tmp_path):
    # Two "$" would make matplotlib read what lies between them as mathematics, and fail.
    name = "cost $x^$ (US$)"
    path = tmp_path / "p.png"
    figure = plots.predicted_vs_actual([1.0, 2.0], [1.1, 1.9], path, name, names=[name])
    check_png(tmp_path / "p.png")
    (axes,) = panels(figure)
    assert axes.get_xlabel() == f"actual {plots.literal(name)}"
    plots.confusion_matrix(np.eye(2, dtype=int), ["$a$", "b$^"], tmp_path / "c.png", "$$")
    check_png(tmp_path / "c.png")
