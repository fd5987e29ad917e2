"""The cost of a request, counted rather than timed: the server's whole process tree under valgrind's callgrind
(instructions, switched on only for the measured requests) and then natively under strace's counter (system
calls by name), driven by a fixed sequential client.

The client sends the workload's one request, byte for byte the same each time (a fixed Host header, so the
port drawn cannot change what is parsed), over one kept-alive connection, or a new one per request where the
server closes each (gunicorn's sync worker), and checks every answer. ``PYTHONHASHSEED`` is fixed, so dict and
set orders repeat. What it counts is user-space work (callgrind) and kernel entries (strace); neither sees the
time a request waits, the cache or the kernel's own work.
"""

from __future__ import annotations

import http.client
import shutil
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from apps.contract import JSON_CONTENT_TYPE
from bench.counting import CallgrindCounts, distribution_of, parse_callgrind, parse_strace_summary
from bench.errors import BenchError
from bench.results import CostEntry
from bench.server_configs import ServerConfig
from bench.servers import HEALTH_TIMEOUT, Server, ServerSpec, free_port
from bench.workload import WORKLOADS, Workload

HASH_SEED = "0"
# What bench cost counts unless told (its flags' defaults, and a bisection's steps on instructions): counts repeat
# within 0.5% at these, and an entry takes about a minute and a half under callgrind.
WARMUP_REQUESTS, MEASURED_REQUESTS, REPEATS = 200, 1000, 3
HOST_HEADER = "localhost"
CALLGRIND_HEALTH_TIMEOUT = 300.0  # seconds: a server starts 20-50 times slower under callgrind
CALLGRIND = ("--tool=callgrind", "--trace-children=yes", "--instr-atstart=no")
STRACE_ATTACH_SECONDS = 1.0  # strace -p attaches to each process before the first measured request


@dataclass(frozen=True)
class CostSpec:
    """What to count: one config's app serving one model, one endpoint's request sent ``requests`` times
    after ``warmup`` uncounted ones."""

    config: ServerConfig
    endpoint: str
    model: str
    warmup: int
    requests: int

    @property
    def label(self) -> str:
        return f"{self.endpoint}-{self.config.name}-{self.model}"


def tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BenchError(f"bench cost needs {name}, which was not found (Debian: apt-get install {name})")
    return found


def drive(host: str, port: int, workload: Workload, count: int, keep_alive: bool) -> None:
    """Send ``workload``'s request ``count`` times, one after another, and check each answer."""
    headers = {"Host": HOST_HEADER, **({"Content-Type": JSON_CONTENT_TYPE} if workload.body else {})}
    connection: http.client.HTTPConnection | None = None
    for _ in range(count):
        if connection is None:
            connection = http.client.HTTPConnection(host, port, timeout=120)
        connection.request(workload.method, workload.path, body=workload.body or None, headers=headers)
        response = connection.getresponse()
        body = response.read()
        if response.status != 200 or not body.startswith(workload.answer_prefix):
            raise BenchError(f"{workload.request} answered {response.status} {body[:120]!r} while counting")
        if not keep_alive or response.will_close:
            connection.close()
            connection = None
    if connection is not None:
        connection.close()


def spec_under(spec: CostSpec, under: tuple[str, ...], port: int) -> ServerSpec:
    return ServerSpec(spec.config, model=spec.model, port=port, under=("env", f"PYTHONHASHSEED={HASH_SEED}", *under))


@dataclass(frozen=True)
class Warm:
    """A counted server after its warm-up: its command line, its processes, and how to send the measured
    requests."""

    command: list[str]
    pids: list[int]
    measure: Callable[[], None]


