"""Records the tests build by hand: a latency record of one measured window."""

from __future__ import annotations

from bench.latency import LatencyRecord


def window_record(requests: int, failures: int, duration: float, histogram: str) -> LatencyRecord:
    """The latency record of a window of ``duration`` seconds with no warm-up and no per-second timeline."""
    return LatencyRecord(
        t0=0.0, warmup=0.0, duration=duration, window=(0.0, duration), requests=requests, failures=failures,
        histogram_unit="us", histogram=histogram, timeline=[], workers=[],
    )  # fmt: skip
