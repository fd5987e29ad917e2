"""The Layout section of the README is the map of the modules, by layer, and the data flows one way: each module
of ``bench`` is named there, and imports only from its own layer or those below it."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).parents[1]
ENTRY = re.compile(r"^(bench/[\w/.]*)")  # a map entry: a module, or a package (ending in /), then what it does


def layers() -> list[list[str]]:
    """The README's map: each layer (its title line, then its entries) as the modules and packages it names,
    top to bottom, like ``run`` or ``analysis``."""
    layout = ROOT.joinpath("README.md").read_text().split("\n## Layout\n", 1)[1].split("\n```\n", 2)[1]
    found: list[list[str]] = []
    for line in layout.splitlines():
        if line.startswith("the "):  # a layer's title
            found.append([])
        elif entry := ENTRY.match(line):
            found[-1].append(entry.group(1).removeprefix("bench/").removesuffix(".py").strip("/").replace("/", "."))
    return found


def layer_of(module: str, map_of: list[list[str]]) -> int:
    """The layer of ``bench.<module>``: its own entry, or its package's."""
    for name in (module, module.split(".", maxsplit=1)[0]):
        for index, names in enumerate(map_of):
            if name in names:
                return index
    raise AssertionError(f"bench.{module} is not in the README's Layout")


def modules() -> dict[str, Path]:
    found = {}
    for path in sorted((ROOT / "bench").rglob("*.py")):
        name = ".".join(path.relative_to(ROOT / "bench").with_suffix("").parts).removesuffix(".__init__")
        if name not in ("__init__", "__main__"):
            found[name] = path
    return found


def imported(path: Path) -> set[str]:
    """The ``bench`` modules a file imports (a package's names resolved to its modules where they are ones)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "bench":
            module = node.module.removeprefix("bench").lstrip(".")
            for alias in node.names:
                candidate = f"{module}.{alias.name}".lstrip(".")
                where = ROOT / "bench" / Path(*candidate.split("."))
                names.add(candidate if where.with_suffix(".py").exists() or where.is_dir() else module)
    return {name for name in names if name}


def test_the_map_has_layers_and_every_module() -> None:
    map_of = layers()
    assert len(map_of) >= 5 and all(map_of)
    for module in modules():
        layer_of(module, map_of)  # raises for a module the map does not name
    layout = ROOT.joinpath("README.md").read_text().split("\n## Layout\n", 1)[1].split("\n## ", 1)[0]
    for package in {module.split(".")[0] for module in modules() if "." in module}:
        for path in (ROOT / "bench" / package).glob("*.py"):
            assert path.name == "__init__.py" or path.name in layout, f"bench/{package}/{path.name} is not named"


def test_every_import_goes_down_the_flow() -> None:
    map_of = layers()
    upward = [
        f"bench.{module} imports bench.{target}"
        for module, path in modules().items()
        for target in imported(path)
        if layer_of(target, map_of) < layer_of(module, map_of)
    ]
    assert upward == []
