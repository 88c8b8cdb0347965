"""``GET /documents/{id}``: a document's title and text, from the index's docstore."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path
from lsr.service.dependencies import ServingDep, WorkersDep
from lsr.service.schemas import MAX_ID_CHARS, Document

router = APIRouter(tags=["documents"])


@router.get("/documents/{doc_id}", response_model=Document, responses={404: {}})
async def document(
    doc_id: Annotated[str, Path(min_length=1, max_length=MAX_ID_CHARS)],
    state: ServingDep,
    workers: WorkersDep,
) -> Document:
    """One document by id (404 if unknown, or if the index was built without `--docs`)."""
    if state.docstore is None:
        raise HTTPException(
            404, f"{state.index_dir} has no docstore (build it with `lsr index build --docs`)"
        )
    found = await workers.search(state.docstore.get, doc_id)
    if found is None:
        raise HTTPException(404, f"no document with id {doc_id!r}")
    return Document(id=found.id, title=found.title, text=found.text)
