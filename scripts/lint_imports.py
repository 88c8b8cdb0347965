"""Check the import contracts of pyproject.toml (``[tool.importlinter]``) on lsr as installed.

import-linter reads a package from the file system, and the editable install maps ``lsr.index``,
``lsr.eval`` and ``lsr.service`` onto the top-level folders ``index/``, ``eval/``, ``service/``,
which it would not see. So the package is laid out as the wheel installs it, with symbolic links
in a temporary folder (``[tool.setuptools.package-dir]`` says where each part lives), and
``lint-imports`` runs against that.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]


def stage(target: Path) -> Path:
    """Symlink the package into ``target/lsr`` as installed; return ``target``."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    mapping = config["tool"]["setuptools"]["package-dir"]
    package = target / "lsr"
    package.mkdir()
    for entry in (ROOT / mapping["lsr"]).iterdir():
        if entry.name != "__pycache__":
            (package / entry.name).symlink_to(entry)
    for name, folder in mapping.items():
        if name != "lsr":
            (package / name.removeprefix("lsr.")).symlink_to(ROOT / folder)
    return target


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="lsr-imports-") as tmp:
        env = {**os.environ, "PYTHONPATH": str(stage(Path(tmp)))}
        linter = Path(sys.executable).with_name("lint-imports")
        command = [str(linter), "--no-cache", str(ROOT / "pyproject.toml")]
        return subprocess.run(command, env=env, cwd=tmp).returncode


if __name__ == "__main__":
    sys.exit(main())
