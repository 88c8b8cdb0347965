"""index.remembered: a value made once per distinct settings, remade when its sources change."""

from dataclasses import dataclass

from lsr.index.remembered import LIMIT, Remembered


@dataclass(frozen=True)
class Defaults:
    query_cut: int


def counting(made: list):
    def make(given: tuple) -> tuple:
        made.append(given)
        return ("made", *given)

    return make


def test_a_value_is_made_once_per_distinct_settings_told_apart_by_type():
    made: list = []
    remembered: Remembered[tuple] = Remembered()
    sources = (Defaults(5),)
    for given in [(10, 1), (10, 1), (10, 1.0), (10, True), (10, 1)]:
        assert remembered.get(sources, given, counting(made)) == ("made", *given)
    assert made == [(10, 1), (10, 1.0), (10, True)]


def test_new_sources_remake_equal_ones_do_not():
    made: list = []
    remembered: Remembered[tuple] = Remembered()
    remembered.get((Defaults(5), None), (10,), counting(made))
    remembered.get((Defaults(5), None), (10,), counting(made))  # equal values: what make reads
    remembered.get((Defaults(6), None), (10,), counting(made))
    remembered.get((Defaults(5), None), (10,), counting(made))
    assert len(made) == 3


def test_unhashable_settings_answer_none_and_are_not_made():
    made: list = []
    remembered: Remembered[tuple] = Remembered()
    assert remembered.get((Defaults(5),), (10, [1]), counting(made)) is None
    assert made == []


def test_past_the_limit_everything_is_forgotten_and_made_again():
    made: list = []
    remembered: Remembered[tuple] = Remembered()
    sources = (Defaults(5),)
    for k in range(LIMIT + 1):
        remembered.get(sources, (k,), counting(made))
    remembered.get(sources, (0,), counting(made))
    assert len(made) == LIMIT + 2
