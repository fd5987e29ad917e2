"""The results folder: its records (the summary's scenarios and verdicts, the manifest and what it holds), their
schema and migrations, checked loading and writing. Only this module names a file in it.

results/<run-id>/
    manifest.json     schema_version, when, where, what versions, exact commands, effective config (``Manifest``)
    summary.json      schema_version, run_id, complete, scenarios (one per server config x model x workers
                      x close style x endpoint x repeat), verdicts

    raw/<scenario>/   Locust's own files, the exact latency histogram, the server's log, the measured window
                      (``ScenarioFiles``)
    raw/database.log  the embedded PostgreSQL's log, where the run read the database (raw/mariadb.log: MariaDB's)

A cost run (``bench cost``) holds ``cost.json`` instead (``CostRun``, its own schema) and raw/ with callgrind's
profiles and strace's tables.

Older schema versions are migrated on load (``update_summary_to_N``, ``update_manifest_to_N``), never rewritten.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from bench.atomic import write_json_atomically
from bench.closing import CloseStyle
from bench.config import BenchConfig
from bench.errors import BenchError
from bench.latency import WorkerShare
from bench.limits import LOWER_BOUNDS, MIN_SERVER_BUSY, Evidence, Limit, limit
from bench.registry import BUILT_IN
from bench.sampling import CpuUsage
from bench.stats import median
from bench.versions import InstalledSet

# 2: server_busy, under_driven and close_style per scenario; close_style in the config.
# 3: verdicts as records judged against the claim's band, with the rule they were judged by; the client
#    ceiling as {"measured_utc", "user_classes"}; the config's claim_margin, order_seed and precision.
# 4: each scenario's limit (bench.limits) and its evidence: the database's busy share and CPU per request,
#    queries per request, requests outstanding and waiting at the server; the manifest's database.
# 5: each scenario's server memory (USS and PSS of every process of its tree at the window's end).
# 6: the manifest's databases by engine (databases, database_errors): a run may read PostgreSQL and MariaDB.
SCHEMA_VERSION = 6
MANIFEST = "manifest.json"
SUMMARY = "summary.json"
REPRODUCTION = "reproduction.json"
BISECTION = "bisect.json"
RAW = "raw"
MEASUREMENT = "measurement.json"  # in raw/<scenario>/: the CPU window, the database's reads, the commands
SERVER_LOG = "server.log"  # in raw/<scenario>/
DATABASE_LOG = "database.log"  # in raw/: the embedded PostgreSQL's log over the run (MariaDB's: mariadb.log)
COST = "cost.json"
# cost.json's own schema: 2 records what was selected (the configs asked for, endpoints, models, versions varied),
# so a cost run can be counted again (bench reproduce) and a bisection's steps say what they compared.
COST_SCHEMA_VERSION = 2
RUN_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


# What the flags of a scenario mean, defined once (what limited it: bench.limits).
NEAR_CLIENT_LIMIT = 0.70  # near_client_limit: rps above this share of the client's ceiling (null server)
MAX_FAILURE_RATIO = 0.001  # valid: at most this share of requests failed
MIB, GIB = 2**20, 2**30


def under_driven(server_busy: float | None, limited_by: Limit = "client") -> bool:
    """A saturation measurement whose server was not kept busy by its client (unknown busy share: not flagged).
    A server that idled waiting on its database is not: that is its own design, or the database's limit."""
    return server_busy is not None and server_busy < MIN_SERVER_BUSY and limited_by == "client"


class Variant(NamedTuple):
    """What was served: a named server config, the model it served, its worker processes, and how the client
    closed connections where the server closes each one (None where connections are kept alive)."""

    server: str
    model: str
    workers: int
    close_style: CloseStyle | None = None


class WrkFigures(BaseModel):
    """wrk's run on the same server process as Locust's window (``bench.load.wrk``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tool: Literal["wrk"]
    requests: int
    errors: int
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    p999_ms: float
    server_busy: float | None  # the server's busy share over wrk's run (None: its CPU is not known)


class ProcessMemory(BaseModel):
    """One server process's memory: its unique set (what stopping it frees) and its proportional set (its own
    pages plus its share of those it shares, so a tree's PSS adds up to what it costs the machine)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    uss_bytes: int
    pss_bytes: int


