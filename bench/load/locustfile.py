"""Locust users for the Titanic apps; also a plain locustfile for people who know Locust:

    locust -f bench/load/locustfile.py --host http://127.0.0.1:8000 LeanGet
    locust -f bench/load/locustfile.py --host http://127.0.0.1:8000 --bench-arrival-rate 500 LeanGetOpenLoop

With no class named, Locust runs every closed-loop class (and the open-loop ones only with a rate). Each test
start (every start in the web UI, too) begins a fresh open-loop schedule.

``bench run`` picks one user class per scenario (lean or stock FastHttpUser, GET or PUT) and adds
``--bench-latency-out`` to record every response time exactly (see ``recorder.py``); without that flag
nothing extra is recorded. In Locust's distributed mode (``--processes N``, or ``--master`` with
``bench worker`` processes) every worker records its own requests and the master merges them.
"""

from __future__ import annotations

import itertools
import sys
import time
from pathlib import Path
from typing import Any

import gevent
from locust import FastHttpUser, User, events, task
from locust.env import Environment
from locust.runners import MasterRunner, Runner, WorkerRunner

from bench.load.lean import LeanHttpUser
from bench.load.recorder import LatencyRecorder, process_name
from bench.load.workload import BODY, BODY_PATH, QUERY_PATH

JSON_HEADERS = {"Content-Type": "application/json"}
CLOSE_HEADERS = {"Connection": "close"}
EXPECTED_BODY_PREFIX = b'{"survived":'
PARTS_TIMEOUT = 30.0  # seconds a master waits for every worker's latency part


class GetPredict(LeanHttpUser):
    """``GET /predict?age=8&sex=M``, for the lean users below."""

    abstract = True
    method, path, name = "GET", QUERY_PATH, "GET /predict"
    expected_body_prefix = EXPECTED_BODY_PREFIX


class PutPredict(LeanHttpUser):
    """``PUT /predict`` with a JSON body, for the lean users below."""

    abstract = True
    method, path, name, body = "PUT", BODY_PATH, "PUT /predict", BODY.encode()
    expected_body_prefix = EXPECTED_BODY_PREFIX


# Each concrete user declares its one task here: Locust would also inherit a parent's tasks.
class LeanGet(GetPredict):
    """GET back to back, no think time (the lean client; the default)."""

    @task
    def predict(self) -> None:
        self.send_back_to_back()


class LeanPut(PutPredict):
    """PUT back to back, no think time (the lean client; the default)."""

    @task
    def predict(self) -> None:
        self.send_back_to_back()


class LeanGetOpenLoop(GetPredict):
    """GET at a fixed arrival rate (``--bench-arrival-rate``), latency from each intended send time."""

    @task
    def predict(self) -> None:
        self.send_on_schedule()


class LeanPutOpenLoop(PutPredict):
    """PUT at a fixed arrival rate (``--bench-arrival-rate``), latency from each intended send time."""

    @task
    def predict(self) -> None:
        self.send_on_schedule()


class FastHttpGet(FastHttpUser):
    """The same GET with Locust's stock FastHttpUser."""

    new_connection = False

    @task
    def predict(self) -> None:
        self.client.get(QUERY_PATH, name="GET /predict", headers=CLOSE_HEADERS if self.new_connection else None)


class FastHttpPut(FastHttpUser):
    """The same PUT with Locust's stock FastHttpUser."""

    new_connection = False

    @task
    def predict(self) -> None:
        headers = {**JSON_HEADERS, **CLOSE_HEADERS} if self.new_connection else JSON_HEADERS
        self.client.put(BODY_PATH, data=BODY, headers=headers, name="PUT /predict")


OPEN_LOOP = (LeanGetOpenLoop, LeanPutOpenLoop)
USER_CLASSES: dict[tuple[str, str], type[User]] = {
    ("lean", "get"): LeanGet,
    ("lean", "put"): LeanPut,
    ("fasthttp", "get"): FastHttpGet,
    ("fasthttp", "put"): FastHttpPut,
    ("lean-open-loop", "get"): LeanGetOpenLoop,
    ("lean-open-loop", "put"): LeanPutOpenLoop,
}


