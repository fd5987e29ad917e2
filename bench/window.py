"""One measured window: run the load, discard the warm-up, sample server and client CPU over exactly the
measured seconds, and collect the exact latency record."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from bench.load.runner import LocustRun
from bench.sampling import CpuUsage, snapshot
from bench.servers import RemoteServer, Server


def sleep_until(moment: float, check: Callable[[], None]) -> None:
    """Sleep until the epoch time ``moment``, calling ``check`` every 100 ms (it raises if a process died)."""
    while (remaining := moment - time.time()) > 0:
        time.sleep(min(remaining, 0.1))
        check()


def measure_window(
    server: Server | RemoteServer, load: LocustRun, warmup: float, duration: float
) -> tuple[float, CpuUsage, dict[str, Any]]:
    """Run the load; sample server and client CPU exactly over the measured window; stop the load.

    Returns the load's start time, the CPU used in the window, and the latency record.
    """
    try:
        t0 = load.start()
        sleep_until(t0 + warmup, server.check_alive)
        start = snapshot(server.cpu_seconds, load.tree, server.cpus)
        sleep_until(t0 + warmup + duration, server.check_alive)
        end = snapshot(server.cpu_seconds, load.tree, server.cpus)
        latency = load.finish(timeout=warmup + duration + 60)
    finally:
        load.stop()
    server.check_alive()
    return t0, CpuUsage.between(start, end), latency