class ServerMemory(BaseModel):
    """The server tree's memory at the end of the measured window, the top process first (a pre-fork server's
    arbiter, or the one process that serves), and the worker count it was started with."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    processes: list[ProcessMemory] = Field(min_length=1)
    workers: int = Field(ge=1)

    @property
    def uss_bytes(self) -> int:
        return sum(p.uss_bytes for p in self.processes)

    @property
    def pss_bytes(self) -> int:
        return sum(p.pss_bytes for p in self.processes)

    @property
    def pss_per_worker_bytes(self) -> float:
        """The mean PSS of the processes that serve: the largest ones, as many as it was started with (each
        loaded the app and its model; an arbiter or a helper such as multiprocessing's resource tracker holds
        neither)."""
        serving = sorted((p.pss_bytes for p in self.processes), reverse=True)[: self.workers]
        return sum(serving) / len(serving)


class Scenario(BaseModel):
    """The figures of one server config x model x workers x endpoint x repeat, derived from its raw files."""

    model_config = ConfigDict(extra="forbid")

    id: str
    framework: str  # the app's family (fastapi, flask, tornado), for the claim and the colours
    server: str  # the named server config (python -m bench list)
    workers: int
    endpoint: str
    model: str
    repeat: int
    requests: int
    failures: int
    rps: float
    p50_ms: float | None
    p90_ms: float | None
    p99_ms: float | None
    p999_ms: float | None
    server_cpu_us_per_request: float | None
    # server CPU seconds / (window x server CPUs - the hypervisor's steal of them); None: not known (a remote target)
    server_busy: float | None
    server_steal: float | None  # the share of the server CPUs' window the hypervisor stole
    under_driven: bool  # closed loop, server_busy below MIN_SERVER_BUSY, waiting for its client: a lower bound
    client_cpu_percent: float
    client_bound: bool
    client_ceiling_rps: float | None
    near_client_limit: bool
    valid: bool
    error: str | None = None
    close_style: CloseStyle | None = None  # None: the server keeps connections alive, so no close is measured
    crosscheck: WrkFigures | None = None  # wrk's figures on the same server process, with its own server_busy
    client_workers: list[WorkerShare] | None = None  # each Locust process that sent requests: its count and CPU
    target_rps: float | None = None  # open loop: the fixed arrival rate offered (rps is what was achieved)
    load_share: float | None = None  # in a sweep: target_rps over the variant's closed-loop median rps
    # What limited it (bench.limits), and the evidence beyond the server's busy share and the client's CPU:
    limited_by: Limit = "server"
    database_busy: float | None = None  # the database tree's CPU over the window / its CPUs (None: no database)
    database_cpu_us_per_request: float | None = None
    queries_per_request: float | None = None  # passenger reads counted at the database, over requests answered
    outstanding: float | None = None  # requests the client kept outstanding (rps x mean latency), per user
    server_queue: float | None = None  # requests waiting in the server's sockets, mean of samples
    server_memory: ServerMemory | None = None  # at the window's end (None: a remote server, or before schema 5)

    @model_validator(mode="before")
    @classmethod
    def _server_of_older_results(cls, data: Any) -> Any:
        """Results written before named server configs ran each framework's default config, one worker."""
        if isinstance(data, dict) and "server" not in data:
            framework = data.get("framework", "")
            return {**data, "server": BUILT_IN.defaults.get(framework, framework), "workers": 1}
        return data

    @property
    def variant(self) -> Variant:
        return Variant(self.server, self.model, self.workers, self.close_style)

    @property
    def rps_per_gib(self) -> float | None:
        """Requests per second for each GiB the server tree costs the machine (its PSS): memory's efficiency,
        beside CPU's (requests per server CPU-second)."""
        return self.rps / (self.server_memory.pss_bytes / GIB) if self.server_memory else None

    @property
    def lower_bound(self) -> bool:
        """Its throughput is a lower bound of the server's: the client or the database limited it (an under-driven
        scenario is limited by its client), or the load generator saturated its CPU while the server was busy too."""
        return self.client_bound or self.limited_by in LOWER_BOUNDS

    @property
    def wrk_server_busy(self) -> float | None:
        """The server's busy share under wrk, on the same server process (None: no cross-check, or not known)."""
        busy = self.crosscheck.server_busy if self.crosscheck else None
        return None if busy is None else float(busy)

    @property
    def wrk_under_driven(self) -> bool:
        return self.target_rps is None and under_driven(self.wrk_server_busy)


