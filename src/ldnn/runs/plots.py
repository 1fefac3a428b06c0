"""Pictures of a run, written as PNG with matplotlib's Agg renderer.

No function here touches pyplot or the global backend: each builds its own
:class:`matplotlib.figure.Figure` (:func:`new_figure`), so plotting works on a server
without a display and never changes the backend of the caller's session. Every figure is
``FIGSIZE`` inches at ``DPI``, i.e. 640 x 480 pixels, unless a caller sizes it, and is
written atomically by :func:`save_png`.
"""

from __future__ import annotations

import os

import numpy as np

from ..errors import MissingPackageError, ShapeError
from ..io import atomic_write

FIGSIZE = (6.4, 4.8)
DPI = 100


def new_figure(width: float = FIGSIZE[0], height: float = FIGSIZE[1]):
    """A fresh matplotlib Figure of ``width`` x ``height`` inches at ``DPI``, drawn by Agg."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise MissingPackageError("pictures need matplotlib: pip install 'ldnn[cli]'") from None
    return Figure(figsize=(width, height), dpi=DPI)


def save_png(figure, path: str | os.PathLike) -> str:
    """Write ``figure`` to ``path`` as PNG, atomically; return the file's name."""
    atomic_write(path, lambda file: figure.savefig(file, format="png", dpi=DPI))
    return os.path.basename(path)


TRAINING_COST = "training cost (mini-batch mean, with any dropout and L2)"
COST = "cost J"
#: The cost axis of a regression trained on the standardised target, (y - mean) / std:
#: J = (1/2m) sum (a - y)^2 is then in those units, not in the target's.
STANDARDISED_COST = "cost J (standardised units)"
TRAINING_ACCURACY = "training accuracy (mini-batches, with any dropout)"
RATE = "learning rate α (the schedule)"
#: Test curves are grey and dashed, to read as "for reporting, not for choosing epochs".
TEST_STYLE = {"color": "0.45", "linestyle": "--", "linewidth": 1.2}
BEST_STYLE = {"color": "tab:green", "linestyle": ":", "linewidth": 1.5}
#: The share of a learning-curve panel the curves fill, leaving the rest to the legend.
DATA_SHARE = 0.65


def literal(text) -> str:
    """``text`` drawn as it is: a "$" from a file or column name escaped, so that
    matplotlib does not read what lies between two of them as mathematics (and fail)."""
    return str(text).replace("$", r"\$")


def _floats(values) -> np.ndarray:
    """``values`` as floats, None as NaN (a gap in the curve)."""
    return np.array([np.nan if v is None else float(v) for v in values or []], dtype=float)


def _has_values(values) -> bool:
    return bool(values) and any(v is not None for v in values)


def _test_label(label: str) -> str:
    label = label if "test" in label.lower() else f"test {label}"
    return label if "reporting" in label else f"{label} (reporting only)"


def _panel(axes, epochs, curves, tests, best_epoch, ylabel: str, cost: bool) -> None:
    """One learning-curve panel: ``curves`` [(label, colour, values)], the test curves
    {label: values}, the best epoch's line, the scale and the legend."""
    drawn = []
    for label, colour, values in curves:
        drawn.append(_floats(values))
        axes.plot(epochs[: len(drawn[-1])], drawn[-1], label=label, color=colour)
    for label, values in tests.items():
        if not _has_values(values):
            continue  # no test part: no empty entry in the legend
        drawn.append(_floats(values))
        axes.plot(epochs[: len(drawn[-1])], drawn[-1], label=_test_label(label), **TEST_STYLE)
    if best_epoch is not None:
        axes.axvline(best_epoch, label=f"best epoch {best_epoch} (restored)", **BEST_STYLE)
    finite = np.concatenate(drawn) if drawn else np.array([])
    finite = finite[np.isfinite(finite)]
    if finite.size:
        low, high = finite.min(), finite.max()
        # Orders of magnitude (a cost falling from 1 to 0.01) read better on a log scale.
        log = cost and low > 0 and high / low > 20
        if log:
            axes.set_yscale("log")
            low, high = np.log10(low), np.log10(high)
        # Room for the legend where curves seldom are: above falling costs, below rising
        # accuracies (the legend goes in the emptiest corner).
        span = (high - low) or 1.0
        margin = span / DATA_SHARE - span
        if cost:
            top = high + margin
            axes.set_ylim(top=10**top if log else top)
        else:
            axes.set_ylim(bottom=low - margin, top=high + 0.05 * span)
    axes.set_ylabel(ylabel)
    axes.grid(alpha=0.3)
    axes.legend(fontsize="small", framealpha=0.85)


