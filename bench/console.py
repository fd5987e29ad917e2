"""What a person sees at the terminal: progress, the results table, the verdict line (rich).

No figures are computed here beyond grouping and medians of the stored scenarios.
"""

from __future__ import annotations

import sys
import tempfile
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from apps.model import MODEL_NAMES
from bench import ceiling
from bench.analysis import (
    close_effects,
    close_name,
    close_sentence,
    decomposition_sentence,
    decompositions,
    headline,
    headline_comparisons,
    labeller,
    release_sentence,
    releases,
)
from bench.bisect import Step
from bench.config import BenchConfig, check_cpus_here
from bench.errors import INTERRUPTED, OK, RUN_FAILED
from bench.limits import CLIENT_BOUND_PERCENT, LIMITS, MIN_SERVER_BUSY
from bench.load import wrk
from bench.load.workload import endpoint_label
from bench.report.html import build_report
from bench.reproduce import OUTCOME_RULES, Reproduction
from bench.results import (
    MAX_FAILURE_RATIO,
    SUMMARY,
    Scenario,
    Variant,
    load_manifest,
    load_summary,
)
from bench.run import ScenarioKey, estimated_seconds, run
from bench.server_configs import SERVER_CONFIGS, app_servers
from bench.stats import median
from bench.versions import cache_folder
from bench.workers import at_best, at_best_sentence

console = Console(stderr=True, width=None if sys.stderr.isatty() else 120)


@contextmanager
def progress_bar(total: int) -> Iterator[Progress]:
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    # Two refreshes a second: the harness shares the client's CPU while it measures.
    with Progress(*columns, console=console, transient=False, refresh_per_second=2) as progress:
        progress.add_task("starting", total=total)
        yield progress


def report_progress(progress: Progress) -> Callable[[int, int, ScenarioKey, Scenario | None], None]:
    """Advance the bar; after each round, show the headline ratio's current interval beside it."""
    task = progress.task_ids[0]
    measured: list[Scenario] = []
    standing = [""]

    def on_scenario(done: int, total: int, key: ScenarioKey, scenario: Scenario | None) -> None:
        if scenario is None:
            progress.update(task, total=total, completed=done, description=f"{key.id:<22}{standing[0]}")
            return
        measured.append(scenario)
        progress.update(task, completed=done)
        if scenario.error:
            progress.console.print(f"[red]{key.id} failed:[/red] {scenario.error}")
        standing[0] = interval_standing(measured)

    return on_scenario


def interval_standing(scenarios: list[Scenario]) -> str:
    """`` FastAPI/Flask GET 1.74x (1.41-1.97)``: the headline ratios so far, with their intervals once known."""
    parts = []
    for comparison in headline_comparisons(scenarios):
        if comparison.ratio is None:
            continue
        interval = f" ({comparison.ci_low:.2f}-{comparison.ci_high:.2f})" if comparison.ci_low is not None else ""
        parts.append(f"{endpoint_label(comparison.endpoint)} {comparison.ratio:.2f}x{interval}")
    return f"  FastAPI/Flask {', '.join(parts)}" if parts else ""


def flags(scenarios: list[Scenario]) -> str:
    marks = []
    counts = {
        "failed": sum(s.error is not None for s in scenarios),
        "invalid": sum(not s.valid and s.error is None for s in scenarios),
        "client-bound": sum(s.client_bound for s in scenarios),
        "under-driven": sum(s.under_driven for s in scenarios),
    }
    for name, count in counts.items():
        if count:
            marks.append(f"{name} {count}/{len(scenarios)}")
    return ", ".join(marks)


def limited_by(scenarios: list[Scenario]) -> str:
    """What limited a variant's repeats: the one limit, or each with its count."""
    counts = Counter(s.limited_by for s in scenarios)
    if len(counts) == 1:
        return next(iter(counts))
    return ", ".join(f"{limit} {count}/{len(scenarios)}" for limit, count in counts.most_common())


