"""The one API contract the apps share: request schemas, body rules and error bodies.

FastAPI applies these schemas natively; Flask and Tornado call the helpers below, which reproduce
FastAPI's behaviour so that the same request gets the same status, body and Content-Type from all three.
Error details keep only ``type``, ``loc`` and ``msg``: FastAPI's echo of the input is dropped everywhere.
"""

from __future__ import annotations

import json
from http import HTTPStatus
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import parse_qsl

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

MAX_BODY_BYTES = 64 * 1024
JSON_CONTENT_TYPE = "application/json"
OPENAPI_PATH = Path(__file__).parent / "openapi.json"

Age = Annotated[int, Field(ge=0, le=120, description="Age in whole years")]
Sex = Annotated[Literal["M", "F"], Field(description="M or F")]


class Passenger(BaseModel):
    """A JSON body: strict types, so ``"10"``, ``10.0`` and ``true`` are not ages."""

    model_config = ConfigDict(extra="forbid", strict=True)
    age: Age
    sex: Sex


class PassengerQuery(Passenger):
    """Query parameters: strings parsed as integers (lax), otherwise the same rules."""

    model_config = ConfigDict(extra="forbid", strict=False)


class Prediction(BaseModel):
    """The answer; ``probability`` only from models that have one."""

    survived: Literal[0, 1]
    probability: float | None = None


class PassengerPrediction(BaseModel):
    """The answer of the database endpoints, one per passenger read."""

    passenger_id: int
    survived: Literal[0, 1]


class ContractError(Exception):
    """A request the contract refuses: ``status`` and the JSON body to answer with."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(status, body)
        self.status = status
        self.body = body


CONTENT_TOO_LARGE = ContractError(413, {"detail": "Content Too Large"})
BODY_NOT_DECODABLE = ContractError(400, {"detail": "There was an error parsing the body"})


def to_json(content: Any) -> bytes:
    """Encode exactly as FastAPI's default ``JSONResponse`` does."""
    return json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


def validation_errors(errors: list[Any], *loc_prefix: str | int) -> dict[str, Any]:
    """The 422 body: one entry per error, naming the field by its location."""
    return {
        "detail": [
            {"type": error["type"], "loc": [*loc_prefix, *error["loc"]], "msg": error["msg"]} for error in errors
        ]
    }


def http_error(status: int) -> ContractError:
    """A plain HTTP error with FastAPI's body, for example ``{"detail":"Not Found"}``."""
    return ContractError(status, {"detail": HTTPStatus(status).phrase})


def passenger_from_query(query_string: str) -> Passenger:
    """Validate a raw (still percent-encoded, Latin-1) query string, read as Starlette reads it: decoded as
    UTF-8 with undecodable bytes replaced, the last of repeated parameters winning."""
    params = dict(parse_qsl(query_string, keep_blank_values=True))
    try:
        return PassengerQuery.model_validate(params)
    except ValidationError as error:
        raise ContractError(422, validation_errors(error.errors(), "query")) from None


PASSENGER_ID = TypeAdapter(int)  # a path segment, parsed as FastAPI parses an ``int`` path parameter


def passenger_id_from_path(segment: str) -> int:
    """The ``{passenger_id}`` of ``/passengers/{passenger_id}/prediction``; 422 when it is not an integer."""
    try:
        return PASSENGER_ID.validate_python(segment)
    except ValidationError as error:
        raise ContractError(422, validation_errors(error.errors(), "path", "passenger_id")) from None


def queries_from_query(query_string: str) -> str | None:
    """The raw ``queries`` parameter of a query string, the last of repeated ones, as Starlette reads it."""
    return dict(parse_qsl(query_string, keep_blank_values=True)).get("queries")


def passenger_from_body(body: bytes, content_type: str | None) -> Passenger:
    """Validate a request body: JSON when the Content-Type says so or is absent, as FastAPI does."""
    if len(body) > MAX_BODY_BYTES:
        raise CONTENT_TOO_LARGE
    if not body:
        raise ContractError(422, validation_errors([{"type": "missing", "loc": (), "msg": "Field required"}], "body"))
    content: Any = body
    if content_type is None or _is_json(content_type):
        try:
            content = json.loads(body)
        except json.JSONDecodeError as error:
            detail = [{"type": "json_invalid", "loc": ["body", error.pos], "msg": "JSON decode error"}]
            raise ContractError(422, {"detail": detail}) from None
        except (ValueError, RecursionError):  # not UTF-8, or nested too deep to decode
            raise BODY_NOT_DECODABLE from None
    try:
        return Passenger.model_validate(content, from_attributes=True)
    except ValidationError as error:
        raise ContractError(422, validation_errors(error.errors(), "body")) from None


def _is_json(content_type: str) -> bool:
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type == JSON_CONTENT_TYPE or (media_type.startswith("application/") and media_type.endswith("+json"))


def openapi_document() -> bytes:
    """The committed OpenAPI document, encoded as the FastAPI app serves it."""
    return to_json(json.loads(OPENAPI_PATH.read_text()))
