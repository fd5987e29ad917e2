"""``bench bisect PACKAGE --good V --bad V``: the first release between two whose figure moved.

The releases come from the package index pip is configured with (``pip index versions``), those from the
good one to the bad one (pre-releases only if one of the two is). Each step is a short run of its own
(``--vary PACKAGE=GOOD,CANDIDATE``, both in every round, in a seeded random order) and asks of the figure
(one config's throughput, or the headline ratio with that config on its side) what ``bench compare`` asks
of a ratio (``reproduce.decide``): has the candidate moved from the good release beyond the tolerance
(changed), stayed within it (equivalent), or can the rounds not tell (undetermined)? On instructions per
request a step is a ``bench cost`` count of both releases instead, decided as two counts are
(``analysis.cost``: on the range the repeats allow). The good and the bad
release are measured first; if they do not differ, there is nothing to find. Then a binary search: a
changed candidate is the new bad end, an equivalent one the new good end, until the two are neighbours.
An undetermined step stops the search and says so, with the rounds it would need.
"""

from __future__ import annotations

import math
import re
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from packaging.version import InvalidVersion, Version
from pydantic import BaseModel, ConfigDict

from bench.analysis.claim import MIN_VERDICT_ROUNDS
from bench.analysis.cost import count_ratio
from bench.analysis.ratios import comparisons, values_behind
from bench.analysis.releases import claim_under
from bench.analysis.select import round_values, variants_in
from bench.config import BenchConfig, validate_config
from bench.errors import BenchError
from bench.reproduce import DEFAULT_TOLERANCE, Decision, decide
from bench.results import Scenario
from bench.stats import median
from bench.workload import endpoint_label

# Each step's run: short phases, and the fewest rounds that give an interval (as --matrix full).
STEP_SETTINGS: dict[str, int | float] = {"repeats": MIN_VERDICT_ROUNDS, "duration": 3.0, "warmup": 1.0}
Metric = Literal["throughput", "ratio", "instructions"]
METRICS: dict[str, str] = {  # what each figure is, in the help and the sentence
    "throughput": "requests per second",
    "ratio": "FastAPI/Flask ratio (the headline pair, with the config on its side)",
    "instructions": "instructions per request (counted under callgrind, as bench cost does)",
}
INTERVALS: dict[Metric, str] = {  # what a step's interval is, by metric
    "throughput": "90% CI", "ratio": "90% CI", "instructions": "the repeats' range",
}  # fmt: skip


class Step(BaseModel):
    """One candidate measured against the good release."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str
    run: str  # its results folder
    good_figure: float | None  # the figure's median over rounds, under the good release
    figure: float | None  # and under this one
    moved: float | None  # this / good - 1: the shift of the figures (Hodges-Lehmann, on logarithms), or of counts
    low90: float | None  # the ends of the step's interval (``interval`` says which: a 90% CI, or the repeats' range)
    high90: float | None
    interval: str = INTERVALS["throughput"]
    decision: Decision
    rounds_needed: int | None


class Bisection(BaseModel):
    """What ``bench bisect`` found, as ``bisect.json`` records it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    package: str
    good: str
    bad: str
    server: str
    endpoint: str
    metric: Metric
    tolerance: float
    releases: list[str]  # from good to bad, as the index lists them
    steps: list[Step]
    first_moved: str | None  # the first release whose figure moved; None: not found
    outcome: Literal["found", "no change", "undetermined"]

    @property
    def sentence(self) -> str:
        subject = f"{self.server}'s {METRICS[self.metric]} on {endpoint_label(self.endpoint)}"
        if self.outcome == "found":
            before = self.releases[self.releases.index(self.first_moved or self.bad) - 1]
            step = next(s for s in self.steps if s.version == self.first_moved)
            return (
                f"{self.package} {self.first_moved} is the first release that moved {subject}: "
                f"{100 * (step.moved or 0):+.1f}% from {self.good} ({step.interval} {100 * (step.low90 or 0):+.1f}% "
                f"to {100 * (step.high90 or 0):+.1f}%), where {before} had not."
            )
        if self.outcome == "no change":
            return f"{subject} did not move beyond {self.tolerance:.0%} from {self.package} {self.good} to {self.bad}."
        last = self.steps[-1]
        if self.metric == "instructions":
            return (f"undetermined at {self.package} {last.version}: the repeats' range reaches past "
                    f"{self.tolerance:.0%} on one side only; more requests a repeat would narrow it.")  # fmt: skip
        return (
            f"undetermined at {self.package} {last.version}: the rounds cannot tell a move beyond "
            f"{self.tolerance:.0%} from none; about {last.rounds_needed or '?'} rounds a step would."
        )


def available_releases(package: str) -> list[str]:
    """The releases the package index pip is configured with offers, oldest first."""
    try:
        done = subprocess.run(
            [sys.executable, "-m", "pip", "index", "versions", package, "--disable-pip-version-check"],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError) as error:
        raise BenchError(f"cannot list the releases of {package}: {error}") from None
    found = re.search(r"Available versions: (.*)", done.stdout)
    if done.returncode != 0 or found is None:
        reason = (done.stderr.strip().splitlines() or ["no answer"])[-1]
        raise BenchError(f"cannot list the releases of {package} from the package index: {reason}")
    return sorted((text.strip() for text in found.group(1).split(",") if text.strip()), key=version_key)


