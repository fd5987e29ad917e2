"""The command line: the flags parsed, each verb's request built from them and its function called
(``bench.verbs``), its outcome drawn (``bench.console``) and turned into the exit code (``bench.verbs.exits``);
a ``BenchError`` anywhere becomes one line and its exit code."""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from apps.model import DEFAULT_MODEL, MODEL_NAMES
from bench.analysis.claim import CLAIM_SERVERS
from bench.analysis.cost import DEFAULT_COST_TOLERANCE, tolerance_for
from bench.closing import CLOSE_STYLES
from bench.config import DEFAULTS_PATH, MATRICES, BenchConfig, parse_cpus, read_defaults
from bench.cost import MEASURED_REQUESTS, REPEATS, WARMUP_REQUESTS
from bench.errors import BUG, INTERRUPTED, OK, PROGRAM, RUN_FAILED, USAGE, BenchError
from bench.registry import BUILT_IN_SERVERS, FRAMEWORKS
from bench.reproduce import DEFAULT_TOLERANCE, EXIT_CODES, OUTCOME_RULES
from bench.verbs.ceiling import USER_CLASSES
from bench.workload import ENDPOINTS

if TYPE_CHECKING:
    from bench.console import RunWatcher

Outcome = TypeVar("Outcome")

EXIT_CODE_HELP = "\n".join(
    [
        "exit codes:",
        f"  {OK}    success (compare, reproduce: {OUTCOME_RULES['reproduced']})",
        f"  {EXIT_CODES['changed']}    compare, reproduce: {OUTCOME_RULES['changed']}",
        f"  {USAGE}    a bad flag, setting or input file: nothing was run",
        f"  {EXIT_CODES['undetermined']}    compare, reproduce: {OUTCOME_RULES['undetermined']}",
        f"  {RUN_FAILED}    a run could not complete (a server died, a scenario failed): marked incomplete",
        f"  {BUG}   a bug in titanic-bench (the traceback is printed)",
        f"  {INTERRUPTED}  interrupted (Ctrl-C, SIGTERM): marked incomplete",
    ]
)


