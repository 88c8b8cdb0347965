"""The cross-validation folds of the trainer's recipe choices: a seeded partition that covers
every train query once, split folders whose train and dev qrels are the two sides of a fold, and
the paired rule that reads the folds' figures."""

from __future__ import annotations

import json
import math

import pytest
from conftest import SHARED_DATA, requires_shared

from benchmarks.train_folds import decide, main, partition


def test_partition_covers_every_id_once_in_near_equal_folds():
    ids = [str(i) for i in range(11)]
    folds = partition(ids, 4, seed=0)
    assert sorted(q for fold in folds for q in fold) == sorted(ids)
    assert sorted(len(f) for f in folds) == [2, 3, 3, 3]
    assert all(fold == sorted(fold) for fold in folds)


def test_partition_is_fixed_by_its_seed_not_by_the_input_order():
    ids = [str(i) for i in range(20)]
    assert partition(ids, 4, seed=1) == partition(ids[::-1], 4, seed=1)
    assert partition(ids, 4, seed=1) != partition(ids, 4, seed=2)


def test_partition_needs_two_folds_and_at_most_one_id_each():
    with pytest.raises(ValueError, match="k must be"):
        partition(["a", "b"], 1, seed=0)
    with pytest.raises(ValueError, match="k must be"):
        partition(["a", "b"], 3, seed=0)


def test_decide_chooses_a_mean_above_zero_and_two_standard_errors():
    # d = 0.01, 0.02, 0.03, 0.02: mean 0.02, sd 0.008165, 2 SE 0.008165
    decision = decide([0.6, 0.6, 0.6, 0.6], [0.61, 0.62, 0.63, 0.62], min_pairs=4)
    assert decision.mean == pytest.approx(0.02)
    assert decision.sd == pytest.approx(math.sqrt(2e-4 / 3))
    assert decision.two_se == pytest.approx(decision.sd)
    assert decision.chosen


def test_decide_does_not_choose_a_mean_inside_two_standard_errors():
    # d = +0.03, -0.01, +0.01, -0.01: mean 0.005, sd 0.0191
    assert not decide([0.6] * 4, [0.63, 0.59, 0.61, 0.59], min_pairs=4).chosen


def test_decide_does_not_choose_with_fewer_pairs_than_asked():
    decision = decide([0.6] * 3, [0.62, 0.62, 0.63], min_pairs=4)
    assert decision.mean > decision.two_se
    assert not decision.chosen


@requires_shared
def test_each_fold_folder_trains_on_the_other_folds_and_holds_its_own_as_dev(tmp_path):
    main(["--out", str(tmp_path), "--data-dir", str(SHARED_DATA)])
    folds = json.loads((tmp_path / "folds.json").read_text())["folds"]
    assert len(folds) == 4 and sum(map(len, folds)) == 809

    def queries(fold: int, split: str) -> set[str]:
        lines = (tmp_path / f"fold{fold}" / "qrels" / f"{split}.tsv").read_text().splitlines()[1:]
        return {line.split("\t")[0] for line in lines}

    for i, fold in enumerate(folds):
        assert queries(i, "dev") == set(fold)
        assert queries(i, "train") == {q for j, f in enumerate(folds) if j != i for q in f}
