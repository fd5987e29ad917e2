"""The run configuration: typed, with defaults in ``defaults.toml`` beside this file.

Layers, lowest first: ``defaults.toml``, its ``[quick]`` table when ``quick`` is set, the table of the
``matrix`` named (``[full]``, ``[deploy]``, ``[cited]``), a ``--config`` TOML file, then command-line flags.
``load_config`` returns the effective ``BenchConfig``.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from apps.model import MODEL_NAMES
from bench.closing import CloseStyle
from bench.errors import BenchError
from bench.registry import BUILT_IN, FRAMEWORKS, Registry
from bench.server_configs import ENGINE_NAMES, Engine, read_toml
from bench.versions import canonical
from bench.workload import ENDPOINTS, WORKLOADS

DEFAULTS_PATH = Path(__file__).with_name("defaults.toml")
# The settings that name things from a fixed list: the list, and what one is called in the error line.
CHOICES: dict[str, tuple[tuple[str, ...], str]] = {
    "frameworks": (FRAMEWORKS, "framework"), "endpoints": (ENDPOINTS, "endpoint"), "model": (MODEL_NAMES, "model"),
}  # fmt: skip
ADDED_IN_3 = ("claim_margin", "max_minutes")  # settings results of schema 1 and 2 did not record


# --matrix: the default run, or a preset table of defaults.toml by that name (full: the compute workloads' configs;
# deploy: what a data scientist would deploy to serve a model; cited: the chart's setups and the steps between them).
MATRICES = ("default", "full", "deploy", "cited")
Matrix = Literal["default", "full", "deploy", "cited"]


class BenchConfig(BaseModel):
    """Every setting of a run. Unknown keys are refused, so a typo never passes silently."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    frameworks: list[str] = Field(min_length=1)
    # A user's server configs (--servers-file), as their definitions, so the run's record carries them.
    server_definitions: dict[str, dict[str, Any]] = Field(default_factory=dict)
    servers: list[str] = Field(default_factory=list)  # named server configs; empty: each framework's default
    # Package -> versions: each config that runs on a varied package runs under each version (bench.versions).
    vary: dict[str, list[str]] = Field(default_factory=dict)
    endpoints: list[str] = Field(min_length=1)  # workloads (bench.workload)
    model: list[str] = Field(min_length=1)
    matrix: Matrix = "default"
    users: int = Field(ge=1)
    duration: float = Field(gt=0)
    warmup: float = Field(ge=0)
    repeats: int = Field(ge=1)
    server_cpus: list[int] = Field(min_length=1)
    client_cpus: list[int] = Field(min_length=1)
    workers: list[int] = Field(min_length=1)
    flask_worker_class: Literal["sync", "gthread"]
    host: str
    port: int = Field(ge=0, le=65535)
    user_class: Literal["lean", "fasthttp"]
    # How the client closes where the server closes each connection (bench.closing): one or both.
    close_style: list[CloseStyle] = Field(min_length=1)
    locust_workers: int = Field(default=0, ge=0)  # local Locust worker processes (0: Locust in one process)
    remote_workers: int = Field(default=0, ge=0)  # workers joining from other hosts (bench worker --master)
    master_bind_host: str = "127.0.0.1"
    master_port: int = Field(default=5557, ge=1, le=65535)
    targets: dict[str, str] = Field(default_factory=dict)  # server config -> URL of an app running elsewhere
    server_stats: dict[str, str] = Field(default_factory=dict)  # server config -> URL of its bench serve stats
    health_timeout: float = Field(gt=0)
    crosscheck: Literal["none", "wrk"]
    arrival_rate: float | None = Field(default=None, gt=0)
    ceiling_warmup: float = Field(ge=0)
    ceiling_duration: float = Field(gt=0)
    results_dir: Path
    reports_dir: Path
    claim_margin: float = Field(gt=0, lt=1)  # "about 2x": the band analysis.claim_band draws around it
    order_seed: int | None = Field(default=None, ge=0)  # the rounds' random order; None: drawn as a run starts
    precision: float | None = Field(default=None, gt=0, lt=1)  # add rounds until headline half-widths are this
    max_minutes: float = Field(gt=0)  # with precision: add no round after this long
    # The passenger database of the endpoints that read one: an existing server's URL, or None to start the
    # embedded PostgreSQL, pinned to database_cpus (None: the client CPUs, on a machine of few cores).
    database_url: str | None = None
    database_cpus: list[int] | None = None

    @model_validator(mode="before")
    @classmethod
    def _settings_added_later(cls, data: Any) -> Any:
        """A config recorded before a setting existed takes today's default for it."""
        if isinstance(data, dict) and any(name not in data for name in ADDED_IN_3):
            defaults = read_toml(DEFAULTS_PATH, "config file")
            return {**{name: defaults[name] for name in ADDED_IN_3}, **data}
        return data

    @field_validator("model", "workers", "close_style", mode="before")
    @classmethod
    def _one_or_a_list(cls, value: Any) -> Any:
        """A single model or worker count (as recorded before these became lists) is a list of one."""
        return value if isinstance(value, list) else [value]

    @field_validator("frameworks", "endpoints", "model")
    @classmethod
    def _known_names(cls, names: list[str], info: ValidationInfo) -> list[str]:
        choices, what = CHOICES[str(info.field_name)]
        unknown = [name for name in names if name not in choices]
        if unknown:
            raise ValueError(f"unknown {what} {unknown[0]!r}; choose from {', '.join(choices)}")
        return names

    @field_validator("workers")
    @classmethod
    def _positive(cls, workers: list[int]) -> list[int]:
        if min(workers) < 1:
            raise ValueError("worker counts must be at least 1")
        return workers

    @field_validator("servers")
    @classmethod
    def _known_servers(cls, names: list[str], info: ValidationInfo) -> list[str]:
        registry = with_definitions(info)
        configs = [registry.config(name) for name in names]
        if any(config.framework == "null" for config in configs):
            raise ValueError(f"the null server is the harness's own; choose from {', '.join(registry.app_servers)}")
        return [config.name for config in configs]

    @field_validator("frameworks", "endpoints", "servers", "model", "workers", "close_style")
    @classmethod
    def _no_repeats(cls, names: list[Any]) -> list[Any]:
        if len(set(names)) != len(names):
            raise ValueError("values must not repeat")
        return names

    @field_validator("server_cpus", "client_cpus", "database_cpus")
    @classmethod
    def _cpu_set(cls, cpus: list[int] | None) -> list[int] | None:
        """Sorted, once each. Whether they exist is a question for a run about to start here
        (``check_cpus_here``), never for a config recorded on another machine."""
        if cpus is None:
            return None
        if not cpus or min(cpus) < 0:
            raise ValueError("CPU numbers start at 0")
        return sorted(set(cpus))

    @field_validator("vary")
    @classmethod
    def _versions(cls, vary: dict[str, list[str]]) -> dict[str, list[str]]:
        for package, versions in vary.items():
            if not versions or len(set(versions)) != len(versions):
                raise ValueError(f"{package}: give each version once, at least one")
        return {canonical(package): versions for package, versions in vary.items()}

    @field_validator("targets", "server_stats")
    @classmethod
    def _urls_of_known_servers(cls, urls: dict[str, str], info: ValidationInfo) -> dict[str, str]:
        for url in urls.values():
            if not url.startswith(("http://", "https://")):
                raise ValueError(f"{url!r} is not an http:// URL")
        registry = with_definitions(info)
        return {registry.config(name).name: url.rstrip("/") for name, url in urls.items()}

    @model_validator(mode="after")
    def _consistent(self) -> BenchConfig:
        if self.arrival_rate is not None and self.user_class != "lean":
            raise ValueError("an open-loop run (arrival_rate) uses the lean user; drop user_class = fasthttp")
        if self.arrival_rate is not None and (self.locust_workers or self.remote_workers):
            raise ValueError("an open-loop run (arrival_rate) keeps its schedule in one Locust process: no workers")
        if self.user_class == "fasthttp" and "prompt" in self.close_style:
            raise ValueError("prompt close needs the lean user; with user_class fasthttp use close_style lazy")
        if self.precision is not None and self.arrival_rate is not None:
            raise ValueError("precision is on a saturation run's headline ratios: drop it for an open-loop run")
        if self.locust_workers and self.remote_workers:
            raise ValueError("choose local Locust workers (locust_workers) or remote ones (remote_workers), not both")
        unknown = sorted(set(self.server_stats) - set(self.targets))
        if unknown:
            raise ValueError(f"server_stats for {', '.join(unknown)}, which is not a target")
        if self.vary and self.targets:
            raise ValueError("vary runs servers here, from their own environments; a target runs elsewhere")
        if self.vary and self.server_names == self.base_server_names:
            raise ValueError(f"no server config runs on {', '.join(self.vary)} (see their packages: bench list)")
        return self

    @property
    def base_server_names(self) -> list[str]:
        """The server configs asked for: ``servers``, or else each framework's default one."""
        if self.servers:
            return list(self.servers)
        defaults = {**BUILT_IN.defaults, "flask": f"flask-gunicorn-{self.flask_worker_class}"}
        return [defaults[framework] for framework in self.frameworks]

    def _registry_and_servers(self) -> tuple[Registry, list[str]]:
        # Computed each time, not cached: model_copy would carry a cached value over to a changed copy.
        return BUILT_IN.with_definitions(self.server_definitions).with_versions(self.base_server_names, self.vary)

    @property
    def registry(self) -> Registry:
        """The configs this run knows: the built-ins, a user's (``server_definitions``) and those derived for
        its version sets."""
        return self._registry_and_servers()[0]

    @property
    def server_names(self) -> list[str]:
        """The server configs to run: those asked for, each under every version set it depends on."""
        return self._registry_and_servers()[1]

    @property
    def reads_database(self) -> bool:
        """Whether any endpoint of the run reads the passenger database."""
        return any(WORKLOADS[endpoint].reads_database for endpoint in self.endpoints)

    @property
    def engines(self) -> list[Engine]:
        """The database engines the run's configs read, where an endpoint reads one (PostgreSQL first)."""
        if not self.reads_database:
            return []
        used = {self.registry.config(server).engine for server in self.server_names}
        return [engine for engine in ENGINE_NAMES if engine in used]

    @property
    def database_cpu_set(self) -> list[int]:
        """Where the embedded database is pinned: its own CPUs, or the client's."""
        return self.database_cpus or self.client_cpus

    def close_styles(self, server: str) -> list[CloseStyle | None]:
        """The close styles measured for ``server``: each one asked for where it closes every connection;
        None alone where it keeps connections alive (the client never closes during the window)."""
        return [None] if self.registry.config(server).keeps_connections_alive else list(self.close_style)

    def to_json_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    def with_order_seed(self) -> BenchConfig:
        """This config with its round order's seed drawn, if none was set, so the manifest records it."""
        if self.order_seed is not None:
            return self
        return self.model_copy(update={"order_seed": secrets.randbelow(2**32)})


