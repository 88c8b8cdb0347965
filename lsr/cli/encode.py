"""``lsr encode``: a corpus or a query set into a Parquet file of sparse vectors."""

from __future__ import annotations

import contextlib
from pathlib import Path

import click

from lsr.cli.options import ray_option, threads_option
from lsr.errors import InputError
from lsr.threads import use_torch_threads


@click.command()
@click.option(
    "--model",
    "model",
    required=True,
    help="Model folder or hub id (a SPLADE masked LM, or a folder saved by lsr with lsr.json), "
    "or 'bm25' to fit BM25 on --corpus.",
)
@click.option(
    "--corpus",
    help="Documents to encode: a BEIR folder, a dataset name under the data dir (scifact), an "
    "ir-datasets id (beir/scifact), or a .jsonl/.jsonl.gz/.parquet file of {_id, title, text}. "
    "BEIR documents are encoded as title + ' ' + text.",
)
@click.option(
    "--queries",
    help="Queries to encode instead: a dataset (optionally with its split, scifact/test) or a "
    ".jsonl/.parquet file of {_id, text}.",
)
@click.option("--split", help="Query split (test, dev, train); default: every query.")
@click.option("--out", required=True, type=click.Path(path_type=Path), help="Output .parquet.")
@click.option("--batch-size", type=int, help="Texts per model batch (default 32).")
@threads_option("the model (torch)")
@click.option(
    "--max-length",
    type=int,
    help="Maximum tokens per text, for the side being encoded (defaults: queries 64, documents 256).",
)
@click.option("--top-k", type=int, help="Keep only the k largest weights of each vector.")
@click.option("--threshold", type=float, help="Drop weights at or below this value.")
@click.option(
    "--inference-free",
    is_flag=True,
    help="Build an inference-free encoder: SPLADE documents, idf-weighted query tokens, the idf "
    "table computed on --corpus (save it with --save-model).",
)
@click.option(
    "--save-model",
    type=click.Path(path_type=Path),
    help="Save the encoder (with what it fitted on --corpus: BM25 statistics, idf table) here; "
    "pass it as --model to encode the queries.",
)
@click.option("--data-dir", type=click.Path(path_type=Path), help="Where dataset names are found.")
@click.option(
    "--chunk-size", type=int, default=1024, show_default=True, help="Texts per resumable chunk."
)
@ray_option(
    "Encode the chunks on a Ray actor pool; a JSONL or Parquet --corpus, or a BEIR folder's, "
    "is read by Ray Data. Each worker holds one copy of the encoder and uses --threads torch "
    "threads (default 1), so the vectors equal `lsr encode --threads` of the same value; "
    "finished chunks are written here, resumably"
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=2,
    show_default=True,
    help="With --ray: encoder actors (chunks encoded at once).",
)
@click.option(
    "--gpus-per-worker",
    type=click.FloatRange(min=0),
    default=0,
    show_default=True,
    help="With --ray: GPUs each actor asks Ray for (a fraction shares one); above 0 the actors "
    "encode on their GPU (vectors close to, not bit-equal to, a CPU run's).",
)
@click.option("--no-progress", is_flag=True, help="Hide the progress bar.")
def encode(
    model: str,
    corpus: str | None,
    queries: str | None,
    split: str | None,
    out: Path,
    batch_size: int | None,
    threads: int | None,
    max_length: int | None,
    top_k: int | None,
    threshold: float | None,
    inference_free: bool,
    save_model: Path | None,
    data_dir: Path | None,
    chunk_size: int,
    ray_address: str | None,
    workers: int,
    gpus_per_worker: float,
    no_progress: bool,
) -> None:
    """Encode a corpus (--corpus) or queries (--queries) into sparse vectors (Parquet).

    Batches are sorted by length, the output is written in chunks so that an interrupted run
    resumes where it stopped, and the final file appears only when complete.

    \b
      lsr encode --model naver/splade-v3 --corpus beir/scifact --out docs.parquet
      lsr encode --model naver/splade-v3 --queries beir/scifact/test --out queries.parquet
      lsr encode --model bm25 --corpus data/scifact --out bm25-docs.parquet --save-model bm25-sf
      lsr encode --model bm25-sf --queries data/scifact --split test --out bm25-queries.parquet
    """
    from lsr.encoding import encode_to_parquet

    if (corpus is None) == (queries is None):
        raise InputError("give exactly one of --corpus and --queries")
    if split is not None and queries is None:
        raise InputError("--split applies to --queries")
    side = "documents" if corpus is not None else "queries"
    if side == "queries" and (model == "bm25" or inference_free):
        raise InputError(
            "BM25 and inference-free encoders are fitted on a corpus: run with --corpus SRC "
            "--save-model DIR first, then encode the queries with --model DIR"
        )
    use_torch_threads(threads)
    options = _encoder_options(side, batch_size, max_length, top_k, threshold)
    encoder = _build_encoder(model, corpus, data_dir, inference_free, options, not no_progress)
    if save_model is not None:
        encoder.save(save_model)
        click.echo(f"saved the {encoder.kind} encoder to {save_model}", err=True)
    if ray_address is None and gpus_per_worker:
        raise InputError("--gpus-per-worker needs --ray")
    records, total = _records(corpus, queries, split, data_dir)
    with contextlib.ExitStack() as stack:
        pool = None
        if ray_address is not None:
            from lsr.distributed import RayChunkPool

            pool = stack.enter_context(
                RayChunkPool(encoder, side, workers, threads or 1, ray_address or None,
                             gpus_per_worker)
            )  # fmt: skip
            records = _ray_records(corpus, data_dir, records)
        path = encode_to_parquet(
            encoder,
            records,
            out,
            side=side,
            chunk_size=chunk_size,
            total=total,
            progress=not no_progress,
            run_name=f"{corpus or queries} {split or ''}".strip(),
            model=model,
            pool=pool,
        )
    click.echo(f"wrote {side} vectors to {path}")