def learning_curve_figure(
    history, title: str = "Learning curve", *, test=None, best_epoch=None, cost_label=COST
):
    """The Figure :func:`learning_curve` writes, without writing it (see there)."""
    get = history.get if isinstance(history, dict) else lambda k: getattr(history, k, None)
    epochs = np.asarray(get("epoch"), dtype=float)
    test = dict(test or {})
    test_accuracy = {k: v for k, v in test.items() if "accuracy" in k.lower()}
    with_accuracy = any(
        _has_values(v) for v in (get("accuracy"), get("val_accuracy"), *test_accuracy.values())
    )
    if not with_accuracy:
        test_accuracy = {}  # regression: every test curve is a cost
    test_cost = {k: v for k, v in test.items() if k not in test_accuracy}
    figure = new_figure()
    if with_accuracy:
        cost_axes, accuracy_axes = figure.subplots(2, 1, sharex=True)
    else:
        cost_axes, accuracy_axes = figure.add_subplot(), None
    for axes, key, train_label in (
        (cost_axes, "cost", TRAINING_COST),
        (accuracy_axes, "accuracy", TRAINING_ACCURACY),
    ):
        if axes is None:
            continue
        curves = [
            (label, colour, get(name))
            for label, colour, name in (
                (train_label, "tab:blue", key),
                (f"validation {key}", "tab:orange", f"val_{key}"),
            )
            if _has_values(get(name))
        ]
        tests = test_cost if key == "cost" else test_accuracy
        ylabel = cost_label if key == "cost" else "accuracy"
        _panel(axes, epochs, curves, tests, best_epoch, ylabel, cost=key == "cost")
    rates = get("learning_rate")
    if _has_values(rates) and np.ptp(_floats(rates)) > 0:  # a schedule: draw alpha too
        rate_axes = cost_axes.twinx()
        rate_axes.plot(epochs, _floats(rates), color="tab:green", linestyle=":", label=RATE)
        rate_axes.set_ylabel(RATE)
        rate_axes.legend(loc="center right")
    cost_axes.set_title(literal(title))
    (accuracy_axes or cost_axes).set_xlabel("epoch (iteration for full-batch gradient descent)")
    figure.tight_layout()
    return figure


def learning_curve(
    history,
    path: str | os.PathLike,
    title: str = "Learning curve",
    *,
    test=None,
    best_epoch=None,
    cost_label: str = COST,
):
    """Cost, and accuracy where there is one, per epoch: the course's "cost per iteration".

    The training curves are what training saw: the mean over the epoch's mini-batches of
    the regularised cost (dropout masks on, the L2 term added) and of the accuracy on
    those dropped-out mini-batches, so they sit above (below, for accuracy) the scores of
    the final parameters. The validation curves are the parameters after each epoch on
    the validation part, without dropout or L2.

    Parameters
    ----------
    history : History or dict of lists
        "epoch", "cost" and optionally "accuracy", "val_cost", "val_accuracy" (entries may
        be None: no accuracy for regression, no validation without a validation part).
    path : str or path-like
        Where the PNG goes.
    title : str
    test : dict {label: list}, optional
        Per-epoch test curves, such as ``{"test cost": [...]}``; labels with "accuracy"
        go to the accuracy panel. They are drawn grey and dashed and labelled "reporting
        only": epochs and hyperparameters are chosen on the validation part, never on
        the test part.
    best_epoch : int, optional
        The epoch (as in ``history["epoch"]``) whose parameters early stopping restored:
        a vertical line in each panel.
    cost_label : str, default "cost J"
        The cost axis's label: say the units the cost is in where they are not the
        data's (:data:`STANDARDISED_COST` for a regression on the standardised target).

    Returns
    -------
    matplotlib.figure.Figure
        Two panels (cost above, accuracy below), or only the cost panel when no accuracy
        was recorded. The cost axis is logarithmic when the costs drawn span more than a
        factor of 20.
    """
    figure = learning_curve_figure(
        history, title, test=test, best_epoch=best_epoch, cost_label=cost_label
    )
    save_png(figure, path)
    return figure


