"""The experiments of the notes' claims: exact parity constructions and quick runs.

The constructions are checked on every input; each quick experiment is run once through
the CLI (module-scoped fixtures) and its CSVs and figures are read back.
"""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest

from ldnn.cli import main
from ldnn.experiments import EXPERIMENTS, depth_vs_width, hyperparameters

pytest.importorskip("matplotlib")


# -- constructed parity networks ---------------------------------------------------------
@pytest.mark.parametrize("n", [2, 3, 4, 5, 7, 8, 9, 12])
@pytest.mark.parametrize("name", sorted(depth_vs_width.CONSTRUCTIONS))
def test_constructed_parity_networks_are_exact_on_every_input(name, n):
    network = depth_vs_width.CONSTRUCTIONS[name](n)
    assert depth_vs_width.exact_errors(network, n) == 0


@pytest.mark.parametrize("n", [3, 6, 11])
def test_the_exactness_check_catches_one_wrong_weight(n):
    for build in depth_vs_width.CONSTRUCTIONS.values():
        network = build(n)
        network.parameters["W1"][0, 0] += 0.5
        assert depth_vs_width.exact_errors(network, n) > 0


@pytest.mark.parametrize("n", [2, 3, 4, 5, 8, 9, 16])
def test_construction_sizes_follow_the_formulas(n):
    hidden, units, _, _ = depth_vs_width.size(depth_vs_width.deep_xor_tree(n))
    assert hidden == math.ceil(math.log2(n))
    # n - 1 XOR gates of two ReLUs each, at most one carried unit per level, one output.
    assert 2 * (n - 1) + 1 <= units <= 2 * (n - 1) + 1 + hidden
    assert depth_vs_width.size(depth_vs_width.counting(n))[1] == n + 1
    if n <= 12:
        assert depth_vs_width.size(depth_vs_width.and_or(n))[:2] == (1, 2 ** (n - 1) + 1)


def test_trained_width_search_is_deterministic():
    first = depth_vs_width.trained_rows([3, 4], seeds=[0, 1], epochs=300)
    assert first == depth_vs_width.trained_rows([3, 4], seeds=[0, 1], epochs=300)
    assert {r["network"] for r in first} == {"shallow", "deep"}


def test_early_stop_epoch_follows_the_training_loops_rule():
    # Best at epoch 1 (cost 1.0); with patience 2 training stops at epoch 3.
    assert hyperparameters.early_stop_epoch([2.0, 1.0, 1.5, 1.2, 0.5], 2) == (3, 1)
    assert hyperparameters.early_stop_epoch([3.0, 2.0, 1.0], 5) == (2, 2)


# -- quick runs through the CLI ----------------------------------------------------------
def _run(name, tmp_path_factory):
    folder = tmp_path_factory.mktemp(name) / "run"
    argv = ["experiment", name, "--quick", "--seed", "0", "--out", str(folder), "--threads", "1"]
    assert main(argv) == 0
    return folder


@pytest.fixture(scope="module")
def depth_run(tmp_path_factory):
    return _run("depth-vs-width", tmp_path_factory)


@pytest.fixture(scope="module")
def feature_run(tmp_path_factory):
    return _run("feature-hierarchy", tmp_path_factory)


@pytest.fixture(scope="module")
def hyper_run(tmp_path_factory):
    return _run("hyperparameters", tmp_path_factory)


def read_csv(path) -> tuple[list[str], list[dict]]:
    with open(path, newline="") as file:
        reader = csv.DictReader(file)
        return list(reader.fieldnames), list(reader)


def assert_picture(path):
    """A PNG that matplotlib reads back, of a sensible size, not one flat colour."""
    from matplotlib.image import imread

    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = imread(path)
    assert image.shape[0] >= 200 and image.shape[1] >= 200
    assert image[..., :3].std() > 0.02, f"{path.name} looks blank"


def assert_fraction(rows, column):
    values = [float(r[column]) for r in rows if r[column] != ""]
    assert values and all(0.0 <= v <= 1.0 for v in values), column


def assert_report(folder, files):
    report = (folder / "report.md").read_text()
    assert "--quick --seed 0" in report
    for name in files:
        assert (folder / name).is_file()
        assert f"`{name}`" in report
    for png in folder.glob("*.png"):
        assert_picture(png)


