"""Everything a reader should know before trusting a run's figures: lower bounds, failures, spread between
rounds, disagreeing drivers, too few rounds, and the machine's noise and state as the manifest recorded
them.
"""

from __future__ import annotations

from collections.abc import Sequence

from bench.analysis.agreement import AGREEMENT, agreements
from bench.analysis.claim import MIN_VERDICT_ROUNDS, TARGET_PRECISION, rounds_for_target
from bench.analysis.select import closed_loop, groups, labeller, usable
from bench.limits import CLIENT_BOUND_PERCENT, MIN_SERVER_BUSY
from bench.registry import Registry
from bench.results import NEAR_CLIENT_LIMIT, Manifest, Scenario
from bench.stats import coefficient_of_variation
from bench.workload import endpoint_label

CV_WARNING = 0.05
LOAD_WARNING = 0.5


def warnings(scenarios: Sequence[Scenario], manifest: Manifest | None, registry: Registry) -> list[str]:
    """Everything a reader should know before trusting the figures (``manifest`` None: the figures alone)."""
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
    return found + (machine_warnings(scenarios, manifest, repeats, registry) if manifest else [])


def machine_warnings(scenarios: Sequence[Scenario], manifest: Manifest, rounds: int, registry: Registry) -> list[str]:
    """The machine's noise and load, and the tree's state, as the manifest recorded them."""
    found = []
    steadiness = manifest.machine
    if steadiness is not None and steadiness.noisy:
        needed = rounds_for_target(scenarios, registry)
        found.append(
            f"a noisy machine: {steadiness.why_noisy()}"
            + (f"; a {TARGET_PRECISION:.0%} precision on the headline ratio needs about {needed} rounds here (this "
               f"run has {rounds}; --precision {TARGET_PRECISION:.0%} adds them)" if needed else "")
        )  # fmt: skip
    environment = manifest.environment
    load = (environment.load_average_before or [0.0])[0]
    if load > LOAD_WARNING:
        found.append(f"the machine was busy before the run: load average {load:.2f} (over {LOAD_WARNING})")
    if environment.git.dirty:
        found.append("the git tree had uncommitted changes: the code measured is not exactly a commit")
    return found
