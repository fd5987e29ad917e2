"""``bench bisect PACKAGE --good V --bad V``: the first release whose figure moved, each step a run of its own
into the bisection's folder: measured through ``run.benchmark``, or on instructions counted through
``bench cost`` (the search itself: ``bench.bisect``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench.analysis.claim import CLAIM_SERVERS
from bench.analysis.cost import per_request
from bench.bisect import (
    STEP_SETTINGS,
    Bisection,
    Question,
    Step,
    available_releases,
    between,
    bisect,
    figures_of,
    release_config,
)
from bench.config import BenchConfig, load_config
from bench.cost import MEASURED_REQUESTS, REPEATS, WARMUP_REQUESTS
from bench.errors import BenchError
from bench.results import create_run_folder, write_bisection
from bench.run import default_run_id
from bench.verbs.cost import CostRequest, cost
from bench.verbs.exits import exit_code
from bench.verbs.run import RunRequest, Watcher, benchmark, prepared


@dataclass(frozen=True)
class BisectRequest:
    question: Question
    endpoint: str
    close_style: str
    overrides: dict[str, Any]  # settings given by flags (a step's rounds and phases; on instructions, its repeats)
    run_id: str | None
    command_line: list[str]


def bisect_releases(request: BisectRequest, watcher: Watcher, on_step: Callable[[Step], None]) -> Bisection:
    """Each step measured as a run of its own (``watcher`` sees each), each decision passed to ``on_step``."""
    question = request.question
    if question.metric == "ratio" and question.server not in CLAIM_SERVERS:
        raise BenchError(f"--metric ratio is the headline's: --server must be one of {', '.join(CLAIM_SERVERS)}")
    servers = list(CLAIM_SERVERS) if question.metric == "ratio" else [question.server]
    counting = question.metric == "instructions"
    repeats = request.overrides.get("repeats", REPEATS if counting else STEP_SETTINGS["repeats"])
    settings = {**STEP_SETTINGS, **request.overrides, "repeats": repeats}
    overrides = {**settings, "servers": servers, "endpoints": [request.endpoint],
                 "close_style": [request.close_style], "precision": None}  # fmt: skip
    config = load_config(None, False, overrides)
    releases = available_releases(question.package)
    between(releases, question.good, question.bad)  # both ends listed, before anything is written
    folder = create_run_folder(config.results_dir, request.run_id or f"bisect-{default_run_id()}")

    def measure(step_config: BenchConfig, run_id: str) -> dict[str, list[float]]:
        versions = step_config.vary[question.package]
        step_config = step_config.model_copy(update={"results_dir": folder})
        if counting:  # both releases counted into a cost folder of the step's own
            count = CostRequest(step_config, run_id, WARMUP_REQUESTS, MEASURED_REQUESTS, repeats, write_report=False)
            counted = cost(count, watcher.say)
            entries = {entry.server: entry for entry in counted.run.entries}
            names = {version: release_config(step_config, question, version) for version in versions}
            if missing := [version for version, name in names.items() if name not in entries]:
                raise BenchError(f"the step {run_id} counted no {question.package} {missing[0]}")
            return {version: per_request(entries[name]) for version, name in names.items()}
        step_config = prepared(step_config.with_order_seed(), watcher.say)
        outcome = benchmark(RunRequest.of(step_config, run_id, request.command_line, write_report=False), watcher)
        if not outcome.complete:
            raise BenchError(f"the step {run_id} did not complete (exit {exit_code(outcome)}); its folder is "
                             "marked incomplete")  # fmt: skip
        return {v: figures_of(outcome.summary.scenarios, step_config, question, v) for v in versions}

    found = bisect(config, measure, question, releases, on_step=on_step)
    write_bisection(folder, found)
    return found
