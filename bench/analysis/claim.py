"""The claims judged: the seed's "FastAPI is 2x faster than Flask" and LitServe's own "2x" over FastAPI. Each
claim's band and rule, the verdict on each comparison it is judged on, the precision the seed's ratios reached,
the headline sentence a data scientist reads, and a sentence for each other claim.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from bench.analysis.ratios import Comparison, RatioKey, comparisons, pair_label
from bench.limits import MIN_SERVER_BUSY
from bench.registry import BUILT_IN, Registry
from bench.results import MAX_FAILURE_RATIO, Scenario, Verdict, VerdictName
from bench.stats import CONFIDENCE, fewest_for_interval, rounds_for_precision
from bench.workload import endpoint_label


@dataclass(frozen=True)
class Claim:
    """A claim of a speed-up: ``pair``'s groups (families or configs, numerator first) at ``factor``. "About
    2x" (``at_least`` False) has a band of the factor divided and multiplied by 1 + the margin; "at least 2x"
    only its low end."""

    text: str
    factor: float
    pair: tuple[str, str]
    at_least: bool = False


SEED = Claim("FastAPI is 2x faster than Flask", 2.0, ("fastapi", "flask"))
# LitServe's README: "a minimum 2x speedup over FastAPI", from batching and several workers: judged on the
# config with batching on.
LITSERVE = Claim("LitServe is at least 2x faster than FastAPI", 2.0, ("litserve-batched", "fastapi"), at_least=True)
CLAIMS = (SEED, LITSERVE)
CLAIM, CLAIM_FACTOR, CLAIM_PAIR = SEED.text, SEED.factor, SEED.pair
# The headline's pair: each framework under its usual server (servers.toml's [frameworks]), the seed's pairing.
CLAIM_SERVERS = tuple(BUILT_IN.config(family).name for family in CLAIM_PAIR)
# The fewest rounds a verdict needs: n values bracket the true median with probability at most 1 - 2**(1 - n)
# (their full range), so below this count no interval of a median can be a 95% interval.
MIN_VERDICT_ROUNDS = fewest_for_interval(CONFIDENCE)
INTERVAL_METHOD = (
    "the median of the per-round ratios (a round measures every variant once, in a random order), with its "
    "distribution-free 95% interval (Hettmansperger-Sheather, from order statistics: no resampling, so the "
    "bounds do not depend on a random seed)"
)
DATABASE_BOUND_REASON = (
    "a database behind it was the limit (its CPUs, or those it shares with the client, were full), so its "
    "throughput is a lower bound of the server's"
)
UNDER_DRIVEN_REASON = (
    f"a server behind it was busy less than {MIN_SERVER_BUSY:.0%} of the measured window (under-driven), so its "
    "throughput is a lower bound of its capacity"
)
DIRECTIONS = {"slower": "slower than claimed", "faster": "faster than claimed"}


def claim_band(margin: float, claim: Claim = SEED) -> tuple[float, float | None]:
    """The ratios the claim covers: 2x divided and multiplied by 1 + ``margin`` (10%: 1.82-2.20); an "at
    least" claim's has no upper end."""
    return claim.factor / (1 + margin), None if claim.at_least else claim.factor * (1 + margin)


def claim_rule(margin: float, claim: Claim = SEED) -> str:
    """The verdict's rule in words, for every page and summary that states it."""
    low, high = claim_band(margin, claim)
    if high is None:
        return (
            f"holds when the 95% interval of the ratio lies at or above {low:.2f}x ({claim.factor:g}x divided by "
            f"{1 + margin:g}), is refuted when it lies wholly below, and is inconclusive otherwise"
        )
    return (
        f"holds when the 95% interval of the ratio lies within {low:.2f}-{high:.2f}x ({claim.factor:g}x divided "
        f"or multiplied by {1 + margin:g}), is refuted when it lies wholly outside that band, and is "
        "inconclusive otherwise"
    )


Direction = Literal["slower", "faster"]


