"""The one error the CLI turns into a single readable line, and the exit codes, each with one meaning."""

PROGRAM = "python -m bench"  # the program's one name, in --help, in errors and in the README

# Exit codes. compare and reproduce add their outcomes (bench.reproduce.EXIT_CODES: 1 changed, 3 undetermined).
OK = 0
USAGE = 2  # a bad flag, setting or input file: nothing was run
RUN_FAILED = 4  # a run could not complete (a server died, a scenario failed): its folder is marked incomplete
BUG = 70  # an unexpected exception: a bug in titanic-bench (the traceback is printed)
INTERRUPTED = 130  # Ctrl-C or SIGTERM


class BenchError(Exception):
    """A failure the user can act on: bad flag, busy port, corrupt results folder, dead server."""

    exit_code = USAGE


class RunFailed(BenchError):
    """A run that started and could not finish what it was asked."""

    exit_code = RUN_FAILED
