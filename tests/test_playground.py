"""``ldnn playground``: a real server on 127.0.0.1 (port 0) over a real session; its
page and static files, path traversal, the event stream while training, the controls
(play, α while running, layers, a weight, one step), the exports retrained by ``ldnn
train`` to the same bits, the course view (ldnn's own forward and backward on the
current mini-batch, the very batch the next step trains on) and the gradient check, bad
values and bodies, SIGTERM on the command, and the page
itself in headless Chromium where Playwright and Chromium are installed.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from ldnn import DeepNetwork
from ldnn.cli import main
from ldnn.cli.playground import hierarchy_recipe, parity_constructions
from ldnn.core.losses import example_weights
from ldnn.core.propagation import backward, forward
from ldnn.core.workspace import Workspace
from ldnn.experiments import feature_hierarchy
from ldnn.experiments.depth_vs_width import and_or, counting, deep_xor_tree, exact_errors, size
from ldnn.onnx import to_onnx
from ldnn.playground import MAX_BODY, SECURITY, PlaygroundApp, Session
from ldnn.playground.course import current_batch, walk
from ldnn.serve.server import AppServer

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOT = ROOT / "docs" / "playground" / "playground.png"
#: The parity page's networks, as ldnn playground gives them.
PARITY = parity_constructions()
COURSE_SCREENSHOT = ROOT / "docs" / "playground" / "course-view.png"


@pytest.fixture
def server():
    """(port, session): a fresh session served on 127.0.0.1, a free port."""
    session = Session()
    httpd = AppServer(
        PlaygroundApp(session, PARITY, to_onnx=to_onnx),
        "127.0.0.1",
        0,
        max_body=MAX_BODY,
        headers=SECURITY,
    )
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.1})
    thread.start()
    try:
        yield httpd.server_address[1], session
    finally:
        httpd.shutdown()
        thread.join()
        httpd.server_close()
        session.close()


@contextlib.contextmanager
def serving(app: PlaygroundApp):
    """(port, app): ``app`` served on 127.0.0.1 by a server thread, closed after."""
    httpd = AppServer(app, "127.0.0.1", 0, max_body=MAX_BODY, headers=SECURITY)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.1})
    thread.start()
    try:
        yield httpd.server_address[1], app
    finally:
        httpd.shutdown()
        thread.join()
        httpd.server_close()
        app.close()
        app.session.close()


@pytest.fixture
def parity():
    """(port, app): a fresh playground's app served on 127.0.0.1, for the parity page."""
    with serving(PlaygroundApp(Session(), PARITY)) as served:
        yield served


def request(port, method, path, body=None, headers=None):
    """(status, headers, body bytes) of one request."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    try:
        if isinstance(body, dict | list):
            body = json.dumps(body).encode()
            headers = {"Content-Type": "application/json", **(headers or {})}
        connection.request(method, path, body=body, headers=headers or {})
        answer = connection.getresponse()
        return answer.status, dict(answer.getheaders()), answer.read()
    finally:
        connection.close()


def control(port, document, expect=200) -> dict:
    status, _, body = request(port, "POST", "/control", document)
    assert status == expect, body
    return json.loads(body)


def frames(port, seconds: float, until=lambda frame: False):
    """The frames /events sends for up to ``seconds`` (or until ``until(frame)``)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    connection.request("GET", "/events")
    answer = connection.getresponse()
    assert answer.status == 200
    assert answer.getheader("Content-Type") == "text/event-stream"
    found, end = [], time.monotonic() + seconds
    try:
        while time.monotonic() < end:
            line = answer.fp.readline()
            if line.startswith(b"data: "):
                found.append(json.loads(line[6:]))
                if until(found[-1]):
                    break
    finally:
        connection.close()
    return found


def wait_for(predicate, seconds: float = 10.0):
    end = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.02)


def test_the_page_and_its_files_load_with_a_content_security_policy(server):
    port, _ = server
    status, headers, body = request(port, "GET", "/")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert headers["Content-Security-Policy"] == "default-src 'self'"
    assert b"/static/playground.js" in body and b"http" not in body.lower().replace(b"http-", b"")
    for name, kind in (("playground.js", "text/javascript"), ("playground.css", "text/css")):
        status, headers, body = request(port, "GET", f"/static/{name}")
        assert status == 200 and headers["Content-Type"].startswith(kind) and body
        assert headers["Content-Security-Policy"] == "default-src 'self'"
        assert b"http://" not in body and b"https://" not in body  # nothing from elsewhere


@pytest.mark.parametrize(
    "path",
    [
        "/static/../server.py",
        "/static/%2e%2e/server.py",
        "/static/..%2fsession.py",
        "/%2e%2e/%2e%2e/pyproject.toml",
        "/../../pyproject.toml",
        "/static//etc/passwd",
        "/etc/passwd",
        "/static/",
        "/static/__init__.py",
    ],
)
def test_no_file_outside_the_static_names_is_served(server, path):
    status, headers, body = request(server[0], "GET", path)
    assert status == 404 and json.loads(body)["error_code"] == "ENDPOINT_NOT_FOUND"


def test_play_on_xor_sends_frames_whose_epoch_rises_and_cost_falls(server):
    port, _ = server
    control(port, {"action": "set", "settings": {"dataset": "xor", "learning_rate": 0.3}})
    assert control(port, {"action": "play"})["playing"]
    seen = frames(port, 4.0, until=lambda f: f["epoch"] >= 40)
    epochs = [f["epoch"] for f in seen]
    assert epochs == sorted(epochs) and epochs[-1] >= 40
    costs = seen[-1]["curves"]["train"]
    assert costs[-1] < 0.8 * costs[0]
    frame = seen[-1]
    assert frame["layer_dims"] == [2, 4, 4, 1] and len(frame["units"]) == 4
    assert [w["shape"] for w in frame["weights"]] == [[4, 2], [4, 4], [1, 4]]
    assert frame["surface"]["kind"] == "probability"
    assert len(base64.b64decode(frame["surface"]["grids"][0])) == 40 * 40  # a byte a point


def test_alpha_changes_while_training_goes_on(server):
    port, session = server
    control(port, {"action": "play"})
    wait_for(lambda: session.state()["epoch"] >= 3)
    state = control(port, {"action": "set", "settings": {"learning_rate": 0.3}})
    assert state["playing"] and state["epoch"] >= 3 and state["changed_live"]
    assert session.network.hyperparameters.learning_rate == 0.3
    before = state["epoch"]
    wait_for(lambda: session.state()["epoch"] >= before + 3)
    assert len(session.curves.train) >= before + 3  # the same curve goes on


