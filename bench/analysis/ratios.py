"""Ratios between server configs: a pair of variants compared on one endpoint and metric, round by round (each
round measures every variant once, in a random order): the median of the per-round ratios, with the
order-statistic interval of ``bench.stats``; and every comparison a run makes, for the family pairs its
registry names.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from bench.analysis.select import Metric, close_name, closed_loop, groups, paired_values, variants_in
from bench.closing import CloseStyle
from bench.limits import DATABASE_LIMITS
from bench.registry import Registry
from bench.results import Scenario, Variant
from bench.stats import paired_ratio
from bench.workload import endpoint_order


class RatioKey(NamedTuple):
    """What identifies a ratio across runs, the one key every comparison, verdict and reproduction uses: the pair of
    configs as ``pair_label`` names it (with the client's close style where it is lazy; a config's version set is
    in its name), the model, the worker count, the endpoint and the metric."""

    label: str
    model: str
    workers: int
    endpoint: str
    metric: str


@dataclass(frozen=True)
class Comparison:
    """``numerator`` / ``denominator`` ratio (server configs serving the same model with as many workers)
    of a metric on one endpoint, with its interval and caveats."""

    numerator: str
    denominator: str
    model: str
    workers: int
    endpoint: str
    metric: Metric
    ratio: float | None  # the median of the per-round ratios
    ci_low: float | None
    ci_high: float | None
    rounds: int  # rounds that measured both sides
    log_spread: float | None  # standard deviation of the per-round log ratios
    client_bound: bool
    under_driven: bool  # a throughput figure behind it came from a server that was not kept busy
    invalid: bool
    database_bound: bool = False  # a throughput figure behind it was limited by the database (bench.limits)
    numerator_close: CloseStyle | None = None  # the client's close style, on a side whose server closes connections
    denominator_close: CloseStyle | None = None

    @property
    def close_style(self) -> CloseStyle | None:
        return self.numerator_close or self.denominator_close

    @property
    def half_width(self) -> float | None:
        """Half the interval's width as a share of the ratio: its precision."""
        if self.ratio is None or self.ci_low is None or self.ci_high is None:
            return None
        return (self.ci_high - self.ci_low) / 2 / self.ratio

    @property
    def label(self) -> str:
        return pair_label(self.numerator, self.denominator, self.close_style)

    @property
    def key(self) -> RatioKey:
        """What identifies it across runs."""
        return RatioKey(self.label, self.model, self.workers, self.endpoint, self.metric)

    @property
    def cell(self) -> RatioKey:
        """What it compares, whatever the client's close style."""
        return RatioKey(pair_label(self.numerator, self.denominator, None), self.model, self.workers, self.endpoint,
                        self.metric)  # fmt: skip

    @property
    def sides(self) -> tuple[Variant, Variant]:
        return (
            Variant(self.numerator, self.model, self.workers, self.numerator_close),
            Variant(self.denominator, self.model, self.workers, self.denominator_close),
        )


def pair_label(numerator: str, denominator: str, close_style: str | None) -> str:
    """``fastapi-uvicorn/flask-gunicorn-sync (lazy close)``: what a ratio compares, the same in every run."""
    close = close_name(close_style)
    return f"{numerator}/{denominator}" + (f" ({close})" if close else "")


def ratio_sides(
    scenarios: Sequence[Scenario], numerator: Variant, denominator: Variant, endpoint: str
) -> tuple[list[Scenario], list[Scenario]]:
    """The closed-loop repeats on each side of a ratio."""
    grouped = groups(closed_loop(scenarios))
    return grouped.get((numerator, endpoint), []), grouped.get((denominator, endpoint), [])


def compare(
    scenarios: Sequence[Scenario], numerator: Variant, denominator: Variant, endpoint: str, metric: Metric
) -> Comparison:
    top, bottom = ratio_sides(scenarios, numerator, denominator, endpoint)
    behind = [*top, *bottom]
    ratio = paired_ratio(*paired_values(top, bottom, metric))
    idle = {"throughput": [s.under_driven for s in behind], "throughput_wrk": [s.wrk_under_driven for s in behind]}
    return Comparison(
        numerator=numerator.server,
        denominator=denominator.server,
        model=numerator.model,
        workers=numerator.workers,
        endpoint=endpoint,
        metric=metric,
        ratio=ratio.ratio if ratio else None,
        ci_low=ratio.ci_low if ratio else None,
        ci_high=ratio.ci_high if ratio else None,
        rounds=ratio.rounds if ratio else 0,
        log_spread=ratio.log_spread if ratio else None,
        client_bound=any(s.client_bound for s in behind),
        under_driven=any(idle.get(metric, [])),
        invalid=any(not s.valid for s in behind),
        database_bound=metric == "throughput" and any(s.limited_by in DATABASE_LIMITS for s in behind),
        numerator_close=numerator.close_style,
        denominator_close=denominator.close_style,
    )


def comparisons(scenarios: Sequence[Scenario], registry: Registry) -> list[Comparison]:
    """For each pair the registry compares (``servers.toml``'s ``pairs``: families, or single configs), every
    config of the one against every config of the other, serving the same model with as many workers, for each
    endpoint both serve and each metric (closed-loop scenarios only)."""
    scenarios = closed_loop(scenarios)
    variants = variants_in(scenarios)
    endpoints = sorted({s.endpoint for s in scenarios}, key=endpoint_order)
    metrics: list[Metric] = ["throughput", "cpu_efficiency"]
    if any(s.crosscheck for s in scenarios):
        metrics.append("throughput_wrk")
    return [
        compare(scenarios, top, bottom, endpoint, metric)
        for metric in metrics
        for endpoint in endpoints
        for top_group, bottom_group in registry.pairs
        for top in variants
        for bottom in variants
        if registry.in_group(top.server, top_group)
        and registry.in_group(bottom.server, bottom_group)
        and top.server != bottom.server
        and registry.config(top.server).answers(endpoint)
        and registry.config(bottom.server).answers(endpoint)
        and (top.model, top.workers) == (bottom.model, bottom.workers)
        and (None in (top.close_style, bottom.close_style) or top.close_style == bottom.close_style)
    ]


def values_behind(scenarios: Sequence[Scenario], comparison: Comparison) -> tuple[list[float], list[float]]:
    """The per-round values behind a ratio, numerator side and denominator side, paired by round."""
    top, bottom = ratio_sides(scenarios, *comparison.sides, comparison.endpoint)
    return paired_values(top, bottom, comparison.metric)


def with_interval(ratio: float | None, low: float | None, high: float | None) -> str:
    """``1.23x (95% CI 1.10-1.40)``."""
    if ratio is None:
        return "unknown"
    return f"{ratio:.2f}x" + (f" (95% CI {low:.2f}-{high:.2f})" if low is not None and high is not None else "")


def interval_of(comparison: Comparison) -> str:
    return with_interval(comparison.ratio, comparison.ci_low, comparison.ci_high)
