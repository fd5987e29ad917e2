"""The report, from stored fixture folders: verdicts, a self-contained page, and a real headless browser."""

from __future__ import annotations

import os
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path
from xml.etree import ElementTree

import pytest
from markupsafe import escape

from bench.analysis.chain import chain_sentence, chains
from bench.analysis.claim import LITSERVE, claim_rule, headline, verdicts
from bench.analysis.cost import COUNTED, NOT_COUNTED, compare_costs
from bench.cli import main
from bench.config import load_config
from bench.limits import LIMITS
from bench.registry import BUILT_IN
from bench.report.cost import build_cost_report
from bench.report.html import build_report
from bench.reproduce import compare
from bench.results import Verdict, cost_path, load_cost, load_summary, write_cost, write_reproduction, write_summary

FIXTURES = Path(__file__).parent / "fixtures"
RESULTS = Path(__file__).parents[1] / "results"  # committed runs: the report over releases is one
SVG = "{http://www.w3.org/2000/svg}"
NUMBER = re.compile("^[\u2212-]?[\\d,.]+$")  # a tick label that is a number (matplotlib's minus is U+2212)
# In the browser: each plot's axes, each as its tick labels' text, as drawn.
TICK_LABELS_JS = """() => Array.from(document.querySelectorAll('svg')).map(svg =>
  Array.from(svg.querySelectorAll('g[id^="matplotlib.axis_"]')).map(axis =>
    Array.from(axis.querySelectorAll('g[id^="xtick_"] text, g[id^="ytick_"] text'))
      .map(text => text.textContent.replace(/\\s/g, '')).filter(label => label)))"""


def unreadable_axes(plots: list[list[list[str]]]) -> list[str]:
    """The numeric axes that carry fewer than two numbers (a reader cannot tell the scale from one)."""
    return [
        f"plot {index}, axis {number}: {labels}"
        for index, axes in enumerate(plots)
        for number, labels in enumerate(axes)
        if 0 < sum(bool(NUMBER.match(label)) for label in labels) < 2
    ]


def svg_tick_labels(svg: str) -> list[list[str]]:
    """One plot's axes, each as its tick labels' text without spaces (the SVG keeps text as text; a power of ten
    is drawn as two pieces of text, which read as one number)."""
    root = ElementTree.fromstring(svg)  # noqa: S314 -- the SVG this project's report just drew
    return [
        [re.sub(r"\s", "", "".join(text.itertext())) for tick in axis.iter(f"{SVG}g")
         if re.fullmatch(r"[xy]tick_\d+", tick.get("id", "")) for text in tick.iter(f"{SVG}text")]
        for axis in root.iter(f"{SVG}g") if axis.get("id", "").startswith("matplotlib.axis_")
    ]  # fmt: skip


@pytest.mark.parametrize("folder", [FIXTURES / "holds", FIXTURES / "matrix", FIXTURES / "sweep", RESULTS / "database",
                                    RESULTS / "gunicorn-releases", FIXTURES / "chain"],
                         ids=lambda f: f.name)  # fmt: skip
def test_every_numeric_axis_of_every_plot_carries_two_numbers_or_more(tmp_path: Path, folder: Path) -> None:
    page = build_report(folder, tmp_path)
    plots = [svg_tick_labels(path.read_text()) for path in sorted(page.parent.glob("*.svg"))]
    assert plots and all(plots)
    assert unreadable_axes(plots) == []


def test_the_throughput_plot_claims_an_interval_only_where_it_draws_one(tmp_path: Path) -> None:
    five = tmp_path / "five"
    shutil.copytree(FIXTURES / "holds", five)
    summary = load_summary(five)
    kept = [s for s in summary.scenarios if s.repeat <= 5]
    write_summary(five, summary.model_copy(update={"scenarios": kept, "verdicts": verdicts(kept, MARGIN, BUILT_IN)}))
    for folder, drawn in ((FIXTURES / "holds", True), (five, False)):
        svg = (build_report(folder, tmp_path / folder.name).parent / "throughput.svg").read_text()
        root = ElementTree.fromstring(svg)  # noqa: S314 -- the SVG this project's report just drew
        title = " ".join(" ".join(text.itertext()) for text in root.iter(f"{SVG}text"))
        assert ("95% interval" in title and "no 95% interval" not in title) == drawn, title
        assert ("no 95% interval: fewer than 6 rounds" in title) == (not drawn), title


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
MARGIN = load_config().claim_margin
SECTIONS = {"verdict", "warnings", "ratios", "plots", "scenarios", "methodology", "environment", "reproduce"}


