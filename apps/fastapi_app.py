"""The predictor on FastAPI with ``async def`` handlers: ``uvicorn apps.fastapi_app:app``.

``apps/fastapi_def_app.py`` is the same app with plain ``def`` handlers.
"""

from __future__ import annotations

from typing import Annotated, Any, cast

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from apps.contract import CONTENT_TOO_LARGE, MAX_BODY_BYTES, Passenger, PassengerQuery, Prediction, validation_errors
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


async def validation_error(request: Request, error: Exception) -> JSONResponse:
    errors = cast(RequestValidationError, error).errors()
    return JSONResponse(validation_errors(list(errors)), status_code=422)


async def health() -> dict[str, str]:
    return {"status": "ok"}


def new_app() -> FastAPI:
    """The app without its /predict routes: settings, body limit, error shape and /health."""
    app = FastAPI(title="Titanic survival predictor", version="1.0.0", strict_content_type=False)
    app.add_middleware(DeclaredBodyLimit)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.get("/health")(health)
    return app


app = new_app()


@app.get("/predict", response_model=None, responses=PREDICTION)
async def predict_from_query(passenger: Annotated[PassengerQuery, Query()]) -> PredictionDict:
    return predict(passenger.age, passenger.sex)


@app.put("/predict", response_model=None, responses=BODY_RESPONSES, max_body_size=MAX_BODY_BYTES)
@app.post("/predict", response_model=None, responses=BODY_RESPONSES, max_body_size=MAX_BODY_BYTES)
async def predict_from_body(passenger: Passenger) -> PredictionDict:
    return predict(passenger.age, passenger.sex)


if __name__ == "__main__":  # python -m apps.fastapi_app > apps/openapi.json: the contract the other apps serve
    import json

    print(json.dumps(app.openapi(), indent=2))
