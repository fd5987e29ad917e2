"""``bench serve``: one app under its production server in the foreground until SIGINT or SIGTERM, with the
passenger database its database endpoints read: an existing one (``--database-url``), or the embedded
PostgreSQL started beside it, and stopped with it."""

from __future__ import annotations

import json
import signal
import sys
import threading
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType

from bench import database, engines
from bench.errors import BenchError
from bench.registry import BUILT_IN
from bench.server_configs import ENGINE_NAMES
from bench.servers import Server, ServerSpec, ensure_port_free, free_port


def server_named(name: str, worker_class: str | None) -> str:
    """The config ``bench serve NAME`` starts: a framework stands for its default one, and Flask's
    gunicorn worker class may be chosen with ``--worker-class``."""
    if worker_class is None:
        return name
    if BUILT_IN.family(name) != "flask":
        raise BenchError("--worker-class chooses gunicorn's worker for flask only")
    return f"flask-gunicorn-{worker_class}"


class StatsHandler(BaseHTTPRequestHandler):
    """``GET /stats``: the server tree's CPU seconds so far, for a run that targets this server from elsewhere."""

    server_under_test: Server

    def do_GET(self) -> None:
        found = self.path == "/stats"
        server = self.server_under_test
        stats = {"server": server.spec.name, "cpu_seconds": server.cpu_seconds()}
        body = json.dumps(stats if found else {"detail": "Not Found"})
        self.send_response(200 if found else 404)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, format: str, *args: object) -> None:
        """Silent: no line per request."""


def serve_stats(server: Server, port: int) -> ThreadingHTTPServer:
    handler = type("Handler", (StatsHandler,), {"server_under_test": server})
    stats = ThreadingHTTPServer((server.spec.host, port), handler)
    threading.Thread(target=stats.serve_forever, daemon=True).start()
    return stats


def serve(
    spec: ServerSpec,
    health_timeout: float = 20.0,
    stats_port: int | None = None,
    database_url: str | None = None,
    database_cpus: tuple[int, ...] = (),
) -> int:
    """Start ``spec``, print its URL once healthy, and stop every worker on SIGINT/SIGTERM. With
    ``stats_port``, also answer ``GET /stats`` there with the server's CPU seconds (for ``--server-stats``).
    Without ``database_url`` the embedded database is started first (pinned to ``database_cpus``), where the
    passenger list is found; without either, the database endpoints answer 503 and a line says why. The server's own
    output goes to stderr: stdout carries the one line said once it is healthy (granian, for one, prints its warnings
    on stdout), so a script reads the URL from the first line."""
    if spec.port == 0:
        spec = replace(spec, port=free_port(spec.host))
    ensure_port_free(spec.host, spec.port)  # before a database is started for nothing
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, request_stop)
    if database_url is None and not database.passengers_csv().is_file():
        missing = f"no database: the passenger list is not at {database.passengers_csv()}"
        print(f"{missing} (set ${database.PASSENGERS_CSV_ENV}); the database endpoints answer 503", file=sys.stderr)
        with Server(spec, sys.stderr.buffer).start(health_timeout) as server:
            return serve_until(server, stop, stats_port)
    engine = spec.config.engine
    if database_url and engines.engine_of(database_url) != engine:
        raise BenchError(f"{spec.name} reads {ENGINE_NAMES[engine]}; --database-url names "
                         f"{ENGINE_NAMES[engines.engine_of(database_url)]}")  # fmt: skip
    store: database.EmbeddedDatabase | engines.ExistingDatabase = (
        engines.ExistingDatabase(database_url) if database_url else
        engines.embedded(engine, database_cpus, free_port("127.0.0.1"))
    )  # fmt: skip
    with (
        store.start(),
        Server(replace(spec, database_url=store.url), sys.stderr.buffer).start(health_timeout) as server,
    ):
        return serve_until(server, stop, stats_port)


def serve_until(server: Server, stop: threading.Event, stats_port: int | None) -> int:
    """Print the server's URL, then watch it until ``stop`` is set."""
    spec = server.spec
    stats = serve_stats(server, stats_port) if stats_port is not None else None
    where = f"  (CPU seconds: http://{spec.host}:{stats.server_address[1]}/stats)" if stats else ""
    print(f"{spec.name} ({spec.model}) serving on {spec.url}{where}  (Ctrl-C to stop)", flush=True)
    while not stop.wait(0.2):
        server.check_alive()
    if stats:
        stats.shutdown()
    return 0
