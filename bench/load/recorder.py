"""Exact latency: every response time at full resolution, summarised once the run is over.

During the run a request costs two array appends; after it, the measured window's response times go
into an HdrHistogram (microseconds, 3 significant figures). Each Locust process that sends requests
makes one *part* (its window histogram, one histogram per second, its counts and its own CPU over the
window); the summary file merges the parts by adding histograms, never by averaging percentiles. With
Locust's distributed mode the workers send their parts to the master over Locust's own message channel
(``bench_report`` asks, ``bench_part`` answers) and the master writes the summary.
"""

from __future__ import annotations

import socket
import time
from array import array
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import gevent
import numpy as np
import psutil

from bench.atomic import write_json_atomically, write_text_atomically
from bench.latency import LatencyRecord, Part, Second, TimelineEntry, WorkerShare, histogram_of, merged, new_histogram

TIMELINE_PERCENTILES = (50.0, 99.0)  # each second's p50_ms and p99_ms


class LatencyRecorder:
    """Collects (start, response time, failed) for every request of this process; makes its part."""

    def __init__(self, out: Path, warmup: float, duration: float, samples_out: Path | None = None) -> None:
        self.out = out
        self.warmup = warmup
        self.duration = duration
        self.samples_out = samples_out  # a folder: each process also saves its window's raw response times
        self.t0: float | None = None
        self.start_times = array("d")
        self.response_ms = array("d")
        self.failed = array("b")
        self.cpu_at: list[float] = []  # this process's CPU seconds at the window's start and end

    @property
    def started_marker(self) -> Path:
        return self.out.with_name(self.out.name + ".started")

    def on_test_start(self, **_: Any) -> None:
        self.t0 = time.time()
        gevent.spawn(self.sample_cpu, self.t0)

    def mark_started(self, **_: Any) -> None:
        """Tell the harness the load has started (from the process that writes the summary)."""
        assert self.t0 is not None
        write_json_atomically(self.started_marker, {"t0": self.t0})

    def sample_cpu(self, t0: float) -> None:
        process = psutil.Process()
        for moment in (t0 + self.warmup, t0 + self.warmup + self.duration):
            gevent.sleep(max(0.0, moment - time.time()))
            times = process.cpu_times()
            self.cpu_at.append(times.user + times.system)

    def on_request(self, start_time: float, response_time: float, exception: Any, **_: Any) -> None:
        self.start_times.append(start_time)
        self.response_ms.append(response_time)
        self.failed.append(exception is not None)

    def write_summary(self, parts: Sequence[Part]) -> None:
        if self.t0 is not None:
            write_text_atomically(
                self.out, summary(parts, self.t0, self.warmup, self.duration).model_dump_json(indent=2)
            )

    def part(self, worker: str) -> Part:
        """This process's share of the measured window, ready to merge with the other processes'."""
        assert self.t0 is not None
        response_ms = np.frombuffer(self.response_ms, dtype=np.float64)
        completed = np.frombuffer(self.start_times, dtype=np.float64) + response_ms / 1000.0
        failed = np.frombuffer(self.failed, dtype=np.int8).astype(bool)
        window_start, window_end = self.t0 + self.warmup, self.t0 + self.warmup + self.duration
        in_window = (completed >= window_start) & (completed < window_end)
        second = np.floor(completed - self.t0).astype(np.int64)
        seconds = []
        for index in range(int(np.ceil(self.warmup + self.duration))):
            mask = second == index
            if mask.any():
                seconds.append(Second(second=index, requests=int(mask.sum()), failures=int((mask & failed).sum()),
                                      histogram=histogram_of(response_ms[mask]).encode().decode("ascii")))  # fmt: skip
        cpu_percent = 100.0 * (self.cpu_at[1] - self.cpu_at[0]) / self.duration if len(self.cpu_at) == 2 else None
        if self.samples_out is not None:
            np.save(self.samples_out / f"{worker.replace(':', '-')}.npy", response_ms[in_window])
        return Part(
            worker=worker, requests=int(in_window.sum()), failures=int((in_window & failed).sum()),
            histogram=histogram_of(response_ms[in_window]).encode().decode("ascii"), seconds=seconds,
            cpu_percent=cpu_percent,
        )  # fmt: skip


def summary(parts: Sequence[Part], t0: float, warmup: float, duration: float) -> LatencyRecord:
    """The latency record of a run: every part's counts summed and histograms added."""
    by_second: dict[int, list[Second]] = {}
    for part in parts:
        for entry in part.seconds:
            by_second.setdefault(entry.second, []).append(entry)
    timeline = []
    for second in sorted(by_second):
        entries = by_second[second]
        histogram = merged(entry.histogram for entry in entries)
        p50, p99 = (round(histogram.get_value_at_percentile(p) / 1000.0, 4) for p in TIMELINE_PERCENTILES)
        timeline.append(
            TimelineEntry(second=second, phase="warmup" if second < warmup else "measure",
                          requests=sum(entry.requests for entry in entries),
                          failures=sum(entry.failures for entry in entries), p50_ms=p50, p99_ms=p99)
        )  # fmt: skip
    histogram = merged(part.histogram for part in parts) if parts else new_histogram()
    return LatencyRecord(
        t0=t0, warmup=warmup, duration=duration, window=(t0 + warmup, t0 + warmup + duration),
        requests=sum(part.requests for part in parts), failures=sum(part.failures for part in parts),
        histogram_unit="us", histogram=histogram.encode().decode("ascii"), timeline=timeline,
        workers=[WorkerShare(worker=p.worker, requests=p.requests, cpu_percent=p.cpu_percent) for p in parts],
    )  # fmt: skip


def process_name() -> str:
    """Which load-generating process a part came from: host and process id."""
    return f"{socket.gethostname()}:{psutil.Process().pid}"
