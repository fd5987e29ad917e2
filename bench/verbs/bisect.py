"""``bench bisect PACKAGE --good V --bad V``: the first release whose figure moved, each step a run of its own
measured through ``run.benchmark`` into the bisection's folder (the search itself: ``bench.bisect``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench.analysis.claim import CLAIM_SERVERS
from bench.bisect import Bisection, Question, Step, available_releases, between, bisect
from bench.config import BenchConfig, load_config
from bench.errors import BenchError
from bench.results import Scenario, create_run_folder, write_bisection
from bench.run import default_run_id
from bench.verbs.exits import exit_code
from bench.verbs.run import RunRequest, Watcher, benchmark, prepared


@dataclass(frozen=True)
class BisectRequest:
    question: Question
    endpoint: str
    close_style: str
    overrides: dict[str, Any]  # settings given by flags (a step's rounds and phases)
    run_id: str | None
    command_line: list[str]


def bisect_releases(request: BisectRequest, watcher: Watcher, on_step: Callable[[Step], None]) -> Bisection:
    """Each step measured as a run of its own (``watcher`` sees each), each decision passed to ``on_step``."""
    question = request.question
    if question.metric == "ratio" and question.server not in CLAIM_SERVERS:
        raise BenchError(f"--metric ratio is the headline's: --server must be one of {', '.join(CLAIM_SERVERS)}")
    servers = list(CLAIM_SERVERS) if question.metric == "ratio" else [question.server]
    overrides = {**request.overrides, "servers": servers, "endpoints": [request.endpoint],
                 "close_style": [request.close_style], "precision": None}  # fmt: skip
    config = load_config(None, False, overrides)
    releases = available_releases(question.package)
    between(releases, question.good, question.bad)  # both ends listed, before anything is written
    folder = create_run_folder(config.results_dir, request.run_id or f"bisect-{default_run_id()}")

    def measure(step_config: BenchConfig, run_id: str) -> list[Scenario]:
        step_config = prepared(step_config.model_copy(update={"results_dir": folder}).with_order_seed(), watcher.say)
        outcome = benchmark(RunRequest.of(step_config, run_id, request.command_line, write_report=False), watcher)
        if not outcome.complete:
            raise BenchError(f"the step {run_id} did not complete (exit {exit_code(outcome)}); its folder is "
                             "marked incomplete")  # fmt: skip
        return outcome.summary.scenarios

    found = bisect(config, measure, question, releases, on_step=on_step)
    write_bisection(folder, found)
    return found
