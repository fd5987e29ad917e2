"""Each verb's outcome as the process's exit code, in one place (the codes: ``bench.errors`` and
``bench.reproduce.EXIT_CODES``)."""

from __future__ import annotations

from bench.analysis.cost import CostComparison
from bench.bisect import Bisection
from bench.errors import INTERRUPTED, OK, RUN_FAILED
from bench.reproduce import EXIT_CODES, Reproduction
from bench.verbs.reproduce import CostReproduced, Reproduced
from bench.verbs.run import RunOutcome


def exit_code(outcome: object) -> int:
    """0 unless the outcome says otherwise: a run interrupted or incomplete, a comparison changed or
    undetermined, a bisection undetermined; a verb that returns its own code (serve, worker) returns it."""
    if isinstance(outcome, int):
        return outcome
    if isinstance(outcome, RunOutcome):
        return INTERRUPTED if outcome.interrupted else OK if outcome.complete else RUN_FAILED
    if isinstance(outcome, Reproduced):
        return exit_code(outcome.comparison or outcome.run)
    if isinstance(outcome, CostReproduced):
        return exit_code(outcome.comparison)
    if isinstance(outcome, Reproduction):
        return EXIT_CODES[outcome.outcome]
    if isinstance(outcome, CostComparison):
        return EXIT_CODES[outcome.outcome]
    if isinstance(outcome, Bisection):
        return EXIT_CODES["undetermined"] if outcome.outcome == "undetermined" else OK
    return OK
