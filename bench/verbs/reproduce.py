"""``bench reproduce FOLDER``: the recorded run made again, in the same round order, and compared with it; a
``bench cost`` run counted again with its recorded selection and settings, and compared with it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import environment
from bench.analysis.cost import CostComparison, compare_costs, tolerance_for
from bench.config import load_config, validate_config
from bench.errors import BenchError
from bench.registry import Registry
from bench.report.cost import build_cost_report
from bench.report.html import build_report
from bench.reproduce import Reproduction, compare, recorded_config
from bench.results import cost_path, load_cost, load_manifest, load_summary, write_reproduction
from bench.run import default_run_id
from bench.verbs.cost import CostOutcome, CostRequest, cost
from bench.verbs.run import RunOutcome, RunRequest, Watcher, benchmark, prepared


@dataclass(frozen=True)
class ReproduceRequest:
    folder: Path  # the recorded run
    overrides: dict[str, Any]  # settings given by flags, over the recorded config (--repeats, say)
    tolerance: float | None  # None: the default of what is compared (a run's ratios, or counts)
    run_id: str | None
    command_line: list[str]
    write_report: bool


@dataclass(frozen=True)
class Reproduced:
    """The new run, and (where it completed) its comparison with the recorded one and the new run's report."""

    run: RunOutcome
    comparison: Reproduction | None
    report: Path | None


@dataclass(frozen=True)
class CostReproduced:
    """The new count, its comparison with the recorded one, and its report."""

    counted: CostOutcome
    comparison: CostComparison


def installed_version_differences(recorded: dict[str, str | None], registry: Registry) -> list[str]:
    """Packages whose installed version differs from the one ``recorded`` in a run's environment."""
    installed = environment.package_versions(registry)
    return [f"{name}: recorded {version}, installed {installed.get(name)}"
            for name, version in recorded.items() if installed.get(name) != version]  # fmt: skip


def reproduce(request: ReproduceRequest, watcher: Watcher) -> Reproduced | CostReproduced:
    if cost_path(request.folder).is_file():
        return reproduce_cost(request, watcher.say)
    original = load_summary(request.folder)
    if any(s.target_rps is not None for s in original.scenarios):
        raise BenchError(f"{request.folder} is an open-loop sweep; reproduce re-runs closed-loop `bench run` results")
    # The recorded config, its round order seed included, so the same rounds run in the same order.
    settings = {**recorded_config(request.folder).to_json_dict(), **request.overrides}
    config = prepared(validate_config(settings).with_order_seed(), watcher.say)
    manifest = load_manifest(request.folder)
    for difference in installed_version_differences(manifest.environment.packages, manifest.config.registry):
        watcher.say(f"warning: {difference}")
    run_id = request.run_id or f"{original.run_id}-repro-{default_run_id()}"
    outcome = benchmark(RunRequest.of(config, run_id, request.command_line, write_report=False), watcher)
    if not outcome.complete:
        return Reproduced(outcome, None, None)
    comparison = compare(request.folder, outcome.folder, tolerance_for(request.tolerance, False))
    write_reproduction(outcome.folder, comparison)
    report = build_report(outcome.folder, config.reports_dir) if request.write_report else None
    return Reproduced(outcome, comparison, report)


def reproduce_cost(request: ReproduceRequest, say: Callable[[str], None]) -> CostReproduced:
    """The recorded cost run counted again (its selection, warm-up, requests and repeats, unless a flag gives
    them) and compared entry by entry; the comparison is stored beside the new count, and its report shows it."""
    original = load_cost(request.folder)
    chosen = original.selection
    where: dict[str, Any] = {name: request.overrides[name] for name in ("results_dir", "reports_dir")
                             if name in request.overrides}  # fmt: skip
    config = load_config(None, False, {"servers": chosen.servers, "endpoints": chosen.endpoints,
                                       "model": chosen.models, "vary": chosen.vary, **where})  # fmt: skip
    for difference in installed_version_differences(original.environment.packages, config.registry):
        say(f"warning: {difference}")
    run_id = request.run_id or f"{original.run_id}-repro-{default_run_id()}"
    repeats = request.overrides.get("repeats", original.repeats)
    counted = cost(CostRequest(config, run_id, original.warmup, original.requests, repeats, write_report=False), say)
    names = (str(request.folder), str(counted.folder))
    comparison = compare_costs(original, counted.run, names, tolerance_for(request.tolerance, True))
    write_reproduction(counted.folder, comparison)
    report = build_cost_report(counted.folder, config.reports_dir) if request.write_report else None
    return CostReproduced(CostOutcome(counted.folder, counted.run, report), comparison)
