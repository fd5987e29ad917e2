"""The report's plots: matplotlib on Agg, one style, the Okabe-Ito colour-blind-safe palette, and the
same colour for a server config in every plot. Each function returns a Figure; ``to_svg`` inlines it."""

from __future__ import annotations

import io
from collections.abc import Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import TwoSlopeNorm
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter, NullLocator

from bench.analysis.chain import Chain
from bench.analysis.claim import CLAIM_FACTOR, MIN_VERDICT_ROUNDS
from bench.analysis.releases import Release
from bench.analysis.select import close_name, condition_namer, groups, labeller, usable
from bench.closing import CloseStyle
from bench.latency import LatencyRecord, merged, read_latency, spectrum_ms
from bench.registry import Registry
from bench.results import CostEntry, Scenario, ScenarioFiles, Variant, Verdict, raw_root
from bench.stats import median, median_interval
from bench.workload import endpoint_label, endpoint_order, request_label

FALLBACK_COLOURS = ("#F0E442", "#7F7F7F", "#BCBD22", "#17BECF")  # for configs that declare no colour
LINE_STYLES = ("-", "--", ":", "-.")
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


def readable_log(axes: Axes) -> None:
    """A logarithmic y axis whose labels say what it spans, as plain numbers: at 1-2-5 steps over a decade or
    more, at even steps over less (a decade's own ticks could leave a single label there, or none). Called once
    the axes hold their data."""
    axes.set_yscale("log")
    axes.autoscale_view()
    low, high = axes.get_ylim()
    if high / low >= 10:
        axes.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    else:
        axes.yaxis.set_major_locator(MaxNLocator(nbins=5, min_n_ticks=3))
    axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.4g}"))
    axes.yaxis.set_minor_formatter(NullFormatter())


def colour(server: str, registry: Registry) -> str:
    """The config's own colour (servers.toml, or a servers file), else one picked from its name."""
    config = registry.configs.get(server)
    if config is not None and config.colour:
        return config.colour
    return FALLBACK_COLOURS[sum(map(ord, server)) % len(FALLBACK_COLOURS)]


Series = tuple[str, CloseStyle | None]  # a server config and, where it closes each connection, the client's close style


def series_in(scenarios: Sequence[Scenario]) -> list[Series]:
    return list(dict.fromkeys((s.server, s.close_style) for s in scenarios))


def series_label(scenarios: Sequence[Scenario]) -> Any:
    """A series' legend label: the server config, and the close style where the run measured several."""
    several = len({s.close_style for s in scenarios if s.close_style}) > 1
    return lambda server, close: f"{server} ({close_name(close, always=True)})" if several and close else server


def series_hatch(close_style: str | None) -> str | None:
    """Dots on a lazily closed client's bars: hatching (a lower bound) takes precedence."""
    return ".." if close_style == "lazy" else None


def endpoints_in(scenarios: Sequence[Scenario]) -> list[str]:
    """The endpoints measured, in the workload table's order."""
    return sorted({s.endpoint for s in scenarios}, key=endpoint_order)


def facets_in(scenarios: Sequence[Scenario]) -> list[tuple[str, int]]:
    """The (model, workers) cells of a run: one for a plain run, several for a matrix."""
    return list(dict.fromkeys((s.model, s.workers) for s in scenarios))


