"""``bench report``: a self-contained HTML page (inline SVG, inline CSS, no scripts) from a results folder."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import TypeVar

from jinja2 import Environment, PackageLoader, StrictUndefined, Template, select_autoescape
from pydantic import BaseModel

from bench.analysis import agreement, chain, claim, close, decomposition, ratios, releases, select, warnings
from bench.analysis.workers import at_best, at_best_sentence
from bench.atomic import write_text_atomically
from bench.closing import CLOSE_STYLES
from bench.config import command_for
from bench.errors import BenchError
from bench.limits import CLIENT_BOUND_PERCENT, LIMITS, MIN_SERVER_BUSY, QUEUE_INTERVAL_SECONDS
from bench.report import plots
from bench.reproduce import EXIT_CODES, OUTCOME_RULES, Reproduction
from bench.results import (
    MAX_FAILURE_RATIO,
    MIB,
    NEAR_CLIENT_LIMIT,
    DatabaseRecord,
    Manifest,
    Scenario,
    load_manifest,
    load_reproduction,
    load_summary,
)
from bench.server_configs import ENGINE_NAMES
from bench.versions import canonical
from bench.workload import endpoint_label

INDEX = "index.html"
Stored = TypeVar("Stored", bound=BaseModel)


def fmt_ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def fmt_interval(low: float | None, high: float | None) -> str:
    return "-" if low is None or high is None else f"{low:.2f} - {high:.2f}"


def fmt_hundredths(value: float | None) -> str:
    """Milliseconds and busy shares: two decimals."""
    return "-" if value is None else f"{value:.2f}"


def caveats(comparison: ratios.Comparison) -> str:
    marks = {
        "client-bound": comparison.client_bound,
        "under-driven": comparison.under_driven,
        "failures": comparison.invalid,
        f"under {claim.MIN_VERDICT_ROUNDS} rounds": comparison.rounds < claim.MIN_VERDICT_ROUNDS,
    }
    return ", ".join(mark for mark, applies in marks.items() if applies)


def scenario_flags(scenario: Scenario) -> str:
    if scenario.error:
        return f"not measured: {scenario.error}"
    marks = {
        "under-driven": scenario.under_driven,
        "under-driven under wrk": scenario.wrk_under_driven,
        "client-bound": scenario.client_bound,
        "near client limit": scenario.near_client_limit and not scenario.client_bound,
        "invalid": not scenario.valid,
    }
    return "; ".join(mark for mark, applies in marks.items() if applies)


def ceiling_text(manifest: Manifest, user_class: str) -> str:
    ceiling = manifest.client_ceiling
    figures = ceiling.user_classes.get(user_class) if ceiling else None
    if figures is None:
        return f"not measured ({manifest.client_ceiling_error or 'no record'})"
    return (
        f"{figures.keepalive_rps:,.0f} requests/s with keep-alive, "
        f"{figures.new_connection_rps:,.0f} with a new connection per request"
    )


def environment_rows(manifest: Manifest) -> list[tuple[str, str]]:
    environment, git = manifest.environment, manifest.environment.git
    rows = [
        ("host", f"{environment.hostname} ({environment.platform})"),
        ("CPU", f"{environment.cpu_model}, {environment.cpu_count} cores"),
        ("Python", f"{environment.python} ({environment.python_implementation})"),
        ("git commit", f"{git.commit}{' (dirty tree)' if git.dirty else ''}"),
        ("load average before", ", ".join(f"{x:.2f}" for x in environment.load_average_before)),
        ("constraints.txt sha256", str(environment.constraints_sha256)),
        ("started / finished (UTC)", f"{manifest.started_utc} / {manifest.finished_utc}"),
    ]
    for engine, database in manifest.databases.items():
        where = f"embedded, pinned to CPU {database.cpus}, run as {database.user}" if database.embedded else "existing"
        rows.append((f"database ({engine})", f"{ENGINE_NAMES.get(engine, engine)} {database.version} ({where}, "
                                             f"{database.passengers} passengers)"))  # fmt: skip
        rows.append((f"{engine} settings", ", ".join(f"{name}={value}" for name, value in database.settings.items())))
    rows += [(name, str(version)) for name, version in environment.packages.items()]
    measured = {canonical(name) for name in environment.packages}
    for installed in manifest.version_sets:
        differing = {name: version for name, version in installed.installed.items() if canonical(name) in measured}
        rows.append((f"version set {installed.label}",
                     ", ".join(f"{name} {version}" for name, version in differing.items())))  # fmt: skip
    return rows


def database_of(manifest: Manifest, scenarios: list[Scenario]) -> DatabaseRecord | None:
    """The database a run read, where any of its scenarios read one (None otherwise)."""
    if not any(s.queries_per_request is not None or s.database_busy is not None for s in scenarios):
        return None
    return next(iter(manifest.databases.values()), None) or DatabaseRecord(
        url="?", embedded=False, version="?", settings={}, cpus=[], user=None, data_directory=None, passengers=0
    )  # fmt: skip


def reproduction_of(folder: Path, kind: type[Stored]) -> Stored | None:
    """``bench reproduce``'s comparison stored in ``folder`` (a run's ``Reproduction``, a cost run's
    ``CostComparison``), if any."""
    stored = load_reproduction(folder)
    try:
        return kind.model_validate(stored) if stored is not None else None
    except ValueError:
        raise BenchError(
            f"{folder}/reproduction.json is corrupt or older than this titanic-bench: run compare"
        ) from None


def template(name: str) -> Template:
    """One of the report's Jinja2 templates, escaping what it is given and refusing an undefined name."""
    return Environment(
        loader=PackageLoader("bench.report"), autoescape=select_autoescape(), undefined=StrictUndefined
    ).get_template(name)


