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
    server: float
    client: float


def snapshot(server: Tree, client: Tree) -> CpuSnapshot:
    return CpuSnapshot(time.time(), cpu_seconds(server()), cpu_seconds(client()))


@dataclass(frozen=True)
class CpuUsage:
    """CPU used over a window: seconds by the server tree and by the client, and the window's length."""

    wall_seconds: float
    server_seconds: float
    client_seconds: float

    @classmethod
    def between(cls, start: CpuSnapshot, end: CpuSnapshot) -> CpuUsage:
        return cls(end.wall - start.wall, end.server - start.server, end.client - start.client)

    def client_percent(self, cores: int) -> float:
        """The client's CPU as a percentage of the cores it was given (100 = all of them busy)."""
        return 100.0 * self.client_seconds / (self.wall_seconds * cores)