def test_changing_the_layers_starts_a_new_network(server):
    port, session = server
    for _ in range(2):
        control(port, {"action": "step", "unit": "epoch"})
    state = control(port, {"action": "set", "settings": {"layers": [3, 5, 2]}})
    assert state["epoch"] == 0 and "new network" in state["message"]
    assert session.network.layer_dims == (2, 3, 5, 2, 1)
    assert state["settings"]["activations"] == ["tanh", "tanh", "tanh"]  # the last one's


def test_editing_a_weight_sets_it_in_the_network(server):
    port, session = server
    control(port, {"action": "weight", "layer": 2, "row": 3, "column": 1, "value": -1.25})
    assert session.network.parameters["W2"][3, 1] == -1.25
    assert control(port, {"action": "step", "unit": "batch"})["edited"]
    assert "edited by hand" in request(port, "GET", "/export/config.toml")[2].decode()


def test_editing_a_bias_sets_it_in_the_network(server):
    port, session = server
    control(port, {"action": "weight", "parameter": "b", "layer": 3, "row": 0, "value": 0.5})
    assert session.network.parameters["b3"][0, 0] == 0.5
    frame = session.call(session.frame)
    assert frame["weights"][2]["b"] == [0.5]
    for document, field in (
        ({"parameter": "b", "layer": 1, "row": 0, "column": 1}, "column"),
        ({"parameter": "b", "layer": 1, "row": 4}, "row"),
        ({"parameter": "Z", "layer": 1, "row": 0}, "parameter"),
    ):
        answer = control(port, {"action": "weight", "value": 1.0, **document}, expect=400)
        assert answer["field"] == field


