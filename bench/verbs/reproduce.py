"""``bench reproduce FOLDER``: the recorded run made again, in the same round order, and compared with it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import environment
from bench.config import validate_config
from bench.errors import BenchError
from bench.report.html import build_report
from bench.reproduce import Reproduction, compare, recorded_config
from bench.results import load_manifest, load_summary, write_reproduction
from bench.run import default_run_id
from bench.verbs.run import RunOutcome, RunRequest, Watcher, benchmark, prepared


@dataclass(frozen=True)
class ReproduceRequest:
    folder: Path  # the recorded run
    overrides: dict[str, Any]  # settings given by flags, over the recorded config (--repeats, say)
    tolerance: float
    run_id: str | None
    command_line: list[str]
    write_report: bool


@dataclass(frozen=True)
class Reproduced:
    """The new run, and (where it completed) its comparison with the recorded one and the new run's report."""

    run: RunOutcome
    comparison: Reproduction | None
    report: Path | None


def installed_version_differences(folder: Path) -> list[str]:
    """Packages whose installed version differs from the one recorded in ``folder``'s manifest."""
    manifest = load_manifest(folder)
    recorded = manifest.environment.packages
    installed = environment.package_versions(manifest.config.registry)
    return [f"{name}: recorded {version}, installed {installed.get(name)}"
            for name, version in recorded.items() if installed.get(name) != version]  # fmt: skip


def reproduce(request: ReproduceRequest, watcher: Watcher) -> Reproduced:
    original = load_summary(request.folder)
    if any(s.target_rps is not None for s in original.scenarios):
        raise BenchError(f"{request.folder} is an open-loop sweep; reproduce re-runs closed-loop `bench run` results")
    # The recorded config, its round order seed included, so the same rounds run in the same order.
    settings = {**recorded_config(request.folder).to_json_dict(), **request.overrides}
    config = prepared(validate_config(settings).with_order_seed(), watcher.say)
    for difference in installed_version_differences(request.folder):
        watcher.say(f"warning: {difference}")
    run_id = request.run_id or f"{original.run_id}-repro-{default_run_id()}"
    outcome = benchmark(RunRequest.of(config, run_id, request.command_line, write_report=False), watcher)
    if not outcome.complete:
        return Reproduced(outcome, None, None)
    comparison = compare(request.folder, outcome.folder, request.tolerance)
    write_reproduction(outcome.folder, comparison)
    report = build_report(outcome.folder, config.reports_dir) if request.write_report else None
    return Reproduced(outcome, comparison, report)
