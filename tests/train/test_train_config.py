"""The training configuration: YAML and mappings in, every bad key or value named."""

from __future__ import annotations

import pytest

from lsr.errors import InputError
from lsr.train.config import TrainConfig


def test_yaml_keys_with_dashes_or_underscores(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("model: m\ndataset: d\nlambda-d: 1\nbatch_size: 8\nbatch-normalised: true\n")
    config = TrainConfig.from_yaml(path)
    assert (config.lambda_d, config.batch_size, config.batch_normalised) == (1.0, 8, True)
    assert isinstance(config.lambda_d, float)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("lamda_d: 1\n", "unknown key 'lamda_d'"),
        ("batch_size: 8.5\n", "key 'batch_size' expects int"),
        ("gradient_checkpointing: 1\n", "key 'gradient_checkpointing' expects bool"),
        ("- a list\n", "expected a mapping"),
        ("model: [unclosed\n", "not valid YAML"),
    ],
)
def test_a_bad_yaml_file_is_named(tmp_path, text, message):
    path = tmp_path / "run.yaml"
    path.write_text(text)
    with pytest.raises(InputError, match=message) as raised:
        TrainConfig.from_yaml(path)
    assert str(path) in str(raised.value)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"model": ""}, "model: required"),
        ({"loss": "hinge"}, "loss: 'hinge' is not one of"),
        ({"batch_size": 0}, "batch_size: must be a positive integer"),
        ({"lambda_d": -1.0}, "lambda_d: must be >= 0"),
        ({"lr": 0.0}, "lr: must be > 0"),
        ({"warmup_ratio": 1.0}, "warmup_ratio"),
        ({"loss": "kl", "n_negatives": 0}, "distillation needs n_negatives"),
        ({"learn_query_weights": True}, "learn_query_weights: only for"),
    ],
)
def test_validate_names_the_key(overrides, message):
    config = TrainConfig(model="m", dataset="d").with_overrides(overrides)
    with pytest.raises(InputError, match=message):
        config.validate()


def test_the_defaults_are_valid_once_model_and_dataset_are_given():
    assert TrainConfig(model="m", dataset="d").validate().loss == "in-batch"
