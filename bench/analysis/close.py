"""The client's close style: what a lazily closing client costs a config that closes each connection, and
what the claim's ratio becomes under it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bench.analysis.claim import CLAIM_PAIR
from bench.analysis.ratios import Comparison, compare, comparisons
from bench.analysis.select import closed_loop, variants_in
from bench.closing import CLOSE_STYLES
from bench.registry import Registry
from bench.results import Scenario
from bench.workload import endpoint_label, endpoint_order


@dataclass(frozen=True)
class CloseEffect:
    """One server config that closes each connection, measured under both close styles: prompt / lazy."""

    throughput: Comparison  # numerator: the prompt close, denominator: the lazy close
    claim: Comparison | None  # the claim's ratio against the lazily closed config, if the run has one


def close_effects(scenarios: Sequence[Scenario], registry: Registry) -> list[CloseEffect]:
    """How much a lazily closing client costs each config that closes connections, and what the claim's ratio
    becomes under it."""
    scenarios = closed_loop(scenarios)
    claims = {
        (c.denominator, c.model, c.workers, c.endpoint): c
        for c in comparisons(scenarios, registry)
        if c.metric == "throughput"
        and c.close_style == "lazy"
        and (registry.family(c.numerator), registry.family(c.denominator)) == CLAIM_PAIR
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
