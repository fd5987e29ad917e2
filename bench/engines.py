"""The database engines a config reads (``ServerConfig.engine``): each engine's embedded server, and the passenger
rows and reads counted at the database, chosen by the URL's scheme (``mysql://`` is MariaDB).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO

from apps.model import Sex
from bench import database, mariadb
from bench.database import EmbeddedDatabase, UnavailableDatabase, passengers_csv, redacted
from bench.results import DatabaseRecord
from bench.server_configs import Engine


def engine_of(url: str) -> Engine:
    return "mariadb" if url.startswith("mysql://") else "postgresql"


def passengers(url: str) -> dict[int, tuple[int | None, Sex]]:
    return mariadb.passengers(url) if engine_of(url) == "mariadb" else database.passengers(url)


def query_count(url: str) -> int | None:
    return mariadb.query_count(url) if engine_of(url) == "mariadb" else database.query_count(url)


def load(url: str, csv_path: Path) -> int:
    return mariadb.load(url, csv_path) if engine_of(url) == "mariadb" else database.load(url, csv_path)


def describe(url: str) -> tuple[str, dict[str, str]]:
    return mariadb.describe(url) if engine_of(url) == "mariadb" else database.describe(url)


def embedded(engine: Engine, cpus: tuple[int, ...], port: int, log: IO[bytes] | None = None) -> EmbeddedDatabase:
    """The engine's server the harness starts for a run (not yet started)."""
    kind = mariadb.EmbeddedMariaDB if engine == "mariadb" else EmbeddedDatabase
    return kind(cpus, port, log=log)


@dataclass
class ExistingDatabase:
    """A server given by URL (PostgreSQL's or MariaDB's): loaded if its table is missing and checked, but never
    started or stopped here. Its CPU is not known from here."""

    url: str
    csv_path: Path = field(default_factory=passengers_csv)
    cpus: tuple[int, ...] = ()
    rows: int = field(default=0, init=False)  # the passengers counted once loaded

    def start(self) -> ExistingDatabase:
        self.rows = load(self.url, self.csv_path)
        return self

    def check_alive(self) -> None:
        """Nothing to watch: a server that stops shows as failed requests (503)."""

    def reads(self) -> int | None:
        return query_count(self.url)

    def cpu_seconds(self) -> float | None:
        return None

    def record(self) -> DatabaseRecord:
        version, settings = describe(self.url)
        return DatabaseRecord(url=redacted(self.url), embedded=False, version=version, settings=settings, cpus=[],
                              user=None, data_directory=None, passengers=self.rows)  # fmt: skip

    def stop(self) -> None:
        """Not ours to stop."""

    def __enter__(self) -> ExistingDatabase:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()


Database = EmbeddedDatabase | ExistingDatabase | UnavailableDatabase