def to_svg(figure: Figure) -> str:
    """The figure as an inline ``<svg>`` element (no XML prolog, no DOCTYPE, no external reference)."""
    buffer = io.StringIO()
    with styled():  # the style's hash salt applies when the SVG is written, not when the figure is drawn
        figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None, "Creator": None})
    plt.close(figure)
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def _bars(
    scenarios: Sequence[Scenario],
    registry: Registry,
    value_of: str,
    ylabel: str,
    what: str,
    *,
    note: str,
    hatch_lower_bounds: bool,
) -> Figure:
    """Median per server config (and close style) in each (model, workers, endpoint) cell, 95% interval bars where
    the repeats give one, every repeat a dot; the title says which was drawn."""
    servers = series_in(scenarios)
    name = series_label(scenarios)
    cells = [
        (model, workers, endpoint) for model, workers in facets_in(scenarios) for endpoint in endpoints_in(scenarios)
    ]
    with styled():
        figure, axes = plt.subplots(figsize=(max(9.0, 1.1 * len(cells) * max(len(servers), 2) / 2), 3.8))
        width = 0.8 / max(len(servers), 1)
        grouped, condition = groups(scenarios), condition_namer(scenarios)
        intervals = 0
        for s_index, (server, close) in enumerate(servers):
            for c_index, (model, workers, endpoint) in enumerate(cells):
                measured = usable(grouped.get((Variant(server, model, workers, close), endpoint), []))
                values = [float(getattr(s, value_of)) for s in measured if getattr(s, value_of) is not None]
                if not values:
                    continue
                x = c_index + (s_index - (len(servers) - 1) / 2) * width
                middle = median(values)
                bound = hatch_lower_bounds and any(s.lower_bound for s in measured)
                axes.bar(
                    x, middle, width * 0.9, color=colour(server, registry), alpha=0.85,
                    hatch="//" if bound else series_hatch(close), edgecolor="white",
                    label=name(server, close) if c_index == 0 else None,
                )  # fmt: skip
                interval = median_interval(values)
                if interval is not None:
                    intervals += 1
                    axes.errorbar(x, middle, yerr=[[middle - interval[0]], [interval[1] - middle]], color="black",
                                  capsize=4, linewidth=1.2)  # fmt: skip
                axes.scatter([x] * len(values), values, s=10, color="black", zorder=3, alpha=0.6)
        ticks = [" ".join(filter(None, [request_label(endpoint), condition(model, workers)]))
                 for model, workers, endpoint in cells]  # fmt: skip
        axes.set_xticks(range(len(cells)), ticks, fontsize=8 if len(cells) > 2 else None)
        if len(cells) > 1 and max(map(len, ticks)) > 15:
            axes.tick_params(axis="x", labelrotation=20)
        axes.set_ylabel(ylabel)
        if len(cells) > 2:
            readable_log(axes)
            axes.set_ylabel(ylabel + " (log)")
        drawn = ", 95% interval" if intervals else f" (no 95% interval: fewer than {MIN_VERDICT_ROUNDS} rounds)"
        axes.set_title(f"{what}: median of repeats (dots){drawn}{note}")
        axes.legend(frameon=False, ncols=min(len(servers), 3), loc="upper center", bbox_to_anchor=(0.5, -0.2))
        return figure


def throughput(scenarios: Sequence[Scenario], registry: Registry) -> Figure:
    note = "\nhatched = client-bound or under-driven, a lower bound; dotted = lazy close"
    return _bars(scenarios, registry, "rps", "requests / s", "Throughput", note=note, hatch_lower_bounds=True)


def server_cpu(scenarios: Sequence[Scenario], registry: Registry) -> Figure:
    return _bars(
        scenarios, registry, "server_cpu_us_per_request", "server CPU µs / request", "Server CPU per request",
        note="; lower is better", hatch_lower_bounds=False,
    )  # fmt: skip


def _raw_latency(folder: Path, scenario: Scenario) -> LatencyRecord | None:
    path = ScenarioFiles.of(raw_root(folder) / scenario.id).latency
    return read_latency(path) if path.is_file() else None


