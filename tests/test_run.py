"""The harness end to end: real servers, real Locust, a few seconds each."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from bench.errors import USAGE
from bench.latency import read_latency
from bench.results import GIB, MIB, ScenarioFiles, load_manifest, load_summary
from tests.servers import STARTED_PIDS

TINY_RUN = ["--endpoints", "get", "--repeats", "1", "--warmup", "1", "--duration", "2", "--users", "8"]


def bench(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bench", *args], capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.mark.slow
def test_a_real_run_writes_a_complete_self_describing_folder(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    done = bench(
        "run", "--frameworks", "fastapi,flask", *TINY_RUN, "--results-dir", str(tmp_path), "--run-id", "t",
        "--reports-dir", str(reports),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    folder = tmp_path / "t"
    assert done.stdout.split() == [str(folder / "summary.json"), str(reports / "t" / "index.html")]
    assert (reports / "t" / "index.html").is_file()
    summary = load_summary(folder)
    assert summary.complete
    assert sorted((s.framework, s.endpoint, s.repeat) for s in summary.scenarios) == [
        ("fastapi", "get", 1),
        ("flask", "get", 1),
    ]
    for scenario in summary.scenarios:
        assert scenario.requests > 0 and scenario.failures == 0 and scenario.valid, scenario
        assert scenario.p50_ms is not None and scenario.p90_ms is not None
        assert scenario.p99_ms is not None and scenario.p999_ms is not None
        assert 0 < scenario.p50_ms <= scenario.p90_ms <= scenario.p99_ms <= scenario.p999_ms
        assert scenario.server_cpu_us_per_request is not None and scenario.server_cpu_us_per_request > 0
        assert 0 < scenario.client_cpu_percent <= 110
        raw = folder / "raw" / scenario.id
        assert {"locust.json", "locust_stats.csv", "latency.json", "measurement.json", "server.log"} <= {
            path.name for path in raw.iterdir()
        }
        latency = read_latency(ScenarioFiles.of(raw).latency)
        assert latency.requests == scenario.requests
        assert any(entry.phase == "warmup" for entry in latency.timeline)
        memory = scenario.server_memory  # the app and its model are in memory: tens of MiB a serving process
        assert memory is not None and memory.pss_per_worker_bytes > 20 * MIB and memory.uss_bytes <= memory.pss_bytes
        assert scenario.rps_per_gib == pytest.approx(scenario.rps / (memory.pss_bytes / GIB))
        # gunicorn's arbiter and its one sync worker; uvicorn's one process
        assert len(memory.processes) == (2 if scenario.framework == "flask" else 1), memory
    assert "server PSS MiB" in (reports / "t" / "index.html").read_text()
    manifest = load_manifest(folder)
    assert manifest.config.frameworks == ["fastapi", "flask"]
    assert manifest.finished_utc is not None
    assert manifest.environment.packages["locust"]
    assert manifest.environment.load_average_before
    ceiling = manifest.client_ceiling
    assert ceiling is not None and ceiling.user_classes["lean"].keepalive_rps > 0
    flask = next(s for s in summary.scenarios if s.framework == "flask")
    assert flask.client_ceiling_rps == ceiling.user_classes["lean"].new_connection_rps  # gunicorn sync closes
    steadiness = manifest.machine
    assert steadiness is not None and steadiness.probe_cv is not None and len(steadiness.probe_slices) >= 15
    assert steadiness.server_steal is not None and steadiness.load_average_after is not None
    assert manifest.config.order_seed is not None
    assert "uvicorn" in " ".join(manifest.commands["fastapi-uvicorn-w1-get"]["server"])
    assert "locust" in " ".join(manifest.commands["flask-gunicorn-sync-w1-get"]["locust"])
    again = bench("run", "--frameworks", "tornado", *TINY_RUN, "--results-dir", str(tmp_path), "--run-id", "t")
    assert again.returncode == USAGE and "already exists" in again.stderr  # a result is never overwritten


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupted_run_stops_every_child_and_is_incomplete(tmp_path: Path, signum: signal.Signals) -> None:
    command = [sys.executable, "-m", "bench", "run", "--frameworks", "tornado,flask", *TINY_RUN]
    command += ["--duration", "20", "--results-dir", str(tmp_path), "--run-id", "i", "--no-report"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    STARTED_PIDS.add(process.pid)
    raw = tmp_path / "i" / "raw"
    deadline = time.monotonic() + 60
    while not any(raw.glob("*/latency.json.started")):  # the first scenario's load, whichever the order drew
        assert process.poll() is None and time.monotonic() < deadline, "the run did not start its load"
        time.sleep(0.1)
    children = psutil.Process(process.pid).children(recursive=True)
    STARTED_PIDS.update(child.pid for child in children)
    assert len(children) >= 2, "expected a server and Locust to be running"
    process.send_signal(signum)
    assert process.wait(timeout=30) != 0
    _, alive = psutil.wait_procs(children, timeout=5)
    assert not alive, f"children outlived the run: {alive}"
    assert json.loads((tmp_path / "i" / "summary.json").read_text())["complete"] is False
    assert json.loads((tmp_path / "i" / "manifest.json").read_text())["interrupted"] is True


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("wrk") is None and not os.environ.get("CI"), reason="wrk not installed; CI has it")
def test_wrk_crosscheck_drives_the_same_server(tmp_path: Path) -> None:
    done = bench(
        "run", "--frameworks", "tornado", *TINY_RUN, "--endpoints", "put", "--crosscheck", "wrk",
        "--results-dir", str(tmp_path), "--run-id", "w", "--no-report",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    [scenario] = load_summary(tmp_path / "w").scenarios
    assert scenario.crosscheck is not None and scenario.crosscheck.tool == "wrk"
    assert scenario.crosscheck.requests > 0 and scenario.crosscheck.errors == 0
    assert 0 < scenario.crosscheck.p50_ms <= scenario.crosscheck.p99_ms
    assert (tmp_path / "w" / "raw" / scenario.id / "wrk.json").is_file()


@pytest.mark.slow
def test_open_loop_holds_its_arrival_rate(tmp_path: Path) -> None:
    target = 400.0
    done = bench(
        "run", "--frameworks", "fastapi", *TINY_RUN, "--duration", "4", "--arrival-rate", str(target),
        "--results-dir", str(tmp_path), "--run-id", "o", "--no-report",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    [scenario] = load_summary(tmp_path / "o").scenarios
    assert scenario.target_rps == target and scenario.id.endswith(f"-at{target:.0f}rps")
    assert abs(scenario.rps / target - 1) < 0.05, f"achieved {scenario.rps:.0f} rps for a target of {target:.0f}"
    assert scenario.failures == 0 and scenario.p50_ms is not None and scenario.p50_ms < 50
    timeline = json.loads((tmp_path / "o" / "raw" / scenario.id / "latency.json").read_text())["timeline"]
    for second in [entry for entry in timeline if entry["phase"] == "measure"][:-1]:
        assert abs(second["requests"] / target - 1) < 0.1, second


@pytest.mark.slow
def test_a_sweep_runs_set_rates_from_a_closed_loop_run(tmp_path: Path) -> None:
    """``bench sweep``: open-loop rates at shares of each config's closed-loop throughput, and one equal rate."""
    closed = bench("run", "--frameworks", "fastapi", *TINY_RUN, "--results-dir", str(tmp_path), "--run-id", "closed",
                   "--no-report")  # fmt: skip
    assert closed.returncode == 0, closed.stderr
    rps = load_summary(tmp_path / "closed").scenarios[0].rps
    done = bench("sweep", str(tmp_path / "closed"), "--shares", "0.5", "--repeats", "1", "--warmup", "0.5",
                 "--duration", "1", "--results-dir", str(tmp_path), "--run-id", "swept", "--no-report")  # fmt: skip
    assert done.returncode == 0, done.stderr
    swept = load_summary(tmp_path / "swept").scenarios
    assert sorted(s.load_share for s in swept if s.load_share) == [0.5]
    assert all(s.target_rps is not None and s.limited_by == "offered load" for s in swept)
    assert {s.target_rps for s in swept if s.load_share} == {round(0.5 * rps, 1)}