def render(folder: Path, recompute: bool = False) -> tuple[str, dict[str, str]]:
    """The page's HTML and its plots as SVG text, from the stored results alone: the verdicts the run
    recorded, or with ``recompute`` the verdicts of today's rules (the page says which)."""
    summary = load_summary(folder)
    manifest = load_manifest(folder)
    config = manifest.config
    scenarios, registry = summary.scenarios, config.registry
    judged = claim.verdicts(scenarios, config.claim_margin, registry) if recompute else summary.verdicts
    verdicts = claim.of_claim(judged, claim.SEED)
    others = [v for v in judged if v.claim != claim.SEED.text]
    other_rules = {c.text: claim.claim_rule(config.claim_margin, c) for c in claim.CLAIMS[1:]
                   if claim.of_claim(others, c)}  # fmt: skip
    effects = close.close_effects(scenarios, registry)
    closed, opened = select.closed_loop(scenarios), select.open_loop(scenarios)
    cells = {(v.numerator, v.denominator, v.model, v.workers) for v in verdicts}
    condition = select.condition_namer(scenarios)

    def pairing(numerator: str, denominator: str, model: str, workers: int, close_style: str | None) -> str:
        """``fastapi-uvicorn / flask-gunicorn-sync``, with the model and workers where the run has several,
        and the client's close style where a server closes each connection."""
        named = ", ".join(filter(None, [condition(model, workers), select.close_name(close_style)]))
        return f"{numerator} / {denominator}" + (f" ({named})" if named else "")

    svgs = {}
    if len(cells) > 1:
        svgs["heatmap"] = plots.to_svg(plots.ratio_heatmap(verdicts))
    if closed:
        svgs["throughput"] = plots.to_svg(plots.throughput(closed, registry))
        svgs["server_cpu"] = plots.to_svg(plots.server_cpu(closed, registry))
        svgs["spectrum"] = plots.to_svg(plots.spectrum(folder, closed, registry))
        svgs["timeline"] = plots.to_svg(plots.timeline(folder, closed, registry))
    over_releases = releases.releases(scenarios, registry)
    if over_releases:
        svgs["releases"] = plots.to_svg(plots.releases(over_releases, registry))
    cited = chain.chains(scenarios)
    for found in cited:
        svgs[f"waterfall-{found.endpoint}"] = plots.to_svg(plots.waterfall(found))
    if any(s.load_share is not None for s in opened):
        svgs["latency_vs_load"] = plots.to_svg(plots.latency_vs_load(opened, registry))
    environment = manifest.environment
    page = template("report.html").render(
        run_id=summary.run_id,
        started=manifest.started_utc,
        machine=f"{environment.cpu_model} ({environment.cpu_count} cores)",
        headline=claim.headline(verdicts),
        close_sentence=close.close_sentence(effects),
        decomposition_sentence=decomposition.decomposition_sentence(decomposition.decompositions(scenarios, registry)),
        chains=cited,
        chain_sentence=chain.chain_sentence,
        at_best_sentence=at_best_sentence(at_best(scenarios, config.claim_margin, registry)),
        database=database_of(manifest, scenarios),
        memory=any(s.server_memory is not None for s in scenarios),
        mib=MIB,
        limits=LIMITS,
        endpoint_label=endpoint_label,
        releases=over_releases,
        release_sentence=releases.release_sentence(over_releases),
        close_name=select.close_name,
        close_effects=effects,
        close_styles=CLOSE_STYLES,
        overall=claim.overall_verdict([v for v in verdicts if v.metric == "throughput"]),
        verdicts=verdicts,
        other_claims=claim.claim_sentences(others),
        other_rules=other_rules,
        other_verdicts=others,
        recomputed=recompute,
        rounds=max((s.repeat for s in scenarios), default=0),
        rules_judged_by=sorted({v.rule for v in verdicts}),
        todays_rule=claim.claim_rule(config.claim_margin),
        interval_method=claim.INTERVAL_METHOD,
        steadiness=manifest.machine,
        precision=manifest.precision,
        noisy_rounds=claim.rounds_for_target(scenarios, registry),
        target_precision=claim.TARGET_PRECISION,
        comparisons=ratios.comparisons(scenarios, registry),
        agreements=agreement.agreements(scenarios),
        ceiling_text=ceiling_text(manifest, config.user_class),
        warnings=warnings.warnings(scenarios, manifest, registry),
        scenarios=scenarios,
        equal_load=[s for s in opened if s.load_share is None],
        reproduction=reproduction_of(folder, Reproduction),
        exit_codes=EXIT_CODES,
        outcome_rules=OUTCOME_RULES,
        open_loop=bool(opened),
        svgs=svgs,
        config=config,
        cpu_sets={"server": config.server_cpus, "client": config.client_cpus},
        locust_version=environment.packages.get("locust") or "?",
        server_commands={  # keyed <server>-w<workers>-<endpoint> (<framework>-<endpoint> before named configs)
            key.rsplit("-", 1)[0]: shlex.join(value["server"])
            for key, value in manifest.commands.items()
            if "server" in value
        },
        pairing=pairing,
        environment_rows=environment_rows(manifest),
        command_line=shlex.join(manifest.command_line or ["?"]),
        reproduce_command=shlex.join(command_for(config)),
        metric_labels=select.METRIC_LABELS,
        fmt_ratio=fmt_ratio,
        fmt_interval=fmt_interval,
        fmt_hundredths=fmt_hundredths,
        label=select.labeller(scenarios),
        rules={
            "min_rounds": claim.MIN_VERDICT_ROUNDS,
            "min_busy": f"{MIN_SERVER_BUSY:.0%}",
            "client_bound": f"{CLIENT_BOUND_PERCENT:.0f}%",
            "near_limit": f"{NEAR_CLIENT_LIMIT:.0%}",
            "failures": f"{MAX_FAILURE_RATIO:.1%}",
            "agreement": f"{agreement.AGREEMENT:.0%}",
            "factor": f"{claim.CLAIM_FACTOR:g}",
            "queue_interval": f"{QUEUE_INTERVAL_SECONDS:g}",
        },
        caveats=caveats,
        scenario_flags=scenario_flags,
    )
    return page, svgs


def build_report(folder: Path, reports_dir: Path, recompute: bool = False) -> Path:
    """Write ``reports_dir/<run-id>/index.html`` and the plots beside it; return the page's path."""
    page, svgs = render(folder, recompute)
    return write_page(reports_dir / load_summary(folder).run_id, page, svgs)


def write_page(out: Path, page: str, svgs: dict[str, str]) -> Path:
    """``out/index.html`` and each plot beside it as ``<name>.svg``; the page's path."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise BenchError(f"cannot write the report in {out}: {error.strerror or error}") from None
    for name, svg in svgs.items():
        write_text_atomically(out / f"{name}.svg", svg)
    write_text_atomically(out / INDEX, page)
    return out / INDEX
