"""The verify step before any load, as TechEmpower's: each server config a run measures that is not built in
(a ``--servers-file``'s, or one a version set runs from its own environment) is started once and must answer
a few requests of the API contract exactly as the built-in apps do (status, Content-Type, body byte for
byte), or the run is refused in one line before any scenario. The built-ins are held to the whole contract
by ``tests/test_contract.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

from apps.contract import ContractError, passenger_from_query, to_json
from apps.model import load_model
from bench.config import BenchConfig
from bench.errors import BenchError
from bench.load import workload
from bench.server_configs import BUILT_IN_SERVERS
from bench.servers import Server, ServerSpec, free_port, http_request

BAD_QUERY = "age=ten&sex=M"


@dataclass(frozen=True)
class Check:
    what: str
    method: str
    path: str
    body: str | None
    status: int
    answer: bytes


def contract_error(query: str) -> bytes:
    """The exact 422 body the contract gives a bad query string."""
    try:
        passenger_from_query(query)
    except ContractError as error:
        return to_json(error.body)
    raise AssertionError(f"{query!r} is a valid query")


def checks(model: str) -> list[Check]:
    expected = to_json(load_model(model)(workload.AGE, workload.SEX))
    return [
        Check("GET /health", "GET", "/health", None, 200, to_json({"status": "ok"})),
        Check("GET /predict", "GET", workload.QUERY_PATH, None, 200, expected),
        Check("PUT /predict", "PUT", workload.BODY_PATH, workload.BODY, 200, expected),
        Check("a bad age", "GET", f"/predict?{BAD_QUERY}", None, 422, contract_error(BAD_QUERY)),
        Check("an unknown path", "GET", "/nowhere", None, 404, to_json({"detail": "Not Found"})),
    ]


def check_contract(url: str, name: str, model: str) -> None:
    for check in checks(model):
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
            spec = ServerSpec(server=name, model=model, host=config.host, port=free_port(config.host), workers=1,
                              cpus=tuple(config.server_cpus))  # fmt: skip
            with Server(spec) as server:
                server.start(config.health_timeout)
                check_contract(spec.url, name, model)
