"""The pictures a run folder holds (``ldnn train`` writes them at the end of a run)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..core.metrics import class_probabilities
from ..data.preparation import Preparation
from .predictions import in_target_units


def run_pictures(run, folder: Path, scores: dict, test_curve: bool) -> list[str]:
    """The pictures of a run (a TrainingRun, trained) written into ``folder``: the learning
    curve, and the confusion matrix and decision boundary of classes or the
    predicted-vs-actual and residual pictures of a regression; their names."""
    from . import plots  # matplotlib, imported only when pictures are drawn

    raw, info, network = run.raw, run.info, run.network
    written = []
    if len(run.history):  # an interrupted run may not have finished an epoch
        # The test cost is drawn only when asked: epochs are not chosen on the test set.
        test = {"test cost": run.test_costs} if test_curve and run.test_costs else None
        # A regression trains on the standardised target: its cost is in those units.
        standardised = info["task"] == "regression" and "y_std" in info
        plots.learning_curve(
            run.history,
            folder / "learning_curve.png",
            f"Learning curve: {raw.name}",
            test=test,
            best_epoch=run.history.best_epoch,
            cost_label=plots.STANDARDISED_COST if standardised else plots.COST,
        )
        written.append("learning_curve.png")
    if info["task"] == "regression":
        return written + _regression_pictures(run, folder, scores)
    name = "test" if "test" in scores else "train"
    plots.confusion_matrix(
        np.array(scores[name]["confusion_matrix"]),
        info["classes"],
        folder / "confusion_matrix.png",
        f"Confusion matrix: {raw.name} ({name} part)",
    )
    written.append("confusion_matrix.png")
    if raw.n_features == 2:
        preparation = Preparation.from_metadata(info)

        def predict(X):
            AL = network.predict_proba(preparation.transform_x(X))
            return class_probabilities(AL).argmax(axis=0)

        plots.decision_boundary(
            predict,
            raw.X_train,
            raw.Y_train,
            folder / "decision_boundary.png",
            info["classes"],
            # (where MPI ranks hold the part together, rank 0's share of it)
            f"Decision boundary: {raw.name} (training part{', rank 0' if raw.ranks else ''})",
        )
        written.append("decision_boundary.png")
    if raw.image_shape is not None:
        plots.first_layer_weights(network.parameters["W1"], raw.image_shape, folder / "weights.png")
        written.append("weights.png")
    return written


def _regression_pictures(run, folder: Path, scores: dict) -> list[str]:
    """Predicted against actual and the residuals, in the target's units, on the test
    part when it was scored (else the training part)."""
    from . import plots

    info = run.info
    tested = "test" in scores and "error" not in scores["test"]
    name = "test" if tested else "training"
    predicted, actual = in_target_units(*run.kept_outputs["test" if tested else "train"], info)
    names = [info["target"]] if info.get("target") and len(actual) == 1 else ()
    # (where MPI ranks hold the part together, rank 0's examples of it)
    rank = ", rank 0's examples" if run.raw.ranks else ""
    where = f"{run.raw.name} ({name} part{rank}, m = {actual.shape[1]})"
    plots.predicted_vs_actual(
        actual,
        predicted,
        folder / "predicted_vs_actual.png",
        f"Predicted vs actual: {where}",
        names=names,
    )
    plots.residuals(actual, predicted, folder / "residuals.png", f"Residuals: {where}", names=names)
    return ["predicted_vs_actual.png", "residuals.png"]
