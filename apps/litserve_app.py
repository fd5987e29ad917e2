"""The predictor on LitServe, Lightning AI's model server (FastAPI and uvicorn in front, inference in worker
processes, requests batched): ``python -m apps.litserve_app --port 8000 --workers 2 --max-batch-size 8``.

LitServe serves one route, ``POST /predict``, and its own ``/health`` (plain text): a config of it declares
that it serves the ``post`` workload alone. The body is validated by FastAPI from the contract's ``Passenger``,
as LitServe's documentation shows a typed request; the 422 and LitServe's own 413 (its ``max_payload_size``)
are given the contract's bodies, as the FastAPI app gives them.
"""

# No ``from __future__ import annotations``: LitServe reads decode_request's annotation as a class to build the
# route, and a string would make FastAPI take the body for a query parameter.
import argparse
import os
from typing import Any

import litserve as ls
from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from apps.contract import CONTENT_TOO_LARGE, MAX_BODY_BYTES, Passenger, validation_errors
from apps.model import DEFAULT_MODEL, MODEL_ENV_VAR, BatchPredictor, Prediction, Sex, load_batch_model


class PredictorAPI(ls.LitAPI):  # type: ignore[misc]  # LitServe ships no types
    """Decode each request to (age, sex); predict one, or a batch in one call; answer the model's dict."""

    many: BatchPredictor

    def setup(self, device: str) -> None:
        self.many = load_batch_model(os.environ.get(MODEL_ENV_VAR, DEFAULT_MODEL))

    def decode_request(self, request: Passenger) -> tuple[int, Sex]:
        return request.age, request.sex

    def batch(self, inputs: list[tuple[int, Sex]]) -> list[tuple[int, Sex]]:
        return inputs

    def predict(self, x: Any) -> Any:
        return self.many(x) if self.max_batch_size > 1 else self.many([x])[0]

    def unbatch(self, output: list[Prediction]) -> list[Prediction]:
        return output

    def encode_response(self, output: Prediction) -> Prediction:
        return output


async def validation_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    return JSONResponse(validation_errors(list(error.errors())), status_code=422)


async def http_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, HTTPException)
    body = CONTENT_TOO_LARGE.body if error.status_code == CONTENT_TOO_LARGE.status else {"detail": error.detail}
    return JSONResponse(body, status_code=error.status_code, headers=error.headers)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=1, help="inference worker processes")
    parser.add_argument("--max-batch-size", type=int, default=1, help="requests predicted in one call, at most")
    parser.add_argument("--batch-timeout", type=float, default=0.01, help="seconds a batch waits to fill")
    args = parser.parse_args()
    api = PredictorAPI(max_batch_size=args.max_batch_size, batch_timeout=args.batch_timeout)
    server = ls.LitServer(api, accelerator="cpu", devices=1, workers_per_device=args.workers, timeout=30,
                          max_payload_size=MAX_BODY_BYTES)  # fmt: skip
    server.app.add_exception_handler(RequestValidationError, validation_error)
    server.app.add_exception_handler(HTTPException, http_error)
    server.run(host=args.host, port=args.port, num_api_servers=1, log_level="warning", generate_client_file=False,
               loop="uvloop", http="httptools", access_log=False)  # fmt: skip


if __name__ == "__main__":
    main()
