"""What the counting tools write, read: callgrind's profiles (instructions, by the object file that spent them)
and strace's summary table (system calls by name), and the distribution an object file belongs to.

Callgrind sees machine code, not Python frames: every pure-Python line (a framework's, a server's, the
standard library's) runs inside the interpreter's own functions, so it is counted as the interpreter's. What
it does tell apart is each compiled extension (pydantic-core, httptools, uvloop, asyncpg...), the C library
and the interpreter.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from functools import cache
from importlib.metadata import packages_distributions
from pathlib import Path

from bench.versions import canonical

INTERPRETER = "the interpreter (with all pure-Python code)"
C_LIBRARY = "the C library and loader"
STANDARD_C_MODULES = "the standard library's C modules"
OTHER = "other"
# A cost line: a position (absolute, relative +n/-n, or * for the same), then the event counts.
COST_LINE = re.compile(r"^([+-]?\d+|\*)(?:\s+(\d+))?")
NAMED = re.compile(r"^\((\d+)\)(?:\s+(.*))?$")  # callgrind's compressed names: "(3) name" once, then "(3)"
# Each kind of name has its own compression table: objects, files, functions.
TABLES = {"ob": "object", "cob": "object", "fl": "file", "fi": "file", "fe": "file", "cfi": "file", "cfl": "file",
          "fn": "function", "cfn": "function"}  # fmt: skip


@dataclass(frozen=True)
class CallgrindCounts:
    """One profile's instructions: the total callgrind recorded and each object file's own (self) share."""

    total: int
    by_object: dict[str, int]


def parse_callgrind(text: str) -> CallgrindCounts:
    """Instructions (``Ir``, the first event) of one callgrind output file: ``totals:`` (or ``summary:``), and
    the self cost of each object file, from its functions' cost lines (the inclusive cost after a ``calls=``
    line belongs to the callee, already counted where it was spent)."""
    names: dict[str, dict[str, str]] = {table: {} for table in set(TABLES.values())}
    by_object: Counter[str] = Counter()
    total: int | None = None
    current, after_call = "???", False
    for line in text.splitlines():
        key, equals, value = line.partition("=")
        if equals and key in TABLES:
            name = _name(value, names[TABLES[key]])  # every definition read, so later references resolve
            if key == "ob":  # the object the following cost lines were spent in
                current = name
        elif line.startswith("calls="):
            after_call = True
        elif line.startswith(("totals:", "summary:")):
            total = int(line.split(":", 1)[1].split()[0])
        elif (match := COST_LINE.match(line)) and match.group(2) is not None:
            if not after_call:
                by_object[current] += int(match.group(2))
            after_call = False
    if total is None:
        raise ValueError("not a callgrind profile: no totals or summary line")
    return CallgrindCounts(total, dict(by_object))


def _name(value: str, names: dict[str, str]) -> str:
    match = NAMED.match(value.strip())
    if not match:
        return value.strip()
    number, name = match.groups()
    if name is not None:
        names[number] = name
    return names.get(number, value.strip())


def parse_strace_summary(text: str) -> dict[str, int]:
    """System calls by name from ``strace -c``'s table (the rows between its dashed rules, not the total)."""
    calls: dict[str, int] = {}
    rules = 0
    for line in text.splitlines():
        if line.startswith("------"):
            rules += 1
            continue
        parts = line.split()
        if rules == 1 and len(parts) in (5, 6) and parts[3].isdigit():
            calls[parts[-1]] = calls.get(parts[-1], 0) + int(parts[3])
    if rules < 2:
        raise ValueError("not an strace -c summary: no table")
    return calls


@cache
def _top_level_distributions() -> dict[str, str]:
    return {top: canonical(names[0]) for top, names in packages_distributions().items() if names}


def distribution_of(object_file: str) -> str:
    """Who the code of an object file belongs to: an installed distribution (by its top-level package), the
    interpreter, the standard library's C modules or the C library."""
    path = Path(object_file)
    if "site-packages" in path.parts:
        index = path.parts.index("site-packages")
        top = path.parts[index + 1] if len(path.parts) > index + 1 else ""
        top = top.split(".")[0] if top.endswith(".so") else top
        if top.endswith(".libs"):  # a wheel's vendored libraries: numpy.libs, scikit_learn.libs
            top = top.removesuffix(".libs")
        return _top_level_distributions().get(top) or canonical(top) or OTHER
    if path.name.startswith(("python", "libpython")):
        return INTERPRETER
    if path.parent.name == "lib-dynload":  # the interpreter's own extension modules (_json, _asyncio...)
        return STANDARD_C_MODULES
    if path.name.startswith(("libc.so", "libc-", "ld-linux", "libm.so", "libpthread", "libdl", "vgpreload")):
        return C_LIBRARY
    return OTHER
