"""The report's plots: matplotlib on Agg, one style, the Okabe-Ito colour-blind-safe palette, and the
same colour for a framework in every plot. Each function returns a Figure; ``to_svg`` inlines it."""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from contextlib import AbstractContextManager
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from bench.analysis import groups, usable
from bench.latency import merged, spectrum_ms
from bench.results import RAW, Scenario
from bench.stats import median, median_interval

COLOURS = {"fastapi": "#0072B2", "flask": "#D55E00", "tornado": "#009E73"}
FALLBACK_COLOURS = ("#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000")
SPECTRUM_PERCENTILES = (50.0, 75.0, 90.0, 95.0, 99.0, 99.5, 99.9)
STYLE = {
    "figure.dpi": 100,
    "font.size": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "svg.fonttype": "none",  # text stays text: smaller files, searchable, no embedded fonts
    "svg.hashsalt": "titanic-bench",  # stable element ids: the same results give the same SVG
}


def styled() -> AbstractContextManager[None]:
    return plt.rc_context(STYLE)  # type: ignore[arg-type]


def colour(framework: str) -> str:
    if framework in COLOURS:
        return COLOURS[framework]
    return FALLBACK_COLOURS[sum(map(ord, framework)) % len(FALLBACK_COLOURS)]


def frameworks_in(scenarios: Sequence[Scenario]) -> list[str]:
    return list(dict.fromkeys(s.framework for s in scenarios))


def endpoints_in(scenarios: Sequence[Scenario]) -> list[str]:
    return list(dict.fromkeys(s.endpoint for s in scenarios))


def to_svg(figure: Figure) -> str:
    """The figure as an inline ``<svg>`` element (no XML prolog, no DOCTYPE, no external reference)."""
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None, "Creator": None})
    plt.close(figure)
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def _bars(scenarios: Sequence[Scenario], value_of: str, ylabel: str, title: str, hatch_client_bound: bool) -> Figure:
    """Median per framework and endpoint, 95% interval bars, every repeat as a dot."""
    with styled():
        figure, axes = plt.subplots(figsize=(9.0, 3.8))
        frameworks, endpoints = frameworks_in(scenarios), endpoints_in(scenarios)
        width = 0.8 / max(len(frameworks), 1)
        grouped = groups(scenarios)
        for f_index, framework in enumerate(frameworks):
            for e_index, endpoint in enumerate(endpoints):
                measured = usable(grouped.get((framework, endpoint), []))
                values = [float(getattr(s, value_of)) for s in measured if getattr(s, value_of) is not None]
                if not values:
                    continue
                x = e_index + (f_index - (len(frameworks) - 1) / 2) * width
                middle = median(values)
                bound = hatch_client_bound and any(s.client_bound for s in measured)
                axes.bar(
                    x, middle, width * 0.9, color=colour(framework), alpha=0.85, hatch="//" if bound else None,
                    edgecolor="white", label=framework if e_index == 0 else None,
                )  # fmt: skip
                interval = median_interval(values)
                if interval is not None:
                    axes.errorbar(x, middle, yerr=[[middle - interval[0]], [interval[1] - middle]], color="black",
                                  capsize=4, linewidth=1.2)  # fmt: skip
                axes.scatter([x] * len(values), values, s=10, color="black", zorder=3, alpha=0.6)
        axes.set_xticks(range(len(endpoints)), [e.upper() + " /predict" for e in endpoints])
        axes.set_ylabel(ylabel)
        axes.set_title(title)
        axes.legend(frameon=False, ncols=len(frameworks), loc="upper center", bbox_to_anchor=(0.5, -0.12))
        return figure


def throughput(scenarios: Sequence[Scenario]) -> Figure:
    title = "Throughput: median of repeats (dots), 95% interval; hatched = client-bound, a lower bound"
    return _bars(scenarios, "rps", "requests / s", title, hatch_client_bound=True)


def server_cpu(scenarios: Sequence[Scenario]) -> Figure:
    title = "Server CPU per request: median of repeats (dots), 95% interval; lower is better"
    return _bars(scenarios, "server_cpu_us_per_request", "server CPU µs / request", title, hatch_client_bound=False)


def _raw_latency(folder: Path, scenario: Scenario) -> dict[str, object] | None:
    path = folder / RAW / scenario.id / "latency.json"
    if not path.is_file():
        return None
    content: dict[str, object] = json.loads(path.read_text())
    return content


