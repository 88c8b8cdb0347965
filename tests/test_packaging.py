"""lsr installs as one package, ``lsr``, from a built wheel and as an editable install.

Each check runs in a subprocess whose current directory is outside the repository, so that
nothing can be imported from the checkout by accident: ``index``, ``eval`` and ``service`` must
not exist as top-level modules, ``from lsr.index import SeismicIndex`` must work, and ``lsr
--help`` must list every command (each of which must also load: its ``--help`` runs).
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

from lsr.cli import COMMANDS

ROOT = Path(__file__).resolve().parents[1]
PROJECT_BIN = Path(sys.executable).parent


def run(command: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def check_installed(python: Path, lsr: Path, cwd: Path, origin: Path) -> None:
    """The installed package from ``origin`` works, and no top-level folder leaks."""
    found = run([str(python), "-c", IMPORTS], cwd)
    assert found.returncode == 0, found.stderr
    assert Path(found.stdout.strip()).is_relative_to(origin), found.stdout
    for leaked in ("index", "eval", "service", "benchmarks"):
        probe = run([str(python), "-c", f"import {leaked}"], cwd)
        assert "ModuleNotFoundError" in probe.stderr, f"import {leaked} works: {probe}"
    listed = run([str(lsr), "--help"], cwd)
    assert listed.returncode == 0, listed.stderr
    for name in COMMANDS:
        assert f"  {name} " in listed.stdout, f"lsr --help does not list {name}"
        sub = run([str(lsr), name, "--help"], cwd)
        assert sub.returncode == 0, f"lsr {name} --help: {sub.stderr}"


IMPORTS = (
    "import lsr.index, lsr.eval.metrics, lsr.service\n"
    "from lsr.index import SeismicIndex\n"
    "print(lsr.index.__file__)\n"
)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    built = run(
        [str(PROJECT_BIN / "pip"), "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(out), str(ROOT)],
        out,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    (path,) = out.glob("lsr-*.whl")
    return path


def test_the_wheel_holds_one_package_and_no_benchmarks(wheel):
    with zipfile.ZipFile(wheel) as archive:
        tops = {name.split("/")[0] for name in archive.namelist()}
        names = set(archive.namelist())
    assert {top for top in tops if not top.endswith(".dist-info")} == {"lsr"}
    for module in ("lsr/index/seismic.py", "lsr/eval/harness.py", "lsr/cli/eval.py"):
        assert module in names


@pytest.mark.slow
def test_the_wheel_installed_in_a_fresh_venv(wheel, tmp_path):
    """A fresh venv sees the project venv's dependencies (torch, numba, ...) through a path
    entry, not its lsr: only a site directory runs the editable install's hook."""
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    site = Path(run([str(python), "-c", SITE], tmp_path).stdout.strip())
    (site / "project-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    installed = run(
        [str(PROJECT_BIN / "pip"), "--python", str(python), "install", "--no-deps", "--no-index",
         "-q", str(wheel)],
        tmp_path,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr
    check_installed(python, env_dir / "bin" / "lsr", tmp_path, site)


SITE = "import sysconfig; print(sysconfig.get_paths()['purelib'])"


@pytest.mark.slow
def test_the_editable_install_from_outside_the_repository(tmp_path):
    check_installed(PROJECT_BIN / "python", PROJECT_BIN / "lsr", tmp_path, ROOT / "index")