class OneLineParser(argparse.ArgumentParser):
    """argparse that reports a bad flag in one line (no usage dump) and exits 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(USAGE, f"{self.prog}: error: {message}\n")


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Help that states each flag's default: its own, or the setting's value in bench/defaults.toml."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if "default" in text or action.default in (None, False, argparse.SUPPRESS) or not action.option_strings:
            return text
        return f"{text} (default: {action.default})"


def program_version() -> str:
    try:
        return version("titanic-bench")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog=PROGRAM, description="Benchmark FastAPI, Flask and Tornado serving one model.", epilog=EXIT_CODE_HELP,
        formatter_class=HelpFormatter,
    )  # fmt: skip
    parser.add_argument("--version", action="version", version=f"%(prog)s (titanic-bench) {program_version()}")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", parser_class=OneLineParser)

    serve = add_verb(verbs, "serve", help="run one app under its production server")
    serve.add_argument("server", choices=(*FRAMEWORKS, *BUILT_IN_SERVERS), help="a framework or a named server config")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port (0: a free one; default 8000)")
    serve.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    serve.add_argument("--model", choices=MODEL_NAMES, default=DEFAULT_MODEL)
    serve.add_argument("--cpus", type=parse_cpus, default=None, help="pin to CPUs, e.g. 0 or 0-1")
    serve.add_argument("--worker-class", choices=("sync", "gthread"), help="flask: flask-gunicorn-sync or -gthread")
    serve.add_argument("--stats-port", type=int, help="also answer GET /stats there: the server's CPU seconds")
    add_database_flags(serve)

    listing = add_verb(verbs, "list", help="the named server configs and models")
    add_servers_file_flag(listing)
    add_worker_parser(verbs)
    add_run_parser(verbs)
    add_analysis_parsers(verbs)
    return parser


def add_verb(verbs: Any, name: str, **settings: Any) -> argparse.ArgumentParser:
    """A verb's parser, whose help states the exit codes and each flag's default."""
    parser: argparse.ArgumentParser = verbs.add_parser(
        name, formatter_class=HelpFormatter, epilog=EXIT_CODE_HELP, **settings
    )
    return parser


def state_defaults(parser: argparse.ArgumentParser) -> None:
    """Append to each flag that sets a ``bench/defaults.toml`` setting the value that file gives it (the flag's
    own default stays None, so a --config file can still set it)."""
    defaults = read_defaults()
    for action in parser._actions:
        value = defaults.get(action.dest)
        if value is not None and action.help and "default" not in action.help:
            shown = ",".join(map(str, value)) if isinstance(value, list) else value
            action.help += f" (default: {shown or 'none'}, from {DEFAULTS_PATH.name})"


def add_worker_parser(verbs: Any) -> None:
    worker = add_verb(verbs, "worker", help="join runs driven from another host as a Locust worker")
    worker.add_argument("--master", required=True, help="host of the machine running `bench run --remote-workers`")
    worker.add_argument("--master-port", type=int, default=5557, help="the master's port (default 5557)")
    worker.add_argument("--cpus", type=parse_cpus, default=None, help="pin to CPUs, e.g. 0-3")
    worker.add_argument("--scenarios", type=int, help="stop after this many scenarios (default: until Ctrl-C)")


def add_run_parser(verbs: Any) -> None:

    run = add_verb(verbs, "run", help="benchmark the apps and write a results folder")
    run.add_argument("--config", type=Path, help="TOML file overriding bench/defaults.toml")
    add_phase_flags(run, "scenario")
    run.add_argument(
        "--frameworks", type=names, help="comma-separated, e.g. fastapi,flask; each under its usual server config"
    )
    run.add_argument("--servers", type=names, help="named server configs (bench list); overrides --frameworks")
    add_servers_file_flag(run)
    add_vary_flag(run)
    run.add_argument("--endpoints", type=names, help=f"comma-separated, from {', '.join(ENDPOINTS)}")
    run.add_argument("--model", type=names, help=f"comma-separated, from {', '.join(MODEL_NAMES)}")
    run.add_argument("--workers", type=counts, help="server worker processes, e.g. 1 or 1,2")
    run.add_argument(
        "--matrix",
        choices=MATRICES,
        help="full: models x handlers x server configs; deploy: model servers and frameworks on POST; cited: the "
        "chart's setups and the steps between them at TechEmpower's query levels",
    )
    run.add_argument("--users", type=int, help="concurrent Locust users")
    add_cpu_flags(run, "server")
    add_database_flags(run)
    run.add_argument("--user-class", choices=USER_CLASSES, help="Locust user: lean or fasthttp")
    run.add_argument(
        "--close-style",
        type=names,
        help="where a server closes each connection, the client closes: prompt, lazy or both",
    )
    run.add_argument("--crosscheck", choices=("none", "wrk"), help="also drive each scenario with wrk")
    run.add_argument(
        "--claim-margin",
        type=share,
        help='"about 2x": the verdict holds when the interval lies within 2x / and x (1 + this)',
    )
    run.add_argument("--order-seed", type=int, help="seed of the rounds' random order (default: drawn, recorded)")
    add_precision_flags(run)
    run.add_argument("--arrival-rate", type=float, help="open loop: requests/s, the same for every framework")
    run.add_argument("--locust-workers", type=int, help="Locust worker processes on the client CPUs (default: one)")
    run.add_argument("--remote-workers", type=int, help="Locust workers joining from other hosts (bench worker)")
    run.add_argument("--master-bind-host", help="where the Locust master listens for remote workers")
    run.add_argument("--master-port", type=int, help="the Locust master's port (default 5557)")
    run.add_argument(
        "--target",
        dest="targets",
        action=KeyValues,
        metavar="SERVER=URL",
        help="an app already running elsewhere (repeatable); no local server is started for it",
    )
    run.add_argument(
        "--server-stats",
        dest="server_stats",
        action=KeyValues,
        metavar="SERVER=URL",
        help="a target's `bench serve --stats-port` URL, for its CPU per request (repeatable)",
    )
    add_output_flags(run)
    state_defaults(run)


def add_database_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--database-url", help="an existing PostgreSQL for the database endpoints (not started here)")
    parser.add_argument("--database-cpus", type=parse_cpus, help="CPUs for the embedded PostgreSQL, e.g. 1")


def add_servers_file_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--servers-file", type=Path, help="a TOML file of [servers.NAME] tables adding your own server configs"
    )


def add_vary_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--vary", action="append", dest="vary_flags", metavar="PACKAGE=V1,V2",
        help="run each config that uses PACKAGE under each version, from its own cached environment (repeatable)",
    )  # fmt: skip


def add_precision_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--precision",
        type=share,
        help="add rounds until each headline ratio's 95%% half-width is at most this, e.g. 5%%",
    )
    parser.add_argument("--max-minutes", type=float, help="with --precision: add no round after this many minutes")


def share(text: str) -> float:
    """``5%`` or ``0.05``."""
    try:
        value = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a share such as 5% or 0.05, got {text!r}") from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"expected a share between 0 and 100%, got {text!r}")
    return value


def add_analysis_parsers(verbs: Any) -> None:
    sweep = add_verb(verbs, "sweep", help="open-loop latency against offered load, from a closed-loop run")
    sweep.add_argument("closed_run", type=Path, help="results/<run-id> of a closed-loop run: its config and rps")
    sweep.add_argument("--shares", type=names, default=None, help="shares of each framework's rps (0.1,...,0.9)")
    add_phase_flags(sweep, "rate")
    add_output_flags(sweep)

    ceiling = add_verb(verbs, "ceiling", help="measure the load generator's own limit against a null server")
    ceiling.add_argument("--json", action="store_true", help="print one JSON object")
    ceiling.add_argument("--user-class", type=names, dest="user_classes", default=list(USER_CLASSES), help="a,b")
    ceiling.add_argument("--config", type=Path, help="TOML file overriding bench/defaults.toml")
    ceiling.add_argument("--users", type=int, help="concurrent Locust users")
    ceiling.add_argument("--duration", type=float, dest="ceiling_duration", help="seconds measured per mode")
    add_cpu_flags(ceiling, "null server")

    cost = add_verb(verbs, "cost", help="instructions and system calls per request, counted (callgrind, strace)")
    cost.add_argument("--frameworks", type=names, help="comma-separated, e.g. fastapi,flask")
    cost.add_argument("--servers", type=names, help="named server configs (bench list); overrides --frameworks")
    cost.add_argument("--endpoints", type=names, help="comma-separated, from those that read no database")
    cost.add_argument("--model", type=names, help=f"comma-separated, from {', '.join(MODEL_NAMES)}")
    add_vary_flag(cost)
    cost.add_argument("--requests", type=int, default=MEASURED_REQUESTS, help="requests counted a repeat")
    cost.add_argument("--warmup-requests", type=int, default=WARMUP_REQUESTS, help="requests sent first, not counted")
    cost.add_argument("--repeats", type=int, default=REPEATS, help="callgrind counts of each entry")
    add_output_flags(cost)

    compare = add_verb(verbs, "compare", help="compare two results folders without running anything")
    compare.add_argument("before", type=Path, help="results/<run-id>")
    compare.add_argument("after", type=Path, help="results/<run-id>")
    tolerances = f"default {DEFAULT_TOLERANCE:.0%}; of two cost runs' instructions, {DEFAULT_COST_TOLERANCE:.0%}"
    compare.add_argument("--tolerance", type=share, help=f"the equivalence margin of a ratio ({tolerances})"
                         .replace("%", "%%"))  # fmt: skip
    compare.add_argument("--json", action="store_true", help="print the comparison as one JSON object")

    reproduce = add_verb(verbs, "reproduce", help="re-run a results folder's recorded config and compare")
    reproduce.add_argument("folder", type=Path, help="results/<run-id> to reproduce")
    reproduce.add_argument("--tolerance", type=share, help=f"the equivalence margin of a ratio ({tolerances})"
                           .replace("%", "%%"))  # fmt: skip
    reproduce.add_argument("--json", action="store_true", help="print the comparison as one JSON object")
    reproduce.add_argument("--repeats", type=int, help="rounds for the new run (cost: repeats; default: as recorded)")
    add_precision_flags(reproduce)
    add_output_flags(reproduce)
    state_defaults(reproduce)

    add_bisect_parser(verbs)
    envs = add_verb(verbs, "envs", help="the cached environments of --vary's version sets")
    envs.add_argument("--clear", action="store_true", help="remove them all")

    report = add_verb(verbs, "report", help="write the HTML report of a results folder")
    report.add_argument("folder", type=Path, help="results/<run-id>")
    report.add_argument("--reports-dir", type=Path, default=Path("reports"), help="where reports go")
    report.add_argument(
        "--recompute", action="store_true", help="re-judge the verdicts with today's rules (the page says so)"
    )


def add_bisect_parser(verbs: Any) -> None:
    from bench.bisect import METRICS, STEP_SETTINGS

    bisect = add_verb(verbs, "bisect", help="find the first release of a package whose figure moved")
    bisect.add_argument("package", help="a distribution the server config runs on, e.g. gunicorn")
    bisect.add_argument("--good", required=True, help="a release whose figure is the reference")
    bisect.add_argument("--bad", required=True, help="a later (or earlier) release whose figure moved")
    bisect.add_argument("--server", default=CLAIM_SERVERS[1], help="the server config measured")
    bisect.add_argument("--metric", choices=tuple(METRICS), default="throughput",
                        help="; ".join(f"{name}: {meaning}" for name, meaning in METRICS.items()))  # fmt: skip
    bisect.add_argument("--endpoint", choices=ENDPOINTS, default="get", help="the endpoint measured")
    bisect.add_argument("--close-style", choices=CLOSE_STYLES, default="prompt",
                        help="where the server closes each connection, how the client does")  # fmt: skip
    bisect.add_argument("--tolerance", type=share, help=f"a smaller move is no move (default {DEFAULT_TOLERANCE:.0%}; "
                        f"on instructions, {DEFAULT_COST_TOLERANCE:.0%})".replace("%", "%%"))  # fmt: skip
    bisect.add_argument("--json", action="store_true", help="print the bisection as one JSON object")
    for name, value in STEP_SETTINGS.items():
        bisect.add_argument(
            f"--{name}",
            type=type(value),
            help=f"{name} of each step's run (default {value}"
            + (f"; on instructions, callgrind repeats, default {REPEATS})" if name == "repeats" else ")"),
        )
    add_cpu_flags(bisect, "server")
    bisect.add_argument("--results-dir", type=Path, help="where result folders go (default results/)")
    bisect.add_argument("--run-id", help="name of the bisection's folder (default: UTC date and time)")


def add_phase_flags(parser: argparse.ArgumentParser, unit: str) -> None:
    parser.add_argument("--quick", action="store_true", help="short phases, 2 rounds (run: about 3.5 min here)")
    parser.add_argument("--duration", type=float, help=f"seconds measured per {unit}")
    parser.add_argument("--warmup", type=float, help=f"seconds of discarded warm-up per {unit}")
    parser.add_argument("--repeats", type=int, help=f"rounds: each runs every {unit} once, in a random order")


def add_cpu_flags(parser: argparse.ArgumentParser, server: str) -> None:
    parser.add_argument("--server-cpus", type=parse_cpus, help=f"CPUs for the {server}, e.g. 0")
    parser.add_argument("--client-cpus", type=parse_cpus, help="CPUs for Locust, e.g. 1")


def add_output_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--results-dir", type=Path, help="where result folders go (default results/)")
    parser.add_argument("--run-id", help="name of the result folder (default: UTC date and time)")
    parser.add_argument("--reports-dir", type=Path, help="where reports go (default reports/)")
    parser.add_argument("--no-report", action="store_true", help="do not write the HTML report at the end")


class KeyValues(argparse.Action):
    """``--flag NAME=VALUE``, repeatable, collected into one dict."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, value: Any,
                 option: str | None = None) -> None:  # fmt: skip
        name, equals, text = str(value).partition("=")
        if not equals or not name or not text:
            parser.error(f"{option}: expected NAME=URL, got {value!r}")
        setattr(namespace, self.dest, {**(getattr(namespace, self.dest) or {}), name: text})


