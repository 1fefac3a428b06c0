"""ldnn.data.split: the one seeded split of m examples that every caller uses."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ldnn.data.split import held_out_count, split_columns, split_indices
from ldnn.errors import ConfigurationError


def test_the_held_out_part_is_the_head_of_the_seeds_permutation():
    kept, held = split_indices(10, 0.3, 7)
    order = np.random.default_rng(7).permutation(10)
    assert held.tolist() == order[:3].tolist() and kept.tolist() == order[3:].tolist()


def test_a_generator_is_drawn_from_and_goes_on_from_there():
    rng, twin = np.random.default_rng(1), np.random.default_rng(1)
    kept, held = split_indices(8, 0.25, rng)
    order = twin.permutation(8)
    assert held.tolist() == order[:2].tolist()
    assert rng.random() == twin.random()  # the caller's stream continues where it would


def test_counts_minimum_and_order():
    assert held_out_count(10, 0.04) == 0 and held_out_count(10, 0.04, minimum=1) == 1
    assert held_out_count(10, 0.25) == 2  # round half to even, as Python's round
    kept, held = split_indices(20, 0.5, 3, ordered=True)
    assert kept.tolist() == sorted(kept.tolist()) and held.tolist() == sorted(held.tolist())


def test_a_split_that_keeps_nothing_names_the_setting():
    with pytest.raises(ConfigurationError, match="--test-split 0.9 leaves no training examples"):
        split_indices(2, 0.9, 0, name="--test-split")


def test_stratified_split_holds_out_every_class_in_proportion():
    labels = np.array([0] * 90 + [1] * 10)
    kept, held = split_indices(100, 0.2, 0, stratify=labels)
    assert np.bincount(labels[held]).tolist() == [18, 2]
    assert np.bincount(labels[kept]).tolist() == [72, 8]
    # A plain split of the same seed need not: here it holds out 4 of class 1.
    _, plain = split_indices(100, 0.2, 0)
    assert np.bincount(labels[plain], minlength=2).tolist() != [18, 2]


def test_stratified_split_keeps_one_example_of_a_class_when_it_can():
    labels = np.array(["a"] + ["b"] * 9)
    kept, held = split_indices(10, 0.5, 0, stratify=labels)
    assert "a" in labels[kept].tolist() and len(held) == 5


@given(
    counts=st.lists(st.integers(1, 30), min_size=1, max_size=5),
    fraction=st.floats(0.05, 0.6),
    seed=st.integers(0, 2**32 - 1),
)
def test_stratified_split_properties(counts, fraction, seed):
    labels = np.repeat(np.arange(len(counts)), counts)
    m = labels.size
    n_held = held_out_count(m, fraction)
    if n_held >= m:
        return
    kept, held = split_indices(m, fraction, seed, stratify=labels)
    assert len(held) == n_held  # exactly the requested size
    assert sorted([*kept, *held]) == list(range(m))  # a partition of the examples
    for k, c in enumerate(counts):  # each class within one of its share
        assert abs(np.count_nonzero(labels[held] == k) - n_held * c / m) < 1 + 1e-9
    assert split_indices(m, fraction, seed, stratify=labels)[1].tolist() == held.tolist()


def test_split_columns_takes_columns_and_labels():
    X, Y, y = np.arange(12).reshape(2, 6), np.arange(6).reshape(1, 6), np.arange(6)
    (Xk, Yk), (Xh, Yh) = split_columns(X, Y, np.array([0, 2]), np.array([5]))
    assert Xk.tolist() == [[0, 2], [6, 8]] and Yk.tolist() == [[0, 2]] and Xh.shape == (2, 1)
    (_, yk), (_, yh) = split_columns(X, y, np.array([1]), np.array([3, 4]))
    assert yk.tolist() == [1] and yh.tolist() == [3, 4]