@pytest.mark.parametrize(
    "fixture, expected, reason",
    [
        ("holds", "holds", "lies within the band 1.82-2.20"),
        ("refuted", "refuted", "lies below the band 1.82-2.20: slower than claimed"),
        ("client_bound", "inconclusive", "client"),
    ],
)
def test_throughput_verdicts(fixture: str, expected: str, reason: str) -> None:
    found = [
        v for v in verdicts(load_summary(FIXTURES / fixture).scenarios, MARGIN, BUILT_IN) if v.metric == "throughput"
    ]
    assert {v.endpoint for v in found} == {"get", "put"}
    for verdict in found:
        assert isinstance(verdict, Verdict) and verdict.verdict == expected, verdict
        assert reason in verdict.reason
        assert verdict.ci_low is not None and verdict.ci_high is not None and verdict.ratio is not None
        assert verdict.ci_low <= verdict.ratio <= verdict.ci_high
        assert (verdict.numerator, verdict.denominator) == ("fastapi-uvicorn", "flask-gunicorn-sync")
        assert verdict.rounds == 6 and (round(verdict.band_low, 2), verdict.band_high) == (1.82, 2.2)


def test_fewer_than_six_repeats_give_no_verdict() -> None:
    scenarios = load_summary(FIXTURES / "holds").scenarios
    five = [s for s in scenarios if s.repeat <= 5]
    assert {v.verdict for v in verdicts(scenarios, MARGIN, BUILT_IN)} == {"holds"}
    for verdict in verdicts(five, MARGIN, BUILT_IN):
        assert verdict.verdict == "inconclusive"
        assert verdict.reason == "5 round(s): a 95% interval of a median needs at least 6"
        assert verdict.ratio is not None and verdict.ci_low is None and verdict.ci_high is None
    assert "95% CI" not in headline(verdicts(five, MARGIN, BUILT_IN))


def test_client_bound_run_still_judges_server_cpu_and_wrk() -> None:
    found = verdicts(load_summary(FIXTURES / "client_bound").scenarios, MARGIN, BUILT_IN)
    for metric in ("cpu_efficiency", "throughput_wrk"):
        judged = [v for v in found if v.metric == metric]
        assert len(judged) == 2 and all(v.verdict != "inconclusive" for v in judged), judged


class Page(HTMLParser):
    """Collects section ids and every attribute or style that could fetch something."""

    def __init__(self) -> None:
        super().__init__()
        self.sections: set[str] = set()
        self.external: list[str] = []
        self.tags: set[str] = set()
        self.svgs = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.svgs += tag == "svg"
        values = dict(attrs)
        if tag == "section" and values.get("id"):
            self.sections.add(str(values["id"]))
        for name, value in attrs:
            if (
                name in ("src", "href", "xlink:href", "action", "srcset", "data")
                and value
                and not value.startswith("#")
            ):
                self.external.append(f"<{tag} {name}={value}>")

    def handle_data(self, data: str) -> None:
        if re.search(r"url\(\s*['\"]?(?!#)", data) or "@import" in data:
            self.external.append(data[:80])


@pytest.mark.parametrize("fixture", ["holds", "refuted", "client_bound"])
def test_page_is_complete_and_self_contained(tmp_path: Path, fixture: str) -> None:
    page_path = build_report(FIXTURES / fixture, tmp_path)
    assert page_path == tmp_path / fixture / "index.html"
    html = page_path.read_text()
    page = Page()
    page.feed(html)
    expected_sections = SECTIONS - ({"warnings"} if fixture == "holds" else set())
    expected_sections |= {"crosscheck"} if fixture == "client_bound" else set()
    assert expected_sections <= page.sections
    assert page.svgs == 4 and {"script", "link", "img", "iframe"}.isdisjoint(page.tags)
    assert not page.external, page.external
    assert {p.name for p in page_path.parent.glob("*.svg")} == {
        "throughput.svg",
        "server_cpu.svg",
        "spectrum.svg",
        "timeline.svg",
    }
    assert {
        "holds": "holds here",
        "refuted": "is refuted (slower than claimed) here",
        "client_bound": "is inconclusive here",
    }[fixture] in html


