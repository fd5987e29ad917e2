"""What a person sees at the terminal: progress, the results table, the verdict line (rich).

No figures are computed here beyond grouping and medians of the stored scenarios.
"""

from __future__ import annotations

import json
import sys
import tempfile
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from apps.model import MODEL_NAMES
from bench import ceiling
from bench.analysis import close_effects, close_name, close_sentence, headline, labeller, verdicts
from bench.config import BenchConfig, check_cpus_here
from bench.load import wrk
from bench.report.html import build_report
from bench.results import CLIENT_BOUND_PERCENT, MAX_FAILURE_RATIO, MIN_SERVER_BUSY, Scenario, Variant
from bench.run import ScenarioKey, estimated_seconds, run
from bench.server_configs import APP_SERVERS, SERVER_CONFIGS
from bench.stats import median

console = Console(stderr=True, width=None if sys.stderr.isatty() else 120)


@contextmanager
def progress_bar(total: int) -> Iterator[Progress]:
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    # Two refreshes a second: the harness shares the client's CPU while it measures.
    with Progress(*columns, console=console, transient=False, refresh_per_second=2) as progress:
        progress.add_task("starting", total=total)
        yield progress


def report_progress(progress: Progress) -> Callable[[int, int, ScenarioKey, Scenario | None], None]:
    task = progress.task_ids[0]

    def on_scenario(done: int, total: int, key: ScenarioKey, scenario: Scenario | None) -> None:
        if scenario is None:
            progress.update(task, completed=done, description=f"{key.id:<22}")
        else:
            progress.update(task, completed=done)
            if scenario.error:
                progress.console.print(f"[red]{key.id} failed:[/red] {scenario.error}")

    return on_scenario


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


def results_table(scenarios: list[Scenario]) -> Table:
    """Median rps and p99 per variant and endpoint over the measured repeats, with flags."""
    table = Table(
        title="median over repeats",
        caption=f"server busy: its CPUs' busy share over the window; under-driven: below {MIN_SERVER_BUSY:.0%}, "
        f"client-bound: Locust used >= {CLIENT_BOUND_PERCENT:.0f}% of its CPU (either way rps is a lower bound of "
        f"the server's); invalid: > {MAX_FAILURE_RATIO:.1%} failures",
    )
    columns = ("endpoint", "server", "repeats", "rps", "p99 ms", "server CPU µs/req", "server busy", "client CPU %")
    for column in (*columns, "flags"):
        table.add_column(column, justify="left" if column in ("endpoint", "server", "flags") else "right")
    groups: dict[tuple[str, Variant, float | None], list[Scenario]] = defaultdict(list)
    for scenario in scenarios:
        groups[(scenario.endpoint, scenario.variant, scenario.target_rps)].append(scenario)
    label = labeller(scenarios)
    for (endpoint, variant, target), group in groups.items():
        framework = label(variant) if target is None else f"{label(variant)} at {target:,.0f} rps"
        measured = [s for s in group if s.error is None and s.requests > 0]
        if not measured:
            table.add_row(endpoint, framework, "0", "-", "-", "-", "-", "-", flags(group))
            continue
        cpu = [s.server_cpu_us_per_request for s in measured if s.server_cpu_us_per_request is not None]
        busy = [s.server_busy for s in measured if s.server_busy is not None]
        table.add_row(
            endpoint,
            framework,
            str(len(measured)),
            ("≥" if any(s.lower_bound for s in measured) else "") + f"{median([s.rps for s in measured]):,.0f}",
            f"{median([s.p99_ms for s in measured if s.p99_ms is not None]):.2f}",
            f"{median(cpu):.0f}" if cpu else "-",
            f"{median(busy):.2f}" if busy else "-",
            f"{median([s.client_cpu_percent for s in measured]):.0f}",
            flags(group),
        )
    return table


def run_and_show(
    config: BenchConfig, plan: list[ScenarioKey], run_id: str | None, command_line: list[str], write_report: bool
) -> int:
    """Run ``plan`` with a progress bar, then the table, the report and its verdict; return the exit code."""
    check_cpus_here(config)  # before anything is printed, and before the harness confines itself to the client CPUs
    if config.crosscheck == "wrk" and not wrk.available():
        console.print("[yellow]wrk is not installed (Debian package wrk): the cross-check is skipped[/yellow]")
    console.print(
        f"{len(plan)} scenarios ({', '.join(config.server_names)} x {', '.join(config.endpoints)} x model "
        f"{', '.join(config.model)} x {', '.join(map(str, config.workers))} worker(s) x {config.repeats} "
        f"repeats), {config.warmup:g} s warm-up + {config.duration:g} s each: about "
        f"{estimated_seconds(config, len(plan)) / 60:.1f} minutes. "
        f"Server on CPU {config.server_cpus}, Locust on {config.client_cpus}; where the server closes each "
        f"connection the client closes {' and '.join(config.close_style)}."
    )
    with progress_bar(len(plan)) as progress:
        outcome = run(config, run_id, command_line, report_progress(progress), plan)
    console.print(results_table(outcome.scenarios))
    print(outcome.folder)
    if outcome.complete and write_report:
        page = build_report(outcome.folder, config.reports_dir)
        console.print(" ".join(filter(None, [headline(verdicts(outcome.scenarios)),
                                            close_sentence(close_effects(outcome.scenarios))])))  # fmt: skip
        print(page)
    if outcome.interrupted:
        console.print("[red]interrupted[/red]: the results folder is marked incomplete")
        return 130
    if not outcome.complete:
        for scenario in outcome.scenarios:
            if scenario.error:
                console.print(f"[red]{scenario.id}[/red]: {scenario.error}", soft_wrap=True)
        console.print("[red]some scenarios failed[/red]: the results folder is marked incomplete")
        return 1
    return 0


