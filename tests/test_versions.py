"""Across releases: version sets as configs (derived names, their own Python), their environments (created,
reused, a version that cannot be installed), the releases' analysis, and the bisection's logic on simulated
figures with a known answer."""

from __future__ import annotations

import json
import math
import random
import subprocess
import sys
import zlib
from pathlib import Path
from typing import Any

import pytest

from bench import versions
from bench.analysis import releases
from bench.analysis.cost import DEFAULT_COST_TOLERANCE
from bench.bisect import Question, between, bisect, figures_of
from bench.config import BenchConfig, load_config
from bench.errors import BenchError
from bench.report.html import build_report
from bench.results import load_manifest
from bench.run import ScenarioKey, scenario_of, schedule
from bench.versions import VersionSet, ensure, parse_vary

GUNICORN = ["23.0.0", "25.3.0", "26.0.0", "27.0.1"]
RESULTS = Path(__file__).parents[1] / "results"


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(versions.CACHE_ENV_VAR, str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_vary_flags_parse_and_a_malformed_one_is_one_line() -> None:
    assert parse_vary(["Gunicorn=23.0.0, 27.0.1", "flask=3.1.0"]) == {"gunicorn": ["23.0.0", "27.0.1"],
                                                                     "flask": ["3.1.0"]}  # fmt: skip
    for bad in ("gunicorn", "gunicorn=", "=1.0"):
        with pytest.raises(BenchError, match="expected PACKAGE=V1,V2"):
            parse_vary([bad])


def test_only_configs_on_the_varied_package_run_under_each_version(cache: Path) -> None:
    config = load_config(
        overrides={"servers": ["fastapi-uvicorn", "flask-gunicorn-sync"], "vary": {"gunicorn": GUNICORN}}
    )
    names = config.server_names
    assert names == ["fastapi-uvicorn", *(f"flask-gunicorn-sync@gunicorn-{v}" for v in GUNICORN)]
    derived = config.registry.config(names[1])
    assert derived.python is not None and derived.python.startswith(str(cache))
    assert derived.command_line("127.0.0.1", 8000, 1)[0] == derived.python
    assert config.registry.config("fastapi-uvicorn").command_line("127.0.0.1", 8000, 1)[0] == sys.executable
    assert len(schedule(config)) == len(names) * len(config.endpoints) * len(config.close_style) * config.repeats
    with pytest.raises(BenchError, match="no server config runs on"):
        load_config(overrides={"servers": ["fastapi-uvicorn"], "vary": {"gunicorn": GUNICORN}})


def test_the_recorded_config_brings_its_version_sets_back() -> None:
    config = load_config(overrides={"servers": ["flask-gunicorn-sync"], "vary": {"gunicorn": ["23.0.0"]}})
    again = BenchConfig.model_validate(config.to_json_dict())
    assert again.server_names == ["flask-gunicorn-sync@gunicorn-23.0.0"]


@pytest.mark.slow
def test_an_environment_is_created_once_reused_and_recorded(cache: Path) -> None:
    version_set = VersionSet((("iniconfig", "2.0.0"),))
    first = ensure(version_set, packages=[])
    assert first.installed["iniconfig"] == "2.0.0" and first.pins == {"iniconfig": "2.0.0"}
    record = versions.environment_folder(version_set, []) / versions.RECORD
    written = record.stat().st_mtime_ns
    assert ensure(version_set, packages=[]) == first and record.stat().st_mtime_ns == written  # from the cache
    found = subprocess.run([first.python, "-c", "import iniconfig, sys; print(sys.prefix)"], capture_output=True,
                           text=True, check=True)  # fmt: skip
    assert found.stdout.strip() == str(versions.environment_folder(version_set, []))
    listed = versions.cached()
    assert [entry["label"] for entry in listed] == ["iniconfig-2.0.0"] and listed[0]["complete"]
    assert versions.clear() == 1 and versions.cached() == []


@pytest.mark.slow
def test_a_version_that_cannot_be_installed_is_one_line_and_skipped(cache: Path) -> None:
    with pytest.raises(BenchError, match=r"iniconfig-0\.0\.0 cannot be installed here: ERROR") as raised:
        ensure(VersionSet((("iniconfig", "0.0.0"),)), packages=[])
    assert "\n" not in str(raised.value)
    assert versions.cached() == []  # nothing half-made is left to be mistaken for an environment
    said: list[str] = []
    kept = versions.install([], [], {"iniconfig": ["0.0.0"]}, said.append)
    assert kept == {"iniconfig": ["0.0.0"]} and said == []  # no server depends on it: nothing to install


def simulated(config: BenchConfig, rps_of: Any, spread: float = 0.03, seed: int = 1) -> list[Any]:
    """Scenarios of ``config``'s schedule whose throughput is ``rps_of(server)`` times log-normal noise."""
    noise = random.Random(seed)
    return [measured(key, rps_of(key.server) * math.exp(noise.gauss(0, spread))) for key in schedule(config)]


def measured(key: ScenarioKey, rps: float) -> Any:
    return scenario_of(
        key, requests=1000, failures=0, rps=rps, p50_ms=1.0, p90_ms=1.0, p99_ms=1.0, p999_ms=1.0,
        server_cpu_us_per_request=1e6 / rps, server_busy=0.99, server_steal=0.0, under_driven=False,
        client_cpu_percent=50.0, client_bound=False, client_ceiling_rps=None, near_client_limit=False, valid=True,
    )  # fmt: skip


def gunicorn_rps(server: str) -> float:
    """The finding: Flask on the sync worker lost a third of its throughput at 26.0.0 (lingering close)."""
    if server.startswith("fastapi"):
        return 7000.0
    version = server.rpartition("-")[2]
    return 3000.0 if version.split(".")[0] >= "26" else 4900.0


def test_releases_name_the_largest_step_with_its_interval() -> None:
    config = load_config(overrides={"servers": ["fastapi-uvicorn", "flask-gunicorn-sync"], "endpoints": ["get"],
                                    "vary": {"gunicorn": GUNICORN}, "repeats": 8})  # fmt: skip
    found = releases.releases(simulated(config, gunicorn_rps), config.registry)
    assert [r.label for r in found] == [f"gunicorn-{v}" for v in GUNICORN]
    assert found[0].step is None and found[2].step is not None and found[2].step.ratio is not None
    assert found[2].step.ratio == pytest.approx(3000 / 4900, rel=0.05)
    assert all(r.claim is not None and r.claim.ratio is not None for r in found)
    assert found[3].claim is not None and found[3].claim.ratio == pytest.approx(7000 / 3000, rel=0.05)
    sentence = releases.release_sentence(found)
    assert "from gunicorn-25.3.0 to gunicorn-26.0.0" in sentence and "beyond the rounds' noise" in sentence


RELEASES = ["23.0.0", "24.0.0", "24.1.0", "24.1.1", "25.0.0", "25.3.0", "26.0.0", "26.1.0", "27.0.1", "28.0.0rc1"]


def test_the_releases_between_two_skip_pre_releases_and_keep_their_direction() -> None:
    assert between(RELEASES, "24.1.0", "26.0.0") == ["24.1.0", "24.1.1", "25.0.0", "25.3.0", "26.0.0"]
    assert between(RELEASES, "27.0.1", "25.3.0") == ["27.0.1", "26.1.0", "26.0.0", "25.3.0"]
    with pytest.raises(BenchError, match=r"22\.0\.0 is not among the releases"):
        between(RELEASES, "22.0.0", "26.0.0")


def measure_with(rps_of: Any, spread: float, question: Question) -> Any:
    def measure(config: BenchConfig, run_id: str) -> dict[str, list[float]]:
        scenarios = simulated(config, rps_of, spread, seed=zlib.crc32(run_id.encode()) % 1000)  # the same anywhere
        return {version: figures_of(scenarios, config, question, version) for version in config.vary[question.package]}

    return measure


@pytest.mark.parametrize("first", ["24.1.1", "25.3.0", "26.0.0", "27.0.1"])
def test_the_bisection_names_the_first_release_that_moved(first: str) -> None:
    def rps(server: str) -> float:
        version = server.rpartition("-")[2]
        return 3000.0 if numeric(version) >= numeric(first) else 4900.0

    config = load_config(overrides={"servers": ["flask-gunicorn-sync"], "endpoints": ["get"], "repeats": 6})
    question = Question("gunicorn", "23.0.0", "27.0.1", "flask-gunicorn-sync")
    found = bisect(config, measure_with(rps, 0.03, question), question, RELEASES)
    assert found.outcome == "found" and found.first_moved == first
    assert len(found.steps) <= 1 + math.ceil(math.log2(len(found.releases)))
    assert found.steps[0].version == "27.0.1" and found.steps[0].decision == "changed"
    assert first in found.sentence


def numeric(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(".")[:3])


def test_no_move_between_the_ends_and_too_much_noise_are_said_so() -> None:
    config = load_config(overrides={"servers": ["flask-gunicorn-sync"], "endpoints": ["get"], "repeats": 6})
    question = Question("gunicorn", "23.0.0", "27.0.1", "flask-gunicorn-sync")
    steady = bisect(config, measure_with(lambda server: 4900.0, 0.01, question), question, RELEASES)
    assert steady.outcome == "no change" and steady.first_moved is None and len(steady.steps) == 1
    noisy = bisect(config, measure_with(gunicorn_rps, 0.6, question), question, RELEASES)
    assert noisy.outcome == "undetermined" and "rounds" in noisy.sentence


def counts_with(first: str, step: float) -> Any:
    """Counts as callgrind gives them: 700,000 instructions a request, three repeats within 0.05%, and
    ``1 + step`` times as many from release ``first`` on."""

    def measure(config: BenchConfig, run_id: str) -> dict[str, list[float]]:
        noise = random.Random(zlib.crc32(run_id.encode()))
        return {
            version: [700_000 * (1 + step if numeric(version) >= numeric(first) else 1)
                      * (1 + noise.uniform(-2.5e-4, 2.5e-4)) for _ in range(3)]
            for version in config.vary["gunicorn"]
        }  # fmt: skip

    return measure


@pytest.mark.parametrize("first", ["24.1.1", "26.0.0"])
def test_a_bisection_on_instructions_finds_a_two_percent_step_and_not_a_half_percent_one(first: str) -> None:
    config = load_config(overrides={"servers": ["flask-gunicorn-sync"], "endpoints": ["get"]})
    question = Question("gunicorn", "23.0.0", "27.0.1", "flask-gunicorn-sync", "instructions", DEFAULT_COST_TOLERANCE)
    found = bisect(config, counts_with(first, 0.02), question, RELEASES)
    assert found.outcome == "found" and found.first_moved == first
    assert "instructions per request" in found.sentence and "+2.0% from 23.0.0 (the repeats' range" in found.sentence
    assert bisect(config, counts_with(first, 0.005), question, RELEASES).outcome == "no change"


@pytest.mark.slow
def test_a_real_run_under_another_release_skips_one_that_cannot_be_installed(tmp_path: Path, cache: Path) -> None:
    """gunicorn 0.0.1 was never released: one line, skipped; 25.3.0 (constraints.txt pins another) runs from its
    own environment, and the manifest records what that environment holds."""
    done = subprocess.run(
        [sys.executable, "-m", "bench", "run", "--servers", "flask-gunicorn-sync", "--vary", "gunicorn=0.0.1,25.3.0",
         "--endpoints", "get", "--repeats", "1", "--duration", "2", "--warmup", "1", "--results-dir",
         str(tmp_path / "results"), "--run-id", "vary", "--no-report"],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    skipped = [line for line in done.stderr.splitlines() if line.startswith("skipped:")]
    assert len(skipped) == 1 and "gunicorn-0.0.1 cannot be installed here" in skipped[0]
    manifest = load_manifest(tmp_path / "results" / "vary")
    assert manifest.config.vary == {"gunicorn": ["25.3.0"]}
    [version_set] = manifest.version_sets
    assert version_set.installed["gunicorn"] == "25.3.0" and version_set.python.startswith(str(cache))
    [command] = [c["server"] for name, c in manifest.commands.items() if "@gunicorn-25.3.0" in name]
    assert version_set.python in command
    [scenario] = json.loads((tmp_path / "results" / "vary" / "summary.json").read_text())["scenarios"]
    assert scenario["server"] == "flask-gunicorn-sync@gunicorn-25.3.0" and scenario["requests"] > 0


def test_the_report_over_releases_names_the_step_and_each_environment(tmp_path: Path) -> None:
    """The committed run over four gunicorn releases (results/gunicorn-releases), reported from its folder."""
    html = build_report(RESULTS / "gunicorn-releases", tmp_path).read_text()
    assert 'id="releases"' in html and "from gunicorn-25.3.0 to gunicorn-26.0.0" in html
    assert all(f"version set gunicorn-{version}" in html for version in GUNICORN)
    assert (tmp_path / "gunicorn-releases" / "releases.svg").is_file()


@pytest.mark.slow
def test_bisect_with_a_release_the_index_does_not_list_is_one_line_and_writes_nothing(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench", "bisect", "gunicorn", "--good", "25.3.0", "--bad", "99.0.0",
         "--results-dir", str(tmp_path / "results")],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == "python -m bench: error: 99.0.0 is not among the releases the index lists"
    assert not (tmp_path / "results").exists()
