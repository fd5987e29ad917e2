"""The verify steps before any load, as TechEmpower's.

Before each scenario, one answer of its workload is checked against the model computed here (for the
database workloads, against the passengers read from the database itself), and the passenger reads that
one answer cost are counted at the database: exactly one query per row, so a cache or an ``IN`` is caught.

Before a run, each server config it measures that is not built in (a ``--servers-file``'s, or one a version
set runs from its own environment) is started once and must answer a few requests of the API contract
exactly as the built-in apps do (status, Content-Type, body byte for byte), or the run is refused in one
line before any scenario. The built-ins are held to the whole contract by ``tests/test_contract.py``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from apps.contract import JSON_CONTENT_TYPE, ContractError, passenger_from_query, to_json
from apps.model import Sex, load_model
from apps.store import prediction
from bench import engines
from bench.config import BenchConfig
from bench.errors import BenchError
from bench.registry import BUILT_IN_SERVERS
from bench.server_configs import ServerConfig
from bench.servers import Server, ServerSpec, free_port, http_request
from bench.workload import AGE, PASSENGER_ID, SEX, WORKLOADS, Workload

Passengers = dict[int, tuple[int | None, Sex]]


def answer_problem(workload: Workload, model: str, answer: tuple[int, str, bytes], passengers: Passengers) -> str:
    """What is wrong with one answer of ``workload`` (empty: nothing)."""
    status, content_type, body = answer
    got = f"got {status} {content_type} {body[:200].decode(errors='replace')}"
    if (status, content_type) != (200, JSON_CONTENT_TYPE):
        return f"expected 200 {JSON_CONTENT_TYPE}, {got}"
    predict = load_model(model)
    if not workload.reads_database:
        expected = to_json(predict(AGE, SEX))
        return "" if body == expected else f"expected {expected.decode()}, {got}"
    content: Any = json.loads(body)
    items = content if isinstance(content, list) else [content]
    ids = [item.get("passenger_id") if isinstance(item, dict) else None for item in items]
    if len(items) != workload.queries or len(set(ids)) != len(ids):
        return f"expected {workload.queries} distinct passengers, {got}"
    if workload.name == "passenger" and ids != [PASSENGER_ID]:
        return f"expected passenger {PASSENGER_ID}, {got}"
    for passenger_id, item in zip(ids, items, strict=True):
        if passenger_id not in passengers:
            return f"passenger {passenger_id!r} is not in the database, {got}"
        if item != prediction(passenger_id, passengers[passenger_id], predict):
            return f"passenger {passenger_id}'s prediction is not the model's, {got}"
    return ""


def verify(url: str, model: str, endpoint: str, database_url: str | None = None) -> None:
    """Check one answer of ``endpoint`` and, where it reads the database, the reads it cost there; raise before
    any load if either is wrong."""
    workload = WORKLOADS[endpoint]
    passengers = engines.passengers(database_url) if workload.reads_database and database_url else {}
    before = engines.query_count(database_url) if workload.reads_database and database_url else None
    answer = http_request(url + workload.path, workload.method, workload.body or None)
    problem = answer_problem(workload, model, answer, passengers)
    if problem:
        raise BenchError(f"verify failed for {workload.request} at {url}: {problem}")
    if before is not None and database_url:
        read = (engines.query_count(database_url) or 0) - before
        if read != workload.queries:
            raise BenchError(
                f"verify failed for {workload.request} at {url}: the database counted {read} passenger reads for "
                f"one answer, not {workload.queries} (one query per row, no cache, no IN)"
            )


BAD_QUERY = "age=ten&sex=M"


@dataclass(frozen=True)
class Check:
    what: str
    method: str
    path: str
    body: str | None
    status: int
    answer: bytes
    workload: str | None = None  # the workload it is an answer of; None: the contract's own (health, errors)


def contract_error(query: str) -> bytes:
    """The exact 422 body the contract gives a bad query string."""
    try:
        passenger_from_query(query)
    except ContractError as error:
        return to_json(error.body)
    raise AssertionError(f"{query!r} is a valid query")


def checks(model: str) -> list[Check]:
    expected = to_json(load_model(model)(AGE, SEX))
    answers = [WORKLOADS[name] for name in ("get", "put", "post")]
    return [
        Check("GET /health", "GET", "/health", None, 200, to_json({"status": "ok"})),
        *(Check(w.request, w.method, w.path, w.body or None, 200, expected, w.name) for w in answers),
        Check("a bad age", "GET", f"/predict?{BAD_QUERY}", None, 422, contract_error(BAD_QUERY)),
        Check("an unknown path", "GET", "/nowhere", None, 404, to_json({"detail": "Not Found"})),
    ]


def check_contract(url: str, config: ServerConfig, model: str) -> None:
    """A few answers of the contract, byte for byte; of a config that serves some workloads alone, those."""
    name = config.name
    for check in checks(model):
        if config.serves and check.workload not in config.serves:
            continue
        got = http_request(url + check.path, check.method, check.body)
        want = (check.status, "application/json", check.answer)
        if got != want:
            raise BenchError(
                f"server config {name!r} breaks the API contract, so nothing was measured: {check.what}: expected "
                f"{want[0]} {want[1]} {want[2].decode()}, got {got[0]} {got[1]} {got[2][:200].decode(errors='replace')}"
            )


def verify_user_configs(config: BenchConfig) -> None:
    """Start each config the run measures here that is not built in (a user's, or one run from a version set's
    environment: another release of its server) and check its answers."""
    for name in config.server_names:
        if name in BUILT_IN_SERVERS or name in config.targets:
            continue
        for model in config.model:
            spec = ServerSpec(config.registry.config(name), model=model, host=config.host,
                              port=free_port(config.host), workers=1, cpus=tuple(config.server_cpus))  # fmt: skip
            with Server(spec) as server:
                server.start(config.health_timeout)
                check_contract(spec.url, spec.config, model)
