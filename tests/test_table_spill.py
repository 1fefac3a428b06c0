"""Tables streamed from disk (``--stream``, ldnn/data/table_spill.py): the same rules,
split, X and parameters as the table read whole, bit for bit; prediction streams too; the
folder is gone afterwards; a run resumes to the uninterrupted result; and a table whose
whole read does not fit in the memory a process is allowed trains there."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
pacsv = pytest.importorskip("pyarrow.csv")

from ldnn.data.table_source import how_to_read, table_for_training  # noqa: E402
from ldnn.errors import ConfigurationError, DataFileError  # noqa: E402

LDNN = [sys.executable, "-m", "ldnn.cli"]


def environment(tmp: Path) -> dict:
    """One BLAS thread; the stream's temporary folders made under ``tmp``."""
    return {**os.environ, "OPENBLAS_NUM_THREADS": "1", "MALLOC_ARENA_MAX": "2", "TMPDIR": str(tmp)}


def table(m: int, seed: int = 0) -> dict:
    """Columns with what the rules look at: numbers with missing values, whole numbers,
    an ID, text with spaces, markers and missing cells, text that is numbers, a date."""
    rng = np.random.default_rng(seed)
    a = rng.normal(size=m)
    colour = rng.choice(["red", " blue", "green ", "NA", ""], m)
    return {
        "id": np.arange(m),
        "a": a,
        "b": rng.integers(0, 7, m),
        "gap": np.where(rng.random(m) < 0.15, np.nan, rng.normal(size=m)),
        "colour": colour,
        "size": rng.choice(["1", "2", "10"], m),
        "day": np.datetime64("2024-01-01") + rng.integers(0, 9, m).astype("timedelta64[D]"),
        "word": rng.choice([f"w{i}" for i in range(60)], m),
        "y": np.where(a + (colour == "red") + 0.7 * rng.normal(size=m) > 0.4, "yes", "no"),
    }


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """The same table as CSV (more than one 1 MiB block) and as Parquet (row groups of
    4,096 rows)."""
    folder = tmp_path_factory.mktemp("tables")
    columns = table(30_000)
    arrow_table = pa.table({k: pa.array(v) for k, v in columns.items()})
    pq.write_table(arrow_table, folder / "t.parquet", row_group_size=4096)
    pacsv.write_csv(arrow_table.drop(["day"]), folder / "t.csv")
    return folder


def dense(X):
    return None if X is None else (X.dense() if hasattr(X, "dense") else X)


@pytest.mark.parametrize("name", ["t.csv", "t.parquet"])
@pytest.mark.parametrize("regression", [False, True])
def test_a_streamed_table_is_the_table_read_whole(files, name, regression):
    data = {"target": "a"} if regression else {}
    whole = table_for_training(str(files / name), {**data, "stream": "off"}, None)
    streamed = table_for_training(str(files / name), {**data, "stream": "on"}, None)
    assert streamed.read_as == "streamed from disk (--stream on)"
    assert streamed.encoding.to_metadata() == whole.encoding.to_metadata()
    assert streamed.split == whole.split
    assert streamed.feature_names == whole.feature_names
    assert streamed.test_unexpected == whole.test_unexpected
    for a, b in ((whole.X_train, streamed.X_train), (whole.X_test, streamed.X_test)):
        assert np.array_equal(dense(a), dense(b))
    assert np.array_equal(whole.Y_train, streamed.Y_train)
    assert np.array_equal(whole.Y_test, streamed.Y_test)
    # The numbers are read from disk a mini-batch at a time, not held.
    assert type(streamed.X_train.numbers).__name__ == "NpyRows"


