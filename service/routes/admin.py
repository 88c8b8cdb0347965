"""``POST /admin/reload``: open an index directory (or the same one, rebuilt) and swap it in.

The new index is opened and warmed up beside the old one, which keeps serving; then one
reference assignment swaps them (:class:`~lsr.service.state.StateHolder`). Requests in flight
finish on the old index. A directory that does not open leaves the old index serving and the
answer names what is wrong with it.
"""

from __future__ import annotations

import asyncio
import time

from fastapi import APIRouter, HTTPException, Request
from lsr.service.dependencies import HolderDep, SettingsDep
from lsr.service.schemas import ReloadRequest, ReloadResponse
from lsr.service.search import warm_up
from lsr.service.settings import Settings
from lsr.service.state import Opener, StateHolder, load_state

from lsr.errors import LsrError

router = APIRouter(tags=["admin"])


@router.post(
    "/admin/reload",
    response_model=ReloadResponse,
    responses={403: {}, 409: {}, 422: {"description": "The directory does not open."}},
)
async def reload(
    request: Request, holder: HolderDep, settings: SettingsDep, body: ReloadRequest | None = None
) -> ReloadResponse:
    """Swap in `index_dir` (default: the directory being served) with `model` (default: the
    service's, else the one the new index records). Needs the API key."""
    if settings.api_key is None:
        raise HTTPException(
            403, "reloading needs an API key: start the service with LSR_API_KEY or --api-key-file"
        )
    body = body or ReloadRequest()
    opener = request.app.state.opener
    return await asyncio.to_thread(_reload, holder, settings, body, opener)


def _reload(
    holder: StateHolder, settings: Settings, body: ReloadRequest, opener: Opener
) -> ReloadResponse:
    if not holder.reload_lock.acquire(blocking=False):
        raise HTTPException(409, "another reload is in progress")
    try:
        start = time.perf_counter()
        previous = holder.current
        index_dir = body.index_dir or (previous.index_dir if previous else settings.index_dir)
        try:
            model = body.model or settings.model
            state = load_state(
                index_dir, model, settings.exact, previous, settings.vectors_only, settings.engine,
                opener,
            )  # fmt: skip
            warm_up(state)
        except (LsrError, OSError, ValueError) as exc:
            serving = f"still serving {previous.index_dir}" if previous else "nothing served yet"
            raise HTTPException(422, f"index_dir {index_dir}: {exc} ({serving})") from None
        holder.swap(state)
        return ReloadResponse(
            index_dir=str(state.index_dir),
            model=state.model,
            documents=len(state.index),
            took_ms=1000 * (time.perf_counter() - start),
        )
    finally:
        holder.reload_lock.release()
