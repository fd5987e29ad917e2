"""The predictor on Flask, reading passengers through psycopg's pool: ``gunicorn apps.flask_app:app``. The
routes are ``apps/flask_base.py``'s.
"""

from __future__ import annotations

from psycopg_pool import ConnectionPool

from apps import store
from apps.flask_base import new_app, predict

# One pool per worker process: the app is imported in each.
pool: ConnectionPool | None = None
if url := store.database_url():
    pool = ConnectionPool(url, open=False, **store.PSYCOPG_POOL)
    pool.open(wait=False)


def read(ids: list[int]) -> list[dict[str, int]]:
    if pool is None:
        raise store.UNAVAILABLE
    with pool.connection() as connection:
        return [store.prediction(i, connection.execute(store.PSYCOPG_SELECT, (i,)).fetchone(), predict) for i in ids]


app = new_app(read, (store.PSYCOPG_DOWN,))
