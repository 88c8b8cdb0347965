"""Fingerprints: stable across runs and dict order, different whenever the content differs."""

from __future__ import annotations

import hashlib

from lsr.fingerprint import file_hash, model_identity, stable_hash, vocabulary_fingerprint


def test_stable_hash_ignores_key_order_and_follows_values():
    assert stable_hash({"a": 1, "b": [2, 3]}) == stable_hash({"b": [2, 3], "a": 1})
    assert stable_hash({"a": 1}) != stable_hash({"a": 2})


def test_file_hash_is_sha256_of_the_contents(tmp_path):
    path = tmp_path / "w.bin"
    path.write_bytes(b"x" * (3 << 20) + b"tail")  # several read chunks
    assert file_hash(path) == hashlib.sha256(b"x" * (3 << 20) + b"tail").hexdigest()


def test_model_identity_follows_every_file(tmp_path):
    (tmp_path / "config.json").write_text("{}", encoding="utf-8")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "weights.bin").write_bytes(b"1")
    before = model_identity(str(tmp_path))
    assert set(before["files"]) == {"config.json", "sub/weights.bin"}
    (tmp_path / "sub" / "weights.bin").write_bytes(b"2")
    assert model_identity(str(tmp_path)) != before
    assert model_identity("bm25") == {"id": "bm25"}


def test_vocabulary_fingerprint_hashes_the_tokens_in_order():
    # Hand computation: one token a line, in term-id order.
    expected = hashlib.sha256(b"[PAD]\nthe\ncat\n").hexdigest()[:16]
    assert vocabulary_fingerprint(["[PAD]", "the", "cat"], 3) == expected
    assert vocabulary_fingerprint(["[PAD]", "cat", "the"], 3) != expected
    # The tokens decide, not the size or the encoder kind given beside them.
    assert vocabulary_fingerprint(["[PAD]", "the", "cat"], 3, "bm25") == expected


def test_without_a_token_list_size_and_encoder_kind_decide():
    assert vocabulary_fingerprint(None, 30522, "splade") == vocabulary_fingerprint(
        None, 30522, "splade"
    )
    assert vocabulary_fingerprint(None, 30522, "splade") != vocabulary_fingerprint(
        None, 30522, "bm25"
    )
    assert vocabulary_fingerprint(None, 30522) != vocabulary_fingerprint(None, 30523)