def test_depth_vs_width_quick_run(depth_run):
    assert_report(depth_run, ["constructed.csv", "trained.csv", "parity_size.png"])
    columns, rows = read_csv(depth_run / "constructed.csv")
    assert columns == [
        "n",
        "network",
        "hidden_layers",
        "units",
        "parameters",
        "nonzero_weights",
        "checked_inputs",
        "errors",
    ]
    assert {int(r["n"]) for r in rows} == set(range(2, 17))
    checked = [r for r in rows if int(r["checked_inputs"]) > 0]
    assert len(checked) >= 3 * 11 and all(r["errors"] == "0" for r in checked)
    assert all(int(r["checked_inputs"]) == 2 ** int(r["n"]) for r in checked)
    for r in rows:
        if r["network"] == "and_or":
            assert int(r["units"]) == 2 ** (int(r["n"]) - 1) + 1
    columns, rows = read_csv(depth_run / "trained.csv")
    assert columns[:5] == ["n", "network", "hidden_layers", "width", "units"]
    assert [int(r["n"]) for r in rows if r["network"] == "shallow"] == [2, 3, 4, 5, 6]
    for r in rows:
        assert int(r["seeds_fitted"]) >= 1, r  # a width on the grid fits every quick n
        assert int(r["units"]) <= 2 ** (int(r["n"]) - 1) + 64


def test_feature_hierarchy_quick_run(feature_run):
    pictures = [
        "faces_layer1_weights.png",
        "faces_layer2_units.png",
        "digits_layer1_weights.png",
        "digits_layer3_units.png",
        "probe_accuracy.png",
    ]
    assert_report(feature_run, ["probe.csv", *pictures])
    columns, rows = read_csv(feature_run / "probe.csv")
    assert columns == [
        "dataset",
        "layer",
        "units",
        "dead_units",
        "probe_train_accuracy",
        "probe_test_accuracy",
    ]
    assert {r["dataset"] for r in rows} == {"faces", "digits"}
    assert_fraction(rows, "probe_test_accuracy")
    assert_fraction(rows, "probe_train_accuracy")
    # Both sets are easy for a linear read-out of the input: well above chance.
    inputs = {r["dataset"]: float(r["probe_test_accuracy"]) for r in rows if r["layer"] == "0"}
    assert inputs["faces"] > 0.8 and inputs["digits"] > 0.8


def test_hyperparameters_quick_run(hyper_run):
    assert_report(
        hyper_run,
        [
            "alpha.csv",
            "iterations.csv",
            "architecture.csv",
            "alpha_cost.png",
            "iterations.png",
            "architecture.png",
        ],
    )
    columns, rows = read_csv(hyper_run / "alpha.csv")
    assert columns == hyperparameters.ALPHA_COLUMNS
    for name in ("planar", "mnist1d"):
        part = [r for r in rows if r["dataset"] == name]
        verdicts = [r["verdict"] for r in part]
        assert verdicts[0] == "too small" and "divergent" in verdicts
        assert sum(v.startswith("good") for v in verdicts) == 1
        for r in part:  # the guard both stops and warns, and only when it diverged
            assert (r["stop_reason"] == "diverged") == (r["divergence_warning"] == "True")
    assert_fraction(rows, "test_accuracy")
    columns, rows = read_csv(hyper_run / "iterations.csv")
    assert columns == hyperparameters.ITER_COLUMNS
    for column in ("train_accuracy", "val_accuracy", "test_accuracy"):
        assert_fraction(rows, column)
    planar = [r for r in rows if r["dataset"] == "planar"]
    assert len({r["test_accuracy"] for r in planar}) > 1  # test accuracy tracks training
    columns, rows = read_csv(hyper_run / "architecture.csv")
    assert columns == hyperparameters.SWEEP_COLUMNS
    assert {r["sweep"] for r in rows} == {"depth", "width"}
    assert {float(r["lambd"]) for r in rows} >= {0.0, 1.0}
    assert_fraction(rows, "train_accuracy")
    assert_fraction(rows, "test_accuracy")


def test_quick_runs_are_deterministic(hyper_run, tmp_path):
    # The alpha table of a second quick run with the same seed and thread count (the
    # promise; the first ran with --threads 1) is identical.
    folder = tmp_path / "again"
    from ldnn.base.threads import limited_threads
    from ldnn.experiments import run_experiment

    with limited_threads(1):
        run_experiment("hyperparameters", folder, quick=True, seed=0)
    assert (folder / "alpha.csv").read_text() == (hyper_run / "alpha.csv").read_text()
    assert (folder / "architecture.csv").read_text() == (hyper_run / "architecture.csv").read_text()


def test_cli_rejects_unknown_experiment_and_existing_folder(depth_run, capsys):
    assert main(["experiment", "no-such-claim", "--quick"]) == 2
    assert main(["experiment", "depth-vs-width", "--quick", "--out", str(depth_run)]) == 2
    assert "exists" in capsys.readouterr().err
    assert sorted(EXPERIMENTS) == ["depth-vs-width", "feature-hierarchy", "hyperparameters"]


def test_constructed_outputs_are_integers_equal_to_parity():
    from ldnn.data import make_parity

    X, Y = make_parity(6)
    AL = depth_vs_width.deep_xor_tree(6).predict_proba(X)
    np.testing.assert_array_equal(AL, Y)
