"""``bench worker``: lend this host's CPUs to runs driven from another host, as a Locust worker.

Each scenario of a run starts its own Locust master, which tells its workers to quit when the scenario
ends; so this starts one Locust worker after another, pinned to ``--cpus``, until Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from types import FrameType

from bench import processes
from bench.load.runner import LOCUSTFILE
from bench.servers import pinned

RESTART_PAUSE = 0.5  # seconds between one scenario's worker and the next


def worker_command(master_host: str, master_port: int, cpus: tuple[int, ...]) -> list[str]:
    locust = [
        sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--worker", "--master-host", master_host,
        "--master-port", str(master_port), "--loglevel", "WARNING",
    ]  # fmt: skip
    return pinned(locust, cpus)


def work(master_host: str, master_port: int, cpus: tuple[int, ...], scenarios: int | None = None) -> int:
    """Serve ``scenarios`` scenarios (or until stopped) as a worker of the master at ``master_host``."""
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, request_stop)
    command = worker_command(master_host, master_port, cpus)
    print(f"Locust worker for {master_host}:{master_port} on CPUs {list(cpus) or 'any'} (Ctrl-C to stop)", flush=True)
    served = 0
    while not stop.is_set() and (scenarios is None or served < scenarios):
        worker = subprocess.Popen(command, stdin=subprocess.DEVNULL, start_new_session=True)
        while worker.poll() is None and not stop.is_set():
            time.sleep(0.1)
        if worker.poll() is None:
            processes.stop(processes.tree(worker.pid))
            worker.wait(timeout=processes.GRACE_SECONDS)
            break
        served += 1
        time.sleep(RESTART_PAUSE)
    return 0
