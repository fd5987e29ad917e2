"""The predictor on Tornado and its own HTTPServer, reading passengers through asyncpg:
``python -m apps.tornado_app --port 8000``."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable
from typing import Any

import asyncpg
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets
from tornado.process import fork_processes
from tornado.web import Application, RequestHandler

from apps import store
from apps.contract import (
    JSON_CONTENT_TYPE,
    ContractError,
    Passenger,
    http_error,
    openapi_document,
    passenger_from_body,
    passenger_from_query,
    passenger_id_from_path,
    queries_from_query,
    to_json,
)
from apps.model import model_from_env

predict = model_from_env()
OPENAPI = openapi_document()
# Bodies up to this size reach the handler, which answers 413 above the contract's limit;
# larger ones are refused by Tornado's HTTP layer itself (400, connection closed).
SERVER_MAX_BODY_BYTES = 4 * 1024 * 1024


class JSONHandler(RequestHandler):
    """Every answer, errors included, is JSON."""

    def set_default_headers(self) -> None:
        self.set_header("Content-Type", JSON_CONTENT_TYPE)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        self.finish(to_json(http_error(status_code).body))

    def refuse(self, error: ContractError) -> None:
        self.set_status(error.status)
        self.finish(to_json(error.body))


class HealthHandler(JSONHandler):
    def get(self) -> None:
        self.finish(to_json({"status": "ok"}))


class OpenAPIHandler(JSONHandler):
    def get(self) -> None:
        self.finish(OPENAPI)


class PredictHandler(JSONHandler):
    def get(self) -> None:
        self.answer(lambda: passenger_from_query(self.request.query))

    def put(self) -> None:
        self.answer(lambda: passenger_from_body(self.request.body, self.request.headers.get("Content-Type")))

    post = put

    def answer(self, parse: Callable[[], Passenger]) -> None:
        try:
            passenger = parse()
        except ContractError as error:
            self.refuse(error)
        else:
            self.finish(to_json(predict(passenger.age, passenger.sex)))


class DatabaseHandler(JSONHandler):
    """Reads passengers through the application's asyncpg pool (``settings["pool"]``, None without a database)."""

    async def read(self, ids: Callable[[], list[int]]) -> list[dict[str, int]] | None:
        """The predictions, or None once a refusal (bad input, database unavailable) has been answered."""
        try:
            pool = self.settings["pool"]
            if pool is None:
                raise store.UNAVAILABLE
            wanted = ids()
            async with pool.acquire(timeout=store.TIMEOUT_SECONDS) as connection:
                return [
                    store.prediction(i, await connection.fetchrow(store.ASYNCPG_SELECT, i), predict) for i in wanted
                ]
        except store.ASYNCPG_DOWN:
            self.refuse(store.UNAVAILABLE)
        except ContractError as error:
            self.refuse(error)
        return None


class PassengerHandler(DatabaseHandler):
    async def get(self, segment: str) -> None:
        found = await self.read(lambda: [store.storable(passenger_id_from_path(segment))])
        if found is not None:
            self.finish(to_json(found[0]))


class PassengersHandler(DatabaseHandler):
    async def get(self) -> None:
        found = await self.read(lambda: store.random_ids(store.query_count(queries_from_query(self.request.query))))
        if found is not None:
            self.finish(to_json(found))


class NotFoundHandler(JSONHandler):
    def prepare(self) -> None:
        self.send_error(404)


def make_app(pool: asyncpg.Pool | None = None) -> Application:
    routes = [
        ("/health", HealthHandler), ("/openapi.json", OpenAPIHandler), ("/predict", PredictHandler),
        (r"/passengers/([^/]+)/prediction", PassengerHandler), ("/predictions", PassengersHandler),
    ]  # fmt: skip
    return Application(routes, default_handler_class=NotFoundHandler, log_function=lambda handler: None, pool=pool)


async def serve(sockets: list[Any]) -> None:
    """One asyncpg pool per process."""
    url = store.database_url()
    pool = None
    if url:
        pool = await asyncpg.create_pool(url, **store.ASYNCPG_POOL)
    server = HTTPServer(make_app(pool), max_body_size=SERVER_MAX_BODY_BYTES)
    server.add_sockets(sockets)
    await asyncio.Event().wait()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m apps.tornado_app", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=1, help="processes, forked after binding")
    args = parser.parse_args(argv)
    sockets = bind_sockets(args.port, args.host)
    if args.workers > 1:
        fork_processes(args.workers)
    asyncio.run(serve(sockets))


if __name__ == "__main__":
    main()
