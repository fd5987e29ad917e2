"""Statistics over repeats: medians, spread, and bootstrap confidence intervals of ratios."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

CONFIDENCE = 0.95
BOOTSTRAP_RESAMPLES = 10_000
BOOTSTRAP_SEED = 12345  # fixed, so the same results give the same interval every time


def percentile_interval(samples: Sequence[np.ndarray], statistic: Any) -> tuple[float, float]:
    """The 95% percentile-bootstrap interval of ``statistic`` over independent ``samples``, with a fixed seed."""
    result = stats.bootstrap(
        samples,
        statistic,
        vectorized=True,
        paired=False,
        confidence_level=CONFIDENCE,
        n_resamples=BOOTSTRAP_RESAMPLES,
        method="percentile",
        rng=np.random.default_rng(BOOTSTRAP_SEED),
    )
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def median(values: Sequence[float]) -> float:
    return float(np.median(np.asarray(values, dtype=float)))


def coefficient_of_variation(values: Sequence[float]) -> float | None:
    """Sample standard deviation over mean; None with fewer than two values."""
    if len(values) < 2:
        return None
    array = np.asarray(values, dtype=float)
    return float(np.std(array, ddof=1) / np.mean(array))


@dataclass(frozen=True)
class Ratio:
    """median(numerator) / median(denominator) with a bootstrap confidence interval over the repeats."""

    ratio: float
    ci_low: float | None
    ci_high: float | None


def ratio_of_medians(numerator: Sequence[float], denominator: Sequence[float]) -> Ratio:
    """The ratio of medians and its 95% percentile-bootstrap interval, resampling each side's repeats.

    The interval needs at least two repeats on each side; otherwise it is None.
    """
    top, bottom = np.asarray(numerator, dtype=float), np.asarray(denominator, dtype=float)
    point = float(np.median(top) / np.median(bottom))
    if len(top) < 2 or len(bottom) < 2:
        return Ratio(point, None, None)
    if np.ptp(top) == 0 and np.ptp(bottom) == 0:
        return Ratio(point, point, point)
    low, high = percentile_interval((top, bottom), lambda a, b, axis: np.median(a, axis=axis) / np.median(b, axis=axis))
    return Ratio(point, low, high)


def ratio_change(
    before: tuple[Sequence[float], Sequence[float]], after: tuple[Sequence[float], Sequence[float]]
) -> tuple[float | None, float | None]:
    """95% percentile-bootstrap interval of how far a ratio of medians moved between two runs (after / before - 1),
    resampling the repeats of all four samples; None with fewer than two repeats in any of them."""
    samples = [np.asarray(values, dtype=float) for values in (*before, *after)]
    if any(len(sample) < 2 for sample in samples):
        return None, None
    if all(np.ptp(sample) == 0 for sample in samples):
        point = float(np.median(samples[2]) / np.median(samples[3]) / (np.median(samples[0]) / np.median(samples[1])))
        return point - 1, point - 1

    def moved(top: np.ndarray, bottom: np.ndarray, new_top: np.ndarray, new_bottom: np.ndarray, axis: int) -> Any:
        first = np.median(top, axis=axis) / np.median(bottom, axis=axis)
        return np.median(new_top, axis=axis) / np.median(new_bottom, axis=axis) / first - 1

    return percentile_interval(samples, moved)


def median_interval(values: Sequence[float]) -> tuple[float, float] | None:
    """95% percentile-bootstrap interval of the median of one sample; None with fewer than two values."""
    array = np.asarray(values, dtype=float)
    if len(array) < 2:
        return None
    if np.ptp(array) == 0:
        return float(array[0]), float(array[0])
    return percentile_interval((array,), np.median)