def spectrum(folder: Path, scenarios: Sequence[Scenario]) -> Figure:
    """Latency by percentile, p50 to p99.9 on a log axis of 1/(1-p), histograms of all repeats merged."""
    endpoints = endpoints_in(scenarios)
    with styled():
        figure, axes_row = plt.subplots(
            1, len(endpoints), figsize=(9.0, 3.8), squeeze=False, sharey=True, layout="constrained"
        )
        x = 1.0 / (1.0 - np.asarray(SPECTRUM_PERCENTILES) / 100.0)
        for axes, endpoint in zip(axes_row[0], endpoints, strict=True):
            for framework in frameworks_in(scenarios):
                records = [
                    record
                    for s in usable(groups(scenarios).get((framework, endpoint), []))
                    if (record := _raw_latency(folder, s)) is not None
                ]
                if not records:
                    continue
                histogram = merged(str(record["histogram"]) for record in records)
                axes.plot(x, spectrum_ms(histogram, SPECTRUM_PERCENTILES), marker="o", markersize=3,
                          color=colour(framework), label=framework)  # fmt: skip
            axes.set_xscale("log")
            axes.set_yscale("log")
            axes.set_xticks(x, [f"p{p:g}" for p in SPECTRUM_PERCENTILES], fontsize=8)
            axes.minorticks_off()
            axes.set_title(f"{endpoint.upper()} /predict")
        axes_row[0][0].set_ylabel("latency, ms (log)")
        figure.legend(*axes_row[0][0].get_legend_handles_labels(), loc="outside right upper", frameon=False)
        figure.suptitle("Latency percentile spectrum (all repeats merged)")
        return figure


def timeline(folder: Path, scenarios: Sequence[Scenario]) -> Figure:
    """Throughput and p99 second by second through each scenario, warm-up shaded, one line per repeat."""
    endpoints = endpoints_in(scenarios)
    with styled():
        figure, axes_grid = plt.subplots(
            2, len(endpoints), figsize=(9.0, 5.4), squeeze=False, sharex=True, layout="constrained"
        )
        warmup = 0.0
        for column, endpoint in enumerate(endpoints):
            rps_axes, p99_axes = axes_grid[0][column], axes_grid[1][column]
            for framework in frameworks_in(scenarios):
                for index, s in enumerate(usable(groups(scenarios).get((framework, endpoint), []))):
                    record = _raw_latency(folder, s)
                    if record is None:
                        continue
                    warmup = float(str(record["warmup"]))
                    entries = record["timeline"]
                    assert isinstance(entries, list)
                    seconds = [entry["second"] + 0.5 for entry in entries]
                    label = framework if index == 0 else None
                    rps_axes.plot(seconds, [e["requests"] for e in entries], color=colour(framework), alpha=0.7,
                                  linewidth=1, label=label)  # fmt: skip
                    p99_axes.plot(seconds, [e["p99_ms"] for e in entries], color=colour(framework), alpha=0.7,
                                  linewidth=1)  # fmt: skip
            for axes in (rps_axes, p99_axes):
                axes.axvspan(0, warmup, color="grey", alpha=0.15, linewidth=0)
            rps_axes.set_title(f"{endpoint.upper()} /predict")
            rps_axes.set_ylim(bottom=0)
            p99_axes.set_ylim(bottom=0)
        axes_grid[0][0].set_ylabel("requests in that second")
        axes_grid[1][0].set_ylabel("p99 in that second, ms")
        figure.supxlabel("seconds since the load started (grey: warm-up, discarded)")
        figure.legend(*axes_grid[0][0].get_legend_handles_labels(), loc="outside right upper", frameon=False)
        figure.suptitle("Stability through each run (one line per repeat)")
        return figure


def latency_vs_load(scenarios: Sequence[Scenario]) -> Figure:
    """The hockey stick: p50 (dashed) and p99 (solid) against the offered arrival rate, open loop, per framework."""
    swept = [s for s in usable(scenarios) if s.target_rps is not None and s.load_share is not None]
    endpoints = endpoints_in(swept)
    with styled():
        figure, axes_row = plt.subplots(1, len(endpoints), figsize=(9.0, 3.8), squeeze=False, layout="constrained")
        for axes, endpoint in zip(axes_row[0], endpoints, strict=True):
            for framework in frameworks_in(swept):
                by_share: dict[float, list[Scenario]] = {}
                for s in swept:
                    if s.framework == framework and s.endpoint == endpoint and s.load_share is not None:
                        by_share.setdefault(s.load_share, []).append(s)
                shares = sorted(by_share)
                offered = [median([float(s.target_rps or 0) for s in by_share[share]]) for share in shares]
                for name, style in (("p50_ms", "--"), ("p99_ms", "-")):
                    values = [median([getattr(s, name) for s in by_share[share]]) for share in shares]
                    axes.plot(offered, values, style, marker="o", markersize=3, color=colour(framework),
                              label=f"{framework} {name.split('_')[0]}")  # fmt: skip
            axes.set_yscale("log")
            axes.set_xlabel("offered load, requests / s")
            axes.set_title(f"{endpoint.upper()} /predict")
        axes_row[0][0].set_ylabel("latency from intended send, ms (log)")
        figure.legend(*axes_row[0][0].get_legend_handles_labels(), loc="outside right upper", frameon=False)
        figure.suptitle("Latency against offered load (open loop; dashed p50, solid p99)")
        return figure