def spectrum(folder: Path, scenarios: Sequence[Scenario], registry: Registry) -> Figure:
    """Latency by percentile, p50 to p99.9 on a log axis of 1/(1-p), histograms of all repeats merged;
    one panel per endpoint (and per model and worker count in a matrix), one line per server config."""
    endpoints, facets = endpoints_in(scenarios), facets_in(scenarios)
    condition, name = condition_namer(scenarios), series_label(scenarios)
    with styled():
        figure, axes_grid = plt.subplots(
            len(facets), len(endpoints), figsize=(9.0, 3.4 * len(facets) + 0.4), squeeze=False, sharey=True,
            layout="constrained",
        )  # fmt: skip
        x = 1.0 / (1.0 - np.asarray(SPECTRUM_PERCENTILES) / 100.0)
        for row, (model, workers) in enumerate(facets):
            for axes, endpoint in zip(axes_grid[row], endpoints, strict=True):
                for server, close in series_in(scenarios):
                    group = groups(scenarios).get((Variant(server, model, workers, close), endpoint), [])
                    records = [record for s in usable(group) if (record := _raw_latency(folder, s)) is not None]
                    if not records:
                        continue
                    histogram = merged(record.histogram for record in records)
                    axes.plot(x, spectrum_ms(histogram, SPECTRUM_PERCENTILES), marker="o", markersize=3,
                              color=colour(server, registry), linestyle=":" if close == "lazy" else "-",
                              label=name(server, close))  # fmt: skip
                axes.set_xscale("log")
                axes.set_xticks(x, [f"p{p:g}" for p in SPECTRUM_PERCENTILES], fontsize=8)
                axes.xaxis.set_minor_locator(NullLocator())
                axes.set_title(" ".join(filter(None, [request_label(endpoint), condition(model, workers)])))
            axes_grid[row][0].set_ylabel("latency, ms (log)")
        readable_log(axes_grid[0][0])  # the panels share their y axis
        figure.legend(*axes_grid[0][0].get_legend_handles_labels(), loc="outside right upper", frameon=False)
        figure.suptitle("Latency percentile spectrum (all repeats merged)")
        return figure


def timeline(folder: Path, scenarios: Sequence[Scenario], registry: Registry) -> Figure:
    """Throughput and p99 second by second through each scenario, warm-up shaded, one line per repeat
    (colour: server config; line style: model)."""
    endpoints = endpoints_in(scenarios)
    variants = list(dict.fromkeys(s.variant for s in scenarios))
    models = list(dict.fromkeys(s.model for s in scenarios))
    name = labeller(scenarios)
    with styled():
        figure, axes_grid = plt.subplots(
            2, len(endpoints), figsize=(9.0, 5.4), squeeze=False, sharex=True, layout="constrained"
        )
        warmup = 0.0
        for column, endpoint in enumerate(endpoints):
            rps_axes, p99_axes = axes_grid[0][column], axes_grid[1][column]
            for variant in variants:
                for index, s in enumerate(usable(groups(scenarios).get((variant, endpoint), []))):
                    record = _raw_latency(folder, s)
                    if record is None:
                        continue
                    warmup, entries = record.warmup, record.timeline
                    seconds = [entry.second + 0.5 for entry in entries]
                    label = name(variant) if index == 0 else None
                    style = LINE_STYLES[models.index(variant.model) % len(LINE_STYLES)]
                    hue = colour(variant.server, registry)
                    rps_axes.plot(seconds, [e.requests for e in entries], style, color=hue, alpha=0.7,
                                  linewidth=1, label=label)  # fmt: skip
                    p99_axes.plot(seconds, [e.p99_ms for e in entries], style, color=hue, alpha=0.7,
                                  linewidth=1)  # fmt: skip
            for axes in (rps_axes, p99_axes):
                axes.axvspan(0, warmup, color="grey", alpha=0.15, linewidth=0)
            rps_axes.set_title(request_label(endpoint))
            for axes in (rps_axes, p99_axes):
                if len(models) > 1:  # models a hundred times apart in cost
                    readable_log(axes)
                else:
                    axes.set_ylim(bottom=0)
        axes_grid[0][0].set_ylabel("requests in that second")
        axes_grid[1][0].set_ylabel("p99 in that second, ms")
        figure.supxlabel("seconds since the load started (grey: warm-up, discarded)")
        figure.legend(*axes_grid[0][0].get_legend_handles_labels(), loc="outside right upper", frameon=False)
        figure.suptitle("Stability through each run (one line per repeat)")
        return figure


