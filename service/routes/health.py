"""``GET /healthz`` (the process answers) and ``GET /readyz`` (it can search: 503 until the
index and encoder are loaded and warmed up). Both are reachable without the API key."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from lsr.service.dependencies import HolderDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "Loading, or the load failed."}})
async def readyz(holder: HolderDep) -> JSONResponse:
    state = holder.current
    if state is None:
        body = (
            {"status": "failed", "error": holder.error} if holder.error else {"status": "loading"}
        )
        return JSONResponse(body, status_code=503)
    return JSONResponse({"status": "ready", "index_dir": str(state.index_dir)})
