"""CPU time of process trees, read with psutil, to turn a measured window into CPU per request."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import psutil

Tree = Callable[[], list[psutil.Process]]


def cpu_seconds(processes: list[psutil.Process]) -> float:
    """User + system CPU seconds used so far by ``processes`` (those that have exited count as 0)."""
    total = 0.0
    for process in processes:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


@dataclass(frozen=True)
class CpuSnapshot:
    wall: float
    server: float | None  # None: not known (a server running elsewhere that reports no CPU)
    client: float


def snapshot(server_cpu: Callable[[], float | None], client: Tree) -> CpuSnapshot:
    return CpuSnapshot(time.time(), server_cpu(), cpu_seconds(client()))


@dataclass(frozen=True)
class CpuUsage:
    """CPU used over a window: seconds by the server tree and by the client, and the window's length."""

    wall_seconds: float
    server_seconds: float | None
    client_seconds: float

    @classmethod
    def between(cls, start: CpuSnapshot, end: CpuSnapshot) -> CpuUsage:
        server = None if start.server is None or end.server is None else end.server - start.server
        return cls(end.wall - start.wall, server, end.client - start.client)

    def client_percent(self, cores: int) -> float:
        """The client's CPU as a percentage of the cores it was given (100 = all of them busy)."""
        return 100.0 * self.client_seconds / (self.wall_seconds * cores)
