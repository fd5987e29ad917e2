"""The passenger database on MariaDB, against the host's real server: its lifecycle (started as an unprivileged
user, loaded, reused, stopped, nothing left, an orphan of a dead run stopped), reads counted at it, the ORM app
answering 503 while it is down and serving once it is back, and a run reading PostgreSQL and MariaDB at once.
Skipped, with the line naming the install, where the host has no MariaDB."""

from __future__ import annotations

import os
import time
from pathlib import Path

import psutil
import pytest
import requests

from apps.store import PASSENGERS, TIMEOUT_SECONDS
from bench import mariadb
from bench.database import UNKNOWN_AGES, passengers_csv
from bench.errors import BenchError
from bench.mariadb import EmbeddedMariaDB, passengers, query_count
from bench.results import load_manifest
from bench.servers import free_port
from bench.verify import verify
from tests.servers import SessionDatabase, served
from tests.test_database import TINY, run

pytestmark = [
    pytest.mark.skipif(not mariadb.available(), reason=mariadb.MISSING),
    pytest.mark.skipif(not passengers_csv().is_file(), reason="the passenger list is not beside the clone"),
]


def gone(processes: list[psutil.Process]) -> bool:
    return not [p for p in processes if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]


def test_mariadb_starts_loaded_as_an_unprivileged_user_is_reused_and_leaves_nothing() -> None:
    with EmbeddedMariaDB((), free_port("127.0.0.1")).start() as first:
        started = first.tree()
        rows = passengers(first.url)
        assert len(rows) == PASSENGERS and sum(age is None for age, _ in rows.values()) == UNKNOWN_AGES
        assert rows[1] == (22, "M") and rows[20] == (None, "F")
        record = first.record()
        assert record.version.startswith("10.") or record.version[:2].isdigit()
        assert record.settings["performance_schema"] == "ON" and record.passengers == PASSENGERS
        if os.geteuid() == 0:
            assert record.user == "nobody" and started[0].username() == "nobody"
        data = first.data
    assert started and gone(started)
    assert data is not None and (data / "mysql").is_dir()  # kept for the next run
    with EmbeddedMariaDB((), free_port("127.0.0.1")).start() as again:
        assert again.data == data and len(passengers(again.url)) == PASSENGERS


def test_a_mariadb_left_by_a_run_that_died_is_stopped_before_its_slot_is_reused() -> None:
    dead_run = EmbeddedMariaDB((), free_port("127.0.0.1")).start()
    assert dead_run.process is not None and dead_run.lock is not None and dead_run.own_log is not None
    server = psutil.Process(dead_run.process.pid)
    dead_run.lock.close()  # the run dies: the kernel drops its lock, and its server keeps running
    dead_run.own_log.close()
    dead_run.lock = dead_run.own_log = dead_run.process = None
    assert server.is_running()
    with EmbeddedMariaDB((), free_port("127.0.0.1")).start() as next_run:
        assert next_run.data == dead_run.data and len(passengers(next_run.url)) == PASSENGERS
    assert gone([server])


def test_a_missing_mariadb_is_one_line_naming_the_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setattr(mariadb, "SERVER_PROGRAM", "no-such-mariadbd")
    with pytest.raises(BenchError, match="apt-get install mariadb-server"):
        EmbeddedMariaDB((), free_port("127.0.0.1")).start()


def test_verify_counts_the_orm_reads_at_mariadb() -> None:
    """The chart's Flask (Flask-SQLAlchemy on MariaDB): 20 reads per answer, counted in performance_schema; the
    same answer counted at a MariaDB the app does not read fails the check."""
    url_at = SessionDatabase.url("mariadb")
    assert url_at is not None
    with served("flask-cited") as url:
        before = query_count(url_at)
        verify(url, "rule", "queries-20", url_at)
        assert query_count(url_at) - before == 20
        with EmbeddedMariaDB((), free_port("127.0.0.1")).start() as elsewhere, \
                pytest.raises(BenchError, match="counted 0 passenger reads for one answer, not 20"):  # fmt: skip
            verify(url, "rule", "queries-20", elsewhere.url)


def test_the_orm_app_answers_503_while_mariadb_is_down_then_serves_again() -> None:
    port = free_port("127.0.0.1")
    database = EmbeddedMariaDB((), port).start()
    try:
        with served("flask-cited", "--database-url", database.url) as url:
            assert requests.get(f"{url}/passengers/1/prediction", timeout=10).status_code == 200
            database.stop()
            started = time.monotonic()
            down = requests.get(f"{url}/predictions?queries=5", timeout=10)
            assert (down.status_code, down.json()) == (503, {"detail": "Service Unavailable"}), down.text
            assert time.monotonic() - started < 2 * TIMEOUT_SECONDS + 1
            assert requests.get(f"{url}/predict?age=5&sex=M", timeout=5).json() == {"survived": 1}
            database = EmbeddedMariaDB((), port).start()
            deadline = time.monotonic() + 15
            while (back := requests.get(f"{url}/passengers/1/prediction", timeout=10)).status_code != 200:
                assert time.monotonic() < deadline, f"still {back.status_code} after the database came back"
                time.sleep(0.5)
    finally:
        database.stop()


@pytest.mark.slow
def test_a_run_reads_postgresql_and_mariadb_at_once_and_stops_both(tmp_path: Path) -> None:
    done = run("--servers", "flask-cited,fastapi-cited", "--endpoints", "queries-5", *TINY,
               "--results-dir", str(tmp_path), "--run-id", "both")  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    manifest = load_manifest(tmp_path / "both")
    assert set(manifest.databases) == {"postgresql", "mariadb"}
    assert manifest.databases["mariadb"].passengers == PASSENGERS
    assert (tmp_path / "both" / "raw" / "mariadb.log").is_file()
    orphans = [p for p in psutil.process_iter(["name", "ppid"])
               if p.info["name"] in ("mariadbd", "postgres") and p.info["ppid"] == 1]  # fmt: skip
    assert not orphans, "a database outlived its run"
