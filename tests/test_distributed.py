"""lsr.distributed: encoding on a real local Ray actor pool equals a single-process encode."""

from __future__ import annotations

import numpy as np
import pytest

from lsr.encoders import load
from lsr.encoding import encode_to_parquet, parts_folder
from lsr.threads import use_torch_threads
from lsr.vector_io import read_vectors
from tests.encoders.tiny_models import build_tiny_bert

pytestmark = pytest.mark.ray

WORDS = "what causes breast cancer in women the tumor cell gene protein risk heart brain".split()
RECORDS = [
    (f"d{i}", " ".join(WORDS[(i * 7 + j) % len(WORDS)] for j in range(3 + i % 9)))
    for i in range(37)
]
CHUNK = 6  # 7 chunks, the last one short


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


@pytest.fixture(scope="module")
def pool(ray_runtime, encoder):
    """Two actors shared by the tests (starting one costs seconds: torch and the model)."""
    from lsr.distributed import RayChunkPool

    with RayChunkPool(encoder, "documents", workers=2, threads=1) as made:
        yield made


def _assert_same(found, expected):
    assert found.ids == expected.ids
    np.testing.assert_array_equal(found.indptr, expected.indptr)
    np.testing.assert_array_equal(found.indices, expected.indices)
    np.testing.assert_array_equal(found.values, expected.values)
    assert found.metadata.vocabulary == expected.metadata.vocabulary
    # the same model and options; only the time of encoding differs
    unstamped = [{**m.provenance, "created": None} for m in (found.metadata, expected.metadata)]
    assert unstamped[0] == unstamped[1]


def test_lsr_encode_ray_writes_what_lsr_encode_writes(ray_runtime, encoder, tmp_path):
    # First in the module: its own two actors must be gone before the shared pool takes both
    # CPUs of the runtime.
    import json

    from click.testing import CliRunner

    from lsr.cli import cli

    corpus = tmp_path / "corpus.jsonl"
    lines = [json.dumps({"_id": i, "title": "", "text": t}) for i, t in RECORDS]
    corpus.write_text("\n".join(lines) + "\n")
    model = str(build_tiny_bert(tmp_path / "bert"))
    args = ["encode", "--model", model, "--corpus", str(corpus), "--threads", "1",
            "--chunk-size", str(CHUNK), "--no-progress"]  # fmt: skip
    ray_args = ["--ray", "--workers", "2", "--gpus-per-worker", "0"]  # the corpus read by Ray Data
    try:
        for name, extra in (("local", []), ("ray", ray_args)):
            result = CliRunner().invoke(
                cli, [*args, "--out", str(tmp_path / f"{name}.parquet"), *extra]
            )
            assert result.exit_code == 0, result.output
    finally:
        use_torch_threads()
    _assert_same(read_vectors(tmp_path / "ray.parquet"), read_vectors(tmp_path / "local.parquet"))


def test_ray_encode_equals_the_single_process_encode(pool, encoder, local, tmp_path):
    before = pool.submitted
    out = encode_to_parquet(encoder, RECORDS, tmp_path / "docs.parquet", chunk_size=CHUNK,
                            pool=pool)  # fmt: skip
    assert pool.submitted - before == 7
    _assert_same(read_vectors(out), local)


def _stopped_after(records, count):
    for i, record in enumerate(records):
        if i == count:
            raise KeyboardInterrupt
        yield record


def test_a_stopped_ray_run_resumes_with_the_missing_chunks_only(pool, encoder, local, tmp_path):
    out = tmp_path / "docs.parquet"
    with pytest.raises(KeyboardInterrupt):
        encode_to_parquet(encoder, _stopped_after(RECORDS, 4 * CHUNK + 1), out, chunk_size=CHUNK,
                          pool=pool)  # fmt: skip
    written = len(list(parts_folder(out).glob("part-*.parquet")))
    assert 1 <= written <= 4 and not out.exists()
    before = pool.submitted
    encode_to_parquet(encoder, RECORDS, out, chunk_size=CHUNK, pool=pool)
    assert pool.submitted - before == 7 - written
    _assert_same(read_vectors(out), local)


def _killing_a_worker_at(records, count, pool):
    """The records; at ``count``, every actor's process killed while it holds a chunk."""
    import ray

    for i, record in enumerate(records):
        if i == count:
            for actor in pool.actors:
                ray.kill(actor, no_restart=False)
        yield record


def test_a_killed_worker_is_restarted_and_its_chunk_retried(pool, encoder, local, tmp_path):
    records = _killing_a_worker_at(RECORDS, 3 * CHUNK + 1, pool)
    out = encode_to_parquet(encoder, records, tmp_path / "docs.parquet", chunk_size=CHUNK,
                            pool=pool)  # fmt: skip
    _assert_same(read_vectors(out), local)


def _killing_a_process_at(records, count, pool):
    """The records; at ``count``, the operating-system process of one actor holding a chunk
    killed (SIGKILL, as the kernel's out-of-memory killer would)."""
    import os
    import signal

    import ray

    for i, record in enumerate(records):
        if i == count:
            busy = [actor for _, actor in pool._pending.values()]
            pid = ray.get(busy[0].__ray_call__.remote(lambda actor: os.getpid()))
            os.kill(pid, signal.SIGKILL)
        yield record


def test_a_worker_process_killed_mid_encode_loses_nothing(pool, encoder, local, tmp_path):
    records = _killing_a_process_at(RECORDS, 2 * CHUNK + 1, pool)
    out = encode_to_parquet(encoder, records, tmp_path / "docs.parquet", chunk_size=CHUNK,
                            pool=pool)  # fmt: skip
    _assert_same(read_vectors(out), local)


def test_more_gpus_per_worker_than_the_runtime_has_are_refused(ray_runtime, encoder):
    from lsr.distributed import RayChunkPool
    from lsr.errors import InputError

    with pytest.raises(InputError, match="--gpus-per-worker 1: the Ray runtime has 0 GPUs"):
        RayChunkPool(encoder, "documents", workers=1, gpus_per_worker=1)
