"""The request each scenario sends, stated once: the harness's verify step, the Locust users and wrk
all send exactly this passenger."""

from __future__ import annotations

import json
from typing import Literal

AGE: int = 8
SEX: Literal["M", "F"] = "M"
QUERY_PATH = f"/predict?age={AGE}&sex={SEX}"
BODY = json.dumps({"age": AGE, "sex": SEX})
BODY_PATH = "/predict"


def path(endpoint: str) -> str:
    """The path for ``get`` (query string) or ``put`` (body)."""
    return QUERY_PATH if endpoint == "get" else BODY_PATH
