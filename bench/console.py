"""What a person sees at the terminal: each verb's outcome drawn (rich), and the progress of a run.

Nothing is measured or decided here; no figures are computed beyond grouping and medians of the stored
scenarios.
"""

from __future__ import annotations

import sys
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import TextIO

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from apps.model import MODEL_NAMES
from bench.analysis.chain import chain_sentence, chains
from bench.analysis.claim import claim_sentences, headline, headline_comparisons
from bench.analysis.close import close_effects, close_sentence
from bench.analysis.cost import COST_OUTCOME_RULES, CostComparison
from bench.analysis.decomposition import decomposition_sentence, decompositions
from bench.analysis.releases import release_sentence, releases
from bench.analysis.select import close_name, labeller
from bench.analysis.workers import at_best, at_best_sentence
from bench.bisect import Bisection, Step
from bench.limits import CLIENT_BOUND_PERCENT, LIMITS, MIN_SERVER_BUSY
from bench.registry import Registry
from bench.reproduce import EXIT_CODES, OUTCOME_RULES, Reproduction
from bench.results import MAX_FAILURE_RATIO, MIB, PrecisionRecord, Scenario, Variant, cost_path, summary_path
from bench.run import OnScenario, ScenarioKey
from bench.stats import median
from bench.verbs.ceiling import Ceiling
from bench.verbs.cost import CostOutcome
from bench.verbs.envs import Environments
from bench.verbs.reproduce import CostReproduced, Reproduced
from bench.verbs.run import RunOutcome, RunRequest
from bench.workload import endpoint_label

console = Console(stderr=True, width=None if sys.stderr.isatty() else 120)


class RunWatcher:
    """A run as it goes, at the terminal: its plan, a progress bar, then its outcome (``bench.verbs.run.Watcher``).
    The paths of what it wrote go to ``paths_to`` (stdout, unless a verb keeps it for JSON)."""

    def __init__(self, paths_to: TextIO = sys.stdout) -> None:
        self.paths_to = paths_to

    def say(self, line: str) -> None:
        console.print(f"[yellow]{escape(line)}[/yellow]", soft_wrap=True)

    def watching(self, request: RunRequest) -> AbstractContextManager[OnScenario | None]:
        show_plan(request)
        return progress(request)

    def finished(self, outcome: RunOutcome) -> None:
        show_run(outcome, paths_to=self.paths_to)


@contextmanager
def progress(request: RunRequest) -> Iterator[OnScenario]:
    """A progress bar over the request's plan, and the callback that advances it."""
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    # Two refreshes a second: the harness shares the client's CPU while it measures.
    with Progress(*columns, console=console, transient=False, refresh_per_second=2) as bar:
        bar.add_task("starting", total=len(request.plan))
        yield report_progress(bar, request.config.registry)


def report_progress(progress: Progress, registry: Registry) -> OnScenario:
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
        standing[0] = interval_standing(measured, registry)

    return on_scenario


def interval_standing(scenarios: list[Scenario], registry: Registry) -> str:
    """`` FastAPI/Flask GET 1.74x (1.41-1.97)``: the headline ratios so far, with their intervals once known."""
    parts = []
    for comparison in headline_comparisons(scenarios, registry):
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
    memory = any(s.server_memory is not None for s in scenarios)
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
    if memory:
        columns += ["PSS MiB", "rps/GiB"]
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
        if memory:
            pss = [s.server_memory.pss_bytes / MIB for s in measured if s.server_memory is not None]
            per_gib = [value for s in measured if (value := s.rps_per_gib) is not None]
            cells += [f"{median(pss):,.0f}" if pss else "-", f"{median(per_gib):,.0f}" if per_gib else "-"]
        table.add_row(*cells, limited_by(measured), flags(group))
    return table


def show_plan(request: RunRequest) -> None:
    """What is about to run, and for how long, before the progress bar."""
    config = request.config
    if request.without_wrk:
        console.print("[yellow]wrk is not installed (Debian package wrk): the cross-check is skipped[/yellow]")
    until = (
        f", then more rounds until each headline ratio's 95% half-width is at most {config.precision:.0%} (or "
        f"{config.max_minutes:g} minutes)"
        if config.precision
        else ""
    )
    console.print(
        f"{len(request.plan)} scenarios ({', '.join(config.server_names)} x {', '.join(config.endpoints)} x model "
        f"{', '.join(config.model)} x {', '.join(map(str, config.workers))} worker(s) x {config.repeats} "
        f"rounds{until}), {config.warmup:g} s warm-up + {config.duration:g} s each: about "
        f"{request.minutes:.1f} minutes. "
        f"Server on CPU {config.server_cpus}, Locust on {config.client_cpus}; where the server closes each "
        f"connection the client closes {' and '.join(config.close_style)}."
    )


