"""The predictor on Litestar, FastAPI's nearest ASGI rival: ``uvicorn apps.litestar_app:app``.

The same contract as the other apps, validated by the helpers of ``apps/contract.py`` (as the Starlette app
does), so Litestar's routing, request and response layers are what differ; the passenger store is read
through asyncpg, as FastAPI's is.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from http import HTTPStatus

import asyncpg
from litestar import Litestar, Request, Response, get, route
from litestar.exceptions import HTTPException

from apps import store
from apps.contract import (
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


def json_response(content: object, status: int = 200) -> Response[bytes]:
    return Response(to_json(content), status_code=status, media_type=JSON_CONTENT_TYPE)


@get("/health")
async def health() -> Response[bytes]:
    return json_response({"status": "ok"})


@get("/openapi.json")
async def openapi() -> Response[bytes]:
    return Response(OPENAPI, media_type=JSON_CONTENT_TYPE)


@get("/predict")
async def predict_from_query(request: Request) -> Response[bytes]:  # type: ignore[type-arg]
    passenger = passenger_from_query(request.scope["query_string"].decode("latin-1"))
    return json_response(predict(passenger.age, passenger.sex))


@route("/predict", http_method=["PUT", "POST"])
async def predict_from_body(request: Request) -> Response[bytes]:  # type: ignore[type-arg]
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise CONTENT_TOO_LARGE
    body = b""
    async for chunk in request.stream():  # a streamed body is refused as soon as it passes the limit
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise CONTENT_TOO_LARGE
    passenger = passenger_from_body(body, request.headers.get("content-type"))
    return json_response(predict(passenger.age, passenger.sex))


async def read(request: Request, ids: list[int]) -> list[dict[str, int]]:  # type: ignore[type-arg]
    pool: asyncpg.Pool | None = request.app.state.pool
    if pool is None:
        raise store.UNAVAILABLE
    async with pool.acquire(timeout=store.TIMEOUT_SECONDS) as connection:
        return [store.prediction(i, await connection.fetchrow(store.ASYNCPG_SELECT, i), predict) for i in ids]


@get("/passengers/{segment:str}/prediction")
async def predict_passenger(request: Request, segment: str) -> Response[bytes]:  # type: ignore[type-arg]
    passenger_id = store.storable(passenger_id_from_path(segment))
    return json_response((await read(request, [passenger_id]))[0])


@get("/predictions")
async def predict_passengers(request: Request) -> Response[bytes]:  # type: ignore[type-arg]
    queries = queries_from_query(request.scope["query_string"].decode("latin-1"))
    return json_response(await read(request, store.random_ids(store.query_count(queries))))


def contract_error(request: Request, error: Exception) -> Response[bytes]:  # type: ignore[type-arg]
    assert isinstance(error, ContractError)
    return json_response(error.body, error.status)


def http_error(request: Request, error: Exception) -> Response[bytes]:  # type: ignore[type-arg]
    assert isinstance(error, HTTPException)
    return json_response({"detail": HTTPStatus(error.status_code).phrase}, error.status_code)


def database_unavailable(request: Request, error: Exception) -> Response[bytes]:  # type: ignore[type-arg]
    return contract_error(request, store.UNAVAILABLE)


@asynccontextmanager
async def asyncpg_pool(app: Litestar) -> AsyncIterator[None]:
    """One pool per worker process."""
    url = store.database_url()
    app.state.pool = None
    if url:
        app.state.pool = await asyncpg.create_pool(url, **store.ASYNCPG_POOL)
    yield
    if app.state.pool is not None:
        await app.state.pool.close()


app = Litestar(
    route_handlers=[health, openapi, predict_from_query, predict_from_body, predict_passenger, predict_passengers],
    exception_handlers={
        ContractError: contract_error,
        HTTPException: http_error,
        **dict.fromkeys(store.ASYNCPG_DOWN, database_unavailable),
    },
    lifespan=[asyncpg_pool],
    openapi_config=None,  # the contract's own document is served at /openapi.json
    debug=False,
)
