"""The result folder: its schema, manifest, atomic writes and checked loading. Only this module knows the layout.

results/<run-id>/
    manifest.json     schema_version, when, where, what versions, exact commands, effective config
    summary.json      schema_version, run_id, complete, scenarios (one per server config x model x workers
                      x endpoint x repeat), verdicts
    raw/<scenario>/   Locust's own files, the exact latency histogram, the server's log
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from bench.errors import BenchError
from bench.server_configs import DEFAULT_FOR_FRAMEWORK

SCHEMA_VERSION = 1
MANIFEST = "manifest.json"
SUMMARY = "summary.json"
REPRODUCTION = "reproduction.json"
RAW = "raw"
RUN_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


# What the flags of a scenario mean, defined once.
CLIENT_BOUND_PERCENT = 90.0  # client_bound: the load generator used this much of its CPU or more
NEAR_CLIENT_LIMIT = 0.70  # near_client_limit: rps above this share of the client's ceiling (null server)
MAX_FAILURE_RATIO = 0.001  # valid: at most this share of requests failed


class Variant(NamedTuple):
    """What was served: a named server config, the model it served, and its worker processes."""

    server: str
    model: str
    workers: int


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
    client_cpu_percent: float
    client_bound: bool
    client_ceiling_rps: float | None
    near_client_limit: bool
    valid: bool
    error: str | None = None
    crosscheck: dict[str, Any] | None = None
    client_workers: list[dict[str, Any]] | None = None  # each Locust process that sent requests: its count and CPU
    target_rps: float | None = None  # open loop: the fixed arrival rate offered (rps is what was achieved)
    load_share: float | None = None  # in a sweep: target_rps over the variant's closed-loop median rps

    @model_validator(mode="before")
    @classmethod
    def _server_of_older_results(cls, data: Any) -> Any:
        """Results written before named server configs ran each framework's default config, one worker."""
        if isinstance(data, dict) and "server" not in data:
            framework = data.get("framework", "")
            return {**data, "server": DEFAULT_FOR_FRAMEWORK.get(framework, framework), "workers": 1}
        return data

    @property
    def variant(self) -> Variant:
        return Variant(self.server, self.model, self.workers)


class Summary(BaseModel):
    model_config = ConfigDict(extra="forbid")

    schema_version: int
    run_id: str
    complete: bool
    scenarios: list[Scenario]
    verdicts: list[dict[str, Any]] = Field(default_factory=list)


def write_text_atomically(path: Path, text: str) -> None:
    """Write to a temporary file beside ``path``, flush it to disk, and rename it into place."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with temporary.open("w") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise BenchError(f"cannot write {path}: {error.strerror or error}") from None


def write_json_atomically(path: Path, content: Any) -> None:
    write_text_atomically(path, json.dumps(content, indent=2) + "\n")


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


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise BenchError(f"{path} is missing: not a complete titanic-bench results folder") from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise BenchError(f"{path} is corrupt: not valid JSON") from None
    except OSError as error:
        raise BenchError(f"cannot read {path}: {error.strerror or error}") from None


def _check_version(path: Path, content: Any) -> None:
    version = content.get("schema_version") if isinstance(content, dict) else None
    if version != SCHEMA_VERSION:
        raise BenchError(f"{path} has schema_version {version!r}; this titanic-bench reads {SCHEMA_VERSION}")


def load_summary(folder: Path, require_complete: bool = True) -> Summary:
    """The checked summary of a results folder, or one clear error line."""
    if not folder.is_dir():
        raise BenchError(f"no results folder at {folder}")
    path = folder / SUMMARY
    content = _read_json(path)
    _check_version(path, content)
    try:
        summary = Summary.model_validate(content)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise BenchError(f"{path} is corrupt: {where}: {first['msg']}") from None
    if require_complete and not summary.complete:
        raise BenchError(f"{folder} is incomplete (the run was interrupted or a scenario failed)")
    return summary


def load_manifest(folder: Path) -> dict[str, Any]:
    path = folder / MANIFEST
    content = _read_json(path)
    _check_version(path, content)
    if not isinstance(content, dict):
        raise BenchError(f"{path} is corrupt: not a JSON object")
    return content


def load_reproduction(folder: Path) -> dict[str, Any] | None:
    """The comparison ``bench reproduce`` stored in ``folder``, if any."""
    path = folder / REPRODUCTION
    if not path.is_file():
        return None
    content = _read_json(path)
    if not isinstance(content, dict):
        raise BenchError(f"{path} is corrupt: not a JSON object")
    return content
