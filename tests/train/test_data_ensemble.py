"""The teacher ensemble (lsr/train/data/ensemble.py): min-max normalisation and the weighted
average checked by hand, its invariances by hypothesis, the weight search on a case whose answer
is known, and the ensemble over real teachers equal to combining their scores."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import requires_shared
from data_samples import scifact_sample
from hypothesis import given, settings
from hypothesis import strategies as st

from lsr.encoders import Bm25Encoder
from lsr.errors import InputError
from lsr.train.data.ensemble import (
    Ensemble,
    choose_weights,
    combine,
    min_max,
    ndcg_at_10,
    simplex_grid,
)
from lsr.train.data.teachers import SparseTeacher
from lsr.train.examples import TrainingExample


def test_min_max_by_hand():
    assert min_max(np.array([2.0, 4.0, 6.0, 3.0])).tolist() == [0.0, 0.5, 1.0, 0.25]


def test_min_max_of_equal_scores_is_no_preference():
    assert min_max(np.array([3.0, 3.0])).tolist() == [0.0, 0.0]
    assert min_max(np.array([])).tolist() == []


def test_combine_by_hand():
    # query 1: teacher A [1, 3, 2] -> [0, 1, .5]; teacher B [10, 30, 30] -> [0, 1, 1]
    # weights 3:1, scale 2: 2 * (0.75 * A + 0.25 * B) = [0, 2, 1.25]
    a = [np.array([1.0, 3.0, 2.0])]
    b = [np.array([10.0, 30.0, 30.0])]
    [scores] = combine([a, b], weights=[3.0, 1.0], scale=2.0)
    np.testing.assert_allclose(scores, [0.0, 2.0, 1.25])


scores_lists = st.lists(
    st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False), min_size=2, max_size=10
)


@settings(max_examples=100, deadline=None)
@given(scores=scores_lists, factor=st.floats(1e-2, 1e2), shift=st.floats(-1e3, 1e3))
def test_min_max_ignores_each_teachers_scale_and_offset(scores, factor, shift):
    scores = np.array(scores)
    if np.ptp(scores) < 1e-3:
        return  # (nearly) equal scores: no preference either way
    normalised = min_max(scores)
    assert normalised.min() == 0.0 and normalised.max() == pytest.approx(1.0)
    np.testing.assert_allclose(min_max(scores * factor + shift), normalised, atol=1e-6)


def test_simplex_grid_has_every_point_once():
    grid = simplex_grid(3, 0.1)
    assert len(grid) == 66  # C(10 + 2, 2)
    assert len(set(grid)) == 66
    assert all(sum(w) == pytest.approx(1.0) for w in grid)


def test_a_step_that_does_not_divide_one_is_refused():
    with pytest.raises(InputError, match=r"^step must divide 1"):
        simplex_grid(2, 0.3)


def test_ndcg_of_a_perfect_and_of_a_reversed_ranking():
    qrels = {"q": {"a": 1}}
    assert ndcg_at_10(["q"], [["a", "b"]], [np.array([2.0, 1.0])], qrels) == 1.0
    # the relevant document at rank 2: 1 / log2(3)
    value = ndcg_at_10(["q"], [["a", "b"]], [np.array([1.0, 2.0])], qrels)
    assert value == pytest.approx(1 / np.log2(3))


def test_the_weight_search_finds_the_teacher_that_ranks_right():
    qrels = {"q1": {"a": 1}, "q2": {"d": 1}}
    docs = [["a", "b", "c"], ["d", "e", "f"]]
    right = [np.array([3.0, 2.0, 1.0]), np.array([3.0, 1.0, 2.0])]
    wrong = [np.array([1.0, 2.0, 3.0]), np.array([1.0, 3.0, 2.0])]
    weights, value = choose_weights([wrong, right], ["q1", "q2"], docs, qrels, step=0.25)
    assert weights[1] > weights[0]
    assert value == 1.0


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"weights": [1.0]}, r"^weights: 1 weights for 2 teachers"),
        ({"weights": [1.0, -1.0]}, r"^weights must be finite, >= 0"),
        ({"weights": [0.0, 0.0]}, r"^weights must be finite, >= 0 and not all 0"),
        ({"scale": 0.0}, r"^scale must be a positive number"),
    ],
)
def test_bad_ensemble_settings_are_refused_naming_the_parameter(options, message):
    teacher = SparseTeacher(Bm25Encoder.fit(["red fox"]))
    with pytest.raises(InputError, match=message):
        Ensemble([teacher, teacher], **options)


@requires_shared
def test_the_ensemble_of_real_teachers_combines_their_scores_and_labels_examples():
    corpus, examples = scifact_sample(n_queries=3, n_other=20)
    bm25 = SparseTeacher(Bm25Encoder.fit(corpus.texts), "bm25")
    bm25_plain = SparseTeacher(Bm25Encoder.fit(corpus.texts, stemmer=None), "bm25-unstemmed")
    ensemble = Ensemble([bm25, bm25_plain], weights=[0.7, 0.3], scale=10.0)
    negatives = tuple(corpus.texts[-3:])
    labelled = ensemble.score_examples(
        [TrainingExample(e.query, e.positive, negatives) for e in examples]
    )
    expected = combine(
        [
            t.score([e.query for e in labelled], [e.documents for e in labelled])
            for t in (bm25, bm25_plain)
        ],
        [0.7, 0.3],
        10.0,
    )
    for example, scores in zip(labelled, expected):
        assert len(example.scores) == 4
        np.testing.assert_allclose(example.scores, scores)
        assert 0.0 <= min(example.scores) and max(example.scores) <= 10.0