VerdictName = Literal["holds", "refuted", "inconclusive"]


class Verdict(BaseModel):
    """The claim judged on one comparison, as the run recorded it: the ratio, its interval, the band it was
    held against (``band_high`` None: no upper end), the outcome, why, and the rule in words."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    claim: str
    numerator: str
    denominator: str
    model: str
    workers: int
    endpoint: str
    metric: str
    ratio: float | None
    ci_low: float | None
    ci_high: float | None
    rounds: int
    verdict: VerdictName
    direction: Literal["slower", "faster"] | None = None  # refuted: the ratio lies below or above the band
    reason: str
    close_style: CloseStyle | None = None
    band_low: float
    band_high: float | None
    rule: str


class CeilingFigures(BaseModel):
    """One user class against the null server: keep-alive and a new connection per request."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    keepalive_rps: float
    keepalive_client_cpu_percent: float
    keepalive_failures: int
    new_connection_rps: float
    new_connection_client_cpu_percent: float
    new_connection_failures: int

    def rps(self, keeps_connections_alive: bool) -> float:
        """The ceiling that applies to a server config: keep-alive, or a new connection per request."""
        return self.keepalive_rps if keeps_connections_alive else self.new_connection_rps


class ClientCeiling(BaseModel):
    """The load generator's own limit on the client CPUs, per user class (``bench ceiling``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    measured_utc: str
    user_classes: dict[str, CeilingFigures]


NOISY_PROBE_CV = 0.05  # slices varying more than this: a noisy machine
NOISY_STEAL = 0.05  # the hypervisor withholding more than this share of the server CPUs: a noisy machine


class Machine(BaseModel):
    """The machine's steadiness around one run, as the manifest records it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    probe_cv: float | None  # the stability probe's slices' coefficient of variation (None: not measured)
    probe_slices: list[float]  # loop iterations done in each slice
    server_steal: float | None = None  # share of the server CPUs' time over the run the hypervisor stole
    client_steal: float | None = None
    load_average_before: list[float]
    load_average_after: list[float] | None = None

    @property
    def noisy(self) -> bool:
        return (self.probe_cv or 0.0) > NOISY_PROBE_CV or (self.server_steal or 0.0) > NOISY_STEAL

    def why_noisy(self) -> str:
        """What made it noisy, in words, with the thresholds."""
        reasons = []
        if (self.probe_cv or 0.0) > NOISY_PROBE_CV:
            reasons.append(f"the stability probe varied by {self.probe_cv:.1%} between slices (> {NOISY_PROBE_CV:.0%})")
        if (self.server_steal or 0.0) > NOISY_STEAL:
            reasons.append(
                f"the hypervisor stole {self.server_steal:.1%} of the server CPUs' time (> {NOISY_STEAL:.0%})"
            )
        return " and ".join(reasons)


