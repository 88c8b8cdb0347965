"""BinaryEncoder: a text's distinct non-special tokens at weight 1, truncated as training does."""

from __future__ import annotations

import numpy as np
import pytest
from tiny_models import VOCABULARY, _tokenizer

from lsr.encoders import BinaryEncoder, load
from lsr.errors import ModelError


@pytest.fixture()
def encoder():
    return BinaryEncoder(_tokenizer(), len(VOCABULARY), query_max_length=5)


def token_ids(words):
    return sorted(VOCABULARY.index(word) for word in words)


def test_distinct_tokens_weigh_one(encoder):
    vectors = encoder.encode_documents(["cancer breast cancer of the", ""])
    terms, weights = vectors.row(0)
    assert terms.tolist() == token_ids({"cancer", "breast", "of", "the"})
    assert weights.tolist() == [1.0] * 4
    assert len(vectors.row(1)[0]) == 0


def test_queries_are_truncated_with_their_special_tokens(encoder):
    # [CLS] + 3 tokens + [SEP] = 5: the fourth word is past the limit
    terms, _ = encoder.encode_queries(["breast cancer risk women"]).row(0)
    assert terms.tolist() == token_ids({"breast", "cancer", "risk"})


def test_a_saved_binary_encoder_loads_as_itself(encoder, tmp_path):
    encoder.save(tmp_path / "binary")
    loaded = load(tmp_path / "binary")
    assert isinstance(loaded, BinaryEncoder) and loaded.query_max_length == 5
    text = ["what causes breast cancer"]
    np.testing.assert_array_equal(
        loaded.encode_queries(text).row(0)[0], encoder.encode_queries(text).row(0)[0]
    )


def test_a_folder_without_a_tokenizer_is_a_model_error(tmp_path):
    with pytest.raises(ModelError, match="no such model folder"):
        BinaryEncoder.load(tmp_path / "missing")
