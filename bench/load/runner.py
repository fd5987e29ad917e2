"""Run Locust headless in its own process, pinned to the client CPUs, and collect its files."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from bench import processes
from bench.config import BenchConfig
from bench.errors import BenchError
from bench.latency import LatencyRecord, read_latency
from bench.results import ScenarioFiles
from bench.servers import pinned
from bench.workload import user_class_name

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
START_TIMEOUT = 30.0
REMOTE_START_TIMEOUT = 120.0  # remote workers reconnect for each scenario
TAIL_SECONDS = 0.5  # Locust runs this long past the measured window, so the window ends under full load


@dataclass(frozen=True)
class LoadSpec:
    """One Locust run against one server."""

    url: str
    endpoint: str
    user_class: str
    users: int
    warmup: float
    duration: float
    cpus: tuple[int, ...]
    out_dir: Path
    new_connection: bool = False
    half_close: bool = False  # lean users: the prompt close style (shut the write side after each request)
    arrival_rate: float | None = None  # open loop: requests/s in all (the lean open-loop users)
    local_workers: int = 0  # Locust's distributed mode on this host: a master and this many worker processes
    remote_workers: int = 0  # a master that waits for this many workers from other hosts (bench worker)
    master_bind_host: str = "127.0.0.1"
    master_port: int = 5557

    @classmethod
    def of(
        cls,
        config: BenchConfig,
        url: str,
        endpoint: str,
        out_dir: Path,
        *,
        user_class: str,
        warmup: float,
        duration: float,
        new_connection: bool = False,
        half_close: bool = False,
        arrival_rate: float | None = None,
        remote_workers: int,
    ) -> LoadSpec:
        """The one constructor: the run's settings from ``config``, what differs per scenario from the arguments."""
        return cls(
            url=url, endpoint=endpoint, user_class=user_class, users=config.users, warmup=warmup, duration=duration,
            cpus=tuple(config.client_cpus), out_dir=out_dir, new_connection=new_connection, half_close=half_close,
            arrival_rate=arrival_rate, local_workers=config.locust_workers, remote_workers=remote_workers,
            master_bind_host=config.master_bind_host, master_port=config.master_port,
        )  # fmt: skip

    @property
    def workers(self) -> int:
        """How many processes send requests and report a latency part (1 when Locust runs in one process)."""
        return self.local_workers or self.remote_workers or 1

    @property
    def user_class_name(self) -> str:
        return "lean-open-loop" if self.arrival_rate else self.user_class

    @property
    def files(self) -> ScenarioFiles:
        return ScenarioFiles.of(self.out_dir)

    @property
    def latency_file(self) -> Path:
        return self.files.latency

    def command(self) -> list[str]:
        run_time = math.ceil(self.warmup + self.duration + TAIL_SECONDS)  # Locust takes whole seconds
        user = user_class_name(self.user_class_name, self.endpoint)
        locust = [
            sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), user,
            "--headless", "--host", self.url, "--users", str(self.users), "--spawn-rate", str(self.users * 10),
            "--run-time", f"{run_time}s", "--stop-timeout", "0", "--only-summary", "--loglevel", "WARNING",
            "--exit-code-on-error", "0", "--csv", str(self.files.locust), "--json-file",
            str(self.files.locust), "--logfile", str(self.files.locust_log),
            "--bench-latency-out", str(self.latency_file), "--bench-warmup", str(self.warmup),
            "--bench-duration", str(self.duration), *(["--bench-new-connection"] if self.new_connection else []),
            *(["--bench-half-close"] if self.half_close else []),
            *(["--bench-arrival-rate", str(self.arrival_rate)] if self.arrival_rate else []),
            *(["--processes", str(self.local_workers)] if self.local_workers else []),
            *(["--master", "--expect-workers", str(self.remote_workers), "--master-bind-host", self.master_bind_host,
               "--master-bind-port", str(self.master_port)] if self.remote_workers else []),
        ]  # fmt: skip
        return pinned(locust, self.cpus)


@dataclass
class LocustRun:
    """A running Locust process; stop() is safe to call at any time and leaves nothing behind."""

    spec: LoadSpec
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)

    def start(self) -> float:
        """Start Locust and return ``t0``, the moment its users started (epoch seconds)."""
        marker = self.spec.latency_file.with_name(self.spec.latency_file.name + ".started")
        with self.spec.files.locust_stdout.open("wb") as output:
            self.process = subprocess.Popen(
                self.spec.command(), stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True,
            )  # fmt: skip
        timeout = REMOTE_START_TIMEOUT if self.spec.remote_workers else START_TIMEOUT
        deadline = time.monotonic() + timeout
        while not marker.exists():
            if self.process.poll() is not None:
                raise BenchError(f"Locust exited with code {self.process.returncode}; see {self.spec.out_dir}")
            if time.monotonic() > deadline:
                waiting = (
                    f" (waiting for {self.spec.remote_workers} remote worker(s))" if self.spec.remote_workers else ""
                )
                raise BenchError(f"Locust did not start within {timeout:g} s{waiting}; see {self.spec.out_dir}")
            time.sleep(0.02)
        return float(json.loads(marker.read_text())["t0"])

    def tree(self) -> list[psutil.Process]:
        return processes.tree(self.process.pid if self.process else None)

    def finish(self, timeout: float) -> LatencyRecord:
        """Wait for Locust to end by itself and return the recorder's summary."""
        assert self.process is not None
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise BenchError(f"Locust did not finish within {timeout:g} s") from None
        if code != 0 or not self.spec.latency_file.exists():
            raise BenchError(f"Locust failed (exit code {code}); see {self.spec.files.locust_log}")
        result = read_latency(self.spec.latency_file)
        if len(result.workers) != self.spec.workers:
            raise BenchError(f"{len(result.workers)} of {self.spec.workers} Locust workers reported their latencies")
        return result

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        processes.stop(self.tree())
        self.process.wait(timeout=processes.GRACE_SECONDS)
