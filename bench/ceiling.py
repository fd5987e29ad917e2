"""``bench ceiling``: the load generator's own limit on the client CPUs, against the null server.

Measured for keep-alive and for a new connection per request. A framework whose throughput comes close
to this ceiling is measuring the client, not itself.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from bench.config import BenchConfig
from bench.load.runner import LoadSpec, LocustRun
from bench.results import CeilingFigures, ClientCeiling, ScenarioFiles
from bench.servers import Server, ServerSpec, free_port
from bench.window import measure_window

MODES = {"keepalive": False, "new_connection": True}  # CeilingFigures' prefixes: a new connection per request?


def measure_one(config: BenchConfig, user_class: str, new_connection: bool, out: Path) -> dict[str, float]:
    """Throughput, failures and client CPU of ``user_class`` against the null server, in one short run."""
    out.mkdir(parents=True, exist_ok=True)
    spec = ServerSpec(
        config.registry.config("null"), host=config.host, port=free_port(config.host), cpus=tuple(config.server_cpus)
    )
    load = LocustRun(
        LoadSpec.of(config, spec.url, "get", out, user_class=user_class, warmup=config.ceiling_warmup,
                    duration=config.ceiling_duration, new_connection=new_connection, remote_workers=0)
    )  # fmt: skip
    with ScenarioFiles.of(out).server_log.open("wb") as log, Server(spec, log) as server:
        server.start(config.health_timeout)
        window, latency = measure_window(server, load, config.ceiling_warmup, config.ceiling_duration)
        usage = window.usage
    return {
        "rps": round(latency.requests / config.ceiling_duration, 1),
        "failures": latency.failures,
        "client_cpu_percent": round(usage.client_percent(len(config.client_cpus)), 1),
    }


def measure(config: BenchConfig, user_classes: list[str], out: Path) -> ClientCeiling:
    """Per user class, keep-alive and a new connection per request (and the client CPU and failures of each)."""
    measured = datetime.now(UTC).isoformat(timespec="seconds")
    figures = {}
    for user_class in user_classes:
        one = {
            mode: measure_one(config, user_class, fresh, out / f"ceiling-{user_class}-{mode}")
            for mode, fresh in MODES.items()
        }
        figures[user_class] = CeilingFigures.model_validate(
            {f"{mode}_{name}": value for mode, values in one.items() for name, value in values.items()}
        )
    return ClientCeiling(measured_utc=measured, user_classes=figures)