@events.init_command_line_parser.add_listener
def add_arguments(parser: Any) -> None:
    parser.add_argument("--bench-latency-out", default="", help="write exact latencies here", include_in_web_ui=False)
    parser.add_argument("--bench-warmup", type=float, default=0.0, help="seconds discarded", include_in_web_ui=False)
    parser.add_argument("--bench-duration", type=float, default=0.0, help="seconds measured", include_in_web_ui=False)
    parser.add_argument("--bench-arrival-rate", type=float, default=0.0, help="open loop: requests/s in all")
    parser.add_argument("--bench-samples-out", default="", help="a folder: each process saves its raw window samples",
                        include_in_web_ui=False)  # fmt: skip
    parser.add_argument(
        "--bench-new-connection", action="store_true", help="a new connection per request", include_in_web_ui=False
    )
    parser.add_argument(
        "--bench-half-close", action="store_true", help="lean users: shut the write side after each request",
        include_in_web_ui=False,
    )  # fmt: skip


@events.test_start.add_listener
def configure_users(environment: Environment, **_: Any) -> None:
    """Apply the options to the user classes; at test start, when a remote worker has the master's options."""
    options = environment.parsed_options
    if options is None:
        return
    for user_class in USER_CLASSES.values():
        user_class.new_connection = options.bench_new_connection  # type: ignore[attr-defined]
    LeanHttpUser.half_close = options.bench_half_close
    for open_loop in OPEN_LOOP:
        open_loop.arrival_rate = options.bench_arrival_rate
        open_loop.schedule_users = options.num_users or 1
        open_loop.schedule_origin, open_loop.schedule_slots = None, itertools.count()  # a fresh schedule per test


@events.init.add_listener
def choose_user_classes(environment: Environment, **_: Any) -> None:
    """With no class named Locust runs them all: the open-loop ones only where a rate is given. A named
    open-loop class without a rate is one clear line."""
    options = environment.parsed_options
    if options is None or options.bench_arrival_rate > 0:
        return
    named = [user.__name__ for user in OPEN_LOOP if user.__name__ in (options.user_classes or [])]
    if named:
        sys.exit(f"{', '.join(named)} sends at a fixed arrival rate: give it with --bench-arrival-rate (requests/s)")
    environment.user_classes = [user for user in environment.user_classes if user not in OPEN_LOOP]


@events.init.add_listener
def attach_recorder(environment: Environment, runner: Runner, **_: Any) -> None:
    """Record every response time: each process that sends requests keeps its own part; a lone process
    writes the summary itself; a master asks its workers for their parts when the test stops, and merges."""
    options = environment.parsed_options
    if options is None:
        return
    recorder = LatencyRecorder(Path(options.bench_latency_out), options.bench_warmup, options.bench_duration,
                               Path(options.bench_samples_out) if options.bench_samples_out else None)  # fmt: skip
    if isinstance(runner, WorkerRunner):

        def take_options(**_: Any) -> None:  # the master's, received with the first spawn message
            recorder.warmup, recorder.duration = options.bench_warmup, options.bench_duration
            recorder.samples_out = Path(options.bench_samples_out) if options.bench_samples_out else None

        environment.events.test_start.add_listener(take_options)
        environment.events.test_start.add_listener(recorder.on_test_start)
        environment.events.request.add_listener(recorder.on_request)

        def report(**_: Any) -> None:  # Locust calls message handlers with environment= and msg=
            runner.stop()  # the users finish as --stop-timeout says, so the part holds every request sent
            runner.send_message("bench_part", recorder.part(process_name()))

        runner.register_message("bench_report", report)
        return
    if not options.bench_latency_out:
        return
    environment.events.test_start.add_listener(recorder.on_test_start)
    environment.events.test_start.add_listener(recorder.mark_started)
    if isinstance(runner, MasterRunner):
        parts: list[dict[str, Any]] = []
        runner.register_message("bench_part", lambda msg, **_: parts.append(msg.data))

        def collect(**_: Any) -> None:
            runner.send_message("bench_report")
            deadline = time.monotonic() + PARTS_TIMEOUT
            while len(parts) < runner.worker_count and time.monotonic() < deadline:
                gevent.sleep(0.05)
            recorder.write_summary(parts)

        environment.events.test_stop.add_listener(collect)
        return
    environment.events.request.add_listener(recorder.on_request)
    environment.events.test_stop.add_listener(lambda **_: recorder.write_summary([recorder.part(process_name())]))
