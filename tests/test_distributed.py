"""Locust's distributed mode and remote targets: workers' latencies merged exactly, apps running elsewhere."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bench.latency import decode, histogram_of, percentiles_ms, read_latency
from bench.load.runner import LOCUSTFILE
from bench.results import load_manifest, load_summary
from tests.servers import STARTED_PIDS, served, served_line
from tests.test_measurer import null_server, served_count


@pytest.mark.slow
def test_a_master_with_two_local_workers_counts_and_merges_exactly(tmp_path: Path) -> None:
    samples = tmp_path / "samples"
    samples.mkdir()
    out = tmp_path / "latency.json"
    with null_server() as url:
        before = served_count(url)
        # the window (60 s) outlasts the run, and users finish their last request: every request is in the record
        command = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "LeanGet", "--headless", "--host", url,
                   "-u", "8", "-r", "100", "-t", "3s", "--stop-timeout", "10", "--processes", "2", "--only-summary",
                   "--loglevel", "ERROR", "--exit-code-on-error", "0", "--bench-latency-out", str(out),
                   "--bench-warmup", "0", "--bench-duration", "60", "--bench-samples-out", str(samples)]  # fmt: skip
        subprocess.run(command, check=True, capture_output=True, timeout=120)
        served_requests = served_count(url) - before
    record = read_latency(out)
    assert len(record.workers) == 2 and all(worker.requests > 50 for worker in record.workers)
    assert record.requests == served_requests == sum(worker.requests for worker in record.workers)
    combined = np.concatenate([np.load(path) for path in sorted(samples.glob("*.npy"))])
    assert len(combined) == record.requests
    merged = decode(record.histogram)
    assert percentiles_ms(merged) == percentiles_ms(histogram_of(combined))
    assert merged.get_total_count() == len(combined)
    assert sum(entry.requests for entry in record.timeline) == record.requests


def bench(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bench", *args], capture_output=True, text=True, timeout=300,
                          check=False)  # fmt: skip


TINY = ["--endpoints", "get", "--repeats", "1", "--warmup", "1", "--duration", "2", "--users", "4", "--no-report"]


@pytest.mark.slow
def test_a_run_against_an_app_started_elsewhere(tmp_path: Path) -> None:
    with served_line("fastapi", "--stats-port", "0") as line, served("tornado") as plain_url:
        url = line.split("serving on ", 1)[1].split()[0]
        stats_url = line.split("CPU seconds: ", 1)[1].split(")")[0]
        done = bench("run", "--servers", "fastapi,tornado", "--target", f"fastapi={url}",
                     "--target", f"tornado={plain_url}", "--server-stats", f"fastapi={stats_url}", *TINY,
                     "--results-dir", str(tmp_path), "--run-id", "t")  # fmt: skip
    assert done.returncode == 0, done.stderr
    summary, manifest = load_summary(tmp_path / "t"), load_manifest(tmp_path / "t")
    assert manifest.config.targets == {"fastapi-uvicorn": url, "tornado": plain_url}
    assert manifest.commands["fastapi-uvicorn-w1-get"]["server"] == ["target", url]
    # rounds run in a random order: find each by its config
    by_server = {scenario.server: scenario for scenario in summary.scenarios}
    fastapi, tornado = by_server["fastapi-uvicorn"], by_server["tornado"]
    assert fastapi.requests > 0 and fastapi.valid and tornado.requests > 0 and tornado.valid
    assert fastapi.server_cpu_us_per_request is not None and fastapi.server_cpu_us_per_request > 0
    assert tornado.server_cpu_us_per_request is None  # no stats endpoint: unknown, not zero


@pytest.mark.slow
def test_a_remote_worker_joins_each_scenario(tmp_path: Path) -> None:
    from bench.servers import free_port

    port = free_port("127.0.0.1")
    worker = subprocess.Popen([sys.executable, "-m", "bench", "worker", "--master", "127.0.0.1", "--master-port",
                               str(port), "--scenarios", "2"], stdout=subprocess.PIPE, text=True)  # fmt: skip
    STARTED_PIDS.add(worker.pid)
    try:
        done = bench("run", "--frameworks", "fastapi,tornado", "--remote-workers", "1", "--master-port", str(port),
                     *TINY, "--results-dir", str(tmp_path), "--run-id", "r")  # fmt: skip
        assert worker.wait(timeout=60) == 0
    finally:
        worker.kill()
    assert done.returncode == 0, done.stderr
    summary = load_summary(tmp_path / "r")
    for scenario in summary.scenarios:
        assert scenario.requests > 0 and scenario.valid
        assert scenario.client_workers is not None and len(scenario.client_workers) == 1
        assert scenario.client_workers[0].cpu_percent is not None
    assert "remote workers" in load_manifest(tmp_path / "r").client_ceiling_error or ""
