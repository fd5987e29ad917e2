"""The predictor on FastAPI with ``async def`` handlers reading passengers through psycopg's async pool:
``uvicorn apps.fastapi_psycopg_app:app``. Beside ``apps/fastapi_def_app.py`` (psycopg, sync) the driver is held
constant, so async against sync shows apart from asyncpg against psycopg. Everything else is
``apps/fastapi_app.py``'s.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from psycopg_pool import AsyncConnectionPool

from apps import store
from apps.contract import MAX_BODY_BYTES
from apps.fastapi_app import (
    BODY_RESPONSES,
    PASSENGER,
    PASSENGERS,
    PREDICTION,
    Queries,
    new_app,
    predict,
    predict_from_body,
    predict_from_query,
)


@asynccontextmanager
async def psycopg_pool(app: FastAPI) -> AsyncIterator[None]:
    """One pool per worker process."""
    url = store.database_url()
    pool = AsyncConnectionPool(url, open=False, **store.PSYCOPG_POOL) if url else None
    app.state.pool = pool
    if pool is not None:
        await pool.open(wait=False)
    yield
    if pool is not None:
        await pool.close()


app = new_app(psycopg_pool, (store.PSYCOPG_DOWN,))
app.get("/predict", response_model=None, responses=PREDICTION)(predict_from_query)
app.put("/predict", response_model=None, responses=BODY_RESPONSES, max_body_size=MAX_BODY_BYTES)(predict_from_body)
app.post("/predict", response_model=None, responses=BODY_RESPONSES, max_body_size=MAX_BODY_BYTES)(predict_from_body)


async def read(request: Request, ids: list[int]) -> list[dict[str, int]]:
    pool: AsyncConnectionPool | None = request.app.state.pool
    if pool is None:
        raise store.UNAVAILABLE
    async with pool.connection() as connection:
        return [
            store.prediction(i, await (await connection.execute(store.PSYCOPG_SELECT, (i,))).fetchone(), predict)
            for i in ids
        ]


@app.get("/passengers/{passenger_id}/prediction", response_model=None, responses=PASSENGER)
async def predict_passenger(request: Request, passenger_id: int) -> dict[str, int]:
    return (await read(request, [store.storable(passenger_id)]))[0]


@app.get("/predictions", response_model=None, responses=PASSENGERS)
async def predict_passengers(request: Request, queries: Queries = None) -> list[dict[str, int]]:
    return await read(request, store.random_ids(store.query_count(queries)))
