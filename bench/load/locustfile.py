"""Locust users for the Titanic apps; also a plain locustfile for people who know Locust:

    locust -f bench/load/locustfile.py --host http://127.0.0.1:8000

``bench run`` picks one user class per scenario and adds ``--bench-latency-out`` to record every
response time exactly (see ``recorder.py``); without that flag nothing extra is recorded.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from locust import FastHttpUser, events, task
from locust.env import Environment

from bench.load.recorder import LatencyRecorder

AGE, SEX = 8, "M"
QUERY_PATH = f"/predict?age={AGE}&sex={SEX}"
BODY = json.dumps({"age": AGE, "sex": SEX})
JSON_HEADERS = {"Content-Type": "application/json"}


class PredictGet(FastHttpUser):
    """``GET /predict?age=8&sex=M`` back to back, no think time."""

    @task
    def predict(self) -> None:
        self.client.get(QUERY_PATH, name="GET /predict")


class PredictPut(FastHttpUser):
    """``PUT /predict`` with a JSON body, back to back, no think time."""

    @task
    def predict(self) -> None:
        self.client.put("/predict", data=BODY, headers=JSON_HEADERS, name="PUT /predict")


USER_CLASSES = {"get": PredictGet, "put": PredictPut}


@events.init_command_line_parser.add_listener
def add_arguments(parser: Any) -> None:
    parser.add_argument("--bench-latency-out", default="", help="write exact latencies here", include_in_web_ui=False)
    parser.add_argument("--bench-warmup", type=float, default=0.0, help="seconds discarded", include_in_web_ui=False)
    parser.add_argument("--bench-duration", type=float, default=0.0, help="seconds measured", include_in_web_ui=False)


@events.init.add_listener
def attach_recorder(environment: Environment, **_: Any) -> None:
    options = environment.parsed_options
    if options is None or not options.bench_latency_out:
        return
    recorder = LatencyRecorder(Path(options.bench_latency_out), options.bench_warmup, options.bench_duration)
    environment.events.test_start.add_listener(recorder.on_test_start)
    environment.events.request.add_listener(recorder.on_request)
    environment.events.test_stop.add_listener(recorder.on_test_stop)