def test_a_step_is_one_mini_batch_and_an_epoch_step_ends_the_epoch(server):
    port, session = server
    m = session.built.dataset.X_train.shape[1]
    batches = -(-m // session.settings["batch_size"])
    W1 = session.network.parameters["W1"].copy()
    state = control(port, {"action": "step", "unit": "batch"})
    assert (state["epoch"], state["step"]) == (0, 1)
    assert not np.array_equal(W1, session.network.parameters["W1"])
    for k in range(2, batches):
        assert control(port, {"action": "step"})["step"] == k
    state = control(port, {"action": "step"})
    assert (state["epoch"], state["step"]) == (1, 0)
    state = control(port, {"action": "step", "unit": "batch"})
    state = control(port, {"action": "step", "unit": "epoch"})
    assert (state["epoch"], state["step"]) == (2, 0)


SPIRAL = {"dataset": "spiral", "layers": [6, 3], "optimizer": "adam", "learning_rate": 0.01}
#: Batch norm, a cosine schedule with warmup and early stopping on a validation part: the
#: patience runs out well before the 60 epochs, and the config must anneal over all 60
#: (to stop at the same epoch), not over those trained.
NORMALISED = {
    **SPIRAL,
    "learning_rate": 0.03,
    "stop_after": 60,
    "batch_norm": True,
    "lr_schedule": "cosine",
    "warmup_epochs": 3,
    "early_stopping": 4,
    "validation_split": 0.25,
}


@pytest.mark.parametrize(
    "settings, ended",
    [({**SPIRAL, "stop_after": 6, "keep_prob": 0.9, "l1": 0.01}, False), (NORMALISED, True)],
    ids=["dropout-l1", "batch-norm-cosine-early-stopping"],
)
def test_the_export_retrained_by_ldnn_train_gives_the_same_parameters(
    server, tmp_path, settings, ended
):
    port, session = server
    # Bit for bit at one thread count: the session trains at the one the retraining takes
    # (BLAS kernels may round otherwise at another count).
    with threadpool_limits(1):
        control(port, {"action": "set", "settings": settings})
        control(port, {"action": "step", "unit": "batch"})  # pauses and steps change nothing
        control(port, {"action": "step", "unit": "epoch"})
        control(port, {"action": "play"})
        wait_for(lambda: not session.playing and session.network.epochs_trained > 1)
        stop_after = settings["stop_after"]
        assert (session.network.epochs_trained < stop_after) == ended
        assert (session.state()["ended"] is not None) == ended
        for name in ("config.toml", "data.csv", "model.npz"):
            status, headers, body = request(port, "GET", f"/export/{name}")
            assert status == 200 and "attachment" in headers["Content-Disposition"]
            (tmp_path / name).write_bytes(body)
        status, _, command = request(port, "GET", "/export/command")
        assert command.decode().split() == ["ldnn", "train", "data.csv", "--config", "config.toml"]
        argv = [*command.decode().split()[1:], "--threads", "1", "--runs-dir", "runs"]
        cwd = os.getcwd()
        os.chdir(tmp_path)
        try:
            assert main([*argv, "--name", "again", "--no-plots", "-q"]) == 0
        finally:
            os.chdir(cwd)
    config = (tmp_path / "config.toml").read_text()
    assert "not this session's exact history" not in config  # nothing it cannot replay
    retrained = np.load(tmp_path / "runs" / "again" / "model.npz", allow_pickle=False)
    exported = np.load(tmp_path / "model.npz", allow_pickle=False)
    keys = sorted(session.network.parameters)  # gamma, beta, mean and var with batch norm
    assert ("gamma1" in keys) == settings.get("batch_norm", False) and len(keys) >= 6
    for key in keys:
        assert np.array_equal(retrained[key], exported[key]), key
        assert np.array_equal(exported[key], session.network.parameters[key]), key
    metrics = json.loads((tmp_path / "runs" / "again" / "metrics.json").read_text())
    hp = session.network.hyperparameters
    if ended:  # the same run: stopped by its patience at the same epoch, the same best one
        assert hp.batch_norm == (True, True) and hp.lr_schedule == "cosine"
        assert metrics["stop_reason"] == "early stopping"
        assert metrics["epochs_run"] == session.network.epochs_trained
        assert metrics["best_epoch"] == session.network.epochs_trained - 1 - hp.early_stopping
        assert "early stopping" in session.state()["ended"]
        assert "batch_norm = [true, true]" in config and 'lr_schedule = "cosine"' in config
    else:  # L1's lambda_1 reaches the network and the export
        assert hp.l1 == 0.01 and "\nl1 = 0.01\n" in config
    # The ONNX graph answers as ldnn predict does on the model file, raw columns in.
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    status, _, graph = request(port, "GET", "/export/model.onnx")
    assert status == 200
    out = tmp_path / "predicted.csv"
    assert (
        main(["predict", str(tmp_path / "model.npz"), str(tmp_path / "data.csv"), "-o", str(out)])
        == 0
    )
    import pandas as pd

    expected = pd.read_csv(out)
    data = pd.read_csv(tmp_path / "data.csv")
    onnx_session = ort.InferenceSession(graph, providers=["CPUExecutionProvider"])
    feed = {
        spec.name: data[spec.name].to_numpy(np.float32).reshape(-1, 1)
        for spec in onnx_session.get_inputs()
    }
    probabilities = onnx_session.run(["probabilities"], feed)[0]
    columns = [c for c in expected.columns if c.startswith("p_")]
    np.testing.assert_allclose(probabilities, expected[columns].to_numpy(), atol=1e-5)


#: A cosine schedule over 50 epochs (α = 0.03), and early stopping.
COSINE, PATIENT = {"lr_schedule": "cosine", "stop_after": 50}, {"early_stopping": 5}


@pytest.mark.parametrize(
    "document, field",
    [
        ({"action": "set", "settings": {"learning_rate": -1}}, "learning_rate"),
        ({"action": "set", "settings": {"learning_rate": "fast"}}, "learning_rate"),
        ({"action": "set", "settings": {"l1": -0.5}}, "l1"),
        ({"action": "set", "settings": {"layers": [4, 0]}}, "layers"),
        ({"action": "set", "settings": {"activations": ["swish"]}}, "activations"),
        ({"action": "set", "settings": {"dataset": "../etc"}}, "dataset"),
        ({"action": "set", "settings": {"dataset": "plane", "output": "sigmoid"}}, "output"),
        ({"action": "set", "settings": {"optimizer": "lbfgs"}}, "optimizer"),
        ({"action": "set", "settings": {"features": []}}, "features"),
        ({"action": "set", "settings": {"no_such": 1}}, "no_such"),
        ({"action": "set", "settings": {"batch_norm": "yes"}}, "batch_norm"),
        ({"action": "set", "settings": {"batch_norm": 1}}, "batch_norm"),
        ({"action": "set", "settings": {"lr_schedule": "warp"}}, "lr_schedule"),
        ({"action": "set", "settings": {"lr_schedule": "step", "decay_rate": 1.5}}, "decay_rate"),
        ({"action": "set", "settings": {"lr_schedule": "plateau", "decay_rate": 0}}, "decay_rate"),
        ({"action": "set", "settings": {"decay_rate": -0.1}}, "decay_rate"),
        ({"action": "set", "settings": {"time_interval": 0}}, "time_interval"),
        ({"action": "set", "settings": {"warmup_epochs": 2.5}}, "warmup_epochs"),
        ({"action": "set", "settings": {"lr_patience": True}}, "lr_patience"),
        ({"action": "set", "settings": {"min_learning_rate": float("inf")}}, "min_learning_rate"),
        ({"action": "set", "settings": {"lr_schedule": "cosine"}}, "lr_schedule"),  # no stop
        ({"action": "set", "settings": {**COSINE, "min_learning_rate": 0.1}}, "min_learning_rate"),
        ({"action": "set", "settings": {"early_stopping": -1}}, "early_stopping"),
        ({"action": "set", "settings": {"early_stopping": "5"}}, "early_stopping"),
        ({"action": "set", "settings": {**PATIENT, "validation_split": 0}}, "validation_split"),
        ({"action": "set", "settings": {"validation_split": 0.6}}, "validation_split"),
        ({"action": "fly"}, "action"),
        ({"action": "step", "unit": "week"}, "unit"),
        ({"action": "weight", "layer": 9, "row": 0, "column": 0, "value": 1}, "layer"),
        ({"action": "weight", "layer": 1, "row": 0, "column": 2, "value": 1}, "column"),
        ({"action": "weight", "layer": 1, "row": 0, "column": 0, "value": 1e300}, "value"),
    ],
)
def test_bad_control_values_are_400s_naming_the_field(server, document, field):
    port, session = server
    before = session.network
    answer = control(port, document, expect=400)
    assert answer["field"] == field and answer["error_code"] == "BAD_REQUEST"
    assert session.network is before and session.settings["lr_schedule"] == "constant"


def test_batch_norm_a_schedule_and_early_stopping_are_the_network_s_own(server):
    port, session = server
    changes = {"batch_norm": True, "lr_schedule": "step", "early_stopping": 3}
    state = control(port, {"action": "set", "settings": changes})
    assert "new network" in state["message"]
    # The step schedule's own parameters, and a validation part for early stopping to watch.
    settings = state["settings"]
    assert (settings["decay_rate"], settings["time_interval"], settings["validation_split"]) == (
        0.5,
        100,
        0.2,
    )
    hp = session.network.hyperparameters
    assert hp.batch_norm == (True, True) and hp.early_stopping == 3
    assert (hp.lr_schedule, hp.decay_rate, hp.time_interval, hp.validation_split) == (
        "step",
        0.5,
        100,
        0.2,
    )
    # The validation part is held out of the training part that fit trains on.
    m = session.built.dataset.X_train.shape[1]
    m_val = session.validation[0].shape[1]
    assert session.part.X_train.shape[1] + m_val == m and abs(m_val - 0.2 * m) <= 1
    # A batch-normalised layer: gamma[l] and beta[l] in place of b[l], drawn as such.
    frame = session.call(session.frame)
    assert frame["batch_norm"] == [True, True] and frame["weights"][0]["b"] is None
    assert frame["weights"][0]["gamma"] == [1.0] * 4 and frame["weights"][2]["b"] == [0.0]
    assert len(frame["points"]["validation"]) == m_val
    edit = {"action": "weight", "layer": 1, "row": 0, "value": 1.0}
    answer = control(port, {**edit, "parameter": "b"}, expect=400)
    assert answer["field"] == "parameter" and "gamma[1] and beta[1]" in answer["message"]
    control(port, {"action": "weight", "parameter": "beta", "layer": 2, "row": 1, "value": 0.25})
    assert session.network.parameters["beta2"][1, 0] == 0.25
    # The course view shows it (tests/test_playground_course.py checks its numbers); the
    # gradient check takes it too (gamma and beta with W).
    shown = [a["name"] for a in course(port, {})["arrays"]]
    assert {"Z_norm[1]", "γ[2]", "dβ[1]"} <= set(shown) and "b[1]" not in shown
    checked = course(port, {}, path="/gradcheck")
    assert checked["passed"] and checked["n_parameters"] == 2 * 4 + 8 + 4 * 4 + 8 + 4 + 1
    # Played, the run ends by early stopping: the patience counted from its best epoch.
    control(port, {"action": "set", "settings": {"stop_after": 3000}})
    control(port, {"action": "play"})
    wait_for(lambda: not session.playing, seconds=30)
    state = control(port, {"action": "pause"})
    epochs, history = state["epoch"], session.network.state.history
    assert history.stop_reason == "early stopping" and epochs < 3000
    assert history.best_epoch == epochs - 1 - 3 and f"after epoch {epochs - 3}" in state["ended"]
    assert len(history.val_cost) == epochs and None not in session.curves.validation
    frame = session.call(session.frame)
    assert frame["curves"]["validation"][-1] == history.val_cost[-1]
    # ... and is over: play and steps say so and train no more, until a reset.
    for document in ({"action": "play"}, {"action": "step", "unit": "epoch"}):
        state = control(port, document)
        assert not state["playing"] and state["epoch"] == epochs
        assert "early stopping" in state["message"]
    state = control(port, {"action": "reset"})
    assert state["ended"] is None and state["epoch"] == 0


def test_a_cosine_schedule_anneals_over_the_stop_and_its_change_is_said(server):
    port, session = server
    settings = {"lr_schedule": "cosine", "stop_after": 20, "learning_rate": 0.1}
    state = control(port, {"action": "set", "settings": settings})
    assert state["settings"]["warmup_epochs"] == 10  # cosine's own warmup
    control(port, {"action": "play"})
    wait_for(lambda: not session.playing)
    rates = session.network.state.history.learning_rate
    assert rates[:10] == pytest.approx([0.01 * (t + 1) for t in range(10)])  # the warmup
    assert rates[15] == pytest.approx(0.05 * (1 + np.cos(np.pi * 5 / 10)))
    assert "exact history" not in request(port, "GET", "/export/config.toml")[2].decode()
    state = control(port, {"action": "set", "settings": {"stop_after": 30}})
    assert state["changed_live"] and session.network.hyperparameters.epochs == 30
    config = request(port, "GET", "/export/config.toml")[2].decode()
    assert "a cosine schedule's stop changed while it trained" in config
    assert "anneals α over stop after = 30 epochs; the config's 20 epochs" in config


def course(port, document=None, path="/course", expect=200) -> dict:
    """The answer of POST /course (or /gradcheck) to ``document``."""
    status, _, body = request(port, "POST", path, {} if document is None else document)
    assert status == expect, body
    return json.loads(body)


def test_the_course_view_is_ldnn_s_own_forward_and_backward(server):
    port, session = server
    # dW[l] + (λ/m) W[l] + (λ₁/m) sign(W[l])
    control(port, {"action": "set", "settings": {"lambd": 0.01, "l1": 0.003}})
    assert session.network.hyperparameters.l1 == 0.003
    control(port, {"action": "step", "unit": "batch"})  # the second mini-batch, not the first
    answer = course(port, {"m": 12, "digits": 17})
    network, L = session.network, session.network.L
    m, columns = answer["m"], answer["batch"]["columns"]
    assert m == 12 and answer["batch"]["index"] == 1 and answer["layer_dims"] == [2, 4, 4, 1]
    shown = {a["name"]: a for a in answer["arrays"]}
    value = lambda name: np.array(shown[name]["values"])  # noqa: E731
    # ldnn's own forward and backward, on the same parameters and examples, here.
    hp, parameters = network.hyperparameters, network.parameters
    X, Y = network.check_data(
        session.built.dataset.X_train[:, columns], session.built.dataset.Y_train[..., columns]
    )
    AL, caches = forward(X, parameters, hp.activations)
    workspace = Workspace()
    grads = backward(
        AL, Y, caches, hp.activations, hp.loss, weights=example_weights(m), lambd=0.01,
        l1=0.003, workspace=workspace,
    )  # fmt: skip
    # Z[1] = W[1]·A[0] + b[1], by hand.
    assert np.allclose(value("Z[1]"), parameters["W1"] @ X + parameters["b1"], rtol=0, atol=1e-12)
    assert np.array_equal(value("A[0]"), X)
    for l in range(1, L + 1):
        n, n_prev = network.layer_dims[l], network.layer_dims[l - 1]
        W = parameters[f"W{l}"]
        dZ = workspace.layer(l, W, m).dZ * m  # the notes' dZ: ldnn's carries the 1/m
        for name, expected, notation, shape in (
            (f"dZ[{l}]", dZ, f"(n[{l}], m)", [n, m]),
            (f"dW[{l}]", grads[f"dW{l}"], f"(n[{l}], n[{l - 1}])", [n, n_prev]),
            (f"db[{l}]", grads[f"db{l}"], f"(n[{l}], 1)", [n, 1]),
            (f"dA[{l - 1}]", grads[f"dA{l - 1}"] * m, f"(n[{l - 1}], m)", [n_prev, m]),
            (f"Z[{l}]", caches[l - 1].Z, f"(n[{l}], m)", [n, m]),
            (f"A[{l}]", caches[l - 1].A, f"(n[{l}], m)", [n, m]),
        ):
            entry = shown[name]
            assert entry["shape"] == shape and entry["notation"] == notation, name
            assert entry["formula"].startswith(name.split("[")[0]) and "=" in entry["formula"]
            assert np.allclose(value(name), expected, rtol=0, atol=1e-12), name
        # The notes' formulas hold on the numbers shown.
        A_prev = value(f"A[{l - 1}]")
        dW = value(f"dZ[{l}]") @ A_prev.T / m + 0.01 / m * W + 0.003 / m * np.sign(W)
        assert np.allclose(value(f"dW[{l}]"), dW, rtol=0, atol=1e-12)
        db = value(f"dZ[{l}]").sum(axis=1, keepdims=True) / m
        assert np.allclose(value(f"db[{l}]"), db, rtol=0, atol=1e-12)
    # ... and the hand-worked ones of the notes: sigmoid + cross-entropy, tanh' = 1 - A².
    assert np.allclose(value("dZ[3]"), value("A[3]") - value("Y"), rtol=0, atol=1e-12)
    assert np.allclose(value("dZ[2]"), value("dA[2]") * (1 - value("A[2]") ** 2), atol=1e-12)
    assert shown["dW[2]"]["formula"].startswith("dW[2] = (1/m) dZ[2]·A[1]ᵀ")
    assert "(λ₁/m) sign(W[2]), λ₁ = 0.003" in shown["dW[2]"]["formula"]
    # The notes' order: forward l = 1..L, then Y, dZ[L], and dZ, dW, db, dA[l-1] for l = L..1.
    names = [a["name"] for a in answer["arrays"]]
    assert names[:5] == ["A[0]", "W[1]", "b[1]", "Z[1]", "A[1]"]
    assert names[13:] == ["Y"] + [
        f"{k}[{l if k != 'dA' else l - 1}]" for l in (3, 2, 1) for k in ("dZ", "dW", "db", "dA")
    ]
    rounded = course(port)  # 6 significant digits by default
    assert rounded["digits"] == 6 and len(rounded["arrays"]) == len(names)


def test_the_course_view_shows_the_mini_batch_the_next_step_trains_on(server):
    port, session = server
    lr = session.network.hyperparameters.learning_rate  # plain gradient descent
    for _ in range(2):  # the epoch's first batch, then one of an interrupted epoch
        answer = course(port, {"m": 64, "digits": 17})
        assert answer["m"] == answer["batch"]["size"] == 16
        before = {k: v.copy() for k, v in session.network.parameters.items()}
        control(port, {"action": "step", "unit": "batch"})
        shown = {a["name"]: np.array(a["values"]) for a in answer["arrays"]}
        for l in (1, 2, 3):
            for p in ("W", "b"):
                after = session.network.parameters[f"{p}{l}"]
                expected = before[f"{p}{l}"] - lr * shown[f"d{p}[{l}]"]
                assert np.allclose(after, expected, rtol=0, atol=1e-12), f"{p}{l}"


def test_the_current_batch_of_a_fit_stopped_between_two_epochs():
    # A pause can stop training between two epochs: no epoch is under way, and the next
    # one's shuffle is still to be drawn from the generator.
    rng = np.random.default_rng(3)
    X, Y = rng.normal(size=(2, 12)), (rng.random((1, 12)) > 0.5).astype(float)
    network = DeepNetwork([2, 3, 1], "tanh", output="sigmoid", batch_size=4, dtype="float64")
    network.fit(X, Y, epochs=1)
    polls = iter(range(100))
    network.fit(X, Y, warm_start=True, epochs=2, stop=lambda: next(polls) >= 2)
    assert network.unfinished.position.step == 0 and network.epochs_trained == 2
    batch = current_batch(network, 12)
    assert (batch["epoch"], batch["index"], batch["count"]) == (2, 0, 3)
    columns = batch["columns"]
    walked = {a["name"]: a["values"] for a in walk(network, X[:, columns], Y[:, columns], 0.0)}
    W1 = network.parameters["W1"].copy()
    network.fit(X, Y, warm_start=True, epochs=1, stop=lambda: True)  # one mini-batch
    lr = network.hyperparameters.learning_rate
    assert np.allclose(network.parameters["W1"], W1 - lr * walked["dW[1]"], rtol=0, atol=1e-12)


def test_the_gradient_check_passes_on_the_float64_network(server):
    port, session = server
    control(port, {"action": "step", "unit": "epoch"})
    answer = course(port, {"examples": 8}, path="/gradcheck")
    assert session.network.dtype == np.float64
    assert answer["difference"] < 1e-7 and answer["passed"] and answer["threshold"] == 1e-7
    assert answer["n_parameters"] == 2 * 4 + 4 + 4 * 4 + 4 + 4 + 1 and answer["examples"] == 8


@pytest.mark.parametrize(
    "path, document, field",
    [
        ("/course", {"m": 0}, "m"),
        ("/course", {"m": 65}, "m"),
        ("/course", {"m": True}, "m"),
        ("/course", {"digits": "six"}, "digits"),
        ("/course", {"digits": 18}, "digits"),
        ("/course", {"batch": 1}, "batch"),
        ("/course", [1, 2], "body"),
        ("/gradcheck", {"examples": 0}, "examples"),
        ("/gradcheck", {"examples": 1.5}, "examples"),
    ],
)
def test_bad_course_and_gradcheck_values_are_400s_naming_the_field(server, path, document, field):
    answer = course(server[0], document, path=path, expect=400)
    assert answer["field"] == field and answer["error_code"] == "BAD_REQUEST"


def test_the_course_view_summarises_large_arrays_and_the_check_refuses_large_networks(server):
    port, session = server
    control(port, {"action": "set", "settings": {"layers": [300, 300], "batch_size": 64}})
    answer = course(port, {"m": 64, "digits": 17})
    W2 = session.network.parameters["W2"]
    (entry,) = [a for a in answer["arrays"] if a["name"] == "W[2]"]
    # its first 32 rows and 64 columns, exactly; its summary over all 300 x 300
    assert entry["shape"] == [300, 300] and entry["shown"] == [32, 64]
    assert np.array_equal(np.array(entry["values"]), W2[:32, :64])
    summary = entry["summary"]
    assert summary["min"] == W2.min() and summary["max"] == W2.max()
    assert np.isclose(summary["mean"], W2.mean()) and np.isclose(summary["std"], W2.std())
    (A0,) = [a for a in answer["arrays"] if a["name"] == "A[0]"]
    assert "shown" not in A0 and A0["shape"] == [2, 64]  # small arrays are whole
    assert sum(len(a["values"]) * len(a["values"][0]) for a in answer["arrays"]) <= 60_000
    assert course(port, {}, path="/gradcheck", expect=400)["field"] == "layers"
    control(port, {"action": "set", "settings": {"layers": [2500, 2500]}})
    answer = course(port, {"m": 1}, expect=400)  # 6 million parameters: not walked
    assert answer["field"] == "layers" and "5,000,000" in answer["message"]
    assert request(port, "GET", "/course")[0] == 405


def test_bodies_are_bounded_and_must_be_json(server):
    port, _ = server
    status, headers, body = request(port, "POST", "/control", b"{" + b" " * 70_000 + b"}")
    assert status == 413 and json.loads(body)["error_code"] == "REQUEST_LIMIT_EXCEEDED"
    status, _, body = request(port, "POST", "/control", b"not json")
    assert status == 400 and json.loads(body)["error_code"] == "MALFORMED_REQUEST"
    assert request(port, "GET", "/control")[0] == 405
    assert request(port, "POST", "/events", {})[0] == 404


def test_sigterm_stops_the_command_with_status_0(tmp_path):
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "PYTHONPATH": str(ROOT / "src")}
    process = subprocess.Popen(
        [sys.executable, "-m", "ldnn.cli", "playground", "--port", "0", "--threads", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=tmp_path,
        text=True,
    )
    try:
        line = process.stdout.readline()
        assert "ldnn playground at http://127.0.0.1:" in line, process.stderr.read()
        port = int(line.split("127.0.0.1:")[1].split("/")[0])
        assert request(port, "GET", "/")[0] == 200
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        with contextlib.suppress(ProcessLookupError):
            process.kill()


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@contextlib.contextmanager
def browser_page(url: str, expected_errors=(), **page_options):
    """A page of headless Chromium (the system's, through Playwright) at ``url``; its
    console errors are asserted to be none when the block ends, but those that hold one
    of ``expected_errors`` (the browser's line for a 400 the test asks for). Skips
    without them."""
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="the playwright package is not installed"
    )
    if _chromium() is None:
        pytest.skip("no chromium or chromium-browser on PATH (.ci/run installs it as root)")
    errors = []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=_chromium(), headless=True)
        try:
            page = browser.new_page(**page_options)
            page.on(
                "console",
                lambda m: (
                    errors.append(m.text)
                    if m.type == "error" and not any(e in m.text for e in expected_errors)
                    else None
                ),
            )
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(url)
            yield page
        finally:
            browser.close()
    assert not errors, errors


