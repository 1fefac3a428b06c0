"""``ldnn playground``'s uploaded CSV: kept in the session's own folder, read and encoded
by ``ldnn train``'s own path, trained on with the target the page chooses (classes or a
regression, any number of features, text columns one-hot), drawn in the plane of the
first two principal components, exported as ``ldnn train`` reruns it; and bad uploads
refused with one 4xx naming the field. The page itself in headless Chromium."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import numpy as np
import pytest

from ldnn.cli import main
from ldnn.playground import MAX_BODY, SECURITY, PlaygroundApp, Session
from ldnn.playground.plane import projection
from ldnn.playground.upload import store
from ldnn.serve.server import AppServer
from test_playground import (
    browser_page,
    control,
    frames,
    request,
    server,  # noqa: F401 - the fixture
    wait_for,
)

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOT = ROOT / "docs" / "playground" / "upload.png"


def table(m: int = 240, seed: int = 0) -> str:
    """A CSV of three numeric features, a text one and a class target (yes/no) that
    depends on two of them, and a numeric column to take as a regression target."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(m, 3))
    colour = np.where(rng.random(m) < 0.5, "red", "blue")
    label = np.where(X[:, 0] + (colour == "red") - 0.5 * X[:, 1] > 0.3, "yes", "no")
    price = 2.0 * X[:, 0] - X[:, 2] + rng.normal(scale=0.1, size=m)
    lines = ["width,height,depth,colour,price,label"]
    lines += [
        f"{a:.5f},{b:.5f},{c:.5f},{k},{p:.5f},{y}"
        for (a, b, c), k, p, y in zip(X, colour, price, label, strict=True)
    ]
    return "\n".join(lines) + "\n"


def upload(port, body: bytes, expect=200) -> dict:
    status, headers, answer = request(
        port, "POST", "/upload", body, headers={"Content-Type": "text/csv"}
    )
    assert status == expect, answer
    assert headers["Content-Security-Policy"] == "default-src 'self'"
    return json.loads(answer)


def test_an_uploaded_csv_trains_through_ldnn_train_s_own_preparation(server, tmp_path):  # noqa: F811
    port, session = server
    answer = upload(port, table().encode())
    assert answer["columns"] == ["width", "height", "depth", "colour", "price", "label"]
    assert answer["rows"] == 240 and answer["target"] == "label"
    # kept in the session's own folder, under a name of its making
    assert session.upload.path.parent == session.folder
    settings = {"dataset": "upload", "upload": answer["upload"], "target": "label"}
    settings |= {"learning_rate": 0.3, "layers": [6]}
    state = control(port, {"action": "set", "settings": settings})
    assert state["settings"]["output"] == "sigmoid" and state["upload"]["upload"] == 1
    # every column but the target, the text one one-hot: n[0] = 4 + 2
    assert session.network.layer_dims == (6, 6, 1)
    assert control(port, {"action": "play"})["playing"]
    seen = frames(port, 8.0, until=lambda f: f["epoch"] >= 30)
    frame = seen[-1]
    costs = frame["curves"]["train"]
    assert frame["epoch"] >= 30 and costs[-1] < 0.8 * costs[0]
    names = frame["feature_names"]
    assert names == ["width", "height", "depth", "colour=blue", "colour=red", "price"]
    assert (
        frame["plane"]["axes"] == ["PC1", "PC2"]
        and "principal components" in frame["plane"]["note"]
    )
    assert len(frame["points"]["train"]) == 168 and len(frame["points"]["test"]) == 72
    assert len(frame["units"][0]["maps"]) == 6 and len(frame["weights"]) == 2
    control(port, {"action": "pause"})
    # the course view: the notes' X, the text column's one-hot rows written out
    status, _, body = request(port, "POST", "/course", {"m": 4})
    assert status == 200, body
    X = np.array(json.loads(body)["arrays"][0]["values"])
    assert X.shape == (6, 4) and set(np.unique(X[3:5])) <= {0.0, 1.0}
    assert (X[3:5].sum(axis=0) == 1).all()
    status, _, body = request(port, "POST", "/gradcheck", {"examples": 4})
    assert status == 200 and json.loads(body)["n_parameters"] == 6 * 6 + 6 + 6 + 1
    # the export reruns as ldnn train: the upload's bytes as data.csv, its target named
    for name in ("config.toml", "data.csv"):
        status, _, body = request(port, "GET", f"/export/{name}")
        assert status == 200
        (tmp_path / name).write_bytes(body)
    assert (tmp_path / "data.csv").read_text() == table()
    assert 'target = "label"' in (tmp_path / "config.toml").read_text()
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        argv = ["train", "data.csv", "--config", "config.toml", "--runs-dir", "runs"]
        assert main([*argv, "--name", "again", "--no-plots", "-q", "--threads", "1"]) == 0
    finally:
        os.chdir(cwd)
    # Another target: a regression, its output linear, the surface in its units.
    state = control(port, {"action": "set", "settings": {"target": "price"}})
    # (the label now a feature: n[0] = 3 + 2 + 2)
    assert state["settings"]["output"] == "linear" and session.network.layer_dims[0] == 7
    assert session.call(session.frame)["surface"]["kind"] == "value"