def _encoder_options(side, batch_size, max_length, top_k, threshold) -> dict[str, object]:
    length_option = "document_max_length" if side == "documents" else "query_max_length"
    given = {
        "batch_size": batch_size,
        length_option: max_length,
        "top_k": top_k,
        "threshold": threshold,
    }
    return {name: value for name, value in given.items() if value is not None}


def _build_encoder(model, corpus, data_dir, inference_free, options, progress):
    from lsr.datasets import iter_texts
    from lsr.encoders import Bm25Encoder, InferenceFreeEncoder, MlpEncoder, SpladeEncoder, load

    if model == "bm25":
        if options:
            raise InputError(f"options {', '.join(options)} do not apply to BM25")
        texts = (text for _, text in iter_texts(corpus, data_dir))
        return Bm25Encoder.fit(texts, progress=progress)
    encoder = load(model, **options)
    if inference_free:
        if not isinstance(encoder, (SpladeEncoder, MlpEncoder)):
            raise InputError(
                f"--inference-free needs a SPLADE or MLP model, {model} is {encoder.kind}"
            )
        texts = (text for _, text in iter_texts(corpus, data_dir))
        return InferenceFreeEncoder.fit(encoder, texts, progress=progress)
    return encoder


def _ray_records(corpus, data_dir, records):
    """The corpus read by Ray Data where it reads the source, else ``records``."""
    from lsr.ray_corpus import corpus_file, read_corpus

    path = corpus_file(corpus, data_dir) if corpus is not None else None
    return records if path is None else read_corpus(path)


def _records(corpus, queries, split, data_dir):
    """(id, text) records and their number when known."""
    from lsr.datasets import iter_texts, load_dataset, split_spec

    if corpus is not None:
        if Path(corpus).is_file():
            return iter_texts(corpus, data_dir), None
        return iter_texts(corpus, data_dir), load_dataset(corpus, data_dir).doc_count()
    if Path(queries).is_file():
        if split is not None:
            raise InputError("--split applies to dataset queries, not to a query file")
        return iter_texts(queries, data_dir), None
    name, spec_split = split_spec(queries)
    selected = load_dataset(name, data_dir).queries(split or spec_split)
    return list(selected.items()), len(selected)
