"""The predictor on FastAPI as its tutorial teaches the database: SQLModel sessions in plain ``def`` handlers
(run in Starlette's thread pool), PostgreSQL through psycopg or MariaDB through PyMySQL, as the URL says:
``uvicorn apps.fastapi_sqlmodel_app:app``. Everything else is ``apps/fastapi_app.py``'s.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Query
from sqlmodel import Field, Session, SQLModel, create_engine

from apps import orm, store
from apps.contract import MAX_BODY_BYTES, Passenger, PassengerQuery
from apps.fastapi_app import BODY_RESPONSES, PASSENGER, PASSENGERS, PREDICTION, Queries, new_app, predict
from apps.model import Prediction as PredictionDict


class StoredPassenger(SQLModel, table=True):
    __tablename__ = "passengers"
    id: int = Field(primary_key=True)
    age: int | None
    sex: str


url = store.database_url()
engine = create_engine(orm.orm_url(url), **orm.ORM_ENGINE) if url else None  # one per worker process


def get_session() -> Iterator[Session]:
    if engine is None:
        raise store.UNAVAILABLE
    with Session(engine) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]
app = new_app(None, orm.ORM_DOWN)


@app.get("/predict", response_model=None, responses=PREDICTION)
def predict_from_query(passenger: Annotated[PassengerQuery, Query()]) -> PredictionDict:
    return predict(passenger.age, passenger.sex)


@app.put("/predict", response_model=None, responses=BODY_RESPONSES, max_body_size=MAX_BODY_BYTES)
@app.post("/predict", response_model=None, responses=BODY_RESPONSES, max_body_size=MAX_BODY_BYTES)
def predict_from_body(passenger: Passenger) -> PredictionDict:
    return predict(passenger.age, passenger.sex)


def read(session: Session, ids: list[int]) -> list[dict[str, int]]:
    passengers = [session.get(StoredPassenger, i) for i in ids]
    return [store.prediction(i, orm.row_of(p), predict) for i, p in zip(ids, passengers, strict=True)]


@app.get("/passengers/{passenger_id}/prediction", response_model=None, responses=PASSENGER)
def predict_passenger(session: SessionDep, passenger_id: int) -> dict[str, int]:
    return read(session, [store.storable(passenger_id)])[0]


@app.get("/predictions", response_model=None, responses=PASSENGERS)
def predict_passengers(session: SessionDep, queries: Queries = None) -> list[dict[str, int]]:
    return read(session, store.random_ids(store.query_count(queries)))
