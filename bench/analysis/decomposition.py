"""Where the headline ratio comes from: FastAPI/Flask under one server both run on (the framework) times
what the usual servers add (the servers).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bench.analysis.claim import CLAIM_PAIR, CLAIM_SERVERS
from bench.analysis.ratios import Comparison, compare, interval_of, with_interval
from bench.analysis.select import closed_loop, condition_namer, round_values, variants_in
from bench.registry import Registry
from bench.results import Scenario
from bench.stats import Ratio, paired_ratio
from bench.workload import endpoint_label, endpoint_order


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


def decompositions(scenarios: Sequence[Scenario], registry: Registry) -> list[Decomposition]:
    """For each FastAPI and Flask config that run on the same server (``ServerConfig.runs_on``), other than the
    headline's own servers, the headline ratio split into the framework's factor and the servers' factor."""
    closed = closed_loop(scenarios)
    variants = variants_in(closed)
    condition = condition_namer(closed)
    usual_top, usual_bottom = CLAIM_SERVERS
    found = []
    for top, bottom in [
        (top, bottom) for top in variants for bottom in variants
        if (registry.family(top.server), registry.family(bottom.server)) == CLAIM_PAIR
        and registry.config(top.server).runs_on == registry.config(bottom.server).runs_on != ""
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
                    registry.config(top.server).runs_on,
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
