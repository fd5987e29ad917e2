"""The named server configurations: which app, under which production server, started how.

One entry per deployment a user may choose with ``--servers`` (``python -m bench list`` prints them).
Each builds its exact command line from the address and the worker count; nothing else in the harness
knows a server's flags.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass

from bench.errors import BenchError

GTHREAD_THREADS = 4  # threads per gunicorn gthread worker


def uvicorn(app: str) -> Callable[[str, int, int], list[str]]:
    def command(host: str, port: int, workers: int) -> list[str]:
        return [
            sys.executable, "-m", "uvicorn", app, "--host", host, "--port", str(port), "--workers", str(workers),
            "--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning",
        ]  # fmt: skip

    return command


def gunicorn(app: str, *worker: str) -> Callable[[str, int, int], list[str]]:
    def command(host: str, port: int, workers: int) -> list[str]:
        bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        return [
            sys.executable, "-m", "gunicorn", app, "--bind", bind, "--workers", str(workers), *worker,
            "--log-level", "warning",
        ]  # fmt: skip

    return command


def module(name: str) -> Callable[[str, int, int], list[str]]:
    def command(host: str, port: int, workers: int) -> list[str]:
        return [sys.executable, "-m", name, "--host", host, "--port", str(port), "--workers", str(workers)]

    return command


def null_server(host: str, port: int, workers: int) -> list[str]:
    """The harness's null server: one process, whatever ``workers`` says."""
    return [sys.executable, "-m", "bench.nullserver", "--host", host, "--port", str(port)]


@dataclass(frozen=True)
class ServerConfig:
    """One deployment of one app."""

    name: str
    framework: str  # the app's family: fastapi, flask, tornado (or null, the harness's own null server)
    handler: str
    server: str
    command: Callable[[str, int, int], list[str]]  # (host, port, workers) -> the command line
    keeps_connections_alive: bool = True


SERVER_CONFIGS = {
    config.name: config
    for config in (
        ServerConfig("fastapi-uvicorn", "fastapi", "async def", "uvicorn (uvloop, httptools)",
                     uvicorn("apps.fastapi_app:app")),
        ServerConfig("fastapi-def-uvicorn", "fastapi", "def, in Starlette's thread pool", "uvicorn (uvloop, httptools)",
                     uvicorn("apps.fastapi_def_app:app")),
        ServerConfig("fastapi-gunicorn", "fastapi", "async def", "gunicorn with uvicorn workers",
                     gunicorn("apps.fastapi_app:app", "--worker-class", "uvicorn_worker.UvicornWorker")),
        ServerConfig("flask-gunicorn-sync", "flask", "WSGI view", "gunicorn, sync worker (one connection at a time)",
                     gunicorn("apps.flask_app:app", "--worker-class", "sync"), keeps_connections_alive=False),
        ServerConfig("flask-gunicorn-gthread", "flask", "WSGI view",
                     f"gunicorn, gthread worker ({GTHREAD_THREADS} threads, keep-alive)",
                     gunicorn("apps.flask_app:app", "--worker-class", "gthread", "--threads", str(GTHREAD_THREADS))),
        ServerConfig("tornado", "tornado", "RequestHandler", "Tornado's HTTPServer (forked processes)",
                     module("apps.tornado_app")),
        ServerConfig("null", "null", "none: fixed bytes", "raw uvloop protocol (bench/nullserver.py)",
                     null_server),
    )
}  # fmt: skip
DEFAULT_FOR_FRAMEWORK = {"fastapi": "fastapi-uvicorn", "flask": "flask-gunicorn-sync", "tornado": "tornado"}
APP_SERVERS = tuple(name for name, config in SERVER_CONFIGS.items() if config.framework != "null")


def server_config(name: str) -> ServerConfig:
    """The config called ``name``; a bare framework name means its default config."""
    config = SERVER_CONFIGS.get(DEFAULT_FOR_FRAMEWORK.get(name, name))
    if config is None:
        raise BenchError(f"unknown server config {name!r}; choose from {', '.join(APP_SERVERS)}")
    return config
