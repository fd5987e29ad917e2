"""``bench sweep CLOSED_RUN``: open-loop rates set as shares of a closed-loop run's throughput, measured as a
run of its own."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.config import quick_settings, validate_config
from bench.errors import BenchError
from bench.results import load_manifest, load_summary
from bench.sweep import DEFAULT_SHARES, sweep_plan
from bench.verbs.run import RunRequest, prepared


@dataclass(frozen=True)
class SweepRequest:
    closed_run: Path
    overrides: dict[str, Any]  # settings given by flags, over the recorded config
    quick: bool
    shares: list[str] | None  # as given; None: the default shares
    run_id: str | None
    command_line: list[str]
    write_report: bool


def sweep_request(request: SweepRequest, say: Callable[[str], None]) -> RunRequest:
    """The run a sweep makes: the closed-loop run's config under the flags (``prepared`` to run here), and a plan
    of set rates."""
    closed = load_summary(request.closed_run)
    recorded = load_manifest(request.closed_run).config.to_json_dict()
    if request.quick:
        recorded.update(quick_settings())
    # wrk measures saturation, and --precision the headline ratios of one: neither has a place beside set rates.
    config = prepared(validate_config({**recorded, **request.overrides, "crosscheck": "none", "precision": None}), say)
    try:
        shares = [float(share) for share in request.shares] if request.shares else list(DEFAULT_SHARES)
    except ValueError:
        raise BenchError(
            f"bad --shares {','.join(request.shares or [])}: expected numbers such as 0.1,0.5,0.9"
        ) from None
    plan = sweep_plan(config, closed.scenarios, shares)
    return RunRequest(config, plan, request.run_id, request.command_line, request.write_report)
