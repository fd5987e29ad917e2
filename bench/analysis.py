"""From stored scenarios to comparisons and verdicts: the ratios between frameworks and what they say
about the claim "FastAPI is 2x faster than Flask". Pure functions of a summary; no I/O.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

from bench.results import CLOSE_STYLES, MIN_SERVER_BUSY, NEAR_CLIENT_LIMIT, Scenario, Variant
from bench.server_configs import server_config
from bench.stats import coefficient_of_variation, median, ratio_of_medians

CLAIM = "FastAPI is 2x faster than Flask"
CLAIM_FACTOR = 2.0
CLAIM_PAIR = ("fastapi", "flask")
PAIRS = (CLAIM_PAIR, ("tornado", "flask"), ("fastapi", "tornado"))  # app families; every config of each
CV_WARNING = 0.05
LOAD_WARNING = 0.5

# The fewest repeats a side needs for a verdict: n values bracket the true median with probability at most
# 1 - 2**(1 - n) (their full range), so below 6 no interval of a median can be a 95% interval.
MIN_VERDICT_REPEATS = 6
AGREEMENT = 0.05  # Locust and wrk medians should agree this closely where both saturate the server

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
Verdict = Literal["holds", "refuted", "inconclusive"]


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


def metric_values(scenarios: Sequence[Scenario], metric: Metric) -> list[float]:
    measured = usable(scenarios)
    if metric == "throughput":
        return [s.rps for s in measured]
    if metric == "throughput_wrk":
        return [float(s.crosscheck["rps"]) for s in measured if s.crosscheck]
    return [1e6 / s.server_cpu_us_per_request for s in measured if s.server_cpu_us_per_request]


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
    ratio: float | None
    ci_low: float | None
    ci_high: float | None
    repeats: int
    client_bound: bool
    under_driven: bool  # a throughput figure behind it came from a server that was not kept busy
    invalid: bool
    numerator_close: str | None = None  # the client's close style, on a side whose server closes connections
    denominator_close: str | None = None

    @property
    def close_style(self) -> str | None:
        return self.numerator_close or self.denominator_close

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
    top_values, bottom_values = metric_values(top, metric), metric_values(bottom, metric)
    point: float | None = None
    low: float | None = None
    high: float | None = None
    if top_values and bottom_values and min(len(top_values), len(bottom_values)) >= MIN_VERDICT_REPEATS:
        ratio = ratio_of_medians(top_values, bottom_values)
        point, low, high = ratio.ratio, ratio.ci_low, ratio.ci_high
    elif top_values and bottom_values:  # too few repeats: the ratio, but no interval is claimed
        point = median(top_values) / median(bottom_values)
    idle = {"throughput": [s.under_driven for s in behind], "throughput_wrk": [s.wrk_under_driven for s in behind]}
    return Comparison(
        numerator=numerator.server,
        denominator=denominator.server,
        model=numerator.model,
        workers=numerator.workers,
        endpoint=endpoint,
        metric=metric,
        ratio=point,
        ci_low=low,
        ci_high=high,
        repeats=min(len(top_values), len(bottom_values)),
        client_bound=any(s.client_bound for s in behind),
        under_driven=any(idle.get(metric, [])),
        invalid=any(not s.valid for s in behind),
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
    endpoints = sorted({s.endpoint for s in scenarios})
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


def judge(comparison: Comparison, factor: float = CLAIM_FACTOR) -> tuple[Verdict, str]:
    """The claim's verdict on one comparison, and why, in words."""
    if comparison.ratio is None:
        return "inconclusive", "no usable measurements on one side"
    if comparison.invalid:
        return "inconclusive", "a scenario behind it had more than 0.1% failures or failed to run"
    if comparison.repeats < MIN_VERDICT_REPEATS or comparison.ci_low is None or comparison.ci_high is None:
        return (
            "inconclusive",
            f"{comparison.repeats} repeat(s): a 95% interval of a median needs at least {MIN_VERDICT_REPEATS}",
        )
    if comparison.metric == "throughput" and comparison.client_bound:
        return (
            "inconclusive",
            "the load generator saturated its CPU, so throughput is the client's limit, not the server's",
        )
    if comparison.under_driven:
        return "inconclusive", UNDER_DRIVEN_REASON
    interval = f"the 95% interval {comparison.ci_low:.2f}-{comparison.ci_high:.2f}"
    if comparison.ci_low >= factor:
        return "holds", f"{interval} lies at or above {factor:g}"
    if comparison.ci_high < factor:
        return "refuted", f"{interval} lies below {factor:g}"
    return "inconclusive", f"{interval} contains {factor:g}"


