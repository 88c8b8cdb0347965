"""schemathesis against the served OpenAPI: generated requests (valid and invalid) never get a
500, and every answer has a documented status, content type and schema.

``/admin/reload`` is left out: its inputs are paths and model ids on the server, which the
generator would turn into reloads of arbitrary folders (and hub downloads); its error answers
are tested in test_service_reload.py.
"""

from __future__ import annotations

import pytest
import schemathesis
from conftest import requires_shared
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from service_fixtures import API_KEY, server, splade_index

pytestmark = requires_shared


def operations(url: str) -> list:
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
    found = [result.ok() for result in schema.get_all_operations()]
    return [op for op in found if op.path != "/admin/reload"]


@pytest.mark.parametrize("mode", list(GenerationMode), ids=lambda m: m.value)
def test_generated_requests_get_documented_answers(server, mode):
    checks = [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_schema_conformance,
    ]
    tested = []
    for operation in operations(server.url):

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
        def check(case):
            case.call_and_validate(
                base_url=server.url, headers={"X-API-Key": API_KEY}, checks=checks
            )

        try:
            check()
        except Unsatisfiable:  # no invalid request exists for an operation without inputs
            assert mode is GenerationMode.NEGATIVE
        tested.append(operation.label)
    assert "POST /search" in tested and "GET /documents/{doc_id}" in tested
