"""The one error the CLI turns into a single readable line and a non-zero exit."""


class BenchError(Exception):
    """A failure the user can act on: bad flag, busy port, corrupt results folder, dead server."""
