"""Statistics over rounds: medians, spread, and confidence intervals of ratios and of their moves.

Every interval here but the chain's is distribution-free and computed exactly from order statistics, without
resampling: the same data give the same bounds on every machine, with no Monte Carlo error to bound.

- One sample (the per-round log ratios of a run): the median with the Hettmansperger-Sheather interval,
  the order statistics that bracket the median with at least the asked confidence, interpolated with their
  neighbours to the asked confidence. Its coverage is exact for any continuous distribution symmetric about
  its median, and conservative otherwise.
- A chain of paired ratios that must multiply (``mean_log_ratio``): the mean of the per-round log ratios with
  Student's t interval, the one parametric interval here (exact for normal log ratios).
- Two independent samples (the same ratio's log values in two runs): the Hodges-Lehmann shift (the median
  of all pairwise differences) with the Mann-Whitney interval, the order statistics of those differences
  that the rank-sum distribution (exact up to 40 values a side) puts at the asked confidence.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np
from scipy import stats

CONFIDENCE = 0.95
# sqrt(pi / 2): the median of a normal sample is as precise as the mean of 2 / pi as many values.
MEDIAN_INEFFICIENCY = math.sqrt(math.pi / 2)
# sqrt(pi / 3): the Hodges-Lehmann shift is as precise as the difference of means of 3 / pi as many values.
SHIFT_INEFFICIENCY = math.sqrt(math.pi / 3)
POWER = 0.80  # the chance the rounds a decision is said to need would in fact decide it


def median(values: Sequence[float]) -> float:
    return float(np.median(np.asarray(values, dtype=float)))


def coefficient_of_variation(values: Sequence[float]) -> float | None:
    """Sample standard deviation over mean; None with fewer than two values."""
    if len(values) < 2:
        return None
    array = np.asarray(values, dtype=float)
    return float(np.std(array, ddof=1) / np.mean(array))


def _median_coverage(n: int, k: int) -> float:
    """The probability that the k-th smallest and k-th largest of n values bracket the median."""
    return float(1.0 - 2.0 * stats.binom.cdf(k - 1, n, 0.5))


@cache
def fewest_for_interval(confidence: float = CONFIDENCE) -> int:
    """The fewest values whose full range brackets the median with ``confidence``: 6 at 95%, 5 at 90%."""
    n = 2
    while _median_coverage(n, 1) < confidence:
        n += 1
    return n


@cache
def _interval_plan(n: int, confidence: float) -> tuple[int, float]:
    """For n values: k, the order statistics bracketing the median with at least ``confidence``, and the
    weight given to their inner neighbours to bring the coverage down to ``confidence``."""
    k = max(k for k in range(1, n // 2 + 1) if _median_coverage(n, k) >= confidence)
    wide, narrow = _median_coverage(n, k), _median_coverage(n, k + 1)
    share = (wide - confidence) / (wide - narrow) if wide > narrow else 0.0
    return k, (n - k) * share / (k + (n - 2 * k) * share)


def median_interval(values: Sequence[float], confidence: float = CONFIDENCE) -> tuple[float, float] | None:
    """The Hettmansperger-Sheather interval of the median; None with too few values for ``confidence``."""
    x = np.sort(np.asarray(values, dtype=float))
    n = len(x)
    if n < fewest_for_interval(confidence):
        return None
    k, weight = _interval_plan(n, confidence)
    low = (1 - weight) * x[k - 1] + weight * x[k]
    high = (1 - weight) * x[n - k] + weight * x[n - k - 1]
    return float(low), float(high)


@dataclass(frozen=True)
class Ratio:
    """A ratio from paired rounds: the median of the per-round ratios, its interval, and how many rounds."""

    ratio: float
    ci_low: float | None
    ci_high: float | None
    rounds: int
    log_spread: float | None  # standard deviation of the per-round log ratios (None: fewer than two)

    @property
    def half_width(self) -> float | None:
        """Half the interval's width as a share of the ratio: its precision."""
        if self.ci_low is None or self.ci_high is None:
            return None
        return (self.ci_high - self.ci_low) / 2 / self.ratio


def log_ratios(numerator: Sequence[float], denominator: Sequence[float]) -> list[float]:
    return [math.log(top / bottom) for top, bottom in zip(numerator, denominator, strict=True)]


