"""The predictor on FastAPI with ``async def`` handlers, reading passengers through asyncpg:
``uvicorn apps.fastapi_app:app``.

``apps/fastapi_def_app.py`` is the same app with plain ``def`` handlers and psycopg, and
``apps/fastapi_psycopg_app.py`` with ``async def`` handlers and psycopg's async pool.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Annotated, Any, cast

import asyncpg
from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from apps import store
from apps.contract import (
    CONTENT_TOO_LARGE,
    MAX_BODY_BYTES,
    ContractError,
    Passenger,
    PassengerPrediction,
    PassengerQuery,
    Prediction,
    validation_errors,
)
from apps.model import Prediction as PredictionDict
from apps.model import model_from_env

predict = model_from_env()
BODY_METHODS = frozenset({"PUT", "POST", "PATCH"})


class DeclaredBodyLimit:
    """Answer a declared Content-Length over the limit with the API's JSON 413.

    The routes' own ``max_body_size`` catches streamed bodies, but answers declared ones in plain text.
    Only methods that carry a body are looked at, so a GET pays nothing for it.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in BODY_METHODS:
            for name, value in scope["headers"]:
                if name == b"content-length" and value.isdigit() and int(value) > MAX_BODY_BYTES:
                    response = JSONResponse(CONTENT_TOO_LARGE.body, status_code=CONTENT_TOO_LARGE.status)
                    return await response(scope, receive, send)
        await self.app(scope, receive, send)


# Documented, not enforced: like the Flask and Tornado apps, the answer is serialised without re-validation.
PREDICTION: dict[int | str, dict[str, Any]] = {200: {"model": Prediction, "description": "The prediction"}}
BODY_RESPONSES = {**PREDICTION, 413: {"description": "Body over 64 KiB"}, 400: {"description": "Body not decodable"}}
Responses = dict[int | str, dict[str, Any]]
UNAVAILABLE: Responses = {503: {"description": "The database cannot be reached"}}
PASSENGER: Responses = {
    200: {"model": PassengerPrediction, "description": "The passenger's prediction"},
    404: {"description": "No passenger has that id"},
    **UNAVAILABLE,
}
PASSENGERS: Responses = {
    200: {"model": list[PassengerPrediction], "description": "One prediction per passenger read"},
    **UNAVAILABLE,
}
# ``queries`` is read as text: TechEmpower's rule (store.query_count) turns anything into 1 to 500, never a 422.
Queries = Annotated[str | None, Query(description="rows to read, 1 to 500; anything else means 1 (or 500)")]


async def validation_error(request: Request, error: Exception) -> JSONResponse:
    errors = cast(RequestValidationError, error).errors()
    return JSONResponse(validation_errors(list(errors)), status_code=422)


async def contract_error(request: Request, error: Exception) -> JSONResponse:
    refused = cast(ContractError, error)
    return JSONResponse(refused.body, status_code=refused.status)


async def database_unavailable(request: Request, error: Exception) -> JSONResponse:
    return await contract_error(request, store.UNAVAILABLE)


async def health() -> dict[str, str]:
    return {"status": "ok"}


Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


def new_app(lifespan: Lifespan | None = None, unavailable: tuple[type[Exception], ...] = ()) -> FastAPI:
    """The app without its routes that predict: settings, body limit, error shape and /health; ``lifespan``
    opens its database pool, and the driver's ``unavailable`` errors answer 503."""
    app = FastAPI(title="Titanic survival predictor", version="1.0.0", strict_content_type=False, lifespan=lifespan)
    app.add_middleware(DeclaredBodyLimit)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(ContractError, contract_error)
    for error in unavailable:
        app.add_exception_handler(error, database_unavailable)
    app.get("/health")(health)
    return app


@asynccontextmanager
async def asyncpg_pool(app: FastAPI) -> AsyncIterator[None]:
    """One pool per worker process."""
    url = store.database_url()
    app.state.pool = None
    if url:
        app.state.pool = await asyncpg.create_pool(url, **store.ASYNCPG_POOL)
    yield
    if app.state.pool is not None:
        await app.state.pool.close()


app = new_app(asyncpg_pool, store.ASYNCPG_DOWN)


@app.get("/predict", response_model=None, responses=PREDICTION)
async def predict_from_query(passenger: Annotated[PassengerQuery, Query()]) -> PredictionDict:
    return predict(passenger.age, passenger.sex)


@app.put("/predict", response_model=None, responses=BODY_RESPONSES, max_body_size=MAX_BODY_BYTES)
@app.post("/predict", response_model=None, responses=BODY_RESPONSES, max_body_size=MAX_BODY_BYTES)
async def predict_from_body(passenger: Passenger) -> PredictionDict:
    return predict(passenger.age, passenger.sex)


async def read(request: Request, ids: list[int]) -> list[dict[str, int]]:
    pool: asyncpg.Pool | None = request.app.state.pool
    if pool is None:
        raise store.UNAVAILABLE
    async with pool.acquire(timeout=store.TIMEOUT_SECONDS) as connection:
        return [store.prediction(i, await connection.fetchrow(store.ASYNCPG_SELECT, i), predict) for i in ids]


@app.get("/passengers/{passenger_id}/prediction", response_model=None, responses=PASSENGER)
async def predict_passenger(request: Request, passenger_id: int) -> dict[str, int]:
    return (await read(request, [store.storable(passenger_id)]))[0]


@app.get("/predictions", response_model=None, responses=PASSENGERS)
async def predict_passengers(request: Request, queries: Queries = None) -> list[dict[str, int]]:
    return await read(request, store.random_ids(store.query_count(queries)))


if __name__ == "__main__":  # python -m apps.fastapi_app > apps/openapi.json: the contract the other apps serve
    import json

    print(json.dumps(app.openapi(), indent=2))