def with_definitions(info: ValidationInfo) -> Registry:
    """The built-ins and the configs a config being validated defines (its ``server_definitions``, declared
    before every setting that names a config)."""
    return BUILT_IN.with_definitions(info.data.get("server_definitions") or {})


def check_cpus_here(config: BenchConfig) -> None:
    """Before a run pins anything here: every CPU it names must be available on this host."""
    available = os.sched_getaffinity(0)
    for flag, cpus in (("--server-cpus", config.server_cpus), ("--client-cpus", config.client_cpus),
                       ("--database-cpus", config.database_cpus or [])):  # fmt: skip
        missing = sorted(set(cpus) - available)
        if missing:
            raise BenchError(f"CPU {missing} not available here (available: {sorted(available)}); set {flag}")


def parse_cpus(text: str) -> list[int]:
    """Parse a CPU list such as ``0``, ``0,2`` or ``0-3``."""
    cpus: list[int] = []
    try:
        for part in text.split(","):
            low, _, high = part.strip().partition("-")
            cpus.extend(range(int(low), int(high or low) + 1))
    except ValueError:
        raise BenchError(f"bad CPU list {text!r}: expected for example 0 or 0,2 or 0-3") from None
    return cpus


def read_defaults() -> dict[str, Any]:
    """The base settings of ``defaults.toml`` (without its presets)."""
    settings = read_toml(DEFAULTS_PATH, "config file")
    for preset in ("quick", *MATRICES[1:]):
        settings.pop(preset)
    return settings


