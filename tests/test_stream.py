"""Training from .npy files larger than memory: rows read a mini-batch at a time."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from ldnn import DeepNetwork
from ldnn.data.stream import NpyRows, load_labels
from ldnn.errors import DataFileError, InvalidValueError


@pytest.fixture
def data(tmp_path):
    """X of shape (m, n) = (300, 5) in one file and in three shards, and labels y."""
    rng = np.random.default_rng(1)
    X = rng.standard_normal((300, 5))
    y = (X[:, 0] - X[:, 1] > 0).astype(np.float64)
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "y.npy", y)
    (tmp_path / "shards").mkdir()
    for k, (a, b) in enumerate([(0, 100), (100, 170), (170, 300)]):
        np.save(tmp_path / "shards" / f"part-{k}.npy", X[a:b])
    return tmp_path, X, y


@pytest.mark.parametrize("source", ["X.npy", "shards"])
def test_rows_gathered_in_any_order_equal_the_array(data, source):
    folder, X, _ = data
    rows = NpyRows(folder / source)
    assert rows.shape == X.shape and rows.T.shape == (5, 300)
    # Across shard boundaries (99|100, 169|170), repeated and unordered.
    index = np.array([299, 0, 99, 100, 101, 169, 170, 5, 5, 250])
    np.testing.assert_array_equal(rows.gather_rows(index), X[index])
    np.testing.assert_array_equal(rows.T[:, 98:172], X[98:172].T)
    as32 = rows.astype(np.float32).gather_rows(index)
    assert as32.dtype == np.float32
    np.testing.assert_array_equal(as32, X[index].astype(np.float32))
    assert rows.T.min() == X.min() and rows.T.max() == X.max()
    mean, std = rows.statistics()
    np.testing.assert_allclose(mean, X.mean(axis=0))
    np.testing.assert_allclose(std, X.std(axis=0))
    chunks = [chunk for _, chunk in rows.T.columns(rows=64)]
    np.testing.assert_array_equal(np.concatenate(chunks, axis=1), X.T)


@pytest.mark.parametrize("source", ["X.npy", "shards"])
def test_training_on_a_stream_equals_training_on_the_array(data, source):
    folder, X, y = data
    settings = dict(epochs=4, batch_size=32, optimizer="adam", learning_rate=0.01, seed=3)
    validation = (X[:50].T, y[None, :50])
    streamed = DeepNetwork([5, 6, 1], **settings)
    streamed.fit(NpyRows(folder / source).T, y[None, :], validation_data=validation)
    in_memory = DeepNetwork([5, 6, 1], **settings)
    in_memory.fit(X.T, y[None, :], validation_data=validation)
    # The same examples in the same mini-batches: the same numbers, bit for bit.
    assert streamed.history.cost == in_memory.history.cost
    for key, value in in_memory.parameters.items():
        np.testing.assert_array_equal(streamed.parameters[key], value)
    np.testing.assert_array_equal(load_labels(folder / "y.npy"), y)


def test_bad_files_are_named(tmp_path):
    np.save(tmp_path / "f.npy", np.asfortranarray(np.ones((4, 3))))
    with pytest.raises(DataFileError, match="Fortran"):
        NpyRows(tmp_path / "f.npy")
    np.save(tmp_path / "t.npy", np.ones((40, 3)))
    (tmp_path / "t.npy").write_bytes((tmp_path / "t.npy").read_bytes()[:-16])
    with pytest.raises(DataFileError, match="truncated"):
        NpyRows(tmp_path / "t.npy")
    (tmp_path / "s").mkdir()
    np.save(tmp_path / "s" / "a.npy", np.ones((4, 3)))
    np.save(tmp_path / "s" / "b.npy", np.ones((4, 2)))
    with pytest.raises(DataFileError, match="differ from the first shard"):
        NpyRows(tmp_path / "s")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataFileError, match="holds no .npy shards"):
        NpyRows(tmp_path / "empty")
    bad = np.ones((30, 3))
    bad[17, 1] = np.nan
    np.save(tmp_path / "nan.npy", bad)
    with pytest.raises(InvalidValueError, match="first in row 17"):
        DeepNetwork([3, 2, 1], epochs=1, batch_size=8).fit(
            NpyRows(tmp_path / "nan.npy").T, np.ones((1, 30))
        )


# -- memory stays flat ---------------------------------------------------------------------
MEMORY_SCRIPT = """
import sys, numpy as np
from ldnn import DeepNetwork
from ldnn.data.stream import NpyRows

def hwm():  # the peak resident set size so far, in MiB
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024

