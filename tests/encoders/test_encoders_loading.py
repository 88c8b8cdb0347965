"""lsr.encoders.load: lsr.json dispatch, plain Hugging Face folders, malformed configs."""

from __future__ import annotations

import json

import pytest
from tiny_models import build_tiny_bert

from lsr.encoders import Bm25Encoder, SpladeEncoder, load
from lsr.errors import InputError, ModelError


@pytest.fixture(scope="module")
def tiny_bert_dir(tmp_path_factory):
    return build_tiny_bert(tmp_path_factory.mktemp("tiny-bert"))


def test_plain_masked_lm_folder_loads_as_splade(tiny_bert_dir):
    assert isinstance(load(tiny_bert_dir), SpladeEncoder)


def test_options_override_the_saved_ones(tiny_bert_dir, tmp_path):
    SpladeEncoder.load(tiny_bert_dir, top_k=5).save(tmp_path / "m")
    assert load(tmp_path / "m", top_k=7).top_k == 7


def test_unknown_kind_is_a_model_error(tmp_path):
    (tmp_path / "lsr.json").write_text(json.dumps({"version": 1, "kind": "dense", "options": {}}))
    with pytest.raises(ModelError, match="unknown encoder kind 'dense'"):
        load(tmp_path)


def test_malformed_config_is_a_model_error(tmp_path):
    (tmp_path / "lsr.json").write_text("{not json")
    with pytest.raises(ModelError, match=r"lsr\.json: not valid JSON"):
        load(tmp_path)


def test_an_option_of_another_encoder_is_an_input_error(tmp_path):
    Bm25Encoder.fit(["some text"]).save(tmp_path / "bm25")
    with pytest.raises(InputError, match="does not apply to a bm25 encoder"):
        load(tmp_path / "bm25", top_k=3)
