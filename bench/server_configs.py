"""The named server configs: which app, under which production server, started how.

The built-ins are declared in ``servers.toml`` beside this module, in the same form a user's
``--servers-file`` takes (``read_servers_file``); ``bench.registry`` holds them by name. Each config builds
its exact command line from the address and the worker count; nothing else in the harness knows a server's
flags.
"""

from __future__ import annotations

import string
import sys
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bench.errors import BenchError
from bench.workload import WORKLOADS

BUILT_IN_PATH = Path(__file__).with_name("servers.toml")
PLACEHOLDERS = ("python", "host", "port", "workers", "address")
Engine = Literal["postgresql", "mariadb"]
ENGINE_NAMES: dict[str, str] = {"postgresql": "PostgreSQL", "mariadb": "MariaDB"}  # the database engines a config reads


class ServerConfig(BaseModel):
    """One deployment of one app."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    framework: str  # the app's family, a label (null: the harness's own null server)
    command: tuple[str, ...] = Field(min_length=1)  # with {python} {host} {port} {workers} {address}
    keeps_connections_alive: bool = True
    description: str = ""
    handler: str = ""
    server: str = ""
    colour: str | None = None
    runs_on: str = ""  # the HTTP server, one word (uvicorn, gunicorn, granian): see analysis.decompositions
    packages: tuple[str, ...] = ()
    python: str | None = None  # the interpreter {python} stands for (a version set's); None: the harness's own
    serves: tuple[str, ...] = ()  # the workloads it answers, where it cannot answer all (LitServe: post alone)
    engine: Engine = "postgresql"  # the database its database endpoints read
    workers_per_cpu: int | None = Field(default=None, ge=1)  # its own worker count per server CPU (the cited setups')

    @field_validator("serves")
    @classmethod
    def _known_workloads(cls, serves: tuple[str, ...]) -> tuple[str, ...]:
        unknown = sorted(set(serves) - set(WORKLOADS))
        if unknown:
            raise ValueError(f"unknown workload {unknown[0]!r}; use {', '.join(WORKLOADS)}")
        return serves

    @field_validator("command")
    @classmethod
    def _known_placeholders(cls, command: tuple[str, ...]) -> tuple[str, ...]:
        for part in command:
            try:
                fields = {field for _, field, _, _ in string.Formatter().parse(part) if field is not None}
            except ValueError as error:
                raise ValueError(f"{part!r}: {error}") from None
            unknown = sorted(fields - set(PLACEHOLDERS))
            if unknown:
                raise ValueError(f"unknown placeholder {{{unknown[0]}}}; use {', '.join(PLACEHOLDERS)}")
        return command

    def command_line(self, host: str, port: int, workers: int) -> list[str]:
        address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        values = {"python": self.python or sys.executable, "host": host, "port": str(port), "workers": str(workers),
                  "address": address}  # fmt: skip
        return [part.format_map(values) for part in self.command]

    def answers(self, endpoint: str) -> bool:
        """Whether it serves ``endpoint``'s workload (every config serves all, unless it declares ``serves``)."""
        return not self.serves or endpoint in self.serves


def parse_servers(content: dict[str, Any], source: str) -> dict[str, ServerConfig]:
    """The ``[servers.NAME]`` tables of a servers file, checked; one line naming the bad entry otherwise."""
    tables = content.get("servers")
    if not isinstance(tables, dict) or not tables:
        raise BenchError(f"{source}: no [servers.NAME] table")
    configs = {}
    for name, table in tables.items():
        try:
            configs[name] = ServerConfig.model_validate({**table, "name": name} if isinstance(table, dict) else table)
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            raise BenchError(f"{source}: servers.{name}.{where}: {first['msg']}") from None
    return configs


def read_toml(path: Path, what: str = "servers file") -> dict[str, Any]:
    """A TOML file's tables; one line naming ``what`` it is when it is missing or not TOML."""
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise BenchError(f"{what} not found: {path}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise BenchError(f"{what} {path} is not valid TOML: {error}") from None


def read_servers_file(path: Path) -> dict[str, dict[str, Any]]:
    """A user's ``--servers-file``: its configs' definitions, checked, as a run records them."""
    configs = parse_servers(read_toml(path), str(path))
    return {name: config.model_dump(mode="json", exclude={"name"}) for name, config in configs.items()}
