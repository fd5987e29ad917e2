"""The predictor on Django with Django Ninja, reading passengers through psycopg's pool, as the Flask app does:
``gunicorn apps.django_ninja_app:app`` (WSGI) or ``uvicorn apps.django_ninja_app:asgi`` (ASGI).

A Django project in one module: settings, the API's routes and the URLconf. The views are plain ``def``, as
most Django code is; under ASGI Django runs them in its one thread for sync code. The contract's helpers
validate (as on Starlette and Litestar), so Django's request and response layers and Ninja's routing are what
differ.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any

import django
from asgiref.sync import iscoroutinefunction
from django.conf import settings
from django.core.asgi import get_asgi_application
from django.core.wsgi import get_wsgi_application
from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.utils.decorators import sync_and_async_middleware
from psycopg_pool import ConnectionPool

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

settings.configure(
    DEBUG=False,
    SECRET_KEY="unused: no sessions, no signing",  # noqa: S106  (Django requires one; nothing is signed)
    ROOT_URLCONF=__name__,
    ALLOWED_HOSTS=["*"],
    # CommonMiddleware, as in every project Django starts: it sets Content-Length (no chunked answers).
    MIDDLEWARE=["django.middleware.common.CommonMiddleware", f"{__name__}.errors_as_json"],
    DATA_UPLOAD_MAX_MEMORY_SIZE=MAX_BODY_BYTES + 1,  # declared lengths over the limit are refused before reading
    LOGGING={"version": 1, "loggers": {"django.request": {"level": "ERROR"}}},  # a 4xx is an answer, not news
)
django.setup()

from ninja import NinjaAPI  # noqa: E402  (Ninja reads the settings when imported)

predict = model_from_env()
OPENAPI = openapi_document()
api = NinjaAPI(docs_url=None, openapi_url=None)  # the contract's own document is served at /openapi.json
# One pool per worker process: the module is imported in each.
pool: ConnectionPool | None = None
if url := store.database_url():
    pool = ConnectionPool(url, open=False, **store.PSYCOPG_POOL)
    pool.open(wait=False)


def json_response(content: Any, status: int = 200) -> HttpResponse:
    return HttpResponse(to_json(content), status=status, content_type=JSON_CONTENT_TYPE)


def as_json(response: HttpResponse) -> HttpResponse:
    """Django's and Ninja's own refusals (404, 405, 400) are HTML or text: answered with the API's JSON body."""
    if response.status_code >= 400 and response.get("Content-Type") != JSON_CONTENT_TYPE:
        return json_response({"detail": HTTPStatus(response.status_code).phrase}, response.status_code)
    return response


@sync_and_async_middleware  # type: ignore[untyped-decorator]
def errors_as_json(get_response: Callable[[HttpRequest], Any]) -> Callable[[HttpRequest], Any]:
    if iscoroutinefunction(get_response):  # under ASGI: stay on the event loop, no thread hop for the middleware

        async def answer(request: HttpRequest) -> HttpResponse:
            return as_json(await get_response(request))

        return answer
    return lambda request: as_json(get_response(request))


@api.exception_handler(ContractError)
def contract_error(request: HttpRequest, error: ContractError) -> HttpResponse:
    return json_response(error.body, error.status)


@api.exception_handler(store.PSYCOPG_DOWN)
def database_unavailable(request: HttpRequest, error: Exception) -> HttpResponse:
    return contract_error(request, store.UNAVAILABLE)


@api.get("/health")
def health(request: HttpRequest) -> HttpResponse:
    return json_response({"status": "ok"})


@api.get("/openapi.json")
def openapi(request: HttpRequest) -> HttpResponse:
    return HttpResponse(OPENAPI, content_type=JSON_CONTENT_TYPE)


@api.get("/predict")
def predict_from_query(request: HttpRequest) -> HttpResponse:
    passenger = passenger_from_query(request.META["QUERY_STRING"])
    return json_response(predict(passenger.age, passenger.sex))


def body_of(request: HttpRequest) -> bytes:
    declared = request.META.get("CONTENT_LENGTH") or ""
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise CONTENT_TOO_LARGE
    if not declared and request.META.get("wsgi.input_terminated"):
        # A chunked body under WSGI: Django reads only a declared length, the server (gunicorn) ends the stream.
        try:
            return bytes(request.META["wsgi.input"].read(MAX_BODY_BYTES + 1))
        except Exception:  # the server could not read the body (a broken chunked encoding): the client's fault
            raise BODY_NOT_DECODABLE from None
    return bytes(request.body)


@api.api_operation(["PUT", "POST"], "/predict")
def predict_from_body(request: HttpRequest) -> HttpResponse:
    passenger = passenger_from_body(body_of(request), request.META.get("CONTENT_TYPE"))
    return json_response(predict(passenger.age, passenger.sex))


def read(ids: list[int]) -> list[dict[str, int]]:
    if pool is None:
        raise store.UNAVAILABLE
    with pool.connection() as connection:
        return [store.prediction(i, connection.execute(store.PSYCOPG_SELECT, (i,)).fetchone(), predict) for i in ids]


@api.get("/passengers/{segment}/prediction")
def predict_passenger(request: HttpRequest, segment: str) -> HttpResponse:
    return json_response(read([store.storable(passenger_id_from_path(segment))])[0])


@api.get("/predictions")
def predict_passengers(request: HttpRequest) -> HttpResponse:
    queries = queries_from_query(request.META["QUERY_STRING"])
    return json_response(read(store.random_ids(store.query_count(queries))))


urlpatterns = [path("", api.urls)]
app = get_wsgi_application()
asgi: Callable[[Any, Any, Any], Awaitable[None]] = get_asgi_application()
