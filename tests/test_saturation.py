"""Every throughput figure is the server's: the busy share, the under-driven flag, the client's close styles,
the wrk cross-check's agreement, and results recorded before these existed."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench import sampling
from bench.analysis.agreement import agreements
from bench.analysis.claim import UNDER_DRIVEN_REASON, judge, verdicts
from bench.analysis.close import close_effects, close_sentence
from bench.analysis.ratios import comparisons
from bench.analysis.warnings import warnings
from bench.config import load_config
from bench.limits import MIN_SERVER_BUSY
from bench.load.runner import LOCUSTFILE
from bench.registry import BUILT_IN, BUILT_IN_SERVERS
from bench.results import SCHEMA_VERSION, Scenario, WrkFigures, load_manifest, load_summary
from bench.run import run
from bench.sampling import CpuUsage
from bench.servers import free_port
from bench.window import measure_window
from tests.servers import STARTED_PIDS, served

FIXTURES = Path(__file__).parent / "fixtures"
MARGIN = load_config().claim_margin
CLOSING = [name for name in BUILT_IN_SERVERS if not BUILT_IN.config(name).keeps_connections_alive]


def test_busy_share_leaves_out_what_the_hypervisor_stole() -> None:
    usage = CpuUsage(wall_seconds=5.0, server_seconds=4.5, client_seconds=1.0, server_steal_seconds=0.5)
    assert usage.server_busy(1) == pytest.approx(1.0)
    assert usage.server_steal(1) == pytest.approx(0.1)
    assert CpuUsage(5.0, 4.5, 1.0).server_busy(1) == pytest.approx(0.9)
    assert CpuUsage(5.0, 9.0, 1.0).server_busy(2) == pytest.approx(0.9)  # two server CPUs
    assert CpuUsage(5.0, None, 1.0).server_busy(1) is None


def test_steal_is_read_per_cpu_from_proc_stat(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stat = tmp_path / "stat"
    stat.write_text(
        "cpu  10 0 10 100 0 0 0 300 0 0\ncpu0 5 0 5 50 0 0 0 100 0 0\ncpu1 5 0 5 50 0 0 0 200 0 0\nintr 1 2 3\n"
    )
    monkeypatch.setattr(sampling, "PROC_STAT", stat)
    ticks = sampling.os.sysconf("SC_CLK_TCK")
    assert sampling.steal_seconds([0]) == pytest.approx(100 / ticks)
    assert sampling.steal_seconds([0, 1]) == pytest.approx(300 / ticks)
    assert sampling.steal_seconds([]) == 0.0


class SteadyServer:
    """A fake server whose CPU runs flat out during the warm-up and at half speed after it."""

    cpus: tuple[int, ...] = ()
    cores = 1

    def __init__(self, warmup_ends: float) -> None:
        self.warmup_ends = warmup_ends

    def check_alive(self) -> None:
        pass

    def cpu_seconds(self) -> float:
        now = time.time()
        return min(now, self.warmup_ends) + 0.5 * max(0.0, now - self.warmup_ends)

    def memory(self) -> list[tuple[int, int]]:
        return []


class FakeLoad:
    def __init__(self) -> None:
        self.t0 = time.time()

    def start(self) -> float:
        return self.t0

    def tree(self) -> list[object]:
        return []

    def finish(self, timeout: float) -> dict[str, object]:
        return {}

    def stop(self) -> None:
        pass


def test_busy_share_comes_from_the_measured_window_only() -> None:
    load = FakeLoad()
    server = SteadyServer(load.t0 + 0.4)
    window, _ = measure_window(server, load, warmup=0.4, duration=0.6)  # type: ignore[arg-type]
    assert window.usage.server_busy(1) == pytest.approx(0.5, abs=0.05)  # the warm-up's full speed is not in it


def test_results_of_schema_1_are_migrated_on_load() -> None:
    summary, manifest = load_summary(FIXTURES / "schema1"), load_manifest(FIXTURES / "schema1")
    assert summary.schema_version == SCHEMA_VERSION and manifest.schema_version == SCHEMA_VERSION
    assert manifest.config.close_style == ["lazy"]  # what the lean user did before it was a setting
    flask = [s for s in summary.scenarios if s.framework == "flask"]
    assert {s.close_style for s in flask} == {"lazy"}
    assert {s.close_style for s in summary.scenarios if s.framework != "flask"} == {None}
    measured = [s for s in summary.scenarios if s.server_busy is not None]  # the one with a raw measurement.json
    assert [(s.id, round(s.server_busy or 0, 2), s.under_driven) for s in measured] == [
        ("r1-get-flask-gunicorn-sync-rule-w1", 0.87, True)
    ]
    found = {(v.endpoint, v.metric): v for v in verdicts(summary.scenarios, MARGIN, BUILT_IN)}
    assert found[("get", "throughput")].verdict == "inconclusive"  # it rests on the under-driven scenario
    assert found[("get", "throughput")].reason == UNDER_DRIVEN_REASON
    assert found[("put", "throughput")].verdict != "inconclusive"
    assert found[("get", "cpu_efficiency")].verdict != "inconclusive"  # CPU per request is the server's either way


def test_an_under_driven_server_makes_its_throughput_verdict_inconclusive() -> None:
    scenarios = load_summary(FIXTURES / "under_driven").scenarios
    lazy = [c for c in comparisons(scenarios, BUILT_IN) if c.close_style == "lazy"]
    assert lazy and all(c.under_driven == (c.metric == "throughput") for c in lazy)
    for comparison in lazy:
        verdict, _, reason = judge(comparison, MARGIN)
        if comparison.metric == "throughput":
            assert (verdict, reason) == ("inconclusive", UNDER_DRIVEN_REASON)
    # the claim is judged on the prompt close, the servers' capacity; the lazy one stands beside it
    assert {v.close_style for v in verdicts(scenarios, MARGIN, BUILT_IN)} == {"prompt"}
    sentence = close_sentence(close_effects(scenarios, BUILT_IN))
    assert re.search(r"flask-gunicorn-sync GET served 8\d% as many requests as with a prompt close", sentence)
    warned = " ".join(warnings(scenarios, None, BUILT_IN))
    assert "12 scenario(s) were under-driven" in warned and f"{MIN_SERVER_BUSY:.0%}" in warned
    # wrk kept the lazily closed server busy, so the drivers' disagreement there is explained, not unexplained
    agreement = {(a.variant.close_style, a.endpoint): a for a in agreements(scenarios)}
    assert agreement[("lazy", "get")].limited and not agreement[("lazy", "get")].agrees
    assert agreement[("prompt", "get")].agrees and not agreement[("prompt", "get")].limited
    assert "disagree" not in warned


def test_wrk_under_driven_makes_the_wrk_verdict_inconclusive() -> None:
    scenarios = load_summary(FIXTURES / "holds").scenarios

    def driven(scenario: Scenario) -> WrkFigures:
        busy = 0.8 if scenario.framework == "flask" else 0.99
        return WrkFigures(tool="wrk", requests=scenario.requests, errors=0, rps=scenario.rps, p50_ms=1.0, p90_ms=1.0,
                          p99_ms=1.0, p999_ms=1.0, server_busy=busy)  # fmt: skip

    idle = [s.model_copy(update={"crosscheck": driven(s)}) for s in scenarios]
    found = [v for v in verdicts(idle, MARGIN, BUILT_IN) if v.metric == "throughput_wrk"]
    assert found and all(v.reason == UNDER_DRIVEN_REASON for v in found)
    assert all(v.verdict == "holds" for v in verdicts(idle, MARGIN, BUILT_IN) if v.metric == "throughput")


@pytest.mark.parametrize("server", CLOSING)
def test_a_server_that_closes_connections_answers_a_half_closed_request_in_full(server: str) -> None:
    """The prompt close relies on this: the request sent, the client's write side shut, the whole answer read."""
    with served(server) as url:
        host, port = url.removeprefix("http://").split(":")
        for _ in range(20):
            with socket.create_connection((host, int(port))) as connection:
                connection.sendall(b"GET /predict?age=8&sex=M HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                connection.shutdown(socket.SHUT_WR)
                answer = b""
                while chunk := connection.recv(65536):
                    answer += chunk
            assert answer.startswith(b"HTTP/1.1 200 OK\r\n") and answer.endswith(b'\r\n\r\n{"survived":1}'), answer


@pytest.mark.parametrize("half_close", [False, True], ids=["lazy", "prompt"])
def test_each_close_style_against_gunicorn_sync_counts_every_request(tmp_path: Path, half_close: bool) -> None:
    """gunicorn's access log lists every answer it sent; the lean user must have counted each one."""
    port, log = free_port("127.0.0.1"), tmp_path / "access.log"
    command = [*BUILT_IN.config("flask-gunicorn-sync").command_line("127.0.0.1", port, 1), "--access-logfile", str(log)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    STARTED_PIDS.add(process.pid)
    try:
        deadline = time.monotonic() + 20
        while socket.socket().connect_ex(("127.0.0.1", port)) != 0:
            assert time.monotonic() < deadline and process.poll() is None, "gunicorn did not start"
            time.sleep(0.05)
        out = tmp_path / "locust"
        subprocess.run(
            [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "LeanGet", "--headless", "--host",
             f"http://127.0.0.1:{port}", "-u", "8", "-r", "100", "-t", "2s", "--stop-timeout", "10", "--only-summary",
             "--loglevel", "ERROR", "--json-file", str(out), "--exit-code-on-error", "0",
             *(["--bench-half-close"] if half_close else [])],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
    finally:
        process.terminate()
        process.wait(10)
    stats = __import__("json").loads(out.with_suffix(".json").read_text())[0]
    answered = [line for line in log.read_text().splitlines() if '"GET /predict?age=8&sex=M HTTP/1.1" 200' in line]
    assert stats["num_requests"] > 100 and stats["num_failures"] == 0
    assert stats["num_requests"] == len(answered)


@pytest.mark.slow
def test_a_server_that_idles_on_purpose_is_flagged_as_a_lower_bound(tmp_path: Path) -> None:
    """Flask's worker sleeps before each request: its server is busy far less than the threshold, so its
    throughput is a lower bound, measured so (what such flags do to a verdict: the simulations above)."""
    sync = BUILT_IN.config("flask-gunicorn-sync")
    idle = sync.model_dump(mode="json", exclude={"name"}) | {
        "command": [*sync.command, "-c", "python:tests.idle_gunicorn"]
    }
    config = load_config(
        overrides={"server_definitions": {"flask-idle": idle}, "servers": ["fastapi-uvicorn", "flask-idle"],
                   "endpoints": ["get"], "repeats": 2, "warmup": 0.5, "duration": 1.0, "users": 8,
                   "ceiling_warmup": 0.5, "ceiling_duration": 1.0, "results_dir": tmp_path}
    )  # fmt: skip
    finished = run(config, "idle")
    summary = load_summary(finished.folder)
    flask = [s for s in summary.scenarios if s.framework == "flask"]
    assert all(s.under_driven and s.server_busy is not None and s.server_busy < 0.6 for s in flask), flask
    assert all(s.lower_bound for s in flask)
