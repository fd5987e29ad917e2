"""From stored scenarios to comparisons and verdicts: the ratios between frameworks and what they say
about the claim "FastAPI is 2x faster than Flask". Pure functions of a summary; no I/O.

A ratio pairs the two configs round by round (each round measures every variant once, in a random order):
the median of the per-round ratios, with the order-statistic interval of ``bench.stats``.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from bench import machine
from bench.limits import CLIENT_BOUND_PERCENT, DATABASE_LIMITS, MIN_SERVER_BUSY
from bench.load.workload import endpoint_label, endpoint_order
from bench.results import (
    CLOSE_STYLES,
    MAX_FAILURE_RATIO,
    NEAR_CLIENT_LIMIT,
    CloseStyle,
    Scenario,
    Variant,
    Verdict,
    VerdictName,
)
from bench.server_configs import server_config
from bench.stats import (
    CONFIDENCE,
    Ratio,
    coefficient_of_variation,
    fewest_for_interval,
    median,
    median_interval,
    paired_ratio,
    rounds_for_precision,
)
from bench.versions import DERIVED, release_name

CLAIM = "FastAPI is 2x faster than Flask"
CLAIM_FACTOR = 2.0  # the claim's "about 2x": its band is CLAIM_FACTOR divided and multiplied by 1 + the margin
CLAIM_PAIR = ("fastapi", "flask")
# The headline's pair: each framework under its usual server (servers.toml's [frameworks]), the seed's pairing.
CLAIM_SERVERS = tuple(server_config(family).name for family in CLAIM_PAIR)
# App families compared, every config of each against every config of the other: the claim, Tornado, and
# FastAPI against Starlette alone (the cost of FastAPI's own layer: validation and dependency injection).
PAIRS = (CLAIM_PAIR, ("tornado", "flask"), ("fastapi", "tornado"), ("fastapi", "starlette"))
CV_WARNING = 0.05
LOAD_WARNING = 0.5

# The fewest rounds a verdict needs: n values bracket the true median with probability at most 1 - 2**(1 - n)
# (their full range), so below this count no interval of a median can be a 95% interval.
MIN_VERDICT_ROUNDS = fewest_for_interval(CONFIDENCE)
INTERVAL_METHOD = (
    "the median of the per-round ratios (a round measures every variant once, in a random order), with its "
    "distribution-free 95% interval (Hettmansperger-Sheather, from order statistics: no resampling, so the "
    "bounds do not depend on a random seed)"
)
AGREEMENT = 0.05  # Locust and wrk medians should agree this closely where both saturate the server

DATABASE_BOUND_REASON = (
    "a database behind it was the limit (its CPUs, or those it shares with the client, were full), so its "
    "throughput is a lower bound of the server's"
)
UNDER_DRIVEN_REASON = (
    f"a server behind it was busy less than {MIN_SERVER_BUSY:.0%} of the measured window (under-driven), so its "
    "throughput is a lower bound of its capacity"
)

Metric = Literal["throughput", "cpu_efficiency", "throughput_wrk"]
METRIC_LABELS: dict[str, str] = {
    "throughput": "requests per second",
    "cpu_efficiency": "requests per server CPU-second",
    "throughput_wrk": "requests per second, driven by wrk",
}
DIRECTIONS = {"slower": "slower than claimed", "faster": "faster than claimed"}


def claim_band(margin: float) -> tuple[float, float]:
    """The ratios "about 2x" covers: 2x divided and multiplied by 1 + ``margin`` (10%: 1.82-2.20)."""
    return CLAIM_FACTOR / (1 + margin), CLAIM_FACTOR * (1 + margin)


def claim_rule(margin: float) -> str:
    """The verdict's rule in words, for every page and summary that states it."""
    low, high = claim_band(margin)
    return (
        f"holds when the 95% interval of the ratio lies within {low:.2f}-{high:.2f}x ({CLAIM_FACTOR:g}x divided "
        f"or multiplied by {1 + margin:g}), is refuted when it lies wholly outside that band, and is "
        "inconclusive otherwise"
    )


def closed_loop(scenarios: Sequence[Scenario]) -> list[Scenario]:
    """The saturation scenarios, whose throughputs can be compared (open-loop ones run at a set rate)."""
    return [s for s in scenarios if s.target_rps is None]


def open_loop(scenarios: Sequence[Scenario]) -> list[Scenario]:
    return [s for s in scenarios if s.target_rps is not None]


