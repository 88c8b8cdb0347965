"""The HTTP API's request and response bodies: the schema of record (and of ``/docs``).

Every request model refuses unknown fields (``extra="forbid"``) and bounds every value, so a
malformed request is answered 422 naming the field before any work is done. Limits that depend
on the loaded index or encoder (term ids inside the vocabulary, known tokens, the query's token
count) are checked when the request is encoded and answered the same way.

Names follow the library's (``k``, ``query_cut``, ``heap_factor``); ``vector`` takes either of
the two forms users of sparse-vector stores know: ``{"token": weight}`` (OpenSearch
``neural_sparse``, Elasticsearch ``sparse_vector``) or ``{"indices": [...], "values": [...]}``
(Qdrant).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, Json, model_validator

#: k + offset: the deepest hit a request can reach.
MAX_DEPTH = 1000
MAX_QUERY_CHARS = 2000
#: Entries of a query vector (a SPLADE query has tens; a document a few hundred).
MAX_VECTOR_TERMS = 4096
MAX_TOKEN_CHARS = 200
MAX_BATCH = 100
MAX_QUERY_CUT = 1000
MAX_HEAP_FACTOR = 10.0
MAX_ID_CHARS = 1000

Weight = Annotated[float, Field(ge=0, allow_inf_nan=False)]
TermId = Annotated[int, Field(ge=0, lt=2**31)]
Token = Annotated[str, Field(min_length=1, max_length=MAX_TOKEN_CHARS)]
#: A query text: not blank (at least one character other than white space).
QueryText = Annotated[str, Field(min_length=1, max_length=MAX_QUERY_CHARS, pattern=r"\S")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class IndexedVector(Strict):
    """A sparse vector as parallel lists of term ids and weights."""

    indices: list[TermId] = Field(max_length=MAX_VECTOR_TERMS)
    values: list[Weight] = Field(max_length=MAX_VECTOR_TERMS)

    @model_validator(mode="after")
    def _same_length(self) -> IndexedVector:
        if len(self.indices) != len(self.values):
            raise ValueError(
                f"indices has {len(self.indices)} entries but values has {len(self.values)}"
            )
        return self


TokenVector = Annotated[dict[Token, Weight], Field(max_length=MAX_VECTOR_TERMS)]


class SearchParameters(Strict):
    """How deep to search and how: the index's stored defaults apply to what is left out."""

    k: int = Field(10, ge=1, le=MAX_DEPTH, description="Hits to return.")
    offset: int = Field(0, ge=0, lt=MAX_DEPTH, description="Hits to skip (paging).")
    query_cut: int | None = Field(
        None, ge=1, le=MAX_QUERY_CUT, description="Posting lists visited: the query's largest."
    )
    heap_factor: float | None = Field(
        None,
        ge=0,
        le=MAX_HEAP_FACTOR,
        allow_inf_nan=False,
        description="Skip a block whose summary score is below heap_factor x the k-th best.",
    )
    include_text: bool = Field(False, description="Add each hit's title and text (docstore).")
    explain: bool = Field(False, description="List each hit's matched terms and contributions.")

    @model_validator(mode="after")
    def _depth(self) -> SearchParameters:
        if self.k + self.offset > MAX_DEPTH:
            raise ValueError(f"k + offset must be at most {MAX_DEPTH}, got {self.k + self.offset}")
        return self


class SearchRequest(SearchParameters):
    """One search: a text ``query`` (encoded by the service's model) or a ready ``vector``."""

    query: QueryText | None = None
    vector: IndexedVector | TokenVector | None = Field(None, union_mode="left_to_right")
    filter: dict[str, Any] | None = Field(
        None,
        description="Only documents whose attributes pass (a living index, see `lsr index add "
        "--attributes`): Qdrant's shape, {must, should, must_not} of {key, match: {value | "
        "any}} and {key, range: {gt, gte, lt, lte}} conditions.",
    )

    @model_validator(mode="after")
    def _one_query(self) -> SearchRequest:
        if (self.query is None) == (self.vector is None):
            raise ValueError("give exactly one of 'query' and 'vector'")
        return self


class SearchQuery(SearchParameters):
    """``GET /search``'s parameters: ``q`` is the query text, ``filter`` the JSON of
    :attr:`SearchRequest.filter`."""

    q: QueryText
    filter: Json[dict[str, Any]] | None = Field(
        None, description="SearchRequest's filter as JSON text, e.g. "
        '{"must": [{"key": "tenant", "match": {"value": "acme"}}]} (URL-encoded).',
    )  # fmt: skip


class BatchRequest(Strict):
    searches: list[SearchRequest] = Field(min_length=1, max_length=MAX_BATCH)


class MatchedTerm(BaseModel):
    """One term shared by the query and a hit: ``contribution = query_weight x doc_weight``."""

    term: str
    query_weight: float
    doc_weight: float = Field(description="The weight as stored in the index (e.g. float16).")
    contribution: float


class Hit(BaseModel):
    id: str
    score: float
    title: str | None = None
    text: str | None = None
    matched: list[MatchedTerm] | None = None


class Timings(BaseModel):
    encode: float
    search: float
    total: float


class SearchResponse(BaseModel):
    hits: list[Hit]
    took_ms: Timings


class BatchResponse(BaseModel):
    results: list[SearchResponse]
    took_ms: float


class Document(BaseModel):
    id: str
    title: str
    text: str


class ReloadRequest(Strict):
    """Open ``index_dir`` (default: the one being served, rebuilt) and swap it in."""

    index_dir: str | None = Field(None, min_length=1, max_length=4096)
    model: str | None = Field(None, min_length=1, max_length=4096)


class ReloadResponse(BaseModel):
    index_dir: str
    model: str | None
    documents: int
    took_ms: float
