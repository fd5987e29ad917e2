"""The passenger store the database endpoints read, framework- and driver-free: where it is, the one query,
TechEmpower's rule for how many rows a request reads, and the answer made from a row.

Each app reads it with its own idiomatic driver and pool (asyncpg for ``async def`` handlers, psycopg 3 for
sync ones); the ORM apps' own settings are ``apps/orm.py``'s. The database
is named by ``$TITANIC_DATABASE_URL`` (``postgresql://`` or ``mysql://``); without it the database endpoints
answer 503.
A passenger whose age is unknown (177 of 891) is predicted at ``UNKNOWN_AGE``, the same in every app.
"""

from __future__ import annotations

import os
import random
from typing import Any

import asyncpg
import psycopg

from apps.contract import http_error
from apps.model import Predictor, Sex

DATABASE_URL_ENV = "TITANIC_DATABASE_URL"
PASSENGERS = 891  # rows, ids 1 to 891: the passenger list's order (Kaggle's PassengerId)
MAX_QUERIES = 500  # TechEmpower's cap on the queries parameter
UNKNOWN_AGE = 28  # the training passengers' median age in whole years, for a passenger whose age is unknown
POOL_SIZE = 10  # connections per worker process, at most
TIMEOUT_SECONDS = 2.0  # to connect, or to wait for a pooled connection: a database that is down answers 503 by then
# Each pool's settings: asyncpg's opens connections only when asked (min_size 0), psycopg's in the background, so
# either app starts while the database is down. psycopg in autocommit, as asyncpg is: no BEGIN and COMMIT around reads.
ASYNCPG_POOL: dict[str, Any] = {"min_size": 0, "max_size": POOL_SIZE, "timeout": TIMEOUT_SECONDS}
PSYCOPG_POOL: dict[str, Any] = {"min_size": 1, "max_size": POOL_SIZE, "timeout": TIMEOUT_SECONDS,
                                "kwargs": {"autocommit": True, "connect_timeout": TIMEOUT_SECONDS}}  # fmt: skip
# One row by its primary key; each driver's placeholder. pg_stat_statements records both as the same text.
SELECT = "SELECT age, sex FROM passengers WHERE id = "
ASYNCPG_SELECT = SELECT + "$1"
PSYCOPG_SELECT = SELECT + "%s"

NOT_FOUND = http_error(404)  # no passenger has that id
UNAVAILABLE = http_error(503)  # the database cannot be reached
# What each driver raises when the database cannot be reached (down, restarting, or no connection in time).
ASYNCPG_DOWN = (OSError, TimeoutError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError,
                asyncpg.exceptions.OperatorInterventionError)  # fmt: skip
PSYCOPG_DOWN = psycopg.OperationalError  # psycopg_pool's PoolTimeout is one


def database_url() -> str | None:
    return os.environ.get(DATABASE_URL_ENV) or None


def query_count(raw: str | None) -> int:
    """TechEmpower's rule for ``queries``: missing, not an integer or below 1 means 1; above 500 means 500."""
    try:
        count = int(raw) if raw is not None else 1
    except ValueError:
        return 1
    return min(max(count, 1), MAX_QUERIES)


def storable(passenger_id: int) -> int:
    """The id, if a row can have it (the column is a 32-bit integer); 404 for any other, unread: no driver can
    send it."""
    if not -(2**31) <= passenger_id < 2**31:
        raise NOT_FOUND
    return passenger_id


def random_ids(count: int) -> list[int]:
    """``count`` distinct passenger ids, drawn at random: each is read by its own query."""
    return random.sample(range(1, PASSENGERS + 1), count)


def prediction(passenger_id: int, row: tuple[int | None, Sex] | None, predict: Predictor) -> dict[str, int]:
    """The answer for one passenger read from the store; 404 when no row has that id."""
    if row is None:
        raise NOT_FOUND
    age, sex = row
    return {
        "passenger_id": passenger_id,
        "survived": int(predict(UNKNOWN_AGE if age is None else age, sex)["survived"]),
    }
