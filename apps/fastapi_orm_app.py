"""The predictor on FastAPI with ``async def`` handlers, reading passengers through SQLAlchemy's asyncio ORM (on
asyncpg): ``uvicorn apps.fastapi_orm_app:app``. Everything else is ``apps/fastapi_app.py``'s.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import FastAPI, Query, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from apps import orm, store
from apps.contract import MAX_BODY_BYTES, Passenger, PassengerQuery
from apps.fastapi_app import BODY_RESPONSES, PASSENGER, PASSENGERS, PREDICTION, Queries, new_app, predict
from apps.model import Prediction as PredictionDict


class Base(DeclarativeBase):
    pass


class StoredPassenger(Base):
    __tablename__ = "passengers"
    id: Mapped[int] = mapped_column(primary_key=True)
    age: Mapped[int | None]
    sex: Mapped[str]


@asynccontextmanager
async def orm_engine(app: FastAPI) -> AsyncIterator[None]:
    """One engine per worker process."""
    url = store.database_url()
    engine = create_async_engine(orm.orm_url(url, asynchronous=True), **orm.ASYNC_ORM_ENGINE) if url else None
    app.state.sessions = async_sessionmaker(engine) if engine else None
    yield
    if engine is not None:
        await engine.dispose()


app = new_app(orm_engine, orm.ASYNC_ORM_DOWN)


@app.get("/predict", response_model=None, responses=PREDICTION)
async def predict_from_query(passenger: Annotated[PassengerQuery, Query()]) -> PredictionDict:
    return predict(passenger.age, passenger.sex)


@app.put("/predict", response_model=None, responses=BODY_RESPONSES, max_body_size=MAX_BODY_BYTES)
@app.post("/predict", response_model=None, responses=BODY_RESPONSES, max_body_size=MAX_BODY_BYTES)
async def predict_from_body(passenger: Passenger) -> PredictionDict:
    return predict(passenger.age, passenger.sex)


async def read(request: Request, ids: list[int]) -> list[dict[str, int]]:
    sessions: async_sessionmaker[AsyncSession] | None = request.app.state.sessions
    if sessions is None:
        raise store.UNAVAILABLE
    async with sessions() as session:
        return [store.prediction(i, orm.row_of(await session.get(StoredPassenger, i)), predict) for i in ids]


@app.get("/passengers/{passenger_id}/prediction", response_model=None, responses=PASSENGER)
async def predict_passenger(request: Request, passenger_id: int) -> dict[str, int]:
    return (await read(request, [store.storable(passenger_id)]))[0]


@app.get("/predictions", response_model=None, responses=PASSENGERS)
async def predict_passengers(request: Request, queries: Queries = None) -> list[dict[str, int]]:
    return await read(request, store.random_ids(store.query_count(queries)))
