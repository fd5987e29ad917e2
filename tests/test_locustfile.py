"""The locustfile as people who know Locust use it: plain ``locust -f``, headless or in the web UI."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import requests

from bench.load.runner import LOCUSTFILE
from bench.servers import free_port
from tests.servers import STARTED_PIDS, SessionDatabase, served


def locust(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--only-summary", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)


@pytest.mark.slow
def test_plain_locust_runs_with_or_without_a_class_named() -> None:
    with served("fastapi") as url:
        if SessionDatabase.url() is not None:  # every class includes the database endpoints'
            every = locust("--host", url, "-u", "4", "-r", "100", "-t", "2s", "--exit-code-on-error", "1")
            assert every.returncode == 0, every.stderr
            assert "GET /predict" in every.stderr and "PUT /predict" in every.stderr
            assert "Traceback" not in every.stderr and "ZeroDivisionError" not in every.stderr
        one = locust("--host", url, "-u", "2", "-r", "100", "-t", "1s", "LeanGet")
        assert one.returncode == 0 and "GET /predict" in one.stderr and "PUT /predict" not in one.stderr
        no_rate = locust("--host", url, "-u", "2", "-t", "1s", "LeanGetOpenLoop")
        assert no_rate.returncode != 0 and "--bench-arrival-rate" in no_rate.stderr
        assert "Traceback" not in no_rate.stderr


@contextmanager
def web_ui(url: str, *args: str) -> Iterator[str]:
    port = free_port("127.0.0.1")
    command = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--web-host", "127.0.0.1", "--web-port",
               str(port), "--host", url, *args]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    STARTED_PIDS.add(process.pid)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(base, timeout=1)
                break
            except requests.ConnectionError:
                assert process.poll() is None and time.monotonic() < deadline, process.communicate()[1]
                time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.mark.slow
def test_each_web_ui_test_starts_a_fresh_open_loop_schedule() -> None:
    """Started, stopped, paused and started again: were the schedule kept, the second test's first requests
    would be due seconds in the past, and their latency (from the intended send time) would show it."""
    with served("fastapi") as url, web_ui(url, "--bench-arrival-rate", "100", "LeanGetOpenLoop") as base:
        for test in range(2):
            started = requests.post(f"{base}/swarm", data={"user_count": 4, "spawn_rate": 100, "host": url}, timeout=5)
            assert started.ok and started.json()["success"], started.text
            time.sleep(2.0)
            stats = requests.get(f"{base}/stats/requests", timeout=5).json()
            row = next(r for r in stats["stats"] if r["name"] == "GET /predict")
            assert row["num_requests"] > 100 and row["num_failures"] == 0, (test, row)
            assert row["max_response_time"] < 1000, (test, row)  # the 3 s pause is not in it
            assert requests.post(f"{base}/stop", timeout=5).ok
            time.sleep(3.0)
