"""The README states each rule as the code computes it, and opens with the answer and the two commands."""

from __future__ import annotations

from pathlib import Path

from bench import machine, reproduce
from bench.analysis.agreement import AGREEMENT
from bench.analysis.chain import CHAIN
from bench.analysis.claim import MIN_VERDICT_ROUNDS, TARGET_PRECISION, claim_band, claim_rule
from bench.analysis.cost import COUNTED, DEFAULT_COST_TOLERANCE, NOT_COUNTED
from bench.analysis.warnings import CV_WARNING
from bench.cli import EXIT_CODE_HELP, build_parser
from bench.config import load_config
from bench.limits import CLIENT_BOUND_PERCENT, LIMITS, MIN_SERVER_BUSY
from bench.results import MAX_FAILURE_RATIO
from tests.test_fuzz import CASES_PER_OPERATION, CASES_READING_THE_DATABASE

README = (Path(__file__).parents[1] / "README.md").read_text()
FIRST_SCREEN = 40  # lines


def words(text: str) -> str:
    return " ".join(text.split())


def test_the_readme_states_every_rule_as_the_code_computes_it() -> None:
    text = words(README)
    margin = load_config().claim_margin
    low, high = claim_band(margin)
    stated = [
        claim_rule(margin),
        f"default {margin:.0%}",
        f"fewer than {MIN_VERDICT_ROUNDS} rounds",
        f"was below {MIN_SERVER_BUSY:.2f}",
        f"Locust used {CLIENT_BOUND_PERCENT:.0f}% or more of its CPU",
        f"More than {MAX_FAILURE_RATIO:.1%} failed requests",
        f"over {CV_WARNING:.0%} variation between rounds",
        f"apart by more than {AGREEMENT:.0%}",
        f"a {TARGET_PRECISION:.0%} precision would need",
        f"a factor {1 + reproduce.DEFAULT_TOLERANCE:g} either way by default",
        f"{reproduce.EQUIVALENCE_CONFIDENCE:.0%} interval of the move lies within the tolerance",
        f"runs a fixed pure-Python loop on the server CPUs for {machine.PROBE_SECONDS:g} s",
        f"in each {machine.SLICE_SECONDS * 1000:.0f} ms slice",
        f"schemathesis generates {CASES_PER_OPERATION} requests",
        f"and {CASES_READING_THE_DATABASE} for each database operation",
        *EXIT_CODE_HELP.splitlines()[1:],
        *(f"**{name}**: {meaning}." for name, meaning in LIMITS.items()),
        f"move at {DEFAULT_COST_TOLERANCE:.0%} by default",
        *(f"- {item}" for item in (*COUNTED, *NOT_COUNTED)),
    ]
    missing = [sentence for sentence in stated if words(sentence) not in text]
    assert not missing, missing
    assert f"{low:.2f}-{high:.2f}" == "1.82-2.20"


def test_the_first_screen_is_what_it_is_the_answer_and_the_two_commands() -> None:
    first = README.split("\n## Contents", 1)[0].splitlines()
    assert len(first) <= FIRST_SCREEN, len(first)
    screen = "\n".join(first)
    assert "pip install -q -c constraints.txt -e . && .venv/bin/python -m bench run --quick" in screen
    assert "pip install -q -c constraints.txt -e '.[test]' && .venv/bin/python -m pytest" in screen
    assert "results/reference" in screen and "95% CI" in screen
    contents = README.split("\n## Contents", 1)[1].split("\n## ", 1)[0]
    headings = [line[3:] for line in README.splitlines() if line.startswith("## ") and line != "## Contents"]
    assert all(heading.split(" (")[0] in contents for heading in headings), headings


def test_the_readme_lists_the_chain_as_the_analysis_runs_it() -> None:
    rows = [f"| {link.factor or 'start'} | `{link.config}` | {link.change} |" for link in CHAIN]
    assert "\n".join(rows) in README


def test_help_names_the_program_as_the_readme_does() -> None:
    parser = build_parser()
    assert parser.prog == "python -m bench" and "python -m bench run" in README
    assert "titanic-bench:" not in README