class DatabaseRecord(BaseModel):
    """What the manifest records of the database a run read."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str
    embedded: bool  # started here (False: an existing server, --database-url)
    version: str
    settings: dict[str, str]
    cpus: list[int]  # where it was pinned (empty: not started here)
    user: str | None  # the system user it ran as, where started here
    data_directory: str | None
    passengers: int


class GitState(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    commit: str | None  # None: not a git checkout
    dirty: bool | None  # uncommitted changes in tracked files


class EnvironmentRecord(BaseModel):
    """What a run ran on (``bench.environment.describe``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    hostname: str
    platform: str
    cpu_model: str
    cpu_count: int | None
    cpus_available: list[int]
    python: str
    python_implementation: str
    packages: dict[str, str | None]  # every distribution on the measured path (None: not installed)
    tools: dict[str, str | None] = Field(default_factory=dict)  # external tools' versions (schema 1: none)
    constraints_sha256: str | None
    git: GitState
    load_average_before: list[float]


class PrecisionRecord(BaseModel):
    """Why a ``--precision`` run stopped adding rounds, and the precision it reached."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    target: float
    reached: float | None  # the widest headline half-width (None: some ratio has no interval yet)
    rounds: int
    max_minutes: float
    stopped: Literal["precise", "out of time"] | None  # None: another round was planned


class Manifest(BaseModel):
    """How a run was made: its config, what it ran on, the exact commands, the database and the client's
    ceiling. Filled in as the run goes (so not frozen) and rewritten after each step."""

    model_config = ConfigDict(extra="forbid")

    schema_version: int
    run_id: str
    started_utc: str
    finished_utc: str | None = None
    command_line: list[str] | None = None
    config: BenchConfig
    environment: EnvironmentRecord
    cpu_sets: dict[str, list[int]]
    machine: Machine | None = None  # the machine's steadiness (None: before it was recorded, or a target's)
    version_sets: list[InstalledSet] = Field(default_factory=list)  # --vary: each version set's environment
    commands: dict[str, dict[str, list[str]]] = Field(default_factory=dict)  # <server>-w<workers>-<endpoint>
    databases: dict[str, DatabaseRecord] = Field(default_factory=dict)  # by engine: each passenger database read
    database_errors: dict[str, str] = Field(default_factory=dict)  # by engine: why it could not be started
    client_ceiling: ClientCeiling | None = None
    client_ceiling_error: str | None = None
    precision: PrecisionRecord | None = None
    interrupted: bool | None = None  # None: still running (or killed before it could say)


class Summary(BaseModel):
    model_config = ConfigDict(extra="forbid")

    schema_version: int
    run_id: str
    complete: bool
    scenarios: list[Scenario]
    verdicts: list[Verdict] = Field(default_factory=list)


def create_run_folder(results_dir: Path, run_id: str) -> Path:
    """Make ``results_dir/run_id`` and its raw folder; never reuse an existing one."""
    if not RUN_ID_PATTERN.match(run_id):
        raise BenchError(f"bad run id {run_id!r}: use letters, digits, '.', '_' and '-'")
    folder = results_dir / run_id
    try:
        results_dir.mkdir(parents=True, exist_ok=True)
        folder.mkdir()
        (folder / RAW).mkdir()
    except FileExistsError:
        raise BenchError(f"{folder} already exists: a result is never overwritten; choose another --run-id") from None
    except OSError as error:
        raise BenchError(f"cannot create {folder}: {error.strerror or error}") from None
    return folder


def raw_dir(folder: Path, scenario_id: str) -> Path:
    path = folder / RAW / scenario_id
    path.mkdir(parents=True, exist_ok=True)
    return path


def raw_root(folder: Path) -> Path:
    """The run's raw folder: a scenario's files (``ScenarioFiles``) and the run's own (the client's ceiling's
    runs, the database's log)."""
    return folder / RAW


def database_log(folder: Path, engine: str = "postgresql") -> Path:
    return folder / RAW / (DATABASE_LOG if engine == "postgresql" else f"{engine}.log")


def summary_path(folder: Path) -> Path:
    return folder / SUMMARY


class ScenarioFiles(NamedTuple):
    """The raw files of one measurement, in its own folder (``raw/<scenario>/``), each named here whoever writes
    it: the harness (its server's log, the window's measurement), Locust (the recorder's latency record, the prefix
    of Locust's own CSV and JSON files, its log and output) and wrk (its measured run and its warm-up)."""

    server_log: Path
    measurement: Path
    latency: Path
    locust: Path
    locust_log: Path
    locust_stdout: Path
    wrk: Path
    wrk_warmup: Path

    @classmethod
    def of(cls, folder: Path) -> ScenarioFiles:
        names = (SERVER_LOG, MEASUREMENT, "latency.json", "locust", "locust.log", "locust.stdout", "wrk.json",
                 "wrk-warmup.json")  # fmt: skip
        return cls(*(folder / name for name in names))


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise BenchError(f"{path} is missing: not a complete titanic-bench results folder") from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise BenchError(f"{path} is corrupt: not valid JSON") from None
    except OSError as error:
        raise BenchError(f"cannot read {path}: {error.strerror or error}") from None


def _check_version(path: Path, content: Any, latest: int = SCHEMA_VERSION) -> None:
    version = content.get("schema_version") if isinstance(content, dict) else None
    if version not in range(1, latest + 1):
        raise BenchError(f"{path} has schema_version {version!r}; this titanic-bench reads 1 to {latest}")


def _server_cores(manifest: dict[str, Any]) -> int | None:
    cpus = manifest.get("cpu_sets", {}).get("server") or manifest.get("config", {}).get("server_cpus")
    return len(cpus) if cpus else None


def update_summary_to_2(folder: Path, content: dict[str, Any], manifest: dict[str, Any]) -> dict[str, Any]:
    """Schema 1 -> 2: each scenario's server busy share from its raw measurement.json (the CPU window it
    recorded), the under-driven flag from it, and the close style: schema 1's lean user closed lazily."""
    cores = _server_cores(manifest)
    scenarios = []
    for scenario in content.get("scenarios", []):
        busy = None
        measurement = folder / RAW / str(scenario.get("id")) / MEASUREMENT
        if cores and measurement.is_file():
            cpu = _read_json(measurement).get("cpu", {})
            if cpu.get("wall_seconds"):  # schema 1 recorded no steal: a stolen moment reads as idle
                busy = CpuUsage(cpu["wall_seconds"], cpu.get("server_seconds"), 0.0).server_busy(cores)
        closed_loop = scenario.get("target_rps") is None
        # schema 1 knew the built-in configs only
        server = scenario.get("server") or BUILT_IN.defaults.get(scenario.get("framework", ""), "")
        closes = not BUILT_IN.config(server).keeps_connections_alive
        scenarios.append(
            {**scenario, "server_busy": busy, "server_steal": None, "under_driven": closed_loop and under_driven(busy),
             "close_style": "lazy" if closes else None}
        )  # fmt: skip
    return {**content, "schema_version": 2, "scenarios": scenarios}


def update_manifest_to_2(content: dict[str, Any]) -> dict[str, Any]:
    """Schema 1 -> 2: the config records the close style, which was lazy before it was a setting."""
    config = content.get("config")
    if isinstance(config, dict):
        config = {**config, "close_style": config.get("close_style", ["lazy"])}
    return {**content, "schema_version": 2, "config": config}


# The rule schema 1 and 2 judged by: the claim as a lower bound, with an unpaired bootstrap interval.
RULE_BEFORE_3 = "holds when the 95% percentile-bootstrap interval of the ratio of medians lies at or above 2x"


def update_summary_to_3(content: dict[str, Any]) -> dict[str, Any]:
    """Schema 2 -> 3: each stored verdict becomes a record of the rule it was judged by, a lower bound of 2x."""
    verdicts = [
        {key: value for key, value in verdict.items() if key in Verdict.model_fields}
        | {"rounds": 0, "band_low": 2.0, "band_high": None, "rule": RULE_BEFORE_3,
           "direction": "slower" if verdict.get("verdict") == "refuted" else None}
        for verdict in content.get("verdicts", [])
    ]  # fmt: skip
    return {**content, "schema_version": 3, "verdicts": verdicts}


def update_manifest_to_3(content: dict[str, Any]) -> dict[str, Any]:
    """Schema 2 -> 3: the client ceiling as a ``ClientCeiling`` of the run's user class. (The config's new settings,
    claim_margin and order_seed, take today's defaults: ``BenchConfig``.)"""
    ceiling = content.get("client_ceiling")
    if isinstance(ceiling, dict):  # schema 2 stored the figures of the run's user class alone
        user_class = (content.get("config") or {}).get("user_class", "lean")
        ceiling = {"measured_utc": content.get("started_utc", ""), "user_classes": {user_class: ceiling}}
    return {**content, "schema_version": 3, "client_ceiling": ceiling}


def update_summary_to_4(content: dict[str, Any]) -> dict[str, Any]:
    """Schema 3 -> 4: each scenario's limit by today's rule (``bench.limits.limit``) from the evidence it stored;
    no database was read before."""
    scenarios = []
    for scenario in content.get("scenarios", []):
        busiest = max((w.get("cpu_percent") or 0.0 for w in scenario.get("client_workers") or []), default=0.0)
        evidence = Evidence(
            server_busy=scenario.get("server_busy"),
            client_percent=max(scenario.get("client_cpu_percent") or 0.0, busiest),
            lazy_close=scenario.get("close_style") == "lazy",
            open_loop=scenario.get("target_rps") is not None,
        )
        scenarios.append({**scenario, "limited_by": limit(evidence)})
    return {**content, "schema_version": 4, "scenarios": scenarios}


def update_manifest_to_4(content: dict[str, Any]) -> dict[str, Any]:
    """Schema 3 -> 4: no database."""
    return {**content, "schema_version": 4, "database": None}


def update_summary_to_5(content: dict[str, Any]) -> dict[str, Any]:
    """Schema 4 -> 5: no memory was recorded before."""
    return {**content, "schema_version": 5}


def update_manifest_to_5(content: dict[str, Any]) -> dict[str, Any]:
    """Schema 4 -> 5: the manifest did not change."""
    return {**content, "schema_version": 5}


def update_summary_to_6(content: dict[str, Any]) -> dict[str, Any]:
    """Schema 5 -> 6: the summary did not change."""
    return {**content, "schema_version": 6}


def update_manifest_to_6(content: dict[str, Any]) -> dict[str, Any]:
    """Schema 5 -> 6: the one database a run could read was PostgreSQL."""
    migrated = {key: value for key, value in content.items() if key not in ("database", "database_error")}
    database, error = content.get("database"), content.get("database_error")
    return {**migrated, "schema_version": 6, "databases": {"postgresql": database} if database else {},
            "database_errors": {"postgresql": error} if error else {}}  # fmt: skip


class CostEntry(BaseModel):
    """One config x endpoint x model counted: each repeat's instructions over the measured requests, where they
    were spent (the first repeat's, per request, by distribution) and the system calls per request by name."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    server: str
    endpoint: str
    model: str
    requests: int  # measured requests per repeat (after the warm-up)
    instructions: list[int]  # the whole server tree's, one total a repeat
    by_distribution: dict[str, float]  # instructions per request, summing to the first repeat's
    syscalls: dict[str, float]  # per request, over the whole tree
    commands: list[str]  # the exact command lines counted (callgrind's, strace's target)

    @property
    def per_request(self) -> float:
        """The median repeat's instructions per request."""
        return median(self.instructions) / self.requests

    @property
    def spread(self) -> float:
        """The repeats' range over their median: how exactly a count repeats."""
        return (max(self.instructions) - min(self.instructions)) / (self.per_request * self.requests)

    @property
    def syscalls_per_request(self) -> float:
        return sum(self.syscalls.values())


class CostSelection(BaseModel):
    """What a ``bench cost`` run was asked to count (its entries: these, less what a config does not serve)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    servers: list[str]  # the configs named, before any version set derived them
    endpoints: list[str]
    models: list[str]
    vary: dict[str, list[str]]  # package -> versions (--vary), {} for none


class CostRun(BaseModel):
    """``cost.json``: a ``bench cost`` run, its settings, what it ran on, and each entry counted."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: int = COST_SCHEMA_VERSION
    run_id: str
    started_utc: str
    complete: bool
    selection: CostSelection
    warmup: int
    requests: int
    repeats: int
    hash_seed: str  # PYTHONHASHSEED, fixed: dict and set orders, and so the work, repeat
    environment: EnvironmentRecord
    entries: list[CostEntry]


def cost_path(folder: Path) -> Path:
    return folder / COST


def write_cost(folder: Path, run: CostRun) -> None:
    write_json_atomically(cost_path(folder), run.model_dump(mode="json"))


def update_cost_to_2(content: dict[str, Any]) -> dict[str, Any]:
    """Cost schema 1 -> 2: the selection read off the entries (schema 1 had no --vary)."""
    entries = content.get("entries", [])

    def distinct(key: str) -> list[str]:
        return list(dict.fromkeys(entry.get(key) for entry in entries))

    selection = {"servers": distinct("server"), "endpoints": distinct("endpoint"), "models": distinct("model"),
                 "vary": {}}  # fmt: skip
    return {**content, "schema_version": 2, "selection": selection}


def load_cost(folder: Path) -> CostRun:
    """A cost run's record, migrated to today's schema and checked, or one clear error line."""
    path = cost_path(folder)
    content = _read_json(path)
    _check_version(path, content, COST_SCHEMA_VERSION)
    if content["schema_version"] == 1:
        content = update_cost_to_2(content)
    try:
        return CostRun.model_validate(content)
    except ValidationError as error:
        first = error.errors()[0]
        raise BenchError(f"{path} is corrupt: {'.'.join(map(str, first['loc']))}: {first['msg']}") from None


def cost_raw(folder: Path, entry: str) -> Path:
    """Where one entry's profiles and tables go: raw/<entry>/."""
    return folder / RAW / entry


def load_summary(folder: Path, require_complete: bool = True) -> Summary:
    """The checked summary of a results folder, or one clear error line."""
    if not folder.is_dir():
        raise BenchError(f"no results folder at {folder}")
    path = folder / SUMMARY
    content = _read_json(path)
    _check_version(path, content)
    if content["schema_version"] == 1:
        content = update_summary_to_2(folder, content, migrated_manifest(folder))
    if content["schema_version"] == 2:
        content = update_summary_to_3(content)
    if content["schema_version"] == 3:
        content = update_summary_to_4(content)
    if content["schema_version"] == 4:
        content = update_summary_to_5(content)
    if content["schema_version"] == 5:
        content = update_summary_to_6(content)
    try:
        summary = Summary.model_validate(content)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise BenchError(f"{path} is corrupt: {where}: {first['msg']}") from None
    if require_complete and not summary.complete:
        raise BenchError(f"{folder} is incomplete (the run was interrupted or a scenario failed)")
    return summary


def migrated_manifest(folder: Path) -> dict[str, Any]:
    """A results folder's manifest as today's schema has it, still plain JSON (what schema 1's summary
    migration reads)."""
    path = folder / MANIFEST
    content = _read_json(path)
    _check_version(path, content)
    if content["schema_version"] == 1:
        content = update_manifest_to_2(content)
    if content["schema_version"] == 2:
        content = update_manifest_to_3(content)
    if content["schema_version"] == 3:
        content = update_manifest_to_4(content)
    if content["schema_version"] == 4:
        content = update_manifest_to_5(content)
    if content["schema_version"] == 5:
        content = update_manifest_to_6(content)
    return dict(content)


def load_manifest(folder: Path) -> Manifest:
    """The checked manifest of a results folder, migrated to today's schema, or one clear error line."""
    content = migrated_manifest(folder)
    try:
        return Manifest.model_validate(content)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise BenchError(f"{folder / MANIFEST} is corrupt: {where}: {first['msg']}") from None
    except BenchError as error:  # a recorded config naming a config it cannot define again
        raise BenchError(f"{folder / MANIFEST} is corrupt: {error}") from None


def write_manifest(folder: Path, manifest: Manifest) -> None:
    write_json_atomically(folder / MANIFEST, manifest.model_dump(mode="json"))


def write_summary(folder: Path, summary: Summary) -> None:
    write_json_atomically(folder / SUMMARY, summary.model_dump(mode="json"))


def write_reproduction(folder: Path, comparison: BaseModel) -> None:
    """``bench reproduce``'s comparison (``bench.reproduce.Reproduction``), beside the new run's summary."""
    write_json_atomically(folder / REPRODUCTION, comparison.model_dump(mode="json"))


def write_bisection(folder: Path, bisection: BaseModel) -> None:
    """What ``bench bisect`` found (``bench.bisect.Bisection``), beside its steps' run folders."""
    write_json_atomically(folder / BISECTION, bisection.model_dump(mode="json"))


def load_reproduction(folder: Path) -> dict[str, Any] | None:
    """The comparison ``bench reproduce`` stored in ``folder``, if any."""
    path = folder / REPRODUCTION
    if not path.is_file():
        return None
    content = _read_json(path)
    if not isinstance(content, dict):
        raise BenchError(f"{path} is corrupt: not a JSON object")
    return content
