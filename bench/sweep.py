"""``bench sweep``: latency against offered load, open loop, from a closed-loop run's throughputs.

For each variant (server config, model, workers) and endpoint, fixed arrival rates at shares of its own
closed-loop median throughput (10% to 90% by default: the hockey stick), and one rate the same for every
server config serving that model, half of the slowest one's throughput (latency at equal load).
"""

from __future__ import annotations

from collections.abc import Sequence

from bench.analysis.select import closed_loop, groups, usable
from bench.closing import CloseStyle
from bench.config import BenchConfig
from bench.errors import BenchError
from bench.results import Scenario, Variant
from bench.run import ScenarioKey
from bench.stats import median

DEFAULT_SHARES = (0.1, 0.3, 0.5, 0.7, 0.9)
EQUAL_LOAD_SHARE = 0.5


def sweep_plan(config: BenchConfig, closed: Sequence[Scenario], shares: Sequence[float]) -> list[ScenarioKey]:
    """Interleaved like a run: each repeat covers every endpoint, rate and variant before the next."""
    throughput = {
        key: median([s.rps for s in usable(group)])
        for key, group in groups(closed_loop(closed)).items()
        if usable(group)
    }
    cells = [(model, workers) for model in config.model for workers in config.workers]
    registry = config.registry

    def served(endpoint: str) -> list[tuple[str, CloseStyle | None]]:
        return [(server, close) for server in config.server_names if registry.config(server).answers(endpoint)
                for close in config.close_styles(server)]  # fmt: skip

    wanted = [(Variant(server, model, workers, close), endpoint) for endpoint in config.endpoints
              for model, workers in cells for server, close in served(endpoint)]  # fmt: skip
    missing = [f"{variant.server} {variant.model} {variant.workers}w {endpoint}" for variant, endpoint in wanted
               if (variant, endpoint) not in throughput]  # fmt: skip
    if missing:
        raise BenchError(f"the closed-loop run has no usable throughput for: {', '.join(missing)}")
    plan: list[ScenarioKey] = []
    for repeat in range(1, config.repeats + 1):
        for endpoint in config.endpoints:
            for model, workers in cells:
                rps = {
                    (server, close): throughput[(Variant(server, model, workers, close), endpoint)]
                    for server, close in served(endpoint)
                }
                for share in shares:
                    plan += [ScenarioKey(server, endpoint, repeat, model, workers, round(share * rate, 1), share, close,
                                         framework=registry.family(server))
                             for (server, close), rate in rps.items()]  # fmt: skip
                equal = round(EQUAL_LOAD_SHARE * min(rps.values()), 1)
                plan += [ScenarioKey(server, endpoint, repeat, model, workers, equal, close_style=close,
                                     framework=registry.family(server))
                         for server, close in served(endpoint)]  # fmt: skip
    return plan