def test_the_page_in_headless_chromium(server):
    port, session = server
    url, viewport = f"http://127.0.0.1:{port}/", {"width": 1400, "height": 760}
    with browser_page(url, viewport=viewport) as page:
        # (Polled from here: the page's CSP forbids the eval of wait_for_function.)
        wait_for(lambda: page.text_content("#layer-dims") != "")
        page.select_option("#learning_rate", "0.3")
        wait_for(lambda: session.network.hyperparameters.learning_rate == 0.3)
        page.click("#play")
        wait_for(lambda: int(page.text_content("#epoch")) >= 30)
        page.select_option("#learning_rate", "0.1")
        wait_for(lambda: session.network.hyperparameters.learning_rate == 0.1)
        wait_for(lambda: int(page.text_content("#epoch")) >= 60)
        costs = session.curves.train
        assert costs[-1] < 0.8 * costs[0]
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOT))
        # The course view: pause, open it, step through the walk, check the gradient.
        page.click("#play")
        wait_for(lambda: not session.playing)
        # the settings, in the hash (checked once paused: while playing, a frame made
        # before the change may still arrive after the control's answer)
        wait_for(lambda: "learning_rate%22%3A0.1" in page.evaluate("location.hash"))
        page.click("#course-toggle")
        canvases = lambda: page.eval_on_selector_all(  # noqa: E731
            "#course-arrays canvas", "all => all.map(c => c.getAttribute('aria-label'))"
        )
        wait_for(lambda: any(label.startswith("Z[1] (n[1], m)") for label in canvases()))
        page.click("#course-step")
        wait_for(lambda: any(label.startswith("Z[2]") for label in canvases()))
        for _ in range(2):  # forward layer 3, then backward layer 3
            page.click("#course-step")
        wait_for(lambda: any(label.startswith("dZ[") for label in canvases()))
        assert any(label.startswith("dZ[3] (n[3], m) = (1, ") for label in canvases())
        assert page.text_content("#course-arrays").count("dW[3] = (1/m) dZ[3]·A[2]ᵀ") == 1
        page.hover('#course-arrays canvas[aria-label^="dZ[3]"]')
        wait_for(lambda: page.text_content("#tooltip").startswith("dZ[3][0, "))
        page.click("#gradcheck")
        # (After 60 epochs the gradients are small, and central differences near their
        # limit: the verdict may go either way; a fresh network's is checked above.)
        wait_for(lambda: "relative difference" in page.text_content("#gradcheck-result"))
        assert "(37 parameters, 8 examples)" in page.text_content("#gradcheck-result")
        page.screenshot(path=str(COURSE_SCREENSHOT), full_page=True)


