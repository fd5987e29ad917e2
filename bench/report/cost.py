"""The report of a ``bench cost`` run: a self-contained HTML page (inline SVG, no scripts) from its ``cost.json``
alone: the headline pair's ratio of counts, every entry's instructions and system calls per request, where the
instructions went, what a count leaves out, and (after ``bench reproduce``) whether counting again agreed."""

from __future__ import annotations

from pathlib import Path

from bench.analysis.cost import COST_OUTCOME_RULES, COUNTED, NOT_COUNTED, CostComparison, pair_costs
from bench.report import plots
from bench.report.html import reproduction_of, template, write_page
from bench.results import CostEntry, CostRun, load_cost
from bench.workload import endpoint_label, endpoint_order

TOP_SYSCALLS = 6  # system calls named per entry; the rest are in the total


def against_reference(run: CostRun) -> dict[tuple[str, str, str], float]:
    """Each entry's instructions per request over the FastAPI side of the headline pair's, same endpoint and
    model, where the pair was counted."""
    found = {(e.server, e.endpoint, e.model): e for e in run.entries}
    reference = {(p.endpoint, p.model): found[p.fast, p.endpoint, p.model].per_request for p in pair_costs(run)}
    return {(e.server, e.endpoint, e.model): e.per_request / reference[e.endpoint, e.model]
            for e in run.entries if (e.endpoint, e.model) in reference}  # fmt: skip


def owners(run: CostRun) -> list[str]:
    """Who spent the run's instructions, the largest overall first."""
    totals: dict[str, float] = {}
    for entry in run.entries:
        for owner, cost in entry.by_distribution.items():
            totals[owner] = totals.get(owner, 0.0) + cost
    return sorted(totals, key=lambda owner: -totals[owner])


def by_endpoint(run: CostRun) -> list[tuple[str, list[CostEntry]]]:
    endpoints = sorted({entry.endpoint for entry in run.entries}, key=endpoint_order)
    return [(endpoint, sorted((e for e in run.entries if e.endpoint == endpoint), key=lambda e: e.per_request))
            for endpoint in endpoints]  # fmt: skip


def render_cost(folder: Path) -> tuple[str, dict[str, str]]:
    """The page's HTML and its plot as SVG text."""
    run = load_cost(folder)
    spenders = owners(run)
    svgs = {"shares": plots.to_svg(plots.cost_shares(run.entries, spenders))} if run.entries else {}
    environment = run.environment
    page = template("cost.html").render(
        run=run,
        machine=f"{environment.cpu_model} ({environment.cpu_count} cores)",
        pairs=pair_costs(run),
        against=against_reference(run),
        by_endpoint=by_endpoint(run),
        owners=spenders,
        top_syscalls=TOP_SYSCALLS,
        counted=COUNTED,
        not_counted=NOT_COUNTED,
        reproduction=reproduction_of(folder, CostComparison),
        outcome_rules=COST_OUTCOME_RULES,
        endpoint_label=endpoint_label,
        svgs=svgs,
    )
    return page, svgs


def build_cost_report(folder: Path, reports_dir: Path) -> Path:
    """Write ``reports_dir/<run-id>/index.html`` and the plot beside it; return the page's path."""
    page, svgs = render_cost(folder)
    return write_page(reports_dir / load_cost(folder).run_id, page, svgs)