def latency_vs_load(scenarios: Sequence[Scenario], registry: Registry) -> Figure:
    """The hockey stick: p50 (dashed) and p99 (solid) against the offered arrival rate, open loop, per variant."""
    swept = [s for s in usable(scenarios) if s.target_rps is not None and s.load_share is not None]
    endpoints = endpoints_in(swept)
    label = labeller(swept)
    with styled():
        figure, axes_row = plt.subplots(1, len(endpoints), figsize=(9.0, 3.8), squeeze=False, layout="constrained")
        for axes, endpoint in zip(axes_row[0], endpoints, strict=True):
            for variant in list(dict.fromkeys(s.variant for s in swept)):
                by_share: dict[float, list[Scenario]] = {}
                for s in swept:
                    if s.variant == variant and s.endpoint == endpoint and s.load_share is not None:
                        by_share.setdefault(s.load_share, []).append(s)
                shares = sorted(by_share)
                offered = [median([float(s.target_rps or 0) for s in by_share[share]]) for share in shares]
                for name, style in (("p50_ms", "--"), ("p99_ms", "-")):
                    values = [median([getattr(s, name) for s in by_share[share]]) for share in shares]
                    axes.plot(offered, values, style, marker="o", markersize=3, color=colour(variant.server, registry),
                              label=f"{label(variant)} {name.split('_')[0]}")  # fmt: skip
            readable_log(axes)
            axes.set_xlabel("offered load, requests / s")
            axes.set_title(request_label(endpoint))
        axes_row[0][0].set_ylabel("latency from intended send, ms (log)")
        figure.legend(*axes_row[0][0].get_legend_handles_labels(), loc="outside right upper", frameon=False)
        figure.suptitle("Latency against offered load (open loop; dashed p50, solid p99)")
        return figure


VERDICT_MARKS = {"holds": "holds", "refuted": "refuted", "inconclusive": "?"}


def ratio_heatmap(verdicts: Sequence[Verdict]) -> Figure:
    """The FastAPI/Flask throughput ratio for each pairing of server configs (rows) and each model cost and
    endpoint (columns), with its 95% interval and verdict; the colour scale is centred on the claim, 2x."""
    cells = [v for v in verdicts if v.metric == "throughput"]
    several_workers = len({v.workers for v in cells}) > 1

    def row_of(v: Verdict) -> str:
        return f"{v.numerator} / {v.denominator}" + (f", {v.workers} w" if several_workers else "")

    def column_of(v: Verdict) -> str:
        return f"{v.model}\n{endpoint_label(v.endpoint)}"

    rows, columns = list(dict.fromkeys(map(row_of, cells))), list(dict.fromkeys(map(column_of, cells)))
    grid = np.full((len(rows), len(columns)), np.nan)
    for v in cells:
        if v.ratio is not None:
            grid[rows.index(row_of(v)), columns.index(column_of(v))] = v.ratio
    finite = grid[np.isfinite(grid)]
    low, high = (min(float(finite.min()), 1.0), max(float(finite.max()), 3.0)) if finite.size else (1.0, 3.0)
    norm = TwoSlopeNorm(vcenter=CLAIM_FACTOR, vmin=min(low, CLAIM_FACTOR - 0.01), vmax=max(high, CLAIM_FACTOR + 0.01))
    with styled():
        figure, axes = plt.subplots(figsize=(1.3 * len(columns) + 4.0, 0.62 * len(rows) + 1.6), layout="constrained")
        edges_x, edges_y = np.arange(len(columns) + 1) - 0.5, np.arange(len(rows) + 1) - 0.5
        image = axes.pcolormesh(edges_x, edges_y, np.ma.masked_invalid(grid), cmap="PuOr", norm=norm)  # vector cells
        axes.invert_yaxis()
        for v in cells:
            text, ink = "no data", "black"
            if v.ratio is not None:
                interval = f"{v.ci_low:.2f}-{v.ci_high:.2f}" if v.ci_low is not None else "no interval"
                text = f"{v.ratio:.2f}x  {VERDICT_MARKS[v.verdict]}\n{interval}"
                ink = "white" if abs(float(norm(v.ratio)) - 0.5) > 0.35 else "black"  # readable on dark cells
            axes.text(columns.index(column_of(v)), rows.index(row_of(v)), text, ha="center", va="center",
                      fontsize=7, color=ink)  # fmt: skip
        axes.set_xticks(range(len(columns)), columns, fontsize=8)
        axes.set_yticks(range(len(rows)), rows, fontsize=8)
        axes.grid(False)
        scale = figure.colorbar(image, ax=axes, label="FastAPI / Flask requests per second (2 = the claim)", shrink=0.8)
        if scale.solids is not None:
            scale.solids.set_rasterized(False)  # vector, so the page holds no embedded image
        axes.set_title("FastAPI / Flask throughput: median ratio, verdict, 95% interval")
        return figure