def test_the_marker_check_and_the_row_count_read_no_column_of_numbers(files, monkeypatch):
    """On disk, whether a column is text and how many rows there are is known without
    reading a column (on MPI ranks each read gathers the whole column from the ranks)."""
    from ldnn.data import table_spill
    from ldnn.data.rules import check_markers

    spilled = table_spill.spill(files / "t.parquet", {}, table_spill.Limits())
    read = []
    real = table_spill.SpilledTable.column
    monkeypatch.setattr(
        table_spill.SpilledTable,
        "column",
        lambda self, name, here=False: read.append(name) or real(self, name, here),
    )
    try:
        columns = spilled.columns
        assert columns.n_rows == 30_000 and read == []
        assert [columns.is_text(n) for n in ("a", "colour", "size")] == [False, True, False]
        check_markers(columns)
        assert set(read) == {"colour", "day", "word", "y"}  # the text columns only
    finally:
        spilled.close()


def test_the_choice_is_said_and_a_setting_that_is_none_of_them_refused(files):
    source = str(files / "t.csv")
    from ldnn.data.table_source import reading

    streamed, line = how_to_read(source, {}, reading({}))
    assert not streamed and line.startswith("read whole into memory: a whole read takes about")
    assert how_to_read(source, {"stream": "on"}, reading({}))[0]
    # A whole read over --max-memory would be refused: auto streams it instead.
    small = {"max_memory": "1K"}
    streamed, line = how_to_read(source, small, reading(small))
    assert streamed and line.endswith("over --max-memory's 1 KiB"), line
    assert not how_to_read(source, {**small, "stream": "off"}, reading(small))[0]
    with pytest.raises(ConfigurationError, match="--stream must be one of auto, on, off"):
        how_to_read(source, {"stream": "yes"}, reading({}))


def test_types_that_change_after_the_first_block_are_one_line(tmp_path):
    rows = ["x,y", *(f"{i},{i % 2}" for i in range(200_000)), "oops,1"]
    (tmp_path / "late.csv").write_text("\n".join(rows) + "\n")
    with pytest.raises(DataFileError, match=r"late.csv: .*--stream off"):
        table_for_training(str(tmp_path / "late.csv"), {"stream": "on"}, None)
    assert not list(tmp_path.glob("ldnn-stream-*"))


def run_ldnn(args, tmp, **options):
    return subprocess.run(
        [*LDNN, *args, "--threads", "1"],
        capture_output=True,
        text=True,
        env=environment(tmp),
        timeout=options.pop("timeout", 180),
        cwd=tmp,
        **options,
    )


TRAIN = ["--epochs", "3", "--layers", "16,8", "--no-plots", "-q"]


def parameters(folder: Path) -> dict:
    with np.load(folder / "model.npz", allow_pickle=False) as model:
        return {k: model[k] for k in model.files if k[0] in "Wb" and k[1:].isdigit()}


def test_ldnn_train_and_predict_streamed_give_the_numbers_read_whole(files, tmp_path):
    for setting in ("on", "off"):
        done = run_ldnn(
            ["train", str(files / "t.parquet"), *TRAIN, "--name", setting, "--stream", setting],
            tmp_path,
        )
        assert done.returncode == 0, done.stderr
    one, other = parameters(tmp_path / "runs" / "on"), parameters(tmp_path / "runs" / "off")
    assert one.keys() == other.keys()
    for key in one:  # the same thread count: bit for bit
        assert np.array_equal(one[key], other[key]), key
    outputs = {}
    for setting in ("on", "off"):
        out = tmp_path / f"p_{setting}.csv"
        done = run_ldnn(
            ["predict", "runs/off", str(files / "t.parquet"), "--stream", setting]
            + ["--id-column", "id", "-o", str(out)],
            tmp_path,
        )
        assert done.returncode == 0, done.stderr
        outputs[setting] = out.read_bytes()
    assert outputs["on"] == outputs["off"]
    assert not list(tmp_path.glob("ldnn-stream-*"))  # each stream's folder is gone


