"""``bench ceiling``: the load generator's own limit, each user class against the null server."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from bench import ceiling
from bench.config import BenchConfig, check_cpus_here
from bench.errors import BenchError
from bench.results import ClientCeiling

USER_CLASSES = ("lean", "fasthttp")


@dataclass(frozen=True)
class CeilingRequest:
    config: BenchConfig
    user_classes: list[str]


@dataclass(frozen=True)
class Ceiling:
    request: CeilingRequest
    figures: ClientCeiling


def measure(request: CeilingRequest) -> Ceiling:
    """Each user class's keep-alive and new-connection throughput against the null server (nothing stored)."""
    unknown = set(request.user_classes) - set(USER_CLASSES)
    if unknown:
        raise BenchError(f"unknown user class {', '.join(sorted(unknown))}; choose from {', '.join(USER_CLASSES)}")
    check_cpus_here(request.config)
    with tempfile.TemporaryDirectory(prefix="titanic-bench-ceiling-") as scratch:
        return Ceiling(request, ceiling.measure(request.config, request.user_classes, Path(scratch)))