EARLY_STOPPING_SCREENSHOT = ROOT / "docs" / "playground" / "early-stopping.png"


def test_batch_norm_a_schedule_and_early_stopping_in_headless_chromium(server):
    port, session = server
    hp = lambda: session.network.hyperparameters  # noqa: E731
    url, viewport = f"http://127.0.0.1:{port}/", {"width": 1400, "height": 1000}
    with browser_page(url, viewport=viewport) as page:
        wait_for(lambda: page.text_content("#layer-dims") != "")
        page.check("#batch_norm")
        wait_for(lambda: hp().batch_norm == (True, True))
        page.select_option("#lr_schedule", "plateau")
        wait_for(lambda: hp().lr_schedule == "plateau")
        # The plateau's own parameters are shown (not step's interval), with its rule, and
        # it holds out a validation part to watch.
        wait_for(lambda: page.is_visible("#lr_patience"))
        assert not page.is_visible("#time_interval")
        assert "validation cost" in page.text_content("#schedule-formula")
        wait_for(lambda: page.input_value("#validation_split") == "0.2")
        for key, value in (("lr_patience", 2), ("early_stopping", 8), ("epochs", 2000)):
            name = "stop_after" if key == "epochs" else key
            page.fill(f"#{name}", str(value))
            page.press(f"#{name}", "Tab")  # a number input's change comes as it loses focus
            wait_for(lambda: getattr(hp(), key) == value)  # noqa: B023 - waited for here
            # ... and for the page to have the server's answer (it puts the settings in the
            # URL's hash, read from the page: page.url is only brought up to date by the
            # next call into the browser), which would otherwise overwrite the next field
            # as it is being filled.
            shown = [f"%22{name}%22%3A{value}{end}" for end in ("%2C", "%7D")]
            wait_for(lambda: any(s in page.evaluate("location.hash") for s in shown))  # noqa: B023
        assert "batch_norm%22%3Atrue" in page.url and "plateau" in page.url
        # The course view shows the batch-normalised layers, and says so.
        page.click("#course-toggle")
        wait_for(lambda: "batch norm: μ[l] and σ²[l]" in page.text_content("#course-note"))
        page.click("#course-toggle")
        page.click("#play")
        wait_for(lambda: "early stopping" in page.text_content("#message"), seconds=30)
        ended = session.state()
        assert ended["ended"] and not ended["playing"] and ended["epoch"] < 2000
        assert session.network.state.history.stop_reason == "early stopping"
        assert session.curves.rate < 0.03  # the plateau schedule lowered α on the way
        wait_for(lambda: int(page.text_content("#epoch")) == ended["epoch"])
        assert "validation" in page.text_content("#costs")
        assert page.text_content("#alpha-now").startswith("α of the last epoch: ")
        page.click("#play")  # the run is over: play says so and trains no more
        wait_for(lambda: page.text_content("#play") == "▶ play")
        assert session.state()["epoch"] == ended["epoch"]
        assert "⟲ reset" in page.text_content("#message")
        page.screenshot(path=str(EARLY_STOPPING_SCREENSHOT), full_page=True)


