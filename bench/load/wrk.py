"""An independent cross-check: wrk drives the same server with the same connections and CPU pinning.

wrk is a C load generator with its own HTTP client; where it and Locust agree, neither is measuring
itself. The server's busy share is sampled over wrk's measured run as over Locust's window. Its figures
come from a Lua ``done`` hook that writes JSON, never from its printed report.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.errors import BenchError
from bench.results import ScenarioFiles, WrkFigures
from bench.sampling import CpuUsage, Tree, snapshot
from bench.servers import RemoteServer, Server, pinned
from bench.workload import WORKLOADS

SCRIPT = Path(__file__).with_name("wrk_report.lua")


def available() -> bool:
    return shutil.which("wrk") is not None


@dataclass(frozen=True)
class WrkSpec:
    url: str
    endpoint: str
    connections: int
    seconds: int
    cpus: tuple[int, ...]

    def command(self) -> list[str]:
        threads = max(1, min(len(self.cpus), self.connections))
        wrk = ["wrk", "-t", str(threads), "-c", str(self.connections), "-d", f"{self.seconds}s", "-s", str(SCRIPT)]
        return pinned([*wrk, self.url + WORKLOADS[self.endpoint].path], self.cpus)


def run_wrk(spec: WrkSpec, out: Path) -> WrkFigures:
    """One wrk run; returns its figures (requests, rps, errors, percentiles in ms; the server's busy share is
    the caller's to sample)."""
    workload = WORKLOADS[spec.endpoint]
    env = {**os.environ, "WRK_JSON_OUT": str(out), "WRK_METHOD": workload.method, "WRK_BODY": workload.body}
    with out.with_suffix(".log").open("wb") as log:
        done = subprocess.run(
            spec.command(), env=env, stdout=log, stderr=subprocess.STDOUT, timeout=spec.seconds + 60, check=False
        )
    if done.returncode != 0 or not out.is_file():
        raise BenchError(f"wrk failed (exit code {done.returncode}); see {out.with_suffix('.log')}")
    raw: dict[str, Any] = json.loads(out.read_text())
    seconds = raw["duration_us"] / 1e6
    return WrkFigures(
        tool="wrk", requests=raw["requests"], errors=sum(raw["errors"].values()), rps=raw["requests"] / seconds,
        p50_ms=raw["p50_us"] / 1000, p90_ms=raw["p90_us"] / 1000, p99_ms=raw["p99_us"] / 1000,
        p999_ms=raw["p999_us"] / 1000, server_busy=None,
    )  # fmt: skip


def crosscheck(
    url: str,
    endpoint: str,
    *,
    connections: int,
    warmup: float,
    duration: float,
    cpus: tuple[int, ...],
    out_dir: Path,
    server: Server | RemoteServer,
) -> WrkFigures:
    """wrk's warm-up (discarded), then its measurement, on the server process Locust measures too.

    The server's busy share is sampled around the measured wrk process (its start and exit, a few
    milliseconds, fall inside the window: the share errs low, never high)."""
    if warmup > 0:
        run_wrk(WrkSpec(url, endpoint, connections, math.ceil(warmup), cpus), ScenarioFiles.of(out_dir).wrk_warmup)
    no_client: Tree = list  # the server is sampled here; wrk's own CPU is not
    start = snapshot(server.cpu_seconds, no_client, server.cpus)
    figures = run_wrk(WrkSpec(url, endpoint, connections, math.ceil(duration), cpus), ScenarioFiles.of(out_dir).wrk)
    usage = CpuUsage.between(start, snapshot(server.cpu_seconds, no_client, server.cpus))
    return figures.model_copy(update={"server_busy": usage.server_busy(server.cores) if server.cores else None})
