from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.servers import SessionDatabase, leftover_processes


@pytest.fixture(scope="session", autouse=True)
def no_process_left_behind() -> Iterator[None]:
    """After the whole session, no server, database or load generator the tests started may still run."""
    yield
    SessionDatabase.stop()
    alive = leftover_processes()
    assert not alive, f"processes left running: {[(p.pid, p.cmdline()) for p in alive]}"
