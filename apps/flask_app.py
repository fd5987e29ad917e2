"""The predictor on Flask, reading passengers through psycopg's pool: ``gunicorn apps.flask_app:app``."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from flask import Flask, Response, request
from psycopg_pool import ConnectionPool
from werkzeug.exceptions import HTTPException

from apps import store
from apps.contract import (
    BODY_NOT_DECODABLE,
    CONTENT_TOO_LARGE,
    JSON_CONTENT_TYPE,
    MAX_BODY_BYTES,
    ContractError,
    openapi_document,
    passenger_from_body,
    passenger_from_query,
    passenger_id_from_path,
    queries_from_query,
    to_json,
)
from apps.model import model_from_env

predict = model_from_env()
app = Flask(__name__)
# One byte over the limit: Werkzeug stops reading a chunked body at this size without an error,
# and passenger_from_body answers 413 for anything longer than MAX_BODY_BYTES.
app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES + 1
OPENAPI = openapi_document()
# One pool per worker process: the app is imported in each.
pool: ConnectionPool | None = None
if url := store.database_url():
    pool = ConnectionPool(url, open=False, **store.PSYCOPG_POOL)
    pool.open(wait=False)


def json_response(content: Any, status: int = 200) -> Response:
    return Response(to_json(content), status=status, mimetype=JSON_CONTENT_TYPE)


@app.errorhandler(ContractError)
def contract_error(error: ContractError) -> Response:
    return json_response(error.body, error.status)


@app.errorhandler(store.PSYCOPG_DOWN)
def database_unavailable(error: Exception) -> Response:
    return contract_error(store.UNAVAILABLE)


@app.errorhandler(HTTPException)
def http_error(error: HTTPException) -> Response:
    status = error.code or 500
    if status == CONTENT_TOO_LARGE.status:
        return json_response(CONTENT_TOO_LARGE.body, status)
    return json_response({"detail": HTTPStatus(status).phrase}, status)


@app.get("/health")
def health() -> Response:
    return json_response({"status": "ok"})


@app.get("/openapi.json")
def openapi() -> Response:
    return Response(OPENAPI, mimetype=JSON_CONTENT_TYPE)


@app.get("/predict")
def predict_from_query() -> Response:
    passenger = passenger_from_query(request.query_string.decode("latin-1"))
    return json_response(predict(passenger.age, passenger.sex))


@app.route("/predict", methods=["PUT", "POST"])
def predict_from_body() -> Response:
    try:
        body = request.get_data(cache=False)
    except HTTPException:  # Werkzeug's own refusals, such as 413
        raise
    except Exception:  # the server could not read the body (gunicorn: a broken chunked encoding): the client's fault
        raise BODY_NOT_DECODABLE from None
    passenger = passenger_from_body(body, request.headers.get("Content-Type"))
    return json_response(predict(passenger.age, passenger.sex))


def read(ids: list[int]) -> list[dict[str, int]]:
    if pool is None:
        raise store.UNAVAILABLE
    with pool.connection() as connection:
        return [store.prediction(i, connection.execute(store.PSYCOPG_SELECT, (i,)).fetchone(), predict) for i in ids]


@app.get("/passengers/<segment>/prediction")
def predict_passenger(segment: str) -> Response:
    return json_response(read([store.storable(passenger_id_from_path(segment))])[0])


@app.get("/predictions")
def predict_passengers() -> Response:
    queries = queries_from_query(request.query_string.decode("latin-1"))
    return json_response(read(store.random_ids(store.query_count(queries))))
