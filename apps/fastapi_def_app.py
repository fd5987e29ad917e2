"""The predictor on FastAPI with plain ``def`` handlers, run in Starlette's thread pool, reading passengers
through psycopg's pool: ``uvicorn apps.fastapi_def_app:app``. Everything else is ``apps/fastapi_app.py``'s.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import FastAPI, Query, Request
from psycopg_pool import ConnectionPool

from apps import store
from apps.contract import MAX_BODY_BYTES, Passenger, PassengerQuery
from apps.fastapi_app import BODY_RESPONSES, PASSENGER, PASSENGERS, PREDICTION, Queries, new_app, predict
from apps.model import Prediction as PredictionDict


@asynccontextmanager
async def psycopg_pool(app: FastAPI) -> AsyncIterator[None]:
    """One pool per worker process."""
    url = store.database_url()
    pool = ConnectionPool(url, open=False, **store.PSYCOPG_POOL) if url else None
    app.state.pool = pool
    if pool is not None:
        pool.open(wait=False)
    yield
    if pool is not None:
        pool.close()


app = new_app(psycopg_pool, (store.PSYCOPG_DOWN,))


@app.get("/predict", response_model=None, responses=PREDICTION)
def predict_from_query(passenger: Annotated[PassengerQuery, Query()]) -> PredictionDict:
    return predict(passenger.age, passenger.sex)


@app.put("/predict", response_model=None, responses=BODY_RESPONSES, max_body_size=MAX_BODY_BYTES)
@app.post("/predict", response_model=None, responses=BODY_RESPONSES, max_body_size=MAX_BODY_BYTES)
def predict_from_body(passenger: Passenger) -> PredictionDict:
    return predict(passenger.age, passenger.sex)


def read(request: Request, ids: list[int]) -> list[dict[str, int]]:
    pool: ConnectionPool | None = request.app.state.pool
    if pool is None:
        raise store.UNAVAILABLE
    with pool.connection() as connection:
        return [store.prediction(i, connection.execute(store.PSYCOPG_SELECT, (i,)).fetchone(), predict) for i in ids]


@app.get("/passengers/{passenger_id}/prediction", response_model=None, responses=PASSENGER)
def predict_passenger(request: Request, passenger_id: int) -> dict[str, int]:
    return read(request, [store.storable(passenger_id)])[0]


@app.get("/predictions", response_model=None, responses=PASSENGERS)
def predict_passengers(request: Request, queries: Queries = None) -> list[dict[str, int]]:
    return read(request, store.random_ids(store.query_count(queries)))
