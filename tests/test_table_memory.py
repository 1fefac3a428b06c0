"""A table file read a batch at a time, and its training parts built in the block its
numbers were read into (issue 25: memory within a few times what the data need), give
what reading the whole table and encoding each part apart give, bit for bit."""

import numpy as np
import pytest

from ldnn.data import table_files, table_source, tables
from ldnn.data.compact import CompactX
from ldnn.data.limits import Limits
from ldnn.data.preparation import Preparation
from ldnn.data.table_files import read_csv, read_parquet
from ldnn.data.tables import Text, _from_arrow, missing_markers, read_columns
from ldnn.errors import DataFileError

pa = pytest.importorskip("pyarrow")
pytest.importorskip("pyarrow.parquet")

#: Bytes a CSV block holds in these tests: small tables read in many batches.
SMALL_BLOCK = 1 << 10


def whole(path, na_values=(), decimal="."):
    """The columns as the whole-table path reads them (one table, then the columns)."""
    markers, limits = missing_markers(na_values), Limits()
    if path.suffix == ".parquet":
        table = read_parquet(path, limits)
    else:
        table = read_csv(path, None, None, markers, decimal, limits)
    return _from_arrow(table, str(path), markers, limits)


def assert_same_columns(a, b):
    assert a.names == b.names and a.source == b.source
    for name in a.names:
        x, y = a[name], b[name]
        assert type(x) is type(y), name
        if isinstance(x, Text):
            assert x.categories == y.categories, name
            assert x.codes.dtype == y.codes.dtype and np.array_equal(x.codes, y.codes), name
            assert np.array_equal(x.number_like, y.number_like), name
        else:  # the same float64s, NaN where the same cells are missing
            assert x.dtype == y.dtype == np.float64, name
            assert np.ascontiguousarray(x).tobytes() == np.ascontiguousarray(y).tobytes(), name


def streamed(monkeypatch, path, **options):
    with monkeypatch.context() as patch:
        patch.setattr(table_files, "_STREAM_BLOCK", SMALL_BLOCK)
        patch.setattr(table_files, "_COLUMN_BLOCK", 1)
        patch.setattr(table_files, "_PARQUET_BATCH", 7)
        return read_columns(path, **options)


def a_table(rows=400, seed=0):
    """A CSV body with what files hold: numbers with empty cells and NA, text with
    missing cells, "?" markers, quoted fields with commas and doubled quotes, cells to
    trim, a text column of numbers and a marker, whole numbers, booleans, categories
    first seen late and tied counts."""
    rng = np.random.default_rng(seed)
    lines = ["x,city,note,count,flag,code,y"]
    for i in range(rows):
        x = "" if i % 7 == 0 else ("NA" if i % 11 == 0 else f"{rng.normal():.5f}")
        city = "" if i % 13 == 0 else f"c{int(rng.integers(0, 8 + i // 50))}"
        note = ['"Braund, Mr. Owen"', '"say ""hi"""', " padded ", "?", "plain"][i % 5]
        count = "?" if i % 17 == 0 else str(int(rng.integers(-50, 50)))
        flag = ["true", "false"][i % 2]
        code = " ?" if i % 19 == 0 else f" {int(rng.integers(0, 9))}"
        lines.append(f"{x},{city},{note},{count},{flag},{code},{i % 3}")
    return "\n".join(lines) + "\n"


def test_a_csv_read_in_batches_equals_it_read_whole(tmp_path, monkeypatch):
    path = tmp_path / "t.csv"
    path.write_text(a_table())
    columns = streamed(monkeypatch, path, na_values=["?"])
    assert columns.block is not None  # the stream read it
    assert isinstance(columns["city"], Text) and columns["code"].dtype == np.float64
    assert_same_columns(columns, whole(path, na_values=["?"]))


