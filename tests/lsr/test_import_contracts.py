"""The import contracts of pyproject.toml cover the whole package (`make lint` checks them)."""

from __future__ import annotations

from pathlib import Path

import pytest

from scripts.lint_imports import ROOT, stage, tomllib


def _contracts() -> dict[str, dict]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return {c["name"]: c for c in config["tool"]["importlinter"]["contracts"]}


def test_every_module_below_the_cli_is_forbidden_to_import_it(tmp_path: Path) -> None:
    package = stage(tmp_path) / "lsr"
    modules = {
        f"lsr.{p.name.removesuffix('.py')}"
        for p in package.iterdir()
        if p.name != "__init__.py" and (p.suffix == ".py" or (p / "__init__.py").exists())
    }
    (cli_contract,) = [c for n, c in _contracts().items() if n.startswith("the CLI")]
    assert cli_contract["forbidden_modules"] == ["lsr.cli"]
    assert set(cli_contract["source_modules"]) == modules - {"lsr.cli"}


@pytest.mark.parametrize("part", ["index", "eval", "service"])
def test_staged_package_maps_the_top_level_folders(tmp_path: Path, part: str) -> None:
    package = stage(tmp_path) / "lsr"
    assert (package / part).resolve() == ROOT / part
