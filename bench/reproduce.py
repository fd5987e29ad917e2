"""``bench compare`` and ``bench reproduce``: do two results folders say the same thing?

Compare reads result folders only. First, what differs in the environment. Per ratio between server configs
(each run's per-round log ratios), a decision (TOST, as in bioequivalence):

- **equivalent**: the 90% interval of the move lies within the tolerance (a factor 1 + tolerance either way);
- **changed**: the interval excludes no change and the move is larger than the tolerance, at 95% over all
  the ratios compared together (each at 1 - 5%/k for k ratios, Bonferroni), so "changed" is rarely said
  of two runs of one machine;
- **undetermined**: neither, with the rounds per run that would decide it, from the runs' own spread.

The move is the Hodges-Lehmann shift between the two runs' per-round log ratios, its intervals the
Mann-Whitney ones (``bench.stats``). Per verdict on the claim (both runs judged by today's rules, with the
first run's claim margin): holds against refuted is a change; to or from inconclusive is undetermined.
Per variant and endpoint, the change in median rps, p99 and server CPU per request, with a Welch t-test
over the repeats (as pyperf does). Reproduce re-runs a folder's recorded configuration, then compares.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict
from scipy import stats

from bench.analysis import claim, ratios, select
from bench.analysis.ratios import RatioKey
from bench.config import BenchConfig
from bench.errors import BenchError
from bench.registry import Registry
from bench.results import Manifest, Scenario, load_manifest, load_summary
from bench.stats import CONFIDENCE, log_ratios, median, rounds_for_shift, shift_interval

SIGNIFICANCE = 0.05
DEFAULT_TOLERANCE = 0.10
EQUIVALENCE_CONFIDENCE = 0.90  # two one-sided tests at 5% each
MEASUREMENT_SETTINGS = ("close_style", "user_class", "users")  # settings that change what a figure measures
FIGURES = {"rps": "rps", "p99_ms": "p99 ms", "server_cpu_us_per_request": "server CPU µs/req"}

Decision = Literal["equivalent", "changed", "undetermined"]
Outcome = Literal["reproduced", "changed", "undetermined"]
EXIT_CODES: dict[Outcome, int] = {"reproduced": 0, "changed": 1, "undetermined": 3}
OUTCOME_RULES: dict[Outcome, str] = {
    "reproduced": "every ratio equivalent and no verdict changed",
    "changed": "a ratio or a verdict changed",
    "undetermined": "nothing changed, but the runs cannot confirm every ratio equivalent",
}


class Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Change(Record):
    """One figure of one variant and endpoint, before and after."""

    server: str
    model: str
    workers: int
    close_style: str | None
    endpoint: str
    figure: str
    before: float | None
    after: float | None
    change: float | None  # after / before - 1
    p_value: float | None
    significant: bool


class RatioMove(Record):
    """How far one ratio moved between two runs, and the decision on it."""

    label: str
    model: str
    workers: int
    endpoint: str
    metric: str
    before: float | None
    after: float | None
    moved: float | None  # after / before - 1 (the decision rests on the shift's intervals below)
    low90: float | None  # the 90% interval of the Hodges-Lehmann shift of the per-round ratios (equivalence)
    high90: float | None
    low95: float | None  # the move's change interval (95% over all the ratios compared: ``change_confidence``)
    high95: float | None
    decision: Decision
    rounds_needed: int | None = None  # undetermined: rounds per run that would decide it


class VerdictPair(Record):
    label: str
    model: str
    workers: int
    endpoint: str
    metric: str
    before: str | None
    after: str | None

    @property
    def decision(self) -> Decision:
        """holds against refuted is a change; to or from inconclusive (or a missing side) is undetermined."""
        if self.before == self.after:
            return "equivalent"
        if {self.before, self.after} == {"holds", "refuted"}:
            return "changed"
        return "undetermined"


class Reproduction(Record):
    """The comparison of two results folders, as ``reproduction.json`` stores it."""

    before: str
    after: str
    tolerance: float
    outcome: Outcome
    environment_differences: list[str]
    verdicts: list[VerdictPair]
    ratios: list[RatioMove]
    figures: list[Change]

    @property
    def rounds_needed(self) -> int | None:
        """The most rounds per run any undetermined ratio needs to be decided."""
        return max((m.rounds_needed for m in self.ratios if m.rounds_needed), default=None)


def welch_p_value(before: list[float], after: list[float]) -> float | None:
    """Two-sided Welch t-test over repeats; None when either side has fewer than two values or no spread."""
    if len(before) < 2 or len(after) < 2:
        return None
    if np.std(before) <= 1e-9 * abs(np.mean(before)) and np.std(after) <= 1e-9 * abs(np.mean(after)):
        return None  # no spread on either side: a t-test has nothing to weigh
    return float(stats.ttest_ind(before, after, equal_var=False).pvalue)


def figure_changes(before: list[Scenario], after: list[Scenario]) -> list[Change]:
    old, new = select.groups(select.closed_loop(before)), select.groups(select.closed_loop(after))
    changes = []
    for key in [k for k in old if k in new]:
        for figure in FIGURES:
            a = [float(getattr(s, figure)) for s in select.usable(old[key]) if getattr(s, figure) is not None]
            b = [float(getattr(s, figure)) for s in select.usable(new[key]) if getattr(s, figure) is not None]
            first, second = (median(a) if a else None), (median(b) if b else None)
            change = second / first - 1 if first and second is not None else None
            p_value = welch_p_value(a, b)
            variant, endpoint = key
            changes.append(
                Change(**variant._asdict(), endpoint=endpoint, figure=figure, before=first, after=second,
                       change=change, p_value=p_value, significant=p_value is not None and p_value < SIGNIFICANCE)
            )  # fmt: skip
    return changes


def change_confidence(ratios: int) -> float:
    """The confidence of each ratio's change interval, so that all of them together wrongly call a change no
    more often than 1 - CONFIDENCE (Bonferroni): "changed" is said of the comparison as a whole. Equivalence
    needs no such correction: it is said only when every ratio is equivalent."""
    return 1 - (1 - CONFIDENCE) / max(ratios, 1)


def decide(
    before: list[float], after: list[float], tolerance: float, confidence: float = CONFIDENCE
) -> tuple[Decision, int | None, dict[str, Any]]:
    """TOST on two runs' per-round log ratios: the decision, the rounds per run that would settle an
    undetermined one, and the move with its intervals (as after / before - 1; the change interval at
    ``confidence``)."""
    equivalence = shift_interval(before, after, EQUIVALENCE_CONFIDENCE)
    change = shift_interval(before, after, confidence)  # None: too few rounds for so wide an interval
    if equivalence is None:
        return "undetermined", None, {"moved": None, "low90": None, "high90": None, "low95": None, "high95": None}
    bound, shift = math.log1p(tolerance), equivalence.shift
    moves = {
        "moved": math.expm1(shift),
        "low90": math.expm1(equivalence.low),
        "high90": math.expm1(equivalence.high),
        "low95": math.expm1(change.low) if change else None,
        "high95": math.expm1(change.high) if change else None,
    }
    if -bound <= equivalence.low and equivalence.high <= bound:
        return "equivalent", None, moves
    if change is not None and (change.low > 0 or change.high < 0) and abs(shift) > bound:
        return "changed", None, moves
    spread = math.sqrt((np.var(before, ddof=1) + np.var(after, ddof=1)) / 2)
    if spread == 0:
        return "undetermined", None, moves
    if abs(shift) < bound:  # to show equivalence, the 90% interval must fit in what the move leaves
        needed = rounds_for_shift(spread, bound - abs(shift), EQUIVALENCE_CONFIDENCE)
    else:  # to show a change, the change interval must exclude no change
        needed = rounds_for_shift(spread, abs(shift), confidence)
    return "undetermined", needed, moves


def ratio_moves(
    before: list[Scenario], after: list[Scenario], tolerance: float, registries: tuple[Registry, Registry]
) -> list[RatioMove]:
    """Each ratio both runs made (each judged with its own run's registry), and how it moved."""
    old = {c.key: c for c in ratios.comparisons(before, registries[0])}
    new = {c.key: c for c in ratios.comparisons(after, registries[1])}
    common = [k for k in old if k in new]
    moves = []
    for key in common:
        first = log_ratios(*ratios.values_behind(before, old[key]))
        second = log_ratios(*ratios.values_behind(after, new[key]))
        decision, needed, moved = decide(first, second, tolerance, change_confidence(len(common)))
        before_ratio, after_ratio = old[key].ratio, new[key].ratio
        if before_ratio and after_ratio is not None:  # shown as the two ratios' move; decided on the shift
            moved["moved"] = after_ratio / before_ratio - 1
        moves.append(
            RatioMove(**key._asdict(), before=old[key].ratio, after=new[key].ratio, decision=decision,
                      rounds_needed=needed, **moved)
        )  # fmt: skip
    return moves


def verdict_pairs(
    before: list[Scenario], after: list[Scenario], margin: float, registries: tuple[Registry, Registry]
) -> list[VerdictPair]:
    old, new = verdicts_by_key(before, margin, registries[0]), verdicts_by_key(after, margin, registries[1])
    return [
        VerdictPair(**key._asdict(), before=old.get(key), after=new.get(key))
        for key in dict.fromkeys([*old, *new])
    ]  # fmt: skip


def verdicts_by_key(scenarios: list[Scenario], margin: float, registry: Registry) -> dict[RatioKey, str]:
    return {claim.verdict_key(v): v.verdict for v in claim.verdicts(scenarios, margin, registry)}


def outcome_of(moves: list[RatioMove], pairs: list[VerdictPair]) -> Outcome:
    decisions = {m.decision for m in moves} | {p.decision for p in pairs}
    if "changed" in decisions:
        return "changed"
    if decisions == {"equivalent"}:
        return "reproduced"
    return "undetermined"


def environment_differences(before: Manifest, after: Manifest) -> list[str]:
    """What differs between two manifests' environments (packages, CPU, cores, Python, commit) and in the
    settings that change what a figure measures (the client's close style, user class and users)."""
    first, second = before.environment.model_dump(), after.environment.model_dump()
    differences = []
    for name, label in (("cpu_model", "CPU model"), ("cpu_count", "core count"), ("python", "Python"),
                        ("hostname", "host"), ("constraints_sha256", "constraints.txt")):  # fmt: skip
        if first[name] != second[name]:
            differences.append(f"{label}: {first[name]} -> {second[name]}")
    if before.environment.git.commit != after.environment.git.commit:
        differences.append(f"git commit: {before.environment.git.commit} -> {after.environment.git.commit}")
    old_config, new_config = before.config.to_json_dict(), after.config.to_json_dict()
    for setting in MEASUREMENT_SETTINGS:
        if old_config[setting] != new_config[setting]:
            differences.append(f"{setting}: {old_config[setting]} -> {new_config[setting]}")
    for block in ("packages", "tools"):
        old_versions, new_versions = first[block], second[block]
        for name in sorted(set(old_versions) & set(new_versions)):  # what one side never recorded is unknown
            if old_versions[name] != new_versions[name]:
                differences.append(f"{name}: {old_versions.get(name)} -> {new_versions.get(name)}")
    return differences


def compare(before: Path, after: Path, tolerance: float = DEFAULT_TOLERANCE) -> Reproduction:
    """The comparison of two results folders, as stored in reproduction.json."""
    if not 0 < tolerance < 1:
        raise BenchError(f"bad tolerance {tolerance:g}: a share between 0 and 1, such as 0.1")
    old, new = load_summary(before), load_summary(after)
    first, second = recorded_config(before), recorded_config(after)
    if first.model != second.model:
        raise BenchError(f"{before} and {after} served different models: not comparable")
    registries = first.registry, second.registry
    moves = ratio_moves(old.scenarios, new.scenarios, tolerance, registries)
    if not moves:
        raise BenchError(f"{before} and {after} have no ratio in common: nothing to compare")
    pairs = verdict_pairs(old.scenarios, new.scenarios, first.claim_margin, registries)
    return Reproduction(
        before=str(before), after=str(after), tolerance=tolerance, outcome=outcome_of(moves, pairs),
        environment_differences=environment_differences(load_manifest(before), load_manifest(after)),
        verdicts=pairs, ratios=moves, figures=figure_changes(old.scenarios, new.scenarios),
    )  # fmt: skip


def recorded_config(folder: Path) -> BenchConfig:
    return load_manifest(folder).config
