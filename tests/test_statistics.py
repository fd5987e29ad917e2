"""The statistics of verdicts and reproductions, checked by simulation with known answers: the intervals'
coverage, the reproduce rule's false alarms and power, the claim's band, the rounds' random order, and
when a precision run stops."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from bench.analysis import claim
from bench.analysis.claim import CLAIM_FACTOR, LITSERVE, claim_band, claim_rule, judge
from bench.analysis.ratios import Comparison
from bench.config import load_config
from bench.registry import BUILT_IN
from bench.reproduce import change_confidence, decide
from bench.results import load_summary
from bench.run import more_rounds, round_plan, schedule
from bench.stats import median_interval, paired_ratio, rounds_for_precision

FIXTURES = Path(__file__).parent / "fixtures"
MARGIN = load_config().claim_margin


def lognormal_rounds(rng: np.random.Generator, n: int, cv: float, level: float) -> np.ndarray:
    sigma = math.sqrt(math.log1p(cv**2))
    return level * np.exp(rng.normal(0.0, sigma, n))


@pytest.mark.parametrize("cv", [0.05, 0.15, 0.30])
@pytest.mark.parametrize("n", [6, 10, 20])
def test_the_ratio_interval_covers_the_true_ratio_95_percent_of_the_time(cv: float, n: int) -> None:
    rng = np.random.default_rng(int(cv * 100) * 100 + n)
    trials = 2000
    covered = 0
    for _ in range(trials):
        ratio = paired_ratio(lognormal_rounds(rng, n, cv, 2000.0), lognormal_rounds(rng, n, cv, 1000.0))
        assert ratio is not None and ratio.ci_low is not None and ratio.ci_high is not None
        covered += ratio.ci_low <= 2.0 <= ratio.ci_high
    assert 0.92 <= covered / trials <= 0.98


def test_the_bounds_have_no_monte_carlo_error() -> None:
    """Order statistics, not resampling: the same rounds give the same bounds, whatever ran before."""
    rng = np.random.default_rng(3)
    top, bottom = lognormal_rounds(rng, 10, 0.2, 2000.0), lognormal_rounds(rng, 10, 0.2, 1000.0)
    first = paired_ratio(top, bottom)
    np.random.default_rng().random(1000)  # other randomness in between changes nothing
    assert paired_ratio(top, bottom) == first
    assert median_interval(list(range(5))) is None  # too few for a 95% interval of a median
    # six values: the interpolated order statistics inside the range (Hettmansperger-Sheather), symmetric about
    # the median 2.5, never the range itself
    low, high = median_interval(list(range(6))) or (None, None)
    assert low == pytest.approx(0.357143, abs=1e-6) and high == pytest.approx(4.642857, abs=1e-6)


def test_pairing_rounds_removes_what_both_sides_share() -> None:
    """Drift shared by both configs in a round cancels in the per-round ratio: a narrower interval."""
    rng = np.random.default_rng(4)
    drift = np.exp(rng.normal(0.0, 0.3, 20))
    top = 2000.0 * drift * np.exp(rng.normal(0.0, 0.03, 20))
    bottom = 1000.0 * drift * np.exp(rng.normal(0.0, 0.03, 20))
    ratio = paired_ratio(top, bottom)
    assert ratio is not None and ratio.half_width is not None and ratio.half_width < 0.05
    assert ratio.ci_low is not None and ratio.ci_high is not None and ratio.ci_low < 2.0 < ratio.ci_high


def comparison_with(low: float, high: float) -> Comparison:
    return Comparison(
        numerator="fastapi-uvicorn", denominator="flask-gunicorn-sync", model="rule", workers=1, endpoint="get",
        metric="throughput", ratio=(low + high) / 2, ci_low=low, ci_high=high, rounds=20, log_spread=0.1,
        client_bound=False, under_driven=False, invalid=False,
    )  # fmt: skip


def test_the_claim_band_is_2x_within_the_margin() -> None:
    low, high = claim_band(MARGIN)
    assert (round(low, 2), round(high, 2)) == (1.82, 2.2) and MARGIN == 0.10
    assert low * high == pytest.approx(CLAIM_FACTOR**2)
    assert judge(comparison_with(1.93, 1.97), MARGIN)[0] == "holds"  # "about 2x", though below 2
    assert judge(comparison_with(1.5, 1.8), MARGIN)[:2] == ("refuted", "slower")
    assert judge(comparison_with(2.3, 2.6), MARGIN)[:2] == ("refuted", "faster")
    assert judge(comparison_with(1.75, 1.9), MARGIN)[0] == "inconclusive"
    assert judge(comparison_with(1.93, 1.97), 0.01)[:2] == ("refuted", "slower")  # a tighter band


def test_an_at_least_claim_has_no_upper_end() -> None:
    """LitServe's "a minimum 2x": above the band's low end it holds, however far above."""
    assert claim_band(MARGIN, LITSERVE) == (pytest.approx(2 / 1.1), None)
    assert judge(comparison_with(2.3, 9.0), MARGIN, LITSERVE)[0] == "holds"
    assert judge(comparison_with(1.85, 2.0), MARGIN, LITSERVE)[0] == "holds"
    assert judge(comparison_with(1.2, 1.8), MARGIN, LITSERVE)[:2] == ("refuted", "slower")
    assert judge(comparison_with(1.7, 2.5), MARGIN, LITSERVE)[0] == "inconclusive"
    assert "at or above 1.82x" in claim_rule(MARGIN, LITSERVE)


@pytest.mark.parametrize(
    "fixture, verdict, direction",
    [("holds", "holds", None), ("refuted", "refuted", "slower"), ("faster", "refuted", "faster"),
     ("straddles", "inconclusive", None)],
)  # fmt: skip
def test_the_band_s_outcomes_on_stored_runs(fixture: str, verdict: str, direction: str | None) -> None:
    summary = load_summary(FIXTURES / fixture)
    stored = [v for v in summary.verdicts if v.metric == "throughput"]
    assert {(v.verdict, v.direction) for v in stored} == {(verdict, direction)}
    assert claim.verdicts(summary.scenarios, MARGIN, BUILT_IN) == summary.verdicts  # the record is what the rules say
    phrase = claim.headline(summary.verdicts)
    assert claim.VERDICT_PHRASES[verdict] in phrase
    if direction:
        assert claim.DIRECTIONS[direction] in phrase


def two_runs(rng: np.random.Generator, n: int, cv: float, shift: float) -> tuple[list[float], list[float]]:
    """Two runs' per-round log ratios (FastAPI over Flask), the second with Flask faster by ``shift``."""
    before = np.log(lognormal_rounds(rng, n, cv, 2000.0) / lognormal_rounds(rng, n, cv, 1000.0))
    after = np.log(lognormal_rounds(rng, n, cv, 2000.0) / lognormal_rounds(rng, n, cv, 1000.0 * (1 + shift)))
    return list(before), list(after)


