"""lsr.distributed.ray_tasks: a sharded index's shards built as Ray tasks (its own module: the
encoding tests' actor pool holds every CPU of the runtime until their module ends)."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.ray


def _files(folder):
    """Every file under ``folder`` (relative path -> bytes)."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def _untimed(text):
    """A manifest without what the build measured (its phases' seconds, the engines' timed
    latencies) nor, in shards.json, the checksums of manifests that hold those."""
    manifest = json.loads(text)
    if "stats" in manifest:
        del manifest["stats"]["seconds"], manifest["stats"]["engines"]
    for shard in manifest.get("shards", []):
        shard.pop("checksum")
    return manifest


def test_shards_built_as_ray_tasks_equal_the_local_processes_build(ray_runtime, tmp_path):
    """lsr index build --shards 3 --ray writes the folder the local build writes: every array
    of every shard byte for byte, the manifests apart from the times the builds measured."""
    from click.testing import CliRunner

    from lsr.cli import cli
    from lsr.vector_io import write_vectors
    from tests.index.index_data import random_collection

    write_vectors(tmp_path / "docs.parquet", random_collection(300, vocab_size=120, seed=3),
                  row_group_size=64)  # fmt: skip
    args = ["index", "build", str(tmp_path / "docs.parquet"), "--shards", "3", "--threads", "1"]
    for name, extra in (("local", ["--jobs", "2"]), ("ray", ["--ray"])):
        result = CliRunner().invoke(cli, [*args[:3], str(tmp_path / name), *args[3:], *extra])
        assert result.exit_code == 0, result.output
    local, ray_built = _files(tmp_path / "local"), _files(tmp_path / "ray")
    assert sorted(ray_built) == sorted(local)
    arrays = [name for name in local if name.endswith(".npy")]
    assert len(arrays) > 3 * 10
    assert [name for name in arrays if local[name] != ray_built[name]] == []
    manifests = [name for name in local if name.endswith(".json")]
    assert len(manifests) == 3 + 1
    for name in manifests:
        assert _untimed(ray_built[name]) == _untimed(local[name]), name


def test_ray_without_shards_is_refused(tmp_path):
    from click.testing import CliRunner

    from lsr.cli import cli
    from lsr.errors import InputError
    from lsr.vector_io import write_vectors
    from tests.index.index_data import random_collection

    write_vectors(tmp_path / "docs.parquet", random_collection(20, vocab_size=30, seed=1))
    result = CliRunner().invoke(
        cli, ["index", "build", str(tmp_path / "docs.parquet"), str(tmp_path / "idx"), "--ray"]
    )
    assert isinstance(result.exception, InputError)
    assert "--ray builds shards: give --shards N" in str(result.exception)
