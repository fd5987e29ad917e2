"""What a person sees during and after a run: a progress bar and a table (rich). No figures computed here
beyond grouping and medians of the stored scenarios."""

from __future__ import annotations

import sys
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from bench.results import Scenario
from bench.run import ScenarioKey
from bench.stats import median

console = Console(stderr=True, width=None if sys.stderr.isatty() else 120)


@contextmanager
def progress_bar(total: int) -> Iterator[Progress]:
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as progress:
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
    }
    for name, count in counts.items():
        if count:
            marks.append(f"{name} {count}/{len(scenarios)}")
    return ", ".join(marks)


def results_table(scenarios: list[Scenario]) -> Table:
    """Median rps and p99 per framework and endpoint over the measured repeats, with flags."""
    table = Table(
        title="median over repeats",
        caption="client-bound: Locust used >= 90% of its CPU, so rps is a lower bound of the server's; "
        "invalid: > 0.1% failures",
    )
    for column in ("endpoint", "framework", "repeats", "rps", "p99 ms", "server CPU µs/req", "client CPU %", "flags"):
        table.add_column(column, justify="left" if column in ("endpoint", "framework", "flags") else "right")
    groups: dict[tuple[str, str], list[Scenario]] = defaultdict(list)
    for scenario in scenarios:
        groups[(scenario.endpoint, scenario.framework)].append(scenario)
    for (endpoint, framework), group in groups.items():
        measured = [s for s in group if s.error is None and s.requests > 0]
        if not measured:
            table.add_row(endpoint, framework, "0", "-", "-", "-", "-", flags(group))
            continue
        cpu = [s.server_cpu_us_per_request for s in measured if s.server_cpu_us_per_request is not None]
        table.add_row(
            endpoint,
            framework,
            str(len(measured)),
            f"{median([s.rps for s in measured]):,.0f}",
            f"{median([s.p99_ms for s in measured if s.p99_ms is not None]):.2f}",
            f"{median(cpu):.0f}" if cpu else "-",
            f"{median([s.client_cpu_percent for s in measured]):.0f}",
            flags(group),
        )
    return table