def judge(comparison: Comparison, margin: float, claim: Claim = SEED) -> tuple[VerdictName, Direction | None, str]:
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
    low, high = claim_band(margin, claim)
    if high is None:
        if comparison.ci_low >= low:
            return "holds", None, f"its 95% interval lies at or above {low:.2f}"
        if comparison.ci_high < low:
            return "refuted", "slower", f"its 95% interval lies below {low:.2f}: {DIRECTIONS['slower']}"
        return "inconclusive", None, f"its 95% interval reaches below {low:.2f} without lying wholly below it"
    band = f"the band {low:.2f}-{high:.2f}"
    if low <= comparison.ci_low and comparison.ci_high <= high:
        return "holds", None, f"its 95% interval lies within {band}"
    if comparison.ci_high < low:
        return "refuted", "slower", f"its 95% interval lies below {band}: {DIRECTIONS['slower']}"
    if comparison.ci_low > high:
        return "refuted", "faster", f"its 95% interval lies above {band}: {DIRECTIONS['faster']}"
    return "inconclusive", None, f"its 95% interval reaches outside {band} without lying wholly outside it"


def claim_comparisons(scenarios: Sequence[Scenario], registry: Registry, claim: Claim = SEED) -> list[Comparison]:
    """The comparisons a claim is judged on (the seed's: FastAPI against Flask configs), with the servers' capacity
    measured, so a lazily closing client counts only where no prompt one was measured (results made before
    the close style was a setting); otherwise its effect is shown beside the verdict (``close_effects``)."""
    claimed = [
        c for c in comparisons(scenarios, registry)
        if registry.in_group(c.numerator, claim.pair[0]) and registry.in_group(c.denominator, claim.pair[1])
    ]  # fmt: skip
    prompt = {c.cell for c in claimed if c.close_style == "prompt"}
    return [c for c in claimed if not (c.close_style == "lazy" and c.cell in prompt)]


def verdicts(scenarios: Sequence[Scenario], margin: float, registry: Registry) -> list[Verdict]:
    """Each claim's verdict per comparison it is judged on, as stored in summary.json."""
    return [verdict for claim in CLAIMS for verdict in claim_verdicts(scenarios, margin, registry, claim)]


def claim_verdicts(scenarios: Sequence[Scenario], margin: float, registry: Registry, claim: Claim) -> list[Verdict]:
    low, high = claim_band(margin, claim)
    result = []
    for comparison in claim_comparisons(scenarios, registry, claim):
        verdict, direction, reason = judge(comparison, margin, claim)
        result.append(
            Verdict(
                claim=claim.text, numerator=comparison.numerator, denominator=comparison.denominator,
                model=comparison.model, workers=comparison.workers, endpoint=comparison.endpoint,
                metric=comparison.metric, ratio=comparison.ratio, ci_low=comparison.ci_low,
                ci_high=comparison.ci_high, rounds=comparison.rounds, verdict=verdict, direction=direction,
                reason=reason, close_style=comparison.close_style, band_low=low, band_high=high,
                rule=claim_rule(margin, claim),
            )
        )  # fmt: skip
    return result


def headline_comparisons(scenarios: Sequence[Scenario], registry: Registry) -> list[Comparison]:
    """The ratios the headline states: the claim's throughput comparisons."""
    return [c for c in claim_comparisons(scenarios, registry) if c.metric == "throughput"]


def precision_reached(scenarios: Sequence[Scenario], registry: Registry) -> float | None:
    """The widest half-width (a share of the ratio) among the headline ratios; None while any has no interval."""
    widths = [c.half_width for c in headline_comparisons(scenarios, registry)]
    if not widths or any(width is None for width in widths):
        return None
    return max(width for width in widths if width is not None)


TARGET_PRECISION = 0.05  # the precision a noisy machine's warning counts rounds for (as --precision 5%)


def rounds_for_target(
    scenarios: Sequence[Scenario], registry: Registry, precision: float = TARGET_PRECISION
) -> int | None:
    """The rounds the headline ratios would need for a 95% half-width of ``precision``, from their per-round
    spread in this run (None: no headline ratio with a spread)."""
    spreads = [c.log_spread for c in headline_comparisons(scenarios, registry) if c.log_spread]
    return max(rounds_for_precision(spread, precision) for spread in spreads) if spreads else None


def verdict_label(verdict: Verdict) -> str:
    return pair_label(verdict.numerator, verdict.denominator, verdict.close_style)


def verdict_key(verdict: Verdict) -> RatioKey:
    """What identifies a verdict across runs: the key of the comparison it judged."""
    return RatioKey(verdict_label(verdict), verdict.model, verdict.workers, verdict.endpoint, verdict.metric)


