"""eval/cache.py: cache entries change exactly when the model or the corpus does."""

from __future__ import annotations

from lsr.eval.cache import cache_root, entry_dir

from lsr.datasets import load_dataset
from lsr.fingerprint import model_identity


def _corpus(folder, text="a b c"):
    folder.mkdir(exist_ok=True)
    (folder / "corpus.jsonl").write_text(f'{{"_id": "1", "text": "{text}"}}\n')
    return load_dataset(folder)


def test_changed_model_file_changes_the_identity(tmp_path):
    model = tmp_path / "model"
    model.mkdir()
    (model / "weights.bin").write_bytes(b"\x00\x01")
    before = model_identity(str(model))
    (model / "weights.bin").write_bytes(b"\x00\x02")
    assert model_identity(str(model)) != before


def test_hub_id_and_bm25_are_identified_by_name():
    assert model_identity("bm25") == {"id": "bm25"}


def test_entry_is_stable_and_named_readably(tmp_path):
    dataset = _corpus(tmp_path / "tiny")
    first = entry_dir(tmp_path, "bm25", dataset, "bm25")
    assert first == entry_dir(tmp_path, "bm25", dataset, "bm25")
    assert first.parent.name == "tiny"
    assert first.name.startswith("bm25-")


def test_rewritten_corpus_gets_a_new_entry(tmp_path):
    first = entry_dir(tmp_path, "bm25", _corpus(tmp_path / "tiny"), "bm25")
    second = entry_dir(tmp_path, "bm25", _corpus(tmp_path / "tiny", "a much longer text"), "bm25")
    assert first != second


def test_cache_root_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("LSR_CACHE", str(tmp_path))
    assert cache_root() == tmp_path
    assert cache_root(tmp_path / "x") == tmp_path / "x"