def usable(scenarios: Sequence[Scenario]) -> list[Scenario]:
    """Scenarios that were measured at all (a failed scenario has no figures)."""
    return [s for s in scenarios if s.error is None and s.requests > 0]


def groups(scenarios: Sequence[Scenario]) -> dict[tuple[Variant, str], list[Scenario]]:
    """Scenarios by (variant, endpoint), failed ones included, in stored order."""
    grouped: dict[tuple[Variant, str], list[Scenario]] = defaultdict(list)
    for scenario in scenarios:
        grouped[(scenario.variant, scenario.endpoint)].append(scenario)
    return dict(grouped)


def variants_in(scenarios: Sequence[Scenario]) -> list[Variant]:
    return list(dict.fromkeys(s.variant for s in scenarios))


def condition_namer(scenarios: Sequence[Scenario]) -> Callable[[str, int], str]:
    """``model sklearn, 2 workers`` for a (model, workers) pair, naming only what varies in the run."""
    several_models = len({s.model for s in scenarios}) > 1
    several_workers = len({s.workers for s in scenarios}) > 1

    def name(model: str, workers: int) -> str:
        parts = [f"model {model}"] if several_models else []
        parts += [f"{workers} worker{'s' if workers > 1 else ''}"] if several_workers else []
        return ", ".join(parts)

    return name


def close_name(close_style: str | None, always: bool = False) -> str:
    """``lazy close``: how the client closed, for a server that closes each connection. The prompt close is the
    default, the server's capacity, and is named only ``always``."""
    return f"{close_style} close" if close_style == "lazy" or (always and close_style) else ""


def labeller(scenarios: Sequence[Scenario]) -> Callable[[Variant], str]:
    """Names for the variants of a run: the server config, with the model and worker count where they vary,
    and the client's close style where the run measured more than one."""
    condition = condition_namer(scenarios)
    several = len({s.close_style for s in scenarios if s.close_style}) > 1
    return lambda variant: " · ".join(
        filter(None, [variant.server, condition(variant.model, variant.workers),
                      close_name(variant.close_style, always=several)])
    )  # fmt: skip


def metric_value(scenario: Scenario, metric: Metric) -> float | None:
    if metric == "throughput":
        return scenario.rps
    if metric == "throughput_wrk":
        return float(scenario.crosscheck["rps"]) if scenario.crosscheck and scenario.crosscheck.get("rps") else None
    return 1e6 / scenario.server_cpu_us_per_request if scenario.server_cpu_us_per_request else None


def metric_values(scenarios: Sequence[Scenario], metric: Metric) -> list[float]:
    return [value for s in usable(scenarios) if (value := metric_value(s, metric)) is not None]


def by_round(scenarios: Sequence[Scenario], metric: Metric) -> dict[int, float]:
    """One variant's values on one endpoint, by round (usable scenarios with the metric only)."""
    return {s.repeat: value for s in usable(scenarios) if (value := metric_value(s, metric)) is not None}


def paired_values(
    top: Sequence[Scenario], bottom: Sequence[Scenario], metric: Metric
) -> tuple[list[float], list[float]]:
    """The two sides' values in the rounds that measured both, in round order."""
    first, second = by_round(top, metric), by_round(bottom, metric)
    rounds = sorted(first.keys() & second.keys())
    return [first[r] for r in rounds], [second[r] for r in rounds]


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
    def key(self) -> tuple[str, str, int, str, str]:
        """What identifies it across runs."""
        return self.label, self.model, self.workers, self.endpoint, self.metric

    @property
    def cell(self) -> tuple[str, str, str, int, str, str]:
        """What it compares, whatever the client's close style."""
        return self.numerator, self.denominator, self.model, self.workers, self.endpoint, self.metric

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


def family_of(server: str) -> str:
    return server_config(server).framework


def comparisons(scenarios: Sequence[Scenario]) -> list[Comparison]:
    """For each family pair in ``PAIRS``, every config of the one against every config of the other, serving
    the same model with as many workers, for each endpoint and metric (closed-loop scenarios only)."""
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
        for top_family, bottom_family in PAIRS
        for top in variants
        for bottom in variants
        if (family_of(top.server), family_of(bottom.server)) == (top_family, bottom_family)
        and (top.model, top.workers) == (bottom.model, bottom.workers)
        and (None in (top.close_style, bottom.close_style) or top.close_style == bottom.close_style)
    ]


