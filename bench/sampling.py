"""CPU time of process trees, read with psutil, and the hypervisor's steal time of CPUs, read from /proc/stat:
a measured window becomes CPU per request and busy shares."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path

import psutil

Tree = Callable[[], list[psutil.Process]]
PROC_STAT = Path("/proc/stat")
STEAL_FIELD = 8  # in a "cpuN user nice system idle iowait irq softirq steal ..." line


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


def memory(processes: list[psutil.Process]) -> list[tuple[int, int]]:
    """Each process's unique and proportional set size in bytes (USS, PSS: Linux's smaps), in order; one that
    has exited is left out."""
    found = []
    for process in processes:
        try:
            info = process.memory_full_info()
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            continue
        found.append((int(info.uss), int(getattr(info, "pss", info.uss))))
    return found


def steal_seconds(cpus: Collection[int]) -> float:
    """Seconds the hypervisor has so far withheld ``cpus`` while they had work to run (0 where not known).

    A virtual CPU is charged steal time only while it is runnable but not running, so a server whose CPUs
    were stolen was not waiting for its client then."""
    if not cpus:
        return 0.0
    try:
        lines = PROC_STAT.read_text().splitlines()
    except OSError:
        return 0.0
    ticks = 0
    for line in lines:
        name, *values = line.split()
        if name.startswith("cpu") and name[3:].isdigit() and int(name[3:]) in cpus and len(values) >= STEAL_FIELD:
            ticks += int(values[STEAL_FIELD - 1])
    return ticks / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class CpuSnapshot:
    wall: float
    server: float | None  # None: not known (a server running elsewhere that reports no CPU)
    client: float
    server_steal: float  # steal seconds of the server's CPUs so far
    database: float | None = None  # None: no database, or one whose CPU is not known here


def snapshot(
    server_cpu: Callable[[], float | None],
    client: Tree,
    server_cpus: Collection[int],
    database_cpu: Callable[[], float | None] | None = None,
) -> CpuSnapshot:
    database = database_cpu() if database_cpu is not None else None
    return CpuSnapshot(time.time(), server_cpu(), cpu_seconds(client()), steal_seconds(server_cpus), database)


@dataclass(frozen=True)
class CpuUsage:
    """CPU used over a window: seconds by the server tree, by the client and by the database tree, the window's
    length, and the seconds the hypervisor stole from the server's CPUs in it."""

    wall_seconds: float
    server_seconds: float | None
    client_seconds: float
    server_steal_seconds: float = 0.0
    database_seconds: float | None = None

    @classmethod
    def between(cls, start: CpuSnapshot, end: CpuSnapshot) -> CpuUsage:
        server = None if start.server is None or end.server is None else end.server - start.server
        database = None if start.database is None or end.database is None else end.database - start.database
        return cls(end.wall - start.wall, server, end.client - start.client, end.server_steal - start.server_steal,
                   database)  # fmt: skip

    def busy(self, seconds: float | None, cores: int) -> float | None:
        """A tree's CPU seconds as a share of ``cores`` over the window (no steal is known for other CPUs)."""
        return None if seconds is None or not cores else seconds / (self.wall_seconds * cores)

    def server_busy(self, cores: int) -> float | None:
        """The share of the CPU time the server's ``cores`` had in the window (less what the hypervisor stole)
        that its process tree used: 1.0 when it ran whenever it could."""
        if self.server_seconds is None:
            return None
        available = self.wall_seconds * cores - self.server_steal_seconds
        return self.server_seconds / available if available > 0 else None

    def server_steal(self, cores: int) -> float:
        """The share of the server CPUs' window the hypervisor stole."""
        return self.server_steal_seconds / (self.wall_seconds * cores)

    def client_percent(self, cores: int) -> float:
        """The client's CPU as a percentage of the cores it was given (100 = all of them busy)."""
        return 100.0 * self.client_seconds / (self.wall_seconds * cores)