IDENTITY_STYLE = {"color": "0.3", "linestyle": "--", "linewidth": 1.2}
POINT_STYLE = {"s": 14, "alpha": 0.7, "edgecolors": "none"}


def _outputs(actual, predicted, names) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """actual and predicted as float (k, m) arrays, and a name for each of the k outputs."""
    Y = np.atleast_2d(np.asarray(actual, dtype=np.float64))
    A = np.atleast_2d(np.asarray(predicted, dtype=np.float64))
    if Y.shape != A.shape:
        raise ShapeError(f"actual {Y.shape} and predicted {A.shape} differ in shape")
    names = [literal(n) for n in names] if names else [f"output {i}" for i in range(len(Y))]
    return Y, A, names


def predicted_vs_actual(
    actual, predicted, path: str | os.PathLike, title="Predicted vs actual", *, names=()
):
    """Each example's prediction against its target, in the target's units, with the
    line y = x where a perfect model puts every point.

    Parameters
    ----------
    actual, predicted : ndarray of shape (k, m) or (m,)
        The targets and the predictions of the m examples, for k outputs (each drawn in
        a colour of its own).
    path : str or path-like
        Where the PNG goes.
    names : sequence of str, optional
        The outputs' names (the target's), for the axes or the legend.

    Returns
    -------
    matplotlib.figure.Figure
        One panel, square in data units: both axes span the same range.
    """
    Y, A, names = _outputs(actual, predicted, names)
    figure = new_figure()
    axes = figure.add_subplot()
    for k, name in enumerate(names):
        axes.scatter(Y[k], A[k], label=name, **POINT_STYLE)
    values = np.concatenate([Y.ravel(), A.ravel()])
    values = values[np.isfinite(values)]
    low, high = (values.min(), values.max()) if values.size else (0.0, 1.0)
    pad = 0.05 * ((high - low) or 1.0)
    low, high = low - pad, high + pad
    axes.plot([low, high], [low, high], label="y = x (perfect prediction)", **IDENTITY_STYLE)
    axes.set_xlim(low, high)
    axes.set_ylim(low, high)
    axes.set_aspect("equal", adjustable="box")
    what = names[0] if len(names) == 1 else "target"
    axes.set_xlabel(f"actual {what}")
    axes.set_ylabel(f"predicted {what}")
    axes.grid(alpha=0.3)
    axes.legend(fontsize="small", loc="upper left")
    axes.set_title(literal(title))
    figure.tight_layout()
    save_png(figure, path)
    return figure


