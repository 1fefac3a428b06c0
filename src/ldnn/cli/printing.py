"""Scores as the terminal shows them."""

from __future__ import annotations


def format_scores(scores: dict, title: str = "") -> str:
    """A text table of the scores, as ``ldnn evaluate`` prints it: the first line sums
    them up (accuracy and log loss, or MSE, MAE and R^2)."""
    lines = [title] if title else []
    if "error" in scores:  # the part could not be scored (its outputs overflow)
        lines.append(f"m = {scores['m']}   not scored: {scores['error']}")
    elif "accuracy" in scores:
        areas = "".join(
            f"   {label} = {scores[key]:.4f}"
            for key, label in (("roc_auc", "ROC-AUC"), ("pr_auc", "PR-AUC"))
            if key in scores
        )
        lines.append(
            f"m = {scores['m']}   accuracy = {scores['accuracy']:.4f}   "
            f"log loss = {scores['log_loss']:.4f}{areas}"
        )
        if "threshold" in scores:
            lines.append(f"predicted {scores['classes'][1]!r} where its probability >= "
                         f"{scores['threshold']:g}")  # fmt: skip
        names = list(scores["per_class"])
        width = max(8, *(len(n) for n in names))
        lines.append(f"{'class':<{width}}  precision  recall  f1      support")
        for name, s in scores["per_class"].items():
            lines.append(
                f"{name:<{width}}  {s['precision']:<9.4f}  {s['recall']:<6.4f}  {s['f1']:<6.4f}"
                f"  {s['support']}"
            )
        if "macro" in scores:
            s = scores["macro"]
            lines.append(
                f"{'macro':<{width}}  {s['precision']:<9.4f}  {s['recall']:<6.4f}  {s['f1']:<6.4f}"
                f"  {scores['m']}"
            )
        lines.append("confusion matrix (rows: true class, columns: predicted):")
        cell = max(5, *(len(str(v)) + 1 for row in scores["confusion_matrix"] for v in row))
        for name, row in zip(names, scores["confusion_matrix"], strict=True):
            lines.append(f"{name:<{width}}  " + "".join(f"{v:>{cell}}" for v in row))
    else:
        lines.append(
            f"m = {scores['m']}   MSE = {scores['mse']:.6g}   MAE = {scores['mae']:.6g}   "
            f"R^2 = {scores['r2']:.4f}"
        )
    return "\n".join(lines)
