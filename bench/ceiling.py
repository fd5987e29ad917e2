"""``bench ceiling``: the load generator's own limit on the client CPUs, against the null server.

Measured for keep-alive and for a new connection per request. A framework whose throughput comes close
to this ceiling is measuring the client, not itself.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.config import BenchConfig
from bench.load.runner import LoadSpec, LocustRun
from bench.servers import Server, ServerSpec, free_port
from bench.window import measure_window

MODES = {"keepalive_rps": False, "new_connection_rps": True}


def measure_one(config: BenchConfig, user_class: str, new_connection: bool, out: Path) -> dict[str, float]:
    """Throughput and client CPU of ``user_class`` against the null server, in one short run."""
    out.mkdir(parents=True, exist_ok=True)
    spec = ServerSpec("null", host=config.host, port=free_port(config.host), cpus=tuple(config.server_cpus))
    load = LocustRun(
        LoadSpec(
            url=spec.url,
            endpoint="get",
            user_class=user_class,
            users=config.users,
            warmup=config.ceiling_warmup,
            duration=config.ceiling_duration,
            cpus=tuple(config.client_cpus),
            out_dir=out,
            new_connection=new_connection,
            local_workers=config.locust_workers,
        )
    )
    with (out / "server.log").open("wb") as log, Server(spec, log) as server:
        server.start(config.health_timeout)
        _, usage, latency = measure_window(server, load, config.ceiling_warmup, config.ceiling_duration)
    return {
        "rps": latency["requests"] / config.ceiling_duration,
        "failures": latency["failures"],
        "client_cpu_percent": round(usage.client_percent(len(config.client_cpus)), 1),
    }


def measure(config: BenchConfig, user_classes: list[str], out: Path) -> dict[str, Any]:
    """Per user class, ``keepalive_rps`` and ``new_connection_rps`` (and the client CPU of each)."""
    result: dict[str, Any] = {"measured_utc": datetime.now(UTC).isoformat(timespec="seconds")}
    for user_class in user_classes:
        figures: dict[str, Any] = {}
        for key, new_connection in MODES.items():
            one = measure_one(config, user_class, new_connection, out / f"ceiling-{user_class}-{key.split('_rps')[0]}")
            figures[key] = round(one["rps"], 1)
            figures[key.replace("_rps", "_client_cpu_percent")] = one["client_cpu_percent"]
            figures[key.replace("_rps", "_failures")] = one["failures"]
        result[user_class] = figures
    return result
