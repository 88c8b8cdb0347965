"""What a running service is configured with, in one frozen object handed to ``create_app``.

``lsr serve`` builds it from its options; with ``--workers N`` every uvicorn worker process
rebuilds it from the environment (:data:`SETTINGS_ENV`, JSON), because worker processes import
the app by name. The API key never travels in that JSON nor on a command line (``ps`` shows
command lines): it comes from ``LSR_API_KEY`` or is read from ``api_key_file`` by each process.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from lsr.errors import InputError
from lsr.threads import available_cores

SETTINGS_ENV = "LSR_SERVE_SETTINGS"
API_KEY_ENV = "LSR_API_KEY"


@dataclass(frozen=True)
class Settings:
    """A service's configuration (the defaults are those of ``lsr serve``)."""

    index_dir: Path
    #: Query encoder; None: the model recorded in the index's provenance.
    model: str | None = None
    #: No query encoder: vector queries only (for an index of vectors made elsewhere).
    vectors_only: bool = False
    #: Exact search over the index's forward index instead of Seismic's approximate search.
    exact: bool = False
    #: Engine of the index's searches (auto, seismic, exact); None: the index's stored default.
    engine: str | None = None
    api_key_file: Path | None = None
    #: Origins allowed by CORS (``*`` for any); none: no CORS headers.
    cors_origins: tuple[str, ...] = ()
    max_body_bytes: int = 1 << 20
    request_timeout_s: float = 10.0
    #: Longest query accepted, in the encoder's own tokens (word pieces or analysed terms).
    max_query_tokens: int = 128
    #: Concurrent kernel calls (the search threads); default: the machine's cores.
    search_threads: int = field(default_factory=available_cores)
    #: Threads encoding queries, each a query at a time.
    encode_threads: int = 2
    #: torch's intra-op threads per encoding: one, so that concurrent queries spread over the
    #: cores (a ~20-token query gains little from more, and spinning intra-op threads stall
    #: on a busy machine).
    torch_threads: int = 1
    #: Write the query text into the request log (off: queries can be private).
    log_queries: bool = False
    #: Read the index into each worker's memory instead of mapping its files
    #: (:func:`lsr.index.open.open_index`'s ``mmap=False``).
    in_memory: bool = False
    api_key: str | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "index_dir", Path(self.index_dir))
        if self.api_key_file is not None:
            object.__setattr__(self, "api_key_file", Path(self.api_key_file))
        object.__setattr__(self, "cors_origins", tuple(self.cors_origins))
        for name in (
            "max_body_bytes", "max_query_tokens", "search_threads", "encode_threads",
            "torch_threads",
        ):  # fmt: skip
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InputError(f"{name} must be a positive integer, got {value!r}")
        if not self.request_timeout_s > 0:
            raise InputError(f"request_timeout_s must be positive, got {self.request_timeout_s!r}")
        if self.api_key is None:
            object.__setattr__(self, "api_key", read_api_key(self.api_key_file))

    def to_environment(self) -> str:
        """The settings as JSON for :data:`SETTINGS_ENV` (without the key itself)."""
        data = asdict(self)
        data.pop("api_key")
        return json.dumps(data, default=str)

    @classmethod
    def from_environment(cls) -> Settings:
        """The settings a worker process was started with (see :meth:`to_environment`)."""
        raw = os.environ.get(SETTINGS_ENV)
        if raw is None:
            raise InputError(f"environment variable {SETTINGS_ENV} is not set (use `lsr serve`)")
        data = json.loads(raw)
        known = {f.name for f in fields(cls)} - {"api_key"}
        return cls(**{name: value for name, value in data.items() if name in known})


def read_api_key(api_key_file: Path | None) -> str | None:
    """The API key: the file's first line if a file is given, else ``LSR_API_KEY``, else None."""
    if api_key_file is not None:
        try:
            key = Path(api_key_file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise InputError(
                f"--api-key-file {api_key_file}: unreadable ({exc.strerror})"
            ) from None
        if not key:
            raise InputError(f"--api-key-file {api_key_file}: the file is empty")
        return key
    return os.environ.get(API_KEY_ENV) or None
