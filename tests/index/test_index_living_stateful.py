"""Random sequences of add / update / delete / merge / reopen on a living index, against a plain
dictionary (hypothesis stateful testing): exact search always equals brute force over the live
documents, approximate search never returns a deleted one, and the index holds exactly the
model's documents."""

import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from living_model import METADATA, check_search, contents, model_of, vectors
from lsr.index import BuildConfig
from lsr.index.living import LivingIndex

IDS = [f"d{i}" for i in range(60)]
# Small segments: exact ones below 6 documents, Seismic ones above, both kinds in every run.
EXACT_MAX = 6
CONFIG = BuildConfig(n_postings=10**6)


class LivingIndexMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.root = Path(tempfile.mkdtemp(prefix="living-"))
        self.model: dict[str, dict[int, float]] = {}
        self.index = self._open()

    def _open(self) -> LivingIndex:
        return LivingIndex.open(
            self.root / "index", metadata=METADATA, config=CONFIG, exact_max_docs=EXACT_MAX
        )

    @rule(ids=st.lists(st.sampled_from(IDS), min_size=1, max_size=12, unique=True),
          seed=st.integers(0, 2**31))  # fmt: skip
    def add(self, ids, seed):
        batch = vectors(ids, seed)
        updates = self.index.add(batch)
        assert updates == len(set(ids) & set(self.model))
        self.model |= model_of(batch)

    @rule(ids=st.lists(st.sampled_from([*IDS, "never-added"]), max_size=10, unique=True))
    def delete(self, ids):
        assert self.index.delete(ids) == len(set(ids) & set(self.model))
        for doc_id in ids:
            self.model.pop(doc_id, None)

    @rule(max_segments=st.integers(1, 3))
    def merge(self, max_segments):
        self.index.merge(max_segments)
        segments = self.index.commit.segments
        assert len(segments) <= max_segments
        assert all(entry.n_deleted == 0 for entry in segments)

    @precondition(lambda self: self.model)
    @rule()
    def reopen(self):
        self.index.close()
        self.index = self._open()

    @invariant()
    def holds_the_model(self):
        assert len(self.index) == len(self.model)
        assert contents(self.index.reader) == self.model

    @invariant()
    def searches_the_live_documents(self):
        check_search(self.index.reader, self.model, k=5)
        check_search(self.index.reader, self.model, k=5, exact=False)

    def teardown(self):
        self.index.close()
        shutil.rmtree(self.root, ignore_errors=True)


LivingIndexMachine.TestCase.settings = settings(
    max_examples=25, stateful_step_count=15, deadline=None
)
TestLivingIndex = LivingIndexMachine.TestCase
TestLivingIndex.pytestmark = [pytest.mark.slow]
