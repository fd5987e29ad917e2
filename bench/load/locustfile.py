"""Locust users for the Titanic apps; also a plain locustfile for people who know Locust:

    locust -f bench/load/locustfile.py --host http://127.0.0.1:8000 LeanGet
    locust -f bench/load/locustfile.py --host http://127.0.0.1:8000 --bench-arrival-rate 500 LeanGetOpenLoop

Its user classes follow from the workload table (``workload.WORKLOADS``): for each endpoint a lean user
(``LeanGet``, ``LeanQueries20``), its open-loop twin (``LeanGetOpenLoop``) and Locust's stock FastHttpUser
(``FastHttpGet``).

With no class named, Locust runs every closed-loop class (and the open-loop ones only with a rate). Each test
start (every start in the web UI, too) begins a fresh open-loop schedule.

``bench run`` picks one user class per scenario (lean or stock FastHttpUser, and the endpoint) and adds
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

from bench.latency import Part
from bench.load.lean import LeanHttpUser
from bench.load.recorder import LatencyRecorder, process_name
from bench.workload import WORKLOADS, Workload, user_class_name

JSON_HEADERS = {"Content-Type": "application/json"}
CLOSE_HEADERS = {"Connection": "close"}
PARTS_TIMEOUT = 30.0  # seconds a master waits for every worker's latency part


def lean_user(workload: Workload, open_loop: bool) -> type[LeanHttpUser]:
    """A lean user sending ``workload`` back to back (no think time), or at a fixed arrival rate
    (``--bench-arrival-rate``) with latency from each intended send time."""

    def load(self: LeanHttpUser) -> None:  # not ``send``: that is LeanHttpUser's one request
        if open_loop:
            self.send_on_schedule()
        else:
            self.send_back_to_back()

    # Each class declares its one task: Locust would also inherit a parent's tasks.
    return type(user_class_name("lean-open-loop" if open_loop else "lean", workload.name), (LeanHttpUser,), {
        "__doc__": f"{workload.request}, {'on a schedule' if open_loop else 'back to back'} (the lean client)",
        "__module__": __name__, "method": workload.method, "path": workload.path, "name": workload.request,
        "body": workload.body.encode(), "expected_body_prefix": workload.answer_prefix, "load": task(load),
    })  # fmt: skip


def fasthttp_user(workload: Workload) -> type[FastHttpUser]:
    """The same request with Locust's stock FastHttpUser."""

    kept = JSON_HEADERS if workload.body else None
    closing = {**(kept or {}), **CLOSE_HEADERS}

    def load(self: FastHttpUser) -> None:
        closes = self.new_connection  # type: ignore[attr-defined]  # set on each class at test start
        self.client.request(workload.method, workload.path, data=workload.body or None,
                            headers=closing if closes else kept, name=workload.request)  # fmt: skip

    return type(user_class_name("fasthttp", workload.name), (FastHttpUser,), {
        "__doc__": f"{workload.request} with Locust's stock FastHttpUser", "__module__": __name__,
        "new_connection": False, "load": task(load),
    })  # fmt: skip


LEAN: dict[str, type[LeanHttpUser]] = {w.name: lean_user(w, open_loop=False) for w in WORKLOADS.values()}
OPEN_LOOP: dict[str, type[LeanHttpUser]] = {w.name: lean_user(w, open_loop=True) for w in WORKLOADS.values()}
FAST_HTTP: dict[str, type[FastHttpUser]] = {w.name: fasthttp_user(w) for w in WORKLOADS.values()}
USER_CLASSES: dict[tuple[str, str], type[User]] = {
    (kind, name): user
    for kind, users in (("lean", LEAN), ("lean-open-loop", OPEN_LOOP), ("fasthttp", FAST_HTTP))
    for name, user in users.items()
}
globals().update({user.__name__: user for user in USER_CLASSES.values()})  # where Locust finds them by name


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
    for open_loop in OPEN_LOOP.values():
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
    named = [user.__name__ for user in OPEN_LOOP.values() if user.__name__ in (options.user_classes or [])]
    if named:
        sys.exit(f"{', '.join(named)} sends at a fixed arrival rate: give it with --bench-arrival-rate (requests/s)")
    environment.user_classes = [user for user in environment.user_classes if user not in OPEN_LOOP.values()]


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
            runner.send_message("bench_part", recorder.part(process_name()).model_dump(mode="json"))

        runner.register_message("bench_report", report)
        return
    if not options.bench_latency_out:
        return
    environment.events.test_start.add_listener(recorder.on_test_start)
    environment.events.test_start.add_listener(recorder.mark_started)
    if isinstance(runner, MasterRunner):
        parts: list[Part] = []
        runner.register_message("bench_part", lambda msg, **_: parts.append(Part.model_validate(msg.data)))

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
