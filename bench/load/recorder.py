"""Exact latency: every response time at full resolution, summarised once the run is over.

During the run a request costs two array appends; after it, the measured window's response times go
into an HdrHistogram (microseconds, 3 significant figures) that is stored encoded, so percentiles are
computed later from the raw file, and histograms from several processes can be summed exactly.
"""

from __future__ import annotations

import time
from array import array
from pathlib import Path
from typing import Any

import numpy as np

from bench.latency import histogram_of
from bench.results import write_json_atomically

TIMELINE_PERCENTILES = (50.0, 99.0)


class LatencyRecorder:
    """Collects (start, response time, failed) for every request; writes the summary file at the end."""

    def __init__(self, out: Path, warmup: float, duration: float) -> None:
        self.out = out
        self.warmup = warmup
        self.duration = duration
        self.t0: float | None = None
        self.start_times = array("d")
        self.response_ms = array("d")
        self.failed = array("b")

    @property
    def started_marker(self) -> Path:
        return self.out.with_name(self.out.name + ".started")

    def on_test_start(self, **_: Any) -> None:
        self.t0 = time.time()
        write_json_atomically(self.started_marker, {"t0": self.t0})

    def on_request(self, start_time: float, response_time: float, exception: Any, **_: Any) -> None:
        self.start_times.append(start_time)
        self.response_ms.append(response_time)
        self.failed.append(exception is not None)

    def on_test_stop(self, **_: Any) -> None:
        if self.t0 is not None:
            write_json_atomically(self.out, self.summary())

    def summary(self) -> dict[str, Any]:
        assert self.t0 is not None
        response_ms = np.frombuffer(self.response_ms, dtype=np.float64)
        completed = np.frombuffer(self.start_times, dtype=np.float64) + response_ms / 1000.0
        failed = np.frombuffer(self.failed, dtype=np.int8).astype(bool)
        window_start, window_end = self.t0 + self.warmup, self.t0 + self.warmup + self.duration
        in_window = (completed >= window_start) & (completed < window_end)
        return {
            "t0": self.t0,
            "warmup": self.warmup,
            "duration": self.duration,
            "window": [window_start, window_end],
            "requests": int(in_window.sum()),
            "failures": int((in_window & failed).sum()),
            "histogram_unit": "us",
            "histogram": histogram_of(response_ms[in_window]).encode().decode("ascii"),
            "timeline": self.timeline(completed, response_ms, failed),
        }

    def timeline(self, completed: np.ndarray, response_ms: np.ndarray, failed: np.ndarray) -> list[dict[str, Any]]:
        """One entry per whole second since the test started, warm-up included, marked by phase."""
        assert self.t0 is not None
        second = np.floor(completed - self.t0).astype(np.int64)
        entries = []
        for index in range(int(np.ceil(self.warmup + self.duration))):
            mask = second == index
            if not mask.any():
                continue
            p50, p99 = np.percentile(response_ms[mask], TIMELINE_PERCENTILES)
            entries.append(
                {
                    "second": index,
                    "phase": "warmup" if index < self.warmup else "measure",
                    "requests": int(mask.sum()),
                    "failures": int((mask & failed).sum()),
                    "p50_ms": round(float(p50), 4),
                    "p99_ms": round(float(p99), 4),
                }
            )
        return entries
