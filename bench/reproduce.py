"""``bench compare`` and ``bench reproduce``: do two results folders say the same thing?

Compare reads result folders only. Per variant (server config, model, workers) and endpoint it reports
the change in median rps, p99 and server CPU per request, with a Welch t-test over the repeats (as pyperf
does); per ratio between server configs, how far it moved, with a bootstrap interval of the move over both runs'
repeats (does the runs' own noise explain it?); per verdict, whether it is the same; and first,
what differs in the environment. Reproduce re-runs a folder's recorded configuration, then compares.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from bench import analysis, environment
from bench.config import BenchConfig
from bench.errors import BenchError
from bench.results import REPRODUCTION, Scenario, load_manifest, load_summary, write_json_atomically
from bench.stats import median, ratio_change

SIGNIFICANCE = 0.05
DEFAULT_TOLERANCE = 0.10
MEASUREMENT_SETTINGS = ("close_style", "user_class", "users")  # settings that change what a figure measures
FIGURES = {"rps": "rps", "p99_ms": "p99 ms", "server_cpu_us_per_request": "server CPU µs/req"}


@dataclass(frozen=True)
class Change:
    """One figure of one variant and endpoint, before and after."""

    server: str
    model: str
    workers: int
    close_style: str | None
    endpoint: str
    figure: str
    before: float | None
    after: float | None
    change: float | None  # after / before - 1
    p_value: float | None
    significant: bool


@dataclass(frozen=True)
class RatioMove:
    label: str
    model: str
    workers: int
    endpoint: str
    metric: str
    before: float | None
    after: float | None
    moved: float | None  # after / before - 1
    moved_low: float | None  # 95% bootstrap interval of ``moved``, resampling both runs' repeats
    moved_high: float | None
    within_tolerance: bool

    @property
    def beyond_noise(self) -> bool:
        """The move's interval excludes no change: the runs' own repeat-to-repeat spread does not explain it."""
        if self.moved_low is None or self.moved_high is None:
            return False
        return self.moved_low > 0 or self.moved_high < 0


@dataclass(frozen=True)
class VerdictPair:
    label: str
    model: str
    workers: int
    endpoint: str
    metric: str
    before: str | None
    after: str | None

    @property
    def agrees(self) -> bool:
        return self.before == self.after


def welch_p_value(before: list[float], after: list[float]) -> float | None:
    """Two-sided Welch t-test over repeats; None when either side has fewer than two values or no spread."""
    if len(before) < 2 or len(after) < 2:
        return None
    if np.std(before) <= 1e-9 * abs(np.mean(before)) and np.std(after) <= 1e-9 * abs(np.mean(after)):
        return None  # no spread on either side: a t-test has nothing to weigh
    return float(stats.ttest_ind(before, after, equal_var=False).pvalue)


def figure_changes(before: list[Scenario], after: list[Scenario]) -> list[Change]:
    old, new = analysis.groups(analysis.closed_loop(before)), analysis.groups(analysis.closed_loop(after))
    changes = []
    for key in [k for k in old if k in new]:
        for figure in FIGURES:
            a = [float(getattr(s, figure)) for s in analysis.usable(old[key]) if getattr(s, figure) is not None]
            b = [float(getattr(s, figure)) for s in analysis.usable(new[key]) if getattr(s, figure) is not None]
            first, second = (median(a) if a else None), (median(b) if b else None)
            change = second / first - 1 if first and second is not None else None
            p_value = welch_p_value(a, b)
            significant = p_value is not None and p_value < SIGNIFICANCE
            changes.append(Change(*key[0], key[1], figure, first, second, change, p_value, significant))
    return changes


def ratio_moves(before: list[Scenario], after: list[Scenario], tolerance: float) -> list[RatioMove]:
    old = {c.key: c for c in analysis.comparisons(before)}
    new = {c.key: c for c in analysis.comparisons(after)}
    moves = []
    for key in [k for k in old if k in new]:
        first, second = old[key].ratio, new[key].ratio
        moved = second / first - 1 if first and second is not None else None
        low, high = ratio_change(repeat_values(before, old[key]), repeat_values(after, new[key]))
        moves.append(RatioMove(*key, first, second, moved, low, high, moved is not None and abs(moved) < tolerance))
    return moves


def repeat_values(scenarios: list[Scenario], comparison: analysis.Comparison) -> tuple[list[float], list[float]]:
    """The repeats' values behind a ratio, numerator side and denominator side."""
    top, bottom = analysis.ratio_sides(scenarios, *comparison.sides, comparison.endpoint)
    return analysis.metric_values(top, comparison.metric), analysis.metric_values(bottom, comparison.metric)


