"""The teacher-ensemble benchmark's own choices: which train queries it holds out and how it cuts
each first stage's candidates (the measurement itself is reports/train-ensemble.md)."""

from __future__ import annotations

from benchmarks.teacher_ensemble import held_out, top


def test_the_held_out_queries_are_a_seeded_draw_in_id_order():
    ids = [str(i) for i in range(50)]
    chosen = held_out(ids, 10, seed=0)
    assert len(set(chosen)) == 10 and set(chosen) <= set(ids)
    assert chosen == sorted(chosen)
    assert held_out(list(reversed(ids)), 10, seed=0) == chosen
    assert held_out(ids, 10, seed=1) != chosen


def test_top_cuts_by_score_then_position():
    assert top({5: 1.0, 2: 3.0, 9: 3.0, 1: 0.5}, 3) == [2, 9, 5]