X = NpyRows(sys.argv[1]).T
m = X.shape[1]
y = (np.arange(m) % 2).astype(np.float32)[None, :]
X_val, y_val = X[:, :256], y[:, :256]
network = DeepNetwork([X.shape[0], 8, 1], epochs=1, batch_size=512, dtype="float32")
network.fit(X_val, y_val)  # warm every code path up before the baseline
before = hwm()
network.fit(X, y, validation_data=(X_val, y_val))
print(before, hwm())
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
def test_training_on_a_file_four_times_the_memory_budget_keeps_memory_flat(tmp_path):
    budget_mib, n = 40, 128
    m = 4 * budget_mib * 2**20 // (n * 4)  # float32 rows: the file is 4 budgets (160 MiB)
    path = tmp_path / "big.npy"
    rng = np.random.default_rng(0)
    with open(path, "wb") as file:
        # Written a chunk at a time: this process must not hold the file either.
        header = {"descr": "<f4", "fortran_order": False, "shape": (m, n)}
        np.lib.format.write_array_header_1_0(file, header)
        for start in range(0, m, 32768):
            rows = min(32768, m - start)
            rng.standard_normal((rows, n), dtype=np.float32).tofile(file)
    assert path.stat().st_size > 4 * budget_mib * 2**20
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(MEMORY_SCRIPT), str(path)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "OPENBLAS_NUM_THREADS": "1"},
    )
    assert done.returncode == 0, done.stderr
    before, after = map(float, done.stdout.split())
    # Y (m floats, 1.3 MiB) and the shuffled order (m int64s, 2.6 MiB) grow with m; X must not.
    assert after - before < budget_mib, f"peak RSS grew {after - before:.0f} MiB"


def test_a_stream_trains_on_the_cpu_only(tmp_path):
    from ldnn import ConfigurationError, DeepNetwork

    np.save(tmp_path / "X.npy", np.ones((8, 3), dtype=np.float32))
    net = DeepNetwork([3, 2, 1], device="gpu", epochs=1, batch_size=4)
    with pytest.raises(ConfigurationError, match="streamed from .npy files trains on the CPU"):
        net.fit(NpyRows(tmp_path / "X.npy").T, np.ones((1, 8)))


def test_reads_of_many_sizes_keep_one_buffer_not_one_per_size(tmp_path, monkeypatch):
    """A part built on MPI ranks gathers a differently sized set of rows each block:
    the room kept for reads is the largest asked for, not a buffer per size."""
    import tracemalloc

    from ldnn.data import stream

    monkeypatch.setattr(stream, "SCATTERED", 1 << 30)  # (rows read a run at a time here)
    X = np.arange(4000 * 64, dtype=np.float64).reshape(4000, 64)
    np.save(tmp_path / "x.npy", X)
    rows = NpyRows(tmp_path / "x.npy")
    rng = np.random.default_rng(0)
    tracemalloc.start()
    try:
        for k in range(1, 400):  # 399 sizes: a buffer each would keep 40 MB
            index = rng.choice(4000, k, replace=False)
            assert np.array_equal(rows.gather_rows(index), X[index])
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        rows.close()
    assert held < 1 << 20  # one buffer of 399 rows x 512 bytes


@pytest.mark.parametrize("source", ["X.npy", "shards"])
def test_scattered_rows_in_a_few_blocks_are_read_from_kept_blocks(data, source, monkeypatch):
    """A mini-batch of a shuffle within a window: its scattered rows lie in a few blocks,
    read whole once and kept, across shard boundaries; the rows are the file's."""
    from ldnn.data import stream

    folder, X, _ = data
    monkeypatch.setattr(stream, "BLOCK_BYTES", 40 * 5 * 8)  # blocks of 40 rows
    monkeypatch.setattr(stream, "SCATTERED", 4)
    rows = stream.NpyRows(folder / source)
    reads = []
    real = stream.NpyRows._read_run
    monkeypatch.setattr(
        stream.NpyRows, "_read_run", lambda self, a, b: reads.append((a, b)) or real(self, a, b)
    )
    rng = np.random.default_rng(2)
    for window in range(0, 300, 100):  # windows of 100 rows, in 5 mini-batches each
        order = window + rng.permutation(100)
        for batch in np.split(order, 5):
            np.testing.assert_array_equal(rows.gather_rows(batch), X[batch])
    # each block read once: 0-39, 40-79, ... (a window touches 3 or 4 of them)
    assert reads == [(a, min(a + 40, 300)) for a in range(0, 300, 40)]
    assert len(rows._blocks) <= stream.KEPT_BLOCKS
    spread = rng.permutation(300)[:50]  # rows all over: read a row (run) a call
    np.testing.assert_array_equal(rows.gather_rows(spread), X[spread])
    assert len(reads) == 8
