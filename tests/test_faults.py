"""Harness faults: each ends in a clear line, an incomplete folder where one exists, and no process left."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil
import pytest

from bench.errors import RUN_FAILED
from tests.servers import STARTED_PIDS

FIXTURES = Path(__file__).parent / "fixtures"
TINY = ["--endpoints", "get", "--repeats", "1", "--warmup", "1", "--duration", "2", "--users", "4", "--no-report"]


def bench(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "bench", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, check=False, cwd=tmp_path)


def error_lines(done: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in done.stderr.splitlines() if "error" in line.lower()]


@pytest.mark.slow
def test_a_server_killed_mid_measurement_fails_that_scenario_only(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "bench", "run", "--frameworks", "tornado,fastapi", *TINY, "--duration", "6",
               "--results-dir", str(tmp_path), "--run-id", "k"]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    STARTED_PIDS.add(process.pid)
    started = tmp_path / "k" / "raw" / "r1-get-tornado-rule-w1" / "latency.json.started"
    deadline = time.monotonic() + 60
    while not started.exists():
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(1.5)  # into the measured window
    servers = [p for p in psutil.Process(process.pid).children(recursive=True) if "apps.tornado_app" in p.cmdline()]
    assert servers, "the tornado server should be running"
    servers[0].kill()
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == RUN_FAILED, stderr
    summary = json.loads((tmp_path / "k" / "summary.json").read_text())
    assert summary["complete"] is False
    tornado, fastapi = sorted(summary["scenarios"], key=lambda s: s["server"] != "tornado")
    assert tornado["error"] and "exited" in tornado["error"] and not tornado["valid"]
    assert fastapi["error"] is None and fastapi["requests"] > 0


@pytest.mark.slow
def test_a_server_that_never_becomes_healthy_times_out_clearly(tmp_path: Path) -> None:
    config = tmp_path / "impatient.toml"
    config.write_text("health_timeout = 0.01\n")
    done = bench(tmp_path, "run", "--frameworks", "flask", *TINY, "--config", str(config), "--run-id", "h")
    assert done.returncode == RUN_FAILED
    summary = json.loads((tmp_path / "results" / "h" / "summary.json").read_text())
    assert "did not answer" in summary["scenarios"][0]["error"] and "/health within 0.01 s" in done.stderr


def test_a_busy_port_is_one_clear_line(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        done = bench(tmp_path, "serve", "fastapi", "--port", str(port))
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"python -m bench: error: cannot listen on 127.0.0.1:{port}: Address already in use"
    ]


def test_a_results_folder_on_an_unwritable_path_is_one_clear_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    done = bench(tmp_path, "run", "--frameworks", "flask", *TINY, "--results-dir", str(blocker / "results"))
    assert done.returncode == 2
    assert len(error_lines(done)) == 1 and "cannot create" in done.stderr and "Traceback" not in done.stderr


@contextmanager
def tmpfs(mount_point: Path, options: str) -> Iterator[Path]:
    """A small filesystem of its own at ``mount_point`` (root only), unmounted afterwards."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root (CI runs as root)")
    mount_point.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(mount_point)], capture_output=True,
                             text=True, check=False)  # fmt: skip
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", str(mount_point)], check=True)


def fill(folder: Path) -> None:
    """Write until the filesystem holding ``folder`` has no space left."""
    with (folder / "filler").open("wb") as filler, contextlib.suppress(OSError):
        while True:
            filler.write(b"\0" * 65536)
            filler.flush()


def test_a_results_folder_on_a_read_only_filesystem_is_one_clear_line(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "ro", "ro,size=1m") as read_only:
        done = bench(tmp_path, "run", "--frameworks", "flask", *TINY, "--results-dir", str(read_only / "results"))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert len(error_lines(done)) == 1 and "cannot create" in done.stderr and "Read-only file system" in done.stderr


def test_a_full_disk_is_one_clear_line_and_leaves_no_process(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "full", "size=256k") as full:
        fill(full)
        done = bench(tmp_path, "run", "--frameworks", "flask", *TINY, "--results-dir", str(full), "--run-id", "f")
        assert done.returncode == 2, done.stderr
        assert len(error_lines(done)) == 1 and "No space left on device" in done.stderr, done.stderr
        assert "Traceback" not in done.stderr
        assert not list(full.glob("f/.*.tmp")), "a partly written file was left behind"


def test_a_report_onto_a_full_disk_is_one_clear_line(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "full", "size=256k") as full:
        fill(full)
        done = bench(tmp_path, "report", str(FIXTURES / "holds"), "--reports-dir", str(full / "reports"))
    assert done.returncode == 2 and "No space left on device" in done.stderr and "Traceback" not in done.stderr
    assert len(error_lines(done)) == 1, done.stderr
