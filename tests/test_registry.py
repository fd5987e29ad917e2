"""Server configs as data: the built-ins in bench/servers.toml, a user's --servers-file listed, verified against
the contract before any load and measured like a built-in, and a config that breaks the contract refused; the
registry a value (a user's configs make a new one), the compared pairs read from the table."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench import environment
from bench.analysis import claim, decomposition
from bench.analysis.claim import CLAIM_PAIR
from bench.analysis.ratios import comparisons
from bench.config import load_config
from bench.errors import USAGE, BenchError
from bench.registry import BUILT_IN, BUILT_IN_SERVERS, Registry
from bench.report.html import build_report
from bench.report.plots import colour
from bench.results import load_manifest, load_summary
from bench.run import schedule
from bench.server_configs import BUILT_IN_PATH, read_servers_file, read_toml
from bench.verbs.run import prepared

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
    colours = [colour(name, BUILT_IN) for name in BUILT_IN_SERVERS]
    assert len(set(colours)) == len(colours), "two built-in configs share a colour in the plots"
    for name in BUILT_IN_SERVERS:
        assert set(BUILT_IN.config(name).packages) <= set(environment.packages(BUILT_IN)), f"{name}: not installed"
    assert BUILT_IN.config("starlette").name == "starlette-uvicorn"
    command = BUILT_IN.config("flask-gunicorn-sync").command_line("::1", 8000, 2)
    assert "[::1]:8000" in command and command[command.index("--workers") + 1] == "2"


def test_a_users_configs_make_a_new_registry_and_leave_the_built_ins_as_they_were(tmp_path: Path) -> None:
    servers = tmp_path / "servers.toml"
    servers.write_text(GTHREAD8)
    config = load_config(overrides={"server_definitions": read_servers_file(servers), "servers": ["flask-gthread8"]})
    assert config.registry.config("flask-gthread8").framework == "flask"
    assert "flask-gthread8" not in BUILT_IN.configs  # nothing wrote the built-in registry
    with pytest.raises(BenchError, match="unknown server config 'flask-gthread8'"):
        load_config(overrides={"servers": ["flask-gthread8"]})  # another config does not see it
    clash = {"tornado": read_servers_file(servers)["flask-gthread8"]}
    with pytest.raises(BenchError, match="'tornado' is a built-in config's"):
        BUILT_IN.with_definitions(clash)


def test_the_pairs_compared_follow_from_the_table() -> None:
    table = read_toml(BUILT_IN_PATH)
    assert BUILT_IN.pairs == tuple(tuple(pair) for pair in table["pairs"])
    assert BUILT_IN.pairs[0] == CLAIM_PAIR  # the claim's pair is compared, and judged
    scenarios = load_summary(FIXTURES / "decomposition").scenarios
    compared = {
        (BUILT_IN.family(c.numerator), BUILT_IN.family(c.denominator)) for c in comparisons(scenarios, BUILT_IN)
    }
    assert compared == {CLAIM_PAIR}  # the fixture has FastAPI and Flask configs only
    only_tornado = Registry(BUILT_IN.configs, BUILT_IN.defaults, (("tornado", "flask"),))
    assert comparisons(scenarios, only_tornado) == []


def test_a_config_that_serves_one_workload_is_planned_on_it_alone_and_says_so() -> None:
    config = load_config(overrides={"servers": ["litserve-batched", "fastapi"], "endpoints": ["get", "post"],
                                    "repeats": 1})  # fmt: skip
    said: list[str] = []
    planned = {(key.server, key.endpoint) for key in schedule(prepared(config, said.append))}
    assert planned == {("fastapi-uvicorn", "get"), ("fastapi-uvicorn", "post"), ("litserve-batched", "post")}
    assert said == ["litserve-batched serves post alone: not measured on get"]


@pytest.mark.parametrize(
    "text, message",
    [
        ('[servers.x]\nframework = "flask"\ncommand = ["{python}", "{nope}"]', "unknown placeholder {nope}"),
        ('[servers.x]\ncommand = ["{python}"]', "servers.x.framework: Field required"),
        ("[servers]", "no [servers.NAME] table"),
        ('[servers.x]\nframework = "flask"\ncommand = ["a"]\ncolor = "red"', "servers.x.color: Extra inputs"),
        ('[servers.x]\nframework = "x"\ncommand = ["a"]\nserves = ["nope"]', "unknown workload 'nope'"),
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
    manifest = load_manifest(tmp_path / "results" / "mine")
    assert manifest.config.server_definitions["flask-gthread8"]["command"][-3] == "8"
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
    found = decomposition.decompositions(summary.scenarios, BUILT_IN)
    assert [d.endpoint for d in found] == ["get", "put"]
    for d in found:
        assert d.runs_on == "granian" and d.servers is not None
        assert (d.framework.numerator, d.framework.denominator) == ("fastapi-granian", "flask-granian")
        assert (d.headline.numerator, d.headline.denominator) == claim.CLAIM_SERVERS
        assert d.framework.ratio == pytest.approx(2100 / 2400, rel=0.05)
        assert d.servers.ratio == pytest.approx((2000 / 2100) / (1000 / 2400), rel=0.05)
        assert d.headline.ratio == pytest.approx(d.framework.ratio * d.servers.ratio, rel=0.03)
        assert d.framework.ci_low is not None and d.framework.ci_low <= d.framework.ratio <= d.framework.ci_high
    sentence = decomposition.decomposition_sentence(found)
    assert "fastapi-granian/flask-granian 0.8" in sentence and "x the servers 2." in sentence
    headline = claim.headline(summary.verdicts)
    assert "depends on the conditions" not in headline and "holds here" in headline  # the seed's pairing leads
    html = build_report(FIXTURES / "decomposition", tmp_path).read_text()
    assert 'id="decomposition"' in html and "fastapi-granian/flask-granian" in html