def results_table(scenarios: list[Scenario]) -> Table:
    """Median rps and p99 per variant and endpoint over the measured repeats, with what limited them and flags;
    where the run read the database, its busy share and the passenger reads per request too."""
    database = any(s.database_busy is not None or s.queries_per_request is not None for s in scenarios)
    table = Table(
        title="median over repeats",
        caption=f"server busy: its CPUs' busy share over the window; under-driven: below {MIN_SERVER_BUSY:.0%}, "
        f"client-bound: Locust used >= {CLIENT_BOUND_PERCENT:.0f}% of its CPU (either way rps is a lower bound of "
        f"the server's); invalid: > {MAX_FAILURE_RATIO:.1%} failures; limited by: "
        + "; ".join(f"{name}: {meaning}" for name, meaning in LIMITS.items() if name != "offered load"),
    )
    columns = ["endpoint", "server", "repeats", "rps", "p99 ms", "server CPU µs/req", "server busy", "client CPU %"]
    if database:
        columns += ["DB busy", "queries/req"]
    for column in (*columns, "limited by", "flags"):
        # a long config name (a version set's, say) wraps rather than losing the part that tells it apart
        table.add_column(column, justify="left" if column in ("endpoint", "server", "flags") else "right",
                         overflow="fold" if column == "server" else "ellipsis")  # fmt: skip
    groups: dict[tuple[str, Variant, float | None], list[Scenario]] = defaultdict(list)
    for scenario in scenarios:
        groups[(scenario.endpoint, scenario.variant, scenario.target_rps)].append(scenario)
    label = labeller(scenarios)
    for (endpoint, variant, target), group in groups.items():
        framework = label(variant) if target is None else f"{label(variant)} at {target:,.0f} rps"
        measured = [s for s in group if s.error is None and s.requests > 0]
        if not measured:
            table.add_row(endpoint, framework, "0", *["-"] * (len(columns) - 3), "-", flags(group))
            continue
        cpu = [s.server_cpu_us_per_request for s in measured if s.server_cpu_us_per_request is not None]
        busy = [s.server_busy for s in measured if s.server_busy is not None]
        cells = [
            endpoint,
            framework,
            str(len(measured)),
            ("≥" if any(s.lower_bound for s in measured) else "") + f"{median([s.rps for s in measured]):,.0f}",
            f"{median([s.p99_ms for s in measured if s.p99_ms is not None]):.2f}",
            f"{median(cpu):.0f}" if cpu else "-",
            f"{median(busy):.2f}" if busy else "-",
            f"{median([s.client_cpu_percent for s in measured]):.0f}",
        ]
        if database:
            database_busy = [s.database_busy for s in measured if s.database_busy is not None]
            reads = [s.queries_per_request for s in measured if s.queries_per_request is not None]
            cells += [
                f"{median(database_busy):.2f}" if database_busy else "-",
                f"{median(reads):.2f}" if reads else "-",
            ]
        table.add_row(*cells, limited_by(measured), flags(group))
    return table


def run_and_show(
    config: BenchConfig,
    plan: list[ScenarioKey],
    run_id: str | None,
    command_line: list[str],
    write_report: bool,
    *,
    paths_to: TextIO = sys.stdout,
) -> int:
    """Run ``plan`` with a progress bar, then the table, the report and its verdict; return the exit code.
    The paths of summary.json and the report go to ``paths_to`` (stdout, unless it is kept for JSON)."""
    check_cpus_here(config)  # before anything is printed, and before the harness confines itself to the client CPUs
    if config.crosscheck == "wrk" and not wrk.available():
        console.print("[yellow]wrk is not installed (Debian package wrk): the cross-check is skipped[/yellow]")
    until = (
        f", then more rounds until each headline ratio's 95% half-width is at most {config.precision:.0%} (or "
        f"{config.max_minutes:g} minutes)"
        if config.precision
        else ""
    )
    console.print(
        f"{len(plan)} scenarios ({', '.join(config.server_names)} x {', '.join(config.endpoints)} x model "
        f"{', '.join(config.model)} x {', '.join(map(str, config.workers))} worker(s) x {config.repeats} "
        f"rounds{until}), {config.warmup:g} s warm-up + {config.duration:g} s each: about "
        f"{estimated_seconds(config, len(plan)) / 60:.1f} minutes. "
        f"Server on CPU {config.server_cpus}, Locust on {config.client_cpus}; where the server closes each "
        f"connection the client closes {' and '.join(config.close_style)}."
    )
    with progress_bar(len(plan)) as progress:
        outcome = run(config, run_id, command_line, report_progress(progress), plan)
    console.print(results_table(outcome.scenarios))
    summary = load_summary(outcome.folder, require_complete=False)
    if summary.complete:
        console.print(" ".join(filter(None, [headline(summary.verdicts),
                                            close_sentence(close_effects(outcome.scenarios)),
                                            decomposition_sentence(decompositions(outcome.scenarios)),
                                            at_best_sentence(at_best(outcome.scenarios, config.claim_margin)),
                                            release_sentence(releases(outcome.scenarios))])))  # fmt: skip
    precision = load_manifest(outcome.folder).get("precision")
    if precision:
        console.print(precision_sentence(precision))
    print(outcome.folder / SUMMARY, file=paths_to)
    if summary.complete and write_report:
        print(build_report(outcome.folder, config.reports_dir), file=paths_to)
    if outcome.interrupted:
        console.print("[red]interrupted[/red]: the results folder is marked incomplete")
        return INTERRUPTED
    if not summary.complete:
        for scenario in outcome.scenarios:
            if scenario.error:
                console.print(f"[red]{scenario.id}[/red]: {scenario.error}", soft_wrap=True)
        console.print("[red]some scenarios failed[/red]: the results folder is marked incomplete")
        return RUN_FAILED
    return OK


