"""Command-line parsing only: each verb is a small function in its own module, called from here."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

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
    return parser


def run_verb(args: argparse.Namespace) -> int:
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
    raise AssertionError(f"unhandled verb {args.verb}")


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        return run_verb(args)
    except BenchError as error:
        print(f"titanic-bench: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("titanic-bench: interrupted", file=sys.stderr)
        return 130