# -- the parity page ---------------------------------------------------------------------


def test_the_parity_plan_is_the_experiment_s_three_networks_counted(parity):
    port, _ = parity
    status, _, body = request(port, "POST", "/parity/train", {"bits": 4, "epochs": 3, "seed": 1})
    assert status == 200, body
    networks = json.loads(body)["networks"]
    assert list(networks) == ["deep", "wide", "counting"]
    for name, build in (("deep", deep_xor_tree), ("wide", and_or), ("counting", counting)):
        network = build(4)
        hidden_layers, units, parameters, _ = size(network)
        shape = networks[name]
        assert shape["layer_dims"] == list(network.layer_dims)
        assert (shape["hidden_layers"], shape["units"], shape["parameters"]) == (
            hidden_layers,
            units,
            parameters,
        )
        assert shape["hidden_units"] == units - 1
        # the construction's own exact weights, checked on the truth table: none wrong
        assert shape["exact_errors"] == exact_errors(network, 4) == 0
    # the tree: [4, 4, 2, 1], 7 units, 33 parameters; the AND layer: [4, 8, 1], 9 and 49;
    # the counting layer: [4, 4, 1], 5 units, 25 parameters
    assert networks["deep"]["layer_dims"] == [4, 4, 2, 1] and networks["wide"]["units"] == 9
    assert networks["counting"]["layer_dims"] == [4, 4, 1]
    assert networks["counting"]["parameters"] == 25


