"""``lsr index add | delete | merge``: change an index without rebuilding it (a living index).

Registered on the ``lsr index`` group by :mod:`lsr.cli.index`. Each command is one writer: it
takes the index's write lock, makes its change as one commit, and releases the lock
(:mod:`lsr.index.living`). Searches, ``lsr serve`` and its ``/admin/reload`` see the change once
it is committed, never half of it.
"""

from __future__ import annotations

from pathlib import Path

import click

from lsr.cli.options import threads_option
from lsr.threads import use_numba_threads


def _describe(index) -> str:
    commit = index.commit
    return (
        f"{len(index):,} live documents in {len(commit.segments)} segment(s), "
        f"commit {commit.generation}"
    )


@click.command()
@click.argument("index_dir", type=click.Path(file_okay=False, path_type=Path))
@click.argument("vectors", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--attributes",
    "attributes_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Attributes of the documents, which `--filter` tests: a .jsonl file (one object per "
    "line: id and the attributes) or a .parquet file (an id column, one column per "
    "attribute); strings, numbers, dates (ISO 8601). Without it, the columns of VECTORS besides "
    "id, indices and values are the attributes.",
)
@click.option(
    "--docs",
    "corpus",
    default=None,
    help="Also add the title and text of the added documents to the docstore (what `lsr serve` "
    "shows with include_text): a dataset name, BEIR folder, ir-datasets id or .jsonl/.parquet "
    "file; its documents not in VECTORS are ignored, an updated document's text is replaced.",
)
@threads_option("building the new segment (Numba)")
def add(
    index_dir: Path,
    vectors: Path,
    attributes_file: Path | None,
    corpus: str | None,
    threads: int | None,
) -> None:
    """Add the documents of VECTORS (Parquet) to INDEX_DIR as a new segment.

    A document whose id the index holds already is updated: its old copy is deleted in the same
    commit. Segments of fewer than 5,000 documents are searched exactly, larger ones get a
    Seismic index built with the index's parameters; small segments are merged automatically as
    their count grows (see `lsr index merge`). INDEX_DIR may be an index built by `lsr index
    build` (it becomes the first segment, in place), an index changed before, or a new folder
    (created with the default build parameters and the vectors' vocabulary).
    """
    from lsr.index.living import LivingIndex
    from lsr.vector_io import read_attributes, read_vector_attributes, read_vectors

    use_numba_threads(threads)
    collection = read_vectors(vectors)
    attributes = (
        read_attributes(attributes_file) if attributes_file else read_vector_attributes(vectors)
    )
    with LivingIndex.open(index_dir, metadata=collection.metadata) as index:
        updates = index.add(collection, attributes)
        click.echo(
            f"added {len(collection):,} documents ({updates:,} of them updates) from {vectors}; "
            f"{index_dir}: {_describe(index)}"
        )
        if corpus is not None:  # under the write lock: no other writer rewrites it meanwhile
            _add_text(index_dir, corpus, set(collection.ids))


def _add_text(index_dir: Path, corpus: str, ids: set[str]) -> None:
    from lsr.datasets import iter_documents
    from lsr.docstore import add_documents

    documents = [doc for doc in iter_documents(corpus) if doc.id in ids]
    size = add_documents(index_dir, documents, progress=True)
    click.echo(
        f"docstore: {len(documents):,} of the {len(ids):,} added documents have text from "
        f"{corpus}; {size:,} documents in all"
    )


@click.command()
@click.argument("index_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--ids",
    "ids_file",
    type=click.File("r", encoding="utf-8"),
    default="-",
    show_default=True,
    help="File of document ids to delete, one per line ('-': standard input).",
)
def delete(index_dir: Path, ids_file) -> None:
    """Delete documents from INDEX_DIR by id (one commit; ids it does not hold are ignored).

    Deleted documents are never returned again; their space is reclaimed when their segment is
    merged (`lsr index merge`).

    \b
      lsr index delete scifact.index --ids gone.txt
      printf 'doc1\\ndoc2\\n' | lsr index delete scifact.index
    """
    from lsr.index.living import LivingIndex

    ids = [line.strip() for line in ids_file if line.strip()]
    with LivingIndex.open(index_dir) as index:
        deleted = index.delete(ids)
        click.echo(
            f"deleted {deleted:,} of {len(ids):,} ids ({len(ids) - deleted:,} not in the index); "
            f"{index_dir}: {_describe(index)}"
        )


@click.command()
@click.argument("index_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--max-segments",
    type=int,
    default=1,
    show_default=True,
    help="Segments to keep at most: the smallest are merged into one; every segment holding "
    "deleted documents is rewritten without them.",
)
@threads_option("building the merged segments (Numba)")
def merge(index_dir: Path, max_segments: int, threads: int | None) -> None:
    """Rewrite the segments of INDEX_DIR into at most --max-segments, dropping deleted documents.

    Fewer segments search faster (one Seismic index instead of several); merging everything
    (--max-segments 1) builds the index a full rebuild would, from the stored vectors.
    """
    from lsr.index.living import LivingIndex

    use_numba_threads(threads)
    with LivingIndex.open(index_dir) as index:
        rewritten = index.merge(max_segments)
        click.echo(f"rewrote {rewritten} segment(s); {index_dir}: {_describe(index)}")
