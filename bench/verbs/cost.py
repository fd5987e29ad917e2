"""``bench cost``: instructions and system calls per request, counted for each config x endpoint x model of the
selection (``bench.cost``; each version set of ``--vary`` a config of its own), into a results folder of its own
(``cost.json``, written after each entry), and its report."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.config import BenchConfig, validate_config
from bench.cost import HASH_SEED, CostSpec, counted
from bench.environment import describe
from bench.errors import BenchError
from bench.report.cost import build_cost_report
from bench.results import CostEntry, CostRun, CostSelection, cost_raw, create_run_folder, write_cost
from bench.run import utc_now
from bench.verbs.run import prepared
from bench.workload import WORKLOADS


@dataclass(frozen=True)
class CostRequest:
    config: BenchConfig  # what it selects: server configs, endpoints, models; where results go
    run_id: str
    warmup: int
    requests: int
    repeats: int
    write_report: bool = True


@dataclass(frozen=True)
class CostOutcome:
    folder: Path
    run: CostRun
    report: Path | None  # written where the run completed and one was asked for


def specs(config: BenchConfig, request: CostRequest) -> list[CostSpec]:
    """What is counted: every selected config (each version set's, where versions vary) x endpoint it serves x
    model."""
    registry = config.registry
    return [
        CostSpec(registry.config(server), endpoint, model, request.warmup, request.requests)
        for endpoint in config.endpoints
        for server in config.server_names
        if registry.config(server).answers(endpoint)
        for model in config.model
    ]


def cost(request: CostRequest, say: Callable[[str], None]) -> CostOutcome:
    """Count each spec ``repeats`` times under callgrind and once under strace; the record is rewritten after
    each entry, complete only at the end (an interrupted run keeps what it counted). The database endpoints are
    left out (one line says so): counting them would count the database's client, not the request's own work."""
    config = request.config
    if left_out := [endpoint for endpoint in config.endpoints if WORKLOADS[endpoint].reads_database]:
        say(f"bench cost counts the endpoints that read no database: {', '.join(left_out)} left out")
        kept = [endpoint for endpoint in config.endpoints if endpoint not in left_out]
        if not kept:
            raise BenchError("nothing to count: name an endpoint that reads no database (--endpoints get,put)")
        config = validate_config({**config.to_json_dict(), "endpoints": kept})
    config = prepared(config, say)  # each version set installed
    counting = specs(config, request)
    folder = create_run_folder(config.results_dir, request.run_id)
    started = utc_now()
    environment = describe(config.registry)
    selection = CostSelection(servers=config.base_server_names, endpoints=config.endpoints, models=config.model,
                              vary=config.vary)  # fmt: skip
    entries: list[CostEntry] = []

    def record(complete: bool) -> CostRun:
        run = CostRun(run_id=request.run_id, started_utc=started, complete=complete, selection=selection,
                      warmup=request.warmup, requests=request.requests, repeats=request.repeats,
                      hash_seed=HASH_SEED, environment=environment, entries=entries)  # fmt: skip
        write_cost(folder, run)
        return run

    record(False)
    for number, spec in enumerate(counting, 1):
        say(f"[{number}/{len(counting)}] counting {spec.label}: {request.repeats} x {request.requests} requests "
            "under callgrind, once under strace")  # fmt: skip
        entries.append(counted(spec, request.repeats, cost_raw(folder, spec.label)))
        record(False)
    run = record(True)
    report = build_cost_report(folder, config.reports_dir) if request.write_report else None
    return CostOutcome(folder, run, report)