def test_a_parity_run_trains_both_networks_in_a_thread_and_a_new_one_replaces_it(parity):
    port, app = parity
    run = {"bits": 4, "epochs": 25, "seed": 0}
    assert request(port, "POST", "/parity/train", run)[0] == 200

    def state():
        status, headers, body = request(port, "GET", "/parity/state")
        assert status == 200 and headers["Content-Security-Policy"] == "default-src 'self'"
        return json.loads(body)

    wait_for(lambda: not state()["running"])
    done = state()
    assert done["epochs_done"] == 25 and done["run"]["bits"] == 4
    for name in ("deep", "wide", "counting"):
        curve = done["curves"][name]
        assert len(curve["cost"]) == len(curve["accuracy"]) == 25
        assert all(0.0 <= a <= 1.0 for a in curve["accuracy"])
        assert all(c is not None and c > 0 for c in curve["cost"])
    # A long run, replaced by a short one: the old thread is stopped first.
    request(port, "POST", "/parity/train", {"bits": 10, "epochs": 5000, "seed": 0})
    first = app.parity.thread
    assert request(port, "POST", "/parity/train", {"bits": 3, "epochs": 5})[0] == 200
    assert not first.is_alive()
    wait_for(lambda: not state()["running"])
    done = state()
    assert done["run"]["bits"] == 3 and done["epochs_done"] == 5
    assert done["run"]["networks"]["wide"]["layer_dims"] == [3, 4, 1]


@pytest.mark.parametrize(
    "document, field",
    [
        ({"bits": 1}, "bits"),
        ({"bits": 11}, "bits"),
        ({"bits": "4"}, "bits"),
        ({"bits": 4, "epochs": 0}, "epochs"),
        ({"bits": 4, "epochs": 10**6}, "epochs"),
        ({"bits": 4, "epochs": 2.5}, "epochs"),
        ({"bits": 4, "seed": -1}, "seed"),
        ([4], "bits"),
    ],
)
def test_bad_parity_values_are_400s_naming_the_field(parity, document, field):
    port, app = parity
    status, _, body = request(port, "POST", "/parity/train", document)
    assert status == 400 and json.loads(body)["field"] == field
    assert app.parity.thread is None


def test_the_parity_page_and_its_files_load_with_a_content_security_policy(parity):
    port, _ = parity
    status, headers, body = request(port, "GET", "/parity")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert headers["Content-Security-Policy"] == "default-src 'self'"
    assert b"/static/parity.js" in body and b'href="/"' in body and b"<script>" not in body
    assert b'href="/parity"' in request(port, "GET", "/")[2]
    status, headers, body = request(port, "GET", "/static/parity.js")
    assert status == 200 and headers["Content-Type"].startswith("text/javascript")
    assert headers["Content-Security-Policy"] == "default-src 'self'"
    assert b"http://" not in body and b"https://" not in body and b"eval(" not in body
    status, _, body = request(port, "GET", "/parity/state")
    assert status == 200 and json.loads(body)["run"] is None
    assert request(port, "GET", "/parity/train")[0] == 405


def test_the_parity_page_in_headless_chromium(parity):
    port, app = parity
    with browser_page(f"http://127.0.0.1:{port}/parity") as page:
        page.fill("#bits", "5")
        page.fill("#epochs", "40")
        page.click("#train")
        wait_for(lambda: page.text_content("#epoch") == "40")
        wait_for(lambda: page.get_attribute("#accuracy-chart", "data-curves") == "3")
        assert page.get_attribute("#cost-chart", "data-curves") == "3"
        assert page.text_content('#net-deep dd[data-key="layer_dims"]') == "[5, 5, 3, 2, 1]"
        assert page.text_content('#net-counting dd[data-key="layer_dims"]') == "[5, 5, 1]"
        exact = page.text_content('#net-counting dd[data-key="exact_errors"]')
        assert exact == "0 of 32 inputs wrong"
        assert app.parity.state()["run"]["bits"] == 5


# -- the feature-hierarchy page ----------------------------------------------------------

HIERARCHY_SCREENSHOT = ROOT / "docs" / "playground" / "hierarchy.png"
HIERARCHY_FACES_SCREENSHOT = ROOT / "docs" / "playground" / "hierarchy-faces.png"
#: The experiment's computation, as ldnn playground gives it.
RECIPE = hierarchy_recipe()


@pytest.fixture
def hierarchy():
    """(port, app): a fresh playground's app with the hierarchy page, on 127.0.0.1."""
    with serving(PlaygroundApp(Session(), PARITY, recipe=RECIPE)) as served:
        yield served


def test_the_hierarchy_pictures_are_the_experiment_s_on_the_live_network(hierarchy):
    port, app = hierarchy
    status, headers, body = request(port, "GET", "/hierarchy")
    assert status == 200 and b"/static/hierarchy.js" in body and b"<script>" not in body
    assert headers["Content-Security-Policy"] == "default-src 'self'"
    status, _, body = request(port, "POST", "/hierarchy/train", {"epochs": 6, "seed": 0})
    assert status == 200 and json.loads(body)["hidden"] == [64, 32, 16]

    def state():
        status, _, body = request(port, "GET", "/hierarchy/state")
        assert status == 200
        return json.loads(body)

    wait_for(lambda: not state()["running"], seconds=30)
    done = state()
    assert done["epoch"] == 6 and done["layer_dims"] == [64, 64, 32, 16, 10]
    assert [layer["layer"] for layer in done["layers"]] == [1, 2, 3]
    assert len(done["curves"]["cost"]) == 6 and done["curves"]["test"][-1][0] == 6
    # Layer 2's pictures, again here from the experiment's own functions on the digits.
    from ldnn.data import load_dataset
    from ldnn.data.preparation import standardize

    dataset = load_dataset("digits")
    X = standardize(dataset)[0].X_train
    A = feature_hierarchy.layer_activations(app.hierarchy.network, X)[2]
    shown = done["layers"][1]
    units = [u["unit"] for u in shown["units"]]
    assert units == [int(j) for j in np.argsort(-A.std(axis=1))[: feature_hierarchy.UNITS_SHOWN]]
    j = units[0]
    top = np.argsort(-A[j])[: feature_hierarchy.TOP_K]
    mean = dataset.X_train[:, top].mean(axis=1)
    expected = np.rint(255 * (mean - mean.min()) / (mean.max() - mean.min()))
    assert np.array_equal(
        np.frombuffer(base64.b64decode(shown["units"][0]["top"]), np.uint8), expected
    )
    assert len(base64.b64decode(shown["units"][0]["ascent"])) == 64


