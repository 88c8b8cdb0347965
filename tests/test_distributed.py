"""lsr.distributed: encoding on a real local Ray actor pool equals a single-process encode."""

from __future__ import annotations

import numpy as np
import pytest

from lsr.encoders import load
from lsr.encoding import encode_to_parquet, parts_folder
from lsr.threads import use_torch_threads
from lsr.vector_io import read_vectors
from tests.encoders.tiny_models import build_tiny_bert

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.ray

WORDS = "what causes breast cancer in women the tumor cell gene protein risk heart brain".split()
RECORDS = [
    (f"d{i}", " ".join(WORDS[(i * 7 + j) % len(WORDS)] for j in range(3 + i % 9)))
    for i in range(37)
]
CHUNK = 6  # 7 chunks, the last one short


@pytest.fixture(scope="session")
def ray_runtime():
    """One local Ray runtime for every test that needs it (starting one takes seconds)."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def encoder(tmp_path_factory):
    return load(str(build_tiny_bert(tmp_path_factory.mktemp("bert"))))


@pytest.fixture(scope="module")
def local(encoder, tmp_path_factory):
    """The single-process encode, on one torch thread as every actor encodes."""
    use_torch_threads(1)
    try:
        out = tmp_path_factory.mktemp("local") / "docs.parquet"
        return read_vectors(encode_to_parquet(encoder, RECORDS, out, chunk_size=CHUNK))
    finally:
        use_torch_threads()


def _pool(encoder):
    from lsr.distributed import RayChunkPool

    return RayChunkPool(encoder, "documents", workers=2, threads=1)


def _assert_same(found, expected):
    assert found.ids == expected.ids
    np.testing.assert_array_equal(found.indptr, expected.indptr)
    np.testing.assert_array_equal(found.indices, expected.indices)
    np.testing.assert_array_equal(found.values, expected.values)
    assert found.metadata.vocabulary == expected.metadata.vocabulary
    # the same model and options; only the time of encoding differs
    unstamped = [{**m.provenance, "created": None} for m in (found.metadata, expected.metadata)]
    assert unstamped[0] == unstamped[1]


def test_ray_encode_equals_the_single_process_encode(ray_runtime, encoder, local, tmp_path):
    with _pool(encoder) as pool:
        out = encode_to_parquet(encoder, RECORDS, tmp_path / "docs.parquet", chunk_size=CHUNK,
                                pool=pool)  # fmt: skip
        assert pool.submitted == 7
    _assert_same(read_vectors(out), local)


def _stopped_after(records, count):
    for i, record in enumerate(records):
        if i == count:
            raise KeyboardInterrupt
        yield record


def test_a_stopped_ray_run_resumes_with_the_missing_chunks_only(
    ray_runtime, encoder, local, tmp_path
):
    out = tmp_path / "docs.parquet"
    with _pool(encoder) as pool, pytest.raises(KeyboardInterrupt):
        encode_to_parquet(encoder, _stopped_after(RECORDS, 4 * CHUNK + 1), out, chunk_size=CHUNK,
                          pool=pool)  # fmt: skip
    written = len(list(parts_folder(out).glob("part-*.parquet")))
    assert 1 <= written <= 4 and not out.exists()
    with _pool(encoder) as pool:
        encode_to_parquet(encoder, RECORDS, out, chunk_size=CHUNK, pool=pool)
        assert pool.submitted == 7 - written
    _assert_same(read_vectors(out), local)


def test_lsr_encode_ray_writes_what_lsr_encode_writes(ray_runtime, encoder, tmp_path):
    import json

    from click.testing import CliRunner

    from lsr.cli import cli

    corpus = tmp_path / "corpus.jsonl"
    lines = [json.dumps({"_id": i, "title": "", "text": t}) for i, t in RECORDS]
    corpus.write_text("\n".join(lines) + "\n")
    model = str(build_tiny_bert(tmp_path / "bert"))
    args = ["encode", "--model", model, "--corpus", str(corpus), "--threads", "1",
            "--chunk-size", str(CHUNK), "--no-progress"]  # fmt: skip
    try:
        for name, extra in (("local", []), ("ray", ["--ray", "--workers", "2"])):
            result = CliRunner().invoke(
                cli, [*args, "--out", str(tmp_path / f"{name}.parquet"), *extra]
            )
            assert result.exit_code == 0, result.output
    finally:
        use_torch_threads()
    _assert_same(read_vectors(tmp_path / "ray.parquet"), read_vectors(tmp_path / "local.parquet"))