def outcome_phrase(verdict: VerdictName | Literal["mixed"], directions: set[str | None]) -> str:
    """``is refuted (slower than claimed)``: an overall outcome in words."""
    phrase = VERDICT_PHRASES[verdict]
    named = sorted(DIRECTIONS[d] for d in directions if d)
    return f"{phrase} ({' and '.join(named)})" if verdict == "refuted" and named else phrase


def headline(verdict_list: Sequence[Verdict]) -> str:
    """One sentence for a data scientist: the throughput verdict, the figures, and what limits them. Where a run
    pairs more configs on one model and worker count, the sentence is on the usual pair (``CLAIM_SERVERS``);
    over several models or worker counts, it says how the verdict depends on them (``conditions``)."""
    verdict_list = of_claim(verdict_list, SEED)
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
    sentence = (
        f'"{CLAIM}" {said_of(throughput)} here: FastAPI served {figures(throughput)} requests per second as Flask'
        f"{inconclusive_because(throughput)}"
    )
    cpu = [v for v in verdict_list if v.metric == "cpu_efficiency" and v.ratio is not None]
    if cpu:
        sentence += (
            f"; per server CPU-second, which the load generator cannot limit, FastAPI answered {figures(cpu)} requests"
        )
    return sentence + "." + driver_sentence(verdict_list)


def of_claim(verdict_list: Sequence[Verdict], claim: Claim) -> list[Verdict]:
    return [v for v in verdict_list if v.claim == claim.text]


def claim_sentences(verdict_list: Sequence[Verdict]) -> list[str]:
    """A sentence for each claim but the seed's that the run tested: its throughput verdicts, each pairing's
    figure and outcome."""
    sentences = []
    for claim in CLAIMS[1:]:
        throughput = [v for v in of_claim(verdict_list, claim) if v.metric == "throughput"]
        if throughput:
            each = "; ".join(f"{v.numerator} served {figure(v)} as {v.denominator} ({v.model} model, {v.workers} "
                             f"worker{'s' if v.workers > 1 else ''}): {v.verdict}" for v in throughput)  # fmt: skip
            sentences.append(f'"{claim.text}" {said_of(throughput)} here{inconclusive_because(throughput)}: {each}.')
    return sentences


def said_of(verdict_list: Sequence[Verdict]) -> str:
    """What the verdicts say together, in words (``outcome_phrase``)."""
    return outcome_phrase(overall_verdict(verdict_list), {v.direction for v in verdict_list})


def figures(verdict_list: Sequence[Verdict]) -> str:
    return " and ".join(figure(v) for v in verdict_list)


def inconclusive_because(verdict_list: Sequence[Verdict]) -> str:
    """`` (inconclusive because ...)``: the reasons of the inconclusive ones, once each; empty where none is."""
    reasons = sorted({v.reason for v in verdict_list if v.verdict == "inconclusive"})
    return f" (inconclusive because {'; '.join(reasons)})" if reasons else ""


def overall_verdict(verdict_list: Sequence[Verdict]) -> VerdictName | Literal["mixed"]:
    outcomes = {v.verdict for v in verdict_list}
    return outcomes.pop() if len(outcomes) == 1 else "mixed"


def driver_sentence(verdict_list: Sequence[Verdict]) -> str:
    """wrk's verdict beside Locust's, and a plain statement when the two drivers do not say the same."""
    locust = [v for v in verdict_list if v.metric == "throughput"]
    driven = [v for v in verdict_list if v.metric == "throughput_wrk"]
    if not driven or len({(v.numerator, v.denominator, v.model, v.workers) for v in locust}) > 1:
        return ""
    sentence = (
        f" Driven by wrk instead of Locust, FastAPI served {figures(driven)} requests per second as Flask: the claim "
        f"{said_of(driven)}{inconclusive_because(driven)}"
    )
    differing = [
        f"{endpoint_label(v.endpoint)}: Locust {v.verdict}, wrk {w.verdict}"
        for v in locust
        for w in driven
        if v.endpoint == w.endpoint and v.verdict != w.verdict
    ]
    if differing:
        sentence += f". The two load generators do not agree on the verdict ({'; '.join(differing)})"
    return sentence + "."


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