def version_key(text: str) -> Version:
    try:
        return Version(text)
    except InvalidVersion:
        raise BenchError(f"{text!r} is not a version") from None


def between(releases: Sequence[str], good: str, bad: str) -> list[str]:
    """The releases from ``good`` to ``bad`` (either may be the older), both included, in that order."""
    ends = {version_key(good), version_key(bad)}
    missing = [text for text in (good, bad) if version_key(text) not in {version_key(r) for r in releases}]
    if missing:
        raise BenchError(f"{missing[0]} is not among the releases the index lists")
    low, high = min(ends), max(ends)
    prereleases = any(version.is_prerelease for version in ends)
    span = [r for r in releases if low <= version_key(r) <= high and (prereleases or not version_key(r).is_prerelease)]
    span.sort(key=version_key)
    return span if version_key(good) < version_key(bad) else span[::-1]


@dataclass(frozen=True)
class Question:
    """What a bisection asks: which release between ``good`` and ``bad`` first moved ``server``'s figure."""

    package: str
    good: str
    bad: str
    server: str
    metric: Metric = "throughput"
    tolerance: float = DEFAULT_TOLERANCE


def release_config(config: BenchConfig, question: Question, version: str) -> str:
    """The name of the question's config derived for ``version`` of its package in a step's ``config``."""
    name = config.registry.release_name(question.server, f"{question.package}-{version}")
    if name is None:
        raise BenchError(f"{question.server} does not run on {question.package} (its packages: bench list)")
    return name


def figures_of(scenarios: Sequence[Scenario], config: BenchConfig, question: Question, version: str) -> list[float]:
    """The figure per round under ``version``: the config's throughput, or the headline ratio with it on its side."""
    name = release_config(config, question, version)
    mine = next(v for v in variants_in(scenarios) if v.server == name)
    endpoint = config.endpoints[0]
    if question.metric == "throughput":
        values = round_values(scenarios, mine, endpoint)
        return [values[r] for r in sorted(values)]
    claim = claim_under(comparisons(scenarios, config.registry), mine, endpoint, config.registry)
    if claim is None:
        raise BenchError(f"no headline ratio with {name} on its side was measured")
    top, bottom = values_behind(scenarios, claim)
    return [t / b for t, b in zip(top, bottom, strict=True)]


# A step's config and run id -> the figure under each of its two releases, one value a round (or a repeat).
Measure = Callable[[BenchConfig, str], Mapping[str, list[float]]]


def step(config: BenchConfig, measure: Measure, question: Question, candidate: str, run_id: str) -> Step:
    """Measure ``candidate`` beside the good release and decide whether the figure moved."""
    step_config = validate_config({**config.to_json_dict(), "vary": {question.package: [question.good, candidate]}})
    figures = measure(step_config, run_id)
    before, after = figures[question.good], figures[candidate]
    if question.metric == "instructions":  # counts: the repeats' range decides
        counted = count_ratio(after, before)
        decision, needed = counted.decision(question.tolerance), None
        moves = {"moved": counted.ratio - 1, "low90": counted.low - 1, "high90": counted.high - 1}
    else:
        decision, needed, moves = decide([math.log(v) for v in before], [math.log(v) for v in after],
                                         question.tolerance)  # fmt: skip
    return Step(
        version=candidate, run=run_id, good_figure=median(before) if before else None,
        figure=median(after) if after else None, moved=moves["moved"], low90=moves["low90"],
        high90=moves["high90"], interval=INTERVALS[question.metric], decision=decision, rounds_needed=needed,
    )  # fmt: skip


def bisect(
    config: BenchConfig,
    measure: Measure,
    question: Question,
    releases: Sequence[str],
    on_step: Callable[[Step], None] | None = None,
) -> Bisection:
    """The binary search of the module's docstring, over ``releases`` (from the good release to the bad)."""
    span = between(releases, question.good, question.bad)
    steps: list[Step] = []

    def measured(candidate: str) -> Step:
        result = step(config, measure, question, candidate, f"step{len(steps) + 1}-{question.package}-{candidate}")
        steps.append(result)
        if on_step:
            on_step(result)
        return result

    def record(first: str | None, outcome: Literal["found", "no change", "undetermined"]) -> Bisection:
        return Bisection(
            package=question.package, good=question.good, bad=question.bad, server=question.server,
            endpoint=config.endpoints[0], metric=question.metric, tolerance=question.tolerance, releases=span,
            steps=steps, first_moved=first, outcome=outcome,
        )  # fmt: skip

    ends = measured(question.bad)
    if ends.decision == "equivalent":
        return record(None, "no change")
    if ends.decision == "undetermined":
        return record(None, "undetermined")
    low, high = 0, len(span) - 1  # span[low] has not moved (the good release); span[high] has
    while high - low > 1:
        middle = (low + high) // 2
        decision = measured(span[middle]).decision
        if decision == "undetermined":
            return record(None, "undetermined")
        low, high = (low, middle) if decision == "changed" else (middle, high)
    return record(span[high], "found")
