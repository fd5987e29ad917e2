"""Schemathesis against each app under its real server: generated requests, valid and invalid, for every
operation of the one OpenAPI document (``apps/openapi.json``). No 5xx; every answer's status is one the
document declares for that operation, with a Content-Type and body that conform to it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from bench.registry import FRAMEWORKS
from tests.servers import SessionDatabase, served

CASES_PER_OPERATION = 300
# The database operations take one integer each (an id, a count): fewer cases cover them, and each of theirs
# reads up to 500 rows.
CASES_READING_THE_DATABASE = 100
GUNICORN_REQUEST_LINE_LIMIT = 4094  # gunicorn refuses longer request lines itself with 414, before the app
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
SCHEMA = schemathesis.openapi.from_path(Path(__file__).parents[1] / "apps" / "openapi.json")
OPERATIONS = {result.ok().label: result.ok() for result in SCHEMA.get_all_operations()}
FUZZED = sorted(
    label for label, operation in OPERATIONS.items() if operation.body or operation.query or operation.path_parameters
)
# TechEmpower's rule turns any queries parameter into 1 to 500 rows: that operation never refuses one (422).
NEVER_INVALID = {"GET /predictions"}


@pytest.fixture(scope="module", params=FRAMEWORKS)
def app_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """Each framework under its usual server, reading the session's database."""
    with served(request.param) as url:
        yield url


def test_every_operation_with_inputs_is_fuzzed() -> None:
    assert FUZZED == [
        "GET /passengers/{passenger_id}/prediction", "GET /predict", "GET /predictions", "POST /predict",
        "PUT /predict",
    ]  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("label", FUZZED)
def test_generated_requests_conform(app_url: str, label: str) -> None:
    operation = OPERATIONS[label]
    reads = operation.path.startswith(("/passengers/", "/predictions"))
    if reads and SessionDatabase.url() is None:
        pytest.skip("the passenger list (../shared/data/titanic.csv) is needed for the database endpoints")
    cases = CASES_READING_THE_DATABASE if reads else CASES_PER_OPERATION
    strategy = st.one_of(operation.as_strategy(generation_mode=mode) for mode in GenerationMode)
    statuses: Counter[int] = Counter()
    session = requests.Session()

    @settings(
        max_examples=cases, deadline=None, database=None, phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )  # fmt: skip
    @given(strategy)
    def call(case: schemathesis.Case) -> None:
        response = case.call(base_url=app_url, session=session, timeout=10)
        statuses[response.status_code] += 1
        target = urlsplit(response.request.url or "")
        request_line = len(f"{case.method} {target.path}?{target.query} HTTP/1.1")
        if response.status_code == 414 and request_line > GUNICORN_REQUEST_LINE_LIMIT:
            return  # a server-level refusal (documented in the README), not the app's answer
        case.validate_response(response, checks=CHECKS)

    call()
    assert sum(statuses.values()) >= cases, statuses
    assert not [status for status in statuses if status >= 500], statuses
    assert statuses[200], f"valid requests should be generated: {statuses}"
    assert statuses[422] or label in NEVER_INVALID, f"invalid requests should be generated: {statuses}"
    print(f"{label}: {sum(statuses.values())} cases, statuses {dict(statuses)}")
