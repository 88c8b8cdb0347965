"""lsr.train.soup and ``lsr soup``: the uniform model soup (Wortsman et al. 2022) of model
folders, checked tensor by tensor against the plain mean, and through the real encoder and CLI."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch
from conftest import ROOT
from hypothesis import given, settings
from hypothesis import strategies as st
from safetensors.torch import load_file, save_file
from tiny_training import TOPICS, build_tiny_bert

from lsr.encoders import load
from lsr.errors import ModelError
from lsr.train.soup import mean_state, soup

WEIGHTS = "model.safetensors"


@pytest.fixture(scope="module")
def ingredients(tmp_path_factory):
    """Two tiny-BERT folders with different weights: the second's floats moved by noise."""
    first = build_tiny_bert(tmp_path_factory.mktemp("first"))
    second = tmp_path_factory.mktemp("second")
    shutil.copytree(first, second, dirs_exist_ok=True)
    generator = torch.Generator().manual_seed(1)
    state = {
        name: tensor + torch.randn(tensor.shape, generator=generator) if tensor.is_floating_point()
        else tensor
        for name, tensor in load_file(str(first / WEIGHTS)).items()
    }  # fmt: skip
    save_file(state, str(second / WEIGHTS), metadata={"format": "pt"})
    return first, second


def test_each_weight_is_the_mean_of_the_ingredients(ingredients, tmp_path):
    first, second = ingredients
    out = soup([first, second], tmp_path / "soup")
    a, b, mixed = (load_file(str(folder / WEIGHTS)) for folder in (first, second, out))
    assert mixed.keys() == a.keys()
    for name, tensor in mixed.items():
        torch.testing.assert_close(tensor, (a[name] + b[name]) / 2, rtol=0, atol=1e-7)


def test_the_soup_of_one_model_with_itself_encodes_as_that_model(ingredients, tmp_path):
    first, _ = ingredients
    out = soup([first, first], tmp_path / "soup")
    texts = [query for query, _, _ in TOPICS]
    mixed, alone = (load(folder).encode_queries(texts) for folder in (out, first))
    for field in ("indptr", "indices", "values"):
        np.testing.assert_array_equal(getattr(mixed, field), getattr(alone, field))


@settings(max_examples=40, deadline=None)
@given(
    st.integers(2, 4),
    st.integers(1, 5),
    st.integers(0, 2**31 - 1),
    st.sampled_from([torch.float32, torch.float16, torch.bfloat16]),
)
def test_mean_state_is_the_float64_mean_cast_back(count, size, seed, dtype):
    rng = np.random.default_rng(seed)
    arrays = [rng.normal(0, 10, size).astype(np.float32) for _ in range(count)]
    states = [{"w": torch.from_numpy(a).to(dtype), "ids": torch.arange(size)} for a in arrays]
    mixed = mean_state(states, "test")
    reference = np.mean([s["w"].to(torch.float64).numpy() for s in states], axis=0)
    assert mixed["w"].dtype == dtype
    assert torch.equal(mixed["w"], torch.from_numpy(reference).to(dtype))
    assert torch.equal(mixed["ids"], torch.arange(size))


def test_a_single_model_is_refused_naming_the_parameter(ingredients, tmp_path):
    with pytest.raises(ModelError, match="models: a soup needs at least 2"):
        soup([ingredients[0]], tmp_path / "soup")


def test_a_differing_configuration_is_refused_naming_the_file(ingredients, tmp_path):
    first, _ = ingredients
    other = tmp_path / "other"
    shutil.copytree(first, other)
    config = json.loads((other / "config.json").read_text())
    (other / "config.json").write_text(json.dumps({**config, "hidden_act": "relu"}))
    with pytest.raises(ModelError, match=f"{other / 'config.json'}: differs from"):
        soup([first, other], tmp_path / "soup")
    assert not (tmp_path / "soup").exists()


def test_a_tensor_of_another_shape_is_refused_naming_the_tensor():
    states = [{"w": torch.zeros(3)}, {"w": torch.zeros(4)}]
    with pytest.raises(ModelError, match=re.escape("model.safetensors, tensor 'w': (4,)")):
        mean_state(states, "model.safetensors")


def test_the_cli_writes_the_soup_and_names_it(ingredients, tmp_path):
    out = tmp_path / "soup"
    command = [sys.executable, "-c", "from lsr.cli import main; main()", "soup"]
    done = subprocess.run(
        [*command, *map(str, ingredients), "--out", str(out)],
        capture_output=True, text=True, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == f"model: {out}"
    assert "uniform model soup of 2" in (out / "README.md").read_text()
