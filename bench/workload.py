"""What each workload sends, stated once: the run's ``--endpoints`` choices, the verify step, the Locust user
classes, wrk's request and the labels of the table and the report all follow from ``WORKLOADS``.

Adding an endpoint is an entry here, its case in the contract and each app's handler.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal

AGE: int = 8
SEX: Literal["M", "F"] = "M"
PASSENGER_ID = 1  # the one passenger the single-read workload asks for (a man of 22: survived 0 by the rule)
QUERY_LEVELS = (1, 5, 10, 15, 20)  # TechEmpower's levels of the multiple-queries test


@dataclass(frozen=True)
class Workload:
    """One request, sent back to back: ``name`` is what ``--endpoints`` takes, ``label`` what tables say."""

    name: str
    method: str
    path: str
    label: str
    request: str  # how Locust's statistics and messages name it: GET /predict, GET /predictions?queries=20
    body: str = ""
    queries: int = 0  # passenger rows each request reads from the database (0: it reads none)
    answer_prefix: bytes = b'{"survived":'  # how every good answer starts: the load generator's check

    @property
    def reads_database(self) -> bool:
        return self.queries > 0

    @property
    def class_stem(self) -> str:
        """``Queries20`` for ``queries-20``: the Locust user classes' names are built on it."""
        return "".join(part.capitalize() for part in self.name.split("-"))


def queries_workload(count: int) -> Workload:
    noun = "query" if count == 1 else "queries"
    path = f"/predictions?queries={count}"
    return Workload(f"queries-{count}", "GET", path, f"{count} {noun}", f"GET {path}", queries=count,
                    answer_prefix=b'[{"passenger_id":')  # fmt: skip


WORKLOADS: dict[str, Workload] = {
    workload.name: workload
    for workload in (
        Workload("get", "GET", f"/predict?age={AGE}&sex={SEX}", "GET", "GET /predict"),
        Workload("put", "PUT", "/predict", "PUT", "PUT /predict", body=json.dumps({"age": AGE, "sex": SEX})),
        # the same body by POST: what a model server (LitServe) answers, and every app
        Workload("post", "POST", "/predict", "POST", "POST /predict", body=json.dumps({"age": AGE, "sex": SEX})),
        Workload("passenger", "GET", f"/passengers/{PASSENGER_ID}/prediction", "passenger",
                 "GET /passengers/{id}/prediction", queries=1, answer_prefix=b'{"passenger_id":'),
        *(queries_workload(count) for count in QUERY_LEVELS),
    )
}  # fmt: skip
ENDPOINTS = tuple(WORKLOADS)
USER_KINDS = ("lean", "fasthttp", "lean-open-loop")  # the Locust user classes each workload has


def workload(name: str) -> Workload:
    return WORKLOADS[name]


def endpoint_label(name: str) -> str:
    """How tables and sentences name an endpoint (an unknown one, from an older result, by its own name)."""
    found = WORKLOADS.get(name)
    return found.label if found else name.upper()


def endpoint_order(name: str) -> int:
    """An endpoint's place in the table, for sorting: GET before PUT, 5 queries before 20 (unknown ones last)."""
    return ENDPOINTS.index(name) if name in WORKLOADS else len(ENDPOINTS)


def request_label(name: str) -> str:
    """``GET /predictions?queries=20``: the request an endpoint sends (an unknown one's name, as ``endpoint_label``)."""
    found = WORKLOADS.get(name)
    return found.request if found else f"{name.upper()} /predict"


def user_class_name(kind: str, name: str) -> str:
    """The Locust user class of a kind (``USER_KINDS``) for an endpoint: ``LeanGet``, ``FastHttpPut``,
    ``LeanQueries20OpenLoop``."""
    stem = WORKLOADS[name].class_stem
    return {"lean": f"Lean{stem}", "fasthttp": f"FastHttp{stem}", "lean-open-loop": f"Lean{stem}OpenLoop"}[kind]