Direction = Literal["slower", "faster"]


def judge(comparison: Comparison, margin: float) -> tuple[VerdictName, Direction | None, str]:
    """The claim's verdict on one comparison, the direction of a refutation, and why, in words."""
    if comparison.ratio is None:
        return "inconclusive", None, "no usable measurements on one side"
    if comparison.invalid:
        return (
            "inconclusive", None,
            f"a scenario behind it had more than {MAX_FAILURE_RATIO:.1%} failures or failed to run",
        )  # fmt: skip
    if comparison.ci_low is None or comparison.ci_high is None:
        return (
            "inconclusive", None,
            f"{comparison.rounds} round(s): a 95% interval of a median needs at least {MIN_VERDICT_ROUNDS}",
        )  # fmt: skip
    if comparison.metric == "throughput" and comparison.client_bound:
        return (
            "inconclusive", None,
            "the load generator saturated its CPU, so throughput is the client's limit, not the server's",
        )  # fmt: skip
    if comparison.under_driven:
        return "inconclusive", None, UNDER_DRIVEN_REASON
    if comparison.database_bound:
        return "inconclusive", None, DATABASE_BOUND_REASON
    low, high = claim_band(margin)
    band = f"the band {low:.2f}-{high:.2f}"
    if low <= comparison.ci_low and comparison.ci_high <= high:
        return "holds", None, f"its 95% interval lies within {band}"
    if comparison.ci_high < low:
        return "refuted", "slower", f"its 95% interval lies below {band}: {DIRECTIONS['slower']}"
    if comparison.ci_low > high:
        return "refuted", "faster", f"its 95% interval lies above {band}: {DIRECTIONS['faster']}"
    return "inconclusive", None, f"its 95% interval reaches outside {band} without lying wholly outside it"


def claim_comparisons(scenarios: Sequence[Scenario]) -> list[Comparison]:
    """The comparisons the claim is judged on: FastAPI against Flask configs, with the servers' capacity
    measured, so a lazily closing client counts only where no prompt one was measured (results made before
    the close style was a setting); otherwise its effect is shown beside the verdict (``close_effects``)."""
    claimed = [c for c in comparisons(scenarios) if (family_of(c.numerator), family_of(c.denominator)) == CLAIM_PAIR]
    prompt = {c.cell for c in claimed if c.close_style == "prompt"}
    return [c for c in claimed if not (c.close_style == "lazy" and c.cell in prompt)]


def verdicts(scenarios: Sequence[Scenario], margin: float) -> list[Verdict]:
    """The claim's verdict per comparison it is judged on, as stored in summary.json."""
    low, high = claim_band(margin)
    result = []
    for comparison in claim_comparisons(scenarios):
        verdict, direction, reason = judge(comparison, margin)
        result.append(
            Verdict(
                claim=CLAIM, numerator=comparison.numerator, denominator=comparison.denominator,
                model=comparison.model, workers=comparison.workers, endpoint=comparison.endpoint,
                metric=comparison.metric, ratio=comparison.ratio, ci_low=comparison.ci_low,
                ci_high=comparison.ci_high, rounds=comparison.rounds, verdict=verdict, direction=direction,
                reason=reason, close_style=comparison.close_style, band_low=low, band_high=high,
                rule=claim_rule(margin),
            )
        )  # fmt: skip
    return result


def headline_comparisons(scenarios: Sequence[Scenario]) -> list[Comparison]:
    """The ratios the headline states: the claim's throughput comparisons."""
    return [c for c in claim_comparisons(scenarios) if c.metric == "throughput"]


def precision_reached(scenarios: Sequence[Scenario]) -> float | None:
    """The widest half-width (a share of the ratio) among the headline ratios; None while any has no interval."""
    widths = [c.half_width for c in headline_comparisons(scenarios)]
    if not widths or any(width is None for width in widths):
        return None
    return max(width for width in widths if width is not None)


TARGET_PRECISION = 0.05  # the precision a noisy machine's warning counts rounds for (as --precision 5%)


def rounds_for_target(scenarios: Sequence[Scenario], precision: float = TARGET_PRECISION) -> int | None:
    """The rounds the headline ratios would need for a 95% half-width of ``precision``, from their per-round
    spread in this run (None: no headline ratio with a spread)."""
    spreads = [c.log_spread for c in headline_comparisons(scenarios) if c.log_spread]
    return max(rounds_for_precision(spread, precision) for spread in spreads) if spreads else None