def verdicts(scenarios: Sequence[Scenario]) -> list[dict[str, Any]]:
    """The claim's verdict per endpoint and metric, as stored in summary.json. It judges the servers' capacity,
    so a lazily closing client counts only where no prompt one was measured (results made before the close
    style was a setting); otherwise its effect is shown beside the verdict (``close_effects``)."""
    claimed = [c for c in comparisons(scenarios) if (family_of(c.numerator), family_of(c.denominator)) == CLAIM_PAIR]
    prompt = {c.cell for c in claimed if c.close_style == "prompt"}
    result = []
    for comparison in claimed:
        if comparison.close_style == "lazy" and comparison.cell in prompt:
            continue
        verdict, reason = judge(comparison)
        result.append(
            {
                "claim": CLAIM,
                "numerator": comparison.numerator,
                "denominator": comparison.denominator,
                "model": comparison.model,
                "workers": comparison.workers,
                "endpoint": comparison.endpoint,
                "metric": comparison.metric,
                "ratio": comparison.ratio,
                "ci_low": comparison.ci_low,
                "ci_high": comparison.ci_high,
                "verdict": verdict,
                "reason": reason,
                "close_style": comparison.close_style,
            }
        )
    return result


def headline(verdict_list: Sequence[dict[str, Any]]) -> str:
    """One sentence for a data scientist: the throughput verdict, the figures, and what limits them."""
    throughput = [v for v in verdict_list if v["metric"] == "throughput"]
    if len({(v["numerator"], v["denominator"], v["model"], v["workers"]) for v in throughput}) > 1:
        return conditions(throughput)
    if not throughput:
        return (
            f'The claim "{CLAIM}" is not tested by this run: it has no closed-loop (saturation) results of both '
            "FastAPI and Flask; an open-loop run compares latency at set rates instead (below)."
        )
    outcomes = {v["verdict"] for v in throughput}
    overall = outcomes.pop() if len(outcomes) == 1 else "mixed"
    sentence = (
        f'"{CLAIM}" {VERDICT_PHRASES[overall]} here: FastAPI served '
        f"{' and '.join(figure(v) for v in throughput)} requests per second as Flask"
    )
    reasons = sorted({v["reason"] for v in throughput if v["verdict"] == "inconclusive"})
    if reasons:
        sentence += f" (inconclusive because {'; '.join(reasons)})"
    cpu = [v for v in verdict_list if v["metric"] == "cpu_efficiency" and v["ratio"] is not None]
    if cpu:
        sentence += (
            "; per server CPU-second, which the load generator cannot limit, FastAPI answered "
            f"{' and '.join(figure(v) for v in cpu)} requests"
        )
    return sentence + "." + driver_sentence(verdict_list)


def overall_verdict(verdict_list: Sequence[dict[str, Any]]) -> str:
    outcomes = {v["verdict"] for v in verdict_list}
    return outcomes.pop() if len(outcomes) == 1 else "mixed"


def driver_sentence(verdict_list: Sequence[dict[str, Any]]) -> str:
    """wrk's verdict beside Locust's, and a plain statement when the two drivers do not say the same."""
    locust = [v for v in verdict_list if v["metric"] == "throughput"]
    driven = [v for v in verdict_list if v["metric"] == "throughput_wrk"]
    if not driven or len({(v["numerator"], v["denominator"], v["model"], v["workers"]) for v in locust}) > 1:
        return ""
    said = overall_verdict(driven)
    sentence = (
        f" Driven by wrk instead of Locust, FastAPI served {' and '.join(figure(v) for v in driven)} requests per "
        f"second as Flask: the claim {VERDICT_PHRASES[said]}"
    )
    reasons = sorted({v["reason"] for v in driven if v["verdict"] == "inconclusive"})
    if reasons:
        sentence += f" (inconclusive because {'; '.join(reasons)})"
    differing = [
        f"{v['endpoint'].upper()}: Locust {v['verdict']}, wrk {w['verdict']}"
        for v in locust
        for w in driven
        if v["endpoint"] == w["endpoint"] and v["verdict"] != w["verdict"]
    ]
    if differing:
        sentence += f". The two load generators do not agree on the verdict ({'; '.join(differing)})"
    return sentence + "."


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
        for endpoint in sorted({s.endpoint for s in scenarios}):
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
            f"{cost.numerator} {cost.endpoint.upper()} served {1 / cost.ratio:.0%} as many requests as with a prompt "
            f"close (prompt/lazy {cost.ratio:.2f}x{interval})"
        )
        if effect.claim is not None and effect.claim.ratio is not None:
            claim = effect.claim
            part += f", and {claim.numerator}/{claim.denominator} becomes {claim.ratio:.2f}x"
            if claim.ci_low is not None:
                part += f" (95% CI {claim.ci_low:.2f}-{claim.ci_high:.2f})"
        parts.append(part)
    return f"With a client that closes lazily ({CLOSE_STYLES['lazy'].removeprefix('the client ')}): {'; '.join(parts)}."


