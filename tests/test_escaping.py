"""Text from files is data, never an instruction: what reaches the terminal shows its
control characters escaped, and what goes into a CSV file cannot run in a spreadsheet."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest

from ldnn.cli import main
from ldnn.cli.printing import format_scores
from ldnn.io.tables import csv_cell, csv_text, printable, text_table

ESC = "\x1b"
#: A name that would turn the terminal red and hide what follows it.
RED = f"{ESC}[31mred{ESC}[8m"


# -- the terminal -----------------------------------------------------------------------
@pytest.mark.parametrize(
    "text, shown",
    [
        (RED, "\\x1b[31mred\\x1b[8m"),
        ("a\tb\nc\rd\x00e\x07", "a\\tb\\nc\\rd\\x00e\\x07"),
        ("del\x7f c1\x85\x9b", "del\\x7f c1\\x85\\x9b"),  # DEL, NEL and the one-byte CSI
        ("abc\u202edcba\u2066x\u2069", "abc\\u202edcba\\u2066x\\u2069"),  # bidi override, isolate
        ("line\u2028next", "line\\u2028next"),
    ],
)
def test_control_characters_are_shown_as_their_escapes(text, shown):
    assert printable(text) == shown


def test_printable_text_is_left_as_it_is():
    text = "naïve café 中文 ∑ λ=0.01 -1.5 \\x1b 'quoted' \"double\" ✓"
    assert printable(text) == text
    assert printable(42) == "42"


def test_the_text_table_escapes_every_cell_and_aligns_what_it_shows():
    table = text_table(("column", f"kind{ESC}"), [(RED, "numeric"), ("b", "one-hot")])
    assert ESC not in table
    shown = "\\x1b[31mred\\x1b[8m"  # 18 characters wide, as the terminal shows it
    assert table.splitlines() == [
        "column" + " " * 14 + "kind\\x1b",
        "-" * 18 + "  " + "-" * 8,
        shown + "  numeric",
        "b" + " " * 19 + "one-hot",
    ]


def test_the_score_table_escapes_class_names_and_the_title():
    scores = {
        "m": 4,
        "accuracy": 0.5,
        "log_loss": 0.7,
        "classes": [RED, "b\n"],
        "per_class": {
            RED: {"precision": 0.5, "recall": 1.0, "f1": 0.667, "support": 2},
            "b\n": {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 2},
        },
        "confusion_matrix": [[2, 0], [2, 0]],
    }
    text = format_scores(scores, f"model.npz on {ESC}]0;title{ESC}\\")
    assert ESC not in text and "\\x1b[31mred" in text and "b\\n" in text
    assert len(text.splitlines()) == 8  # a newline in a name does not make a line


# -- CSV files --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "value, written",
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("-", "'-"),
        ("-x", "'-x"),
        ("-1.5", "-1.5"),  # text that is a plain number stays a number
        ("+3", "+3"),
        ("-2e-05", "-2e-05"),
        (".5", ".5"),
        (-1.5, "-1.5"),
        (np.float32(-0.25), "-0.25"),
        (np.int64(-3), "-3"),
        (-7, "-7"),
        (float("-inf"), "-inf"),
        ("setosa", "setosa"),
        ("a=b", "a=b"),
        (None, ""),
    ],
)
def test_a_text_cell_a_spreadsheet_would_run_is_written_as_text(value, written):
    assert csv_cell(value) == written


def test_csv_text_guards_the_header_and_every_row_and_reads_back():
    text = csv_text(("id", "=cmd"), [("@a", -1.0), ("-1.5", "ok")], "{:.3g}")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows == [["id", "'=cmd"], ["'@a", "-1"], ["-1.5", "ok"]]


# -- the command line -------------------------------------------------------------------
@pytest.fixture
def table(tmp_path, monkeypatch):
    """A table whose column and class names a hostile file might hold."""
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    lines = [f"a,=SUM(A1),{RED}kind"]
    for _ in range(40):
        x, y = rng.normal(size=2)
        lines.append(f"{x:.3f},{y:.3f},{'=cmd' if x + y > 0 else RED}")
    (tmp_path / "t.csv").write_text("\n".join(lines) + "\n")
    return tmp_path


def test_the_cli_error_line_escapes_what_came_from_the_file(table, capsys):
    assert main(["train", "t.csv", "--target", "nosuch", "-q", "--no-plots"]) == 2
    err = capsys.readouterr().err
    assert ESC not in err and "\\x1b[31mred" in err and err.count("\n") == 1


def test_a_run_prints_escaped_names_and_writes_guarded_csv(table, capsys):
    target = f"{RED}kind"
    argv = ["train", "t.csv", "--target", target, "--epochs", "3", "--no-plots", "--name", "r"]
    assert main([*argv, "--threads", "1"]) == 0, capsys.readouterr().err
    assert main(["evaluate", "runs/r"]) == 0
    out = capsys.readouterr().out
    assert ESC not in out and "\\x1b[31mred\\x1b[8m" in out
    columns = list(csv.reader(open(table / "runs" / "r" / "columns.csv")))
    assert columns[-1][0] == "'=SUM(A1)"
    assert main(["predict", "runs/r", "t.csv", "-o", "p.csv"]) == 0
    predicted = {row[0] for row in list(csv.reader(open(table / "p.csv")))[1:]}
    assert predicted <= {"'=cmd", RED}  # a CSV holds the name as it is, guarded
    metrics = json.loads((table / "runs" / "r" / "metrics.json").read_text())
    assert set(metrics["train"]["classes"]) == {"=cmd", RED}  # JSON keeps the data