def verdict_label(verdict: Verdict) -> str:
    return pair_label(verdict.numerator, verdict.denominator, verdict.close_style)


def verdict_key(verdict: Verdict) -> tuple[str, str, int, str, str]:
    """What identifies a verdict across runs (as ``Comparison.key``)."""
    return verdict_label(verdict), verdict.model, verdict.workers, verdict.endpoint, verdict.metric


def outcome_phrase(verdict: VerdictName | Literal["mixed"], directions: set[str | None]) -> str:
    """``is refuted (slower than claimed)``: an overall outcome in words."""
    phrase = VERDICT_PHRASES[verdict]
    named = sorted(DIRECTIONS[d] for d in directions if d)
    return f"{phrase} ({' and '.join(named)})" if verdict == "refuted" and named else phrase


def headline(verdict_list: Sequence[Verdict]) -> str:
    """One sentence for a data scientist: the throughput verdict, the figures, and what limits them. Where a run
    pairs more configs on one model and worker count, the sentence is on the usual pair (``CLAIM_SERVERS``);
    over several models or worker counts, it says how the verdict depends on them (``conditions``)."""
    throughput = [v for v in verdict_list if v.metric == "throughput"]
    if len({(v.numerator, v.denominator, v.model, v.workers) for v in throughput}) > 1:
        usual = [v for v in verdict_list if (v.numerator, v.denominator) == CLAIM_SERVERS]
        if not usual or len({(v.model, v.workers) for v in throughput}) > 1:
            return conditions(throughput)
        verdict_list = usual
        throughput = [v for v in verdict_list if v.metric == "throughput"]
    if not throughput:
        return (
            f'The claim "{CLAIM}" is not tested by this run: it has no closed-loop (saturation) results of both '
            "FastAPI and Flask; an open-loop run compares latency at set rates instead (below)."
        )
    overall = overall_verdict(throughput)
    sentence = (
        f'"{CLAIM}" {outcome_phrase(overall, {v.direction for v in throughput})} here: FastAPI served '
        f"{' and '.join(figure(v) for v in throughput)} requests per second as Flask"
    )
    reasons = sorted({v.reason for v in throughput if v.verdict == "inconclusive"})
    if reasons:
        sentence += f" (inconclusive because {'; '.join(reasons)})"
    cpu = [v for v in verdict_list if v.metric == "cpu_efficiency" and v.ratio is not None]
    if cpu:
        sentence += (
            "; per server CPU-second, which the load generator cannot limit, FastAPI answered "
            f"{' and '.join(figure(v) for v in cpu)} requests"
        )
    return sentence + "." + driver_sentence(verdict_list)


def overall_verdict(verdict_list: Sequence[Verdict]) -> VerdictName | Literal["mixed"]:
    outcomes = {v.verdict for v in verdict_list}
    return outcomes.pop() if len(outcomes) == 1 else "mixed"


def driver_sentence(verdict_list: Sequence[Verdict]) -> str:
    """wrk's verdict beside Locust's, and a plain statement when the two drivers do not say the same."""
    locust = [v for v in verdict_list if v.metric == "throughput"]
    driven = [v for v in verdict_list if v.metric == "throughput_wrk"]
    if not driven or len({(v.numerator, v.denominator, v.model, v.workers) for v in locust}) > 1:
        return ""
    said = overall_verdict(driven)
    sentence = (
        f" Driven by wrk instead of Locust, FastAPI served {' and '.join(figure(v) for v in driven)} requests per "
        f"second as Flask: the claim {outcome_phrase(said, {v.direction for v in driven})}"
    )
    reasons = sorted({v.reason for v in driven if v.verdict == "inconclusive"})
    if reasons:
        sentence += f" (inconclusive because {'; '.join(reasons)})"
    differing = [
        f"{endpoint_label(v.endpoint)}: Locust {v.verdict}, wrk {w.verdict}"
        for v in locust
        for w in driven
        if v.endpoint == w.endpoint and v.verdict != w.verdict
    ]
    if differing:
        sentence += f". The two load generators do not agree on the verdict ({'; '.join(differing)})"
    return sentence + "."


