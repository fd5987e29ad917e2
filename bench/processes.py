"""Process trees: find every process a command started, and stop them all (SIGTERM, then SIGKILL)."""

from __future__ import annotations

import contextlib

import psutil

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
