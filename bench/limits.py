"""What limited a closed-loop figure, named from what was measured in its window, by one rule stated here.

The evidence is the busy shares of the server, the database and the client (each its process tree's CPU over
the window, divided by the CPUs it was given), the requests the client kept outstanding (Little's law: the
answered rate times the mean latency), and the requests waiting in the server's sockets (its accept queue and
its connections' unread bytes, sampled). A server that idles while the client kept its requests outstanding
and neither the database nor the client was busy is waiting on its own I/O, the database's answers: that is
its design (a sync worker blocks on each query), not a client starving it, and its figure is its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Limit = Literal["server", "database", "client", "client+database", "server I/O wait", "offered load"]

# The thresholds, each used once below and rendered into every sentence that states it.
MIN_SERVER_BUSY = 0.95  # a saturated server runs whenever it can
CLIENT_BOUND_PERCENT = 90.0  # the load generator used this much of its CPU or more
MIN_DATABASE_BUSY = 0.95  # the database's CPUs were this busy or more
MIN_SHARED_BUSY = 0.95  # where the database and the client share CPUs: together this busy or more
MIN_OUTSTANDING = 0.90  # the client kept at least this share of its users' requests outstanding
QUEUE_INTERVAL_SECONDS = 0.2  # how often the requests waiting at the server are sampled (bench.queues)

LIMITS: dict[Limit, str] = {
    "server": f"the server's CPU: busy {MIN_SERVER_BUSY:.0%} or more of the window",
    "database": f"the database's CPU: busy {MIN_DATABASE_BUSY:.0%} or more of its CPUs (a lower bound of the server's)",
    "client": (
        f"the client: Locust at {CLIENT_BOUND_PERCENT:.0f}% of its CPU or more, or the server idled (busy under "
        f"{MIN_SERVER_BUSY:.0%}) while the client had fewer than {MIN_OUTSTANDING:.0%} of its users' requests "
        "outstanding or closed lazily (a lower bound of the server's)"
    ),
    "client+database": (
        f"the CPUs the client and the database share: together busy {MIN_SHARED_BUSY:.0%} or more "
        "(a lower bound of the server's)"
    ),
    "server I/O wait": (
        f"the server's own wait for the database: it idled (busy under {MIN_SERVER_BUSY:.0%}) while the client kept "
        f"{MIN_OUTSTANDING:.0%} or more of its requests outstanding and neither the client nor the database was "
        "busy (its design, so the figure is the server's)"
    ),
    "offered load": "open loop: the arrival rate offered, whatever the server could do",
}
LOWER_BOUNDS: frozenset[Limit] = frozenset({"database", "client", "client+database"})
DATABASE_LIMITS: frozenset[Limit] = frozenset({"database", "client+database"})


@dataclass(frozen=True)
class Evidence:
    """What one window measured, for ``limit``: None where a figure was not known."""

    server_busy: float | None
    client_percent: float  # of the client's CPUs (its busiest process where Locust ran several)
    database_busy: float | None = None  # of the database's CPUs; None: no database, or its CPU is not known
    shared_busy: float | None = None  # client and database together, of their shared CPUs; None: they share none
    outstanding: float | None = None  # requests the client kept outstanding, as a share of its users
    reads_database: bool = False
    lazy_close: bool = False  # the server closes each connection and the client closed after reading the answer
    open_loop: bool = False


def limit(evidence: Evidence) -> Limit:
    """The one resource that bounded the window's throughput, by the rule of ``LIMITS``."""
    if evidence.open_loop:
        return "offered load"
    if evidence.server_busy is None or evidence.server_busy >= MIN_SERVER_BUSY:
        return "server"  # busy, or a remote server whose CPU is not known: nothing here says otherwise
    if evidence.client_percent >= CLIENT_BOUND_PERCENT:
        return "client"
    if evidence.database_busy is not None and evidence.database_busy >= MIN_DATABASE_BUSY:
        return "database"
    if evidence.shared_busy is not None and evidence.shared_busy >= MIN_SHARED_BUSY:
        return "client+database"
    waiting = evidence.outstanding is not None and evidence.outstanding >= MIN_OUTSTANDING
    if evidence.reads_database and waiting and not evidence.lazy_close:
        return "server I/O wait"
    return "client"