@dataclass(frozen=True)
class Decomposition:
    """The headline ratio (each framework under its usual server) split in two, on one endpoint: FastAPI/Flask
    under one server both run on (the framework), and what the usual servers add (the servers), each the
    median of per-round ratios with its interval. Per round, headline = framework x servers exactly."""

    runs_on: str  # the server both run on in the framework comparison
    endpoint: str
    condition: str  # the model and workers, where the run has several (``condition_namer``)
    headline: Comparison
    framework: Comparison  # fastapi config / flask config, both on ``runs_on``
    numerator_server: Comparison  # FastAPI's usual config / FastAPI on ``runs_on``
    denominator_server: Comparison  # Flask's usual config / Flask on ``runs_on``
    servers: Ratio | None  # numerator_server / denominator_server, per round


def round_values(scenarios: Sequence[Scenario], variant: Variant, endpoint: str) -> dict[int, float]:
    """A variant's throughput per round on one endpoint."""
    return by_round(groups(scenarios).get((variant, endpoint), []), "throughput")


def values_behind(scenarios: Sequence[Scenario], comparison: Comparison) -> tuple[list[float], list[float]]:
    """The per-round values behind a ratio, numerator side and denominator side, paired by round."""
    top, bottom = ratio_sides(scenarios, *comparison.sides, comparison.endpoint)
    return paired_values(top, bottom, comparison.metric)


def decompositions(scenarios: Sequence[Scenario]) -> list[Decomposition]:
    """For each FastAPI and Flask config that run on the same server (``ServerConfig.runs_on``), other than the
    headline's own servers, the headline ratio split into the framework's factor and the servers' factor."""
    closed = closed_loop(scenarios)
    variants = variants_in(closed)
    condition = condition_namer(closed)
    usual_top, usual_bottom = CLAIM_SERVERS
    found = []
    for top, bottom in [
        (top, bottom) for top in variants for bottom in variants
        if (family_of(top.server), family_of(bottom.server)) == CLAIM_PAIR
        and server_config(top.server).runs_on == server_config(bottom.server).runs_on != ""
        and (top.model, top.workers) == (bottom.model, bottom.workers)
        and usual_top != top.server and usual_bottom != bottom.server
    ]:  # fmt: skip
        head_top = [v for v in variants if v.server == usual_top and v[1:3] == top[1:3]]
        head_bottom = [v for v in variants if v.server == usual_bottom and v[1:3] == bottom[1:3]
                       and v.close_style != "lazy"]  # fmt: skip
        if not head_top or not head_bottom:
            continue
        for endpoint in sorted({s.endpoint for s in closed}, key=endpoint_order):
            values = [round_values(closed, v, endpoint) for v in (head_top[0], top, head_bottom[0], bottom)]
            rounds = sorted(set.intersection(*(set(v) for v in values)))
            servers = paired_ratio([values[0][r] / values[1][r] for r in rounds],
                                   [values[2][r] / values[3][r] for r in rounds])  # fmt: skip
            found.append(
                Decomposition(
                    server_config(top.server).runs_on,
                    endpoint,
                    condition(top.model, top.workers),
                    compare(closed, head_top[0], head_bottom[0], endpoint, "throughput"),
                    compare(closed, top, bottom, endpoint, "throughput"),
                    compare(closed, head_top[0], top, endpoint, "throughput"),
                    compare(closed, head_bottom[0], bottom, endpoint, "throughput"),
                    servers,
                )
            )
    return found


def with_interval(ratio: float | None, low: float | None, high: float | None) -> str:
    """``1.23x (95% CI 1.10-1.40)``."""
    if ratio is None:
        return "unknown"
    return f"{ratio:.2f}x" + (f" (95% CI {low:.2f}-{high:.2f})" if low is not None and high is not None else "")


def interval_of(comparison: Comparison) -> str:
    return with_interval(comparison.ratio, comparison.ci_low, comparison.ci_high)


def decomposition_sentence(found: Sequence[Decomposition]) -> str:
    """Where the headline ratio comes from: the framework under one server, and the servers."""
    parts = []
    for d in found:
        if d.headline.ratio is None or d.framework.ratio is None:
            continue
        servers = with_interval(d.servers.ratio, d.servers.ci_low, d.servers.ci_high) if d.servers else "unknown"
        where = ", ".join(filter(None, [endpoint_label(d.endpoint), d.condition]))
        parts.append(
            f"on {where}, {d.headline.label} {interval_of(d.headline)} ≈ the frameworks on one server, "
            f"{d.framework.label} {interval_of(d.framework)}, x the servers {servers} "
            f"({d.numerator_server.label} {interval_of(d.numerator_server)} over {d.denominator_server.label} "
            f"{interval_of(d.denominator_server)})"
        )
    if not parts:
        return ""
    return f"Where the ratio comes from (medians of per-round ratios: the product is approximate): {'; '.join(parts)}."


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


