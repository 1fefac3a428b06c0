"""Reading tables (CSV, TSV, Parquet, DataFrames, dicts) into named columns: numbers with
NaN where missing, text as codes; every problem named by file, column and row."""

import numpy as np
import pytest

from ldnn.data.limits import Limits
from ldnn.data.table_files import sniff_delimiter
from ldnn.data.tables import Text, columns_from, read_columns, unique_names
from ldnn.errors import DataFileError

pytest.importorskip("pyarrow")


def write(path, text, encoding="utf-8"):
    path.write_bytes(text.encode(encoding))
    return path


def test_numbers_text_and_missing_cells(tmp_path):
    path = write(tmp_path / "d.csv", "age,sex,fare\n22,male,7.25\n,female,\n38,,71.3\n")
    columns = read_columns(path)
    assert columns.names == ["age", "sex", "fare"] and columns.n_rows == 3
    np.testing.assert_array_equal(columns["age"], [22, np.nan, 38])
    sex = columns["sex"]
    assert isinstance(sex, Text) and sex.strings().tolist() == ["male", "female", None]
    assert columns["fare"].dtype == np.float64


def test_quoting_embedded_commas_newlines_and_a_bom(tmp_path):
    body = '\ufeffname,n\n"Braund, Mr. Owen",1\n"two\nlines",2\n"say ""hi""",3\n'
    columns = read_columns(write(tmp_path / "q.csv", body))
    assert columns.names == ["name", "n"]  # the BOM is not part of the first name
    assert columns["name"].strings().tolist() == ["Braund, Mr. Owen", "two\nlines", 'say "hi"']


@pytest.mark.parametrize("delimiter", [";", "\t", "|"])
def test_the_delimiter_is_found_in_the_header(tmp_path, delimiter):
    body = delimiter.join(["a", "b"]) + "\n" + delimiter.join(["1.5", "x, y"]) + "\n"
    columns = read_columns(write(tmp_path / "d.csv", body))
    assert columns.names == ["a", "b"] and columns["b"].strings().tolist() == ["x, y"]
    assert sniff_delimiter("a;b;c\n") == ";" and sniff_delimiter("abc\n") == ","


def test_decimal_commas_are_named_and_read_with_decimal(tmp_path):
    path = write(tmp_path / "eu.csv", "a;b\n1,5;x\n-0,25;y\n")
    with pytest.raises(DataFileError, match="column 'a' holds numbers with a decimal comma"):
        read_columns(path)
    assert read_columns(path, decimal=",")["a"].tolist() == [1.5, -0.25]


def test_cells_are_trimmed_and_markers_found_after_trimming(tmp_path):
    body = "age, workclass, income\n39, State-gov, <=50K\n50, ?, >50K\n ?, Private, <=50K\n"
    columns = read_columns(write(tmp_path / "adult.csv", body), na_values=["?"])
    assert columns.names == ["age", "workclass", "income"]
    np.testing.assert_array_equal(columns["age"], [39, 50, np.nan])  # numbers again
    assert columns["workclass"].strings().tolist() == ["State-gov", None, "Private"]


def test_explicit_delimiter_encoding_and_missing_markers(tmp_path):
    path = write(tmp_path / "d.csv", "a;b\n1;caf\u00e9\n?;th\u00e9\n", encoding="latin-1")
    with pytest.raises(DataFileError, match="pass (its|the file.s) --encoding"):
        read_columns(path)
    columns = read_columns(path, delimiter=";", encoding="latin-1", na_values=["?"])
    np.testing.assert_array_equal(columns["a"], [1, np.nan])
    assert columns["b"].strings().tolist() == ["caf\u00e9", "th\u00e9"]


def test_utf16_with_its_byte_order_mark_is_read(tmp_path):
    path = write(tmp_path / "u.csv", "\ufeffa,b\n1,x\n2,y\n", encoding="utf-16-le")
    assert read_columns(path)["a"].tolist() == [1, 2]


@pytest.mark.parametrize(
    "body, message",
    [
        ("", "the file is empty"),
        ("a,b\n", "has no data rows"),
        ("a,a\n1,2\n", "more than one column is named 'a'"),
        ("a,b\n1,2\n3\n", "cannot be read as CSV"),
        ("a,b\ninf,2\n", "column 'a' holds inf in data row 1"),
    ],
)
def test_bad_files_are_named(tmp_path, body, message):
    path = write(tmp_path / "bad.csv", body)
    with pytest.raises(DataFileError, match="bad.csv") as info:
        read_columns(path)
    assert message in str(info.value)


def test_binary_and_missing_files(tmp_path):
    path = tmp_path / "b.csv"
    path.write_bytes(b"a,b\n\x00\x01,2\n")
    with pytest.raises(DataFileError, match="NUL bytes"):
        read_columns(path)
    with pytest.raises(DataFileError, match="does not exist"):
        read_columns(tmp_path / "none.csv")


