"""A plan of scenarios (``bench run``'s matrix, or a sweep's rates), in rounds, measured into a results folder.

A round measures every variant (server config x model x workers x close style x endpoint) once, in a random
order drawn from the config's ``order_seed`` (recorded, so ``reproduce`` runs the same order). Before the
first round the stability probe runs on the server CPUs; over the run the CPUs' steal is watched (both go
to the manifest's ``machine``). With ``precision`` set, rounds are added until every headline ratio's 95%
half-width is at most that share of the ratio, or ``max_minutes`` runs out.

With ``--vary``, each version set's environment (``bench.versions``) is recorded in the manifest; its
configs run from it. A server config from a ``--servers-file`` is first held to a few requests of the
contract (``bench.verify``).
A scenario: start the server (pinned), wait for /health, verify one answer, warm up (discarded),
measure (the server's CPU and the hypervisor's steal of it too, for its busy share), with the wrk
cross-check let wrk drive the same server process as well (before Locust in even repeats, after it in
odd ones), stop the server and check no process is left, then write its raw files and figures.
"""

from __future__ import annotations

import math
import random
import signal
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import IO, Any

import psutil

from bench import ceiling as client_ceiling
from bench import engines, environment, machine, processes, versions
from bench.analysis.claim import precision_reached, verdicts
from bench.atomic import write_json_atomically
from bench.closing import CloseStyle
from bench.config import BenchConfig
from bench.database import EmbeddedDatabase, UnavailableDatabase
from bench.engines import Database, ExistingDatabase
from bench.errors import BenchError
from bench.latency import LatencyRecord, decode, percentiles_ms
from bench.limits import CLIENT_BOUND_PERCENT, Evidence, limit
from bench.load import wrk
from bench.load.runner import LoadSpec, LocustRun
from bench.results import (
    MAX_FAILURE_RATIO,
    NEAR_CLIENT_LIMIT,
    SCHEMA_VERSION,
    CeilingFigures,
    Manifest,
    PrecisionRecord,
    ProcessMemory,
    Scenario,
    ScenarioFiles,
    ServerMemory,
    Summary,
    WrkFigures,
    create_run_folder,
    database_log,
    raw_dir,
    raw_root,
    under_driven,
    write_manifest,
    write_summary,
)
from bench.sampling import CpuUsage
from bench.server_configs import Engine
from bench.servers import RemoteServer, Server, ServerSpec, free_port
from bench.verify import verify, verify_user_configs
from bench.window import measure_window
from bench.workload import WORKLOADS

SCENARIO_OVERHEAD_SECONDS = 4.0  # server start, Locust start, stop: for the progress estimate only


class Interrupted(Exception):
    """SIGINT or SIGTERM arrived during a run."""


@dataclass(frozen=True)
class ScenarioKey:
    """What one scenario measures; ``target_rps`` set means open loop at that arrival rate."""

    server: str  # a named server config
    endpoint: str
    repeat: int
    model: str = "rule"
    workers: int = 1
    target_rps: float | None = None
    load_share: float | None = None  # in a sweep: target_rps as a share of the variant's closed-loop rps
    close_style: CloseStyle | None = None  # where the server closes each connection: how the client closes
    framework: str = field(kw_only=True)  # the config's app family, as the registry knows it

    @property
    def id(self) -> str:
        rate = f"-at{self.target_rps:.0f}rps" if self.target_rps else ""
        share = f"-{round(self.load_share * 100)}pct" if self.load_share else ""
        close = f"-{self.close_style}" if self.close_style else ""
        return f"r{self.repeat}-{self.endpoint}-{self.server}-{self.model}-w{self.workers}{close}{rate}{share}"

    @property
    def wrk_first(self) -> bool:
        """With the wrk cross-check, each server process is measured by both drivers, in alternating order
        from one repeat to the next, so neither always meets a fresher process."""
        return self.repeat % 2 == 0


CEILING_KEY = ScenarioKey("null", "client ceiling", 0, framework="null")


def round_plan(config: BenchConfig, number: int) -> list[ScenarioKey]:
    """Round ``number``: every variant and endpoint once, shuffled by a generator seeded from the config's
    order seed and the round's number (no seed: the fixed order of results made before rounds were drawn)."""
    registry = config.registry
    keys = [
        ScenarioKey(
            server,
            endpoint,
            number,
            model,
            own_workers(config, server, workers),
            config.arrival_rate,
            close_style=close,
            framework=registry.family(server),
        )
        for endpoint in config.endpoints
        for model in config.model
        for workers in config.workers
        for server in config.server_names
        if registry.config(server).answers(endpoint)
        and (registry.config(server).workers_per_cpu is None or workers == config.workers[0])
        for close in config.close_styles(server)
    ]
    if config.order_seed is not None:
        random.Random(f"{config.order_seed}:{number}").shuffle(keys)
    return keys