def paired_ratio(numerator: Sequence[float], denominator: Sequence[float]) -> Ratio | None:
    """The ratio of two variants measured in the same rounds (``numerator[i]`` and ``denominator[i]`` in round
    i): the median of the per-round ratios and its 95% interval, computed on their logarithms. None: no rounds."""
    logs = log_ratios(numerator, denominator)
    if not logs:
        return None
    interval = median_interval(logs)
    spread = float(np.std(np.asarray(logs), ddof=1)) if len(logs) > 1 else None
    point = math.exp(median(logs))
    if interval is None:
        return Ratio(point, None, None, len(logs), spread)
    return Ratio(point, math.exp(interval[0]), math.exp(interval[1]), len(logs), spread)


def mean_log_ratio(numerator: Sequence[float], denominator: Sequence[float]) -> Ratio:
    """The geometric mean of per-round ratios (the mean of their logarithms) and Student's t interval on those
    logarithms: unlike the median, it multiplies (a chain of steps' means is the end to end's mean exactly). At
    least two rounds."""
    logs = np.asarray(log_ratios(numerator, denominator))
    mean, spread = float(logs.mean()), float(logs.std(ddof=1))
    half = float(stats.t.ppf(0.5 + CONFIDENCE / 2, len(logs) - 1)) * spread / math.sqrt(len(logs))
    return Ratio(math.exp(mean), math.exp(mean - half), math.exp(mean + half), len(logs), spread)


def rounds_for_precision(log_spread: float, precision: float, confidence: float = CONFIDENCE) -> int:
    """Rounds for a median interval of half-width ``precision`` (a share of the ratio), from the per-round
    log ratios' spread, taking them as normal."""
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    needed = math.ceil((z * MEDIAN_INEFFICIENCY * log_spread / math.log1p(precision)) ** 2)
    return max(fewest_for_interval(confidence), needed)


@dataclass(frozen=True)
class Shift:
    """How far a log value moved between two independent samples: the Hodges-Lehmann estimate and interval."""

    shift: float
    low: float
    high: float


EXACT_UP_TO = 40  # samples this small use the rank-sum statistic's exact distribution, larger ones its normal one


@cache
def _rank_sum_counts(m: int, n: int) -> tuple[int, ...]:
    """How many orderings of m values of one sample and n of another give each Mann-Whitney U (exact)."""
    if m == 0 or n == 0:
        return (1,)
    counts = [0] * (m * n + 1)
    for u, ways in enumerate(_rank_sum_counts(m - 1, n)):  # the largest value is the first sample's
        counts[u + n] += ways
    for u, ways in enumerate(_rank_sum_counts(m, n - 1)):  # or the second sample's
        counts[u] += ways
    return tuple(counts)


def _differences_cut(m: int, n: int, confidence: float) -> int:
    """k: the k-th smallest and k-th largest of the m x n differences bound the shift with ``confidence``
    (0: no such interval)."""
    tail = (1 - confidence) / 2
    if max(m, n) <= EXACT_UP_TO:
        counts, total, below, k = _rank_sum_counts(m, n), math.comb(m + n, m), 0, 0
        while below + counts[k] <= tail * total:
            below += counts[k]
            k += 1
        return k
    z = float(stats.norm.ppf(1 - tail))
    return math.floor(m * n / 2 - z * math.sqrt(m * n * (m + n + 1) / 12))


def shift_interval(before: Sequence[float], after: Sequence[float], confidence: float) -> Shift | None:
    """The Hodges-Lehmann shift of ``after`` against ``before`` with its Mann-Whitney interval (the rank-sum
    statistic's exact distribution for small samples); None when the samples are too small for ``confidence``."""
    a, b = np.asarray(before, dtype=float), np.asarray(after, dtype=float)
    m, n = len(a), len(b)
    if m < 2 or n < 2:
        return None
    differences = np.sort((b[:, None] - a[None, :]).ravel())
    k = _differences_cut(m, n, confidence)  # from each end
    if k < 1:
        return None
    return Shift(float(np.median(differences)), float(differences[k - 1]), float(differences[m * n - k]))


def rounds_for_shift(spread: float, distance: float, confidence: float, power: float = POWER) -> int:
    """Rounds per run (two runs of equal size) for a shift interval at ``confidence`` to keep ``distance`` (in
    logs) from its estimate with probability ``power``: for equivalence, the room the move leaves inside the
    tolerance; for a change, the move itself. From the per-round log values' spread, taking them as normal."""
    z = float(stats.norm.ppf(0.5 + confidence / 2) + stats.norm.ppf(power))
    return max(2, math.ceil(2 * (z * SHIFT_INEFFICIENCY * spread / distance) ** 2))
