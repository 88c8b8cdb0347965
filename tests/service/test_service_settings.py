"""Settings: where the API key comes from, and that it never travels with the settings."""

from __future__ import annotations

import subprocess

import pytest
from lsr.service.settings import API_KEY_ENV, SETTINGS_ENV, Settings, read_api_key
from service_server import LSR

from lsr.errors import InputError


def test_the_key_file_wins_over_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(API_KEY_ENV, "from-env")
    key_file = tmp_path / "key"
    key_file.write_text("from-file\n", encoding="utf-8")
    assert read_api_key(key_file) == "from-file"
    assert read_api_key(None) == "from-env"


def test_an_empty_key_file_is_refused_by_name(tmp_path):
    key_file = tmp_path / "key"
    key_file.write_text("\n", encoding="utf-8")
    with pytest.raises(InputError, match=f"--api-key-file {key_file}: the file is empty"):
        Settings(index_dir=tmp_path, api_key_file=key_file)


def test_the_key_stays_out_of_the_environment_settings(tmp_path, monkeypatch):
    key_file = tmp_path / "key"
    key_file.write_text("s3cret-value", encoding="utf-8")
    settings = Settings(index_dir=tmp_path, api_key_file=key_file, cors_origins=("http://a",))
    exported = settings.to_environment()
    assert "s3cret-value" not in exported and "s3cret-value" not in repr(settings)
    monkeypatch.setenv(SETTINGS_ENV, exported)
    again = Settings.from_environment()
    assert again == settings and again.api_key == "s3cret-value"


@pytest.mark.parametrize("name", ["search_threads", "max_body_bytes", "torch_threads"])
def test_counts_must_be_positive(tmp_path, name):
    with pytest.raises(InputError, match=name):
        Settings(index_dir=tmp_path, **{name: 0})


def test_serve_refuses_a_directory_that_is_not_an_index(tmp_path):
    result = subprocess.run([LSR, "serve", str(tmp_path)], capture_output=True, text=True)
    assert result.returncode == 2
    assert "manifest.json" in result.stderr
