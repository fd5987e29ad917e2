"""Latency histograms: HdrHistogram in microseconds, 3 significant figures, stored encoded.

Percentiles come from histograms, and histograms from several processes are merged by adding them,
never by averaging their percentiles.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Literal

import numpy as np
from hdrh.histogram import HdrHistogram
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bench.errors import BenchError

LOWEST_US = 1
HIGHEST_US = 120_000_000  # two minutes
SIGNIFICANT_FIGURES = 3
PERCENTILES = {"p50_ms": 50.0, "p90_ms": 90.0, "p99_ms": 99.0, "p999_ms": 99.9}


class Second(BaseModel):
    """One second of one load-generating process: its completed requests, failures and histogram."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    second: int  # whole seconds since the test started
    requests: int
    failures: int
    histogram: str  # encoded


class Part(BaseModel):
    """One load-generating process's share of the measured window, as it crosses Locust's message channel."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    worker: str  # host:pid
    requests: int
    failures: int
    histogram: str  # encoded, the window's response times
    seconds: list[Second]
    cpu_percent: float | None  # of one core over the window (None: the window never closed)


class TimelineEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    second: int
    phase: Literal["warmup", "measure"]
    requests: int
    failures: int
    p50_ms: float
    p99_ms: float


class WorkerShare(BaseModel):
    """What one load-generating process sent in the window, and its CPU."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    worker: str
    requests: int
    cpu_percent: float | None


class LatencyRecord(BaseModel):
    """A run's latency record (``latency.json``): every process's part merged by adding histograms."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    t0: float
    warmup: float
    duration: float
    window: tuple[float, float]
    requests: int
    failures: int
    histogram_unit: Literal["us"]
    histogram: str  # encoded
    timeline: list[TimelineEntry]
    workers: list[WorkerShare] = Field(default_factory=list)  # records made before distributed Locust: none


def read_latency(path: Path) -> LatencyRecord:
    """The latency record Locust wrote, or one line saying why it cannot be read."""
    try:
        return LatencyRecord.model_validate_json(path.read_text())
    except FileNotFoundError:
        raise BenchError(f"no latency record at {path}: Locust wrote none") from None
    except (ValidationError, ValueError):
        raise BenchError(f"the latency record {path} is corrupt") from None


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