def own_workers(config: BenchConfig, server: str, workers: int) -> int:
    """A scenario's worker count: the run's, or the config's own per server CPU where it sets one (the cited setups:
    three per core, as the chart's Flask had them), planned once whatever the run's counts."""
    per_cpu = config.registry.config(server).workers_per_cpu
    return workers if per_cpu is None else per_cpu * len(set(config.server_cpus))


def schedule(config: BenchConfig) -> list[ScenarioKey]:
    """``repeats`` rounds, so drift hits every variant alike and each round pairs them."""
    return [key for number in range(1, config.repeats + 1) for key in round_plan(config, number)]


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def default_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


def figures(
    key: ScenarioKey,
    latency: LatencyRecord,
    usage: CpuUsage,
    client_cores: int,
    *,
    server_cores: int | None,
    client_ceiling_rps: float | None,
    users: int | None = None,
    database: DatabaseCores | None = None,
    reads: int | None = None,
    server_queue: float | None = None,
    memory: Sequence[tuple[int, int]] = (),  # each server process's USS and PSS at the window's end
) -> Scenario:
    """A scenario's summary figures from its raw latency record, its measured CPU and the client's ceiling, and
    what limited it (``bench.limits``) from the evidence of its window.

    ``server_cores`` is None for a server running elsewhere: its busy share is then not known."""
    requests, failures = latency.requests, latency.failures
    client_percent = usage.client_percent(client_cores)
    busy = usage.server_busy(server_cores) if server_cores else None
    steal = usage.server_steal(server_cores) if server_cores else None
    workers = latency.workers
    busiest_worker = max((w.cpu_percent or 0.0 for w in workers), default=0.0)  # each a single-core process
    rps = requests / latency.duration
    histogram = decode(latency.histogram)
    latencies = percentiles_ms(histogram)
    # Little's law: the requests the client had outstanding on average, as a share of its users
    outstanding = rps * histogram.get_mean_value() / 1e6 / users if users and requests else None
    database_busy = usage.busy(usage.database_seconds, database.own) if database else None
    shared_busy = (
        usage.busy(usage.client_seconds + usage.database_seconds, database.shared)
        if database and database.shared and usage.database_seconds is not None
        else None
    )
    workload = WORKLOADS.get(key.endpoint)
    limited_by = limit(
        Evidence(
            server_busy=busy, client_percent=max(client_percent, busiest_worker), database_busy=database_busy,
            shared_busy=shared_busy, outstanding=outstanding, reads_database=bool(workload and workload.reads_database),
            lazy_close=key.close_style == "lazy", open_loop=key.target_rps is not None,
        )
    )  # fmt: skip
    return scenario_of(
        key,
        requests=requests,
        failures=failures,
        rps=rps,
        p50_ms=latencies["p50_ms"],
        p90_ms=latencies["p90_ms"],
        p99_ms=latencies["p99_ms"],
        p999_ms=latencies["p999_ms"],
        server_cpu_us_per_request=per_request_us(usage.server_seconds, requests),
        server_busy=busy,
        server_steal=steal,
        under_driven=key.target_rps is None and under_driven(busy, limited_by),
        client_cpu_percent=round(client_percent, 1),
        client_bound=max(client_percent, busiest_worker) >= CLIENT_BOUND_PERCENT,
        client_workers=workers or None,
        client_ceiling_rps=client_ceiling_rps,
        near_client_limit=client_ceiling_rps is not None and rps > NEAR_CLIENT_LIMIT * client_ceiling_rps,
        valid=requests > 0 and failures <= MAX_FAILURE_RATIO * requests,
        limited_by=limited_by,
        database_busy=database_busy,
        database_cpu_us_per_request=per_request_us(usage.database_seconds, requests) if database else None,
        queries_per_request=reads / requests if reads is not None and requests else None,
        outstanding=outstanding,
        server_queue=server_queue,
        server_memory=memory_of(memory, key.workers),
    )


def per_request_us(seconds: float | None, requests: int) -> float | None:
    return seconds / requests * 1e6 if requests and seconds is not None else None


@dataclass(frozen=True)
class DatabaseCores:
    """The database's CPUs: its own count, and the count of its and the client's together where they share any
    (0: they share none)."""

    own: int
    shared: int

    @classmethod
    def of(cls, database_cpus: list[int], client_cpus: list[int]) -> DatabaseCores:
        together = set(database_cpus) | set(client_cpus)
        return cls(len(database_cpus), len(together) if set(database_cpus) & set(client_cpus) else 0)