def test_an_upload_s_columns_left_out_and_its_task_are_ldnn_train_s(server, tmp_path):  # noqa: F811
    port, session = server
    number = upload(port, table().encode())["upload"]
    settings = {"dataset": "upload", "upload": number, "target": "label", "layers": [3]}
    settings |= {"drop": ["colour", "price", "label"]}  # (the target: never a feature)
    state = control(port, {"action": "set", "settings": settings})
    assert state["settings"]["drop"] == ["colour", "price"]
    assert session.network.layer_dims == (3, 3, 1)
    assert session.built.dataset.feature_names == ["width", "height", "depth"]
    status, _, body = request(port, "GET", "/export/config.toml")
    assert status == 200 and 'drop = ["colour", "price"]' in body.decode()
    for drop, said in (
        (["colour", "shape"], "'shape' is not a column of the upload"),
        (["width", "height", "depth", "colour", "price"], "keep at least one feature"),
        ("colour", "drop must be a list"),
    ):
        document = {"action": "set", "settings": {"drop": drop}}
        answer = control(port, document, expect=400)
        assert answer["field"] == "drop" and said in answer["message"], answer
    assert session.settings["drop"] == ["colour", "price"]
    # The task: auto lets the target's values decide (a few whole numbers: classes);
    # regression asks for a linear output on the same column.
    rng = np.random.default_rng(2)
    points = rng.normal(size=(90, 2))
    lines = ["a,b,k"] + [f"{x:.4f},{y:.4f},{int(x > 0) + int(y > 0)}" for x, y in points]
    number = upload(port, ("\n".join(lines) + "\n").encode())["upload"]
    settings = {"dataset": "upload", "upload": number, "target": "k", "drop": [], "task": "auto"}
    state = control(port, {"action": "set", "settings": settings})
    assert state["settings"]["output"] == "softmax" and session.network.layer_dims[-1] == 3
    state = control(port, {"action": "set", "settings": {"task": "regression"}})
    assert state["settings"]["output"] == "linear" and session.network.layer_dims[-1] == 1
    answer = control(port, {"action": "set", "settings": {"task": "ranking"}}, expect=400)
    assert answer["field"] == "task" and "auto, classification, regression" in answer["message"]


