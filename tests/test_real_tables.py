"""Real-looking tables end to end: a passenger list (an ID, names, text categories, 20%
missing ages, unseen categories at predict time) and a census extract (", " separators,
"?" for missing, imbalanced classes), through train, evaluate, predict and the ONNX
export checked by onnxruntime."""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("pyarrow")
pytest.importorskip("sklearn")

from ldnn import DeepNetwork  # noqa: E402
from ldnn.cli import main  # noqa: E402
from ldnn.data.sources import load_for_model  # noqa: E402
from ldnn.runs.predictions import model_info  # noqa: E402
from public_tables import census, passengers, write_csv  # noqa: E402

QUICK = ["--epochs", "40", "--lr", "0.01", "-q", "--no-plots"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """The files, and a run trained on the passenger list (runs/titanic)."""
    path = tmp_path_factory.mktemp("tables")
    write_csv(path / "titanic.csv", passengers())
    later = passengers(60, seed=7, survived=False)
    later["Embarked"][:3] = ["X", "", "Z"]  # ports training never saw, and one missing
    later["Fare"][3] = np.nan  # a missing number where training had none
    write_csv(path / "later.csv", {k: later[k] for k in reversed(list(later))})  # any order
    write_csv(path / "adult.csv", census(), separator=", ")
    cwd = os.getcwd()
    os.chdir(path)
    try:
        assert (
            main(["train", "titanic.csv", "--target", "Survived", "--name", "titanic", *QUICK]) == 0
        )
    finally:
        os.chdir(cwd)
    return path


@pytest.fixture
def here(folder, monkeypatch):
    monkeypatch.chdir(folder)
    return folder


def run(argv, capsys):
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


# -- train: every decision printed once and stored ------------------------------------------
def test_train_prints_each_columns_decision_and_drops_what_carries_no_signal(here, capsys):
    status, out, _ = run(
        [
            "train",
            "titanic.csv",
            "--target",
            "Survived",
            "--name",
            "seen",
            "--epochs",
            "2",
            "--no-plots",
        ],
        capsys,
    )
    assert status == 0
    table = {line.split()[0]: line for line in out.splitlines()[:14] if line.strip()}
    assert "an ID" in table["PassengerId"] and "unique per row" in table["Name"]
    assert "distinct" in table["Ticket"] and "distinct" in table["Cabin"]
    assert "missing filled with" in table["Age"] and "one-hot" in table["Sex"]
    assert "(missing)" in table["Embarked"]  # two ports are empty in the list
    assert out.count("PassengerId") == 1
    stored = list(csv.DictReader(open(here / "runs" / "seen" / "columns.csv")))
    assert [r["column"] for r in stored][:3] == ["Survived", "PassengerId", "Pclass"]


def test_the_model_file_holds_the_rules_as_json(here):
    network = DeepNetwork.load(here / "runs" / "titanic" / "model.npz")
    info = network.metadata["data"]
    rules = {r["name"]: r for r in info["columns"]["rules"]}
    ages = passengers()["Age"]
    assert rules["Age"]["fill"] == pytest.approx(np.nanmedian(ages), abs=2)  # training part's
    assert rules["Sex"]["categories"] == ["female", "male"]
    split = {k: v for k, v in info["split"].items() if k != "sha256"}
    assert split == {"test_split": 0.2, "split_seed": 0, "rows": 891, "stratified": True}
    json.dumps(info)  # plain JSON, no pickle


def test_the_split_is_stratified(here):
    metrics = json.loads((here / "runs" / "titanic" / "metrics.json").read_text())
    survived = passengers()["Survived"]
    train, test = metrics["train"]["per_class"], metrics["test"]["per_class"]
    share = test["1"]["support"] / metrics["test"]["m"]
    assert abs(share - survived.mean()) < 1 / metrics["test"]["m"]
    assert train["1"]["support"] + test["1"]["support"] == survived.sum()


# -- evaluate: the run's own test part ------------------------------------------------------
def test_evaluate_a_run_folder_scores_its_test_part(here, capsys):
    status, out, _ = run(["evaluate", "runs/titanic", "--json"], capsys)
    assert status == 0
    scores = json.loads(out)
    recorded = json.loads((here / "runs" / "titanic" / "metrics.json").read_text())["test"]
    assert scores["m"] == recorded["m"] == 178
    assert scores["accuracy"] == pytest.approx(recorded["accuracy"])
    assert 0.5 < scores["roc_auc"] <= 1 and 0 < scores["pr_auc"] <= 1
    assert set(scores["macro"]) == {"precision", "recall", "f1"}
    # The same through the model file and the file it was trained on.
    status, out, _ = run(
        ["evaluate", "runs/titanic/model.npz", "titanic.csv", "--part", "test", "--json"], capsys
    )
    assert json.loads(out)["accuracy"] == pytest.approx(scores["accuracy"])
    status, out, _ = run(["evaluate", "runs/titanic/model.npz", "titanic.csv", "--json"], capsys)
    assert json.loads(out)["m"] == 891  # the whole file


def test_the_areas_and_the_threshold_agree_with_scikit_learn(here, capsys):
    from sklearn.metrics import accuracy_score, average_precision_score, roc_auc_score

    network = DeepNetwork.load(here / "runs" / "titanic" / "model.npz")
    info = model_info(network)
    data = load_for_model("titanic.csv", info, {}, need_target=True, part="test")
    p = network.predict_proba(data.X).ravel()
    y = data.Y.ravel()
    status, out, _ = run(["evaluate", "runs/titanic", "--threshold", "0.3", "--json"], capsys)
    scores = json.loads(out)
    assert scores["roc_auc"] == pytest.approx(roc_auc_score(y, p))
    assert scores["pr_auc"] == pytest.approx(average_precision_score(y, p))
    assert scores["accuracy"] == pytest.approx(accuracy_score(y, p >= 0.3))
    status, out, _ = run(["evaluate", "runs/titanic", "--threshold", "0.3"], capsys)
    assert "where its probability >= 0.3" in out and "macro" in out


def test_evaluate_refuses_a_part_of_another_file(here, capsys):
    write_csv(here / "other.csv", passengers(100, seed=3))
    status, _, err = run(
        ["evaluate", "runs/titanic/model.npz", "other.csv", "--part", "test"], capsys
    )
    assert status == 2 and "not the file the model was trained on" in err


# -- predict: the raw file, the ID column first ---------------------------------------------
def test_predict_takes_the_raw_file_with_its_id_column_first(here, capsys):
    status, out, _ = run(
        ["predict", "runs/titanic", "later.csv", "-o", "out.csv", "--id-column", "PassengerId"],
        capsys,
    )
    assert status == 0 and "wrote 60 predictions" in out
    rows = list(csv.DictReader(open(here / "out.csv")))
    assert list(rows[0]) == ["PassengerId", "prediction", "p_0", "p_1"]
    assert [r["PassengerId"] for r in rows] == [str(i) for i in range(1, 61)]
    for r in rows:
        p0, p1 = float(r["p_0"]), float(r["p_1"])
        assert p0 + p1 == pytest.approx(1, abs=2e-6) and r["prediction"] == (
            "1" if p1 > p0 else "0"
        )


def test_predict_names_a_missing_column_and_a_missing_id_column(here, capsys):
    later = passengers(5, seed=8, survived=False)
    del later["Sex"]
    write_csv(here / "no_sex.csv", later)
    status, _, err = run(["predict", "runs/titanic", "no_sex.csv"], capsys)
    assert status == 2 and "no column 'Sex', which the model was trained on" in err
    status, _, err = run(["predict", "runs/titanic", "later.csv", "--id-column", "Id"], capsys)
    assert status == 2 and "--id-column: no column 'Id'" in err


def test_train_output_is_unambiguous(here, capsys):
    status, _, err = run(["train", "titanic.csv", "--output", "preds.csv"], capsys)
    assert status == 2 and "--output-activation" in err
    status, _, err = run(
        [
            "train",
            "titanic.csv",
            "--target",
            "Survived",
            "--output-activation",
            "softmax",
            "--name",
            "soft",
            "--epochs",
            "1",
            "-q",
            "--no-plots",
        ],
        capsys,
    )
    assert status == 0, err
    network = DeepNetwork.load(here / "runs" / "soft" / "model.npz")
    assert network.hyperparameters.activations[-1] == "softmax" and network.layer_dims[-1] == 2


def test_a_closed_pipe_is_not_an_error(here):
    """``ldnn predict ... | head -1``: the reader goes away; no BrokenPipe traceback."""
    process = subprocess.Popen(
        [sys.executable, "-m", "ldnn.cli", "predict", "runs/titanic", "titanic.csv"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=here,
        env={**os.environ, "OPENBLAS_NUM_THREADS": "1"},
    )
    process.stdout.close()  # before ldnn has started writing: every write fails
    err = process.stderr.read().decode()
    # Only the line that counts what the file holds that training did not (ages missing).
    assert process.wait(timeout=120) == 141
    assert err.startswith("titanic.csv: missing values: Age ") and err.count("\n") == 1


# -- the ONNX export holds the preparation --------------------------------------------------
def onnx_feed(session, path):
    """The raw columns of a CSV as the exported graph takes them."""
    rows = list(csv.DictReader(open(path)))
    feed = {}
    for spec in session.get_inputs():
        cells = [r[spec.name].strip() for r in rows]
        if spec.type == "tensor(string)":
            feed[spec.name] = np.array(cells, dtype=object).reshape(-1, 1)
        else:
            numbers = [float(c) if c else np.nan for c in cells]
            feed[spec.name] = np.array(numbers, dtype=np.float32).reshape(-1, 1)
    return feed


@pytest.mark.parametrize("data", ["later.csv", "titanic.csv"])
def test_onnxruntime_reproduces_ldnn_predict_on_raw_columns(here, data):
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    from ldnn.onnx import export_file

    export_file(here / "runs" / "titanic" / "model.npz", here / "titanic.onnx")
    session = ort.InferenceSession(str(here / "titanic.onnx"), providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    assert names == ["Pclass", "Sex", "Age", "SibSp", "Parch", "Fare", "Embarked"]
    probabilities, labels = session.run(["probabilities", "label"], onnx_feed(session, data))
    network = DeepNetwork.load(here / "runs" / "titanic" / "model.npz")
    prepared = load_for_model(data, model_info(network), {}, need_target=False)
    expected = network.predict_proba(prepared.X).ravel()
    assert probabilities.shape == (len(expected), 2)
    np.testing.assert_allclose(probabilities[:, 1], expected, atol=1e-5, rtol=0)
    decided = np.abs(expected - 0.5) > 2e-5  # a tie within the tolerance may go either way
    assert decided.mean() > 0.9
    np.testing.assert_array_equal(labels[decided], np.where(expected > 0.5, "1", "0")[decided])


def test_onnx_export_of_an_array_model_standardises_inside(here, tmp_path):
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    from ldnn.onnx import to_onnx

    X = np.random.default_rng(0).normal(5, 3, size=(200, 3))
    np.savez(tmp_path / "d.npz", X=X, y=(X[:, 0] > 5).astype(int))
    assert (
        main(["train", str(tmp_path / "d.npz"), "--runs-dir", str(tmp_path), "--name", "a", *QUICK])
        == 0
    )
    network = DeepNetwork.load(tmp_path / "a" / "model.npz")
    session = ort.InferenceSession(to_onnx(network).SerializeToString())
    got = session.run(["probabilities"], {"X": X.astype(np.float32)})[0]
    prepared = load_for_model(str(tmp_path / "d.npz"), model_info(network), {}, need_target=False)
    np.testing.assert_allclose(got[:, 1], network.predict_proba(prepared.X).ravel(), atol=1e-5)


# -- a census file: ", " separators, "?" markers, imbalanced classes --------------------------
def test_a_census_file_with_question_marks_and_balanced_class_weights(here, capsys):
    status, out, err = run(
        [
            "train",
            "adult.csv",
            "--target",
            "income",
            "--na-values",
            "?",
            "--class-weight",
            "balanced",
            "--name",
            "adult",
            *QUICK[:4],
            "--no-plots",
        ],
        capsys,
    )
    assert status == 0, err
    assert "workclass" in out and "(missing)" in out  # '?' is a missing value, not a class
    assert "fnlwgt" in out
    scores = json.loads((here / "runs" / "adult" / "metrics.json").read_text())["test"]
    rich = scores["per_class"][">50K"]
    assert rich["support"] / scores["m"] == pytest.approx(0.40, abs=0.05)
    plain = [
        "train",
        "adult.csv",
        "--target",
        "income",
        "--na-values",
        "?",
        "--name",
        "plain",
        *QUICK,
    ]
    assert main(plain) == 0
    unweighted = json.loads((here / "runs" / "plain" / "metrics.json").read_text())["train"]
    weighted = json.loads((here / "runs" / "adult" / "metrics.json").read_text())["train"]
    # Weighing the rarer class up predicts it more often.
    assert weighted["per_class"][">50K"]["recall"] >= unweighted["per_class"][">50K"]["recall"]
    status, out, _ = run(
        ["train", "adult.csv", "--target", "income", "--name", "q", "--epochs", "1", "--no-plots"],
        capsys,
    )
    assert status == 0 and "is '?' a missing value? --na-values '?'" in out  # a hint


@pytest.mark.parametrize(
    "name, text, flags",
    [
        ("semicolons.csv", "a;b;y\n" + "".join(f"{i}.5;{i % 3};{i % 2}\n" for i in range(30)), []),
        (
            "commas.csv",
            "a;b;y\n" + "".join(f"{i},5;{i % 3};{i % 2}\n" for i in range(30)),
            ["--decimal", ","],
        ),
        ("tabs.tsv", "a\tb\ty\n" + "".join(f"{i}.25\t{i % 3}\t{i % 2}\n" for i in range(30)), []),
    ],
)
def test_other_separators_and_decimal_points_train(here, capsys, name, text, flags):
    (here / name).write_text(text)
    status, out, err = run(
        ["train", name, "--name", name, "--epochs", "2", "--no-plots", *flags], capsys
    )
    assert status == 0, err
    assert re.search(r"^a\s+numbers\s", out, re.MULTILINE) and re.search(r"^b\s+numbers", out, re.M)


def test_a_utf16_file_and_a_parquet_file_train(here, capsys):
    pd = pytest.importorskip("pandas")
    text = (here / "titanic.csv").read_text()
    (here / "utf16.csv").write_text(text, encoding="utf-16")
    assert (
        main(
            [
                "train",
                "utf16.csv",
                "--target",
                "Survived",
                "--name",
                "u",
                "--epochs",
                "2",
                "-q",
                "--no-plots",
            ]
        )
        == 0
    )
    pd.read_csv(here / "titanic.csv").to_parquet(here / "titanic.parquet")
    assert (
        main(
            [
                "train",
                "titanic.parquet",
                "--target",
                "Survived",
                "--name",
                "p",
                "--epochs",
                "2",
                "-q",
                "--no-plots",
            ]
        )
        == 0
    )
    assert main(["evaluate", "runs/p"]) == 0
    capsys.readouterr()


def test_class_weights_by_hand():
    from ldnn import ConfigurationError
    from ldnn.data.class_weights import class_weights
    from ldnn.data.datasets import Dataset

    data = Dataset(
        "d",
        np.zeros((1, 4)),
        np.array([[0, 0, 0, 1]]),
        None,
        None,
        task="classification",
        classes=["a", "b"],
    )
    np.testing.assert_allclose(class_weights(data, "balanced"), [4 / 6] * 3 + [2])  # m/(K m_k)
    np.testing.assert_allclose(class_weights(data, {"b": 3.0}), [1, 1, 1, 3])
    assert class_weights(data, "") is None
    with pytest.raises(ConfigurationError, match=r"\['z'\], which are not classes"):
        class_weights(data, {"z": 2.0})


def test_the_python_examples_of_docs_data_md_run(here, capsys):
    pytest.importorskip("pandas")
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[1] / "docs" / "data.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", doc, re.S)
    assert len(blocks) == 2
    namespace = {}
    for block in blocks:  # the second goes on from the first's names
        exec(compile(block, "docs/data.md", "exec"), namespace)
    assert namespace["X"].shape == (891, len(namespace["encoding"].feature_names))
    assert "PassengerId dropped an ID" in capsys.readouterr().out


def test_an_unexportable_preparation_is_refused(here):
    pytest.importorskip("onnx")
    from ldnn.onnx import OnnxExportError, to_onnx

    network = DeepNetwork.load(here / "runs" / "titanic" / "model.npz")
    rules = network.metadata["data"]["columns"]["rules"]
    renamed = next(r for r in rules if r["name"] == "Pclass")
    renamed["name"] = "label"  # the name of the graph's own output
    with pytest.raises(OnnxExportError, match="column 'label' has the name of a tensor"):
        to_onnx(network)
    renamed["name"], renamed["kind"] = "Pclass", "bucketed"  # a rule ldnn does not know
    with pytest.raises(OnnxExportError, match="cannot be exported.*'Pclass' is damaged"):
        to_onnx(network)


def test_predict_on_the_test_part_of_the_training_file(here, capsys):
    status, out, _ = run(
        ["predict", "runs/titanic", "titanic.csv", "--part", "test", "--id-column", "PassengerId"],
        capsys,
    )
    assert status == 0 and len(out.splitlines()) == 1 + 178
