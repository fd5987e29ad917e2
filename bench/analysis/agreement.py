"""Locust against wrk on the same server processes: whether the two load generators measured the same
throughput.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bench.analysis.select import closed_loop, groups, metric_values, usable
from bench.results import Scenario, Variant
from bench.stats import median, paired_ratio

AGREEMENT = 0.05  # Locust and wrk medians should agree this closely where both saturate the server


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
        both = [s for s in usable(group) if s.crosscheck and s.crosscheck.rps]
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
