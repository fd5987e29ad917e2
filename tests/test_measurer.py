"""Trusting the measurer: the null server and both Locust users count exactly and detect failures."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from bench.load.runner import LOCUSTFILE
from bench.nullserver import BODY
from bench.results import ClientCeiling
from bench.servers import free_port
from bench.workload import USER_KINDS, WORKLOADS
from tests.servers import STARTED_PIDS

USERS = {"lean": "LeanGet", "fasthttp": "FastHttpGet", "lean-put": "LeanPut", "fasthttp-put": "FastHttpPut"}


@contextmanager
def null_server(mode: str = "ok") -> Iterator[str]:
    """The null server on a free port, answering 200 (ok), 500 (error), or closing without an answer (close)."""
    port = free_port("127.0.0.1")
    process = subprocess.Popen([sys.executable, "-m", "bench.nullserver", "--port", str(port), "--mode", mode])
    STARTED_PIDS.add(process.pid)
    try:
        deadline = time.monotonic() + 10
        while socket.socket().connect_ex(("127.0.0.1", port)) != 0:
            assert time.monotonic() < deadline and process.poll() is None, "the null server did not start"
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(5)


def locust(url: str, user: str, tmp_path: Path, *extra: str) -> dict[str, int]:
    """Run Locust for two seconds and let every user finish its task: no request is left in flight."""
    out = tmp_path / user
    command = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), user, "--headless", "--host", url, "-u", "4",
               "-r", "100", "-t", "2s", "--stop-timeout", "10", "--only-summary", "--loglevel", "ERROR",
               "--json-file", str(out), "--exit-code-on-error", "0", *extra]  # fmt: skip
    subprocess.run(command, check=True, capture_output=True, timeout=60)
    stats = json.loads(out.with_suffix(".json").read_text())[0]
    return {
        "requests": stats["num_requests"],
        "failures": stats["num_failures"],
        "bytes": stats["total_content_length"],
    }


def served_count(url: str) -> int:
    return int(requests.get(url + "/stats", timeout=5).json()["requests"])


@pytest.mark.parametrize("user", USERS.values())
@pytest.mark.parametrize("new_connection", [False, True])
def test_client_count_equals_the_servers_count(tmp_path: Path, user: str, new_connection: bool) -> None:
    with null_server() as url:
        before = served_count(url)
        counted = locust(url, user, tmp_path, *(["--bench-new-connection"] if new_connection else []))
        assert counted["requests"] > 100
        assert counted["requests"] == served_count(url) - before
        assert counted["failures"] == 0
        assert counted["bytes"] == counted["requests"] * len(BODY)


@pytest.mark.parametrize("user", ["LeanGet", "FastHttpGet"])
@pytest.mark.parametrize("mode", ["chunked", "unframed"])
def test_every_framing_of_an_answer_is_read(tmp_path: Path, user: str, mode: str) -> None:
    """A chunked body, or one that ends at the close, is a whole answer: counted, and none a failure."""
    with null_server(mode) as url:
        before = served_count(url)
        counted = locust(url, user, tmp_path)
        assert counted["requests"] > 100
        assert counted["requests"] == served_count(url) - before
        assert counted["failures"] == 0
        assert counted["bytes"] == counted["requests"] * len(BODY)


@pytest.mark.parametrize("user", ["LeanGet", "FastHttpGet"])
@pytest.mark.parametrize("mode", ["error", "truncated", "close"])
def test_failures_are_detected(tmp_path: Path, user: str, mode: str) -> None:
    with null_server(mode) as url:
        counted = locust(url, user, tmp_path)
    assert counted["requests"] > 0
    assert counted["failures"] == counted["requests"]


def test_ceiling_json_has_both_modes_per_user_class() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench", "ceiling", "--json", "--duration", "1", "--users", "8"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    ceiling = ClientCeiling.model_validate(result)
    for user_class in ("lean", "fasthttp"):
        figures = ceiling.user_classes[user_class]
        assert figures.keepalive_rps > figures.new_connection_rps > 0 and figures.keepalive_failures == 0
        assert figures.rps(keeps_connections_alive=False) == figures.new_connection_rps


def test_every_user_class_has_exactly_its_own_task() -> None:
    """Locust hands a subclass its parent's tasks too: an open-loop user must not also send back to back."""
    script = (
        "import json; from bench.load.locustfile import USER_CLASSES; "
        "print(json.dumps({c.__name__: len(c.tasks) for c in USER_CLASSES.values()}))"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    counts = json.loads(done.stdout)
    assert len(counts) == len(WORKLOADS) * len(USER_KINDS) and set(counts.values()) == {1}, counts