def releases(scenarios: Sequence[Scenario]) -> list[Release]:
    """For each config run under several version sets: its throughput under each, in the order the versions
    were given, the step from the previous set (a paired ratio), and the claim's ratio under each set."""
    closed = closed_loop(scenarios)
    variants = [v for v in variants_in(closed) if v.server in DERIVED]
    every = comparisons(closed) if variants else []
    order = list(DERIVED)
    found = []
    for endpoint in sorted({s.endpoint for s in closed}, key=endpoint_order):
        by_line: dict[tuple[str, str, int, CloseStyle | None], list[Variant]] = defaultdict(list)
        for variant in sorted(variants, key=lambda v: order.index(v.server)):
            by_line[(DERIVED[variant.server].base, variant.model, variant.workers, variant.close_style)].append(variant)
        for (base, model, workers, close), line in by_line.items():
            previous: Variant | None = None
            previous_rps: float | None = None
            for variant in line:
                values = list(round_values(closed, variant, endpoint).values())
                low, high = median_interval(values) or (None, None)
                label = DERIVED[variant.server].version_set.label
                found.append(
                    Release(
                        base, variant.server, label, endpoint, close, model, workers,
                        median(values) if values else None, low, high,
                        DERIVED[previous.server].version_set.label if previous else None, previous_rps,
                        compare(closed, variant, previous, endpoint, "throughput") if previous else None,
                        claim_under(every, variant, endpoint),
                    )
                )  # fmt: skip
                previous, previous_rps = variant, found[-1].rps
    return found


def claim_under(every: Sequence[Comparison], variant: Variant, endpoint: str) -> Comparison | None:
    """Among ``every`` comparison, the headline pair's throughput ratio with ``variant`` (a config run under a
    version set) on its side, and the other side under the same set where it ran under one."""
    derived = DERIVED[variant.server]
    if derived.base not in CLAIM_SERVERS:
        return None
    top, bottom = (
        variant.server if server == derived.base else release_name(server, derived.version_set.label) or server
        for server in CLAIM_SERVERS
    )
    wanted = (top, bottom, variant.model, variant.workers, endpoint, "throughput")
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


@dataclass(frozen=True)
class CloseEffect:
    """One server config that closes each connection, measured under both close styles: prompt / lazy."""

    throughput: Comparison  # numerator: the prompt close, denominator: the lazy close
    claim: Comparison | None  # the claim's ratio against the lazily closed config, if the run has one


def close_effects(scenarios: Sequence[Scenario]) -> list[CloseEffect]:
    """How much a lazily closing client costs each config that closes connections, and what the claim's ratio
    becomes under it."""
    scenarios = closed_loop(scenarios)
    claims = {
        (c.denominator, c.model, c.workers, c.endpoint): c
        for c in comparisons(scenarios)
        if c.metric == "throughput"
        and c.close_style == "lazy"
        and (family_of(c.numerator), family_of(c.denominator)) == CLAIM_PAIR
    }
    effects = []
    for variant in variants_in(scenarios):
        if variant.close_style != "prompt":
            continue
        lazy = variant._replace(close_style="lazy")
        for endpoint in sorted({s.endpoint for s in scenarios}, key=endpoint_order):
            throughput = compare(scenarios, variant, lazy, endpoint, "throughput")
            if throughput.ratio is not None:
                claim = claims.get((variant.server, variant.model, variant.workers, endpoint))
                effects.append(CloseEffect(throughput, claim))
    return effects


