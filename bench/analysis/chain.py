"""Where the chart's ratio came from: a chain of configs from the chart's Flask to the chart's FastAPI, each link
changing one factor (the engine, the ORM, the worker count, the server, the framework, the driver), and each
step's paired ratio, so the chart's FastAPI/Flask factor is taken apart.

The steps multiply to the end-to-end ratio exactly. Per round, the end-to-end ratio is the product of the steps'
ratios (the intermediate throughputs cancel); so each step is summarised by the geometric mean of its per-round
ratios (the mean of their logarithms), whose product is the geometric mean of the end-to-end per-round ratios.
The suite's usual median of per-round ratios has no such property, so the chain alone uses the mean, with
Student's t interval on the logarithms (``stats.mean_log_ratio``).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from bench.analysis.select import closed_loop, round_values, usable, variants_in
from bench.limits import Limit
from bench.results import MAX_FAILURE_RATIO, Scenario, Variant
from bench.stats import Ratio, mean_log_ratio
from bench.workload import endpoint_label, endpoint_order


@dataclass(frozen=True)
class Link:
    """One config of the chain and the factor that changed on the way to it from the link before."""

    config: str
    factor: str  # a word: what the step changes
    change: str  # from what to what, a sentence's clause


# From the chart's Flask (TechEmpower, early 2019: Flask-SQLAlchemy on MySQL, meinheld's greenlet workers, three per
# core) to the chart's FastAPI (raw asyncpg, gunicorn with uvicorn workers, one per core). The framework step's
# two configs differ in the framework alone: sync handlers on psycopg's pool in 40 threads (anyio's default limit,
# what FastAPI gives def handlers), under one server (granian).
CHAIN = (
    Link("flask-cited", "", "the chart's Flask"),
    Link("flask-orm-gevent-x3", "engine", "MariaDB through PyMySQL to PostgreSQL through psycopg"),
    Link("flask-gevent-x3", "ORM", "Flask-SQLAlchemy's ORM to raw SQL on psycopg's pool"),
    Link("flask-gunicorn-gevent", "workers", "three gevent workers per core to one"),
    Link("flask-granian-threads", "server", "gunicorn's gevent worker to granian's 40 WSGI threads"),
    Link(
        "fastapi-def-granian",
        "framework",
        "Flask to FastAPI, both sync handlers in 40 threads on psycopg under granian",
    ),
    Link("fastapi-granian", "driver", "def handlers on psycopg to async def on asyncpg"),
    Link("fastapi-cited", "server", "granian to gunicorn with uvicorn workers: the chart's FastAPI"),
)
FRAMEWORK_FACTOR = "framework"
CITED_PAIR = (CHAIN[-1].config, CHAIN[0].config)  # numerator first: FastAPI's, Flask's


@dataclass(frozen=True)
class Step:
    """One link's paired ratio (its config over the link before's), its share of the end-to-end factor (on the
    log scale: how much of the chart's ratio it is), and what limited each side's figures."""

    link: Link
    before: str
    ratio: Ratio
    share: float | None  # log(step) / log(end to end); None where the end-to-end ratio is too near 1 to share
    limits: tuple[str, str]  # the before's and the after's most frequent limit over the rounds
    lower_bound: bool  # either side's figure was limited by anything but the server in some round
    failed: bool  # either side failed more than MAX_FAILURE_RATIO of its requests in some round: not a valid figure


@dataclass(frozen=True)
class Chain:
    """The chain on one endpoint: the end-to-end ratio and its steps, over the rounds that measured every link."""

    endpoint: str
    end_to_end: Ratio
    steps: tuple[Step, ...]

    @property
    def framework(self) -> Step:
        return next(step for step in self.steps if step.link.factor == FRAMEWORK_FACTOR)

    @property
    def largest(self) -> Step:
        """The step that moved the ratio most, either way (on the log scale)."""
        return max(self.steps, key=lambda step: abs(math.log(step.ratio.ratio)))

    @property
    def product(self) -> float:
        return math.prod(step.ratio.ratio for step in self.steps)


MIN_SHARED_LOG = math.log(1.05)  # below a 5% end-to-end factor, a step's share of it is not stated


def chains(scenarios: Sequence[Scenario], links: Sequence[Link] = CHAIN) -> list[Chain]:
    """The chain on each endpoint where every link was measured in at least two common rounds."""
    closed = closed_loop(scenarios)
    found = []
    for endpoint in sorted({s.endpoint for s in closed}, key=endpoint_order):
        variants = {v.server: v for v in variants_in([s for s in closed if s.endpoint == endpoint])}
        if not all(link.config in variants for link in links):
            continue
        values = [round_values(closed, variants[link.config], endpoint) for link in links]
        rounds = sorted(set.intersection(*(set(v) for v in values)))
        if len(rounds) < 2:
            continue
        series = [[v[r] for r in rounds] for v in values]
        end_to_end = mean_log_ratio(series[-1], series[0])
        total = math.log(end_to_end.ratio)
        steps = []
        for index in range(1, len(links)):
            ratio = mean_log_ratio(series[index], series[index - 1])
            sides = [side_figures(closed, variants[links[i].config], endpoint, rounds) for i in (index - 1, index)]
            steps.append(
                Step(
                    links[index], links[index - 1].config, ratio,
                    math.log(ratio.ratio) / total if abs(total) >= MIN_SHARED_LOG else None,
                    (sides[0][0], sides[1][0]), sides[0][1] or sides[1][1], sides[0][2] or sides[1][2],
                )
            )  # fmt: skip
        found.append(Chain(endpoint, end_to_end, tuple(steps)))
    return found


def side_figures(
    scenarios: Sequence[Scenario], variant: Variant, endpoint: str, rounds: Sequence[int]
) -> tuple[Limit, bool, bool]:
    """A link's most frequent limit over ``rounds``, whether any of its figures there is a lower bound, and whether
    any is not valid (too many failures)."""
    mine = [s for s in usable(scenarios) if s.variant == variant and s.endpoint == endpoint and s.repeat in rounds]
    limits = Counter(s.limited_by for s in mine)
    return limits.most_common(1)[0][0], any(s.lower_bound for s in mine), any(not s.valid for s in mine)


def chain_sentence(chain: Chain) -> str:
    """How much of the chart's factor each part is, here, and what its reader would have put on FastAPI."""
    head, framework, largest = chain.end_to_end, chain.framework, chain.largest
    parts = ", ".join(
        f"{step.link.factor} {step.ratio.ratio:.2f}x" + (f" ({step.share:.0%})" if step.share is not None else "")
        for step in chain.steps
    )
    failed = [step.link.factor for step in chain.steps if step.failed]
    warning = (
        f" Not valid as throughput: the {', '.join(dict.fromkeys(failed))} step{'s' if len(failed) > 1 else ''} "
        f"compared figures with more than {MAX_FAILURE_RATIO:.1%} of their requests failed."
        if failed
        else ""
    )
    return (
        f"On {endpoint_label(chain.endpoint)}, the chart's setups give FastAPI/Flask {head.ratio:.2f}x here "
        f"({interval_text(head)}, {head.rounds} rounds); with only the framework different it is "
        f"{framework.ratio.ratio:.2f}x ({interval_text(framework.ratio)}). The steps ({parts}, each share of the "
        f"factor on the log scale) multiply to {chain.product:.2f}x; the largest is the {largest.link.factor} "
        f"({largest.link.change}), {largest.ratio.ratio:.2f}x. A reader of the chart would have put all "
        f"{head.ratio:.2f}x on FastAPI.{warning}"
    )


def interval_text(ratio: Ratio) -> str:
    if ratio.ci_low is None or ratio.ci_high is None:
        return "no interval"
    return f"95% CI {ratio.ci_low:.2f}-{ratio.ci_high:.2f}"