def test_a_reproduction_shows_each_ratio_move_with_its_interval(tmp_path: Path) -> None:
    folder = tmp_path / "again"
    shutil.copytree(FIXTURES / "refuted", folder)
    comparison = compare(FIXTURES / "holds", folder)
    write_reproduction(folder, comparison)
    page = Page()
    page.feed(build_report(folder, tmp_path / "reports").read_text())
    assert "reproduction" in page.sections
    html = (tmp_path / "reports" / "refuted" / "index.html").read_text()
    assert "Changed: a ratio or a verdict changed (exit 1)" in html and "Hodges-Lehmann" in html
    claim = comparison.ratios[0]
    assert claim.low95 is not None and claim.high95 is not None
    assert f"{claim.low95:+.0%} to {claim.high95:+.0%}" in html


def test_report_cli_on_bad_folders(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copytree(FIXTURES / "holds", tmp_path / "corrupt")
    (tmp_path / "corrupt" / "summary.json").write_text('{"schema_version": 1, "run_')
    shutil.copytree(FIXTURES / "holds", tmp_path / "other")
    summary = (tmp_path / "other" / "summary.json").read_text()
    summary = re.sub(r'"schema_version": \d+', '"schema_version": 0', summary, count=1)
    (tmp_path / "other" / "summary.json").write_text(summary)
    for folder in ("missing", "corrupt", "other"):
        assert main(["report", str(tmp_path / folder), "--reports-dir", str(tmp_path / "reports")]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 3 and all(line.startswith("python -m bench: error:") for line in lines)
    assert "no results folder" in lines[0] and "corrupt" in lines[1] and "schema_version" in lines[2]


@pytest.mark.skipif(
    CHROMIUM is None and not os.environ.get("CI"), reason="chromium not installed (Debian package chromium); CI has it"
)
@pytest.mark.parametrize(
    "folder", [FIXTURES / "client_bound", RESULTS / "gunicorn-releases", RESULTS / "database", RESULTS / "cost",
               FIXTURES / "chain"],
    ids=lambda f: f.name,
)  # fmt: skip
def test_page_renders_in_headless_chromium(tmp_path: Path, folder: Path) -> None:
    assert CHROMIUM is not None, "CI must install chromium"
    from PIL import Image, ImageStat
    from playwright.sync_api import sync_playwright

    counted = cost_path(folder).is_file()
    page_path = build_cost_report(folder, tmp_path) if counted else build_report(folder, tmp_path)
    title, drawn = ("What a request costs, counted", 1) if counted else ("Is FastAPI 2x faster than Flask?", 4)
    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        )  # fmt: skip
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.on("requestfailed", lambda request: problems.append(f"failed: {request.url}"))
        page.on("request", lambda request: None if request.url.startswith("file:") else problems.append(request.url))
        page.goto(page_path.as_uri())
        page.screenshot(path=tmp_path / "report.png", full_page=True)
        heading = page.locator("h1").inner_text()
        svg_boxes = [page.locator("svg").nth(i).bounding_box() for i in range(drawn)]
        plots = page.evaluate(TICK_LABELS_JS)
        browser.close()
    assert not problems, problems
    assert plots and all(plots) and unreadable_axes(plots) == []  # as drawn in the browser
    assert heading == title
    assert all(box is not None and box["width"] > 300 and box["height"] > 150 for box in svg_boxes), svg_boxes
    image = Image.open(tmp_path / "report.png").convert("L")
    assert image.height > 2000
    assert ImageStat.Stat(image).stddev[0] > 20, "the screenshot looks blank"


def test_a_cost_run_reports_the_pair_every_entry_where_it_went_and_what_a_count_leaves_out(tmp_path: Path) -> None:
    """From the committed cost run (schema 1, migrated on load): the headline pair's ratio of counts with its range,
    every entry's row, the owners' table summing to each total, the scope as bench.cost states it; counted again,
    the page shows the comparison; --recompute, which re-judges verdicts, is one line."""
    run = load_cost(RESULTS / "cost")
    page = build_cost_report(RESULTS / "cost", tmp_path).read_text()
    assert "flask-gunicorn-sync spends\n  1.34x the instructions per request of fastapi-uvicorn" in page
    assert all(f'<td class="text">{entry.server}</td>' in page for entry in run.entries)
    assert all(f"{entry.per_request:,.0f}" in page for entry in run.entries)
    for item in (*COUNTED, *NOT_COUNTED):
        assert f"<li>{escape(item)}</li>" in page, item
    plots = [svg_tick_labels(path.read_text()) for path in sorted((tmp_path / "cost").glob("*.svg"))]
    assert len(plots) == 1 and unreadable_axes(plots) == []
    again = tmp_path / "again"
    again.mkdir()
    write_cost(again, run.model_copy(update={"run_id": "again"}))
    write_reproduction(again, compare_costs(run, run, ("results/cost", "again"), 0.01))
    recounted = build_cost_report(again, tmp_path).read_text()
    assert "<h2>Counted again</h2>" in recounted and "<strong>reproduced</strong>" in recounted
    assert main(["report", str(RESULTS / "cost"), "--reports-dir", str(tmp_path), "--recompute"]) == 2


def test_a_database_run_reports_each_figures_limit_and_its_evidence(tmp_path: Path) -> None:
    """From the committed database run: the limits named with their rule, the database's evidence, the record
    of the server that was read, and the claim with each config at its best worker count."""
    page = build_report(RESULTS / "database", tmp_path).read_text()
    for heading in ("database busy", "queries/req", "outstanding", "waiting at the server", "limited by"):
        assert f"<th>{heading}</th>" in page or f'<th class="text">{heading}</th>' in page, heading
    for name, meaning in LIMITS.items():
        assert f"<b>{name}</b>: {escape(meaning)}" in page, name
    assert '<td class="text">server I/O wait</td>' in page  # Flask's sync worker waiting on its queries
    assert "PostgreSQL 18" in page and "With each config at its best worker count" in page
    assert "20 queries" in page and "QUERIES-20" not in page


def test_open_loop_sweep_report(tmp_path: Path) -> None:
    page_path = build_report(FIXTURES / "sweep", tmp_path)
    html = page_path.read_text()
    page = Page()
    page.feed(html)
    assert "open-loop" in page.sections and "ratios" not in page.sections
    assert (page_path.parent / "latency_vs_load.svg").is_file() and page.svgs == 1
    assert "is not tested by this run" in html


def test_the_cited_chain_is_drawn_as_a_waterfall_with_its_table_and_sentence(tmp_path: Path) -> None:
    page_path = build_report(FIXTURES / "chain", tmp_path)
    html = page_path.read_text()
    page = Page()
    page.feed(html)
    assert "cited" in page.sections and not page.external
    assert {"waterfall-get.svg", "waterfall-put.svg"} <= {p.name for p in page_path.parent.glob("*.svg")}
    for chain in chains(load_summary(FIXTURES / "chain").scenarios):
        assert escape(chain_sentence(chain)) in html
        waterfall = (page_path.parent / f"waterfall-{chain.endpoint}.svg").read_text()
        assert all(step.link.factor in waterfall for step in chain.steps) and "end to end" in waterfall


def test_matrix_report_has_the_heatmap_and_the_conditions_sentence(tmp_path: Path) -> None:
    found = [v for v in load_summary(FIXTURES / "matrix").verdicts if v.metric == "throughput"]
    assert len(found) == 3 * 2 * 3 * 2  # FastAPI configs x Flask configs x models x endpoints
    by_model = {model: [v.verdict for v in found if v.model == model] for model in ("rule", "sklearn")}
    assert "holds" in by_model["rule"] and set(by_model["sklearn"]) == {"refuted"}  # the model's cost dominates
    page_path = build_report(FIXTURES / "matrix", tmp_path)
    html = page_path.read_text()
    page = Page()
    page.feed(html)
    assert "conditions" in page.sections and page.svgs == 5 and not page.external
    heatmap = (page_path.parent / "heatmap.svg").read_text()
    assert heatmap.count("holds") >= 1 and heatmap.count("refuted") >= 12
    assert "fastapi-def-uvicorn / flask-gunicorn-gthread" in heatmap and "sklearn" in heatmap
    assert "depends on the conditions. With the rule model it holds in 8 of 12 cells" in html


def test_litserves_claim_is_judged_beside_the_seeds_and_by_its_own_rule(tmp_path: Path) -> None:
    """The committed deploy run: LitServe's "at least 2x" over FastAPI in its own section, the seed's headline
    on FastAPI and Flask alone."""
    summary = load_summary(RESULTS / "deploy")
    litserve = [v for v in summary.verdicts if v.claim == LITSERVE.text]
    assert litserve and all(v.numerator == "litserve-batched" and v.band_high is None for v in litserve)
    assert {v.denominator for v in litserve} == {"fastapi-uvicorn", "fastapi-def-uvicorn", "fastapi-parity"}
    page = build_report(RESULTS / "deploy", tmp_path).read_text()
    other = page.split('id="other-claims"', 1)[1].split("</section>", 1)[0]
    assert escape(claim_rule(0.10, LITSERVE)) in other
    assert all(f"{v.ratio:.2f}x" in other for v in litserve)
    assert "litserve" not in page.split('id="verdict"', 1)[1].split("</section>", 1)[0]