def close_sentence(effects: Sequence[CloseEffect]) -> str:
    """The lazy close's effect, to stand beside the headline, which measures the servers' capacity."""
    if not effects:
        return ""
    parts = []
    for effect in effects:
        cost = effect.throughput
        if cost.ratio is None:
            continue
        interval = f", 95% CI {cost.ci_low:.2f}-{cost.ci_high:.2f}" if cost.ci_low is not None else ""
        part = (
            f"{cost.numerator} {endpoint_label(cost.endpoint)} served {1 / cost.ratio:.0%} as many requests as with "
            f"a prompt close (prompt/lazy {cost.ratio:.2f}x{interval})"
        )
        if effect.claim is not None and effect.claim.ratio is not None:
            claim = effect.claim
            part += f", and {claim.numerator}/{claim.denominator} becomes {claim.ratio:.2f}x"
            if claim.ci_low is not None:
                part += f" (95% CI {claim.ci_low:.2f}-{claim.ci_high:.2f})"
        parts.append(part)
    return f"With a client that closes lazily ({CLOSE_STYLES['lazy'].removeprefix('the client ')}): {'; '.join(parts)}."


def figure(verdict: Verdict) -> str:
    """``2.04x (95% CI 1.58-2.83) as many GET``."""
    endpoint = endpoint_label(verdict.endpoint)
    if verdict.ratio is None:
        return f"an unknown multiple of the {endpoint}"
    interval = f" (95% CI {verdict.ci_low:.2f}-{verdict.ci_high:.2f})" if verdict.ci_low is not None else ""
    return f"{verdict.ratio:.2f}x{interval} as many {endpoint}"


def conditions(throughput: Sequence[Verdict]) -> str:
    """Over a matrix, per model cost: in how many (pairing of server configs, endpoint) cells the claim holds,
    the spread of the ratios, and which FastAPI configs it holds or fails for against every Flask config."""
    by_model: dict[str, list[Verdict]] = defaultdict(list)
    for verdict in throughput:
        by_model[verdict.model].append(verdict)
    sentences = []
    for model, cells in by_model.items():
        ratios = [v.ratio for v in cells if v.ratio is not None]
        counts = {outcome: sum(v.verdict == outcome for v in cells) for outcome in ("holds", "refuted")}
        spread = f" (FastAPI/Flask {min(ratios):.2f}-{max(ratios):.2f}x)" if ratios else ""
        outcomes: dict[str, set[str]] = defaultdict(set)
        for verdict in cells:
            outcomes[verdict.numerator].add(verdict.verdict)
        always = {name for name, seen in outcomes.items() if seen == {"holds"}}
        never = {name for name, seen in outcomes.items() if seen == {"refuted"}}
        where = f"; it holds in every cell of {' and '.join(sorted(always))}" if always else ""
        where += f"; it is refuted in every cell of {' and '.join(sorted(never))}" if never else ""
        unsettled = len(cells) - counts["holds"] - counts["refuted"]
        sentences.append(
            f"With the {model} model it holds in {counts['holds']} of {len(cells)} cells, is refuted in "
            f"{counts['refuted']} and inconclusive in {unsettled}{spread}{where}."
        )
    return f'"{CLAIM}" depends on the conditions. ' + " ".join(sentences)


VERDICT_PHRASES = {
    "holds": "holds",
    "refuted": "is refuted",
    "inconclusive": "is inconclusive",
    "mixed": "holds only in part",
}


@dataclass(frozen=True)
class Agreement:
    """Locust against wrk on one variant and endpoint: the median over the repeats of Locust's throughput over
    wrk's on the same server process, with its interval, and each driver's median server busy share."""

    variant: Variant
    endpoint: str
    ratio: float
    ci_low: float | None
    ci_high: float | None
    locust_busy: float | None
    wrk_busy: float | None
    limited: bool  # a scenario behind it was under-driven, client-bound or near the client's ceiling

    @property
    def difference(self) -> float:
        return self.ratio - 1.0

    @property
    def agrees(self) -> bool:
        return abs(self.difference) <= AGREEMENT


def agreements(scenarios: Sequence[Scenario]) -> list[Agreement]:
    found = []
    for (variant, endpoint), group in groups(closed_loop(scenarios)).items():
        both = [s for s in usable(group) if s.crosscheck and s.crosscheck.get("rps")]
        if not both:
            continue
        ratio = paired_ratio([s.rps for s in both], metric_values(both, "throughput_wrk"))  # the same processes
        if ratio is None:
            continue
        locust_busy = [s.server_busy for s in both if s.server_busy is not None]
        wrk_busy = [s.wrk_server_busy for s in both if s.wrk_server_busy is not None]
        limited = any(s.lower_bound or s.wrk_under_driven or s.near_client_limit for s in both)
        found.append(
            Agreement(variant, endpoint, ratio.ratio, ratio.ci_low, ratio.ci_high,
                      median(locust_busy) if locust_busy else None, median(wrk_busy) if wrk_busy else None, limited)
        )  # fmt: skip
    return found


