"""``ldnn serve``: a real server on 127.0.0.1 (port 0) answering MLflow's scoring
protocol, checked against ``ldnn predict`` on the same rows; its limits and errors; and
the command itself in a subprocess, stopped by a real signal.

The models are trained here on a small table with a text column and a number column
that has missing values (3 epochs: what is checked is that serving and ``ldnn predict``
agree, not that the model is good).
"""

from __future__ import annotations

import contextlib
import csv
import http.client
import io
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from ldnn._version import __version__
from ldnn.cli import main
from ldnn.cli.commands import load_model
from ldnn.io import file_sha256
from ldnn.serve import ModelServer, ServedModel

COLUMNS = ["age", "city", "income"]
#: Rows as a client sends them: a city training never saw, and a missing income.
ROWS = [[31.5, "rome", 52.0], [58.0, "tokyo", None], [44.0, "oslo", 47.25], [23.0, "paris", 61.0]]


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """{"folder", "classifier", "regression", "new"}: two run folders trained on a table
    with a text column and missing numbers, and a CSV of ROWS."""
    folder = tmp_path_factory.mktemp("serve")
    rng = np.random.default_rng(0)
    with open(folder / "people.csv", "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow([*COLUMNS, "label"])
        for i in range(60):
            age, city = rng.normal(40, 10), ["paris", "rome", "oslo"][i % 3]
            income = "" if i % 7 == 0 else f"{rng.normal(50, 5):.2f}"
            writer.writerow([f"{age:.1f}", city, income, "yes" if age > 40 else "no"])
    write_csv(folder / "new.csv", COLUMNS, ROWS)
    # The regression learns income from age and city, on the rows whose income is known.
    with open(folder / "people.csv") as source, open(folder / "incomes.csv", "w") as out:
        out.writelines(line for line in source if ",," not in line)
    runs = folder / "runs"
    quick = ["--epochs", "3", "--layers", "4", "--no-plots", "-q", "--runs-dir", runs]
    for name, data, target, extra in (
        ("classifier", "people.csv", "label", []),
        ("regression", "incomes.csv", "income", ["--features", "age,city"]),
    ):
        argv = ["train", folder / data, "--target", target, "--name", name, *quick, *extra]
        assert main([str(a) for a in argv]) == 0
    return {
        "folder": folder,
        "classifier": str(runs / "classifier"),
        "regression": str(runs / "regression"),
        "new": folder / "new.csv",
    }


def write_csv(path, header, rows) -> None:
    with open(path, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(header)
        writer.writerows([["" if v is None else v for v in row] for row in rows])


def predicted_by_cli(model: str, data: Path, folder: Path) -> list[dict]:
    """The rows ``ldnn predict MODEL DATA -o FILE`` writes."""
    out = folder / f"predicted-{Path(model).name}-{data.stem}.csv"
    assert main(["predict", model, str(data), "-o", str(out), "--overwrite"]) == 0
    with open(out, newline="") as file:
        return list(csv.DictReader(file))


@contextlib.contextmanager
def serving(model: str, **limits):
    """A ModelServer of ``model`` on 127.0.0.1, a free port, answering in a thread."""
    max_body = limits.pop("max_body", 1 << 20)
    served = ServedModel(load_model(model), model, **limits)
    server = ModelServer(served, "127.0.0.1", 0, max_body=max_body)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        thread.join()
        server.server_close()
        served.close()


@pytest.fixture(scope="module")
def classifier(models):
    with serving(models["classifier"], max_rows=50) as server:
        yield server


@pytest.fixture(scope="module")
def regression(models):
    with serving(models["regression"]) as server:
        yield server


def ask(server, method, path, body=None, content_type="application/json", connection=None):
    """(status, headers, decoded JSON) of one request; ``body`` a str, bytes or a JSON
    document. Every answer must be JSON without a traceback."""
    if body is not None and not isinstance(body, str | bytes):
        body = json.dumps(body)
    if isinstance(body, str):
        body = body.encode()
    conn = connection or http.client.HTTPConnection(*server.server_address[:2], timeout=10)
    headers = {"Content-Type": content_type} if content_type else {}
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    raw = response.read()
    if connection is None:
        conn.close()
    assert response.getheader("Content-Type") == "application/json"
    assert b"Traceback" not in raw and b'File "' not in raw, raw
    return response.status, response, json.loads(raw) if raw else None


def check_error(answer, status: int, *fragments) -> str:
    got, _, document = answer
    assert got == status, document
    assert set(document) == {"error_code", "message"}, document
    message = document["message"]
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, message
    return message


def same_predictions(served: list, written: list[dict]) -> None:
    """The server's records equal ``ldnn predict``'s rows (its 6 or 8 digits)."""
    assert len(served) == len(written)
    for answer, row in zip(served, written, strict=True):
        if not isinstance(answer, dict):  # a regression of one output: its value
            answer = {"prediction": answer}
        assert set(answer) == set(row)
        for key, text in row.items():
            if key == "prediction" and isinstance(answer[key], str):
                assert answer[key] == text
            else:
                assert answer[key] == pytest.approx(float(text), rel=1e-6, abs=1e-6)


# -- predictions ----------------------------------------------------------------------


def bodies(columns, rows):
    """The same rows in every JSON form MLflow takes."""
    records = [dict(zip(columns, row, strict=True)) for row in rows]
    return {
        "dataframe_split": {"dataframe_split": {"columns": columns, "data": rows}},
        "dataframe_records": {"dataframe_records": records},
        "instances": {"instances": records},
        "inputs (records)": {"inputs": records},
        "inputs (columns)": {
            "inputs": {c: [row[i] for row in rows] for i, c in enumerate(columns)}
        },
    }


def test_classifier_answers_what_ldnn_predict_writes(models, classifier):
    written = predicted_by_cli(models["classifier"], models["new"], models["folder"])
    csv_answer = ask(classifier, "POST", "/invocations", models["new"].read_bytes(), "text/csv")
    answers = {"text/csv": csv_answer}
    for name, body in bodies(COLUMNS, ROWS).items():
        answers[name] = ask(classifier, "POST", "/invocations", body)
    for name, (status, _, document) in answers.items():
        assert status == 200, (name, document)
        same_predictions(document["predictions"], written)
        assert set(written[0]) == {"prediction", "p_no", "p_yes"}
        # What ldnn predict says on stderr, said in the answer: never silent.
        assert document["warnings"] == {
            "unseen_categories": {"city": 1},
            "missing_values": {"income": 1},
        }, name


def test_columns_in_any_order_and_no_warnings_when_nothing_is_unexpected(models, classifier):
    rows = [[row[2], row[0], row[1]] for row in ROWS if row[1] != "tokyo"]
    status, _, document = ask(
        classifier,
        "POST",
        "/invocations",
        {"dataframe_split": {"columns": ["income", "age", "city"], "data": rows}},
    )
    assert status == 200 and "warnings" not in document
    assert len(document["predictions"]) == 3


def test_regression_answers_values_in_the_target_units(models, regression):
    written = predicted_by_cli(models["regression"], models["new"], models["folder"])
    status, _, document = ask(
        regression, "POST", "/invocations", bodies(COLUMNS, ROWS)["dataframe_records"]
    )
    assert status == 200
    assert all(isinstance(v, float) for v in document["predictions"])
    same_predictions(document["predictions"], written)
    status, _, from_csv = ask(
        regression, "POST", "/invocations", models["new"].read_text(), "text/csv"
    )
    assert from_csv["predictions"] == document["predictions"]


def test_eight_concurrent_clients_get_their_own_answers(models, classifier):
    rng = np.random.default_rng(1)
    cities = np.array(["paris", "rome", "oslo"])
    requests = []
    for k in range(8):  # each client its own rows, and how many
        m = 1 + 5 * k
        rows = [
            [float(a), str(c), float(i)]
            for a, c, i in zip(
                rng.normal(40, 10, m).round(2),
                cities[rng.integers(0, 3, m)],
                rng.normal(50, 5, m).round(2),
                strict=True,
            )
        ]
        requests.append(rows)
    expected = []
    for k, rows in enumerate(requests):
        path = models["folder"] / f"client{k}.csv"
        write_csv(path, COLUMNS, rows)
        expected.append(predicted_by_cli(models["classifier"], path, models["folder"]))
    start = threading.Barrier(8)

    def client(k):
        connection = http.client.HTTPConnection(*classifier.server_address[:2], timeout=20)
        start.wait()
        answers = []
        for _ in range(5):  # one connection, kept alive between requests
            body = {"dataframe_split": {"columns": COLUMNS, "data": requests[k]}}
            answers.append(ask(classifier, "POST", "/invocations", body, connection=connection))
        connection.close()
        return answers

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(client, range(8)))
    for k, answers in enumerate(results):
        for status, _, document in answers:
            assert status == 200, document
            same_predictions(document["predictions"], expected[k])


# -- the other endpoints --------------------------------------------------------------


def test_metadata_describes_the_model(models, classifier, regression):
    status, _, meta = ask(classifier, "GET", "/metadata")
    assert status == 200
    assert meta["inputs"] == [
        {"name": "age", "type": "number"},
        {"name": "city", "type": "category", "categories": ["oslo", "paris", "rome"]},
        {"name": "income", "type": "number"},
    ]
    assert meta["classes"] == ["no", "yes"] and meta["task"] == "classification"
    assert meta["outputs"] == ["prediction", "p_no", "p_yes"]
    assert meta["layer_dims"] == list(load_model(models["classifier"]).layer_dims)
    assert meta["layer_dims"][0] == 5  # age, 3 cities, income
    assert meta["ldnn_version"] == __version__ == meta["trained_with_ldnn"]
    assert meta["data_sha256"] == file_sha256(models["folder"] / "people.csv")
    assert meta["data_source"] == "people.csv"  # the name, not the training machine's path
    status, _, meta = ask(regression, "GET", "/metadata")
    assert meta["target"] == "income" and "classes" not in meta
    assert [i["name"] for i in meta["inputs"]] == ["age", "city"]
    assert meta["data_sha256"] == file_sha256(models["folder"] / "incomes.csv")


def test_health_and_version(classifier):
    for path in ("/ping", "/health", "/ping?probe=1"):
        assert ask(classifier, "GET", path)[0] == 200
    assert ask(classifier, "GET", "/version")[2] == {"ldnn": __version__}


# -- limits and errors ----------------------------------------------------------------


def test_an_oversized_body_is_refused_before_it_is_read(models):
    with serving(models["classifier"], max_body=1000) as server:
        conn = http.client.HTTPConnection(*server.server_address[:2], timeout=5)
        conn.putrequest("POST", "/invocations")
        conn.putheader("Content-Type", "application/json")
        conn.putheader("Content-Length", str(10**12))  # a terabyte that never comes
        conn.endheaders()
        response = conn.getresponse()  # answered without waiting for the body
        document = json.loads(response.read())
        conn.close()
        assert response.status == 413 and response.getheader("Connection") == "close"
        assert document["error_code"] == "REQUEST_LIMIT_EXCEEDED"
        assert "--max-body" in document["message"] and "1000 bytes" in document["message"]
        # Under the limit it answers as usual.
        body = {"dataframe_split": {"columns": COLUMNS, "data": ROWS[:1]}}
        assert ask(server, "POST", "/invocations", body)[0] == 200


def test_a_body_without_a_length_is_refused(classifier):
    # The request in one write: the server answers once it has read the headers and
    # closes, and a chunk written after that would meet a closed socket.
    body = b'{"inputs": {}}'
    request = (
        b"POST /invocations HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        + b"%x\r\n" % len(body)
        + body
        + b"\r\n0\r\n\r\n"
    )
    with socket.create_connection(classifier.server_address[:2], timeout=5) as sock:
        sock.sendall(request)
        response = http.client.HTTPResponse(sock)
        response.begin()
        message = json.loads(response.read())["message"]
    assert response.status == 411 and "Content-Length" in message


def test_bad_inputs_get_a_4xx_naming_the_column_or_field(classifier):
    def post(body, content_type="application/json"):
        return ask(classifier, "POST", "/invocations", body, content_type)

    split = {"columns": ["age", "city"], "data": [[30, "rome"]]}
    check_error(post({"dataframe_split": split}), 400, "no column 'income'")
    bad_value = {"dataframe_records": [{"age": "old", "city": "rome", "income": 50}]}
    check_error(post(bad_value), 400, "column 'age'", "'old'")
    check_error(post("age,city,income\nold,rome,50\n", "text/csv"), 400, "column 'age'")
    check_error(post("age,city\n1,rome\n", "text/csv"), 400, "no column 'income'")
    check_error(post('{"dataframe_split": {"columns": '), 400, "not JSON")
    assert post("{")[2]["error_code"] == "MALFORMED_REQUEST"
    check_error(post('{"inputs": {"age": [NaN]}}'), 400, "NaN", "null")
    check_error(post({"rows": []}), 400, "dataframe_split", "found 'rows'")
    check_error(post([1, 2]), 400, "JSON object", "list")
    check_error(post({"instances": [[30, "rome", 50]]}), 400, "instances[0]", "dataframe_split")
    check_error(
        post({"dataframe_split": {"columns": COLUMNS, "data": [[1, 2]]}}),
        400,
        "data[0]",
        "3 values",
    )
    nested = {"dataframe_records": [{"age": [1], "city": "rome", "income": 5}]}
    check_error(post(nested), 400, "column 'age'", "list", "row 0")
    check_error(post({"inputs": {"age": [1, 2], "city": ["a"]}}), 400, "one length")
    check_error(
        post({"dataframe_split": {"columns": ["a", "a"], "data": [[1, 2]]}}),
        400,
        "'a' is given twice",
    )
    check_error(post({"inputs": {"age": [1]}, "params": {"k": 1}}), 400, "params")
    too_many = {"dataframe_split": {"columns": COLUMNS, "data": [ROWS[0]] * 51}}
    check_error(post(too_many), 413, "51 rows", "--max-rows")
    rows = "age,city,income\n" + "1,rome,2\n" * 51
    check_error(post(rows, "text/csv"), 413, "51 rows")
    check_error(post("a", "text/plain"), 415, "application/json, text/csv", "text/plain")
    check_error(post("a", None), 415, "none")
    check_error(post(b"\xff\xfe{", "application/json"), 400, "not JSON")


def test_paths_are_exact_names_never_files(classifier):
    for path in (
        "/",
        "/predict",
        "/../../etc/passwd",
        "/%2e%2e/%2e%2e/etc/passwd",
        "//etc/passwd",
        "/metadata/../../../etc/passwd",
        "/invocations/../metadata",
        "/static/..%2f..%2fmodel.npz",
    ):
        check_error(ask(classifier, "GET", path), 404, "no endpoint")
        check_error(ask(classifier, "POST", path, "{}"), 404, "no endpoint")
    status, response, _ = ask(classifier, "GET", "/invocations")
    assert status == 405 and response.getheader("Allow") == "POST"
    assert ask(classifier, "POST", "/ping", "{}")[0] == 405
    check_error(ask(classifier, "DELETE", "/ping"), 501, "DELETE")


def test_an_unforeseen_error_is_a_500_of_one_line(models, capfd):
    with serving(models["classifier"]) as server:

        def fail(*args):
            raise RuntimeError("secret detail /home/x")

        server.model.invocations = fail
        message = check_error(ask(server, "POST", "/invocations", "{}"), 500, "RuntimeError")
        assert "secret" not in message
        assert ask(server, "GET", "/ping")[0] == 200  # and it goes on answering
    assert "secret detail" in capfd.readouterr().err  # the traceback is the operator's


def test_a_raw_malformed_request_line_gets_json(classifier):
    with socket.create_connection(classifier.server_address[:2], timeout=5) as sock:
        sock.sendall(b"NONSENSE\r\n\r\n")
        reply = sock.recv(4096)
    # No version in the request line: http.server answers as HTTP/0.9, a body alone.
    document = json.loads(reply.rpartition(b"\r\n\r\n")[2] or reply)
    assert document["error_code"] == "BAD_REQUEST" and "NONSENSE" in document["message"]


# -- the command ----------------------------------------------------------------------


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_ldnn_serve_prints_its_address_and_stops_on_a_signal(models, signum):
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    command = [sys.executable, "-m", "ldnn.cli", "serve", models["classifier"], "--port", "0"]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        line = process.stdout.readline()
        match = re.match(r"serving (\S+) at http://127\.0\.0\.1:(\d+) ", line)
        assert match and match.group(1) == models["classifier"], line
        conn = http.client.HTTPConnection("127.0.0.1", int(match.group(2)), timeout=10)
        conn.request("GET", "/ping")
        assert conn.getresponse().status == 200
        conn.close()
        process.send_signal(signum)
        assert process.wait(timeout=10) == 0
        err = process.stderr.read()
        assert signum.name in err and "Traceback" not in err
    finally:
        process.kill()
        process.wait()
        process.stdout.close()
        process.stderr.close()


def test_bad_arguments_are_one_line_and_exit_2(models, capsys):
    def fails(*argv, fragment):
        assert main(["serve", *argv]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and fragment in err, err

    fails(models["classifier"], "--port", "70000", fragment="--port")
    fails(models["classifier"], "--max-body", "lots", fragment="--max-body")
    fails(models["classifier"], "--max-rows", "0", fragment="--max-rows")
    fails(str(models["folder"] / "nothing"), "--port", "0", fragment="nothing")
    fails(models["regression"], "--threshold", "0.5", "--port", "0", fragment="--threshold")
    with socket.socket() as taken:  # a port another process holds
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        fails(models["classifier"], "--port", str(taken.getsockname()[1]), fragment="in use")


def test_json_rows_take_the_csv_path_exactly(models):
    """A JSON body is the CSV file ldnn predict would read: text that reads as a number,
    null as an empty cell, floats to their last bit."""
    from ldnn.serve.formats import csv_of_rows, table_of_json

    names, rows = table_of_json({"dataframe_records": [{"a": 0.1 + 0.2, "b": None}, {"b": True}]})
    text = csv_of_rows(names, rows)
    assert text == "a,b\n0.30000000000000004,\n,True\n"
    assert list(csv.reader(io.StringIO(text)))[1][0] == repr(0.1 + 0.2)