@pytest.mark.parametrize("cv", [0.05, 0.15, 0.30])
def test_two_runs_of_one_distribution_are_rarely_called_changed(cv: float) -> None:
    rng = np.random.default_rng(int(cv * 100))
    decisions = [decide(*two_runs(rng, 10, cv, 0.0), 0.10)[0] for _ in range(200)]
    assert decisions.count("changed") <= 0.05 * 200


def test_two_comparisons_of_many_ratios_are_rarely_called_changed() -> None:
    """ "changed" is said of a whole comparison: over 12 ratios, each interval is widened (Bonferroni), so the
    family-wise rate stays near 5% (bounded here at 6%: 1,000 simulated comparisons have a 0.7% error)."""
    rng = np.random.default_rng(12)
    ratios, trials = 12, 1000
    outcomes = [
        any(
            decide(*two_runs(rng, 10, 0.15, 0.0), 0.10, change_confidence(ratios))[0] == "changed"
            for _ in range(ratios)
        )
        for _ in range(trials)
    ]
    assert sum(outcomes) <= 0.06 * trials


def test_a_true_30_percent_shift_is_called_changed() -> None:
    rng = np.random.default_rng(30)
    decisions = [decide(*two_runs(rng, 10, 0.10, 0.30), 0.10)[0] for _ in range(200)]
    assert decisions.count("changed") >= 0.95 * 200


def test_an_undetermined_move_names_the_rounds_that_would_decide_it() -> None:
    rng = np.random.default_rng(5)
    before, after = two_runs(rng, 6, 0.15, 0.0)
    decision, needed, _ = decide(before, after, 0.10)
    assert decision == "undetermined" and needed is not None and needed > 6
    decided = [decide(*two_runs(rng, needed, 0.15, 0.0), 0.10)[0] for _ in range(50)]
    assert decided.count("equivalent") >= 25  # with the rounds it named, most such pairs are decided
    assert decide(*two_runs(rng, 40, 0.02, 0.0), 0.10)[0] == "equivalent"


def test_rounds_for_a_precision_follow_the_spread() -> None:
    assert rounds_for_precision(0.01, 0.05) == 6  # never fewer than an interval needs
    assert rounds_for_precision(0.2, 0.05) > rounds_for_precision(0.1, 0.05) > 6


def test_each_round_runs_every_variant_in_an_order_drawn_from_the_recorded_seed() -> None:
    config = load_config(overrides={"order_seed": 11, "repeats": 4})
    plan = schedule(config)
    rounds = [[key for key in plan if key.repeat == number] for number in range(1, 5)]
    variants = {(k.server, k.endpoint, k.close_style) for k in rounds[0]}
    assert all({(k.server, k.endpoint, k.close_style) for k in keys} == variants for keys in rounds)
    assert len({tuple(k.id.split("-", 1)[1] for k in keys) for keys in rounds}) > 1  # the order differs by round
    assert schedule(load_config(overrides={"order_seed": 11, "repeats": 4})) == plan  # the seed gives the order
    assert schedule(load_config(overrides={"order_seed": 12, "repeats": 4})) != plan
    drawn = load_config().with_order_seed()
    assert drawn.order_seed is not None and drawn.with_order_seed() == drawn


def test_a_precision_run_adds_rounds_until_precise_or_out_of_time() -> None:
    scenarios = load_summary(FIXTURES / "holds").scenarios  # 6 rounds, half-widths about 2-4%
    config = load_config(overrides={"order_seed": 1, "precision": 0.05, "max_minutes": 10.0})
    precise = more_rounds(config, scenarios, elapsed=60.0)
    assert precise.keys == [] and precise.record.stopped == "precise" and (precise.record.reached or 1) <= 0.05
    strict = config.model_copy(update={"precision": 0.001})
    more = more_rounds(strict, scenarios, elapsed=60.0)
    assert more.record.stopped is None and more.keys == round_plan(strict, 7)
    late = more_rounds(strict, scenarios, elapsed=9.5 * 60)
    assert late.keys == [] and late.record.stopped == "out of time"