def memory_of(measured: Sequence[tuple[int, int]], workers: int) -> ServerMemory | None:
    processes = [ProcessMemory(uss_bytes=uss, pss_bytes=pss) for uss, pss in measured]
    return ServerMemory(processes=processes, workers=workers) if processes else None


def scenario_of(key: ScenarioKey, **measured: Any) -> Scenario:
    """The one constructor of a ``Scenario``: what it is from its key, what it measured from the arguments."""
    return Scenario(
        id=key.id, framework=key.framework, server=key.server, workers=key.workers, endpoint=key.endpoint,
        model=key.model, repeat=key.repeat, close_style=key.close_style, target_rps=key.target_rps,
        load_share=key.load_share, **measured,
    )  # fmt: skip


def failed_scenario(key: ScenarioKey, reason: str) -> Scenario:
    return scenario_of(
        key, requests=0, failures=0, rps=0.0, p50_ms=None, p90_ms=None, p99_ms=None, p999_ms=None,
        server_cpu_us_per_request=None, server_busy=None, server_steal=None, under_driven=False,
        client_cpu_percent=0.0, client_bound=False, client_ceiling_rps=None, near_client_limit=False, valid=False,
        error=reason,
    )  # fmt: skip


def measure(
    config: BenchConfig,
    key: ScenarioKey,
    out: Path,
    commands: dict[str, list[str]],
    ceiling: CeilingFigures | None,
    *,
    store: Database | None = None,
) -> Scenario:
    """Run one scenario end to end; raise BenchError if it could not be measured. ``store`` is the run's
    passenger database, given to the app where its endpoint reads one."""
    target = config.targets.get(key.server)
    port = 0 if target else config.port or free_port(config.host)
    reads = WORKLOADS[key.endpoint].reads_database
    if reads and store is None:
        raise BenchError("it reads the passenger database, and this run has none")
    reading = store if reads else None
    if reading:
        reading.check_alive()  # a database that stopped (or never started) fails each scenario that reads it, fast
    spec = ServerSpec(
        config.registry.config(key.server), model=key.model, host=config.host, port=port, workers=key.workers,
        cpus=tuple(config.server_cpus), database_url=reading.url if reading else None,
    )  # fmt: skip
    url = target or spec.url
    load = LocustRun(
        LoadSpec.of(config, url, key.endpoint, out, user_class=config.user_class, warmup=config.warmup,
                    duration=config.duration, half_close=key.close_style == "prompt", arrival_rate=key.target_rps,
                    remote_workers=config.remote_workers)
    )  # fmt: skip
    commands.update(server=["target", url] if target else spec.command(), locust=load.spec.command())
    with ScenarioFiles.of(out).server_log.open("wb") as log, served(spec, log, target, config) as server:
        verify(url, key.model, key.endpoint, reading.url if reading else None)
        crosschecked = None

        def crosscheck() -> WrkFigures:
            measured = wrk.crosscheck(
                url, key.endpoint, connections=config.users, warmup=config.warmup, duration=config.duration,
                cpus=tuple(config.client_cpus), out_dir=out, server=server,
            )  # fmt: skip
            server.check_alive()
            return measured

        with_wrk = config.crosscheck == "wrk" and wrk.available() and key.target_rps is None
        if with_wrk and key.wrk_first:
            crosschecked = crosscheck()
        window, latency = measure_window(server, load, config.warmup, config.duration, database=reading,
                                         queue_port=None if target else port)  # fmt: skip
        if latency.requests == 0 and latency.failures == 0:  # no figure at all: the load never reached the window
            raise BenchError(f"no request was answered or failed in the {config.duration:g} s measured")
        if with_wrk and not key.wrk_first:
            crosschecked = crosscheck()
        server_cores = server.cores
        if reading:
            reading.check_alive()
    write_json_atomically(
        ScenarioFiles.of(out).measurement,
        {"t0": window.t0, "cpu": asdict(window.usage), "server_cores": server_cores, "reads": window.reads,
         "server_queue": window.server_queue, "memory": window.memory, "commands": commands},
    )  # fmt: skip
    client_ceiling = ceiling.rps(spec.keeps_connections_alive) if ceiling is not None else None
    # the database's own CPUs, where it was pinned here (an existing server's are not known)
    cores = DatabaseCores.of(list(reading.cpus), config.client_cpus) if reading and reading.cpus else None
    scenario = figures(
        key, latency, window.usage, len(config.client_cpus), server_cores=server_cores,
        client_ceiling_rps=client_ceiling, users=config.users, database=cores, reads=window.reads,
        server_queue=window.server_queue, memory=window.memory,
    )  # fmt: skip
    return scenario.model_copy(update={"crosscheck": crosschecked})


