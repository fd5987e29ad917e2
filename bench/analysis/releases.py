"""Across releases (``--vary``): each config's throughput under each version set, the step from the previous
set, and the claim's ratio under each.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from bench.analysis.claim import CLAIM_SERVERS
from bench.analysis.ratios import Comparison, RatioKey, compare, comparisons, interval_of, pair_label
from bench.analysis.select import close_name, closed_loop, round_values, variants_in
from bench.closing import CloseStyle
from bench.registry import Registry
from bench.results import Scenario, Variant
from bench.stats import median, median_interval
from bench.workload import endpoint_label, endpoint_order


@dataclass(frozen=True)
class Release:
    """One config's throughput under one version set (``--vary``), with the steps to it and the claim's ratio."""

    base: str  # the config as asked for
    server: str  # the derived config run from the version set's environment
    label: str  # the version set, e.g. gunicorn-23.0.0
    endpoint: str
    close_style: CloseStyle | None
    model: str
    workers: int
    rps: float | None  # the median over rounds
    ci_low: float | None
    ci_high: float | None
    previous: str | None  # the version set before this one, as given
    previous_rps: float | None
    step: Comparison | None  # this version set's throughput over the previous one's, paired by round
    claim: Comparison | None  # the headline ratio with this version set on its side(s)


def releases(scenarios: Sequence[Scenario], registry: Registry) -> list[Release]:
    """For each config run under several version sets: its throughput under each, in the order the versions
    were given, the step from the previous set (a paired ratio), and the claim's ratio under each set."""
    closed = closed_loop(scenarios)
    derived = registry.derived
    variants = [v for v in variants_in(closed) if v.server in derived]
    every = comparisons(closed, registry) if variants else []
    order = list(derived)
    found = []
    for endpoint in sorted({s.endpoint for s in closed}, key=endpoint_order):
        by_line: dict[tuple[str, str, int, CloseStyle | None], list[Variant]] = defaultdict(list)
        for variant in sorted(variants, key=lambda v: order.index(v.server)):
            by_line[(derived[variant.server].base, variant.model, variant.workers, variant.close_style)].append(variant)
        for (base, model, workers, close), line in by_line.items():
            previous: Variant | None = None
            previous_rps: float | None = None
            for variant in line:
                values = list(round_values(closed, variant, endpoint).values())
                low, high = median_interval(values) or (None, None)
                label = derived[variant.server].version_set.label
                found.append(
                    Release(
                        base, variant.server, label, endpoint, close, model, workers,
                        median(values) if values else None, low, high,
                        derived[previous.server].version_set.label if previous else None, previous_rps,
                        compare(closed, variant, previous, endpoint, "throughput") if previous else None,
                        claim_under(every, variant, endpoint, registry),
                    )
                )  # fmt: skip
                previous, previous_rps = variant, found[-1].rps
    return found


def claim_under(every: Sequence[Comparison], variant: Variant, endpoint: str, registry: Registry) -> Comparison | None:
    """Among ``every`` comparison, the headline pair's throughput ratio with ``variant`` (a config run under a
    version set) on its side, and the other side under the same set where it ran under one."""
    derived = registry.derived[variant.server]
    if derived.base not in CLAIM_SERVERS:
        return None
    top, bottom = (
        variant.server if server == derived.base else registry.release_name(server, derived.version_set.label) or server
        for server in CLAIM_SERVERS
    )
    wanted = RatioKey(pair_label(top, bottom, None), variant.model, variant.workers, endpoint, "throughput")
    return next((c for c in every if c.cell == wanted and c.close_style == variant.close_style), None)


def release_sentence(found: Sequence[Release]) -> str:
    """The largest step between consecutive versions, with its interval, and whether it is beyond the noise."""
    steps = [(r, r.step) for r in found if r.step is not None and r.step.ratio is not None]
    if not steps:
        return ""
    largest, step = max(steps, key=lambda pair: abs(math.log(pair[1].ratio or 1.0)))
    beyond = step.ci_low is not None and step.ci_high is not None and not step.ci_low <= 1 <= step.ci_high
    close = close_name(largest.close_style, always=True)
    return (
        f"Over releases, the largest step is {largest.base} ({endpoint_label(largest.endpoint)}"
        f"{', ' + close if close else ''}) from {largest.previous} to {largest.label}: "
        f"{largest.previous_rps or 0:,.0f} to {largest.rps or 0:,.0f} requests per second, {interval_of(step)}, "
        + ("beyond the rounds' noise (its 95% interval excludes 1)." if beyond else
           "within the rounds' noise (its 95% interval includes 1).")
    )  # fmt: skip
