"""``bench cost``: callgrind's and strace's output read exactly (known texts, known sums), the owners of object
files, and one small server counted end to end under the real tools."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bench.analysis.claim import CLAIM_SERVERS
from bench.analysis.cost import DEFAULT_COST_TOLERANCE, compare_costs, pair_costs
from bench.counting import (
    C_LIBRARY,
    INTERPRETER,
    OTHER,
    STANDARD_C_MODULES,
    distribution_of,
    parse_callgrind,
    parse_strace_summary,
)
from bench.environment import describe
from bench.registry import BUILT_IN
from bench.results import COST_SCHEMA_VERSION, CostEntry, CostRun, CostSelection, load_cost

RESULTS = Path(__file__).parents[1] / "results"

# A profile in callgrind's own form: names compressed per table (an object first named by a call, "cob="),
# positions relative ("+2", "-1", "*"), and a call's inclusive cost (after "calls=") that is not the caller's.
PROFILE = """# callgrind format
version: 1
positions: line
events: Ir
summary: 1000

ob=(1) /usr/lib/libpython3.11.so.1.0
fl=(1) ceval.c
fn=(1) _PyEval_EvalFrameDefault
10 300
+2 100
cob=(2) /site-packages/pydantic_core/_pydantic_core.cpython-311-x86_64-linux-gnu.so
cfi=(2) ???
cfn=(2) validate
calls=3 0
* 450
-1 50

ob=(2)
fl=(2)
fn=(2)
0 450

ob=(3) /usr/lib/x86_64-linux-gnu/libc.so.6
fl=(1)
fn=(3) memcpy
5 100
totals: 1000
"""
STRACE = """% time     seconds  usecs/call     calls    errors syscall
------ ----------- ----------- --------- --------- ----------------
 40.00    0.000400           2       200           write
 35.00    0.000350           1       300       100 recvfrom
 25.00    0.000250           1       150           epoll_wait
