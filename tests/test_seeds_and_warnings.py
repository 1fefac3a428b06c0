"""``--seeds``: one run per seed and the spread of their scores; and a classifier that
predicts one class for every example says so."""

from __future__ import annotations

import json
import statistics

import numpy as np
import pytest

from ldnn.cli import main
from ldnn.runs.run import one_class_warnings

QUICK = ["--epochs", "6", "-q", "--no-plots", "--threads", "1"]


def test_seeds_run_once_each_and_report_mean_and_sd(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["train", "iris", "--seeds", "0,1,2", "--name", "s", *QUICK]) == 0
    out = capsys.readouterr().out
    tests = [
        json.loads((tmp_path / "runs" / f"s-seed{k}" / "metrics.json").read_text())["test"][
            "accuracy"
        ]
        for k in range(3)
    ]
    mean, sd = statistics.fmean(tests), statistics.stdev(tests)
    assert f"test accuracy: {mean:.4f} ± {sd:.4f}" in out
    assert main(["train", "iris", "--seeds", "0,x", *QUICK]) == 2
    assert main(["train", "--resume", "runs/s-seed0", "--seeds", "1"]) == 2
    assert "takes no seeds" in capsys.readouterr().err


def test_predicting_one_class_everywhere_is_said(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(300, 3)), (rng.random(300) < 0.15).astype(int)
    np.savez("rare.npz", X=X, y=y)
    assert main(["train", "rare.npz", "--l2", "100", "--name", "r", *QUICK]) == 0
    err = capsys.readouterr().err
    assert "ldnn: warning: the model predicts '0' for every train example" in err
    metrics = json.loads((tmp_path / "runs" / "r" / "metrics.json").read_text())
    assert len(metrics["warnings"]) == 2


@pytest.mark.parametrize(
    "matrix, said",
    [([[5, 0], [3, 0]], 1), ([[5, 1], [3, 2]], 0), ([[0, 4], [0, 4]], 1), ([[1]], 0)],
)
def test_one_class_rule(matrix, said):
    scores = {
        "train": {"confusion_matrix": matrix, "classes": ["a", "b"][: len(matrix)], "accuracy": 0.5}
    }
    assert len(one_class_warnings(scores)) == said