def test_a_parquet_file_read_in_batches_equals_it_read_whole(tmp_path, monkeypatch):
    rng = np.random.default_rng(1)
    n = 500
    cities = np.char.add("c", rng.integers(0, 30 + np.arange(n) // 20).astype(str)).astype(object)
    cities[::9] = None
    table = pa.table(
        {
            "city": pa.array(cities.tolist()),
            "x": pa.array(rng.normal(size=n), mask=rng.random(n) < 0.1),
            "k": pa.array(rng.integers(0, 5, n).astype(np.int32)),
            "b": pa.array(rng.random(n) < 0.5),
            "y": pa.array(np.arange(n) % 2),
        }
    )
    path = tmp_path / "t.parquet"
    pa.parquet.write_table(table, path, row_group_size=64)
    columns = streamed(monkeypatch, path)
    assert columns.block is not None
    assert_same_columns(columns, whole(path))


@pytest.mark.parametrize(
    "body",
    [
        # Whole numbers in the first blocks, a fraction later: pyarrow's types change.
        "a,b\n" + "".join(f"{i},x{i % 3}\n" for i in range(300)) + "2.5,x1\n",
        # Numbers, then text the first blocks never showed.
        "a,b\n" + "".join(f"{i},x\n" for i in range(300)) + "word,x\n",
        # A quoted cell across lines, which a block boundary cuts.
        "a,b\n" + "".join(f'{i},"two\nlines {i}"\n' for i in range(300)),
        # A column empty in the first blocks.
        "a,b\n" + "".join(f",{i}\n" for i in range(300)) + "7,1\n",
    ],
)
def test_a_csv_the_stream_cannot_read_is_read_whole(tmp_path, monkeypatch, body):
    path = tmp_path / "t.csv"
    path.write_text(body)
    assert_same_columns(streamed(monkeypatch, path), whole(path))


@pytest.mark.parametrize(
    "body, message",
    [
        ("a,b\n" + "1,x\n" * 300 + "?,x\n", "holds numbers, but data row 301 holds '?'"),
        ("a,b\n1,2,3\n", "cannot be read as CSV"),
        ("a,a\n1,2\n", "more than one column is named 'a'"),
        ("a,b\n", "has no data rows"),
        ("a;b\n" + "1,5;x\n" * 300, "holds numbers with a decimal comma"),
        ("a,b\n" + "1,x\n" * 300 + "inf,x\n", r"holds inf in data row 301"),
    ],
)
def test_bad_files_keep_their_one_line_errors(tmp_path, monkeypatch, body, message):
    path = tmp_path / "bad.csv"
    path.write_text(body)
    with pytest.raises(DataFileError, match=message) as streaming:
        columns = streamed(monkeypatch, path)
        table_source.check_markers(columns)
    with pytest.raises(DataFileError) as reading_whole:
        table_source.check_markers(whole(path))
    assert str(streaming.value) == str(reading_whole.value)


def parts(monkeypatch, path, data, in_block=True):
    with monkeypatch.context() as patch:
        patch.setattr(table_files, "_STREAM_BLOCK", SMALL_BLOCK)
        patch.setattr(table_files, "_COLUMN_BLOCK", 1)
        if not in_block:
            patch.setattr(table_source, "parts_in_block", lambda *args: None)
        return table_source.table_for_training(str(path), dict(data), None)


def assert_same_x(a, b):
    if a is None or b is None:
        assert a is None and b is None
        return
    assert isinstance(a, CompactX) and isinstance(b, CompactX)
    assert a.numbers.dtype == b.numbers.dtype and np.array_equal(a.numbers, b.numbers)
    assert np.ascontiguousarray(a.numbers).tobytes() == b.numbers.tobytes()
    assert a.codes.dtype == b.codes.dtype and np.array_equal(a.codes, b.codes)
    assert list(a.numeric_rows) == list(b.numeric_rows) and a.blocks == b.blocks


FEATURES = ["x", "city", "note", "count", "flag"]


@pytest.mark.parametrize(
    "data, in_block",
    [
        ({"target": "y", "na_values": ["?"], "features": FEATURES}, True),
        ({"target": "y", "na_values": ["?"], "features": FEATURES, "impute": "mean"}, True),
        ({"target": "y", "features": FEATURES[:3] + ["flag"], "test_split": 0.0}, True),
        ({"target": "y", "na_values": ["?"], "drop": ["count", "code"]}, True),
        ({"target": "y", "features": FEATURES[:3], "missing": "most_frequent"}, True),
        ({"target": "y", "features": ["x", "city"], "min_category_count": 3}, True),
        # A regression target ahead of the numbers moved over it.
        ({"target": "x", "na_values": ["?"], "features": ["city", "count", "flag"]}, True),
        # Columns of numbers the block does not hold (text that is numbers once trimmed),
        # and features in another order than the file's: encoded apart.
        ({"target": "y", "na_values": ["?"]}, False),
        ({"target": "y", "na_values": ["?"], "features": ["count", "city", "x"]}, False),
    ],
)
def test_the_training_parts_built_in_the_block_equal_them_encoded_apart(
    tmp_path, monkeypatch, data, in_block
):
    path = tmp_path / "t.csv"
    text = a_table(rows=600, seed=2)
    if data["target"] == "x":  # a target needs every row
        text = "\n".join(
            ("1.5" + line if line.startswith(",") else line) for line in text.split("\n")
        ).replace("NA,", "2,")
    path.write_text(text)
    new = parts(monkeypatch, path, data)
    old = parts(monkeypatch, path, data, in_block=False)
    assert (new.X_train.numbers.base is not None) == in_block  # a view of the block
    assert_same_x(new.X_train, old.X_train)
    assert_same_x(new.X_test, old.X_test)
    for Y_new, Y_old in ((new.Y_train, old.Y_train), (new.Y_test, old.Y_test)):
        assert (Y_new is None) == (Y_old is None)
        assert Y_new is None or Y_new.tobytes() == Y_old.tobytes()
    assert new.encoding.to_metadata() == old.encoding.to_metadata()
    assert new.test_unexpected == old.test_unexpected and new.split == old.split


def compact(m=50, seed=0):
    rng = np.random.default_rng(seed)
    numbers = rng.normal(size=(m, 3)) * [1, 10, 100]
    codes = np.stack([rng.integers(2, 6, m), rng.integers(6, 9, m)], axis=1).astype(np.int32)
    codes[::7, 1] = -1
    return CompactX(numbers, codes, [0, 1, 9], [(2, 4), (6, 3)])


def test_a_part_of_compact_x_keeps_indices_and_reads_as_its_copy():
    X = compact()
    only = np.isin(np.arange(X.shape[0]), X.numeric_rows)
    X = Preparation.fit(X, only=only).transform_x(X)  # standardised, as training does
    index = np.random.default_rng(3).permutation(50)[:30]
    part = X[:, index]
    copy = X._with(X.numbers[index], X.codes[index])  # the part as its numbers' copy
    assert part.numbers is X.numbers and part.shape == copy.shape == (10, 30)
    for a, b in ((part, copy), (part[:, 5:20], copy[:, 5:20]), (part[:, [3, 1]], copy[:, [3, 1]])):
        assert a.numeric().tobytes() == b.numeric().tobytes()
        assert np.array_equal(a.dense(), b.dense())
        assert np.array_equal(a.mean(axis=1, keepdims=True), b.mean(axis=1, keepdims=True))
        assert np.array_equal(a.std(axis=1, keepdims=True), b.std(axis=1, keepdims=True))
        assert a.min() == b.min() and a.max() == b.max()
        assert np.array_equal(a[4], b[4]) and np.array_equal(a[9], b[9])
        for dtype in (np.float32, np.float64):
            assert a.astype(dtype).numbers.tobytes() == b.astype(dtype).numbers.tobytes()
        batch = [1, 0, 1]
        assert a.take(batch).numeric().tobytes() == b.take(batch).numeric().tobytes()
        assert np.array_equal(a.take(batch).codes, b.take(batch).codes)
    mask = np.arange(30) % 2 == 0
    assert part[:, mask].numeric().tobytes() == copy[:, mask].numeric().tobytes()
    X32 = X.astype(np.float32)
    assert X32[:, index].astype(np.float32, copy=False).numbers is X32.numbers


def test_the_stream_reads_in_many_batches_here(tmp_path, monkeypatch):
    path = tmp_path / "t.csv"
    path.write_text(a_table())
    seen = []
    batches = table_files.csv_batches

    def counted(*args):
        schema, found, rows = batches(*args)
        return schema, (seen.append(b.num_rows) or b for b in found), rows

    monkeypatch.setattr(tables, "csv_batches", counted)
    assert streamed(monkeypatch, path, na_values=["?"]).block is not None
    assert len(seen) > 5 and sum(seen) == 400
