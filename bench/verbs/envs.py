"""``bench envs [--clear]``: the cached environments of version sets, or their removal."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import versions


@dataclass(frozen=True)
class Environments:
    folder: Path  # where they are cached
    cached: list[dict[str, Any]] = field(default_factory=list)  # label, folder, bytes, complete
    removed: int | None = None  # with --clear: how many were removed


def environments(clear: bool) -> Environments:
    folder = versions.cache_folder() / "envs"
    if clear:
        return Environments(folder, removed=versions.clear())
    return Environments(folder, versions.cached())
