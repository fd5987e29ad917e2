"""Which stored scenarios a question uses and what they are called: closed or open loop, usable, grouped by
variant and endpoint, a metric's values by round, and the labels the console, the report and the plots
give them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Literal

from bench.results import Scenario, Variant

Metric = Literal["throughput", "cpu_efficiency", "throughput_wrk"]
METRIC_LABELS: dict[str, str] = {
    "throughput": "requests per second",
    "cpu_efficiency": "requests per server CPU-second",
    "throughput_wrk": "requests per second, driven by wrk",
}


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
        return scenario.crosscheck.rps if scenario.crosscheck and scenario.crosscheck.rps else None
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


def round_values(scenarios: Sequence[Scenario], variant: Variant, endpoint: str) -> dict[int, float]:
    """A variant's throughput per round on one endpoint."""
    return by_round(groups(scenarios).get((variant, endpoint), []), "throughput")
