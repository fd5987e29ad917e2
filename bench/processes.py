"""Process trees: find every process a command started, and stop them all (SIGTERM, then SIGKILL)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Iterator

import psutil

from bench.errors import BenchError

GRACE_SECONDS = 5.0


def tree(pid: int | None) -> list[psutil.Process]:
    """The process ``pid`` and every descendant still running (empty if it is gone)."""
    if pid is None:
        return []
    try:
        top = psutil.Process(pid)
        return [top, *top.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def stop(processes: list[psutil.Process], already_signalled: bool = False) -> list[psutil.Process]:
    """Terminate ``processes`` (unless the caller already signalled them), kill what is left after a grace
    period, and return any that still run."""
    if not already_signalled:
        for process in processes:
            with contextlib.suppress(psutil.NoSuchProcess):
                process.terminate()
    _, alive = psutil.wait_procs(processes, timeout=GRACE_SECONDS)
    for process in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()
    _, alive = psutil.wait_procs(alive, timeout=GRACE_SECONDS)
    return list(alive)


def stop_group(process: subprocess.Popen[bytes], signum: signal.Signals, name: str) -> None:
    """Send ``signum`` to the process group ``process`` leads, stop what is left of its tree (SIGKILL after
    the grace period), reap it, and raise if anything still runs."""
    running = tree(process.pid)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signum)
    alive = stop(running, already_signalled=True)
    process.wait(timeout=GRACE_SECONDS)
    if alive:
        raise BenchError(f"{name} left processes running: {[p.pid for p in alive]}")


@contextlib.contextmanager
def confined_to(cpus: list[int]) -> Iterator[None]:
    """Keep this process (and the threads it runs, such as the progress bar) on ``cpus`` for a while,
    so the harness itself never takes time from the server's CPUs."""
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, cpus)
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)
