"""compare on stored fixtures, and a real reproduce of a tiny run."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bench.cli import main
from bench.console import reproduction_sentence
from bench.reproduce import VerdictPair, compare, welch_p_value
from bench.results import SCHEMA_VERSION
from bench.verbs.exits import exit_code

FIXTURES = Path(__file__).parent / "fixtures"


def copy_with(tmp_path: Path, name: str, change: dict[str, float] | None = None, version: int | None = None) -> Path:
    """A copy of the 'holds' fixture, with the rps of some frameworks scaled, or another schema_version."""
    folder = tmp_path / name
    shutil.copytree(FIXTURES / "holds", folder)
    summary = json.loads((folder / "summary.json").read_text())
    for scenario in summary["scenarios"]:
        scenario["rps"] *= (change or {}).get(scenario["framework"], 1.0)
    if version is not None:
        summary["schema_version"] = version
    (folder / "summary.json").write_text(json.dumps(summary))
    return folder


def test_identical_folders_are_reproduced(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    same = copy_with(tmp_path, "same")
    comparison = compare(FIXTURES / "holds", same)
    assert comparison.outcome == "reproduced" and exit_code(comparison) == 0
    assert all(pair.decision == "equivalent" for pair in comparison.verdicts)
    assert all(move.moved == pytest.approx(0.0) and move.decision == "equivalent" for move in comparison.ratios)
    assert all(m.low90 is not None and m.high90 is not None and m.low90 <= 0 <= m.high90 for m in comparison.ratios)
    assert not any(change.significant for change in comparison.figures)
    assert main(["compare", str(FIXTURES / "holds"), str(same), "--json"]) == 0
    stored = json.loads(capsys.readouterr().out)
    assert stored["outcome"] == "reproduced" and len(stored["ratios"]) == len(comparison.ratios)


def test_a_ratio_shifted_by_30_percent_is_changed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shifted = copy_with(tmp_path, "shifted", {"flask": 1.3})
    comparison = compare(FIXTURES / "holds", shifted)
    assert comparison.outcome == "changed"
    moved = {(m.label, m.metric): m for m in comparison.ratios if m.decision == "changed"}
    claim = moved[("fastapi-uvicorn/flask-gunicorn-sync", "throughput")]
    assert claim.moved == pytest.approx(1 / 1.3 - 1, abs=0.02)
    assert claim.high95 is not None and claim.high95 < 0
    flask_rps = [c for c in comparison.figures if c.server == "flask-gunicorn-sync" and c.figure == "rps"]
    assert all(c.significant and c.change == pytest.approx(0.3, abs=0.01) for c in flask_rps)
    assert main(["compare", str(FIXTURES / "holds"), str(shifted)]) == 1
    assert "changed" in capsys.readouterr().err
    assert "(exit 1)" in reproduction_sentence(comparison)


def test_a_move_the_rounds_cannot_decide_is_undetermined_with_the_rounds_needed(tmp_path: Path) -> None:
    noisy = copy_with(tmp_path, "noisy")
    summary = json.loads((noisy / "summary.json").read_text())
    flask = [s for s in summary["scenarios"] if s["framework"] == "flask"]
    for scenario, factor in zip(flask, [0.6, 1.0, 0.85, 1.0, 1.4, 1.0] * 2, strict=True):
        scenario["rps"] *= factor
    (noisy / "summary.json").write_text(json.dumps(summary))
    comparison = compare(FIXTURES / "holds", noisy)
    claim = next(m for m in comparison.ratios
                 if m.label == "fastapi-uvicorn/flask-gunicorn-sync" and m.metric == "throughput")  # fmt: skip
    assert comparison.outcome == "undetermined" and exit_code(comparison) == 3
    assert claim.decision == "undetermined" and claim.rounds_needed is not None and claim.rounds_needed > 6
    assert f"about {comparison.rounds_needed} rounds per run would decide" in reproduction_sentence(comparison)


def test_a_verdict_from_holds_to_refuted_is_a_change_and_to_inconclusive_undetermined() -> None:
    pairs = {
        (before, after): VerdictPair(label="x", model="rule", workers=1, endpoint="get", metric="throughput",
                                     before=before, after=after).decision
        for before in ("holds", "refuted", "inconclusive") for after in ("holds", "refuted", "inconclusive")
    }  # fmt: skip
    assert pairs[("holds", "refuted")] == pairs[("refuted", "holds")] == "changed"
    assert pairs[("holds", "inconclusive")] == pairs[("inconclusive", "refuted")] == "undetermined"
    assert pairs[("holds", "holds")] == "equivalent"


def test_other_schema_versions_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    other = copy_with(tmp_path, "v99", version=99)
    assert main(["compare", str(FIXTURES / "holds"), str(other)]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        f"python -m bench: error: {other / 'summary.json'} has schema_version 99; "
        f"this titanic-bench reads 1 to {SCHEMA_VERSION}"
    ]


def test_welch_needs_two_repeats_a_side() -> None:
    assert welch_p_value([1.0], [2.0, 3.0]) is None
    assert welch_p_value([10.0, 10.1, 9.9], [12.0, 12.1, 11.9]) < 0.01


@pytest.mark.slow
def test_a_real_reproduce_of_a_tiny_run(tmp_path: Path) -> None:
    def bench(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "bench", *args, "--results-dir", str(tmp_path), "--no-report"]
        return subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)

    first = bench("run", "--frameworks", "fastapi,tornado", "--endpoints", "get", "--repeats", "2", "--warmup", "0.5",
                  "--duration", "1", "--users", "8", "--run-id", "original")  # fmt: skip
    assert first.returncode == 0, first.stderr
    again = bench("reproduce", str(tmp_path / "original"), "--run-id", "again", "--tolerance", "0.5", "--json")
    assert again.returncode in (0, 1, 3), again.stderr
    reproduction = json.loads((tmp_path / "again" / "reproduction.json").read_text())
    assert json.loads(again.stdout) == reproduction
    assert reproduction["before"] == str(tmp_path / "original") and reproduction["after"] == str(tmp_path / "again")
    assert reproduction["environment_differences"] == []
    assert {m["label"] for m in reproduction["ratios"]} == {"fastapi-uvicorn/tornado"}
    assert again.returncode == {"reproduced": 0, "changed": 1, "undetermined": 3}[reproduction["outcome"]]
    recorded = json.loads((tmp_path / "original" / "manifest.json").read_text())["config"]
    assert recorded["order_seed"] is not None  # drawn at the start, recorded, and reused: the same round order
    assert json.loads((tmp_path / "again" / "manifest.json").read_text())["config"] == recorded
    order = [[s["id"] for s in json.loads((tmp_path / run / "summary.json").read_text())["scenarios"]]
             for run in ("original", "again")]  # fmt: skip
    assert order[0] == order[1]


def test_a_corrupt_summary_is_refused_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    corrupt = copy_with(tmp_path, "corrupt")
    (corrupt / "summary.json").write_text('{"schema_version": 1, "run_')
    assert main(["compare", str(FIXTURES / "holds"), str(corrupt)]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        f"python -m bench: error: {corrupt / 'summary.json'} is corrupt: not valid JSON"
    ]
