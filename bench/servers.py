"""Servers' lifecycle: command line (from ``server_configs``), start (pinned), health, stop.

This is the only place that starts an app, for ``bench serve`` and for ``bench run`` alike.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from types import TracebackType
from typing import IO

import psutil

from apps.model import MODEL_ENV_VAR
from apps.store import DATABASE_URL_ENV
from bench import processes, sampling
from bench.errors import BenchError
from bench.server_configs import ServerConfig
from bench.versions import apps_path

HEALTH_TIMEOUT = 20.0  # seconds a server started without a run's settings has to answer /health


@dataclass(frozen=True)
class ServerSpec:
    """What to start: a server config, its model, where it listens."""

    config: ServerConfig
    model: str = "rule"
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    cpus: tuple[int, ...] = ()
    database_url: str | None = None  # the passenger database the app reads, given to it as $TITANIC_DATABASE_URL
    under: tuple[str, ...] = ()  # a tool the server runs under (bench cost: callgrind), before its command

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def server_command(self) -> list[str]:
        """The production server's command line, without CPU pinning."""
        return self.config.command_line(self.host, self.port, self.workers)

    @property
    def keeps_connections_alive(self) -> bool:
        return self.config.keeps_connections_alive

    def command(self) -> list[str]:
        """The exact command line started (under its tool, if any), pinned with ``taskset`` when CPUs are given."""
        return pinned([*self.under, *self.server_command()], self.cpus)


@dataclass(frozen=True)
class RemoteServer:
    """An app already running elsewhere (``--target``): nothing to start or stop. Its CPU is known only from
    a ``bench serve --stats-port`` endpoint (``--server-stats``)."""

    name: str
    url: str
    stats_url: str | None = None
    cpus: tuple[int, ...] = ()  # not known here
    cores: int | None = None

    def check_alive(self) -> None:
        """Nothing to watch from here: a server that dies shows as failed requests."""

    def cpu_seconds(self) -> float | None:
        if self.stats_url is None:
            return None
        try:
            status, _, body = http_request(self.stats_url)
            if status != 200:
                raise BenchError(f"{self.stats_url} answered {status}")
            return float(json.loads(body)["cpu_seconds"])
        except (OSError, ValueError, KeyError) as error:
            raise BenchError(f"cannot read the server's CPU from {self.stats_url}: {error}") from None

    def memory(self) -> list[tuple[int, int]]:
        """Not known from here: its processes run elsewhere."""
        return []


def pinned(command: list[str], cpus: tuple[int, ...] | list[int]) -> list[str]:
    """Prefix ``command`` with ``taskset`` so it and every process it forks stay on ``cpus``."""
    if not cpus:
        return command
    taskset = shutil.which("taskset")
    if taskset is None:
        raise BenchError("taskset (util-linux) is needed to pin processes to CPUs and was not found")
    return [taskset, "-c", ",".join(map(str, cpus)), *command]


def free_port(host: str) -> int:
    """An ephemeral port that is free on ``host`` right now."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def ensure_port_free(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers do: TIME_WAIT is not busy
        try:
            probe.bind((host, port))
        except OSError as error:
            raise BenchError(f"cannot listen on {host}:{port}: {error.strerror or error}") from None


def http_request(
    url: str, method: str = "GET", body: str | None = None, timeout: float = 2.0
) -> tuple[int, str, bytes]:
    """Status, Content-Type and body of one request (a body is sent as JSON), without raising on 4xx/5xx."""
    request = urllib.request.Request(url, data=None if body is None else body.encode(), method=method)
    if body is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.headers.get("Content-Type", ""), response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type", ""), error.read()


@dataclass
class Server:
    """A running server process tree. Use as a context manager: it is always stopped on exit."""

    spec: ServerSpec
    log: IO[bytes] | None = None
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)

    def start(self, health_timeout: float = HEALTH_TIMEOUT) -> Server:
        ensure_port_free(self.spec.host, self.spec.port)
        env = {**os.environ, MODEL_ENV_VAR: self.spec.model}
        if self.spec.database_url:
            env[DATABASE_URL_ENV] = self.spec.database_url
        if self.spec.config.python:  # another environment's Python: it finds the apps here, and nothing else
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(apps_path()), env.get("PYTHONPATH")]))
        output = self.log if self.log is not None else None
        self.process = subprocess.Popen(
            self.spec.command(), env=env, stdout=output, stderr=output, stdin=subprocess.DEVNULL, start_new_session=True
        )
        try:
            self.wait_healthy(health_timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                if http_request(f"{self.spec.url}/health", timeout=1.0)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise BenchError(f"{self.spec.name} did not answer {self.spec.url}/health within {timeout:g} s")

    @property
    def cpus(self) -> tuple[int, ...]:
        return self.spec.cpus

    @property
    def cores(self) -> int | None:
        """The CPUs its process tree may use: the pinned ones, else all of this machine's."""
        return len(self.spec.cpus) or os.cpu_count()

    def check_alive(self) -> None:
        if self.process is not None and self.process.poll() is not None:
            raise BenchError(f"{self.spec.name} server exited with code {self.process.returncode}")

    def tree(self) -> list[psutil.Process]:
        """The server's processes: the top one and every descendant still running."""
        return processes.tree(self.process.pid if self.process else None)

    def cpu_seconds(self) -> float:
        return sampling.cpu_seconds(self.tree())

    def memory(self) -> list[tuple[int, int]]:
        """Each server process's USS and PSS, the top one first."""
        return sampling.memory(self.tree())

    def stop(self) -> None:
        """SIGTERM the whole process group, SIGKILL what is left after a grace period, and check."""
        if self.process is None:
            return
        process, self.process = self.process, None
        processes.stop_group(process, signal.SIGTERM, self.spec.name)

    def __enter__(self) -> Server:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()