def show_run(outcome: RunOutcome, *, paths_to: TextIO = sys.stdout) -> None:
    """The table, the verdict and what explains it, and where the results and the report are. The paths go to
    ``paths_to`` (stdout, unless it is kept for JSON)."""
    config, scenarios = outcome.request.config, outcome.summary.scenarios
    registry = config.registry
    console.print(results_table(scenarios))
    if outcome.summary.complete:
        console.print(" ".join(filter(None, [headline(outcome.summary.verdicts),
                                            close_sentence(close_effects(scenarios, registry)),
                                            decomposition_sentence(decompositions(scenarios, registry)),
                                            *(chain_sentence(found) for found in chains(scenarios)),
                                            at_best_sentence(at_best(scenarios, config.claim_margin, registry)),
                                            release_sentence(releases(scenarios, registry)),
                                            *claim_sentences(outcome.summary.verdicts)])))  # fmt: skip
    if outcome.manifest.precision:
        console.print(precision_sentence(outcome.manifest.precision))
    print(summary_path(outcome.folder), file=paths_to)
    if outcome.report:
        print(outcome.report, file=paths_to)
    if outcome.interrupted:
        console.print("[red]interrupted[/red]: the results folder is marked incomplete")
    elif not outcome.summary.complete:
        for scenario in scenarios:
            if scenario.error:
                console.print(f"[red]{scenario.id}[/red]: {scenario.error}", soft_wrap=True)
        console.print("[red]some scenarios failed[/red]: the results folder is marked incomplete")


def precision_sentence(precision: PrecisionRecord) -> str:
    """Why a precision run stopped, and the precision it reached."""
    figure = f"{precision.reached:.1%}" if precision.reached is not None else "no interval yet"
    if precision.stopped == "precise":
        return f"precise: after {precision.rounds} rounds every headline ratio's 95% half-width is {figure} or less"
    return (
        f"[yellow]out of time[/yellow] after {precision.rounds} rounds ({precision.max_minutes:g} minutes): the "
        f"widest headline half-width is {figure}, short of {precision.target:.0%}"
    )


def show_cost(outcome: CostOutcome) -> None:
    """``bench cost``: each entry's instructions and system calls per request, its repeats' spread, and where
    its instructions went; then the folder."""
    run = outcome.run
    caption = (f"{run.repeats} callgrind repeats of {run.requests} requests each after {run.warmup}; PYTHONHASHSEED="
               f"{run.hash_seed}; user-space instructions (callgrind) and system calls (strace)")  # fmt: skip
    table = Table(title="cost per request, counted", caption=caption)
    for column in ("endpoint", "server", "model", "instructions", "spread", "syscalls", "most syscalls",
                   "most instructions"):  # fmt: skip
        table.add_column(column, justify="right" if column in ("instructions", "spread", "syscalls") else "left")
    for entry in outcome.run.entries:
        calls = sorted(entry.syscalls.items(), key=lambda item: -item[1])[:3]
        spent = sorted(entry.by_distribution.items(), key=lambda item: -item[1])[:3]
        table.add_row(
            endpoint_label(entry.endpoint), entry.server, entry.model, f"{entry.per_request:,.0f}",
            f"{entry.spread:.2%}", f"{entry.syscalls_per_request:.1f}",
            ", ".join(f"{name} {count:.1f}" for name, count in calls),
            ", ".join(f"{name} {cost / entry.per_request:.0%}" for name, cost in spent),
        )  # fmt: skip
    console.print(table)
    print(cost_path(outcome.folder))
    if outcome.report is not None:
        print(outcome.report)


def show_ceiling(ceiling: Ceiling, as_json: bool) -> None:
    """The client's ceiling per user class (one JSON object with ``as_json``)."""
    if as_json:
        print(ceiling.figures.model_dump_json())
        return
    config = ceiling.request.config
    print(
        f"client ceiling on CPU {config.client_cpus} against the null server on CPU {config.server_cpus}, "
        f"{config.users} users, {config.ceiling_duration:g} s per mode:"
    )
    for user_class in ceiling.request.user_classes:
        row = ceiling.figures.user_classes[user_class]
        print(
            f"  {user_class:<9} keep-alive {row.keepalive_rps:>9,.0f} rps "
            f"({row.keepalive_client_cpu_percent:.0f}% CPU)   new connection per request "
            f"{row.new_connection_rps:>9,.0f} rps ({row.new_connection_client_cpu_percent:.0f}% CPU)"
        )


