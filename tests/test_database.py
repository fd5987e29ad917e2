"""The passenger database, against a real PostgreSQL: the list loaded and checked, the embedded server's
lifecycle (started, reused, stopped, nothing left), the verify step counting reads at the database, each app
answering 503 while the database is down and serving again once it is back, and a run whose database cannot
be reached failing only the scenarios that read it."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import requests

from apps.store import PASSENGERS, TIMEOUT_SECONDS, UNKNOWN_AGE
from bench.database import (
    UNKNOWN_AGES,
    EmbeddedDatabase,
    passengers,
    passengers_csv,
    query_count,
    read_passengers,
)
from bench.errors import BenchError
from bench.results import load_manifest
from bench.servers import free_port
from bench.verify import verify
from tests.servers import STARTED_PIDS, SessionDatabase, served

needs_list = pytest.mark.skipif(not passengers_csv().is_file(), reason="the passenger list is not beside the clone")
# Every app's own database code: asyncpg (FastAPI, Tornado, Starlette), psycopg sync (Flask, FastAPI def) and
# psycopg async (FastAPI), Django Ninja's handlers, the ORM apps (Flask-SQLAlchemy, SQLModel, SQLAlchemy's
# asyncio); granian and the gevent worker run apps already listed.
APPS = ("fastapi-uvicorn", "fastapi-def-uvicorn", "fastapi-psycopg-uvicorn", "flask-gunicorn-sync", "tornado",
        "starlette-uvicorn", "litestar-uvicorn", "django-ninja-gunicorn-sync", "flask-orm-gunicorn-sync",
        "fastapi-sqlmodel-uvicorn", "fastapi-orm-uvicorn")  # fmt: skip


@needs_list
def test_the_passenger_list_is_read_as_the_contract_says() -> None:
    rows = read_passengers(passengers_csv())
    assert len(rows) == PASSENGERS and sum(age is None for _, age, _ in rows) == UNKNOWN_AGES
    assert rows[0] == (1, 22, "M") and rows[5] == (6, None, "M")
    assert rows[78] == (79, 0, "M")  # 0.83 years: whole years, rounded down


def test_a_list_that_is_not_the_passenger_list_is_refused(tmp_path: Path) -> None:
    short = tmp_path / "short.csv"
    short.write_text("survived,pclass,sex,age\n0,3,male,22\n1,1,female,38\n")
    with pytest.raises(BenchError, match="has 2 passengers"):
        read_passengers(short)
    with pytest.raises(BenchError, match="not at"):
        read_passengers(tmp_path / "missing.csv")


@needs_list
def test_embedded_database_starts_loaded_is_reused_and_leaves_nothing(tmp_path: Path) -> None:
    with EmbeddedDatabase((), free_port("127.0.0.1")).start() as first:
        started = first.tree()
        rows = passengers(first.url)
        assert len(rows) == PASSENGERS and rows[20] == (None, "F")
        record = first.record()
        assert record.version.split(".")[0].isdigit() and record.settings["fsync"] == "off"
        data = first.data
    assert started and not [p for p in started if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert data is not None and (data / "PG_VERSION").is_file()  # kept for the next run
    again = EmbeddedDatabase((), free_port("127.0.0.1")).start()
    try:
        assert again.data == data and len(passengers(again.url)) == PASSENGERS
    finally:
        again.stop()


@needs_list
def test_a_server_left_by_a_run_that_died_is_stopped_before_its_slot_is_reused() -> None:
    dead_run = EmbeddedDatabase((), free_port("127.0.0.1")).start()
    assert dead_run.process is not None and dead_run.lock is not None and dead_run.own_log is not None
    postmaster = psutil.Process(dead_run.process.pid)
    dead_run.lock.close()  # the run dies: the kernel drops its lock, and its server keeps running
    dead_run.own_log.close()
    dead_run.lock = dead_run.own_log = dead_run.process = None
    assert postmaster.is_running()
    with EmbeddedDatabase((), free_port("127.0.0.1")).start() as next_run:
        assert next_run.data == dead_run.data and len(passengers(next_run.url)) == PASSENGERS
    assert not postmaster.is_running() or postmaster.status() == psutil.STATUS_ZOMBIE


@needs_list
def test_two_databases_at_once_use_two_slots() -> None:
    with EmbeddedDatabase((), free_port("127.0.0.1")).start() as one, \
            EmbeddedDatabase((), free_port("127.0.0.1")).start() as other:  # fmt: skip
        assert one.data != other.data and query_count(one.url) is not None


@needs_list
def test_verify_counts_the_reads_at_the_database() -> None:
    """One answer of /predictions?queries=20 must cost 20 reads where the app reads; counted at a database the
    app does not read, the same answer fails the check."""
    with served("fastapi-uvicorn") as url:
        verify(url, "rule", "queries-20", SessionDatabase.url())
        verify(url, "rule", "passenger", SessionDatabase.url())
        elsewhere = EmbeddedDatabase((), free_port("127.0.0.1")).start()
        try:
            with pytest.raises(BenchError, match="counted 0 passenger reads for one answer, not 20"):
                verify(url, "rule", "queries-20", elsewhere.url)
        finally:
            elsewhere.stop()


@needs_list
@pytest.mark.parametrize("server", APPS)
def test_a_stopped_database_answers_503_then_serves_again(server: str) -> None:
    port = free_port("127.0.0.1")
    database = EmbeddedDatabase((), port).start()
    try:
        with served(server, "--database-url", database.url) as url:
            assert requests.get(f"{url}/passengers/1/prediction", timeout=10).status_code == 200
            database.stop()
            for path in ("/passengers/1/prediction", "/predictions?queries=5"):
                started = time.monotonic()
                down = requests.get(url + path, timeout=10)
                assert (down.status_code, down.headers["Content-Type"]) == (503, "application/json"), down.text
                assert down.json() == {"detail": "Service Unavailable"}
                assert time.monotonic() - started < 2 * TIMEOUT_SECONDS + 1
            assert requests.get(f"{url}/predict?age=5&sex=M", timeout=5).json() == {"survived": 1}
            database = EmbeddedDatabase((), port).start()
            deadline = time.monotonic() + 15
            while (back := requests.get(f"{url}/passengers/6/prediction", timeout=10)).status_code != 200:
                assert time.monotonic() < deadline, f"still {back.status_code} after the database came back"
                time.sleep(0.5)
            assert back.json() == {"passenger_id": 6, "survived": int(UNKNOWN_AGE < 10)}
    finally:
        database.stop()


def run(*args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    process = subprocess.Popen([sys.executable, "-m", "bench", "run", *args], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)  # fmt: skip
    STARTED_PIDS.add(process.pid)
    out, err = process.communicate(timeout=timeout)
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


TINY = ["--repeats", "1", "--warmup", "1", "--duration", "2", "--users", "8", "--no-report"]


@needs_list
@pytest.mark.slow
def test_a_database_run_counts_reads_and_names_each_limit(tmp_path: Path) -> None:
    done = run("--servers", "fastapi-uvicorn,flask-gunicorn-sync", "--endpoints", "queries-5", *TINY,
               "--results-dir", str(tmp_path), "--run-id", "db")  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads((tmp_path / "db" / "summary.json").read_text())
    manifest = load_manifest(tmp_path / "db")
    database = manifest.databases["postgresql"]
    assert database.embedded and database.passengers == PASSENGERS
    for scenario in summary["scenarios"]:
        assert scenario["queries_per_request"] == pytest.approx(5, rel=0.05), scenario["id"]
        assert 0 < scenario["database_busy"] < 1 and scenario["outstanding"] > 0
        assert scenario["limited_by"] in {"server", "server I/O wait", "database", "client", "client+database"}
    orphans = [p for p in psutil.process_iter(["name", "ppid"]) if p.info["name"] == "postgres" and p.info["ppid"] == 1]
    assert not orphans, "a PostgreSQL outlived its run"


def test_a_run_whose_database_cannot_be_reached_fails_only_what_reads_it(tmp_path: Path) -> None:
    unreachable = f"postgresql://bench@127.0.0.1:{free_port('127.0.0.1')}/titanic"
    done = run("--servers", "fastapi-uvicorn", "--endpoints", "get,queries-1", "--database-url", unreachable, *TINY,
               "--results-dir", str(tmp_path), "--run-id", "down")  # fmt: skip
    assert done.returncode == 4, done.stderr[-2000:]
    summary = json.loads((tmp_path / "down" / "summary.json").read_text())
    by_endpoint = {s["endpoint"]: s for s in summary["scenarios"]}
    assert not summary["complete"] and by_endpoint["get"]["error"] is None and by_endpoint["get"]["requests"] > 0
    assert "passenger database could not be started" in by_endpoint["queries-1"]["error"]
    assert "Traceback" not in done.stderr