@contextmanager
def warmed_up(spec: CostSpec, under: tuple[str, ...], log: Path, health_timeout: float) -> Iterator[Warm]:
    """``spec``'s server started under ``under`` (a tool's command, or nothing) and sent the warm-up requests;
    stopped, with its whole tree, on leaving."""
    server_spec = spec_under(spec, under, free_port("127.0.0.1"))
    workload, keep_alive = WORKLOADS[spec.endpoint], spec.config.keeps_connections_alive

    def send(count: int) -> None:
        drive(server_spec.host, server_spec.port, workload, count, keep_alive)

    with log.open("wb") as written, Server(server_spec, log=written) as server:
        server.start(health_timeout)
        send(spec.warmup)
        yield Warm(server_spec.command(), [process.pid for process in server.tree()], lambda: send(spec.requests))


def count_instructions(spec: CostSpec, out: Path) -> tuple[CallgrindCounts, list[str]]:
    """One repeat under callgrind: instructions of the measured requests over the whole tree, and by object
    file; the profiles are kept in ``out``."""
    valgrind, control = tool("valgrind"), tool("callgrind_control")
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob("callgrind.out.*"):
        stale.unlink()
    under = (valgrind, *CALLGRIND, f"--callgrind-out-file={out}/callgrind.out.%p")
    with warmed_up(spec, under, out / "server.log", CALLGRIND_HEALTH_TIMEOUT) as server:
        for pid in server.pids:  # every process of the tree runs under callgrind
            run_quietly([control, "--instr=on", str(pid)])
        server.measure()
        for pid in server.pids:
            run_quietly([control, "--dump=measured", str(pid)])
            run_quietly([control, "--instr=off", str(pid)])
    dumps = sorted(out.glob("callgrind.out.*.*"))  # the dumps (PID.1); callgrind.out.PID is the exit's, empty
    if not dumps:
        raise BenchError(f"callgrind wrote no profile of the measured requests in {out}")
    counts = [parse_callgrind(path.read_text(errors="replace")) for path in dumps]
    by_object: Counter[str] = Counter()
    for profile in counts:
        by_object.update(profile.by_object)
    return CallgrindCounts(sum(c.total for c in counts), dict(by_object)), server.command


def count_syscalls(spec: CostSpec, out: Path) -> tuple[dict[str, int], list[str]]:
    """The measured requests' system calls over the whole tree, by name: strace -c attached after the warm-up."""
    strace = tool("strace")
    table = out / "strace.txt"
    with warmed_up(spec, (), out / "server-strace.log", HEALTH_TIMEOUT) as server:
        attach = [part for pid in server.pids for part in ("-p", str(pid))]
        tracer = subprocess.Popen([strace, "-f", "-c", "-o", str(table), *attach], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)  # fmt: skip
        try:
            time.sleep(STRACE_ATTACH_SECONDS)
            server.measure()
        finally:
            tracer.send_signal(signal.SIGINT)
            tracer.wait(timeout=30)
    return parse_strace_summary(table.read_text()), [strace, "-f", "-c", *server.command]


def run_quietly(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        raise BenchError(f"{' '.join(command)} failed: {(done.stderr or done.stdout).strip()[:200]}")


def counted(spec: CostSpec, repeats: int, out: Path) -> CostEntry:
    """``repeats`` callgrind counts and one strace count of ``spec``, as one entry."""
    runs = [count_instructions(spec, out / f"callgrind-{repeat}") for repeat in range(1, repeats + 1)]
    syscalls, strace_command = count_syscalls(spec, out)
    first = runs[0][0]
    by_distribution: dict[str, float] = {}
    for name, cost in first.by_object.items():
        owner = distribution_of(name)
        by_distribution[owner] = by_distribution.get(owner, 0.0) + cost / spec.requests
    return CostEntry(
        server=spec.config.name, endpoint=spec.endpoint, model=spec.model, requests=spec.requests,
        instructions=[counts.total for counts, _ in runs], by_distribution=by_distribution,
        syscalls={name: calls / spec.requests for name, calls in sorted(syscalls.items())},
        commands=[" ".join(runs[0][1]), " ".join(strace_command)],
    )  # fmt: skip
