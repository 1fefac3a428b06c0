"""The column rules fitted from MPI ranks' shares (ldnn.data.shared_stats): every answer
is the whole column's, exactly (ranks as threads of this process, shares of any size,
empty ones too); the end-to-end run on real ranks is test_parallel's streamed table."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ldnn.data.rules import ColumnNumbers, check_markers, number_rule, text_rule
from ldnn.data.shared_stats import SharedNumbers, SharedText
from ldnn.data.tables import Columns, Text

sys.path.insert(0, str(Path(__file__).parent / "mpi"))
from thread_comm import run_ranks  # noqa: E402


def cuts(m: int, P: int, seed: int) -> list:
    """P shares of m rows, consecutive, of random sizes (some maybe empty)."""
    edges = np.sort(np.random.default_rng(seed).integers(0, m + 1, P - 1))
    return [slice(a, b) for a, b in zip([0, *edges], [*edges, m], strict=True)]


def on_ranks(values: np.ndarray, P: int, seed: int, ask):
    """ask(SharedNumbers of rank r's share) on each of P thread ranks."""
    shares = cuts(len(values), P, seed)
    return run_ranks(P, lambda comm: ask(SharedNumbers(values[shares[comm.Get_rank()]], comm)))


values_strategy = st.lists(
    st.one_of(
        st.floats(allow_nan=False, allow_infinity=False, width=64),
        st.sampled_from([0.0, -0.0, 1.0, -1.0, 2.5, np.nan]),
        st.integers(-50, 50).map(float),
    ),
    min_size=1,
    max_size=60,
)


@settings(max_examples=80, deadline=None)
@given(values=values_strategy, P=st.integers(1, 4), seed=st.integers(0, 1000))
def test_the_median_from_shares_is_the_whole_column_s_bit_for_bit(values, P, seed):
    values = np.array(values, dtype=np.float64)
    present = values[~np.isnan(values)]
    answers = on_ranks(
        values,
        P,
        seed,
        lambda c: (c.size, c.missing, c.low, c.high, c.median() if c.size > c.missing else None),
    )
    for size, missing, low, high, median in answers:
        assert (size, missing) == (values.size, values.size - present.size)
        if present.size:
            assert (low, high) == (present.min(), present.max())
            expected = float(np.median(present))
            assert np.array_equal(np.float64(median), np.float64(expected)), (median, expected)


@pytest.mark.parametrize(
    "column",
    [
        np.random.default_rng(0).permutation(200).astype(float) + 7,  # an ID
        np.r_[np.arange(199), 5.0],  # whole numbers, one twice
        np.r_[np.arange(199), 5.5],  # not whole
        np.full(200, 3.0),  # constant
        np.full(200, np.nan),  # empty
        np.where(np.arange(200) % 9 == 0, np.nan, np.arange(200) % 13),  # missing cells
        np.arange(200) * 3.0,  # distinct whole numbers, but a sparse range
    ],
)
@pytest.mark.parametrize("P", [1, 2, 3, 5])
def test_number_rules_from_shares_are_the_whole_column_s(column, P):
    whole = number_rule("c", column, "median")
    assert on_ranks(column, P, P, lambda c: number_rule("c", c, "median")) == [whole] * P
    assert isinstance(number_rule("c", column, "median"), type(whole))
    assert ColumnNumbers(column).size == 200


def text_on_ranks(codes, categories, P, seed, ask):
    shares = cuts(len(codes), P, seed)
    number_like = np.array([c.replace(".", "").isdigit() for c in categories])

    def rank(comm):
        share = shares[comm.Get_rank()]
        positions = np.arange(len(codes))[share]
        return ask(SharedText(codes[share], categories, number_like, comm, positions))

    return run_ranks(P, rank), Text(codes, categories, number_like)


@pytest.mark.parametrize("P", [1, 2, 4])
def test_text_rules_and_the_marker_check_from_shares_are_the_whole_column_s(P):
    rng = np.random.default_rng(P)
    categories = ["red", "blue", "green", "rare", "gone"]
    codes = rng.choice([0, 1, 2, -1], 300).astype(np.int32)
    codes[[17, 250]] = 3  # seen twice; "gone" never
    shared, whole = text_on_ranks(
        codes, categories, P, 3, lambda t: text_rule("c", t, "category", 3)
    )
    assert shared == [text_rule("c", whole, "category", 3)] * P
    assert shared[0].categories == ["blue", "green", "red", "(other)", "(missing)"]
    # numbers with a stray "?": refused naming the whole column's first row of it
    numbers = [str(k) for k in range(40)] + ["?"]
    codes = rng.integers(0, 40, 400).astype(np.int32)
    codes[[123, 321]] = 40

    def check(text):
        try:
            check_markers(Columns({"n": text}, "t.csv"))
        except Exception as error:  # noqa: BLE001 - compared below
            return str(error)

    said, whole = text_on_ranks(codes, numbers, P, 5, check)
    expected = check(whole)
    assert "data row 124 holds '?'" in expected and said == [expected] * P


@pytest.mark.parametrize("P", [1, 3])
def test_what_a_test_part_holds_unseen_is_counted_from_shares_as_whole(P):
    from ldnn.data.encoding import TableEncoding

    rng = np.random.default_rng(P)
    categories = ["a", "b", "c", "new"]
    train = {"n": rng.normal(size=80), "t": np.array(["a", "b", "c"] * 26 + ["a", "b"])}
    encoding = TableEncoding.fit(train)
    numbers = np.where(rng.random(90) < 0.1, np.nan, rng.normal(size=90))
    codes = rng.integers(-1, 4, 90).astype(np.int32)  # -1 missing, 3 never seen
    number_like = np.zeros(4, dtype=bool)
    whole = encoding.unexpected(Columns({"n": numbers, "t": Text(codes, categories)}))
    assert whole["unseen"]["t"] == int((codes == 3).sum()) and whole["missing"]["n"] > 0
    shares = cuts(90, P, 7)

    def rank(comm):
        share = shares[comm.Get_rank()]
        positions = np.arange(90)[share]
        columns = {
            "n": SharedNumbers(numbers[share], comm),
            "t": SharedText(codes[share], categories, number_like, comm, positions),
        }
        return encoding.unexpected(Columns(columns, "t.csv"))

    assert run_ranks(P, rank) == [whole] * P
