"""The chart's ratio taken apart (bench/analysis/chain.py): the chain's configs as the cited matrix runs them, its
arithmetic on a stored fixture (the steps multiply to the end-to-end ratio; each step's ratio is the one the
fixture was made with), and the interval's coverage by simulation."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from bench import mariadb
from bench.analysis.chain import CHAIN, CITED_PAIR, FRAMEWORK_FACTOR, chain_sentence, chains
from bench.config import load_config
from bench.errors import BenchError
from bench.registry import BUILT_IN
from bench.results import load_summary
from bench.stats import mean_log_ratio
from bench.verbs.run import prepared
from tests.fixtures.make_fixtures import CHAIN as KNOWN

FIXTURE = Path(__file__).parent / "fixtures" / "chain"


def test_the_cited_matrix_runs_the_chain_and_each_step_changes_one_factor() -> None:
    config = load_config(overrides={"matrix": "cited"})
    assert config.server_names == [link.config for link in CHAIN]
    assert config.endpoints == ["queries-1", "queries-5", "queries-10", "queries-15", "queries-20"]
    assert CITED_PAIR == ("fastapi-cited", "flask-cited")
    assert BUILT_IN.config("flask-cited").engine == "mariadb" and BUILT_IN.config("flask-cited").workers_per_cpu == 3
    framework = [i for i, link in enumerate(CHAIN) if link.factor == FRAMEWORK_FACTOR]
    assert len(framework) == 1
    before, after = (BUILT_IN.config(CHAIN[i].config) for i in (framework[0] - 1, framework[0]))
    # the framework step: the same server, engine and worker count; only the family differs
    assert (before.runs_on, before.engine, before.workers_per_cpu) == (
        after.runs_on,
        after.engine,
        after.workers_per_cpu,
    )
    assert (before.framework, after.framework) == ("flask", "fastapi")


def test_the_steps_multiply_to_the_end_to_end_ratio_on_a_stored_run() -> None:
    found = chains(load_summary(FIXTURE).scenarios)
    assert [c.endpoint for c in found] == ["get", "put"]
    for chain in found:
        assert chain.product == pytest.approx(chain.end_to_end.ratio, rel=1e-12)
        assert chain.end_to_end.ratio == pytest.approx(KNOWN["fastapi-cited"][0] / KNOWN["flask-cited"][0], rel=0.03)
        for step in chain.steps:
            expected = KNOWN[step.link.config][0] / KNOWN[step.before][0]
            assert step.ratio.ci_low < step.ratio.ratio < step.ratio.ci_high
            assert step.ratio.ratio == pytest.approx(expected, rel=0.03), step.link
            assert step.limits == ("server", "server") and not step.lower_bound
        assert sum(step.share for step in chain.steps if step.share is not None) == pytest.approx(1.0)
        assert chain.largest.link.factor == "ORM"  # 400 / 110: the fixture's largest step
        sentence = chain_sentence(chain)
        assert f"{chain.end_to_end.ratio:.2f}x here" in sentence and f"{chain.framework.ratio.ratio:.2f}x" in sentence


def test_a_chain_missing_a_link_is_not_drawn() -> None:
    scenarios = [s for s in load_summary(FIXTURE).scenarios if s.server != "flask-gevent-x3"]
    assert chains(scenarios) == []


@pytest.mark.parametrize("rounds", [3, 6, 20])
def test_the_step_interval_covers_the_true_ratio_95_percent_of_the_time(rounds: int) -> None:
    """Lognormal round-to-round noise on both sides, a known true ratio of 1.5: the t interval on the mean log
    ratio covers it in 95% of 4,000 simulated runs (within simulation error)."""
    rng = np.random.default_rng(rounds)
    trials, covered = 4000, 0
    for _ in range(trials):
        drift = rng.normal(0, 0.1, rounds)  # the machine's level in each round, shared by both sides
        bottom = 1000 * np.exp(drift + rng.normal(0, 0.05, rounds))
        top = 1500 * np.exp(drift + rng.normal(0, 0.05, rounds))
        found = mean_log_ratio(list(top), list(bottom))
        assert found.ci_low is not None and found.ci_high is not None
        covered += found.ci_low <= 1.5 <= found.ci_high
    assert abs(covered / trials - 0.95) < 3 * math.sqrt(0.95 * 0.05 / trials)


def test_without_mariadb_the_cited_matrix_leaves_out_its_configs_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mariadb, "available", lambda: False)
    said: list[str] = []
    config = prepared(load_config(overrides={"matrix": "cited"}), said.append)
    assert "flask-cited" not in config.server_names and "fastapi-cited" in config.server_names
    assert said == [f"{mariadb.MISSING}: flask-cited left out"]
    with pytest.raises(BenchError, match="apt-get install mariadb-server"):
        prepared(load_config(overrides={"servers": ["flask-cited"], "endpoints": ["queries-1"]}), said.append)


def test_a_step_whose_figures_failed_is_flagged_not_valid() -> None:
    scenarios = [s.model_copy(update={"failures": s.requests // 10, "valid": False}) if s.server == "flask-cited" else s
                 for s in load_summary(FIXTURE).scenarios]  # fmt: skip
    chain = chains(scenarios)[0]
    assert [step.failed for step in chain.steps] == [True] + [False] * (len(chain.steps) - 1)
    assert "Not valid as throughput: the engine step compared figures" in chain_sentence(chain)
