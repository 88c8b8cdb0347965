"""Every command's help stands on its own: no example or default points at this workspace's
``../shared`` folder, which a user's machine does not have."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from lsr.cli import COMMANDS, cli
from lsr.datasets import data_search_path


def _all_commands() -> list[list[str]]:
    paths = [[]]
    for name in COMMANDS:
        command = cli.get_command(click.Context(cli), name)
        paths.append([name])
        if isinstance(command, click.Group):
            paths += [[name, sub] for sub in command.list_commands(click.Context(command))]
    return paths


@pytest.mark.parametrize("path", _all_commands(), ids=lambda p: " ".join(p) or "lsr")
def test_help_never_points_at_the_workspace(path):
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "shared/" not in result.output


def test_dataset_names_resolve_only_through_given_folders(monkeypatch, tmp_path):
    monkeypatch.delenv("LSR_DATA", raising=False)
    assert data_search_path() == []
    monkeypatch.setenv("LSR_DATA", str(tmp_path / "env"))
    assert data_search_path(tmp_path / "given") == [tmp_path / "given", tmp_path / "env"]
