"""Latency histograms: HdrHistogram in microseconds, 3 significant figures, stored encoded.

Percentiles come from histograms, and histograms from several processes are merged by adding them,
never by averaging their percentiles.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from hdrh.histogram import HdrHistogram

LOWEST_US = 1
HIGHEST_US = 120_000_000  # two minutes
SIGNIFICANT_FIGURES = 3
PERCENTILES = {"p50_ms": 50.0, "p90_ms": 90.0, "p99_ms": 99.0, "p999_ms": 99.9}


def new_histogram() -> HdrHistogram:
    return HdrHistogram(LOWEST_US, HIGHEST_US, SIGNIFICANT_FIGURES)


def histogram_of(response_ms: np.ndarray) -> HdrHistogram:
    """A histogram of response times given in (fractional) milliseconds."""
    histogram = new_histogram()
    for value in np.clip(np.rint(response_ms * 1000.0), LOWEST_US, HIGHEST_US).astype(np.int64).tolist():
        histogram.record_value(value)
    return histogram


def decode(encoded: str) -> HdrHistogram:
    return HdrHistogram.decode(encoded.encode("ascii"))


def merged(encoded: Iterable[str]) -> HdrHistogram:
    total = new_histogram()
    for item in encoded:
        total.add(decode(item))
    return total


def percentiles_ms(histogram: HdrHistogram) -> dict[str, float | None]:
    """p50, p90, p99 and p99.9 in milliseconds (None for an empty histogram)."""
    if histogram.get_total_count() == 0:
        return dict.fromkeys(PERCENTILES)
    return {name: histogram.get_value_at_percentile(percentile) / 1000.0 for name, percentile in PERCENTILES.items()}


def spectrum_ms(histogram: HdrHistogram, percentiles: Iterable[float]) -> list[float]:
    """Latency at each percentile, for the percentile-spectrum plot."""
    return [histogram.get_value_at_percentile(p) / 1000.0 for p in percentiles]
