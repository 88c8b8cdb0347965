"""``lsr serve`` as a child process: started on a free port of 127.0.0.1, ready when its
``/readyz`` says so, stopped with SIGTERM. The service's tests and ``make bench-serve`` run real
servers this way; a script that needs a service for a while can too.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from lsr.service.settings import API_KEY_ENV

START_TIMEOUT_S = 300


def free_port() -> int:
    """A port nobody listens on now (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServiceProcess:
    """``with ServiceProcess(index_dir, "--model", m, log_path=p, api_key="k") as service:``;
    ``service.url`` is its address. Its output (the request log) goes to ``log_path``."""

    def __init__(
        self, index_dir: Path, *options: str, log_path: Path, api_key: str | None = None
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = Path(log_path)
        self.env = {k: v for k, v in os.environ.items() if k != API_KEY_ENV}
        if api_key is not None:
            self.env[API_KEY_ENV] = api_key
        lsr = str(Path(sys.executable).parent / "lsr")
        self.command = [lsr, "serve", str(index_dir), "--port", str(self.port), *options]
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> ServiceProcess:
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                self.command, stdout=log, stderr=subprocess.STDOUT, env=self.env
            )
        try:
            self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def wait_ready(self, timeout_s: float = START_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"lsr serve exited {self.process.returncode}:\n{self.log()}")
            try:
                with urllib.request.urlopen(f"{self.url}/readyz", timeout=5) as answer:
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.2)
        raise RuntimeError(f"lsr serve not ready after {timeout_s} s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __exit__(self, *exc: object) -> None:
        self.stop()