def wait_until_catching(pid: int, signum: int, timeout=60) -> None:
    """Until process ``pid`` has a handler for ``signum``: training installs one for
    SIGTERM when it starts (its SigCgt mask in /proc)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = Path(f"/proc/{pid}/status").read_text()
        mask = next(line for line in status.splitlines() if line.startswith("SigCgt:"))
        if int(mask.split()[1], 16) >> (signum - 1) & 1:
            return
        time.sleep(0.05)
    raise AssertionError(f"process {pid} never caught signal {signum}")


def test_an_interrupted_streamed_run_resumes_to_the_uninterrupted_result(files, tmp_path):
    source = str(files / "t.csv")
    flags = [*TRAIN[2:], "--epochs", "25", "--stream", "on", "--no-early-stopping"]
    whole = run_ldnn(["train", source, *flags, "--name", "whole"], tmp_path, timeout=300)
    assert whole.returncode == 0, whole.stderr
    job = subprocess.Popen(
        [*LDNN, "train", source, *flags, "--name", "cut", "--threads", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment(tmp_path),
        cwd=tmp_path,
    )
    deadline = time.monotonic() + 120
    while not (tmp_path / "runs" / "cut" / "config.toml").exists():
        assert job.poll() is None and time.monotonic() < deadline, "training did not start"
        time.sleep(0.05)
    wait_until_catching(job.pid, signal.SIGTERM)
    time.sleep(0.5)
    job.send_signal(signal.SIGTERM)
    _, err = job.communicate(timeout=120)
    assert job.returncode == 130, err
    assert (tmp_path / "runs" / "cut" / "checkpoint.npz").exists()
    resumed = run_ldnn(["train", "--resume", "runs/cut", "-q", "--no-plots"], tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    one, other = parameters(tmp_path / "runs" / "whole"), parameters(tmp_path / "runs" / "cut")
    for key in one:
        assert np.array_equal(one[key], other[key]), key


# A child that reports the most address space it took (VmPeak) and resident memory
# (VmHWM) as it exits, under an address-space limit (RLIMIT_AS).
PEAK = str(Path(__file__).parents[1] / "benchmarks" / "peak_child.py")
SMALL = ["--epochs", "1", "--layers", "8", "--batch-size", "1024", "--no-plots"]


def limited(args, tmp, limit=None):
    def set_limit():
        if limit is not None:
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    done = subprocess.run(
        [sys.executable, PEAK, *args, "--threads", "1"],
        capture_output=True,
        text=True,
        env={**environment(tmp), "OMP_NUM_THREADS": "1"},
        timeout=300,
        cwd=tmp,
        preexec_fn=set_limit,
    )
    peaks = dict(line.split(":") for line in done.stderr.splitlines() if line.startswith("Vm"))
    return done, {k: int(v.split()[0]) << 10 for k, v in peaks.items()}


def wide_parquet(path: Path, m: int, n: int = 100) -> None:
    rng = np.random.default_rng(4)
    X = rng.normal(size=(m, n))
    y = (X[:, :3].sum(axis=1) + 0.5 * rng.normal(size=m) > 0).astype(np.int8)
    columns = {f"x{j}": X[:, j] for j in range(n)}
    pq.write_table(pa.table({**columns, "y": y}), path, row_group_size=16384)


def test_a_table_four_times_the_memory_allowed_trains_streamed(tmp_path):
    """600,000 rows of 100 numbers: 480 MB of float64 numbers (as the table read whole
    holds them), against a limit of the address space the same command takes on a
    table of 2,000 rows plus 120 MiB. Read whole it runs out of memory in one line; by
    default (--stream auto) it sees that, streams the file from disk and trains."""
    wide_parquet(tmp_path / "tiny.parquet", 2000)
    wide_parquet(tmp_path / "wide.parquet", 600_000)
    done, base = limited(["train", "tiny.parquet", *SMALL, "--name", "tiny"], tmp_path)
    assert done.returncode == 0, done.stderr
    limit = base["VmPeak"] + (120 << 20)
    whole, _ = limited(["train", "wide.parquet", *SMALL, "--stream", "off"], tmp_path, limit)
    assert whole.returncode == 2, whole.stderr[-2000:]
    assert "out of memory" in whole.stderr and "Traceback" not in whole.stderr
    done, peaks = limited(["train", "wide.parquet", *SMALL, "--name", "wide"], tmp_path, limit)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "table: streamed from disk: a whole read takes about" in done.stdout
    test_accuracy = float(done.stdout.split(" test: ")[1].split("accuracy = ")[1].split()[0])
    assert test_accuracy > 0.8, done.stdout
    # What the stream held above the small table's run: a fraction of the numbers.
    assert peaks["VmHWM"] - base["VmHWM"] < 120 << 20, (peaks, base)
    assert not list(tmp_path.glob("ldnn-stream-*"))


@pytest.mark.parametrize("lines", [0, 1, 2, 7, 500])
@pytest.mark.parametrize("parts", [1, 2, 3, 8])
def test_the_byte_ranges_of_the_ranks_hold_every_row_once_in_order(tmp_path, lines, parts):
    from ldnn.data.table_files import row_range

    rows = [f"{i},{'x' * (i % 13)}" for i in range(lines)]
    path = tmp_path / "r.csv"
    path.write_bytes(("a,b\n" + "".join(r + "\n" for r in rows)).encode())
    seen = []
    for k in range(parts):
        with row_range(path, "utf-8", k, parts) as stream:
            text = stream.read().decode()
        head, _, body = text.partition("\n")
        assert head == "a,b"
        seen += body.splitlines()
    assert seen == rows


def test_a_parquet_file_s_row_groups_are_shared_in_runs(tmp_path):
    from ldnn.data.limits import Limits
    from ldnn.data.table_files import parquet_batches

    pq.write_table(pa.table({"x": np.arange(1000.0)}), tmp_path / "g.parquet", row_group_size=90)
    seen = []
    for k in range(3):
        _, batches, _ = parquet_batches(tmp_path / "g.parquet", Limits(), part=(k, 3))
        values = [v for b in batches for v in b.column(0).to_pylist()]
        assert values and values == sorted(values)
        seen += values
    assert seen == list(np.arange(1000.0))


@pytest.mark.parametrize("kind", ["numbers only", "text only"])
def test_a_table_of_one_kind_of_column_streams_as_read_whole(tmp_path, kind):
    rng = np.random.default_rng(5)
    m = 400
    if kind == "numbers only":
        columns = {"a": rng.normal(size=m), "b": rng.integers(0, 9, m).astype(float)}
    else:
        columns = {"c": rng.choice(["p", "q", "r"], m), "d": rng.choice(["s", "t"], m)}
    columns["y"] = rng.integers(0, 2, m)
    pacsv.write_csv(pa.table(columns), tmp_path / "k.csv")
    parts = {}
    for setting in ("off", "on"):
        data = table_for_training(str(tmp_path / "k.csv"), {"stream": setting}, None)
        parts[setting] = [dense(data.X_train), dense(data.X_test), data.Y_train]
    for whole, streamed in zip(parts["off"], parts["on"], strict=True):
        assert np.array_equal(whole, streamed)


@pytest.mark.parametrize("encoding", ["latin-1", "utf-16"])
def test_byte_ranges_cut_where_a_line_break_is_one_byte_and_only_there(tmp_path, encoding):
    from ldnn.data.table_files import row_range

    rows = [f"{i},caf\u00e9" for i in range(40)]
    path = tmp_path / "e.csv"
    path.write_bytes(("a,b\n" + "".join(r + "\n" for r in rows)).encode(encoding))
    pieces = []
    for k in range(3):
        with row_range(path, encoding, k, 3) as stream:
            pieces.append(stream.read())
    header = "a,b\n".encode(encoding)
    assert all(piece.startswith(header) for piece in pieces)
    bodies = [piece[len(header) :].decode(encoding) for piece in pieces]
    assert "".join(bodies).splitlines() == rows
    if encoding == "utf-16":  # not cut: the first range is the whole file
        assert bodies[1] == bodies[2] == ""
    else:
        assert all(bodies)
