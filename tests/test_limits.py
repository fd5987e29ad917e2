"""What limited a figure: the rule of ``bench.limits`` on known windows, through ``run.figures`` from a window's
CPU seconds to the stored flags and the verdict (a database that is the bottleneck included), the requests
waiting in a real server socket's queues, and the claim with each config at its best worker count."""

from __future__ import annotations

import socket
import time

import numpy as np
import pytest

from bench import queues
from bench.analysis.claim import DATABASE_BOUND_REASON, claim_comparisons, judge
from bench.analysis.workers import at_best, at_best_sentence
from bench.latency import LatencyRecord, histogram_of
from bench.limits import LOWER_BOUNDS, Evidence, limit
from bench.registry import BUILT_IN
from bench.results import Scenario
from bench.run import DatabaseCores, ScenarioKey, figures
from bench.sampling import CpuUsage
from tests.records import window_record

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


def window(database_seconds: float, server_seconds: float, requests: int = 5000) -> tuple[LatencyRecord, CpuUsage]:
    """A 5 s window of ``requests`` answered in 10 ms each by 32 users (every request outstanding)."""
    histogram = histogram_of(np.full(requests, 32 * 5000 / requests))
    latency = window_record(requests, 0, 5.0, histogram.encode().decode())
    return latency, CpuUsage(5.0, server_seconds, 0.5, 0.0, database_seconds)


def test_a_database_at_its_limit_makes_the_figure_a_lower_bound_and_the_verdict_inconclusive() -> None:
    key = ScenarioKey("flask-gunicorn-sync", "queries-20", 1, close_style="prompt", framework="flask")
    latency, usage = window(database_seconds=4.9, server_seconds=3.0)
    scenario = figures(key, latency, usage, 1, server_cores=1, client_ceiling_rps=None, users=32,
                       database=DatabaseCores(own=1, shared=0), reads=100_000)  # fmt: skip
    assert scenario.limited_by == "database" and scenario.database_busy == pytest.approx(0.98)
    assert scenario.lower_bound and not scenario.under_driven and scenario.queries_per_request == 20
    assert scenario.outstanding == pytest.approx(1.0, rel=0.01)
    others = [scenario.model_copy(update={"repeat": r}) for r in range(1, 7)]
    fastapi = [s.model_copy(update={"server": "fastapi-uvicorn", "framework": "fastapi", "close_style": None,
                                    "limited_by": "server", "rps": 2 * s.rps}) for s in others]  # fmt: skip
    (comparison,) = [c for c in claim_comparisons([*others, *fastapi], BUILT_IN) if c.metric == "throughput"]
    assert comparison.database_bound
    assert judge(comparison, 0.1) == ("inconclusive", None, DATABASE_BOUND_REASON)


def test_a_server_waiting_on_its_database_is_its_own_figure() -> None:
    key = ScenarioKey("flask-gunicorn-sync", "queries-20", 1, close_style="prompt", framework="flask")
    latency, usage = window(database_seconds=1.5, server_seconds=3.5)
    scenario = figures(key, latency, usage, 1, server_cores=1, client_ceiling_rps=None, users=32,
                       database=DatabaseCores(own=1, shared=0), reads=100_000)  # fmt: skip
    assert scenario.limited_by == "server I/O wait" and scenario.limited_by not in LOWER_BOUNDS
    assert not scenario.under_driven and not scenario.lower_bound


def test_requests_waiting_at_a_server_are_counted_from_its_sockets() -> None:
    """Three connections the server has not accepted, and one accepted with a request it has not read."""
    with socket.create_server(("127.0.0.1", 0), backlog=8) as listener:
        port = listener.getsockname()[1]
        clients = [socket.create_connection(("127.0.0.1", port)) for _ in range(4)]
        try:
            accepted, _ = listener.accept()
            with accepted:
                clients[0].sendall(b"GET /predict HTTP/1.1\r\nHost: x\r\n\r\n")
                time.sleep(0.2)
                assert queues.waiting(port) == 3 + 1
        finally:
            for client in clients:
                client.close()


def scenarios_of(server: str, rps_by_workers: dict[int, float]) -> list[Scenario]:
    """Six rounds of a config at each worker count, its throughput known (the round's drift shared by all)."""
    family = "flask" if server.startswith("flask") else "fastapi"
    close = "prompt" if family == "flask" else None
    latency, usage = window(database_seconds=1.0, server_seconds=4.9)
    found = []
    for workers, rps in rps_by_workers.items():
        for repeat in range(1, 7):
            key = ScenarioKey(
                server, "queries-20", repeat, workers=workers, close_style=close, framework=BUILT_IN.family(server)
            )
            scenario = figures(key, latency, usage, 1, server_cores=1, client_ceiling_rps=None, users=32)
            found.append(scenario.model_copy(update={"rps": rps * (1 + 0.02 * repeat)}))
    return found


def test_each_config_at_its_best_worker_count() -> None:
    """FastAPI is best with one worker, Flask with four: the claim is judged on 900 / 700 requests per second."""
    scenarios = [*scenarios_of("fastapi-uvicorn", {1: 900.0, 4: 880.0}),
                 *scenarios_of("flask-gunicorn-sync", {1: 500.0, 4: 700.0})]  # fmt: skip
    (found,) = at_best(scenarios, 0.1, BUILT_IN)
    assert (found.numerator.workers, found.denominator.workers) == (1, 4)
    assert found.comparison.ratio == pytest.approx(900 / 700) and found.verdict == "refuted"
    assert "fastapi-uvicorn with 1 worker served 1.29x" in at_best_sentence([found])
    assert at_best([s for s in scenarios if s.workers == 1], 0.1, BUILT_IN) == []  # one worker count: nothing to choose
