"""Counts compared: the headline pair's ratio of instructions per request within one cost run, and two cost runs
(``bench compare`` of two ``bench cost`` folders, ``bench reproduce`` of one): each entry's instructions per
request, after over before, with the range the repeats allow, and a decision against a tolerance.

Counts repeat to a fraction of a percent, so the range is the repeats' own: from the smallest after over the
largest before to the largest over the smallest. **equivalent** when that range lies within the tolerance (a
factor 1 + tolerance either way), **changed** when it lies wholly outside, **undetermined** otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict

from bench.analysis.claim import CLAIM_SERVERS
from bench.reproduce import DEFAULT_TOLERANCE, Decision, Outcome
from bench.results import CostEntry, CostRun
from bench.stats import median

# What a count is and is not (bench.cost counts), as the report says it (and the README, in its words).
COUNTED = (
    "user-space instructions of the server's whole process tree (callgrind), over the measured requests alone",
    "system calls by name (strace): how often the server entered the kernel, not how long it stayed",
    "in a server that polls while it waits for the next connection (gunicorn's sync worker: select, an accept4 "
    "that finds none), each turn of that loop: as many as the client was late, so such a count moves with the "
    "machine's load, by up to 2% here",
)
NOT_COUNTED = (
    "the kernel's own work: a new connection per request costs more in time than in instructions",
    "waiting: for the network, a lock, a database",
    "cache and memory effects: an instruction is not a unit of time",
    "parallelism: one request at a time to one worker",
    "which Python code ran: callgrind sees no Python frames, so all pure-Python code (the frameworks' own "
    "included) is the interpreter's share",
)
DEFAULT_COST_TOLERANCE = 0.01  # 1%: counts repeat within 0.5%, so a release that costs 2% more is found


def tolerance_for(given: float | None, counts: bool) -> float:
    """The tolerance given, else the default of what is compared: counts (1%) or a run's ratios (10%)."""
    if given is not None:
        return given
    return DEFAULT_COST_TOLERANCE if counts else DEFAULT_TOLERANCE


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


class CountRatio(BaseModel):
    """One entry's instructions per request over another's: the medians' ratio and the repeats' range."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ratio: float
    low: float  # the smallest of the one over the largest of the other
    high: float

    def decision(self, tolerance: float) -> Decision:
        if 1 / (1 + tolerance) <= self.low and self.high <= 1 + tolerance:
            return "equivalent"
        if self.low > 1 + tolerance or self.high < 1 / (1 + tolerance):
            return "changed"
        return "undetermined"


def count_ratio(over: Sequence[float], under: Sequence[float]) -> CountRatio:
    """``over`` against ``under``, each a list of per-request counts (one a repeat)."""
    return CountRatio(ratio=median(over) / median(under), low=min(over) / max(under), high=max(over) / min(under))


def per_request(entry: CostEntry) -> list[float]:
    return [count / entry.requests for count in entry.instructions]


class PairCost(BaseModel):
    """The headline pair's cost on one endpoint and model: Flask's instructions per request over FastAPI's, as
    the throughput ratio is FastAPI's requests per second over Flask's."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    endpoint: str
    model: str
    fast: str  # the config whose cost is the divisor (FastAPI's usual)
    slow: str
    counted: CountRatio


def pair_costs(run: CostRun) -> list[PairCost]:
    """The headline pair's cost ratio wherever the run counted both sides."""
    found = {(e.server, e.endpoint, e.model): e for e in run.entries}
    fast, slow = CLAIM_SERVERS
    return [
        PairCost(endpoint=entry.endpoint, model=entry.model, fast=fast, slow=slow,
                 counted=count_ratio(per_request(found[slow, entry.endpoint, entry.model]), per_request(entry)))
        for entry in run.entries
        if entry.server == fast and (slow, entry.endpoint, entry.model) in found
    ]  # fmt: skip


def label(entry: CostEntry) -> str:
    return f"{entry.endpoint}-{entry.server}-{entry.model}"


def move(before: CostEntry, after: CostEntry, tolerance: float) -> CostMove:
    counted = count_ratio(per_request(after), per_request(before))
    return CostMove(entry=label(before), before=before.per_request, after=after.per_request, ratio=counted.ratio,
                    low=counted.low, high=counted.high, decision=counted.decision(tolerance))  # fmt: skip


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
