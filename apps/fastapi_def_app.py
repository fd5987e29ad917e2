"""The predictor on FastAPI with plain ``def`` handlers, run in Starlette's thread pool:
``uvicorn apps.fastapi_def_app:app``. Everything else is ``apps/fastapi_app.py``'s.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from apps.contract import MAX_BODY_BYTES, Passenger, PassengerQuery
from apps.fastapi_app import BODY_RESPONSES, PREDICTION, new_app, predict
from apps.model import Prediction as PredictionDict

app = new_app()


@app.get("/predict", response_model=None, responses=PREDICTION)
def predict_from_query(passenger: Annotated[PassengerQuery, Query()]) -> PredictionDict:
    return predict(passenger.age, passenger.sex)


@app.put("/predict", response_model=None, responses=BODY_RESPONSES, max_body_size=MAX_BODY_BYTES)
@app.post("/predict", response_model=None, responses=BODY_RESPONSES, max_body_size=MAX_BODY_BYTES)
def predict_from_body(passenger: Passenger) -> PredictionDict:
    return predict(passenger.age, passenger.sex)
