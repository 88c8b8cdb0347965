"""Benchmark provenance: the commit, a refused dirty tree, the CPU, the report's header."""

from __future__ import annotations

import json
import subprocess

import pytest

from benchmarks.provenance import (
    cpu_info,
    git_state,
    markdown,
    measure_and_report,
    record,
    save_report,
)
from lsr.errors import InputError


def git(folder, *args):
    subprocess.run(["git", *args], cwd=folder, check=True, capture_output=True)


@pytest.fixture
def repository(tmp_path):
    git(tmp_path, "init", "-q")
    (tmp_path / "a.py").write_text("x = 1\n")
    git(tmp_path, "add", "a.py")
    git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "one")
    return tmp_path


def test_a_clean_tree_records_its_commit(repository):
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=repository, capture_output=True, text=True
    ).stdout.strip()
    provenance = record("python -m benchmarks.x", allow_dirty=False, root=repository)
    assert (provenance["commit"], provenance["dirty"]) == (head, False)
    assert "Commit: " + head + "  \n" in markdown(provenance)


def test_a_dirty_tree_is_refused_naming_the_changed_file(repository):
    (repository / "a.py").write_text("x = 2\n")
    with pytest.raises(InputError, match=r"uncommitted changes \(a.py\).*--allow-dirty"):
        record("python -m benchmarks.x", allow_dirty=False, root=repository)


def test_allow_dirty_measures_and_the_header_says_so(repository):
    (repository / "new.py").write_text("")
    provenance = record("python -m benchmarks.x", allow_dirty=True, root=repository)
    assert git_state(repository)["changed"] == ["new.py"]
    assert "with uncommitted changes (--allow-dirty): new.py" in markdown(provenance)


def test_cpu_info_names_the_model_its_flags_and_caches():
    cpu = cpu_info()
    cpuinfo = open("/proc/cpuinfo").read()
    assert cpu["model_name"] in cpuinfo
    assert all(f" {flag}" in cpuinfo for flag in cpu["flags"])
    assert ("avx2" in cpu["flags"]) == (" avx2" in cpuinfo)
    assert all(size.split()[0].isdigit() for size in cpu["caches"].values())


def test_a_report_is_saved_as_json_and_markdown_beside_each_other(tmp_path):
    payload = {"provenance": {"commit": "abc"}, "rows": [[1, 0.5]]}
    text = save_report(tmp_path / "bench-x", payload, "# Report\n")
    assert text == "# Report\n"
    assert (tmp_path / "bench-x.md").read_text() == "# Report\n"
    assert json.loads((tmp_path / "bench-x.json").read_text()) == payload


def test_a_measurement_is_reported_with_its_options_and_the_load_around_it(tmp_path):
    text = measure_and_report(
        "benchmarks.example", tmp_path / "bench-y", True, {"a": 2},
        lambda options: {"twice": 2 * options["a"]},
        lambda payload: f"# {payload['result']['twice']}\n",
    )  # fmt: skip
    assert text == "# 4\n"
    saved = json.loads((tmp_path / "bench-y.json").read_text())
    assert saved["options"] == {"a": 2} and saved["result"] == {"twice": 4}
    assert len(saved["load_before"].split()) == 3 and len(saved["load_after"].split()) == 3
    assert saved["provenance"]["command"].startswith("python -m benchmarks.example")
