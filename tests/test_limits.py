"""What limited a figure: the rule of ``bench.limits`` on known windows, and through ``run.figures`` from a window's
CPU seconds to the stored flags and the verdict, a database that is the bottleneck included."""

from __future__ import annotations

import numpy as np
import pytest

from bench import analysis
from bench.latency import histogram_of
from bench.limits import LOWER_BOUNDS, Evidence, limit
from bench.run import DatabaseCores, ScenarioKey, figures
from bench.sampling import CpuUsage

IDLE, BUSY = 0.70, 0.99


@pytest.mark.parametrize(
    "evidence, expected",
    [
        (Evidence(server_busy=BUSY, client_percent=40), "server"),
        (Evidence(server_busy=None, client_percent=40), "server"),  # a remote server: nothing says otherwise
        (Evidence(server_busy=IDLE, client_percent=95), "client"),
        (Evidence(server_busy=IDLE, client_percent=40, database_busy=0.97, reads_database=True), "database"),
        (Evidence(server_busy=IDLE, client_percent=50, database_busy=0.46, shared_busy=0.96, reads_database=True),
         "client+database"),
        # a sync worker waiting on its queries, every request of the client outstanding: its own design
        (Evidence(server_busy=IDLE, client_percent=15, database_busy=0.3, outstanding=0.99, reads_database=True),
         "server I/O wait"),
        # the same idle server with the client's requests not outstanding: the client starved it
        (Evidence(server_busy=IDLE, client_percent=15, database_busy=0.3, outstanding=0.5, reads_database=True),
         "client"),
        # a lazy close keeps a closing server waiting for the client's FIN, whatever the workload
        (Evidence(server_busy=IDLE, client_percent=15, outstanding=0.99, reads_database=True, lazy_close=True),
         "client"),
        # no database read: an idle server with requests outstanding waits for its client, as before
        (Evidence(server_busy=IDLE, client_percent=15, outstanding=0.99), "client"),
        (Evidence(server_busy=IDLE, client_percent=15, open_loop=True), "offered load"),
    ],
)  # fmt: skip
def test_the_limit_of_known_windows(evidence: Evidence, expected: str) -> None:
    assert limit(evidence) == expected


def window(database_seconds: float, server_seconds: float, requests: int = 5000) -> tuple[dict[str, object], CpuUsage]:
    """A 5 s window of ``requests`` answered in 10 ms each by 32 users (every request outstanding)."""
    histogram = histogram_of(np.full(requests, 32 * 5000 / requests))
    latency = {"requests": requests, "failures": 0, "duration": 5.0, "histogram": histogram.encode().decode()}
    return latency, CpuUsage(5.0, server_seconds, 0.5, 0.0, database_seconds)


def test_a_database_at_its_limit_makes_the_figure_a_lower_bound_and_the_verdict_inconclusive() -> None:
    key = ScenarioKey("flask-gunicorn-sync", "queries-20", 1, close_style="prompt")
    latency, usage = window(database_seconds=4.9, server_seconds=3.0)
    scenario = figures(key, latency, usage, 1, server_cores=1, client_ceiling_rps=None, users=32,
                       database=DatabaseCores(own=1, shared=0), reads=100_000)  # fmt: skip
    assert scenario.limited_by == "database" and scenario.database_busy == pytest.approx(0.98)
    assert scenario.lower_bound and not scenario.under_driven and scenario.queries_per_request == 20
    assert scenario.outstanding == pytest.approx(1.0, rel=0.01)
    others = [scenario.model_copy(update={"repeat": r}) for r in range(1, 7)]
    fastapi = [s.model_copy(update={"server": "fastapi-uvicorn", "framework": "fastapi", "close_style": None,
                                    "limited_by": "server", "rps": 2 * s.rps}) for s in others]  # fmt: skip
    (comparison,) = [c for c in analysis.claim_comparisons([*others, *fastapi]) if c.metric == "throughput"]
    assert comparison.database_bound
    assert analysis.judge(comparison, 0.1) == ("inconclusive", None, analysis.DATABASE_BOUND_REASON)


def test_a_server_waiting_on_its_database_is_its_own_figure() -> None:
    key = ScenarioKey("flask-gunicorn-sync", "queries-20", 1, close_style="prompt")
    latency, usage = window(database_seconds=1.5, server_seconds=3.5)
    scenario = figures(key, latency, usage, 1, server_cores=1, client_ceiling_rps=None, users=32,
                       database=DatabaseCores(own=1, shared=0), reads=100_000)  # fmt: skip
    assert scenario.limited_by == "server I/O wait" and scenario.limited_by not in LOWER_BOUNDS
    assert not scenario.under_driven and not scenario.lower_bound
