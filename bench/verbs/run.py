"""``bench run``: a plan of scenarios measured into a new results folder, then its report.

``prepared`` makes a config ready to run here (its version sets installed, the database endpoints left out
where no passenger list is found and none was named); ``benchmark`` measures a plan and returns the folder
with its summary and manifest as stored. What the person sees is ``bench.console``'s.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from bench import mariadb
from bench.config import BenchConfig, check_cpus_here, validate_config
from bench.database import PASSENGERS_CSV_ENV, passengers_csv
from bench.errors import BenchError
from bench.load import wrk
from bench.report.html import build_report
from bench.results import Manifest, Summary, load_manifest, load_summary
from bench.run import OnScenario, ScenarioKey, estimated_seconds, run, schedule
from bench.versions import install
from bench.workload import WORKLOADS


@dataclass(frozen=True)
class RunRequest:
    """What to measure: a config, its plan (its whole matrix, or a sweep's rates), and where it is recorded."""

    config: BenchConfig
    plan: list[ScenarioKey]
    run_id: str | None
    command_line: list[str]
    write_report: bool = True

    @classmethod
    def of(cls, config: BenchConfig, run_id: str | None, command_line: list[str], write_report: bool) -> RunRequest:
        """The config's whole matrix, in rounds."""
        return cls(config, schedule(config), run_id, command_line, write_report)

    @property
    def minutes(self) -> float:
        return estimated_seconds(self.config, len(self.plan)) / 60

    @property
    def without_wrk(self) -> bool:
        """The wrk cross-check was asked for and wrk is not installed here: it is skipped."""
        return self.config.crosscheck == "wrk" and not wrk.available()


@dataclass(frozen=True)
class RunOutcome:
    """A run's results folder, with its summary and manifest as stored, and the report written from them."""

    request: RunRequest
    folder: Path
    summary: Summary
    manifest: Manifest
    interrupted: bool
    report: Path | None

    @property
    def complete(self) -> bool:
        return self.summary.complete and not self.interrupted


class Watcher(Protocol):
    """Who watches a run as it goes (``bench.console``'s drawing, or nothing in a test)."""

    def say(self, line: str) -> None:
        """A note for the person running it (not a result)."""

    def watching(self, request: RunRequest) -> AbstractContextManager[OnScenario | None]:
        """Around the run: its progress callback, if any."""

    def finished(self, outcome: RunOutcome) -> None:
        """The run's outcome, once stored."""


def prepared(config: BenchConfig, say: Callable[[str], None], *, endpoints_named: bool = True) -> BenchConfig:
    """``config`` ready to run here: every CPU it names available (checked first, before any note), each version
    set installed (one that cannot be is named and left out), and, unless the endpoints were named, those that
    read the database left out where the embedded one could not be loaded (no passenger list here), so the
    README's first command runs anywhere; the configs that read MariaDB left out, in one line naming its install,
    where the host has none."""
    check_cpus_here(config)
    if config.vary:
        registry = config.registry
        vary = install(registry.version_sets_of(config.server_names), registry.install_list, config.vary, say)
        config = validate_config({**config.to_json_dict(), "vary": vary})
    if not (endpoints_named or not config.reads_database or config.database_url or passengers_csv().is_file()):
        kept = [endpoint for endpoint in config.endpoints if not WORKLOADS[endpoint].reads_database]
        say(f"no passenger list at {passengers_csv()} (set ${PASSENGERS_CSV_ENV}): the database endpoints are left "
            f"out; measuring {', '.join(kept)}")  # fmt: skip
        config = validate_config({**config.to_json_dict(), "endpoints": kept})
    needs_mariadb = [name for name in config.base_server_names if config.registry.config(name).engine == "mariadb"]
    if config.reads_database and needs_mariadb and not mariadb.available():
        kept = [name for name in config.base_server_names if name not in needs_mariadb]
        if not kept:
            raise BenchError(mariadb.MISSING)
        say(f"{mariadb.MISSING}: {', '.join(needs_mariadb)} left out")
        config = validate_config({**config.to_json_dict(), "servers": kept, "frameworks": config.frameworks})
    for name in config.server_names:
        server = config.registry.config(name)
        if unserved := [endpoint for endpoint in config.endpoints if not server.answers(endpoint)]:
            say(f"{name} serves {', '.join(server.serves)} alone: not measured on {', '.join(unserved)}")
    return config


def benchmark(request: RunRequest, watcher: Watcher) -> RunOutcome:
    """Measure the request's plan (its config ``prepared``) into a new results folder; write its report where the
    run completed and one was asked for."""
    config = request.config
    with watcher.watching(request) as on_scenario:
        finished = run(config, request.run_id, request.command_line, on_scenario, request.plan)
    summary = load_summary(finished.folder, require_complete=False)
    report = build_report(finished.folder, config.reports_dir) if summary.complete and request.write_report else None
    outcome = RunOutcome(request, finished.folder, summary, load_manifest(finished.folder), finished.interrupted,
                         report)  # fmt: skip
    watcher.finished(outcome)
    return outcome
