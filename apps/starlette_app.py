"""The predictor written directly on Starlette, FastAPI's base: ``uvicorn apps.starlette_app:app``.

The same contract as the other apps, validated by the helpers of ``apps/contract.py`` where FastAPI derives
the validation from type hints, so the cost of FastAPI's own layer (dependency injection, validation from
signatures) shows beside this app.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from http import HTTPStatus

import asyncpg
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

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


def json_response(content: object, status: int = 200) -> Response:
    return Response(to_json(content), status_code=status, media_type=JSON_CONTENT_TYPE)


async def health(request: Request) -> Response:
    return json_response({"status": "ok"})


async def openapi(request: Request) -> Response:
    return Response(OPENAPI, media_type=JSON_CONTENT_TYPE)


async def predict_from_query(request: Request) -> Response:
    passenger = passenger_from_query(request.scope["query_string"].decode("latin-1"))
    return json_response(predict(passenger.age, passenger.sex))


async def predict_from_body(request: Request) -> Response:
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


async def read(request: Request, ids: list[int]) -> list[dict[str, int]]:
    pool: asyncpg.Pool | None = request.app.state.pool
    if pool is None:
        raise store.UNAVAILABLE
    async with pool.acquire(timeout=store.TIMEOUT_SECONDS) as connection:
        return [store.prediction(i, await connection.fetchrow(store.ASYNCPG_SELECT, i), predict) for i in ids]


async def predict_passenger(request: Request) -> Response:
    passenger_id = store.storable(passenger_id_from_path(request.path_params["segment"]))
    return json_response((await read(request, [passenger_id]))[0])


async def predict_passengers(request: Request) -> Response:
    queries = queries_from_query(request.scope["query_string"].decode("latin-1"))
    return json_response(await read(request, store.random_ids(store.query_count(queries))))


async def contract_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, ContractError)
    return json_response(error.body, error.status)


async def http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    return json_response({"detail": HTTPStatus(error.status_code).phrase}, error.status_code)


async def database_unavailable(request: Request, error: Exception) -> Response:
    return await contract_error(request, store.UNAVAILABLE)


@asynccontextmanager
async def asyncpg_pool(app: Starlette) -> AsyncIterator[None]:
    """One pool per worker process."""
    url = store.database_url()
    app.state.pool = None
    if url:
        app.state.pool = await asyncpg.create_pool(url, **store.ASYNCPG_POOL)
    yield
    if app.state.pool is not None:
        await app.state.pool.close()


app = Starlette(
    routes=[
        Route("/health", health, methods=["GET"]),
        Route("/openapi.json", openapi, methods=["GET"]),
        Route("/predict", predict_from_query, methods=["GET"]),
        Route("/predict", predict_from_body, methods=["PUT", "POST"]),
        Route("/passengers/{segment}/prediction", predict_passenger, methods=["GET"]),
        Route("/predictions", predict_passengers, methods=["GET"]),
    ],
    exception_handlers={
        ContractError: contract_error,
        HTTPException: http_error,
        **dict.fromkeys(store.ASYNCPG_DOWN, database_unavailable),
    },
    lifespan=asyncpg_pool,
)