def print_ceiling(config: BenchConfig, user_classes: list[str], as_json: bool) -> int:
    """Measure the client's ceiling for ``user_classes`` and print it (one JSON object with ``as_json``)."""
    check_cpus_here(config)
    with tempfile.TemporaryDirectory(prefix="titanic-bench-ceiling-") as scratch:
        result = ceiling.measure(config, user_classes, Path(scratch))
    if as_json:
        print(json.dumps(result))
        return 0
    print(
        f"client ceiling on CPU {config.client_cpus} against the null server on CPU {config.server_cpus}, "
        f"{config.users} users, {config.ceiling_duration:g} s per mode:"
    )
    for user_class in user_classes:
        row = result[user_class]
        print(
            f"  {user_class:<9} keep-alive {row['keepalive_rps']:>9,.0f} rps "
            f"({row['keepalive_client_cpu_percent']:.0f}% CPU)   new connection per request "
            f"{row['new_connection_rps']:>9,.0f} rps ({row['new_connection_client_cpu_percent']:.0f}% CPU)"
        )
    return 0


def print_comparison(comparison: dict[str, Any]) -> None:
    """Environment first, then verdicts, ratios and per-framework changes, then the conclusion."""
    console.print(f"[bold]{comparison['before']}[/bold] -> [bold]{comparison['after']}[/bold]")
    differences = comparison["environment_differences"]
    console.print("environment: " + ("the same" if not differences else f"{len(differences)} difference(s)"))
    for difference in differences:
        console.print(f"  {difference}")
    verdict_table = Table(title="verdicts on the claim")
    for column in ("pairing", "model", "workers", "endpoint", "measured as", "before", "after", ""):
        verdict_table.add_column(column)
    for pair in comparison["verdicts"]:
        verdict_table.add_row(pair["label"], pair["model"], str(pair["workers"]), pair["endpoint"], pair["metric"],
                              str(pair["before"]), str(pair["after"]),
                              "same" if pair["agrees"] else "[red]differs[/red]")  # fmt: skip
    console.print(verdict_table)
    ratio_table = Table(title=f"ratios (tolerance {comparison['tolerance']:.0%})")
    for column in ("ratio", "model", "workers", "endpoint", "measured as", "before", "after", "moved", "95% CI", ""):
        ratio_table.add_column(column)
    for move in comparison["ratios"]:
        ratio_table.add_row(
            move["label"], move["model"], str(move["workers"]), move["endpoint"], move["metric"],
            fmt(move["before"], "{:.2f}x"),
            fmt(move["after"], "{:.2f}x"), fmt(move["moved"], "{:+.1%}"), move_interval(move),
            move_flag(move),
        )  # fmt: skip
    console.print(ratio_table)
    change_table = Table(title="per server config (Welch t-test over repeats, p < 0.05 = significant)")
    for column in ("server", "model", "workers", "endpoint", "figure", "before", "after", "change", "p", ""):
        change_table.add_column(column)
    for change in comparison["figures"]:
        change_table.add_row(
            " ".join(filter(None, [change["server"], close_name(change.get("close_style"))])), change["model"],
            str(change["workers"]), change["endpoint"], change["figure"],
            fmt(change["before"], "{:,.2f}"), fmt(change["after"], "{:,.2f}"), fmt(change["change"], "{:+.1%}"),
            fmt(change["p_value"], "{:.3f}"),
            "significant" if change["significant"] else "",
        )  # fmt: skip
    console.print(change_table)
    console.print(reproduction_sentence(comparison))


def reproduction_sentence(comparison: dict[str, Any]) -> str:
    """The conclusion: reproduced or not, and if not, whether the runs' own noise can explain the moves."""
    if comparison["reproduced"]:
        return "[green]reproduced[/green]: every verdict agrees and every ratio moved less than the tolerance"
    differing = sum(not pair["agrees"] for pair in comparison["verdicts"])
    moved = [move for move in comparison["ratios"] if not move["within_tolerance"]]
    noise = sum(not move["beyond_noise"] for move in moved)
    sentence = (
        f"[red]not reproduced[/red]: {differing} verdict(s) differ, {len(moved)} ratio(s) moved by "
        f"{comparison['tolerance']:.0%} or more"
    )
    if noise:
        sentence += (
            f"; {noise} of those moves lie within the runs' own noise (their 95% interval includes no change): "
            "more repeats would tell"
        )
    return sentence


def move_flag(move: dict[str, Any]) -> str:
    if move["within_tolerance"]:
        return "ok"
    return "[red]moved[/red]" if move["beyond_noise"] else "[red]moved[/red] (within noise)"


def move_interval(move: dict[str, Any]) -> str:
    if move["moved_low"] is None or move["moved_high"] is None:
        return "-"
    return f"{move['moved_low']:+.0%} to {move['moved_high']:+.0%}"


def print_server_configs() -> None:
    """``bench list``: every named server config and model, as ``--servers`` and ``--model`` take them."""
    table = Table(title="server configs (--servers)", caption=f"models (--model): {', '.join(MODEL_NAMES)}")
    for column in ("name", "framework", "handler", "server", "command (port 8000, 1 worker)"):
        table.add_column(column)
    for name in APP_SERVERS:
        config = SERVER_CONFIGS[name]
        command = " ".join(config.command("127.0.0.1", 8000, 1)).replace(sys.executable, "python")
        table.add_row(name, config.framework, config.handler, config.server, command)
    Console(width=200).print(table)


def fmt(value: float | None, pattern: str) -> str:
    return "-" if value is None else pattern.format(value)
