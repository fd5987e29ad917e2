"""Atomic writes: a temporary file beside the target, flushed to disk and renamed into place, so a reader never
sees half a file (the results folder's records, the report, the recorder's latency record)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from bench.errors import BenchError


def write_text_atomically(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with temporary.open("w") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise BenchError(f"cannot write {path}: {error.strerror or error}") from None


def write_json_atomically(path: Path, content: Any) -> None:
    write_text_atomically(path, json.dumps(content, indent=2) + "\n")
