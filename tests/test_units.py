"""Statistics, latency histograms, configuration layers and result-folder checks, on fixed inputs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bench.cli import main
from bench.config import BenchConfig, command_for, load_config, parse_cpus
from bench.errors import BenchError
from bench.latency import histogram_of, merged, percentiles_ms
from bench.registry import BUILT_IN, BUILT_IN_SERVERS
from bench.results import MIB, SCHEMA_VERSION, ProcessMemory, ServerMemory, create_run_folder, load_summary
from bench.run import ScenarioKey, estimated_seconds, figures, schedule
from bench.sampling import CpuUsage
from bench.servers import ServerSpec
from bench.stats import coefficient_of_variation, median
from tests.records import window_record


def test_median_and_cv() -> None:
    assert median([3.0, 1.0, 2.0]) == 2.0
    assert median([1.0, 2.0, 3.0, 10.0]) == 2.5
    assert coefficient_of_variation([10.0]) is None
    assert coefficient_of_variation([9.0, 10.0, 11.0]) == pytest.approx(0.1)


def test_histogram_percentiles_are_exact_to_three_figures() -> None:
    values = np.arange(1, 10_001, dtype=float) / 1000.0  # 1 µs .. 10 ms, as milliseconds
    result = percentiles_ms(histogram_of(values))
    for name, expected in {"p50_ms": 5.0, "p90_ms": 9.0, "p99_ms": 9.9, "p999_ms": 9.99}.items():
        assert result[name] == pytest.approx(expected, rel=1e-3)


def test_merged_histograms_equal_the_histogram_of_all_samples() -> None:
    rng = np.random.default_rng(1)
    first, second = rng.lognormal(0.5, 0.6, 5000), rng.lognormal(1.5, 0.3, 3000)
    together = percentiles_ms(histogram_of(np.concatenate([first, second])))
    parts = [histogram_of(first).encode().decode(), histogram_of(second).encode().decode()]
    assert percentiles_ms(merged(parts)) == together


def test_schedule_interleaves_frameworks_within_each_repeat() -> None:
    config = load_config(overrides={"frameworks": ["fastapi", "flask", "tornado"], "endpoints": ["get"], "repeats": 2})
    assert [key.id for key in schedule(config)] == [
        "r1-get-fastapi-uvicorn-rule-w1", "r1-get-flask-gunicorn-sync-rule-w1-prompt", "r1-get-tornado-rule-w1",
        "r2-get-fastapi-uvicorn-rule-w1", "r2-get-flask-gunicorn-sync-rule-w1-prompt", "r2-get-tornado-rule-w1",
    ]  # fmt: skip


def test_close_styles_apply_only_where_the_server_closes_each_connection() -> None:
    config = load_config(overrides={"frameworks": ["fastapi", "flask"], "endpoints": ["get"], "repeats": 1,
                                    "close_style": ["prompt", "lazy"]})  # fmt: skip
    assert [(key.server, key.close_style) for key in schedule(config)] == [
        ("fastapi-uvicorn", None), ("flask-gunicorn-sync", "prompt"), ("flask-gunicorn-sync", "lazy"),
    ]  # fmt: skip
    assert "--close-style prompt,lazy" in " ".join(command_for(config))
    with pytest.raises(BenchError, match="prompt close needs the lean user"):
        load_config(overrides={"user_class": "fasthttp"})
    assert load_config(overrides={"user_class": "fasthttp", "close_style": ["lazy"]}).close_style == ["lazy"]


def test_the_full_matrix_covers_models_handlers_and_server_configs_interleaved() -> None:
    config = load_config(overrides={"matrix": "full"})
    plan = schedule(config)
    servers = config.server_names
    assert set(servers) <= set(BUILT_IN_SERVERS) and config.model == ["rule", "logreg", "sklearn"]
    assert {"fastapi-uvicorn", "flask-gunicorn-sync", "tornado", "fastapi-granian", "flask-granian"} <= set(servers)
    assert config.workers == sorted({1, len(config.server_cpus)}) and config.endpoints == ["get"]
    on_get = [name for name in servers if BUILT_IN.config(name).answers("get")]  # LitServe serves POST alone
    assert len(on_get) < len(servers)
    assert len(plan) == len(on_get) * 3 * len(config.workers) * config.repeats
    assert [key.server for key in plan[: len(on_get)]] == on_get  # every config before the next cell
    assert len({key.id for key in plan}) == len(plan)
    assert estimated_seconds(config, len(plan)) < 40 * 60


def test_the_deploy_matrix_puts_model_servers_beside_frameworks_on_post() -> None:
    config = load_config(overrides={"matrix": "deploy"})
    plan = schedule(config)
    assert config.endpoints == ["post"] and config.model == ["rule", "sklearn"]
    families = {BUILT_IN.family(name) for name in config.server_names}
    assert families >= {"fastapi", "flask", "litestar", "django-ninja", "litserve"}
    assert len(plan) == len(config.server_names) * 2 * config.repeats  # every config serves POST
    assert estimated_seconds(config, len(plan)) < 25 * 60


def test_servers_override_frameworks_and_flags_override_the_matrix() -> None:
    config = load_config(overrides={"servers": ["fastapi-gunicorn", "flask"], "model": ["sklearn"], "workers": [2]})
    assert config.server_names == ["fastapi-gunicorn", "flask-gunicorn-sync"]
    assert [key.id for key in schedule(config)][:1] == ["r1-get-fastapi-gunicorn-sklearn-w2"]
    assert load_config(overrides={"matrix": "full", "model": ["rule"]}).model == ["rule"]
    with pytest.raises(BenchError, match="unknown server config 'django'"):
        load_config(overrides={"servers": ["django"]})
    with pytest.raises(BenchError, match="null server"):
        load_config(overrides={"servers": ["null"]})


def test_settings_recorded_before_lists_still_load() -> None:
    recorded = load_config().to_json_dict() | {"model": "logreg", "workers": 1}
    config = BenchConfig.model_validate(recorded)
    assert config.model == ["logreg"] and config.workers == [1]


def test_figures_flag_client_bound_and_invalid() -> None:
    histogram = histogram_of(np.ones(10)).encode().decode()
    latency = window_record(10_000, 11, 5.0, histogram)
    usage = CpuUsage(wall_seconds=5.0, server_seconds=2.0, client_seconds=4.6)
    key = ScenarioKey("flask-gunicorn-sync", "get", 1, framework="flask")
    scenario = figures(key, latency, usage, 1, server_cores=1, client_ceiling_rps=2500.0)
    assert scenario.rps == 2000.0
    assert scenario.server_cpu_us_per_request == pytest.approx(200.0)
    assert scenario.server_busy == pytest.approx(0.4) and scenario.under_driven  # 2 CPU-seconds in 5 s
    assert scenario.client_cpu_percent == 92.0 and scenario.client_bound
    assert not scenario.valid  # 0.11% failures
    assert scenario.client_ceiling_rps == 2500.0 and scenario.near_client_limit  # 2000 > 70% of 2500


def test_config_layers(tmp_path: Path) -> None:
    assert load_config().repeats == 20
    assert load_config(quick=True).repeats == 2
    override = tmp_path / "c.toml"
    override.write_text("repeats = 3\nusers = 4\n")
    config = load_config(override, quick=True, overrides={"users": 7})
    assert (config.repeats, config.users, config.warmup) == (3, 7, load_config(quick=True).warmup)


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"frameworks": ["django"]}, "frameworks"),
        ({"model": "forest"}, "unknown model"),
        ({"repeats": 0}, "repeats"),
        ({"arrival_rate": 100.0, "user_class": "fasthttp"}, "open-loop"),
        ({"arrival_rate": 100.0, "precision": 0.05}, "precision is on a saturation run"),
        ({"claim_margin": 1.5}, "claim_margin"),
    ],
)
def test_bad_settings_are_one_clear_error(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(BenchError, match=message):
        load_config(overrides=overrides)


def test_bad_config_file_is_one_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("repeats = [")
    with pytest.raises(BenchError, match="not valid TOML"):
        load_config(bad)
    unknown = tmp_path / "unknown.toml"
    unknown.write_text("repeat = 3\n")
    with pytest.raises(BenchError, match="repeat"):
        load_config(unknown)


def test_cpu_lists() -> None:
    assert parse_cpus("0") == [0] and parse_cpus("0,2") == [0, 2] and parse_cpus("0-3") == [0, 1, 2, 3]
    with pytest.raises(BenchError):
        parse_cpus("zero")


def test_cli_errors_are_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--repeats", "0"]) == 2
    assert main(["run", "--frameworks", "django"]) == 2
    assert main(["run", "--server-cpus", "99"]) == 2
    with pytest.raises(SystemExit) as exit_info:
        main(["run", "--no-such-flag"])
    assert exit_info.value.code == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if line]
    assert len(lines) == 4 and all("error" in line for line in lines)
    assert not any("Traceback" in line for line in lines)


def test_a_result_is_never_overwritten(tmp_path: Path) -> None:
    create_run_folder(tmp_path, "x")
    with pytest.raises(BenchError, match="never overwritten"):
        create_run_folder(tmp_path, "x")
    with pytest.raises(BenchError, match="bad run id"):
        create_run_folder(tmp_path, "../escape")


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "missing"),
        ("{not json", "corrupt"),
        (json.dumps({"schema_version": 999, "run_id": "x", "complete": True, "scenarios": []}), "schema_version"),
        (json.dumps({"schema_version": SCHEMA_VERSION, "run_id": "x", "complete": True}), "corrupt"),
        (
            json.dumps({"schema_version": SCHEMA_VERSION, "run_id": "x", "complete": False, "scenarios": []}),
            "incomplete",
        ),
    ],
)
def test_bad_results_folders_are_refused(tmp_path: Path, content: str | None, message: str) -> None:
    if content is not None:
        (tmp_path / "summary.json").write_text(content)
    with pytest.raises(BenchError, match=message):
        load_summary(tmp_path)


def test_sweep_plan_covers_shares_and_one_equal_rate() -> None:
    from bench.sweep import sweep_plan

    closed = load_summary(Path(__file__).parent / "fixtures" / "refuted").scenarios
    config = load_config(overrides={"frameworks": ["fastapi", "flask"], "endpoints": ["get"], "repeats": 1})
    plan = sweep_plan(config, closed, [0.5, 0.9])
    assert len(plan) == 2 * 2 + 2
    fastapi_rps = median([s.rps for s in closed if s.framework == "fastapi" and s.endpoint == "get"])
    flask_rps = median([s.rps for s in closed if s.framework == "flask" and s.endpoint == "get"])
    by_id = {key.id: key for key in plan}
    assert len(by_id) == len(plan)
    shares = {(k.server, k.load_share): k.target_rps for k in plan if k.load_share}
    assert shares[("fastapi-uvicorn", 0.9)] == pytest.approx(0.9 * fastapi_rps, abs=0.1)
    equal = [k.target_rps for k in plan if k.load_share is None]
    assert equal == [pytest.approx(0.5 * min(fastapi_rps, flask_rps), abs=0.1)] * 2


@pytest.mark.parametrize("framework", ["fastapi", "flask", "tornado", "null"])
def test_servers_bind_loopback_and_never_debug_or_reload(framework: str) -> None:
    command = " ".join(ServerSpec(BUILT_IN.config(framework), port=8000).command())
    assert "127.0.0.1" in command and "0.0.0.0" not in command
    assert not {"--reload", "--debug", "debug", "--reload-dir"} & set(command.split())


def test_a_servers_memory_adds_up_and_a_worker_is_one_that_serves() -> None:
    """uvicorn with two workers: its parent, multiprocessing's resource tracker, and the two that loaded the app."""
    sizes = [(15, 16), (6, 6), (129, 142), (128, 140)]
    memory = ServerMemory(
        processes=[ProcessMemory(uss_bytes=uss * MIB, pss_bytes=pss * MIB) for uss, pss in sizes], workers=2
    )
    assert memory.pss_bytes == (16 + 6 + 142 + 140) * MIB and memory.uss_bytes == (15 + 6 + 129 + 128) * MIB
    assert memory.pss_per_worker_bytes == 141 * MIB  # the helpers are not workers
    alone = ServerMemory(processes=[ProcessMemory(uss_bytes=100 * MIB, pss_bytes=110 * MIB)], workers=1)
    assert alone.pss_per_worker_bytes == 110 * MIB
