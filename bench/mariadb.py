"""The passenger database on MariaDB, the MySQL-compatible engine the chart's Flask entry read: the distribution's
``mariadbd`` started, pinned, loaded, checked and stopped by the harness as the embedded PostgreSQL is
(``bench.database``: the same slots, locks, orphan stop and unprivileged user), read through PyMySQL.

No wheel brings MariaDB, so it comes from the host (``MISSING`` says how to install it); where it is absent the
runs that need it are skipped or fail with that line. Passenger reads are counted in performance_schema's digests,
as pg_stat_statements counts them on PostgreSQL.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pymysql

from apps.model import Sex
from apps.store import PASSENGERS
from bench.database import (
    DATABASE,
    UNKNOWN_AGES,
    UNPRIVILEGED_USER,
    USER,
    EmbeddedDatabase,
    existing,
    reachable_by,
    read_passengers,
    redacted,
)
from bench.errors import BenchError
from bench.servers import pinned
from bench.versions import cache_folder

ENGINE = "mariadb"
SERVER_PROGRAM = "mariadbd"
INSTALL_PROGRAM = "mariadb-install-db"
MISSING = "MariaDB is not installed: apt-get install mariadb-server (Debian's package; the harness starts its own)"
# Settings of every started server, recorded in the manifest. As on PostgreSQL: the workload only reads, so
# durability is off; the grant tables are skipped (any local user is trusted, as PostgreSQL's --auth=trust).
SETTINGS = {
    "bind_address": "127.0.0.1",
    "max_connections": "200",
    "innodb_buffer_pool_size": "134217728",
    "innodb_flush_log_at_trx_commit": "0",
    "performance_schema": "ON",
    "skip_grant_tables": "ON",
    "skip_name_resolve": "ON",
    "log_bin": "OFF",
}
# The statements that read one passenger by its id, as performance_schema's digests record them (the values as ?),
# raw SQL's and an ORM's alike.
COUNTED = r"FROM `passengers` WHERE (`passengers` \. )?`?id`? = \?"


def programs() -> tuple[Path, Path]:
    """The server and its installer, from the host; one line saying how to install them otherwise."""
    server, installer = (
        shutil.which(SERVER_PROGRAM, path=f"{os.environ.get('PATH', '')}:/usr/sbin"),
        shutil.which(INSTALL_PROGRAM),
    )
    if server is None or installer is None:
        raise BenchError(MISSING)
    return Path(server), Path(installer)


def available() -> bool:
    try:
        programs()
    except BenchError:
        return False
    return True


def connect(url: str, database: bool = True) -> pymysql.connections.Connection[Any]:
    parts = urlsplit(url)
    return pymysql.connect(
        host=parts.hostname or "127.0.0.1", port=parts.port or 3306, user=parts.username or USER,
        database=parts.path.lstrip("/") if database else None, autocommit=True, connect_timeout=5,
    )  # fmt: skip


def load(url: str, csv_path: Path) -> int:
    """Create and fill the ``passengers`` table if it is missing; return its row count, checked."""
    try:
        with contextlib.closing(connect(url)) as connection, connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'passengers'")
            found = cursor.fetchone()
            if not (found and found[0]):
                rows = read_passengers(csv_path)
                cursor.execute(
                    "CREATE TABLE passengers (id integer PRIMARY KEY, age integer, "
                    "sex char(1) NOT NULL CHECK (sex IN ('M', 'F'))) ENGINE=InnoDB"
                )
                cursor.executemany("INSERT INTO passengers (id, age, sex) VALUES (%s, %s, %s)", rows)
                cursor.execute("ANALYZE TABLE passengers")
            cursor.execute("SELECT count(*), count(*) - count(age) FROM passengers")
            counted = cursor.fetchone()
    except pymysql.Error as error:
        raise BenchError(f"cannot load the passengers into {redacted(url)}: {error}") from None
    assert counted is not None
    if tuple(counted) != (PASSENGERS, UNKNOWN_AGES):
        raise BenchError(f"the passengers table of {redacted(url)} has {counted[0]} rows, {counted[1]} of unknown age; "
                         f"expected {PASSENGERS}, {UNKNOWN_AGES}")  # fmt: skip
    return int(counted[0])


def query_count(url: str) -> int:
    """How many passenger reads the server has executed so far (performance_schema's statement digests)."""
    try:
        with contextlib.closing(connect(url)) as connection, connection.cursor() as cursor:
            cursor.execute(
                "SELECT coalesce(sum(count_star), 0) FROM performance_schema.events_statements_summary_by_digest "
                "WHERE digest_text REGEXP %s",
                (COUNTED,),
            )
            found = cursor.fetchone()
    except pymysql.Error as error:
        raise BenchError(f"cannot read the query count of {redacted(url)}: {error}") from None
    return int(found[0]) if found else 0


def passengers(url: str) -> dict[int, tuple[int | None, Sex]]:
    """Every passenger row as the apps read it: id -> (age, sex)."""
    try:
        with contextlib.closing(connect(url)) as connection, connection.cursor() as cursor:
            cursor.execute("SELECT id, age, sex FROM passengers")
            rows = cursor.fetchall()
    except pymysql.Error as error:
        raise BenchError(f"cannot read the passengers of {redacted(url)}: {error}") from None
    return {int(row[0]): (row[1], row[2]) for row in rows}


def describe(url: str) -> tuple[str, dict[str, str]]:
    """The server's version and the settings this module sets, as the server reports them."""
    try:
        with contextlib.closing(connect(url)) as connection, connection.cursor() as cursor:
            cursor.execute("SELECT version()")
            version = cursor.fetchone()
            cursor.execute(f"SHOW GLOBAL VARIABLES WHERE variable_name IN ({', '.join(['%s'] * len(SETTINGS))})",
                           list(SETTINGS))  # fmt: skip
            settings = {str(name): str(value) for name, value in cursor.fetchall()}
    except pymysql.Error as error:
        raise BenchError(f"cannot reach the database {redacted(url)}: {error}") from None
    return (str(version[0]) if version else "unknown"), settings


@dataclass
class EmbeddedMariaDB(EmbeddedDatabase):
    """A MariaDB server for one run, with the embedded PostgreSQL's lifecycle: ``with EmbeddedMariaDB(cpus,
    port) as db:`` starts it, loaded and checked, and always stops it (and everything it started) on exit."""

    NAME = "MariaDB"
    STOP_SIGNAL = signal.SIGTERM  # MariaDB's normal shutdown
    PID_FILE = "mariadbd.pid"

    @property
    def url(self) -> str:
        return f"mysql://{USER}@127.0.0.1:{self.port}/{DATABASE}"

    def start(self) -> EmbeddedMariaDB:
        server, installer = programs()
        root = os.geteuid() == 0
        account = pwd.getpwnam(UNPRIVILEGED_USER) if root else pwd.getpwuid(os.geteuid())
        self.user = account.pw_name
        home = cache_folder() / ENGINE
        if root and not reachable_by(existing(home), account.pw_uid):
            home = Path(tempfile.gettempdir()) / "titanic-bench-mariadb"  # root's cache is out of nobody's reach
        self.data = self.claim_slot(home / "slots", account)
        try:
            if not (self.data / "mysql").exists():
                self.run_as(account, [str(installer), "--no-defaults", f"--datadir={self.data}", "--skip-test-db",
                                      "--auth-root-authentication-method=normal", "--skip-name-resolve"])  # fmt: skip
            options = [f"--{name.replace('_', '-')}={value}" for name, value in SETTINGS.items()
                       if name not in ("skip_grant_tables", "skip_name_resolve", "log_bin")]  # fmt: skip
            self.process = subprocess.Popen(
                pinned([str(server), "--no-defaults", f"--datadir={self.data}", f"--port={self.port}",
                        f"--socket={self.data / 'mariadbd.sock'}", f"--pid-file={self.data / self.PID_FILE}",
                        "--skip-grant-tables", "--skip-name-resolve", "--skip-log-bin", *options], self.cpus),
                stdout=self.log, stderr=self.log, stdin=subprocess.DEVNULL, start_new_session=True,
                user=account.pw_uid if root else None, group=account.pw_gid if root else None,
            )  # fmt: skip
            self.wait_ready()
            with contextlib.closing(connect(self.url, database=False)) as connection, connection.cursor() as cursor:
                cursor.execute(f"CREATE DATABASE IF NOT EXISTS {DATABASE}")
            self.rows = load(self.url, self.csv_path)
        except pymysql.Error as error:
            self.stop()
            raise BenchError(f"cannot create the database {DATABASE} on MariaDB: {error}") from None
        except BaseException:
            self.stop()
            raise
        return self

    def accepts(self) -> bool:
        with contextlib.suppress(pymysql.err.OperationalError):
            connect(self.url, database=False).close()
            return True
        return False

    def describe(self) -> tuple[str, dict[str, str]]:
        return describe(self.url)

    def reads(self) -> int | None:
        return query_count(self.url)