def releases(found: Sequence[Release], registry: Registry) -> Figure:
    """Each config's throughput (left) and the headline ratio (right) against the version sets it ran under,
    medians with their 95% intervals, one line per config, endpoint and close style."""
    lines: dict[tuple[str, str, str | None, str, int], list[Release]] = {}
    for release in found:
        lines.setdefault((release.base, release.endpoint, release.close_style, release.model, release.workers),
                         []).append(release)  # fmt: skip
    labels = list(dict.fromkeys(r.label for r in found))
    with styled():
        figure, (left, right) = plt.subplots(1, 2, figsize=(max(9.0, 1.2 * len(labels) * 2), 3.8))
        for index, ((base, endpoint, close, _, _), line) in enumerate(lines.items()):
            x = [labels.index(r.label) for r in line]
            style = LINE_STYLES[index % len(LINE_STYLES)]
            name = " ".join(filter(None, [base, endpoint_label(endpoint), close_name(close, always=True)]))
            rps = [r.rps or np.nan for r in line]
            below = [r.rps - r.ci_low if r.rps and r.ci_low else 0.0 for r in line]
            above = [r.ci_high - r.rps if r.rps and r.ci_high else 0.0 for r in line]
            left.errorbar(x, rps, yerr=[below, above], color=colour(base, registry), linestyle=style, marker="o",
                          capsize=4, label=name)  # fmt: skip
            claims = [r.claim for r in line]
            if any(c is not None and c.ratio is not None for c in claims):
                ratio = [c.ratio if c and c.ratio else np.nan for c in claims]
                low = [c.ratio - c.ci_low if c and c.ratio and c.ci_low else 0.0 for c in claims]
                high = [c.ci_high - c.ratio if c and c.ratio and c.ci_high else 0.0 for c in claims]
                right.errorbar(x, ratio, yerr=[low, high], color=colour(base, registry), linestyle=style, marker="o",
                               capsize=4, label=name)  # fmt: skip
        for axes in (left, right):
            axes.set_xticks(range(len(labels)), labels, fontsize=8)
            axes.tick_params(axis="x", labelrotation=20)
        left.set_ylabel("requests / s")
        left.set_title("Throughput over releases: median, 95% interval")
        right.axhline(CLAIM_FACTOR, color="grey", linestyle="--", linewidth=1)
        right.set_ylabel("FastAPI / Flask")
        right.set_title(f"The headline ratio over releases (dashed: the claim, {CLAIM_FACTOR:g}x)")
        left.legend(frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.3), fontsize=8)
        return figure


# The shares of a request's instructions, in a fixed order of colours (Okabe-Ito, then greys).
SHARE_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#999999", "#555555")


