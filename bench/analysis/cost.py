"""Two cost runs compared (``bench compare`` of two ``bench cost`` folders): each entry's instructions per
request, after over before, with the range the repeats allow, and a decision against a tolerance.

Counts repeat to a fraction of a percent, so the range is the repeats' own: from the smallest after over the
largest before to the largest over the smallest. **equivalent** when that range lies within the tolerance (a
factor 1 + tolerance either way), **changed** when it lies wholly outside, **undetermined** otherwise.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from bench.reproduce import Decision, Outcome
from bench.results import CostEntry, CostRun

DEFAULT_COST_TOLERANCE = 0.01  # 1%: counts repeat within 0.5%, so a release that costs 2% more is found
# The decisions and outcomes of two runs' ratios (bench.reproduce), here on counts.
COST_OUTCOME_RULES: dict[Outcome, str] = {
    "reproduced": "every entry's range within the tolerance",
    "changed": "an entry's range wholly outside the tolerance",
    "undetermined": "nothing wholly outside, but a range reaching past the tolerance",
}


class CostMove(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    entry: str  # endpoint-server-model
    before: float  # instructions per request, the median repeat's
    after: float
    ratio: float
    low: float  # the smallest after over the largest before
    high: float
    decision: Decision


class CostComparison(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    before: str
    after: str
    tolerance: float
    moves: list[CostMove]
    missing: list[str]  # entries counted in one run only
    outcome: Outcome


def label(entry: CostEntry) -> str:
    return f"{entry.endpoint}-{entry.server}-{entry.model}"


def move(before: CostEntry, after: CostEntry, tolerance: float) -> CostMove:
    low = min(after.instructions) / after.requests / (max(before.instructions) / before.requests)
    high = max(after.instructions) / after.requests / (min(before.instructions) / before.requests)
    if 1 / (1 + tolerance) <= low and high <= 1 + tolerance:
        decision: Decision = "equivalent"
    elif low > 1 + tolerance or high < 1 / (1 + tolerance):
        decision = "changed"
    else:
        decision = "undetermined"
    return CostMove(entry=label(before), before=before.per_request, after=after.per_request,
                    ratio=after.per_request / before.per_request, low=low, high=high, decision=decision)  # fmt: skip


def compare_costs(before: CostRun, after: CostRun, names: tuple[str, str], tolerance: float) -> CostComparison:
    """Every entry both runs counted, moved or not; ``names`` are the two folders."""
    earlier = {label(entry): entry for entry in before.entries}
    later = {label(entry): entry for entry in after.entries}
    moves = [move(earlier[name], later[name], tolerance) for name in earlier if name in later]
    decisions = {m.decision for m in moves}
    outcome: Outcome = (
        "changed" if "changed" in decisions else "reproduced" if moves and decisions == {"equivalent"}
        else "undetermined"
    )  # fmt: skip
    missing = sorted(set(earlier) ^ set(later))
    return CostComparison(before=names[0], after=names[1], tolerance=tolerance, moves=moves, missing=missing,
                          outcome=outcome)  # fmt: skip
