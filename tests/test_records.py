"""Results that travel: a folder recorded on another machine reads here, the manifest names every version on the
measured path, and the wheel carries every file the package reads."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from bench import environment
from bench.cli import main
from bench.reproduce import compare

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
    described = environment.describe()
    for name in ("fastapi", "flask", "tornado", "uvicorn", "gunicorn", "uvicorn-worker", "h11", "scikit-learn",
                 "skops", "locust"):  # fmt: skip
        assert described["packages"][name], name
    if shutil.which("wrk"):
        assert described["tools"]["wrk"].startswith("wrk ")
    else:
        assert described["tools"]["wrk"] is None


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
