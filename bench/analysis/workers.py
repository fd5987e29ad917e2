"""Each config at its best worker count: the claim judged a second way where a run measured several.

A sync worker blocks while its database answers, so a sync server meets I/O with more workers than cores
(TechEmpower's Flask entry ran three per core); an async one waits for many requests at once in one process.
Comparing both at one worker, as the seed deploys them, favours the async side on a database workload. So
where a run measured several worker counts on the same CPUs, each config's best count (its highest median
throughput) is found per endpoint and model, and FastAPI at its best is paired round by round with Flask at
its best. Pure functions of stored scenarios.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from bench.analysis.claim import CLAIM, CLAIM_PAIR, judge
from bench.analysis.ratios import Comparison, compare
from bench.analysis.select import closed_loop, usable
from bench.closing import CloseStyle
from bench.registry import Registry
from bench.results import Scenario, Variant, VerdictName
from bench.stats import median
from bench.workload import endpoint_label


@dataclass(frozen=True)
class AtBest:
    """FastAPI's config at its best worker count over Flask's at its best, on one endpoint and model."""

    endpoint: str
    model: str
    numerator: Variant
    denominator: Variant
    comparison: Comparison
    verdict: VerdictName
    reason: str


class Line(NamedTuple):
    """One config's figures over its worker counts: the variant but for the count, on one endpoint."""

    server: str
    model: str
    endpoint: str
    close_style: CloseStyle | None


def best_counts(scenarios: Sequence[Scenario]) -> dict[Line, int]:
    """(server, model, endpoint, close style) -> the worker count with the highest median throughput."""
    medians: dict[Line, dict[int, float]] = defaultdict(dict)
    grouped: dict[tuple[Variant, str], list[float]] = defaultdict(list)
    for scenario in usable(closed_loop(scenarios)):
        grouped[(scenario.variant, scenario.endpoint)].append(scenario.rps)
    for (variant, endpoint), values in grouped.items():
        medians[Line(variant.server, variant.model, endpoint, variant.close_style)][variant.workers] = median(values)
    return {line: max(counts, key=counts.__getitem__) for line, counts in medians.items()}


def at_best(scenarios: Sequence[Scenario], margin: float, registry: Registry) -> list[AtBest]:
    """Every FastAPI config against every Flask config, each at its best worker count, per endpoint and model;
    empty where the run measured one worker count only."""
    if len({s.workers for s in scenarios}) < 2:
        return []
    best = best_counts(scenarios)
    numerator_family, denominator_family = CLAIM_PAIR
    found = []
    for (server, model, endpoint, close), workers in best.items():
        if registry.family(server) != numerator_family:
            continue
        for (other, other_model, other_endpoint, other_close), other_workers in best.items():
            if registry.family(other) != denominator_family or (other_model, other_endpoint) != (model, endpoint):
                continue
            if close is not None and other_close is not None and close != other_close:
                continue
            top, bottom = Variant(server, model, workers, close), Variant(other, model, other_workers, other_close)
            comparison = compare(scenarios, top, bottom, endpoint, "throughput")
            verdict, _, reason = judge(comparison, margin)
            found.append(AtBest(endpoint, model, top, bottom, comparison, verdict, reason))
    return found


def workers_name(count: int) -> str:
    return f"{count} worker{'s' if count > 1 else ''}"


def at_best_sentence(found: Sequence[AtBest]) -> str:
    """One sentence: the claim with each side at its best worker count, per endpoint."""
    if not found:
        return ""
    parts = []
    for item in found:
        ratio = item.comparison
        figure = f"{ratio.ratio:.2f}x" if ratio.ratio is not None else "an unknown multiple"
        interval = f" (95% CI {ratio.ci_low:.2f}-{ratio.ci_high:.2f})" if ratio.ci_low is not None else ""
        parts.append(
            f"{endpoint_label(item.endpoint)}: {item.numerator.server} with {workers_name(item.numerator.workers)} "
            f"served {figure}{interval} as many as {item.denominator.server} with "
            f"{workers_name(item.denominator.workers)}, {item.verdict}"
        )
    return f'With each config at its best worker count, "{CLAIM}": ' + "; ".join(parts) + "."
