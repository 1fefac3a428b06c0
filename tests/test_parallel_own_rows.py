"""A table streamed on real MPI ranks and split by hash (``--split hash``): each rank
keeps only the rows it read (its targets, its parts' X, its keys), and the job trains
to the parameters of one process that read the file whole with the same split
(float64, 1e-12), scores the same parts and says how it read the file. The column rules
come from the ranks' shares, the standardisation's statistics and the class weights from
sums added up across the ranks, the validation part from a hash of each training row."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest

from test_parallel import (
    LDNN,
    assert_same_parameters,
    environment,
    launch,
    parameters_of,
)

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
pacsv = pytest.importorskip("pyarrow.csv")

TRAIN = ["--layers", "8", "--batch-size", "32", "--epochs", "4", "--dtype", "float64"]
TRAIN += ["--optimizer", "adam", "--lr", "0.01", "--ensemble", "1", "--no-plots", "--threads", "1"]


def regression_table(m: int, seed: int = 4) -> dict:
    """A numeric target with text, missing values and an ID of text."""
    rng = np.random.default_rng(seed)
    a = rng.normal(size=m)
    colour = rng.choice(["red", "blue", "green", "violet"], m)
    gap = np.where(rng.random(m) < 0.2, np.nan, rng.normal(size=m))
    y = 3 * a + (colour == "red") + np.nan_to_num(gap) + 0.1 * rng.normal(size=m) + 50
    return {"user": [f"u{i:04d}" for i in range(m)], "a": a, "colour": colour, "gap": gap, "y": y}


def class_table(m: int, seed: int = 5) -> dict:
    """Three classes named by strings, one of them rare."""
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=m), rng.normal(size=m)
    y = np.where(a > 1.0, "rare", np.where(b > 0, "up", "down"))
    return {"a": a, "b": b, "word": rng.choice(["x", "y", "z"], m), "y": y}


@pytest.mark.parametrize(
    "ranks, kind, flags",
    [
        (2, "regression.csv", ["--split-key", "user"]),
        (3, "classes.parquet", ["--split", "hash", "--class-weight", "balanced"]),
    ],
)
def test_ranks_that_split_by_hash_train_on_their_own_rows_as_one_process(
    ranks, kind, flags, tmp_path
):
    name = kind.split(".")[0]
    columns = regression_table(700) if name == "regression" else class_table(900)
    table = pa.table(columns)
    path = tmp_path / kind
    if path.suffix == ".csv":
        pacsv.write_csv(table, path)
    else:
        pq.write_table(table, path, row_group_size=100)
    runs = tmp_path / "runs"

    def command(run, stream):
        where = ["--runs-dir", str(runs), "--name", run, "--stream", stream]
        return [*LDNN, "train", str(path), "--target", "y", *TRAIN, *flags, *where]

    one = subprocess.run(command("one", "off"), capture_output=True, text=True, env=environment())
    assert one.returncode == 0, one.stderr
    done = launch(ranks, command("many", "on"), env=environment(TMPDIR=str(tmp_path)))
    assert done.returncode == 0, done.stderr
    said = [line for line in done.stdout.splitlines() if line.startswith("table:")]
    assert said and "each keeps its own rows (--split hash)" in said[0], done.stdout
    assert_same_parameters(parameters_of(runs / "one"), parameters_of(runs / "many"))
    alone, together = (json.loads((runs / r / "metrics.json").read_text()) for r in ("one", "many"))
    for part in ("train", "test"):
        assert alone[part]["m"] == together[part]["m"]
        key = "r2" if name == "regression" else "log_loss"
        assert together[part][key] == pytest.approx(alone[part][key], rel=1e-9)
    assert together["validation"]["cost"] == pytest.approx(alone["validation"]["cost"], rel=1e-9)
    model = (runs / "many" / "history.csv").read_text().splitlines()
    reference = (runs / "one" / "history.csv").read_text().splitlines()
    assert len(model) == len(reference)  # a test cost per epoch, summed across the ranks
    for mine, theirs in zip(model[1:], reference[1:], strict=True):
        test_cost, expected = float(mine.split(",")[-1]), float(theirs.split(",")[-1])
        assert test_cost == pytest.approx(expected, rel=1e-9)
    assert not list(tmp_path.glob("ldnn-stream-*"))


def test_ranks_that_read_no_rows_keep_none_and_still_train_as_one_process(tmp_path):
    """Four ranks, a Parquet file of two row groups: two ranks read nothing and hold
    empty parts, and take part in every sum all the same."""
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table(class_table(400)), path, row_group_size=200)
    runs = tmp_path / "runs"

    def command(run, stream):
        where = ["--runs-dir", str(runs), "--name", run, "--stream", stream]
        return [*LDNN, "train", str(path), "--target", "y", *TRAIN, "--split", "hash", *where]

    one = subprocess.run(command("one", "off"), capture_output=True, text=True, env=environment())
    assert one.returncode == 0, one.stderr
    done = launch(4, command("many", "on"), env=environment(TMPDIR=str(tmp_path)))
    assert done.returncode == 0, done.stderr
    said = next(line for line in done.stdout.splitlines() if line.startswith("table:"))
    counts = said.split("rows: ")[1].split(";")[0].split(", ")
    assert sorted(counts) == ["0", "0", "200", "200"], said  # two ranks read nothing
    assert_same_parameters(parameters_of(runs / "one"), parameters_of(runs / "many"))


def test_a_key_column_the_file_lacks_stops_every_rank_naming_it(tmp_path):
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table(class_table(200)), path, row_group_size=100)
    command = [*LDNN, "train", str(path), "--target", "y", *TRAIN, "--split-key", "nobody"]
    done = launch(2, [*command, "--stream", "on", "--runs-dir", str(tmp_path / "runs")])
    assert done.returncode == 2, done.stderr
    assert "no split key column 'nobody'; columns: 'a', 'b', 'word', 'y'" in done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "runs").exists()