def residuals(actual, predicted, path: str | os.PathLike, title="Residuals", *, names=()):
    """The residuals y - ŷ against the predictions ŷ, in the target's units, with the
    line at 0: a good fit leaves a band around it with no trend or funnel.

    Parameters
    ----------
    actual, predicted : ndarray of shape (k, m) or (m,)
    path : str or path-like
    names : sequence of str, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    Y, A, names = _outputs(actual, predicted, names)
    figure = new_figure()
    axes = figure.add_subplot()
    for k, name in enumerate(names):
        axes.scatter(A[k], Y[k] - A[k], label=name, **POINT_STYLE)
    axes.axhline(0.0, label="residual 0", **IDENTITY_STYLE)
    what = names[0] if len(names) == 1 else "target"
    axes.set_xlabel(f"predicted {what}")
    axes.set_ylabel(f"residual: actual - predicted {what}")
    axes.grid(alpha=0.3)
    axes.legend(fontsize="small")
    axes.set_title(literal(title))
    figure.tight_layout()
    save_png(figure, path)
    return figure


def decision_boundary(
    predict, X, Y, path: str | os.PathLike, classes=None, title: str = "Decision boundary"
) -> None:
    """The regions a classifier assigns to each class, over a 2-D input plane.

    Parameters
    ----------
    predict : callable
        Maps X of shape (2, k) to class indices of shape (1, k) or (k,).
    X : ndarray of shape (2, m)
        The points to draw (and to size the plane).
    Y : ndarray of shape (1, m)
        Their class indices.
    """
    x_min, x_max = X[0].min(), X[0].max()
    y_min, y_max = X[1].min(), X[1].max()
    pad_x, pad_y = 0.1 * (x_max - x_min or 1), 0.1 * (y_max - y_min or 1)
    xx, yy = np.meshgrid(
        np.linspace(x_min - pad_x, x_max + pad_x, 300),
        np.linspace(y_min - pad_y, y_max + pad_y, 300),
    )
    Z = np.asarray(predict(np.stack([xx.ravel(), yy.ravel()]))).reshape(xx.shape)
    figure = new_figure()
    axes = figure.add_subplot()
    axes.contourf(xx, yy, Z, alpha=0.35, cmap="Spectral")
    labels = np.asarray(Y).ravel()
    scatter = axes.scatter(X[0], X[1], c=labels, s=12, cmap="Spectral", edgecolors="k", lw=0.3)
    if classes is not None:
        handles, _ = scatter.legend_elements()
        names = [literal(c) for c in classes[: len(handles)]]
        axes.legend(handles, names, loc="best", fontsize="small")
    axes.set_xlabel("x1")
    axes.set_ylabel("x2")
    axes.set_title(literal(title))
    figure.tight_layout()
    save_png(figure, path)


def confusion_matrix(matrix, classes, path: str | os.PathLike, title="Confusion matrix") -> None:
    """Counts of (true class, predicted class) as a heat map with the numbers written in.

    Parameters
    ----------
    matrix : ndarray of shape (K, K)
        Row i, column j: examples of class i predicted as class j.
    """
    matrix = np.asarray(matrix)
    K = len(matrix)
    figure = new_figure()
    axes = figure.add_subplot()
    image = axes.imshow(matrix, cmap="Blues")
    figure.colorbar(image, ax=axes)
    ticks = np.arange(K)
    names = [literal(c) for c in classes]
    tilt = K > 4 and max(len(n) for n in names) > 3
    axes.set_xticks(ticks, names, rotation=45 if tilt else 0, ha="right" if tilt else "center")
    axes.set_yticks(ticks, names)
    if K <= 20:
        threshold = matrix.max() / 2 if matrix.size else 0
        for i in range(K):
            for j in range(K):
                color = "white" if matrix[i, j] > threshold else "black"
                axes.text(j, i, str(matrix[i, j]), ha="center", va="center", color=color)
    axes.set_xlabel("predicted class")
    axes.set_ylabel("true class")
    axes.set_title(literal(title))
    figure.tight_layout()
    save_png(figure, path)


def first_layer_weights(
    W1, image_shape, path: str | os.PathLike, max_units: int = 32, title="First-layer weights"
):
    """Each hidden unit's row of W1 drawn as an image of the input's shape.

    Grey-scale inputs share one symmetric scale: blue is a negative weight, white zero,
    red a positive one, from -max|w| to +max|w| over the units drawn, with a colour bar
    labelled "weight", so units can be compared. Colour inputs (channels last) are drawn
    as RGB, each unit on its own symmetric scale: mid-grey is a zero weight in every
    channel, a reddish pixel a positive weight on the red channel (or negative ones on
    green and blue), and so on; brightness is relative to that unit's largest weight, so
    there is no colour bar (the figure says so).

    Parameters
    ----------
    W1 : ndarray of shape (n[1], n[0])
    image_shape : tuple
        (height, width) or (height, width, channels) with product n[0].
    path : str or path-like
        Where the PNG goes.
    max_units : int
        Draw the first ``max_units`` units.
    title : str

    Returns
    -------
    matplotlib.figure.Figure
    """
    W1 = np.asarray(W1, dtype=np.float64)
    units = min(len(W1), max_units)
    colour = len(image_shape) == 3
    cols = int(np.ceil(np.sqrt(units * 4 / 3)))
    rows = int(np.ceil(units / cols))
    limit = float(np.abs(W1[:units]).max(initial=0.0)) or 1.0
    figure = new_figure()
    figure.suptitle(literal(title))
    grid, image = [], None
    for k in range(units):
        axes = figure.add_subplot(rows, cols, k + 1)
        weights = W1[k].reshape(image_shape)
        if colour:
            unit_limit = np.abs(weights).max() or 1.0
            axes.imshow(np.clip(0.5 + weights / (2 * unit_limit), 0, 1))
        else:
            image = axes.imshow(weights, cmap="RdBu_r", vmin=-limit, vmax=limit)
        axes.set_axis_off()
        grid.append(axes)
    if image is not None:
        figure.colorbar(image, ax=grid, label="weight", fraction=0.05, pad=0.03)
    else:
        figure.text(
            0.5,
            0.02,
            "RGB: grey = 0; each unit scaled to its own max |w|",
            ha="center",
            fontsize="small",
        )
    save_png(figure, path)
    return figure