------ ----------- ----------- --------- --------- ----------------
100.00    0.001000           1       650       100 total
"""


def test_a_profile_is_read_with_its_compression_and_calls() -> None:
    counts = parse_callgrind(PROFILE)
    assert counts.total == 1000
    assert counts.by_object == {
        "/usr/lib/libpython3.11.so.1.0": 450,  # 300 + 100 + 50: the call's 450 is the callee's
        "/site-packages/pydantic_core/_pydantic_core.cpython-311-x86_64-linux-gnu.so": 450,
        "/usr/lib/x86_64-linux-gnu/libc.so.6": 100,
    }
    assert sum(counts.by_object.values()) == counts.total
    with pytest.raises(ValueError, match="not a callgrind profile"):
        parse_callgrind("events: Ir\n10 20\n")


def test_strace_s_table_is_read_by_name_without_the_total() -> None:
    assert parse_strace_summary(STRACE) == {"write": 200, "recvfrom": 300, "epoll_wait": 150}
    with pytest.raises(ValueError, match="not an strace -c summary"):
        parse_strace_summary("strace: attach: ptrace(PTRACE_SEIZE, 1): Operation not permitted\n")


@pytest.mark.parametrize(
    "path, owner",
    [
        ("/v/lib/python3.11/site-packages/pydantic_core/_pydantic_core.cpython-311-x86_64-linux-gnu.so",
         "pydantic-core"),
        ("/v/lib/python3.11/site-packages/sklearn/tree/_tree.cpython-311-x86_64-linux-gnu.so", "scikit-learn"),
        ("/v/lib/python3.11/site-packages/scikit_learn.libs/libgomp-a34b3233.so.1.0.0", "scikit-learn"),
        ("/opt/python/3.11.7/lib/libpython3.11.so.1.0", INTERPRETER),
        ("/opt/python/3.11.7/bin/python3.11", INTERPRETER),
        ("/opt/python/3.11.7/lib/python3.11/lib-dynload/_json.cpython-311-x86_64-linux-gnu.so", STANDARD_C_MODULES),
        ("/usr/lib/x86_64-linux-gnu/libc.so.6", C_LIBRARY),
        ("???", OTHER),
    ],
)  # fmt: skip
def test_each_object_file_has_its_owner(path: str, owner: str) -> None:
    assert distribution_of(path) == owner


def entry(instructions: list[int], requests: int = 1000) -> CostEntry:
    return CostEntry(server="tornado", endpoint="get", model="rule", requests=requests, instructions=instructions,
                     by_distribution={}, syscalls={}, commands=[])  # fmt: skip


@pytest.mark.parametrize(
    "before, after, decision",
    [
        ([600_000_000, 600_600_000, 601_200_000], [601_000_000, 600_400_000, 601_500_000], "equivalent"),
        ([600_000_000, 600_600_000], [615_000_000, 616_000_000], "changed"),  # 2.5% more: a release found
        ([600_000_000, 600_600_000], [605_000_000, 609_000_000], "undetermined"),  # 0.7-1.5%: past 1% in part
        ([600_000_000, 600_600_000], [582_000_000, 583_000_000], "changed"),  # 3% less
    ],
)
def test_two_counts_are_decided_on_the_repeats_range(before: list[int], after: list[int], decision: str) -> None:
    [move] = compare_costs(run_of(entry(before)), run_of(entry(after)), ("a", "b"), DEFAULT_COST_TOLERANCE).moves
    assert move.decision == decision and move.low <= move.ratio <= move.high


def run_of(*entries: CostEntry) -> CostRun:
    selection = CostSelection(servers=list(dict.fromkeys(e.server for e in entries)), endpoints=["get"],
                              models=["rule"], vary={})  # fmt: skip
    return CostRun(run_id="r", started_utc="2026-12-01T00:00:00+00:00", complete=True, selection=selection,
                   warmup=1, requests=1000, repeats=2, hash_seed="0", environment=describe(BUILT_IN),
                   entries=list(entries))  # fmt: skip


def bench_cost(*args: str, tmp_path: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "bench", "cost", *args, "--results-dir", str(tmp_path)]
    return subprocess.run(command, capture_output=True, text=True, timeout=600, check=False, env=env)


def test_without_valgrind_it_is_one_line(tmp_path: Path) -> None:
    done = bench_cost("--frameworks", "tornado", "--endpoints", "get", "--run-id", "none", tmp_path=tmp_path,
                      env={**os.environ, "PATH": str(tmp_path)})  # fmt: skip
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1].endswith("bench cost needs valgrind, which was not found "
                                                         "(Debian: apt-get install valgrind)")  # fmt: skip


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("valgrind") is None and not os.environ.get("CI"), reason="valgrind not installed")
def test_a_small_server_is_counted_end_to_end(tmp_path: Path) -> None:
    flags = ["--endpoints", "get,put,queries-20", "--requests", "40", "--warmup-requests", "10", "--repeats", "2"]
    reports = ["--reports-dir", str(tmp_path / "reports")]
    done = bench_cost("--frameworks", "tornado", *flags, "--run-id", "counted", *reports, tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "queries-20 left out" in done.stderr + done.stdout
    run = load_cost(tmp_path / "counted")
    assert run.complete and run.hash_seed == "0" and run.environment.tools["valgrind"]
    assert [(e.server, e.endpoint) for e in run.entries] == [("tornado", "get"), ("tornado", "put")]
    for entry in run.entries:
        assert len(entry.instructions) == 2 and 50_000 < entry.per_request < 20_000_000
        # counted, not timed: repeats agree but for work on a timer (a server's clock tick), a larger share of
        # 40 requests than of the 1,000 a run counts
        assert entry.spread < 0.05, entry.instructions
        assert sum(entry.by_distribution.values()) == pytest.approx(entry.instructions[0] / entry.requests)
        assert entry.by_distribution[INTERPRETER] > 0.5 * entry.per_request
        assert entry.syscalls_per_request > 1 and any(name in entry.syscalls for name in ("write", "sendto"))
    get, put = run.entries
    assert put.per_request > get.per_request  # a JSON body to parse and validate costs more than a query string
    assert (tmp_path / "counted" / "raw" / "get-tornado-rule" / "strace.txt").is_file()
    counted = str(tmp_path / "counted")  # against itself, at a tolerance wider than 40 requests' spread
    same = subprocess.run([sys.executable, "-m", "bench", "compare", counted, counted, "--tolerance", "10%"],
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert same.returncode == 0 and "outcome: reproduced" in same.stderr, same.stdout + same.stderr  # rich: stderr
    assert (tmp_path / "reports" / "counted" / "index.html").is_file()
    # counted again from its record alone (one repeat is enough for a range), and compared with it
    again = subprocess.run(
        [sys.executable, "-m", "bench", "reproduce", counted, "--repeats", "1", "--tolerance", "10%", "--run-id",
         "again", "--results-dir", str(tmp_path), "--reports-dir", str(tmp_path / "reports")],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert again.returncode == 0 and "outcome: reproduced" in again.stderr, again.stdout + again.stderr
    recount = load_cost(tmp_path / "again")
    assert [(e.server, e.endpoint, len(e.instructions)) for e in recount.entries] == [
        ("tornado", "get", 1),
        ("tornado", "put", 1),
    ]
    assert recount.requests == 40 and recount.warmup == 10 and recount.selection == run.selection
    assert "<h2>Counted again</h2>" in (tmp_path / "reports" / "again" / "index.html").read_text()


def test_a_cost_record_of_schema_1_is_read_with_its_selection_from_its_entries() -> None:
    run = load_cost(RESULTS / "cost")  # committed at schema 1
    assert run.schema_version == COST_SCHEMA_VERSION and run.selection.vary == {}
    assert run.selection.servers[:2] == ["fastapi-uvicorn", "fastapi-def-uvicorn"] and len(run.selection.servers) == 11
    assert run.selection.endpoints == ["get", "put"] and run.selection.models == ["rule"]


def test_the_headline_pairs_cost_ratio_has_the_repeats_range() -> None:
    fast = entry([600_000_000, 600_600_000])
    slow = entry([900_000_000, 901_800_000]).model_copy(update={"server": CLAIM_SERVERS[1]})
    [pair] = pair_costs(run_of(fast.model_copy(update={"server": CLAIM_SERVERS[0]}), slow))
    assert (pair.fast, pair.slow, pair.endpoint) == (*CLAIM_SERVERS, "get")
    assert pair.counted.ratio == pytest.approx(900.9 / 600.3)  # the medians' ratio
    assert pair.counted.low == pytest.approx(900 / 600.6) and pair.counted.high == pytest.approx(901.8 / 600)
    assert pair_costs(run_of(slow)) == []  # one side alone: no ratio
