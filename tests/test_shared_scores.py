"""Scores of a part that ranks hold together, each its own examples, summed across the
ranks without gathering the part (ldnn.runs.shared_scores): scikit-learn's scores of
the whole part (ldnn.runs.predictions.score_outputs) within 1e-12, the counts exactly,
on 1-4 ranks (threads standing in for MPI), shares of any size, ties and empty shares."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ldnn.runs import shared_scores as shared_module
from ldnn.runs.predictions import score_outputs
from ldnn.runs.shared_scores import shared_scores

sys.path.insert(0, str(Path(__file__).parent / "mpi"))
from thread_comm import run_ranks  # noqa: E402


def on_ranks(AL, Y, info, cuts):
    """shared_scores on len(cuts) + 1 thread ranks, each holding the columns between cuts."""
    edges = [0, *cuts, AL.shape[1]]

    def rank(comm):
        r = comm.Get_rank()
        part = slice(edges[r], edges[r + 1])
        return shared_scores(AL[:, part], Y[:, part], info, comm)

    scores = run_ranks(len(edges) - 1, rank)
    assert all(s is None for s in scores[1:])  # rank 0 gets the scores
    return scores[:1]


def assert_same_scores(got: dict, expected: dict) -> None:
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        if isinstance(value, dict):
            assert_same_scores(got[key], value)
        elif isinstance(value, float):
            assert got[key] == pytest.approx(value, rel=1e-12, abs=1e-15), key
        else:
            assert got[key] == value, key


@settings(max_examples=25, deadline=None)
@given(
    m=st.integers(2, 400),
    K=st.sampled_from([1, 3, 4]),  # (1: one sigmoid unit, two classes)
    levels=st.sampled_from([3, 50, 0]),  # scores rounded to few values (ties), or not
    ranks=st.integers(1, 4),
    seed=st.integers(0, 10_000),
    data=st.data(),
)
def test_classification_scores_summed_across_ranks_are_the_whole_part_s(
    m, K, levels, ranks, seed, data
):
    rng = np.random.default_rng(seed)
    classes = 2 if K == 1 else K
    AL = rng.random((1, m)) if K == 1 else rng.dirichlet(np.ones(K), size=m).T
    if levels:
        AL = np.round(AL * levels) / levels
        if K > 1:
            AL = np.clip(AL, 1e-3, None)
    Y = rng.integers(0, classes, (1, m)).astype(float)
    cuts = sorted(data.draw(st.lists(st.integers(0, m), min_size=ranks - 1, max_size=ranks - 1)))
    info = {"task": "classification", "classes": [f"c{k}" for k in range(classes)]}
    expected = score_outputs(AL, Y, info)
    for got in on_ranks(AL, Y, info, cuts):
        assert_same_scores(got, expected)


def test_the_areas_go_round_by_round_when_a_rank_has_more_positives_than_a_round(monkeypatch):
    monkeypatch.setattr(shared_module, "CHUNK", 7)
    rng = np.random.default_rng(1)
    AL, Y = rng.random((1, 300)), (rng.random((1, 300)) < 0.4).astype(float)
    info = {"task": "classification", "classes": ["no", "yes"]}
    expected = score_outputs(AL, Y, info)
    for got in on_ranks(AL, Y, info, [40, 41, 200]):
        assert_same_scores(got, expected)


@pytest.mark.parametrize("constant", [False, True])
@pytest.mark.parametrize("outputs", [1, 2])
def test_regression_scores_summed_across_ranks_are_the_whole_part_s(constant, outputs):
    rng = np.random.default_rng(2)
    m = 250
    Y = np.full((outputs, m), 3.0) if constant else rng.normal(5, 2, (outputs, m))
    AL = Y + (0 if constant else rng.normal(0, 0.5, (outputs, m)))
    info = {"task": "regression", "y_mean": [0.0] * outputs, "y_std": [1.0] * outputs}
    expected = score_outputs(AL, Y, info)
    for got in on_ranks(AL, Y, info, [0, 100, 180]):  # (the first rank holds none)
        assert_same_scores(got, expected)