def warnings(scenarios: Sequence[Scenario], manifest: dict[str, Any]) -> list[str]:
    """Everything a reader should know before trusting the figures."""
    found = []
    bound = [s.id for s in scenarios if s.client_bound]
    if bound:
        found.append(
            f"{len(bound)} scenario(s) were client-bound (Locust at >= {CLIENT_BOUND_PERCENT:.0f}% CPU): their "
            "throughput is a lower bound "
            f"of the server's: {', '.join(bound)}"
        )
    idle = [f"{s.id} ({s.server_busy:.0%})" for s in scenarios if s.under_driven and s.server_busy is not None]
    if idle:
        found.append(
            f"{len(idle)} scenario(s) were under-driven (the server busy less than {MIN_SERVER_BUSY:.0%} of the "
            f"measured window under Locust): their throughput is a lower bound of the server's: {', '.join(idle)}"
        )
    wrk_idle = [f"{s.id} ({s.wrk_server_busy:.0%})" for s in scenarios if s.wrk_under_driven]
    if wrk_idle:
        found.append(f"{len(wrk_idle)} scenario(s) were under-driven under wrk: {', '.join(wrk_idle)}")
    failing = [f"{s.id} ({s.failures} of {s.requests})" for s in scenarios if s.failures]
    if failing:
        found.append(f"failed requests in: {', '.join(failing)}")
    broken = [f"{s.id}: {s.error}" for s in scenarios if s.error]
    if broken:
        found.append(f"scenarios that could not be measured: {'; '.join(broken)}")
    label = labeller(scenarios)
    for (variant, endpoint), group in groups(closed_loop(scenarios)).items():
        cv = coefficient_of_variation([s.rps for s in usable(group)])
        if cv is not None and cv > CV_WARNING:
            found.append(
                f"{label(variant)} {endpoint_label(endpoint)}: throughput varied by {cv:.1%} between repeats "
                f"(> {CV_WARNING:.0%})"
            )
    near = [s.id for s in scenarios if s.near_client_limit and not s.client_bound]
    if near:
        found.append(
            f"{len(near)} scenario(s) ran above {NEAR_CLIENT_LIMIT:.0%} of the load generator's ceiling against a "
            f"null server, so the client may have shaped them: {', '.join(near)}"
        )
    unexplained = [a for a in agreements(scenarios) if not a.agrees and not a.limited]
    if unexplained:
        listed = ", ".join(
            f"{label(a.variant)} {endpoint_label(a.endpoint)} ({a.difference:+.1%})" for a in unexplained
        )
        found.append(
            f"Locust and wrk disagree by more than {AGREEMENT:.0%} (median throughput) where both kept the server "
            f"busy and neither was near its limit: {listed}"
        )
    repeats = min((len(usable(group)) for group in groups(closed_loop(scenarios)).values()), default=0)
    if 0 < repeats < MIN_VERDICT_ROUNDS:
        found.append(
            f"only {repeats} round(s): too few for a 95% interval of a median, so no verdict here is more than "
            f"inconclusive (verdicts from so few rounds flipped between runs); use {MIN_VERDICT_ROUNDS} or more "
            "repeats"
        )
    return found + machine_warnings(scenarios, manifest, repeats)


def machine_warnings(scenarios: Sequence[Scenario], manifest: dict[str, Any], rounds: int) -> list[str]:
    """The machine's noise and load, and the tree's state, as the manifest recorded them."""
    found = []
    steadiness = machine.recorded(manifest)
    if steadiness is not None and steadiness.noisy:
        needed = rounds_for_target(scenarios)
        found.append(
            f"a noisy machine: {steadiness.why_noisy()}"
            + (f"; a {TARGET_PRECISION:.0%} precision on the headline ratio needs about {needed} rounds here (this "
               f"run has {rounds}; --precision {TARGET_PRECISION:.0%} adds them)" if needed else "")
        )  # fmt: skip
    environment = manifest.get("environment", {})
    load = (environment.get("load_average_before") or [0.0])[0]
    if load > LOAD_WARNING:
        found.append(f"the machine was busy before the run: load average {load:.2f} (over {LOAD_WARNING})")
    if environment.get("git", {}).get("dirty"):
        found.append("the git tree had uncommitted changes: the code measured is not exactly a commit")
    return found
