"""Version sets: the servers under other releases of their packages (``--vary PACKAGE=V1,V2``).

A version set is a few exact pins, such as gunicorn 23.0.0. It gets its own virtual environment in a cache
outside the repository (``$TITANIC_BENCH_CACHE``, else ``~/.cache/titanic-bench``), keyed by the pins,
this Python, and what the harness's environment has installed, which pins everything not varied: a set
differs from the harness's environment in its pins alone. Its servers run from that environment's Python
with the project's ``apps`` on their path; the harness and Locust stay where they are.

A server config that declares a varied package among its ``packages`` (or declares none, so might use
it) runs once per version set, under a derived name, ``CONFIG@PACKAGE-VERSION``; one that does not depend
on it runs once, from the harness's environment. Derived configs join a run's registry
(``Registry.with_versions``) like a user's, so every later step (rounds, analysis, report) treats them as
server configs.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

import apps
from bench.errors import BenchError
from bench.server_configs import ServerConfig

CACHE_ENV_VAR = "TITANIC_BENCH_CACHE"
SEPARATOR = "@"  # between a config's name and its version set's label
INSTALL_TIMEOUT = 900.0  # seconds for one environment's pip install
APP_PACKAGES = ("pydantic", "numpy", "scikit-learn", "skops")  # what the apps import beside their frameworks
RECORD = "version-set.json"  # written last into an environment: one without it is incomplete, and is rebuilt


def canonical(name: str) -> str:
    """A distribution's name as the package index compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class VersionSet:
    """Exact pins, one version per varied package, sorted by package."""

    pins: tuple[tuple[str, str], ...]

    @property
    def label(self) -> str:
        """``gunicorn-23.0.0``: how names, the console and the report call it."""
        return "+".join(f"{package}-{version}" for package, version in self.pins)

    @property
    def requirements(self) -> list[str]:
        return [f"{package}=={version}" for package, version in self.pins]


@dataclass(frozen=True)
class Derived:
    """A config run from a version set's environment: which config, under which set."""

    base: str
    version_set: VersionSet


