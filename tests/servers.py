"""Start apps the way a user does, ``python -m bench serve``, and account for every process started.

Every app served here reads the test session's passenger database on its config's engine (an embedded PostgreSQL,
or MariaDB, started on first use, stopped when the session ends), given with ``--database-url``, unless a test
names its own.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import psutil

from bench import engines
from bench.database import EmbeddedDatabase, passengers_csv
from bench.registry import BUILT_IN, BUILT_IN_SERVERS
from bench.server_configs import Engine
from bench.servers import free_port

STARTED_PIDS: set[int] = set()


class SessionDatabase:
    """The session's passenger databases, one per engine: each started on first use, where the passenger list is
    found."""

    running: dict[Engine, EmbeddedDatabase] = {}  # noqa: RUF012 (the session's, shared on purpose)

    @classmethod
    def url(cls, engine: Engine = "postgresql") -> str | None:
        if engine not in cls.running and passengers_csv().is_file():
            cls.running[engine] = engines.embedded(engine, (), free_port("127.0.0.1")).start()
            STARTED_PIDS.update(process.pid for process in cls.running[engine].tree())
        return cls.running[engine].url if engine in cls.running else None

    @classmethod
    def stop(cls) -> None:
        while cls.running:
            cls.running.popitem()[1].stop()


def engine_of(name: str) -> Engine:
    """The engine a config (or a framework's default config) reads."""
    return BUILT_IN.config(name).engine if name in BUILT_IN_SERVERS else "postgresql"


@contextmanager
def served(framework: str, *options: str, timeout: float = 30.0) -> Iterator[str]:
    """Yield the URL of ``framework`` served on a free loopback port; stop it and check it is gone."""
    with served_line(framework, *options, timeout=timeout) as line:
        yield line.split("serving on ", 1)[1].split()[0]


@contextmanager
def served_line(framework: str, *options: str, timeout: float = 30.0) -> Iterator[str]:
    """Yield the line ``bench serve`` prints once the server is healthy."""
    url = None if "--database-url" in options else SessionDatabase.url(engine_of(framework))
    database = ["--database-url", url] if url else []
    command = [sys.executable, "-m", "bench", "serve", framework, "--port", "0", *database, *options]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    STARTED_PIDS.add(process.pid)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if "serving on" not in line:
            process.kill()
            raise AssertionError(f"{framework} did not start: {line}{process.communicate(timeout=timeout)[1]}")
        STARTED_PIDS.update(child.pid for child in psutil.Process(process.pid).children(recursive=True))
        yield line
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=timeout)


def leftover_processes() -> list[psutil.Process]:
    """Processes this test session started that are still running."""
    alive = []
    for pid in STARTED_PIDS:
        try:
            process = psutil.Process(pid)
            if process.status() != psutil.STATUS_ZOMBIE:
                alive.append(process)
        except psutil.NoSuchProcess:
            pass
    return alive
