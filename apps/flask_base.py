"""The predictor on Flask without its database (``new_app``): every route, the error shape and the body limit;
``apps/flask_app.py`` reads passengers through psycopg's pool, ``apps/flask_orm_app.py`` through Flask-SQLAlchemy.
"""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from flask import Flask, Response, request
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
OPENAPI = openapi_document()


def json_response(content: Any, status: int = 200) -> Response:
    return Response(to_json(content), status=status, mimetype=JSON_CONTENT_TYPE)


def contract_error(error: ContractError) -> Response:
    return json_response(error.body, error.status)


def database_unavailable(error: Exception) -> Response:
    return contract_error(store.UNAVAILABLE)


def http_error(error: HTTPException) -> Response:
    status = error.code or 500
    if status == CONTENT_TOO_LARGE.status:
        return json_response(CONTENT_TOO_LARGE.body, status)
    return json_response({"detail": HTTPStatus(status).phrase}, status)


def health() -> Response:
    return json_response({"status": "ok"})


def openapi() -> Response:
    return Response(OPENAPI, mimetype=JSON_CONTENT_TYPE)


def predict_from_query() -> Response:
    passenger = passenger_from_query(request.query_string.decode("latin-1"))
    return json_response(predict(passenger.age, passenger.sex))


def predict_from_body() -> Response:
    try:
        body = request.get_data(cache=False)
    except HTTPException:  # Werkzeug's own refusals, such as 413
        raise
    except Exception:  # the server could not read the body (gunicorn: a broken chunked encoding): the client's fault
        raise BODY_NOT_DECODABLE from None
    passenger = passenger_from_body(body, request.headers.get("Content-Type"))
    return json_response(predict(passenger.age, passenger.sex))


def new_app(read: Callable[[list[int]], list[dict[str, int]]], unavailable: tuple[type[Exception], ...]) -> Flask:
    """The app, its passengers read by ``read``; its driver's ``unavailable`` errors answer 503."""
    app = Flask(__name__)
    # One byte over the limit: Werkzeug stops reading a chunked body at this size without an error,
    # and passenger_from_body answers 413 for anything longer than MAX_BODY_BYTES.
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES + 1
    app.register_error_handler(ContractError, contract_error)
    for error in unavailable:
        app.register_error_handler(error, database_unavailable)
    app.register_error_handler(HTTPException, http_error)
    app.get("/health")(health)
    app.get("/openapi.json")(openapi)
    app.get("/predict")(predict_from_query)
    app.route("/predict", methods=["PUT", "POST"])(predict_from_body)

    @app.get("/passengers/<segment>/prediction")
    def predict_passenger(segment: str) -> Response:
        return json_response(read([store.storable(passenger_id_from_path(segment))])[0])

    @app.get("/predictions")
    def predict_passengers() -> Response:
        queries = queries_from_query(request.query_string.decode("latin-1"))
        return json_response(read(store.random_ids(store.query_count(queries))))

    return app