class InstalledSet(BaseModel):
    """A version set's environment, as a manifest records it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    label: str
    pins: dict[str, str]
    python: str
    installed: dict[str, str]  # every distribution in it, with its version


def parse_vary(texts: list[str]) -> dict[str, list[str]]:
    """``--vary gunicorn=23.0.0,25.3.0`` (repeatable) as {package: versions}; one line when malformed."""
    vary: dict[str, list[str]] = {}
    for text in texts:
        package, _, versions = text.partition("=")
        names = [version.strip() for version in versions.split(",") if version.strip()]
        if not package.strip() or not names:
            raise BenchError(f"--vary {text!r}: expected PACKAGE=V1,V2 (for example gunicorn=23.0.0,27.0.1)")
        vary[canonical(package.strip())] = names
    return vary


def depends_on(config: ServerConfig, package: str) -> bool:
    """Whether ``config`` may run on ``package``: it declares it, or declares nothing."""
    return not config.packages or package in {canonical(name) for name in config.packages}


def sets_for(config: ServerConfig, vary: dict[str, list[str]]) -> list[VersionSet]:
    """The version sets ``config`` runs under: one per combination of the varied packages it depends on
    (none: it does not depend on any, and runs from the harness's environment)."""
    relevant = [package for package in sorted(vary) if depends_on(config, package)]
    combinations = itertools.product(*(vary[package] for package in relevant))
    return [VersionSet(tuple(zip(relevant, versions, strict=True))) for versions in combinations] if relevant else []


def cache_folder() -> Path:
    return Path(os.environ.get(CACHE_ENV_VAR) or Path.home() / ".cache" / "titanic-bench")


@functools.cache
def harness_pins(excluded: frozenset[str]) -> list[str]:
    """``name==version`` of every distribution the harness's environment has, but the varied ones and the
    project itself: a version set's environment agrees with the harness's in everything else."""
    pins = {
        canonical(dist.metadata["Name"]): dist.version
        for dist in metadata.distributions()
        if dist.metadata["Name"] and canonical(dist.metadata["Name"]) not in {*excluded, "titanic-bench"}
    }
    return [f"{name}=={version}" for name, version in sorted(pins.items())]


def varied(version_set: VersionSet) -> frozenset[str]:
    return frozenset(package for package, _ in version_set.pins)


def environment_folder(version_set: VersionSet, packages: list[str]) -> Path:
    """Where the set's environment lives: named by its label and a hash of everything it is made from
    (``packages``: what it installs beside the pins, ``Registry.install_list``)."""
    made_from = [version_set.requirements, sys.version, packages, harness_pins(varied(version_set))]
    key = hashlib.sha256(json.dumps(made_from).encode()).hexdigest()[:16]
    return cache_folder() / "envs" / f"{version_set.label}-{key}"


def pip_failure(output: str) -> str:
    """pip's own reason in one line: its first ERROR line, else its last line."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("ERROR")]
    return (errors or lines or ["pip failed without a message"])[0 if errors else -1][:300]


def ensure(version_set: VersionSet, packages: list[str]) -> InstalledSet:
    """The set's environment, created and installed unless the cache has it whole; ``BenchError`` (one line,
    pip's reason) when a pinned version cannot be installed here. ``packages``: what it installs beside the
    pins (``Registry.install_list``)."""
    folder = environment_folder(version_set, packages)
    record = folder / RECORD
    if record.is_file():
        return InstalledSet.model_validate_json(record.read_text())
    shutil.rmtree(folder, ignore_errors=True)
    folder.parent.mkdir(parents=True, exist_ok=True)
    python = folder / "bin" / "python"
    constraints = folder / "constraints.txt"
    try:
        subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True, capture_output=True, timeout=300)
        constraints.write_text("\n".join(harness_pins(varied(version_set))) + "\n")
        done = subprocess.run(
            [str(python), "-m", "pip", "install", "--disable-pip-version-check", "--quiet", "-c", str(constraints),
             *version_set.requirements, *packages],
            capture_output=True, text=True, timeout=INSTALL_TIMEOUT, check=False,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError) as error:
        shutil.rmtree(folder, ignore_errors=True)
        raise BenchError(f"{version_set.label}: no environment: {error}") from None
    if done.returncode != 0:
        shutil.rmtree(folder, ignore_errors=True)
        raise BenchError(f"{version_set.label} cannot be installed here: {pip_failure(done.stderr + done.stdout)}")
    installed = InstalledSet(
        label=version_set.label, pins=dict(version_set.pins), python=str(python), installed=installed_in(python)
    )
    temporary = record.with_suffix(".tmp")
    temporary.write_text(installed.model_dump_json(indent=2))
    temporary.replace(record)
    return installed


def install(
    version_sets: list[VersionSet], packages: list[str], vary: dict[str, list[str]], say: Callable[[str], None]
) -> dict[str, list[str]]:
    """Each of ``version_sets`` installed with ``packages``, or found whole in the cache; ``vary`` without the
    versions of a set that could not be installed, each such set named in one line through ``say``."""
    failed: set[tuple[str, str]] = set()
    for version_set in version_sets:
        folder = environment_folder(version_set, packages)
        if not (folder / RECORD).is_file():
            say(f"installing {version_set.label} into {folder} (once: it is cached)")
        try:
            ensure(version_set, packages)
        except BenchError as error:
            say(f"skipped: {error}")
            failed.update(version_set.pins)
    kept = {package: [v for v in versions if (package, v) not in failed] for package, versions in vary.items()}
    for package, versions in kept.items():
        if not versions:
            raise BenchError(f"no version of {package} asked for could be installed here")
    return kept


def installed_in(python: Path) -> dict[str, str]:
    """Every distribution in an environment, with its version, asked of its own Python."""
    script = (
        "import importlib.metadata as m, json; "
        "print(json.dumps({d.metadata['Name']: d.version for d in m.distributions()}))"
    )
    done = subprocess.run([str(python), "-c", script], capture_output=True, text=True, timeout=60, check=True)
    found: dict[str, str] = json.loads(done.stdout)
    return dict(sorted(found.items(), key=lambda item: canonical(item[0])))


def apps_path() -> Path:
    """A folder holding only the project's ``apps`` (a link to it), for a version set's Python to import
    them by: the harness's own site-packages on that path would bring its versions along."""
    source = Path(apps.__file__).resolve().parent
    folder = cache_folder() / "apps" / hashlib.sha256(str(source).encode()).hexdigest()[:16]
    link = folder / "apps"
    if not link.is_symlink() or link.resolve() != source:
        folder.mkdir(parents=True, exist_ok=True)
        temporary = folder / f"apps.{os.getpid()}.tmp"
        temporary.unlink(missing_ok=True)
        temporary.symlink_to(source, target_is_directory=True)
        temporary.replace(link)
    return folder


def cached() -> list[dict[str, Any]]:
    """The environments in the cache: each one's label, folder, size and whether it is whole."""
    envs = cache_folder() / "envs"
    found = []
    for folder in sorted(envs.iterdir()) if envs.is_dir() else []:
        record = folder / RECORD
        size = sum(path.stat().st_size for path in folder.rglob("*") if path.is_file() and not path.is_symlink())
        label = InstalledSet.model_validate_json(record.read_text()).label if record.is_file() else folder.name
        found.append({"label": label, "folder": str(folder), "bytes": size, "complete": record.is_file()})
    return found


def clear() -> int:
    """Remove every cached environment; how many there were."""
    count = len(cached())
    shutil.rmtree(cache_folder() / "envs", ignore_errors=True)
    return count
