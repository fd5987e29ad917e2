"""The API contract, checked over HTTP against each app under its real server (``bench serve``).

Every case has its expected status and body; every app must also give byte-identical answers.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
import requests

from apps.contract import JSON_CONTENT_TYPE, MAX_BODY_BYTES
from apps.model import load_model, predict_rule
from apps.store import prediction
from bench import mariadb
from bench.engines import passengers
from bench.registry import BUILT_IN, BUILT_IN_SERVERS, FRAMEWORKS
from bench.workload import WORKLOADS
from tests.servers import SessionDatabase, engine_of, served

NOT_INT = "Input should be a valid integer"
PARSE_INT = "Input should be a valid integer, unable to parse string as an integer"
NOT_OBJECT = "Input should be a valid dictionary or object to extract fields from"


def invalid(*errors: tuple[str, list[Any], str]) -> dict[str, Any]:
    return {"detail": [{"type": kind, "loc": loc, "msg": msg} for kind, loc, msg in errors]}


def missing(*loc: Any) -> tuple[str, list[Any], str]:
    return ("missing", list(loc), "Field required")


def bad_sex(where: str) -> tuple[str, list[Any], str]:
    return ("literal_error", [where, "sex"], "Input should be 'M' or 'F'")


def too_old(where: str) -> tuple[str, list[Any], str]:
    return ("less_than_equal", [where, "age"], "Input should be less than or equal to 120")


def too_young(where: str) -> tuple[str, list[Any], str]:
    return ("greater_than_equal", [where, "age"], "Input should be greater than or equal to 0")


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    path: str
    status: int
    body: dict[str, Any]
    data: bytes | str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    chunked: bool = False

    def send(self, base_url: str) -> requests.Response:
        data: Any = self.data
        if self.chunked and isinstance(self.data, bytes):
            payload = self.data
            data = (payload[i : i + 8192] for i in range(0, len(payload), 8192))
        return requests.request(self.method, base_url + self.path, data=data, headers=self.headers, timeout=10)


def put(name: str, data: bytes | str | None, status: int, body: dict[str, Any], **options: Any) -> Case:
    return Case(name, "PUT", "/predict", status, body, data=data, **options)


JSON = {"Content-Type": "application/json"}
CASES = [
    # the seed's own client calls
    Case("seed GET query string", "GET", "/predict?age=10&sex=M", 200, {"survived": 0}),
    put("seed PUT data=json.dumps, no Content-Type", json.dumps({"age": 10, "sex": "F"}), 200, {"survived": 1}),
    # good requests
    Case("GET child boy survives", "GET", "/predict?age=9&sex=M", 200, {"survived": 1}),
    Case("GET woman survives", "GET", "/predict?age=40&sex=F", 200, {"survived": 1}),
    Case("GET age 0", "GET", "/predict?age=0&sex=M", 200, {"survived": 1}),
    Case("GET age 120", "GET", "/predict?age=120&sex=M", 200, {"survived": 0}),
    Case("GET parameters in other order", "GET", "/predict?sex=F&age=70", 200, {"survived": 1}),
    Case("GET repeated parameter: last wins", "GET", "/predict?age=50&age=5&sex=M", 200, {"survived": 1}),
    put("PUT with JSON Content-Type", '{"age": 30, "sex": "M"}', 200, {"survived": 0}, headers=JSON),
    put(
        "PUT JSON with charset",
        '{"age": 3, "sex": "M"}',
        200,
        {"survived": 1},
        headers={"Content-Type": "application/json; charset=utf-8"},
    ),
    put(
        "PUT +json media type",
        '{"age": 30, "sex": "F"}',
        200,
        {"survived": 1},
        headers={"Content-Type": "application/vnd.titanic+json"},
    ),
    Case("POST same as PUT", "POST", "/predict", 200, {"survived": 1}, data='{"age": 5, "sex": "M"}', headers=JSON),
    put("PUT fields in other order", '{"sex": "M", "age": 11}', 200, {"survived": 0}),
    Case("GET health", "GET", "/health", 200, {"status": "ok"}),
    # bad query strings
    Case("GET no parameters", "GET", "/predict", 422, invalid(missing("query", "age"), missing("query", "sex"))),
    Case("GET missing sex", "GET", "/predict?age=10", 422, invalid(missing("query", "sex"))),
    Case("GET missing age", "GET", "/predict?sex=F", 422, invalid(missing("query", "age"))),
    Case(
        "GET age not a number",
        "GET",
        "/predict?age=ten&sex=F",
        422,
        invalid(("int_parsing", ["query", "age"], PARSE_INT)),
    ),
    Case(
        "GET age fractional",
        "GET",
        "/predict?age=10.5&sex=F",
        422,
        invalid(("int_parsing", ["query", "age"], PARSE_INT)),
    ),
    Case("GET age negative", "GET", "/predict?age=-1&sex=F", 422, invalid(too_young("query"))),
    Case("GET age above 120", "GET", "/predict?age=121&sex=F", 422, invalid(too_old("query"))),
    Case("GET age empty", "GET", "/predict?age=&sex=F", 422, invalid(("int_parsing", ["query", "age"], PARSE_INT))),
    Case("GET sex lower case", "GET", "/predict?age=10&sex=m", 422, invalid(bad_sex("query"))),
    Case("GET sex spelled out", "GET", "/predict?age=10&sex=female", 422, invalid(bad_sex("query"))),
    Case("GET unicode sex", "GET", "/predict?age=10&sex=%C3%89", 422, invalid(bad_sex("query"))),
    Case(
        "GET extra parameter",
        "GET",
        "/predict?age=10&sex=F&class=1",
        422,
        invalid(("extra_forbidden", ["query", "class"], "Extra inputs are not permitted")),
    ),
    Case(
        "GET both fields bad",
        "GET",
        "/predict?age=x&sex=x",
        422,
        invalid(("int_parsing", ["query", "age"], PARSE_INT), bad_sex("query")),
    ),
    # bad bodies
    put("PUT empty body", "", 422, invalid(missing("body"))),
    put("PUT malformed JSON", '{"age": 10,', 422, invalid(("json_invalid", ["body", 11], "JSON decode error"))),
    put("PUT not JSON at all", "age=10&sex=F", 422, invalid(("json_invalid", ["body", 0], "JSON decode error"))),
    put("PUT JSON array", '[10, "F"]', 422, invalid(("model_attributes_type", ["body"], NOT_OBJECT))),
    put("PUT JSON string", '"hello"', 422, invalid(("model_attributes_type", ["body"], NOT_OBJECT))),
    put("PUT JSON null", "null", 422, invalid(("model_attributes_type", ["body"], NOT_OBJECT))),
    put("PUT empty object", "{}", 422, invalid(missing("body", "age"), missing("body", "sex"))),
    put("PUT missing sex", '{"age": 10}', 422, invalid(missing("body", "sex"))),
    put(
        "PUT extra field",
        '{"age": 10, "sex": "F", "fare": 7.25}',
        422,
        invalid(("extra_forbidden", ["body", "fare"], "Extra inputs are not permitted")),
    ),
    put("PUT age as string", '{"age": "10", "sex": "F"}', 422, invalid(("int_type", ["body", "age"], NOT_INT))),
    put("PUT age as float", '{"age": 10.0, "sex": "F"}', 422, invalid(("int_type", ["body", "age"], NOT_INT))),
    put("PUT age as boolean", '{"age": true, "sex": "F"}', 422, invalid(("int_type", ["body", "age"], NOT_INT))),
    put("PUT age null", '{"age": null, "sex": "F"}', 422, invalid(("int_type", ["body", "age"], NOT_INT))),
    put("PUT age huge", '{"age": 100000000000000000000000, "sex": "F"}', 422, invalid(too_old("body"))),
    put("PUT age negative", '{"age": -5, "sex": "M"}', 422, invalid(too_young("body"))),
    put("PUT sex wrong", '{"age": 10, "sex": "X"}', 422, invalid(bad_sex("body"))),
    put("PUT sex as number", '{"age": 10, "sex": 1}', 422, invalid(bad_sex("body"))),
    put(
        "PUT wrong Content-Type",
        '{"age": 10, "sex": "F"}',
        422,
        invalid(("model_attributes_type", ["body"], NOT_OBJECT)),
        headers={"Content-Type": "text/plain"},
    ),
    put("PUT body not UTF-8", b'{"age": 1, "sex": "\xff"}', 400, {"detail": "There was an error parsing the body"}),
    put("PUT body over 64 KiB", b" " * (MAX_BODY_BYTES + 1), 413, {"detail": "Content Too Large"}),
    put(
        "PUT chunked body over 64 KiB", b" " * (MAX_BODY_BYTES + 1), 413, {"detail": "Content Too Large"}, chunked=True
    ),
    put(
        "PUT body of exactly 64 KiB is read",
        b'{"age": 10, "sex": "F"}' + b" " * (MAX_BODY_BYTES - 23),
        200,
        {"survived": 1},
    ),
    # routing
    Case("unknown path", "GET", "/prediction", 404, {"detail": "Not Found"}),
    Case("root path", "GET", "/", 404, {"detail": "Not Found"}),
    Case("DELETE not allowed", "DELETE", "/predict", 405, {"detail": "Method Not Allowed"}),
    Case("PATCH not allowed", "PATCH", "/predict", 405, {"detail": "Method Not Allowed"}, data="{}"),
    Case("POST health not allowed", "POST", "/health", 405, {"detail": "Method Not Allowed"}),
    # the database endpoints: one passenger by its id (the passenger list's row number)
    Case("passenger 1 (a man of 22)", "GET", "/passengers/1/prediction", 200, {"passenger_id": 1, "survived": 0}),
    Case("passenger 8 (a boy of 2)", "GET", "/passengers/8/prediction", 200, {"passenger_id": 8, "survived": 1}),
    Case(
        "passenger 79 (aged 0.83: whole years 0)",
        "GET",
        "/passengers/79/prediction",
        200,
        {"passenger_id": 79, "survived": 1},
    ),
    Case(
        "passenger 6, a man of unknown age", "GET", "/passengers/6/prediction", 200, {"passenger_id": 6, "survived": 0}
    ),
    Case(
        "passenger 20, a woman of unknown age",
        "GET",
        "/passengers/20/prediction",
        200,
        {"passenger_id": 20, "survived": 1},
    ),
    Case("passenger 891, the last", "GET", "/passengers/891/prediction", 200, {"passenger_id": 891, "survived": 0}),
    Case("passenger 0: unknown", "GET", "/passengers/0/prediction", 404, {"detail": "Not Found"}),
    Case("passenger 892: unknown", "GET", "/passengers/892/prediction", 404, {"detail": "Not Found"}),
    Case("passenger -1: unknown", "GET", "/passengers/-1/prediction", 404, {"detail": "Not Found"}),
    Case(
        "passenger id beyond any row's",
        "GET",
        "/passengers/99999999999999999999/prediction",
        404,
        {"detail": "Not Found"},
    ),
    Case(
        "passenger id not a number",
        "GET",
        "/passengers/one/prediction",
        422,
        invalid(("int_parsing", ["path", "passenger_id"], PARSE_INT)),
    ),
    Case(
        "passenger id fractional",
        "GET",
        "/passengers/1.5/prediction",
        422,
        invalid(("int_parsing", ["path", "passenger_id"], PARSE_INT)),
    ),
    Case(
        "PUT passenger not allowed", "PUT", "/passengers/1/prediction", 405, {"detail": "Method Not Allowed"}, data="{}"
    ),
    Case("POST predictions not allowed", "POST", "/predictions", 405, {"detail": "Method Not Allowed"}, data="{}"),
]
# TechEmpower's rule for the queries parameter: missing, not an integer or below 1 means 1; above 500 means 500.
QUERIES = {"": 1, "?queries=": 1, "?queries=abc": 1, "?queries=0": 1, "?queries=-3": 1, "?queries=1.5": 1,
           "?queries=1": 1, "?queries=3": 3, "?queries=20": 20, "?queries=500": 500, "?queries=501": 500,
           "?queries=9999999999": 500, "?queries=2&queries=4": 4}  # fmt: skip


@pytest.fixture(scope="module", params=BUILT_IN_SERVERS)
def app_url(request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    """Every named server config, each serving its app under its real server, reading the session's database on
    its engine (one on MariaDB skipped where the host has none, with the line naming its install)."""
    if engine_of(request.param) == "mariadb" and not mariadb.available():
        pytest.skip(mariadb.MISSING)
    with served(request.param) as url:
        yield request.param, url


DATABASE_PATHS = ("/passengers/", "/predictions")
BODY_METHODS = ("PUT", "POST")


def cases_here() -> list[Case]:
    """Every case, less those that read the database where the passenger list is not beside the clone."""
    return [c for c in CASES if SessionDatabase.url() is not None or not c.path.startswith(DATABASE_PATHS)]


def cases_for(server: str) -> list[Case]:
    """The cases a config answers: every one, or, for a config that serves some workloads alone (LitServe:
    POST /predict), each case of a body to that path, sent by the workload's method and, where the case names
    none, with a JSON Content-Type (LitServe's FastAPI app reads no other body as JSON: FastAPI's strict default)."""
    config = BUILT_IN.config(server)
    if not config.serves:
        return cases_here()
    served = [WORKLOADS[name] for name in config.serves]
    return [replace(case, method=workload.method, headers={"Content-Type": JSON_CONTENT_TYPE, **case.headers})
            for case in cases_here() for workload in served
            if case.method in BODY_METHODS and case.path == workload.path.split("?")[0]]  # fmt: skip


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 40
    assert len({case.name for case in CASES}) == len(CASES)


def test_contract(app_url: tuple[str, str]) -> None:
    """Every case's status, Content-Type and body, byte for byte as the contract writes them: so every app
    answers every case as every other does (FastAPI on uvicorn's answers included)."""
    framework, url = app_url
    failures = []
    for case in cases_for(framework):
        response = case.send(url)
        got = (response.status_code, response.headers.get("Content-Type"), response.content)
        want = (case.status, "application/json", json.dumps(case.body, separators=(",", ":")).encode())
        if got != want:
            failures.append(f"{case.name}: expected {want}, got {got}")
    assert not failures, f"{framework}:\n" + "\n".join(failures)
    health = requests.get(url + "/health", timeout=5)
    assert health.status_code == 200, "unhealthy after bad input"
    assert BUILT_IN.config(framework).serves or health.json() == {"status": "ok"}


def test_queries_rule(app_url: tuple[str, str]) -> None:
    """``/predictions``: as many distinct passengers as the rule says, each predicted from its row."""
    framework, url = app_url
    if SessionDatabase.url() is None:
        pytest.skip("the passenger list (../shared/data/titanic.csv) is needed for the database endpoints")
    if not BUILT_IN.config(framework).answers("queries-20"):
        pytest.skip(f"{framework} does not serve the database endpoints")
    rows = passengers(SessionDatabase.url() or "")
    failures = []
    for query, count in QUERIES.items():
        response = requests.get(f"{url}/predictions{query}", timeout=10)
        answer = response.json()
        ids = [item["passenger_id"] for item in answer] if response.status_code == 200 else []
        if response.status_code != 200 or len(ids) != count or len(set(ids)) != count:
            failures.append(
                f"{query!r}: expected {count} distinct passengers, got {response.status_code} {answer!r:.200}"
            )
            continue
        wrong = [item for item in answer if item != prediction(item["passenger_id"], rows[item["passenger_id"]],
                                                                predict_rule)]  # fmt: skip
        if wrong:
            failures.append(f"{query!r}: predictions not the model's: {wrong[:3]}")
    assert not failures, f"{framework}:\n" + "\n".join(failures)


def test_openapi_served_identically(app_url: tuple[str, str]) -> None:
    framework, url = app_url
    if BUILT_IN.config(framework).serves:
        pytest.skip(f"{framework} serves part of the contract, and documents it in its own way")
    committed = json.loads((Path(__file__).parents[1] / "apps" / "openapi.json").read_text())
    response = requests.get(url + "/openapi.json", timeout=5)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == committed, "regenerate: python -m apps.fastapi_app > apps/openapi.json"


def test_litserve_batches_answer_each_passenger_as_the_model_does() -> None:
    """Sixteen passengers at once, so LitServe's workers predict batches of several: each answer is its own."""
    passengers = [{"age": age, "sex": sex} for age in (2, 9, 10, 17, 30, 45, 70, 99) for sex in ("M", "F")]
    predict = load_model("sklearn")
    with served("litserve-batched", "--model", "sklearn", "--workers", "2", timeout=60) as url:

        def answer(passenger: dict[str, Any]) -> Any:
            return requests.post(url + "/predict", json=passenger, timeout=30).json()

        with ThreadPoolExecutor(len(passengers)) as pool:
            answers = list(pool.map(answer, passengers))
    assert answers == [predict(p["age"], p["sex"]) for p in passengers]


@pytest.mark.parametrize(
    "model, expected, frameworks",
    [("logreg", {"survived": 1, "probability": 0.751127}, FRAMEWORKS),  # each app passes --model on
     ("sklearn", {"survived": 0, "probability": 0.09937}, FRAMEWORKS[:1])],  # the forest: apps.model's, one app's
)  # fmt: skip
def test_trained_models_served(model: str, expected: dict[str, Any], frameworks: tuple[str, ...]) -> None:
    for framework in frameworks:
        with served(framework, "--model", model) as url:
            assert requests.get(url + "/predict?age=10&sex=F", timeout=5).json() == expected
            assert requests.put(url + "/predict", data='{"age": 10, "sex": "F"}', timeout=5).json() == expected