def show_step(step: Step) -> None:
    """One step of a bisection: the candidate against the good release, and the decision."""
    moved = (f"{step.moved:+.2%} ({step.interval} {step.low90:+.2%} to {step.high90:+.2%})"
             if step.moved is not None else "?")  # fmt: skip
    figures = f"{step.good_figure or 0:,.4g} -> {step.figure or 0:,.4g}"
    console.print(f"[bold]{step.version}[/bold]: {figures}, moved {moved}: {step.decision}", soft_wrap=True)


def show_environments(found: Environments) -> None:
    """The cached environments of version sets, with their size; or how many were removed."""
    if found.removed is not None:
        print(f"removed {found.removed} cached environment(s)")
        return
    if not found.cached:
        print(f"no cached environments in {found.folder}")
    for entry in found.cached:
        whole = "" if entry["complete"] else "  (incomplete: rebuilt when next needed)"
        print(f"{entry['label']:<32} {entry['bytes'] / 1e6:>8,.0f} MB  {entry['folder']}{whole}")


def show_comparison(comparison: Reproduction, as_json: bool) -> None:
    """A comparison of two runs: the tables and the conclusion, or one JSON object with ``as_json``."""
    if as_json:
        print(comparison.model_dump_json(indent=2))
    else:
        print_comparison(comparison)


def show_cost_comparison(comparison: CostComparison, as_json: bool) -> None:
    """Two cost runs: each entry's instructions per request before and after, the range, the decision."""
    if as_json:
        print(comparison.model_dump_json(indent=2))
        return
    table = Table(title=f"{comparison.before} -> {comparison.after}: instructions per request "
                  f"(tolerance {comparison.tolerance:.0%})")  # fmt: skip
    for column in ("entry", "before", "after", "after/before", "range", "decision"):
        table.add_column(column, justify="left" if column in ("entry", "decision") else "right")
    for move in comparison.moves:
        table.add_row(move.entry, f"{move.before:,.0f}", f"{move.after:,.0f}", f"{move.ratio:.4f}",
                      f"{move.low:.4f}-{move.high:.4f}", move.decision)  # fmt: skip
    console.print(table)
    if comparison.missing:
        console.print(f"counted in one run only: {', '.join(comparison.missing)}")
    console.print(f"outcome: {comparison.outcome} ({COST_OUTCOME_RULES[comparison.outcome]})")


def show_reproduced(reproduced: Reproduced | CostReproduced, as_json: bool, *, paths_to: TextIO) -> None:
    """The comparison with the recorded run (the new run's own outcome was drawn as it finished; a new count's
    table is drawn here)."""
    if isinstance(reproduced, CostReproduced):
        if not as_json:
            show_cost(reproduced.counted)
        show_cost_comparison(reproduced.comparison, as_json)
        if as_json and reproduced.counted.report is not None:
            print(reproduced.counted.report, file=paths_to)
        return
    if reproduced.comparison is not None:
        show_comparison(reproduced.comparison, as_json)
    if reproduced.report is not None:
        print(reproduced.report, file=paths_to)


def show_bisection(found: Bisection, as_json: bool) -> None:
    if as_json:
        print(found.model_dump_json(indent=2))
    else:
        console.print(found.sentence, soft_wrap=True)


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
    return sentence + f" (exit {EXIT_CODES[comparison.outcome]})"


def move_interval(low: float | None, high: float | None) -> str:
    if low is None or high is None:
        return "-"
    return f"{low:+.0%} to {high:+.0%}"


def show_server_configs(registry: Registry) -> None:
    """``bench list``: every named server config and model, as ``--servers`` and ``--model`` take them."""
    table = Table(title="server configs (--servers)", caption=f"models (--model): {', '.join(MODEL_NAMES)}")
    for column in ("name", "framework", "handler", "server", "command (port 8000, 1 worker)"):
        table.add_column(column)
    for name in registry.app_servers:
        config = registry.configs[name]
        command = " ".join(config.command_line("127.0.0.1", 8000, 1)).replace(sys.executable, "python")
        handler = config.handler or config.description
        served = f" (serves {', '.join(config.serves)} alone)" if config.serves else ""
        table.add_row(name, config.framework, handler + served, config.server, command)
    Console(width=200).print(table)


def fmt(value: float | None, pattern: str) -> str:
    return "-" if value is None else pattern.format(value)