def verdict_pairs(before: list[Scenario], after: list[Scenario]) -> list[VerdictPair]:
    old, new = verdicts_by_key(before), verdicts_by_key(after)
    return [VerdictPair(*key, old.get(key), new.get(key)) for key in dict.fromkeys([*old, *new])]


def verdicts_by_key(scenarios: list[Scenario]) -> dict[tuple[str, str, int, str, str], str]:
    return {
        (
            analysis.pair_label(v["numerator"], v["denominator"], v.get("close_style")),
            v["model"],
            v["workers"],
            v["endpoint"],
            v["metric"],
        ): v["verdict"]
        for v in analysis.verdicts(scenarios)
    }


def environment_differences(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """What differs between two manifests' environments (packages, CPU, cores, Python, commit) and in the
    settings that change what a figure measures (the client's close style, user class and users)."""
    first, second = before.get("environment", {}), after.get("environment", {})
    differences = []
    for name, label in (("cpu_model", "CPU model"), ("cpu_count", "core count"), ("python", "Python"),
                        ("hostname", "host"), ("constraints_sha256", "constraints.txt")):  # fmt: skip
        if first.get(name) != second.get(name):
            differences.append(f"{label}: {first.get(name)} -> {second.get(name)}")
    if first.get("git", {}).get("commit") != second.get("git", {}).get("commit"):
        differences.append(f"git commit: {first.get('git', {}).get('commit')} -> {second.get('git', {}).get('commit')}")
    for setting in MEASUREMENT_SETTINGS:
        old_setting, new_setting = before.get("config", {}).get(setting), after.get("config", {}).get(setting)
        if old_setting != new_setting:
            differences.append(f"{setting}: {old_setting} -> {new_setting}")
    for block in ("packages", "tools"):
        old_versions, new_versions = first.get(block, {}), second.get(block, {})
        for name in sorted(set(old_versions) & set(new_versions)):  # what one side never recorded is unknown
            if old_versions[name] != new_versions[name]:
                differences.append(f"{name}: {old_versions.get(name)} -> {new_versions.get(name)}")
    return differences


def compare(before: Path, after: Path, tolerance: float = DEFAULT_TOLERANCE) -> dict[str, Any]:
    """The comparison of two results folders, as stored in reproduction.json."""
    old, new = load_summary(before), load_summary(after)
    if (
        BenchConfig.model_validate(load_manifest(before)["config"]).model
        != BenchConfig.model_validate(load_manifest(after)["config"]).model
    ):
        raise BenchError(f"{before} and {after} served different models: not comparable")
    moves = ratio_moves(old.scenarios, new.scenarios, tolerance)
    pairs = verdict_pairs(old.scenarios, new.scenarios)
    reproduced = bool(moves) and all(m.within_tolerance for m in moves) and all(p.agrees for p in pairs)
    return {
        "before": str(before),
        "after": str(after),
        "tolerance": tolerance,
        "reproduced": reproduced,
        "environment_differences": environment_differences(load_manifest(before), load_manifest(after)),
        "verdicts": [{**asdict(p), "agrees": p.agrees} for p in pairs],
        "ratios": [{**asdict(m), "beyond_noise": m.beyond_noise} for m in moves],
        "figures": [asdict(c) for c in figure_changes(old.scenarios, new.scenarios)],
    }


def installed_version_differences(folder: Path) -> list[str]:
    """Packages whose installed version differs from the one recorded in ``folder``'s manifest."""
    recorded = load_manifest(folder).get("environment", {}).get("packages", {})
    installed = environment.package_versions()
    return [f"{name}: recorded {version}, installed {installed.get(name)}"
            for name, version in recorded.items() if installed.get(name) != version]  # fmt: skip


def recorded_config(folder: Path) -> BenchConfig:
    try:
        return BenchConfig.model_validate(load_manifest(folder)["config"])
    except (KeyError, ValueError):
        raise BenchError(f"{folder}/manifest.json has no valid recorded config") from None


def write_reproduction(folder: Path, comparison: dict[str, Any]) -> None:
    write_json_atomically(folder / REPRODUCTION, comparison)