def test_parquet_and_dataframes_give_the_same_columns(tmp_path):
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(
        {"age": [22.0, None, 38.0], "sex": ["male", "female", None], "n": [1, 2, 3]}
    )
    frame["port"] = pd.Categorical(["S", "C", "S"])
    frame.to_parquet(tmp_path / "d.parquet")
    for columns in (read_columns(tmp_path / "d.parquet"), columns_from(frame)):
        assert columns.names == ["age", "sex", "n", "port"]
        np.testing.assert_array_equal(columns["age"], [22, np.nan, 38])
        assert columns["sex"].strings().tolist() == ["male", "female", None]
        assert columns["port"].strings().tolist() == ["S", "C", "S"]


def test_a_dict_of_columns():
    columns = columns_from({"x": [1, 2, 3], "c": np.array(["a", None, "b"], dtype=object)})
    assert columns["x"].dtype == np.float64
    assert columns["c"].strings().tolist() == ["a", None, "b"]
    with pytest.raises(DataFileError, match="different lengths"):
        columns_from({"x": [1, 2], "y": [1]})
    with pytest.raises(DataFileError, match="expected a DataFrame"):
        columns_from([1, 2, 3])


def test_quoted_newlines_across_the_readers_blocks(tmp_path):
    """pyarrow parses blocks of ~1 MB apart; a cell spanning lines across two of them
    makes it read the file again in one stream, to the same rows."""
    rows = "".join(f'"line {i}\nnext, and more",{i}\n' for i in range(60_000))
    columns = read_columns(write(tmp_path / "n.csv", "text,n\n" + rows))
    assert columns.n_rows == 60_000 and columns["n"][-1] == 59_999
    assert columns["text"].strings()[12_345] == "line 12345\nnext, and more"


def test_names_that_meet_once_trimmed_are_numbered_whatever_their_order(tmp_path):
    # "a" is clean and keeps its name; " a" and "a " are numbered by their raw names,
    # not their places, so a file with its columns in another order names them alike.
    first = read_columns(write(tmp_path / "1.csv", "a , a,a,a_2\n1,2,3,4\n"))
    assert first.names == ["a_4", "a_3", "a", "a_2"]  # a_2 is taken: the numbers skip it
    second = read_columns(write(tmp_path / "2.csv", "a,a_2, a,a \n3,4,2,1\n"))
    assert {n: second[n][0] for n in second.names} == {n: first[n][0] for n in first.names}
    assert unique_names(["x", "x", "x", "y"]) == ["x", "x_2", "x_3", "y"]


def test_what_a_file_may_ask_for_is_bounded(tmp_path):
    path = write(tmp_path / "d.csv", "a,t\n1,x\n2," + "y" * 5000 + "\n")
    with pytest.raises(DataFileError, match=r"d.csv: --na-values .* holds 3 markers"):
        read_columns(path, na_values=["?", "-", "."], limits=Limits(max_na_values=2))
    with pytest.raises(DataFileError, match="column 't' holds a cell of 5,000 bytes in data row 2"):
        read_columns(path, limits=Limits(max_cell_bytes=4096))
    with pytest.raises(DataFileError, match="the header names 2 columns, over the limit of 1"):
        read_columns(path, limits=Limits(max_columns=1))
    with pytest.raises(DataFileError, match="need about .* over the limit of 100 bytes"):
        read_columns(path, limits=Limits(max_memory=100))
    assert read_columns(path, limits=Limits(max_cell_bytes=5000)).n_rows == 2


def test_a_row_longer_than_the_readers_block_is_read(tmp_path):
    # pyarrow parses blocks of 4 MiB; a row longer than one is read again in one block.
    path = write(tmp_path / "long.csv", "t,n\n" + "x" * (5 << 20) + ",1\nshort,2\n")
    columns = read_columns(path, limits=Limits(max_cell_bytes=8 << 20))
    assert columns["n"].tolist() == [1, 2]


def test_columns_that_are_not_one_value_a_cell_are_refused():
    pa = pytest.importorskip("pyarrow")
    with pytest.raises(DataFileError, match="column 'l' holds values of type list<"):
        columns_from(pa.table({"l": [[1, 2], [3]], "x": [1.0, 2.0]}))
    ids = pa.array([2**64 - 1, 1], type=pa.uint64())
    with pytest.raises(DataFileError, match=r"'id' holds whole numbers beyond 2\*\*53"):
        columns_from(pa.table({"id": ids}))
    fine = pa.array([2**53, 1], type=pa.uint64())  # exactly a float64
    assert columns_from(pa.table({"id": fine}))["id"].tolist() == [2.0**53, 1.0]


def test_parquet_metadata_are_checked_before_reading(tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    path = tmp_path / "d.parquet"
    pq.write_table(pa.table({"x": np.zeros(100_000), "c": ["same text"] * 100_000}), path)
    with pytest.raises(DataFileError, match="declare 100,000 rows of 2 columns"):
        read_columns(path, limits=Limits(max_memory=1 << 20))
    with pytest.raises(DataFileError, match="the file has 2 columns, over the limit of 1"):
        read_columns(path, limits=Limits(max_columns=1))
    assert read_columns(path)["c"].categories == ["same text"]  # read as codes
