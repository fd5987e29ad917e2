"""One measured window: run the load, discard the warm-up, sample server, client and database CPU (and the
database's passenger reads) over exactly the measured seconds, the server's memory at its end, and collect the
exact latency record."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from bench.latency import LatencyRecord
from bench.load.runner import LocustRun
from bench.queues import QueueSampler
from bench.sampling import CpuUsage, snapshot
from bench.servers import RemoteServer, Server


class Database(Protocol):
    """What a window reads of the database: its CPU so far (None: not known) and its passenger reads so far."""

    def cpu_seconds(self) -> float | None: ...

    def reads(self) -> int | None: ...


@dataclass(frozen=True)
class Window:
    """What one window measured beyond the latency record: its start, CPU, and the database's reads in it."""

    t0: float
    usage: CpuUsage
    reads: int | None  # passenger reads the database counted over the window (None: not counted)
    server_queue: float | None  # requests waiting in the server's sockets, mean of samples (None: not sampled)
    memory: list[tuple[int, int]]  # each server process's USS and PSS at the window's end (empty: not known)


def sleep_until(moment: float, check: Callable[[], None]) -> None:
    """Sleep until the epoch time ``moment``, calling ``check`` every 100 ms (it raises if a process died)."""
    while (remaining := moment - time.time()) > 0:
        time.sleep(min(remaining, 0.1))
        check()


def measure_window(
    server: Server | RemoteServer,
    load: LocustRun,
    warmup: float,
    duration: float,
    *,
    database: Database | None = None,
    queue_port: int | None = None,
) -> tuple[Window, LatencyRecord]:
    """Run the load; sample server, client and database CPU exactly over the measured window (and the requests
    waiting at ``queue_port``, a local server's); stop the load.

    Returns what the window measured and the latency record.
    """
    database_cpu = database.cpu_seconds if database is not None else None
    queue = QueueSampler(queue_port) if queue_port else None
    try:
        t0 = load.start()
        sleep_until(t0 + warmup, server.check_alive)
        reads_before = database.reads() if database is not None else None
        start = snapshot(server.cpu_seconds, load.tree, server.cpus, database_cpu)
        if queue:
            queue.start()
        sleep_until(t0 + warmup + duration, server.check_alive)
        end = snapshot(server.cpu_seconds, load.tree, server.cpus, database_cpu)
        memory = server.memory()  # after the CPU snapshot: reading smaps costs the server's CPU nothing measured
        waiting = queue.stop() if queue else None
        reads_after = database.reads() if database is not None else None
        latency = load.finish(timeout=warmup + duration + 60)
    finally:
        load.stop()
        if queue:
            queue.stop()
    server.check_alive()
    reads = None if reads_before is None or reads_after is None else reads_after - reads_before
    return Window(t0, CpuUsage.between(start, end), reads, waiting, memory), latency
