"""Results that travel: a folder recorded on another machine reads here, older schemas load as records, the
manifest names every version on the measured path, the wheel carries every file the package reads, and the
CLI keeps its conventions (one program name, --version, the verbs, defaults in --help, one exit code each)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from bench import environment
from bench.analysis.claim import claim_rule
from bench.cli import VERBS, main
from bench.errors import BUG, OK, USAGE
from bench.registry import BUILT_IN
from bench.report.html import build_report
from bench.reproduce import compare
from bench.results import RULE_BEFORE_3, SCHEMA_VERSION, load_manifest, load_summary

FIXTURES = Path(__file__).parent / "fixtures"
ROOT = Path(__file__).parents[1]


def recorded_elsewhere(tmp_path: Path) -> Path:
    """The holds fixture as if recorded on a bigger machine: server on CPU 6, client on CPU 7."""
    folder = tmp_path / "elsewhere"
    shutil.copytree(FIXTURES / "holds", folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["config"] |= {"server_cpus": [6], "client_cpus": [7]}
    manifest["cpu_sets"] = {"server": [6], "client": [7]}
    manifest["environment"] |= {"cpu_count": 8, "cpus_available": list(range(8))}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def test_a_folder_recorded_on_cpus_this_host_lacks_reports_and_compares(tmp_path: Path) -> None:
    folder = recorded_elsewhere(tmp_path)
    assert main(["report", str(folder), "--reports-dir", str(tmp_path / "reports")]) == 0
    assert (tmp_path / "reports" / "holds" / "index.html").is_file()
    comparison = compare(FIXTURES / "holds", folder)
    assert comparison.outcome == "reproduced" and "core count: 2 -> 8" in comparison.environment_differences


def test_a_run_here_on_missing_cpus_is_one_line_naming_the_flag(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = recorded_elsewhere(tmp_path)
    assert main(["reproduce", str(folder), "--results-dir", str(tmp_path / "results")]) == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("python -m bench: error:")]
    assert len(lines) == 1 and "CPU [6] not available here" in lines[0] and "--server-cpus" in lines[0]
    assert not (tmp_path / "results").exists() or not any((tmp_path / "results").iterdir())


def test_the_manifest_names_every_distribution_on_the_measured_path_and_wrk() -> None:
    described = environment.describe(BUILT_IN)
    for name in ("fastapi", "flask", "tornado", "uvicorn", "gunicorn", "uvicorn-worker", "h11", "scikit-learn",
                 "skops", "locust"):  # fmt: skip
        assert described.packages[name], name
    wrk = described.tools["wrk"]
    if shutil.which("wrk"):
        assert wrk is not None and wrk.startswith("wrk ")
    else:
        assert wrk is None


@pytest.mark.slow
def test_the_wheel_carries_every_file_the_package_reads(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path),
         str(ROOT)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    (wheel,) = tmp_path.glob("titanic_bench-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    wanted = [path.relative_to(ROOT).as_posix() for path in (ROOT / "bench").rglob("*")
              if path.is_file() and path.suffix in {".toml", ".html", ".lua"}]  # fmt: skip
    wanted += ["apps/openapi.json", *(f"apps/artifacts/{p.name}" for p in (ROOT / "apps" / "artifacts").iterdir())]
    assert "bench/load/wrk_report.lua" in wanted
    assert not [name for name in wanted if name not in names]


def test_schema_3_migrates_to_the_limits_a_run_today_records() -> None:
    """The same synthetic run stored at schema 3 and made again at today's: the migration gives each scenario the
    limit today's rule gives it (a client-bound scenario whose server was busy is the server's); what schema 3
    did not record (the memory) stays unknown."""
    old, new = load_summary(FIXTURES / "schema3"), load_summary(FIXTURES / "client_bound")
    assert old.schema_version == new.schema_version == SCHEMA_VERSION
    assert {s.limited_by for s in old.scenarios if s.client_bound} == {"server"}
    assert all(s.server_memory is None for s in old.scenarios) and all(s.server_memory for s in new.scenarios)
    assert [s.model_copy(update={"server_memory": None}) for s in new.scenarios] == old.scenarios
    assert old.verdicts == new.verdicts
    assert load_manifest(FIXTURES / "schema3").databases == {}


def test_schema_2_loads_as_records_of_the_rule_it_was_judged_by(tmp_path: Path) -> None:
    summary, manifest = load_summary(FIXTURES / "schema2"), load_manifest(FIXTURES / "schema2")
    assert summary.schema_version == manifest.schema_version == SCHEMA_VERSION
    stored = [v for v in summary.verdicts if v.metric == "throughput"]
    assert stored and all(v.rule == RULE_BEFORE_3 and v.band_high is None for v in stored)
    ceiling = manifest.client_ceiling
    assert ceiling is not None and ceiling.user_classes["lean"].keepalive_rps == 11000.0
    html = " ".join(build_report(FIXTURES / "schema2", tmp_path).read_text().split())
    assert "judged by an older rule" in html and RULE_BEFORE_3 in html
    recomputed = " ".join(build_report(FIXTURES / "schema2", tmp_path, recompute=True).read_text().split())
    assert "Re-judged with today" in recomputed and claim_rule(0.10) in recomputed


def test_the_cli_names_itself_once_states_its_defaults_and_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == OK
    bare = capsys.readouterr().out
    assert bare.startswith("usage: python -m bench") and all(verb in bare for verb in ("run", "compare", "report"))
    assert "exit codes:" in bare and "4    a run could not complete" in bare
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0 and capsys.readouterr().out.startswith("python -m bench (titanic-bench) ")
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    helped = " ".join(capsys.readouterr().out.split())
    assert "(default: 20, from defaults.toml)" in helped and "(default: 0.1, from defaults.toml)" in helped
    with pytest.raises(SystemExit) as bad:
        main(["run", "--precision", "150%"])
    assert bad.value.code == USAGE and "expected a share between 0 and 100%" in capsys.readouterr().err


def test_an_unexpected_exception_is_a_bug_with_its_own_exit_code(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(*_: object) -> int:
        raise ZeroDivisionError("boom")

    monkeypatch.setitem(VERBS, "list", broken)
    assert main(["list"]) == BUG
    err = capsys.readouterr().err
    assert "Traceback" in err and "ZeroDivisionError: boom" in err and "this is a bug in titanic-bench" in err
