"""Filtered search (index.filters, index.attributes) against a plain per-document evaluation of
the same filter and an exact filtered brute force (hypothesis), on a living index of several
segments of both kinds, before and after a merge."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from living_model import METADATA, QUERIES, brute_force, model_of, vectors
from lsr.index import BuildConfig, segmented
from lsr.index.filters import parse
from lsr.index.living import LivingIndex

from lsr.errors import InputError

IDS = [f"d{i}" for i in range(120)]
TENANTS = ["acme", "globex", "initech"]


def attributes_of(i: int) -> dict:
    """Attributes of document i: some keys missing on purpose."""
    record = {"tenant": TENANTS[i % 3], "year": 2000 + i % 20}
    if i % 4:
        record["published"] = (dt.date(2020, 1, 1) + dt.timedelta(days=7 * i)).isoformat()
    if i % 5 == 0:
        del record["tenant"]
    return record


ATTRIBUTES = {doc_id: attributes_of(i) for i, doc_id in enumerate(IDS)}


@pytest.fixture(scope="module")
def living(tmp_path_factory):
    """Segments of 40 (Seismic), 40 (Seismic), 30 (exact) documents, 10 of them updated, and
    some deleted; Seismic kept exact (nothing pruned) so that filtered results can be compared
    hit for hit."""
    directory = tmp_path_factory.mktemp("filters") / "index"
    index = LivingIndex.open(directory, METADATA, BuildConfig(n_postings=10**6), exact_max_docs=35)
    index.add(vectors(IDS[:40], seed=1), ATTRIBUTES)
    index.add(vectors(IDS[40:80], seed=2), ATTRIBUTES)
    index.add(vectors(IDS[80:110], seed=3), ATTRIBUTES)
    index.add(vectors(IDS[100:120], seed=4), ATTRIBUTES)
    index.delete(["d3", "d44", "d85"])
    model = model_of(vectors(IDS[:40], seed=1)) | model_of(vectors(IDS[40:80], seed=2))
    model |= model_of(vectors(IDS[80:110], seed=3)) | model_of(vectors(IDS[100:120], seed=4))
    for gone in ("d3", "d44", "d85"):
        del model[gone]
    yield index, model
    index.close()


def passes(condition: dict, record: dict) -> bool:
    """The filter semantics, one document at a time (the reference)."""
    if "key" not in condition:
        must = all(passes(c, record) for c in condition.get("must", []))
        should = not condition.get("should") or any(passes(c, record) for c in condition["should"])
        return must and should and not any(passes(c, record) for c in condition.get("must_not", []))
    if condition["key"] not in record:
        return False
    value = record[condition["key"]]
    if "match" in condition:
        return value in condition["match"].get("any", [condition["match"].get("value")])
    bounds = {"gt": value.__gt__, "gte": value.__ge__, "lt": value.__lt__, "lte": value.__le__}
    for name, bound in condition["range"].items():
        if type(bound) is not type(value) or not bounds[name](bound):
            return False
    return True


conditions = st.one_of(
    st.builds(lambda v: {"key": "tenant", "match": {"value": v}}, st.sampled_from(TENANTS)),
    st.builds(lambda vs: {"key": "tenant", "match": {"any": vs}},
              st.lists(st.sampled_from(TENANTS), min_size=1, max_size=2, unique=True)),
    st.builds(lambda v: {"key": "year", "match": {"value": v}}, st.integers(1999, 2020)),
    st.builds(lambda lo, hi: {"key": "year", "range": {"gte": lo, "lt": hi}},
              st.integers(1999, 2021), st.integers(1999, 2021)),
    st.builds(lambda d: {"key": "published", "range": {"gt": d.isoformat()}},
              st.dates(dt.date(2019, 12, 1), dt.date(2022, 6, 1))),
)  # fmt: skip
filters = st.builds(
    lambda must, should, must_not: {"must": must, "should": should, "must_not": must_not},
    st.lists(conditions, max_size=2),
    st.lists(conditions, max_size=2),
    st.lists(conditions, max_size=1),
)


def check(index, model, filter_, k, **params):
    allowed = {d: v for d, v in model.items() if passes(filter_, ATTRIBUTES[d])}
    results = index.search_batch(QUERIES, k=k, filter=filter_, **params)
    for q in range(len(QUERIES)):
        truth = brute_force(allowed, q)
        hits = results.hits(q)
        assert all(doc_id in truth for doc_id, _ in hits), "a hit the filter disallows"
        expected = sorted(truth.values(), reverse=True)[:k]
        np.testing.assert_allclose([s for _, s in hits], expected, rtol=1e-5)


@settings(max_examples=60, deadline=None)
@given(filters, st.integers(1, 12))
def test_filtered_search_is_exact_filtered_brute_force(living, filter_, k):
    index, model = living
    check(index.reader.exact(), model, filter_, k)
    # Seismic segments visiting every block (heap_factor 0) are exact too: the pre-filter in the
    # block loop and the scan of a few allowed documents must both keep them so.
    check(index.reader, model, filter_, k, heap_factor=0.0, query_cut=100)
    scan_fraction = segmented.SCAN_FRACTION
    segmented.SCAN_FRACTION = 0.3  # most filters scan their allowed documents instead
    try:
        check(index.reader, model, filter_, k, heap_factor=0.0, query_cut=100)
    finally:
        segmented.SCAN_FRACTION = scan_fraction


def test_attributes_survive_a_merge(living):
    index, _ = living
    filter_ = {"must": [{"key": "tenant", "match": {"value": "acme"}}]}
    before = index.reader.exact().search_batch(QUERIES, k=5, filter=filter_).to_dict()
    index.merge(1)
    assert index.reader.exact().search_batch(QUERIES, k=5, filter=filter_).to_dict() == before


@pytest.mark.parametrize(
    ("filter_", "message"),
    [
        ({"must": {"key": "a"}}, r"filter.must: must be a list"),
        ({"shall": []}, r"filter.shall: unknown clause"),
        ({"must": [{"match": {"value": 1}}]}, r"filter.must\[0\].key: a condition needs a 'key'"),
        ({"must": [{"key": "a", "match": {"value": [1]}}]}, r"filter.must\[0\].match.value: must"),
        ({"should": [{"key": "a", "match": {"any": []}}]}, r"filter.should\[0\].match.any: must"),
        ({"must": [{"key": "a", "range": {"gt": True}}]}, r"filter.must\[0\].range.gt: must be"),
        ({"must": [{"key": "a", "range": {"above": 1}}]}, r"filter.must\[0\].range: must hold"),
        ({"must": [{"key": "a", "range": {"gt": "May"}}]}, r"range.gt: 'May' is not an ISO 8601"),
        ({"must_not": [{"must": [{"key": "a"}]}]}, r"filter.must_not\[0\].must\[0\]: a condition"),
        ("{not json", r"filter: not valid JSON"),
    ],
)
def test_bad_filters_name_the_field(filter_, message):
    with pytest.raises(InputError, match=message):
        parse(filter_)


def test_attributes_of_mixed_types_are_refused(tmp_path):
    with LivingIndex.open(tmp_path, METADATA) as index:
        with pytest.raises(InputError, match="field 'year': mixes number and str values"):
            index.add(vectors(["a", "b"], seed=1), {"a": {"year": 2001}, "b": {"year": "2001"}})
        with pytest.raises(InputError, match="attributes of 'a', field 'ok': True is not"):
            index.add(vectors(["a"], seed=1), {"a": {"ok": True}})
