"""The unified framework's encoders chosen per side (Nguyen et al., ECIR 2023): every
combination trains on a tiny random BERT and saves a folder that ``lsr.encoders.load`` reads
as the right kind, giving the very vectors the trained model computes."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import dense
from tiny_training import TOPICS, tiny_config

from lsr.encoders import InferenceFreeEncoder, MlpEncoder, PerSideEncoder, SpladeEncoder, load
from lsr.errors import InputError
from lsr.train.batching import _tokenize
from lsr.train.data.pairs import load_pairs
from lsr.train.models.bi_encoder import build_model
from lsr.train.run import corpus_idf, needs_idf
from lsr.train.trainer import Trainer

QUERIES = [query for query, _, _ in TOPICS]
DOCUMENTS = [positive for _, positive, _ in TOPICS]

# (query encoder, document encoder, separate encoders) -> the kind the folder loads as
COMBINATIONS = {
    ("mlm", "mlm", False): SpladeEncoder,
    ("mlp", "mlp", False): MlpEncoder,
    ("binary", "mlm", False): InferenceFreeEncoder,
    ("idf", "mlm", False): InferenceFreeEncoder,
    ("binary", "mlp", False): InferenceFreeEncoder,
    ("mlp", "mlm", False): PerSideEncoder,
    ("mlm", "mlp", False): PerSideEncoder,
    ("mlm", "mlm", True): PerSideEncoder,
    ("mlp", "mlp", True): PerSideEncoder,
    ("mlm", "binary", False): PerSideEncoder,
    ("mlp", "binary", False): PerSideEncoder,
}


def trained(tmp_path, query, document, separate, **overrides):
    config = tiny_config(
        tmp_path,
        query_encoder=query,
        doc_encoder=document,
        separate_encoders=separate,
        max_steps=3,
        **overrides,
    ).validate()
    examples = load_pairs(config.dataset)
    idf = corpus_idf(config, examples) if needs_idf(config) else None
    trainer = Trainer(config, examples, idf, progress=False)
    return trainer, trainer.train()


def model_vectors(trainer, texts, side):
    """The trained module's own forward on the texts, tokenized as training tokenizes them."""
    config = trainer.config
    length = config.query_max_length if side == "queries" else config.doc_max_length
    batch = _tokenize(trainer.tokenizer, texts, length)
    trainer.model.eval()
    with torch.no_grad():
        encode = getattr(trainer.model, f"encode_{side}")
        return encode(batch["input_ids"], batch["attention_mask"]).numpy()


@pytest.mark.parametrize(("query", "document", "separate"), list(COMBINATIONS))
def test_every_combination_saves_a_folder_that_encodes_as_the_model_does(
    tmp_path, query, document, separate
):
    trainer, folder = trained(tmp_path, query, document, separate)
    encoder = load(folder)
    assert type(encoder) is COMBINATIONS[query, document, separate]
    for side, texts in (("queries", QUERIES), ("documents", DOCUMENTS)):
        expected = model_vectors(trainer, texts, side)
        got = dense(getattr(encoder, f"encode_{side}")(texts), encoder.vocab_size)
        assert (got > 0).sum() > 0, side
        np.testing.assert_allclose(got, expected, atol=2e-5, err_msg=side)


def test_separate_encoders_train_two_backbones_saved_in_their_own_folders(tmp_path):
    trainer, folder = trained(tmp_path, "mlm", "mlm", True)
    query = dict(trainer.model.query.mlm.named_parameters())
    document = dict(trainer.model.document.mlm.named_parameters())
    name = "bert.encoder.layer.0.attention.self.query.weight"
    assert not torch.equal(query[name], document[name])
    assert (folder / "query" / "lsr.json").is_file()
    assert (folder / "document" / "lsr.json").is_file()
    assert (folder / "README.md").is_file()


def test_an_mlp_query_side_shares_the_document_backbone_unless_separate(tmp_path):
    shared, _ = build_model(tiny_config(tmp_path, query_encoder="mlp"), None)
    assert shared.query.lm is shared.document.mlm
    apart, _ = build_model(tiny_config(tmp_path, query_encoder="mlp", separate_encoders=True), None)
    assert apart.query.lm is not apart.document.mlm


def test_the_mlp_head_starts_as_the_binary_encoder(tmp_path):
    model, tokenizer = build_model(tiny_config(tmp_path, query_encoder="mlp"), None)
    batch = _tokenize(tokenizer, ["breast cancer cancer"], 16)
    with torch.no_grad():
        weights = model.encode_queries(batch["input_ids"], batch["attention_mask"])
    ids = tokenizer("breast cancer", add_special_tokens=False)["input_ids"]
    assert weights.nonzero()[:, 1].tolist() == sorted(ids)
    assert weights[0, ids].tolist() == [1.0, 1.0]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"query_encoder": "binary", "separate_encoders": True}, "separate_encoders: a binary"),
        ({"query_encoder": "idf", "separate_encoders": True}, "separate_encoders: an idf"),
        ({"doc_encoder": "idf"}, "doc_encoder: 'idf' is not one of mlm, mlp, binary"),
        ({"query_encoder": "binary", "doc_encoder": "binary"}, "leaves nothing to train"),
        ({"query_encoder": "mlp", "learn_query_weights": True}, "learn_query_weights"),
    ],
)
def test_impossible_combinations_name_the_key(tmp_path, overrides, message):
    with pytest.raises(InputError, match=message):
        tiny_config(tmp_path, **overrides).validate()
