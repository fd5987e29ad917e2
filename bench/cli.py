"""Command-line parsing only: each verb is a small function in its own module, called from here."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from apps.model import DEFAULT_MODEL, MODEL_NAMES
from bench.config import FRAMEWORKS, parse_cpus
from bench.errors import BenchError


class OneLineParser(argparse.ArgumentParser):
    """argparse that reports a bad flag in one line (no usage dump) and exits 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="titanic-bench", description="Benchmark FastAPI, Flask and Tornado serving one model.")
    verbs = parser.add_subparsers(dest="verb", required=True, parser_class=OneLineParser)

    serve = verbs.add_parser("serve", help="run one app under its production server")
    serve.add_argument("framework", choices=FRAMEWORKS)
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port (0: a free one; default 8000)")
    serve.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    serve.add_argument("--model", choices=MODEL_NAMES, default=DEFAULT_MODEL)
    serve.add_argument("--cpus", type=parse_cpus, default=None, help="pin to CPUs, e.g. 0 or 0-1")
    serve.add_argument("--worker-class", choices=("sync", "gthread"), default="sync", help="gunicorn worker (flask)")

    run = verbs.add_parser("run", help="benchmark the apps and write a results folder")
    run.add_argument("--config", type=Path, help="TOML file overriding bench/defaults.toml")
    run.add_argument("--quick", action="store_true", help="short phases, 2 repeats (about 2.5 minutes here)")
    run.add_argument("--frameworks", type=names, help="comma-separated, e.g. fastapi,flask")
    run.add_argument("--endpoints", type=names, help="comma-separated: get,put")
    run.add_argument("--model", help=f"one of {', '.join(MODEL_NAMES)}")
    run.add_argument("--users", type=int, help="concurrent Locust users")
    run.add_argument("--duration", type=float, help="seconds measured per scenario")
    run.add_argument("--warmup", type=float, help="seconds of discarded warm-up per scenario")
    run.add_argument("--repeats", type=int, help="repeats of each scenario, interleaved")
    run.add_argument("--server-cpus", type=parse_cpus, help="CPUs for the server, e.g. 0")
    run.add_argument("--client-cpus", type=parse_cpus, help="CPUs for Locust, e.g. 1")
    run.add_argument("--results-dir", type=Path, help="where result folders go (default results/)")
    run.add_argument("--run-id", help="name of the result folder (default: UTC date and time)")
    run.add_argument("--user-class", choices=USER_CLASSES, help="Locust user: lean (default) or fasthttp")
    run.add_argument("--crosscheck", choices=("none", "wrk"), help="also drive each scenario with wrk")
    run.add_argument("--reports-dir", type=Path, help="where reports go (default reports/)")
    run.add_argument("--no-report", action="store_true", help="do not write the HTML report at the end")

    ceiling = verbs.add_parser("ceiling", help="measure the load generator's own limit against a null server")
    ceiling.add_argument("--json", action="store_true", help="print one JSON object")
    ceiling.add_argument(
        "--user-class", type=names, dest="user_classes", default=list(USER_CLASSES), help="comma-separated"
    )
    ceiling.add_argument("--config", type=Path, help="TOML file overriding bench/defaults.toml")
    ceiling.add_argument("--users", type=int, help="concurrent Locust users")
    ceiling.add_argument("--duration", type=float, dest="ceiling_duration", help="seconds measured per mode")
    ceiling.add_argument("--server-cpus", type=parse_cpus, help="CPUs for the null server")
    ceiling.add_argument("--client-cpus", type=parse_cpus, help="CPUs for Locust")

    report = verbs.add_parser("report", help="write the HTML report of a results folder")
    report.add_argument("folder", type=Path, help="results/<run-id>")
    report.add_argument("--reports-dir", type=Path, default=Path("reports"), help="default reports/")
    return parser