def quick_settings() -> dict[str, Any]:
    """The ``[quick]`` table of the defaults: short phases and 2 repeats."""
    return dict(read_toml(DEFAULTS_PATH, "config file")["quick"])


def load_config(
    config_file: Path | None = None, quick: bool = False, overrides: dict[str, Any] | None = None
) -> BenchConfig:
    """The effective configuration from the layers described in the module docstring."""
    settings = read_toml(DEFAULTS_PATH, "config file")
    presets = {name: settings.pop(name) for name in ("quick", *MATRICES[1:])}
    from_file = read_toml(config_file, "config file") if config_file is not None else {}
    flags = {key: value for key, value in (overrides or {}).items() if value is not None}
    if quick:
        settings.update(presets["quick"])
    matrix = flags.get("matrix", from_file.get("matrix"))
    if matrix == "full":
        settings.update(presets["full"], matrix="full")
        # worker counts: 1, and one per server CPU where the server has more than one
        server_cpus = flags.get("server_cpus", from_file.get("server_cpus", settings["server_cpus"]))
        settings["workers"] = sorted({1, len(set(server_cpus))})
    elif matrix == "cited":
        settings.update(presets["cited"], matrix="cited")
        # one worker per server CPU, as the chart's FastAPI had them (its Flask's configs set three of their own)
        server_cpus = flags.get("server_cpus", from_file.get("server_cpus", settings["server_cpus"]))
        settings["workers"] = [len(set(server_cpus))]
    elif matrix in MATRICES[1:]:
        settings.update(presets[matrix], matrix=matrix)
    settings.update(from_file)
    settings.update(flags)
    return validate_config(settings)


def validate_config(settings: dict[str, Any]) -> BenchConfig:
    """A ``BenchConfig`` from plain settings, or one readable line saying what is wrong."""
    try:
        return BenchConfig.model_validate(settings)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "config"
        raise BenchError(f"bad setting {where}: {first['msg']}") from None


def command_for(config: BenchConfig) -> list[str]:
    """The ``bench run`` command line that recreates ``config`` from the defaults, every setting explicit."""
    values = {**config.to_json_dict(), "servers": config.base_server_names}
    command = ["python", "-m", "bench", "run"]
    for name in ("servers", "endpoints", "model", "workers", "close_style", "users", "duration", "warmup", "repeats",
                 "server_cpus", "client_cpus", "claim_margin", "order_seed"):  # fmt: skip
        value = values[name]
        if value is None:
            continue
        text = (
            ",".join(map(str, value))
            if isinstance(value, list)
            else f"{value:g}"
            if isinstance(value, float)
            else str(value)
        )
        command += [f"--{name.replace('_', '-')}", text]
    for package, versions in config.vary.items():
        command += ["--vary", f"{package}={','.join(versions)}"]
    return command