def precision_sentence(precision: dict[str, Any]) -> str:
    """Why a precision run stopped, and the precision it reached."""
    reached = precision.get("reached")
    figure = f"{reached:.1%}" if reached is not None else "no interval yet"
    if precision.get("stopped") == "precise":
        return f"precise: after {precision['rounds']} rounds every headline ratio's 95% half-width is {figure} or less"
    return (
        f"[yellow]out of time[/yellow] after {precision['rounds']} rounds ({precision['max_minutes']:g} minutes): the "
        f"widest headline half-width is {figure}, short of {precision['target']:.0%}"
    )


def print_ceiling(config: BenchConfig, user_classes: list[str], as_json: bool) -> int:
    """Measure the client's ceiling for ``user_classes`` and print it (one JSON object with ``as_json``)."""
    check_cpus_here(config)
    with tempfile.TemporaryDirectory(prefix="titanic-bench-ceiling-") as scratch:
        result = ceiling.measure(config, user_classes, Path(scratch))
    if as_json:
        print(result.model_dump_json())
        return OK
    print(
        f"client ceiling on CPU {config.client_cpus} against the null server on CPU {config.server_cpus}, "
        f"{config.users} users, {config.ceiling_duration:g} s per mode:"
    )
    for user_class in user_classes:
        row = result.user_classes[user_class]
        print(
            f"  {user_class:<9} keep-alive {row.keepalive_rps:>9,.0f} rps "
            f"({row.keepalive_client_cpu_percent:.0f}% CPU)   new connection per request "
            f"{row.new_connection_rps:>9,.0f} rps ({row.new_connection_client_cpu_percent:.0f}% CPU)"
        )
    return OK


def print_step(step: Step) -> None:
    """One step of a bisection: the candidate against the good release, and the decision."""
    moved = f"{step.moved:+.1%} (90% CI {step.low90:+.1%} to {step.high90:+.1%})" if step.moved is not None else "?"
    figures = f"{step.good_figure or 0:,.4g} -> {step.figure or 0:,.4g}"
    console.print(f"[bold]{step.version}[/bold]: {figures}, moved {moved}: {step.decision}", soft_wrap=True)


def print_environments(found: list[dict[str, Any]]) -> None:
    """The cached environments of version sets, with their size."""
    if not found:
        print(f"no cached environments in {cache_folder() / 'envs'}")
    for entry in found:
        whole = "" if entry["complete"] else "  (incomplete: rebuilt when next needed)"
        print(f"{entry['label']:<32} {entry['bytes'] / 1e6:>8,.0f} MB  {entry['folder']}{whole}")


