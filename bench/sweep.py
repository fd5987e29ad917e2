"""``bench sweep``: latency against offered load, open loop, from a closed-loop run's throughputs.

For each framework and endpoint, fixed arrival rates at shares of that framework's own closed-loop median
throughput (10% to 90% by default: the hockey stick), and one rate the same for every framework, half
of the slowest framework's throughput (latency at equal load).
"""

from __future__ import annotations

from collections.abc import Sequence

from bench.analysis import closed_loop, groups, usable
from bench.config import BenchConfig
from bench.errors import BenchError
from bench.results import Scenario
from bench.run import ScenarioKey
from bench.stats import median

DEFAULT_SHARES = (0.1, 0.3, 0.5, 0.7, 0.9)
EQUAL_LOAD_SHARE = 0.5


def sweep_plan(config: BenchConfig, closed: Sequence[Scenario], shares: Sequence[float]) -> list[ScenarioKey]:
    """Interleaved like a run: each repeat covers every endpoint, rate and framework before the next."""
    throughput = {
        key: median([s.rps for s in usable(group)])
        for key, group in groups(closed_loop(closed)).items()
        if usable(group)
    }
    missing = [f"{f} {e}" for f in config.frameworks for e in config.endpoints if (f, e) not in throughput]
    if missing:
        raise BenchError(f"the closed-loop run has no usable throughput for: {', '.join(missing)}")
    plan = []
    for repeat in range(1, config.repeats + 1):
        for endpoint in config.endpoints:
            slowest = min(throughput[(framework, endpoint)] for framework in config.frameworks)
            for share in shares:
                for framework in config.frameworks:
                    rate = round(share * throughput[(framework, endpoint)], 1)
                    plan.append(ScenarioKey(framework, endpoint, repeat, rate, share))
            for framework in config.frameworks:
                plan.append(ScenarioKey(framework, endpoint, repeat, round(EQUAL_LOAD_SHARE * slowest, 1)))
    return plan
