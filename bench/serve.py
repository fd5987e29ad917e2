"""``bench serve``: one app under its production server in the foreground until SIGINT or SIGTERM."""

from __future__ import annotations

import signal
import threading
from dataclasses import replace
from types import FrameType

from bench.errors import BenchError
from bench.server_configs import server_config
from bench.servers import Server, ServerSpec, free_port


def server_named(name: str, worker_class: str | None) -> str:
    """The config ``bench serve NAME`` starts: a framework stands for its default one, and Flask's
    gunicorn worker class may be chosen with ``--worker-class``."""
    if worker_class is None:
        return name
    if server_config(name).framework != "flask":
        raise BenchError("--worker-class chooses gunicorn's worker for flask only")
    return f"flask-gunicorn-{worker_class}"


def serve(spec: ServerSpec, health_timeout: float = 20.0) -> int:
    """Start ``spec``, print its URL once healthy, and stop every worker on SIGINT/SIGTERM."""
    if spec.port == 0:
        spec = replace(spec, port=free_port(spec.host))
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, request_stop)
    with Server(spec).start(health_timeout) as server:
        print(f"{spec.name} ({spec.model}) serving on {spec.url}  (Ctrl-C to stop)", flush=True)
        while not stop.wait(0.2):
            server.check_alive()
    return 0
