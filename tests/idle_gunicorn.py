"""A gunicorn config for tests: the worker sleeps before handling each request, so it idles on purpose
(a server the load cannot keep busy). Loaded with ``gunicorn -c python:tests.idle_gunicorn``."""

from __future__ import annotations

import time
from typing import Any

IDLE_SECONDS = 0.002  # several times the CPU a request costs: the worker is busy well under half the time


def pre_request(worker: Any, request: Any) -> None:
    time.sleep(IDLE_SECONDS)
