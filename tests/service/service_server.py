"""A real ``lsr serve`` (``lsr.service.process``) with an HTTP client that sends its key
(imported as ``from service_server import Server``)."""

from __future__ import annotations

import sys
from pathlib import Path

import httpx
from lsr.service.process import ServiceProcess

LSR = str(Path(sys.executable).parent / "lsr")


class Server(ServiceProcess):
    def __init__(self, index_dir: Path, *options: str, log_path: Path, api_key: str | None = None):
        super().__init__(index_dir, *options, log_path=log_path, api_key=api_key)
        headers = {"X-API-Key": api_key} if api_key else {}
        self.client = httpx.Client(base_url=self.url, headers=headers, timeout=60)

    def __exit__(self, *exc: object) -> None:
        self.client.close()
        super().__exit__(*exc)
