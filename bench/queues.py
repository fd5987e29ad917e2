"""Requests waiting at a server, sampled from its sockets during a window: the connections its listening
socket holds not yet accepted, and its connections with request bytes it has not yet read.

Read with ``ss`` (iproute2), whose filter runs in the kernel: a server that closes every connection leaves
thousands of sockets in TIME_WAIT, too many to parse from /proc/net/tcp several times a second.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
from dataclasses import dataclass, field

from bench.limits import QUEUE_INTERVAL_SECONDS


def available() -> bool:
    return shutil.which("ss") is not None


def waiting(port: int) -> int | None:
    """Connections waiting at ``port`` right now: not yet accepted, or accepted with unread bytes (None: no ss)."""
    try:
        done = subprocess.run(["ss", "-Htn", "state", "listening", "state", "established", f"sport = :{port}"],
                              capture_output=True, text=True, timeout=2, check=False)  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        return None
    total = 0
    for line in done.stdout.splitlines():
        parts = line.split()
        # state Recv-Q Send-Q local peer: a listening socket's Recv-Q is its accept queue, an established one's
        # its unread bytes (a connection with any counts once)
        if len(parts) >= 3 and parts[1].isdigit():
            queued = int(parts[1])
            total += queued if parts[0] == "LISTEN" else min(queued, 1)
    return total


@dataclass
class QueueSampler:
    """Samples ``waiting(port)`` every ``QUEUE_INTERVAL_SECONDS`` from ``start`` to ``stop``; ``mean`` is their mean."""

    port: int
    samples: list[int] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> QueueSampler:
        if available():
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.is_set():
            found = waiting(self.port)
            if found is not None:
                self.samples.append(found)
            self._stop.wait(QUEUE_INTERVAL_SECONDS)

    def stop(self) -> float | None:
        """Stop sampling; the mean number of requests waiting (None: nothing could be sampled)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        return sum(self.samples) / len(self.samples) if self.samples else None