def test_an_upload_s_missing_marks_and_decimal_comma_are_ldnn_train_s(server):  # noqa: F811
    port, session = server
    rng = np.random.default_rng(4)
    rows = ["width,size,label"] + [
        f"{'?' if k % 25 == 3 else f'{w:.3f}'},{s:.2f},{'yes' if w > 0 else 'no'}"
        for k, (w, s) in enumerate(rng.normal(size=(200, 2)))
    ]
    number = upload(port, ("\n".join(rows) + "\n").encode())["upload"]
    settings = {"dataset": "upload", "upload": number, "target": "label"}
    answer = control(port, {"action": "set", "settings": settings}, expect=400)
    assert "--na-values '?'" in answer["message"], answer
    state = control(port, {"action": "set", "settings": {**settings, "na_values": ["?"]}})
    assert state["settings"]["na_values"] == ["?"] and session.network.layer_dims[0] == 2
    status, _, body = request(port, "GET", "/export/config.toml")
    assert status == 200 and 'na_values = ["?"]' in body.decode()
    # numbers written with a decimal comma (and ; between cells): read as asked
    rows = ["a;b;y"] + [
        f"{a:.3f};{b:.2f};{int(a > b)}".replace(".", ",") for a, b in rng.normal(size=(150, 2))
    ]
    body = ("\n".join(rows) + "\n").encode()
    answer = upload(port, body, expect=400)
    assert answer["field"] == "file" and "decimal comma" in answer["message"], answer
    control(port, {"action": "set", "settings": {"dataset": "xor", "decimal": ","}})
    number = upload(port, body)["upload"]
    settings = {"dataset": "upload", "upload": number, "target": "y", "na_values": []}
    state = control(port, {"action": "set", "settings": settings})
    assert state["settings"]["decimal"] == "," and session.network.layer_dims[0] == 2
    status, _, body = request(port, "GET", "/export/config.toml")
    assert 'decimal = ","' in body.decode()
    for key, value, said in (
        ("na_values", "?", "na_values must be a list"),
        ("decimal", ";", "decimal must be one of ., ,"),
    ):
        answer = control(port, {"action": "set", "settings": {key: value}}, expect=400)
        assert answer["field"] == key and said in answer["message"], answer


def test_the_projection_is_the_first_two_principal_components():
    rng = np.random.default_rng(1)
    # Most of the variance along (1, 1, 0) / sqrt 2, then along (0, 0, 1).
    X = np.outer([1, 1, 0], rng.normal(size=500)) * 3 + np.outer([0, 0, 1], rng.normal(size=500))
    X += rng.normal(size=(3, 500)) * 0.01
    plane = projection(X, ["a", "b", "c"])
    assert np.allclose(np.abs(plane.basis[:, 0]), [2**-0.5, 2**-0.5, 0], atol=0.01)
    assert np.allclose(np.abs(plane.basis[:, 1]), [0, 0, 1], atol=0.01)
    # a grid point maps back into the plane and projects onto itself
    X_grid = plane.inputs(5)
    P = plane.coordinates(X_grid)
    assert np.allclose(plane.mean + plane.basis @ P, X_grid)
    assert np.isclose(np.abs(P).max(), plane.extent)
    two = projection(X[:2], ["a", "b"])  # two inputs: their own plane
    assert np.array_equal(two.basis, np.eye(2)) and "plane of the 2 inputs" in two.note


@pytest.mark.parametrize(
    "body, field, said",
    [
        (b"", "file", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "file", "not a CSV"),
        (b"width,label\n", "file", "no data rows"),
        (b"onlyone\n1\n2\n", "file", "1 column ('onlyone')"),
        (b"width,label\n1,yes\ninf,no\n", "file", "column 'width' holds inf"),
        (b"width,label\n1,2,3\n4\n", "file", "cannot be read as CSV"),
    ],
)
def test_a_bad_upload_is_a_400_naming_the_field(server, body, field, said):  # noqa: F811
    port, session = server
    answer = upload(port, body, expect=400)
    assert answer["field"] == field and said in answer["message"], answer
    assert answer["error_code"] == "BAD_REQUEST" and str(session.folder) not in answer["message"]
    assert session.upload is None and not list(session.folder.glob("upload-*"))


def test_a_bad_target_is_a_400_naming_it_and_leaves_the_session_as_it_was(server):  # noqa: F811
    port, session = server
    number = upload(port, table().encode())["upload"]
    before = session.network
    for settings, field, said in (
        ({"target": "colour_name"}, "target", "not a column of the upload"),
        ({"upload": number + 5}, "upload", "no longer kept"),
    ):
        document = {"action": "set", "settings": {"dataset": "upload", **settings}}
        answer = control(port, document, expect=400)
        assert answer["field"] == field and said in answer["message"]
    # a target with a missing value: ldnn train's own refusal, naming the column
    number = upload(port, b"a,b,y\n1,2,3\n4,5,\n6,7,8\n9,1,2\n3,3,3\n")["upload"]
    document = {"action": "set", "settings": {"dataset": "upload", "upload": number}}
    answer = control(port, document, expect=400)
    assert answer["field"] == "target" and "target column 'y' is missing" in answer["message"]
    assert session.network is before and session.settings["dataset"] == "xor"
    # no upload at all
    fresh = Session()
    try:
        with pytest.raises(Exception, match="no CSV has been uploaded"):
            fresh.control({"action": "set", "settings": {"dataset": "upload"}})
    finally:
        fresh.close()


