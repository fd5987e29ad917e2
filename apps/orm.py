"""What the ORM apps share, kept apart from the passenger store so that the other apps never import SQLAlchemy
(an import on the measured path: its objects are every garbage collection's work): the engines' settings, the URL
with the ORM's driver named, what a database that is down raises, and an ORM passenger as the store's row.

PostgreSQL through psycopg, MariaDB through PyMySQL; SQLAlchemy's asyncio extension through asyncpg.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy.exc

from apps.model import Sex
from apps.store import ASYNCPG_DOWN, POOL_SIZE, TIMEOUT_SECONDS

# SQLAlchemy's engine for the ORM apps: its pool as large as the drivers' (no overflow), the same timeouts.
ORM_ENGINE: dict[str, Any] = {"pool_size": POOL_SIZE, "max_overflow": 0, "pool_timeout": TIMEOUT_SECONDS,
                              "connect_args": {"connect_timeout": int(TIMEOUT_SECONDS)}}  # fmt: skip
ORM_DRIVERS = {"postgresql": "postgresql+psycopg", "mysql": "mysql+pymysql"}  # a URL's scheme -> SQLAlchemy's
# SQLAlchemy's asyncio engine (PostgreSQL through asyncpg): the same pool; asyncpg names its connect timeout timeout.
ASYNC_ORM_ENGINE: dict[str, Any] = {**ORM_ENGINE, "connect_args": {"timeout": TIMEOUT_SECONDS}}
ASYNC_ORM_DRIVERS = {"postgresql": "postgresql+asyncpg"}
ORM_DOWN = (sqlalchemy.exc.OperationalError, sqlalchemy.exc.TimeoutError)  # any driver's, wrapped; the pool's
ASYNC_ORM_DOWN = (*ORM_DOWN, sqlalchemy.exc.InterfaceError, *ASYNCPG_DOWN)  # asyncpg's own, where not wrapped


def orm_url(url: str, asynchronous: bool = False) -> str:
    """The database URL with the ORM's driver named: ``postgresql+psycopg://`` or ``mysql+pymysql://``
    (``postgresql+asyncpg://`` for the asyncio engine)."""
    scheme, _, rest = url.partition("://")
    return f"{(ASYNC_ORM_DRIVERS if asynchronous else ORM_DRIVERS).get(scheme, scheme)}://{rest}"


def row_of(found: Any) -> tuple[int | None, Sex] | None:
    """An ORM's passenger (or None) as the row ``prediction`` takes."""
    return None if found is None else (found.age, found.sex)
