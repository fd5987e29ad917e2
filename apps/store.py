"""The passenger store the database endpoints read, framework- and driver-free: where it is, the one query,
TechEmpower's rule for how many rows a request reads, and the answer made from a row.

Each app reads it with its own idiomatic driver and pool (asyncpg for ``async def`` handlers, psycopg 3 for
sync ones), or through SQLAlchemy's ORM (``ORM_ENGINE``: psycopg on PostgreSQL, PyMySQL on MariaDB; its asyncio
extension on asyncpg). The database
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
import sqlalchemy.exc

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
# SQLAlchemy's engine for the ORM apps: its pool as large as the drivers' (no overflow), the same timeouts.
ORM_ENGINE: dict[str, Any] = {"pool_size": POOL_SIZE, "max_overflow": 0, "pool_timeout": TIMEOUT_SECONDS,
                              "connect_args": {"connect_timeout": int(TIMEOUT_SECONDS)}}  # fmt: skip
ORM_DRIVERS = {"postgresql": "postgresql+psycopg", "mysql": "mysql+pymysql"}  # a URL's scheme -> SQLAlchemy's
# SQLAlchemy's asyncio engine (PostgreSQL through asyncpg): the same pool; asyncpg names its connect timeout timeout.
ASYNC_ORM_ENGINE: dict[str, Any] = {**ORM_ENGINE, "connect_args": {"timeout": TIMEOUT_SECONDS}}
ASYNC_ORM_DRIVERS = {"postgresql": "postgresql+asyncpg"}
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
ORM_DOWN = (sqlalchemy.exc.OperationalError, sqlalchemy.exc.TimeoutError)  # any driver's, wrapped; the pool's
ASYNC_ORM_DOWN = (*ORM_DOWN, sqlalchemy.exc.InterfaceError, *ASYNCPG_DOWN)  # asyncpg's own, where not wrapped


def orm_url(url: str, asynchronous: bool = False) -> str:
    """The database URL with the ORM's driver named: ``postgresql+psycopg://`` or ``mysql+pymysql://``
    (``postgresql+asyncpg://`` for the asyncio engine)."""
    scheme, _, rest = url.partition("://")
    return f"{(ASYNC_ORM_DRIVERS if asynchronous else ORM_DRIVERS).get(scheme, scheme)}://{rest}"


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


def row_of(found: Any) -> tuple[int | None, Sex] | None:
    """An ORM's passenger (or None) as the row ``prediction`` takes."""
    return None if found is None else (found.age, found.sex)


def prediction(passenger_id: int, row: tuple[int | None, Sex] | None, predict: Predictor) -> dict[str, int]:
    """The answer for one passenger read from the store; 404 when no row has that id."""
    if row is None:
        raise NOT_FOUND
    age, sex = row
    return {
        "passenger_id": passenger_id,
        "survived": int(predict(UNKNOWN_AGE if age is None else age, sex)["survived"]),
    }