def names(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


def counts(text: str) -> list[int]:
    try:
        return [int(count) for count in names(text)]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected whole numbers such as 1 or 1,2, got {text!r}") from None


def config_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The flags that name a setting of ``BenchConfig`` (same name), as overrides of the lower layers, and a
    servers file's configs as their definitions."""
    from bench.server_configs import read_servers_file
    from bench.versions import parse_vary

    settings = BenchConfig.model_fields
    overrides = {name: value for name, value in vars(args).items() if name in settings and value is not None}
    if getattr(args, "servers_file", None) is not None:
        overrides["server_definitions"] = read_servers_file(args.servers_file)
    if getattr(args, "vary_flags", None):
        overrides["vary"] = parse_vary(args.vary_flags)
    return overrides


@dataclass(frozen=True)
class Invocation:
    """What every verb's dispatch gets: the parsed flags, the command line as typed, and who watches a run."""

    args: argparse.Namespace
    command_line: list[str]
    watcher: RunWatcher


def drawn(outcome: Outcome, draw: Callable[[Outcome], None]) -> Outcome:
    """``outcome``, once drawn."""
    draw(outcome)
    return outcome


def serve_verb(call: Invocation) -> object:
    from bench.registry import BUILT_IN
    from bench.serve import serve, server_named
    from bench.servers import ServerSpec

    args = call.args
    server = BUILT_IN.config(server_named(args.server, args.worker_class))
    spec = ServerSpec(server, args.model, args.host, args.port, args.workers, tuple(args.cpus or ()))
    return serve(spec, stats_port=args.stats_port, database_url=args.database_url,
                 database_cpus=tuple(args.database_cpus or ()))  # fmt: skip


def worker_verb(call: Invocation) -> object:
    from bench.worker import work

    args = call.args
    return work(args.master, args.master_port, tuple(args.cpus or ()), args.scenarios)


def list_verb(call: Invocation) -> object:
    from bench import console
    from bench.verbs.listing import server_configs

    return drawn(server_configs(call.args.servers_file), console.show_server_configs)


def run_verb(call: Invocation) -> object:
    from bench.config import load_config
    from bench.verbs.run import RunRequest, benchmark, prepared

    args = call.args
    loaded = load_config(args.config, args.quick, config_overrides(args)).with_order_seed()
    config = prepared(loaded, call.watcher.say, endpoints_named=args.endpoints is not None)
    return benchmark(RunRequest.of(config, args.run_id, call.command_line, not args.no_report), call.watcher)


def sweep_verb(call: Invocation) -> object:
    from bench.verbs.run import benchmark
    from bench.verbs.sweep import SweepRequest, sweep_request

    args = call.args
    request = SweepRequest(args.closed_run, config_overrides(args), args.quick, args.shares, args.run_id,
                           call.command_line, not args.no_report)  # fmt: skip
    return benchmark(sweep_request(request, call.watcher.say), call.watcher)


def ceiling_verb(call: Invocation) -> object:
    from bench import console
    from bench.config import load_config
    from bench.verbs.ceiling import CeilingRequest, measure

    args = call.args
    ceiling = measure(CeilingRequest(load_config(args.config, False, config_overrides(args)), args.user_classes))
    console.show_ceiling(ceiling, args.json)
    return ceiling


def cost_verb(call: Invocation) -> object:
    from bench import console
    from bench.config import load_config
    from bench.run import default_run_id
    from bench.verbs.cost import CostRequest, cost

    args = call.args
    overrides = {key: value for key, value in config_overrides(args).items() if key != "repeats"}
    config = load_config(None, False, overrides)
    run_id = args.run_id or f"cost-{default_run_id()}"
    request = CostRequest(config, run_id, args.warmup_requests, args.requests, args.repeats, not args.no_report)
    return drawn(cost(request, call.watcher.say), console.show_cost)


def compare_verb(call: Invocation) -> object:
    from bench import console
    from bench.reproduce import compare
    from bench.results import cost_path

    args = call.args
    if cost_path(args.before).is_file() or cost_path(args.after).is_file():  # two bench cost runs
        from bench.analysis.cost import compare_costs
        from bench.results import load_cost

        names = (str(args.before), str(args.after))
        counted = compare_costs(
            load_cost(args.before), load_cost(args.after), names, tolerance_for(args.tolerance, True)
        )
        console.show_cost_comparison(counted, args.json)
        return counted
    comparison = compare(args.before, args.after, tolerance_for(args.tolerance, False))
    console.show_comparison(comparison, args.json)
    return comparison


def reproduce_verb(call: Invocation) -> object:
    from bench import console
    from bench.verbs.reproduce import ReproduceRequest, reproduce

    args = call.args
    request = ReproduceRequest(args.folder, config_overrides(args), args.tolerance, args.run_id, call.command_line,
                               not args.no_report)  # fmt: skip
    reproduced = reproduce(request, call.watcher)
    console.show_reproduced(reproduced, args.json, paths_to=call.watcher.paths_to)
    return reproduced


def bisect_verb(call: Invocation) -> object:
    from bench import console
    from bench.bisect import Question
    from bench.verbs.bisect import BisectRequest, bisect_releases
    from bench.versions import canonical

    args = call.args
    tolerance = tolerance_for(args.tolerance, args.metric == "instructions")
    question = Question(canonical(args.package), args.good, args.bad, args.server, args.metric, tolerance)
    request = BisectRequest(question, args.endpoint, args.close_style, config_overrides(args), args.run_id,
                            call.command_line)  # fmt: skip
    found = bisect_releases(request, call.watcher, console.show_step)
    console.show_bisection(found, args.json)
    return found


def envs_verb(call: Invocation) -> object:
    from bench import console
    from bench.verbs.envs import environments

    return drawn(environments(call.args.clear), console.show_environments)


def report_verb(call: Invocation) -> object:
    from bench.report.cost import build_cost_report
    from bench.report.html import build_report
    from bench.results import cost_path

    args = call.args
    if cost_path(args.folder).is_file():  # a bench cost run
        if args.recompute:
            raise BenchError("--recompute re-judges a run's verdicts; a cost run has none")
        page = build_cost_report(args.folder, args.reports_dir)
    else:
        page = build_report(args.folder, args.reports_dir, args.recompute)
    print(page)
    return page


# Each verb: its request built from the flags, its function called, its outcome drawn and returned.
VERBS: dict[str, Callable[[Invocation], object]] = {
    "serve": serve_verb, "worker": worker_verb, "list": list_verb, "run": run_verb, "sweep": sweep_verb,
    "ceiling": ceiling_verb, "cost": cost_verb, "compare": compare_verb, "reproduce": reproduce_verb,
    "bisect": bisect_verb, "envs": envs_verb, "report": report_verb,
}  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.verb is None:  # bare: what it can do
            parser.print_help()
            return OK
        from bench.console import RunWatcher
        from bench.verbs.exits import exit_code

        # Where a verb prints JSON on stdout, the paths of what it wrote go to stderr.
        watcher = RunWatcher(paths_to=sys.stderr if getattr(args, "json", False) else sys.stdout)
        return exit_code(VERBS[args.verb](Invocation(args, [*PROGRAM.split(), *argv], watcher)))
    except BenchError as error:
        print(f"{PROGRAM}: error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print(f"{PROGRAM}: interrupted", file=sys.stderr)
        return INTERRUPTED
    except Exception:  # a traceback is a bug: say so, show it, and keep its exit code apart from every outcome
        traceback.print_exc()
        print(f"{PROGRAM}: this is a bug in titanic-bench; please report it with the traceback above", file=sys.stderr)
        return BUG
