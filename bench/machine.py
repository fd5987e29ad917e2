"""How steady the machine is: a stability probe on the server CPUs before a run, and the hypervisor's steal
and the load average over it, for the manifest and the report.

The probe runs a fixed pure-Python loop on the server CPUs for about two seconds and counts how much of it
each 100 ms slice completes. On a quiet machine every slice does the same work; the slices' coefficient of
variation is the noise a CPU-bound server meets before any network or framework is involved.

    python -m bench.machine    prints the probe's slices as one JSON list (what ``probe`` runs, pinned)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence

from bench.errors import RunFailed
from bench.results import Machine
from bench.sampling import steal_seconds
from bench.servers import pinned
from bench.stats import coefficient_of_variation

SLICE_SECONDS = 0.1
PROBE_SECONDS = 2.0
CHUNK = 2_000  # loop iterations between clock reads: small next to a slice


def count_slices(seconds: float = PROBE_SECONDS, slice_seconds: float = SLICE_SECONDS) -> list[float]:
    """Loop iterations completed in each slice of a fixed pure-Python loop, for ``seconds``."""
    slices = []
    end_of_probe = time.perf_counter() + seconds
    while time.perf_counter() < end_of_probe:
        done, end_of_slice = 0, time.perf_counter() + slice_seconds
        while time.perf_counter() < end_of_slice:
            total = 0
            for i in range(CHUNK):
                total += i * i
            done += CHUNK
        slices.append(float(done))
    return slices


def probe(cpus: Sequence[int]) -> list[float]:
    """The probe's slices, run in its own process pinned to ``cpus``."""
    command = pinned([sys.executable, "-m", "bench.machine"], list(cpus))
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=PROBE_SECONDS * 10, check=True)
        return [float(value) for value in json.loads(done.stdout)]
    except (subprocess.SubprocessError, OSError, ValueError) as error:
        raise RunFailed(f"the stability probe failed: {error}") from None


class Watch:
    """The steal of the server and client CPUs from the start of a run to its end."""

    def __init__(self, server_cpus: Sequence[int], client_cpus: Sequence[int]) -> None:
        self.server_cpus, self.client_cpus = list(server_cpus), list(client_cpus)
        self.started = time.monotonic()
        self.steal = steal_seconds(self.server_cpus), steal_seconds(self.client_cpus)

    def shares(self) -> tuple[float, float]:
        wall = time.monotonic() - self.started
        server = (steal_seconds(self.server_cpus) - self.steal[0]) / (wall * len(self.server_cpus))
        client = (steal_seconds(self.client_cpus) - self.steal[1]) / (wall * len(self.client_cpus))
        return server, client


def before_run(server_cpus: Sequence[int]) -> Machine:
    """The probe on the server CPUs and the load average, as a run starts."""
    slices = probe(server_cpus)
    return Machine(
        probe_cv=coefficient_of_variation(slices), probe_slices=slices, load_average_before=list(os.getloadavg())
    )


def after_run(machine: Machine, watch: Watch) -> Machine:
    server, client = watch.shares()
    return machine.model_copy(
        update={"server_steal": server, "client_steal": client, "load_average_after": list(os.getloadavg())}
    )


if __name__ == "__main__":
    print(json.dumps(count_slices()))
