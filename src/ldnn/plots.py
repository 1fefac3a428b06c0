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

from .errors import MissingPackageError
from .io import atomic_write

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


def learning_curve(
    history, path: str | os.PathLike, title: str = "Learning curve", extra: dict | None = None
) -> None:
    """Training (and validation) cost per epoch, the course's "cost per iteration" figure.

    Parameters
    ----------
    history : History or dict with lists "epoch", "cost" and optionally "val_cost"
    extra : dict {label: list}, optional
        More per-epoch costs to draw, such as the test cost.
    """
    get = history.get if isinstance(history, dict) else lambda k: getattr(history, k, None)
    epochs, cost, val = get("epoch"), get("cost"), get("val_cost")
    figure = new_figure()
    axes = figure.add_subplot()
    axes.plot(epochs, cost, label="training cost")
    if val and any(v is not None for v in val):
        axes.plot(epochs, [np.nan if v is None else v for v in val], label="validation cost")
    for label, values in (extra or {}).items():
        axes.plot(epochs[: len(values)], values, label=label)
    if min(cost) > 0 and max(cost) / min(cost) > 20:
        axes.set_yscale("log")
    axes.set_xlabel("epoch (iteration for full-batch gradient descent)")
    axes.set_ylabel("cost J")
    axes.set_title(title)
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    save_png(figure, path)


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
        axes.legend(handles, classes[: len(handles)], loc="best", fontsize="small")
    axes.set_xlabel("x1")
    axes.set_ylabel("x2")
    axes.set_title(title)
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
    names = [str(c) for c in classes]
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
    axes.set_title(title)
    figure.tight_layout()
    save_png(figure, path)


def first_layer_weights(
    W1, image_shape, path: str | os.PathLike, max_units: int = 32, title="First-layer weights"
) -> None:
    """Each hidden unit's row of W1 drawn as an image of the input's shape.

    Parameters
    ----------
    W1 : ndarray of shape (n[1], n[0])
    image_shape : tuple
        (height, width) or (height, width, channels) with product n[0].
    """
    W1 = np.asarray(W1, dtype=np.float64)
    units = min(len(W1), max_units)
    cols = int(np.ceil(np.sqrt(units * 4 / 3)))
    rows = int(np.ceil(units / cols))
    figure = new_figure()
    figure.suptitle(title)
    for k in range(units):
        axes = figure.add_subplot(rows, cols, k + 1)
        image = W1[k].reshape(image_shape)
        if image.ndim == 3:
            # Colour images: each unit's weights rescaled to [0, 1] as RGB.
            low, high = image.min(), image.max()
            axes.imshow((image - low) / (high - low or 1))
        else:
            limit = np.abs(image).max() or 1
            axes.imshow(image, cmap="RdBu_r", vmin=-limit, vmax=limit)
        axes.set_axis_off()
    save_png(figure, path)