def names(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


USER_CLASSES = ("lean", "fasthttp")


def config_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The flags that name a setting of ``BenchConfig`` (same name), as overrides of the lower layers."""
    from bench.config import BenchConfig

    return {name: value for name, value in vars(args).items() if name in BenchConfig.model_fields}


def client_ceiling(args: argparse.Namespace) -> int:
    import json
    import tempfile

    from bench import ceiling
    from bench.config import load_config

    config = load_config(args.config, False, config_overrides(args))
    unknown = set(args.user_classes) - set(USER_CLASSES)
    if unknown:
        raise BenchError(f"unknown user class {', '.join(sorted(unknown))}; choose from {', '.join(USER_CLASSES)}")
    with tempfile.TemporaryDirectory(prefix="titanic-bench-ceiling-") as scratch:
        result = ceiling.measure(config, args.user_classes, Path(scratch))
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"client ceiling on CPU {config.client_cpus} against the null server on CPU {config.server_cpus}, "
          f"{config.users} users, {config.ceiling_duration:g} s per mode:")  # fmt: skip
    for user_class in args.user_classes:
        row = result[user_class]
        print(
            f"  {user_class:<9} keep-alive {row['keepalive_rps']:>9,.0f} rps "
            f"({row['keepalive_client_cpu_percent']:.0f}% CPU)   new connection per request "
            f"{row['new_connection_rps']:>9,.0f} rps ({row['new_connection_client_cpu_percent']:.0f}% CPU)"
        )
    return 0  # fmt: skip


def run_benchmark(args: argparse.Namespace, argv: Sequence[str]) -> int:
    from bench.config import load_config
    from bench.console import console, progress_bar, report_progress, results_table
    from bench.load.wrk import available as wrk_available
    from bench.run import estimated_seconds, run, schedule

    config = load_config(args.config, args.quick, config_overrides(args))
    plan = schedule(config)
    if config.crosscheck == "wrk" and not wrk_available():
        console.print("[yellow]wrk is not installed (Debian package wrk): the cross-check is skipped[/yellow]")
    console.print(
        f"{len(plan)} scenarios ({', '.join(config.frameworks)} x {', '.join(config.endpoints)} x {config.repeats} "
        f"repeats), {config.warmup:g} s warm-up + {config.duration:g} s each: about "
        f"{estimated_seconds(config) / 60:.1f} minutes. "
        f"Server on CPU {config.server_cpus}, Locust on {config.client_cpus}."
    )
    with progress_bar(len(plan)) as progress:
        outcome = run(config, args.run_id, ["python", "-m", "bench", *argv], report_progress(progress))
    console.print(results_table(outcome.scenarios))
    print(outcome.folder)
    if outcome.complete and not args.no_report:
        from bench.analysis import headline, verdicts
        from bench.report.html import build_report

        page = build_report(outcome.folder, config.reports_dir)
        console.print(headline(verdicts(outcome.scenarios)))
        print(page)
    if outcome.interrupted:
        console.print("[red]interrupted[/red]: the results folder is marked incomplete")
        return 130
    if not outcome.complete:
        console.print("[red]some scenarios failed[/red]: the results folder is marked incomplete")
        return 1
    return 0


def run_verb(args: argparse.Namespace, argv: Sequence[str]) -> int:
    if args.verb == "serve":
        from bench.serve import serve
        from bench.servers import ServerSpec

        spec = ServerSpec(
            framework=args.framework,
            model=args.model,
            host=args.host,
            port=args.port,
            workers=args.workers,
            flask_worker_class=args.worker_class,
            cpus=tuple(args.cpus or ()),
        )
        return serve(spec)
    if args.verb == "run":
        return run_benchmark(args, argv)
    if args.verb == "ceiling":
        return client_ceiling(args)
    if args.verb == "report":
        from bench.report.html import build_report

        print(build_report(args.folder, args.reports_dir))
        return 0
    raise AssertionError(f"unhandled verb {args.verb}")


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = build_parser().parse_args(argv)
        return run_verb(args, argv)
    except BenchError as error:
        print(f"titanic-bench: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("titanic-bench: interrupted", file=sys.stderr)
        return 130
