"""``bench list``: the server configs a run can name, the built-ins and a servers file's."""

from __future__ import annotations

from pathlib import Path

from bench.registry import BUILT_IN, Registry
from bench.server_configs import read_servers_file


def server_configs(servers_file: Path | None) -> Registry:
    return BUILT_IN.with_definitions(read_servers_file(servers_file)) if servers_file else BUILT_IN