def print_comparison(comparison: Reproduction) -> None:
    """Environment first, then verdicts, ratios and per-framework changes, then the conclusion."""
    console.print(f"[bold]{comparison.before}[/bold] -> [bold]{comparison.after}[/bold]")
    differences = comparison.environment_differences
    console.print("environment: " + ("the same" if not differences else f"{len(differences)} difference(s)"))
    for difference in differences:
        console.print(f"  {difference}")
    verdict_table = Table(title="verdicts on the claim (both runs judged by today's rules)")
    for column in ("pairing", "model", "workers", "endpoint", "measured as", "before", "after", ""):
        verdict_table.add_column(column)
    for pair in comparison.verdicts:
        verdict_table.add_row(pair.label, pair.model, str(pair.workers), pair.endpoint, pair.metric,
                              str(pair.before), str(pair.after), decision_mark(pair.decision))  # fmt: skip
    console.print(verdict_table)
    ratio_table = Table(
        title=f"ratios: equivalent when the move's 90% interval lies within ±{comparison.tolerance:.0%}; changed "
        f"when its interval (95% for all ratios together) excludes no change and it moved more than "
        f"{comparison.tolerance:.0%}"
    )
    for column in ("ratio", "model", "workers", "endpoint", "measured as", "before", "after", "moved", "90% CI",
                   "change CI", ""):  # fmt: skip
        ratio_table.add_column(column)
    for move in comparison.ratios:
        ratio_table.add_row(
            move.label, move.model, str(move.workers), move.endpoint, move.metric, fmt(move.before, "{:.2f}x"),
            fmt(move.after, "{:.2f}x"), fmt(move.moved, "{:+.1%}"), move_interval(move.low90, move.high90),
            move_interval(move.low95, move.high95),
            decision_mark(move.decision) + (f" ({move.rounds_needed} rounds would tell)" if move.rounds_needed else ""),
        )  # fmt: skip
    console.print(ratio_table)
    change_table = Table(title="per server config (Welch t-test over repeats, p < 0.05 = significant)")
    for column in ("server", "model", "workers", "endpoint", "figure", "before", "after", "change", "p", ""):
        change_table.add_column(column)
    for change in comparison.figures:
        change_table.add_row(
            " ".join(filter(None, [change.server, close_name(change.close_style)])), change.model,
            str(change.workers), change.endpoint, change.figure,
            fmt(change.before, "{:,.2f}"), fmt(change.after, "{:,.2f}"), fmt(change.change, "{:+.1%}"),
            fmt(change.p_value, "{:.3f}"),
            "significant" if change.significant else "",
        )  # fmt: skip
    console.print(change_table)
    console.print(reproduction_sentence(comparison))


def decision_mark(decision: str) -> str:
    return {"equivalent": "same", "changed": "[red]changed[/red]", "undetermined": "[yellow]undetermined[/yellow]"}[
        decision
    ]


def reproduction_sentence(comparison: Reproduction) -> str:
    """The conclusion, with its exit code's meaning and, if undetermined, the rounds that would decide."""
    colour = {"reproduced": "green", "changed": "red", "undetermined": "yellow"}[comparison.outcome]
    sentence = f"[{colour}]{comparison.outcome}[/{colour}]: {OUTCOME_RULES[comparison.outcome]}"
    changed = [m.label + " " + endpoint_label(m.endpoint) for m in comparison.ratios if m.decision == "changed"]
    changed += [
        f"verdict {p.label} {endpoint_label(p.endpoint)}" for p in comparison.verdicts if p.decision == "changed"
    ]
    if changed:
        sentence += f" ({', '.join(changed)})"
    if comparison.outcome == "undetermined" and comparison.rounds_needed:
        sentence += f"; about {comparison.rounds_needed} rounds per run would decide every ratio"
    return sentence + f" (exit {comparison.exit_code})"


def move_interval(low: float | None, high: float | None) -> str:
    if low is None or high is None:
        return "-"
    return f"{low:+.0%} to {high:+.0%}"


def print_server_configs() -> None:
    """``bench list``: every named server config and model, as ``--servers`` and ``--model`` take them."""
    table = Table(title="server configs (--servers)", caption=f"models (--model): {', '.join(MODEL_NAMES)}")
    for column in ("name", "framework", "handler", "server", "command (port 8000, 1 worker)"):
        table.add_column(column)
    for name in app_servers():
        config = SERVER_CONFIGS[name]
        command = " ".join(config.command_line("127.0.0.1", 8000, 1)).replace(sys.executable, "python")
        table.add_row(name, config.framework, config.handler or config.description, config.server, command)
    Console(width=200).print(table)


def fmt(value: float | None, pattern: str) -> str:
    return "-" if value is None else pattern.format(value)
