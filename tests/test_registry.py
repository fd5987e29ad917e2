"""Server configs as data: the built-ins in bench/servers.toml, a user's --servers-file listed, verified against
the contract before any load and measured like a built-in, and a config that breaks the contract refused."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench import analysis, environment
from bench.errors import USAGE
from bench.report.html import build_report
from bench.report.plots import colour
from bench.results import load_summary
from bench.server_configs import BUILT_IN_SERVERS, SERVER_CONFIGS, read_servers_file, server_config

FIXTURES = Path(__file__).parent / "fixtures"
GTHREAD8 = """
[servers.flask-gthread8]
framework = "flask"
description = "Flask under gunicorn's gthread worker, 8 threads"
command = ["{python}", "-m", "gunicorn", "apps.flask_app:app", "--bind", "{address}", "--workers", "{workers}",
           "--worker-class", "gthread", "--threads", "8", "--log-level", "warning"]
"""
BROKEN = """
[servers.fixed-bytes]
framework = "flask"
description = "the harness's null server, which answers every request with the same bytes"
command = ["{python}", "-m", "bench.nullserver", "--host", "{host}", "--port", "{port}"]
"""


def bench(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bench", *args], capture_output=True, text=True, timeout=300,
                          check=False, cwd=cwd)  # fmt: skip


def test_the_built_ins_are_data_and_everything_follows_from_them() -> None:
    assert {"fastapi-uvicorn", "flask-gunicorn-sync", "tornado", "starlette-uvicorn"} <= set(BUILT_IN_SERVERS)
    colours = [colour(name) for name in BUILT_IN_SERVERS]
    assert len(set(colours)) == len(colours), "two built-in configs share a colour in the plots"
    for name in BUILT_IN_SERVERS:
        assert set(SERVER_CONFIGS[name].packages) <= set(environment.packages()), f"{name}: a package not installed"
    assert server_config("starlette").name == "starlette-uvicorn"
    command = server_config("flask-gunicorn-sync").command_line("::1", 8000, 2)
    assert "[::1]:8000" in command and command[command.index("--workers") + 1] == "2"


@pytest.mark.parametrize(
    "text, message",
    [
        ('[servers.x]\nframework = "flask"\ncommand = ["{python}", "{nope}"]', "unknown placeholder {nope}"),
        ('[servers.x]\ncommand = ["{python}"]', "servers.x.framework: Field required"),
        ("[servers]", "no [servers.NAME] table"),
        ('[servers.x]\nframework = "flask"\ncommand = ["a"]\ncolor = "red"', "servers.x.color: Extra inputs"),
    ],
)
def test_a_bad_servers_file_is_one_clear_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "servers.toml"
    path.write_text(text)
    done = bench("list", "--servers-file", str(path), cwd=tmp_path)
    assert done.returncode == USAGE
    assert done.stderr.count("\n") == 1 and message in done.stderr and "Traceback" not in done.stderr


@pytest.mark.slow
def test_a_servers_file_config_is_listed_verified_and_measured(tmp_path: Path) -> None:
    servers = tmp_path / "servers.toml"
    servers.write_text(GTHREAD8)
    assert read_servers_file(servers)["flask-gthread8"]["framework"] == "flask"
    listed = bench("list", "--servers-file", str(servers), cwd=tmp_path)
    assert listed.returncode == 0 and "flask-gthread8" in listed.stdout and "8 threads" in listed.stdout
    done = bench("run", "--servers-file", str(servers), "--servers", "fastapi,flask-gthread8", "--endpoints", "get",
                 "--repeats", "1", "--warmup", "0.5", "--duration", "1", "--users", "4", "--run-id", "mine",
                 cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    summary = json.loads((tmp_path / "results" / "mine" / "summary.json").read_text())
    mine = [s for s in summary["scenarios"] if s["server"] == "flask-gthread8"]
    assert mine and mine[0]["requests"] > 0 and mine[0]["framework"] == "flask" and mine[0]["close_style"] is None
    manifest = json.loads((tmp_path / "results" / "mine" / "manifest.json").read_text())
    assert manifest["config"]["server_definitions"]["flask-gthread8"]["command"][-3] == "8"
    again = bench("report", str(tmp_path / "results" / "mine"), "--reports-dir", str(tmp_path / "r2"), cwd=tmp_path)
    assert again.returncode == 0, again.stderr  # the record carries the config: no servers file needed to read it


@pytest.mark.slow
def test_a_config_that_breaks_the_contract_is_refused_before_any_load(tmp_path: Path) -> None:
    servers = tmp_path / "servers.toml"
    servers.write_text(BROKEN)
    done = bench("run", "--servers-file", str(servers), "--servers", "fixed-bytes", "--endpoints", "get",
                 "--repeats", "1", "--duration", "1", "--run-id", "never", cwd=tmp_path)  # fmt: skip
    assert done.returncode == USAGE
    errors = [line for line in done.stderr.splitlines() if "error" in line]
    assert len(errors) == 1 and "'fixed-bytes' breaks the API contract" in errors[0], done.stderr
    assert not (tmp_path / "results" / "never").exists()


def test_bench_list_shows_the_granian_and_starlette_configs(tmp_path: Path) -> None:
    listed = bench("list", cwd=tmp_path)
    assert listed.returncode == 0
    for name in ("fastapi-granian", "flask-granian", "starlette-uvicorn", "fastapi-uvicorn", "tornado"):
        assert name in listed.stdout, name


def test_the_headline_ratio_splits_into_the_frameworks_on_one_server_and_the_servers(tmp_path: Path) -> None:
    summary = load_summary(FIXTURES / "decomposition")
    found = analysis.decompositions(summary.scenarios)
    assert [d.endpoint for d in found] == ["get", "put"]
    for d in found:
        assert d.runs_on == "granian" and d.servers is not None
        assert (d.framework.numerator, d.framework.denominator) == ("fastapi-granian", "flask-granian")
        assert (d.headline.numerator, d.headline.denominator) == analysis.CLAIM_SERVERS
        assert d.framework.ratio == pytest.approx(2100 / 2400, rel=0.05)
        assert d.servers.ratio == pytest.approx((2000 / 2100) / (1000 / 2400), rel=0.05)
        assert d.headline.ratio == pytest.approx(d.framework.ratio * d.servers.ratio, rel=0.03)
        assert d.framework.ci_low is not None and d.framework.ci_low <= d.framework.ratio <= d.framework.ci_high
    sentence = analysis.decomposition_sentence(found)
    assert "fastapi-granian/flask-granian 0.8" in sentence and "x the servers 2." in sentence
    headline = analysis.headline(summary.verdicts)
    assert "depends on the conditions" not in headline and "holds here" in headline  # the seed's pairing leads
    html = build_report(FIXTURES / "decomposition", tmp_path).read_text()
    assert 'id="decomposition"' in html and "fastapi-granian/flask-granian" in html