def figure(verdict: dict[str, Any]) -> str:
    """``2.04x (95% CI 1.58-2.83) as many GET``."""
    endpoint = verdict["endpoint"].upper()
    if verdict["ratio"] is None:
        return f"an unknown multiple of the {endpoint}"
    interval = f" (95% CI {verdict['ci_low']:.2f}-{verdict['ci_high']:.2f})" if verdict["ci_low"] is not None else ""
    return f"{verdict['ratio']:.2f}x{interval} as many {endpoint}"


def conditions(throughput: Sequence[dict[str, Any]]) -> str:
    """Over a matrix, per model cost: in how many (pairing of server configs, endpoint) cells the claim holds,
    the spread of the ratios, and which FastAPI configs it holds or fails for against every Flask config."""
    by_model: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for verdict in throughput:
        by_model[verdict["model"]].append(verdict)
    sentences = []
    for model, cells in by_model.items():
        ratios = [v["ratio"] for v in cells if v["ratio"] is not None]
        counts = {outcome: sum(v["verdict"] == outcome for v in cells) for outcome in ("holds", "refuted")}
        spread = f" (FastAPI/Flask {min(ratios):.2f}-{max(ratios):.2f}x)" if ratios else ""
        outcomes: dict[str, set[str]] = defaultdict(set)
        for verdict in cells:
            outcomes[verdict["numerator"]].add(verdict["verdict"])
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
    """Locust against wrk on one variant and endpoint: the ratio of their median throughputs over the repeats
    (each server process measured by both), with its interval, and each driver's median server busy share."""

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
        ratio = ratio_of_medians([s.rps for s in both], metric_values(both, "throughput_wrk"))
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
            f"{len(bound)} scenario(s) were client-bound (Locust at >= 90% CPU): their throughput is a lower bound "
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
            found.append(f"{label(variant)} {endpoint.upper()}: throughput varied by {cv:.1%} between repeats (> 5%)")
    near = [s.id for s in scenarios if s.near_client_limit and not s.client_bound]
    if near:
        found.append(
            f"{len(near)} scenario(s) ran above {NEAR_CLIENT_LIMIT:.0%} of the load generator's ceiling against a "
            f"null server, so the client may have shaped them: {', '.join(near)}"
        )
    unexplained = [a for a in agreements(scenarios) if not a.agrees and not a.limited]
    if unexplained:
        listed = ", ".join(f"{label(a.variant)} {a.endpoint.upper()} ({a.difference:+.1%})" for a in unexplained)
        found.append(
            f"Locust and wrk disagree by more than {AGREEMENT:.0%} (median throughput) where both kept the server "
            f"busy and neither was near its limit: {listed}"
        )
    repeats = min((len(usable(group)) for group in groups(closed_loop(scenarios)).values()), default=0)
    if 0 < repeats < MIN_VERDICT_REPEATS:
        found.append(
            f"only {repeats} repeat(s) per scenario: too few for a 95% interval of a median, so no verdict here "
            f"is more than inconclusive (verdicts from so few repeats flipped between runs); use "
            f"{MIN_VERDICT_REPEATS} or more repeats (the default is 20)"
        )
    environment = manifest.get("environment", {})
    load = (environment.get("load_average_before") or [0.0])[0]
    if load > LOAD_WARNING:
        found.append(f"the machine was busy before the run: load average {load:.2f} (over {LOAD_WARNING})")
    if environment.get("git", {}).get("dirty"):
        found.append("the git tree had uncommitted changes: the code measured is not exactly a commit")
    return found


def comparison_dict(comparison: Comparison) -> dict[str, Any]:
    return {**asdict(comparison), "label": comparison.label}