@contextmanager
def served(
    spec: ServerSpec, log: IO[bytes], target: str | None, config: BenchConfig
) -> Iterator[Server | RemoteServer]:
    """The server of a scenario: started here and stopped after, or already running elsewhere (a target)."""
    if target:
        yield RemoteServer(spec.name, target, config.server_stats.get(spec.name))
        return
    with Server(spec, log) as server:
        server.start(config.health_timeout)
        yield server


@contextmanager
def interrupts_raised() -> Iterator[None]:
    """Turn SIGINT and SIGTERM into ``Interrupted`` for the duration, so cleanup always runs."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        for ignored in (signal.SIGINT, signal.SIGTERM):  # once is enough: let the cleanup finish
            signal.signal(ignored, signal.SIG_IGN)
        raise Interrupted(signal.Signals(signum).name)

    previous = {signum: signal.signal(signum, interrupt) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@dataclass
class Finished:
    """Where a run wrote its results, and whether a signal cut it short (its summary says whether it is complete)."""

    folder: Path
    interrupted: bool


# Progress: (scenarios done, scenarios planned, the key, its scenario once measured; None as it starts)
OnScenario = Callable[[int, int, ScenarioKey, Scenario | None], None]


def run(
    config: BenchConfig,
    run_id: str | None = None,
    command_line: list[str] | None = None,
    on_scenario: OnScenario | None = None,
    plan: list[ScenarioKey] | None = None,
) -> Finished:
    """Run ``plan`` (by default the config's whole matrix) into a new results folder.

    ``on_scenario`` reports progress.
    """
    run_id = run_id or default_run_id()
    registry = config.registry
    verify_user_configs(config)  # a user's server config must keep the contract before anything is measured
    steadiness = machine.before_run(config.server_cpus) if not config.targets else None
    folder = create_run_folder(config.results_dir, run_id)
    manifest = Manifest(
        schema_version=SCHEMA_VERSION, run_id=run_id, started_utc=utc_now(), command_line=command_line,
        config=config, environment=environment.describe(registry),
        cpu_sets={"server": config.server_cpus, "client": config.client_cpus}, machine=steadiness,
        # each version set's environment, every distribution in it (installed before the run: cached)
        version_sets=[versions.ensure(s, registry.install_list) for s in registry.version_sets_of(config.server_names)],
    )  # fmt: skip
    write_manifest(folder, manifest)
    plan = list(plan or schedule(config))
    scenarios: list[Scenario] = []
    interrupted = False
    ceiling: CeilingFigures | None = None
    watch = machine.Watch(config.server_cpus, config.client_cpus)
    started = time.monotonic()
    before = {child.pid for child in psutil.Process().children(recursive=True)}
    with interrupts_raised(), processes.confined_to(config.client_cpus), ExitStack() as stack:
        try:
            if on_scenario:
                on_scenario(0, len(plan), CEILING_KEY, None)
            ceiling = measure_ceiling(config, folder, manifest)
            stores = {engine: start_database(config, engine, folder, manifest, stack) for engine in config.engines}
            index = 0
            while index < len(plan):
                key = plan[index]
                if on_scenario:
                    on_scenario(index, len(plan), key, None)
                scenario = measured_or_failed(
                    config,
                    key,
                    folder,
                    manifest,
                    ceiling=ceiling,
                    store=stores.get(config.registry.config(key.server).engine),
                )
                scenarios.append(scenario)
                record_summary(folder, run_id, scenarios, complete=False, config=config)
                if on_scenario:
                    on_scenario(index + 1, len(plan), key, scenario)
                index += 1
                if config.precision is not None and index == len(plan):
                    more = more_rounds(config, scenarios, time.monotonic() - started)
                    manifest.precision = more.record
                    plan += more.keys
        except Interrupted:
            interrupted = True
        finally:
            stack.close()
            stop_children(before)
    complete = (
        not interrupted
        and (ceiling is not None or config.remote_workers > 0)
        and len(scenarios) == len(plan)
        and all(s.error is None for s in scenarios)
    )
    record_summary(folder, run_id, scenarios, complete=complete, config=config)
    if steadiness:
        manifest.machine = machine.after_run(steadiness, watch)
    manifest.finished_utc, manifest.interrupted = utc_now(), interrupted
    write_manifest(folder, manifest)
    return Finished(folder, interrupted)


def measured_or_failed(
    config: BenchConfig,
    key: ScenarioKey,
    folder: Path,
    manifest: Manifest,
    *,
    ceiling: CeilingFigures | None,
    store: Database | None,
) -> Scenario:
    """One scenario measured, or failed with the reason; its commands recorded in the manifest."""
    commands: dict[str, list[str]] = {}
    try:
        scenario = measure(config, key, raw_dir(folder, key.id), commands, ceiling, store=store)
    except BenchError as error:
        scenario = failed_scenario(key, str(error))
    manifest.commands.setdefault(f"{key.server}-w{key.workers}-{key.endpoint}", commands)
    return scenario


def start_database(config: BenchConfig, engine: Engine, folder: Path, manifest: Manifest, stack: ExitStack) -> Database:
    """The run's passenger database on ``engine``, started (the embedded one pinned, its log in the raw folder),
    loaded, checked and recorded in the manifest, and stopped with ``stack``; an ``UnavailableDatabase`` if it could
    not be (the manifest says why, and each scenario that reads it fails with that reason). ``--database-url``
    names an existing PostgreSQL."""
    try:
        if config.database_url and engine == "postgresql":
            store: EmbeddedDatabase | ExistingDatabase = ExistingDatabase(config.database_url)
        else:
            log = stack.enter_context(database_log(folder, engine).open("wb"))
            store = engines.embedded(engine, tuple(config.database_cpu_set), free_port("127.0.0.1"), log=log)
        stack.enter_context(store.start())
        manifest.databases[engine] = store.record()
    except BenchError as error:
        manifest.database_errors[engine] = str(error)
        return UnavailableDatabase(f"the passenger database could not be started: {error}")
    finally:
        write_manifest(folder, manifest)
    return store


def measure_ceiling(config: BenchConfig, folder: Path, manifest: Manifest) -> CeilingFigures | None:
    """The client's ceiling for the run's user class, recorded in the manifest (or why it was not measured)."""
    try:
        if config.remote_workers:
            raise BenchError("not measured: the load comes from remote workers, the null server is local")
        measured = client_ceiling.measure(config, [config.user_class], raw_root(folder))
        manifest.client_ceiling = measured
        return measured.user_classes[config.user_class]
    except BenchError as error:
        manifest.client_ceiling, manifest.client_ceiling_error = None, str(error)
        return None
    finally:
        write_manifest(folder, manifest)


def stop_children(before: set[int]) -> None:
    """The last guard: no process this run started outlives it, whatever interrupted it; those that ran before
    it (``before``: a caller's own, such as a test session's database) are not its to stop."""
    processes.stop([child for child in psutil.Process().children(recursive=True) if child.pid not in before])


@dataclass(frozen=True)
class MoreRounds:
    """What a precision run does after a round: the next round's keys (none: stop), and why, for the manifest."""

    keys: list[ScenarioKey]
    record: PrecisionRecord


def more_rounds(config: BenchConfig, scenarios: list[Scenario], elapsed: float) -> MoreRounds:
    """After the last planned round: stop when every headline ratio is as precise as asked (never on the
    verdict), or when another round would end after ``max_minutes``; otherwise plan one more round."""
    assert config.precision is not None
    rounds = max(s.repeat for s in scenarios)
    reached = precision_reached(scenarios, config.registry)
    record = PrecisionRecord(
        target=config.precision, reached=reached, rounds=rounds, max_minutes=config.max_minutes, stopped=None
    )
    if reached is not None and reached <= config.precision:
        return MoreRounds([], record.model_copy(update={"stopped": "precise"}))
    if elapsed * (rounds + 1) / rounds > config.max_minutes * 60:
        return MoreRounds([], record.model_copy(update={"stopped": "out of time"}))
    return MoreRounds(round_plan(config, rounds + 1), record)


def record_summary(folder: Path, run_id: str, scenarios: list[Scenario], complete: bool, config: BenchConfig) -> None:
    """The scenarios so far and the claim's verdicts on them, in summary.json."""
    verdict_list = verdicts(scenarios, config.claim_margin, config.registry)
    summary = Summary(
        schema_version=SCHEMA_VERSION, run_id=run_id, complete=complete, scenarios=scenarios, verdicts=verdict_list
    )
    write_summary(folder, summary)


def estimated_seconds(config: BenchConfig, scenarios: int) -> float:
    crosscheck = config.warmup + config.duration if config.crosscheck == "wrk" else 0.0
    per_scenario = config.warmup + math.ceil(config.duration) + crosscheck + SCENARIO_OVERHEAD_SECONDS
    return scenarios * per_scenario