def cost_shares(entries: Sequence[CostEntry], owners: Sequence[str]) -> Figure:
    """Instructions per request of each entry, one horizontal bar stacked by who spent them (``owners``, the
    largest first: the first few apart, the rest together), the cheapest entry on top."""
    shown, rest = owners[: len(SHARE_COLOURS) - 1], owners[len(SHARE_COLOURS) - 1 :]
    ordered = sorted(entries, key=lambda entry: -entry.per_request)
    with styled():
        figure, axes = plt.subplots(figsize=(9.0, 0.9 + 0.32 * len(ordered)))
        labels = [f"{entry.server} {request_label(entry.endpoint)} ({entry.model})" for entry in ordered]
        left = np.zeros(len(ordered))
        for index, group in enumerate([[owner] for owner in shown] + ([rest] if rest else [])):
            # by_distribution is the first repeat's; scaled to the median repeat so a bar ends at the table's figure
            widths = np.array([
                sum(e.by_distribution.get(owner, 0.0) for owner in group) * e.per_request
                / max(sum(e.by_distribution.values()), 1.0) for e in ordered
            ])  # fmt: skip
            name = group[0] if len(group) == 1 else f"{len(group)} more"
            axes.barh(labels, widths, left=left, color=SHARE_COLOURS[index], label=name, edgecolor="white")
            left += widths
        axes.set_xlabel("instructions per request (user space, the server's whole process tree)")
        axes.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.0f}"))
        axes.set_title("Where a request's instructions go: by the object file that spent them, grouped by owner")
        axes.legend(frameon=False, ncols=2, loc="upper center", bbox_to_anchor=(0.5, -0.12 - 1.2 / len(ordered)))
        return figure


def waterfall(chain: Chain) -> Figure:
    """The chart's FastAPI/Flask factor taken apart: from the chart's Flask (1x) each step's bar climbs or falls
    by its ratio (95% interval as whiskers, on a log axis, so bars add up as the ratios multiply) to the chart's
    FastAPI; the last bar is the end-to-end ratio. A hatched bar: a side's figure was not the server's own."""
    with styled():
        figure, axes = plt.subplots(figsize=(9.0, 4.2))
        level = 1.0
        labels = []
        for index, step in enumerate(chain.steps):
            after = level * step.ratio.ratio
            low, high = sorted((level, after))
            axes.bar(index, high - low, bottom=low, color="#009E73" if after >= level else "#D55E00",
                     hatch="//" if step.lower_bound else None, edgecolor="white", width=0.7)  # fmt: skip
            if step.ratio.ci_low is not None and step.ratio.ci_high is not None:
                axes.errorbar(index, after, yerr=[[after - level * step.ratio.ci_low],
                                                  [level * step.ratio.ci_high - after]],
                              color="black", capsize=3, linewidth=1)  # fmt: skip
            axes.annotate(f"{step.ratio.ratio:.2f}x", (index, high), ha="center", va="bottom", fontsize=8,
                          xytext=(0, 3), textcoords="offset points")  # fmt: skip
            labels.append(step.link.factor)
            level = after
        end = chain.end_to_end
        low, high = sorted((1.0, end.ratio))
        axes.bar(len(chain.steps), high - low, bottom=low, color="#0072B2", width=0.7)
        axes.annotate(f"{end.ratio:.2f}x", (len(chain.steps), max(end.ratio, 1.0)), ha="center", va="bottom",
                      fontsize=8, xytext=(0, 3), textcoords="offset points")  # fmt: skip
        labels.append("end to end")
        axes.axhline(1.0, color="grey", linewidth=1)
        axes.axhline(CLAIM_FACTOR, color="grey", linestyle="--", linewidth=1)
        readable_log(axes)
        axes.set_xticks(range(len(labels)), labels, fontsize=8)
        axes.set_ylabel("FastAPI / Flask, cumulative")
        axes.set_title(f"{endpoint_label(chain.endpoint)}: from the chart's Flask to its FastAPI, one factor a step "
                       f"(dashed: the claim, {CLAIM_FACTOR:g}x)")  # fmt: skip
        return figure