def test_an_upload_over_the_limit_is_a_413(tmp_path):
    session = Session()
    app = PlaygroundApp(session, None, max_upload=1000)
    httpd = AppServer(app, "127.0.0.1", 0, max_body=app.max_body, headers=SECURITY)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.1})
    thread.start()
    try:
        port = httpd.server_address[1]
        answer = upload(port, table(100).encode(), expect=413)
        assert answer["error_code"] == "REQUEST_LIMIT_EXCEEDED" and "1,000" in answer["message"]
        assert upload(port, table(5).encode())["rows"] == 5
    finally:
        httpd.shutdown()
        thread.join()
        httpd.server_close()
        session.close()
    assert MAX_BODY >= 1024 * 1024  # the default server reads an upload of megabytes


def test_stored_uploads_are_the_session_s_own_files(tmp_path):
    kept = store(b"a,b\n1,2\n3,4\n", tmp_path, 3)
    assert kept.path == tmp_path / "upload-3.csv" and kept.columns == ("a", "b")
    assert kept.describe()["target"] == "b"


def test_uploading_a_csv_through_the_page_in_headless_chromium(server, tmp_path):  # noqa: F811
    port, session = server
    path = tmp_path / "shapes.csv"
    path.write_text(table(400))
    url, viewport = f"http://127.0.0.1:{port}/", {"width": 1400, "height": 820}
    with browser_page(url, ("status of 400",), viewport=viewport) as page:
        wait_for(lambda: page.text_content("#layer-dims") != "")
        page.select_option("#learning_rate", "0.3")
        wait_for(lambda: session.network.hyperparameters.learning_rate == 0.3)
        page.set_input_files("#upload-file", str(path))
        wait_for(lambda: session.settings["dataset"] == "upload")
        assert session.settings["target"] == "label" and session.network.layer_dims[0] == 6
        wait_for(lambda: "principal components" in page.text_content("#plane-note"))
        assert page.input_value("#target") == "label"
        # a column's box unchecked leaves it out (ldnn train --drop); the target's is off
        assert page.is_disabled('#upload-columns input[value="label"]')
        page.uncheck('#upload-columns input[value="colour"]')
        wait_for(lambda: session.settings["drop"] == ["colour"])
        wait_for(lambda: session.network.layer_dims[0] == 4)
        page.check('#upload-columns input[value="colour"]')
        wait_for(lambda: session.network.layer_dims[0] == 6)
        # the reading options: missing marks (comma-separated) and the decimal point
        page.fill("#na_values", "?, n/a")
        page.dispatch_event("#na_values", "change")
        wait_for(lambda: session.settings["na_values"] == ["?", "n/a"])
        wait_for(lambda: page.input_value("#na_values") == "?,n/a")
        page.click("#play")
        wait_for(lambda: int(page.text_content("#epoch")) >= 40, seconds=20)
        costs = session.curves.train
        assert costs[-1] < 0.8 * costs[0]
        page.click("#play")
        wait_for(lambda: not session.playing)
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOT))
        # choosing another target trains a regression on it
        page.select_option("#target", "price")
        wait_for(lambda: session.settings["target"] == "price")
        assert session.settings["output"] == "linear"
        # a bad upload: the page says what the server said
        bad = tmp_path / "bad.csv"
        bad.write_text("onlyone\n1\n2\n")
        page.set_input_files("#upload-file", str(bad))
        wait_for(lambda: page.text_content("#message").startswith("file: the upload has 1 column"))


def test_an_upload_of_too_many_inputs_is_refused_naming_the_file(monkeypatch):
    monkeypatch.setattr("ldnn.playground.upload.MAX_INPUTS", 5)
    session = Session()
    try:
        number = session.receive(table().encode())["upload"]
        with pytest.raises(Exception, match=r"n\[0\] = 6 inputs") as caught:
            session.control({"action": "set", "settings": {"dataset": "upload", "upload": number}})
        assert caught.value.field == "file" and session.settings["dataset"] == "xor"
    finally:
        session.close()