@pytest.mark.parametrize(
    "document, field",
    [
        ({"epochs": 0}, "epochs"),
        ({"epochs": 501}, "epochs"),
        ({"seed": -1}, "seed"),
        ({"dataset": "mnist"}, "dataset"),
        ({"dataset": 3}, "dataset"),
        ({"dataset": None}, "dataset"),
    ],
)
def test_bad_hierarchy_values_are_400s_naming_the_field(hierarchy, document, field):
    status, _, body = request(hierarchy[0], "POST", "/hierarchy/train", document)
    assert status == 400 and json.loads(body)["field"] == field


def hierarchy_state(port) -> dict:
    status, _, body = request(port, "GET", "/hierarchy/state")
    assert status == 200
    return json.loads(body)


def trained(port, document) -> dict:
    """The hierarchy page's state once the run ``document`` asks for has ended."""
    status, _, body = request(port, "POST", "/hierarchy/train", document)
    assert status == 200, body
    wait_for(lambda: not hierarchy_state(port)["running"], seconds=30)
    return hierarchy_state(port)


def experiment_probes(network, name: str) -> list[tuple]:
    """(layer, units, train, test) per row of the experiment's probe table, computed here
    from the experiment's own functions on ``network`` as it stands."""
    from ldnn.data import load_dataset
    from ldnn.data.preparation import standardize

    data = standardize(load_dataset(name))[0]
    trains = feature_hierarchy.layer_activations(network, data.X_train)
    tests = feature_hierarchy.layer_activations(network, data.X_test)
    rows = [
        (l, A.shape[0], *feature_hierarchy.probe(A, data.Y_train, B, data.Y_test))
        for l, (A, B) in enumerate(zip(trains, tests, strict=True))
    ]
    own = [network.evaluate(data.X_train, data.Y_train), network.evaluate(data.X_test, data.Y_test)]
    return rows + [(network.L, network.layer_dims[-1], *(s["accuracy"] for s in own))]


def shown_probes(state) -> list[tuple]:
    return [(r["layer"], r["units"], r["train"], r["test"]) for r in state["probes"]["layers"]]


def test_the_hierarchy_probes_are_the_experiment_s_on_the_live_network(hierarchy):
    port, app = hierarchy
    done = trained(port, {"epochs": 4, "seed": 1})
    # The last chunk is always probed: the probes are of the network the run ended with.
    assert done["probes"]["epoch"] == done["epoch"] == 4
    assert shown_probes(done) == experiment_probes(app.hierarchy.network, "digits")
    rows = done["probes"]["layers"]
    assert [r["layer"] for r in rows] == [0, 1, 2, 3, 4]
    assert [r["units"] for r in rows] == done["layer_dims"] == [64, 64, 32, 16, 10]
    assert [bool(r.get("output")) for r in rows] == [False] * 4 + [True]


def test_the_hierarchy_faces_choice_trains_on_25x25_images(hierarchy):
    port, app = hierarchy
    choices = {c["name"]: c for c in hierarchy_state(port)["datasets"]}
    assert list(choices) == ["digits", "faces"] and choices["digits"]["available"]
    if not choices["faces"]["available"]:
        pytest.skip(f"the faces set is not available here: {choices['faces']['reason']}")
    assert choices["faces"]["image_shape"] == [25, 25]
    done = trained(port, {"dataset": "faces", "epochs": 2, "seed": 0})
    run = done["run"]
    assert run["dataset"] == "faces" and run["hidden"] == [32, 16, 8]
    assert (run["batch_size"], run["lambd"]) == (32, 5.0)
    assert done["layer_dims"] == [625, 32, 16, 8, 1] and done["image_shape"] == [25, 25]
    unit = done["layers"][0]["units"][0]
    assert {len(base64.b64decode(unit[k])) for k in ("top", "ascent", "weights")} == {625}
    assert shown_probes(done) == experiment_probes(app.hierarchy.network, "faces")


def test_a_hierarchy_set_that_cannot_be_loaded_is_offered_disabled_with_its_reason(monkeypatch):
    from ldnn.errors import MissingPackageError
    from ldnn.playground import hierarchy as page

    reason = "data set 'faces' needs scikit-image: pip install 'ldnn[data]'"

    def load(name):
        if name == "faces":
            raise MissingPackageError(reason)
        return load_dataset(name)

    load_dataset = page.load_dataset
    monkeypatch.setattr(page, "load_dataset", load)
    with serving(PlaygroundApp(Session(), PARITY, recipe=RECIPE)) as (port, _):
        choices = hierarchy_state(port)["datasets"]
        assert choices[1] == {"name": "faces", "available": False, "reason": reason}
        status, _, body = request(port, "POST", "/hierarchy/train", {"dataset": "faces"})
        answer = json.loads(body)
        assert status == 400 and answer["field"] == "dataset"
        assert answer["message"] == f"the faces set is not available here: {reason}"


def test_the_hierarchy_page_in_headless_chromium(hierarchy):
    port, app = hierarchy
    with browser_page(
        f"http://127.0.0.1:{port}/hierarchy", viewport={"width": 1100, "height": 700}
    ) as page:
        page.fill("#epochs", "20")
        page.click("#train")
        wait_for(lambda: page.text_content("#epoch") == "20", seconds=40)
        wait_for(lambda: page.text_content("#running") == "done")
        assert page.locator(".hierarchy-layer").count() == 3
        labels = page.eval_on_selector_all(
            ".hierarchy-units canvas", "all => all.map(c => c.getAttribute('aria-label'))"
        )
        assert len(labels) == (3 * 2 + 1) * feature_hierarchy.UNITS_SHOWN  # and W[1]'s rows
        assert "test" in page.text_content("#accuracy")
        # The probe table is the state's, a row a layer l = 0..L.
        rows = app.hierarchy.state()["probes"]["layers"]
        cells = page.eval_on_selector_all(
            "#probe-table tbody tr", "all => all.map(r => r.cells[4].textContent)"
        )
        assert cells == [f"{r['test']:.3f}" for r in rows] and len(cells) == 5
        assert "l=0 train" in page.get_attribute("#probe-chart", "aria-label")
        page.screenshot(path=str(HIERARCHY_SCREENSHOT), full_page=True)
        choices = app.hierarchy.datasets()
        options = page.eval_on_selector_all(
            "#dataset option", "all => all.map(o => [o.value, o.disabled])"
        )
        assert options == [[c["name"], not c["available"]] for c in choices]
        if choices[1]["available"]:
            page.select_option("#dataset", "faces")
            page.fill("#epochs", "10")
            page.click("#train")
            wait_for(lambda: page.text_content("#set-title") == "25x25 faces", seconds=20)
            wait_for(lambda: page.text_content("#running") == "done", seconds=40)
            assert page.text_content("#epoch") == "10"
            size = page.eval_on_selector(".hierarchy-units canvas", "c => [c.width, c.height]")
            assert size == [50, 50]  # 25x25 pixels drawn 2x
            page.screenshot(path=str(HIERARCHY_FACES_SCREENSHOT), full_page=True)
