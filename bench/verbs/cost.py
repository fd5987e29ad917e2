"""``bench cost``: instructions and system calls per request, counted for each config x endpoint x model of the
selection (``bench.cost``), into a results folder of its own (``cost.json``, written after each entry)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.config import BenchConfig
from bench.cost import HASH_SEED, CostSpec, counted
from bench.environment import describe
from bench.results import CostEntry, CostRun, cost_raw, create_run_folder, write_cost
from bench.run import utc_now
from bench.workload import WORKLOADS


@dataclass(frozen=True)
class CostRequest:
    config: BenchConfig  # what it selects: server configs, endpoints, models; where results go
    run_id: str
    warmup: int
    requests: int
    repeats: int


@dataclass(frozen=True)
class CostOutcome:
    folder: Path
    run: CostRun


def specs(request: CostRequest, say: Callable[[str], None]) -> list[CostSpec]:
    """What is counted: every selected config x endpoint it serves x model, less the database endpoints (one
    line says so: counting them would count the database's client, not the request's own work)."""
    config, registry = request.config, request.config.registry
    left_out = [endpoint for endpoint in config.endpoints if WORKLOADS[endpoint].reads_database]
    if left_out:
        say(f"bench cost counts the endpoints that read no database: {', '.join(left_out)} left out")
    return [
        CostSpec(registry.config(server), endpoint, model, request.warmup, request.requests)
        for endpoint in config.endpoints
        if endpoint not in left_out
        for server in config.server_names
        if registry.config(server).answers(endpoint)
        for model in config.model
    ]


def cost(request: CostRequest, say: Callable[[str], None]) -> CostOutcome:
    """Count each spec ``repeats`` times under callgrind and once under strace; the record is rewritten after
    each entry, complete only at the end (an interrupted run keeps what it counted)."""
    counting = specs(request, say)
    folder = create_run_folder(request.config.results_dir, request.run_id)
    started = utc_now()
    environment = describe(request.config.registry)
    entries: list[CostEntry] = []

    def record(complete: bool) -> CostRun:
        run = CostRun(run_id=request.run_id, started_utc=started, complete=complete, warmup=request.warmup,
                      requests=request.requests, repeats=request.repeats, hash_seed=HASH_SEED,
                      environment=environment, entries=entries)  # fmt: skip
        write_cost(folder, run)
        return run

    record(False)
    for number, spec in enumerate(counting, 1):
        say(f"[{number}/{len(counting)}] counting {spec.label}: {request.repeats} x {request.requests} requests "
            "under callgrind, once under strace")  # fmt: skip
        entries.append(counted(spec, request.repeats, cost_raw(folder, spec.label)))
        record(False)
    return CostOutcome(folder, record(True))
