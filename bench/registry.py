"""The registry: every server config a run knows, by name, as one value.

The built-ins (``BUILT_IN``, from ``servers.toml``), a user's configs from a servers file or a recorded
manifest (``with_definitions``) and the configs derived for version sets (``with_versions``) make a new
registry each; nothing writes a module global. A run's registry follows from its config
(``BenchConfig.registry``), and the analysis, the report and the console take it as an argument.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from bench.errors import BenchError
from bench.server_configs import BUILT_IN_PATH, ServerConfig, parse_servers, read_toml
from bench.versions import APP_PACKAGES, SEPARATOR, Derived, VersionSet, canonical, environment_folder, sets_for


@dataclass(frozen=True)
class Registry:
    """Server configs by name, what a framework named alone runs under, and which families are compared."""

    configs: Mapping[str, ServerConfig]
    defaults: Mapping[str, str]  # framework -> the config it runs under when named alone
    pairs: tuple[tuple[str, str], ...]  # groups compared, numerator first: every config of one against the other
    derived: Mapping[str, Derived] = field(default_factory=lambda: MappingProxyType({}))

    def config(self, name: str) -> ServerConfig:
        """The config called ``name``; a bare framework name means its default config."""
        config = self.configs.get(self.defaults.get(name, name))
        if config is None:
            raise BenchError(
                f"unknown server config {name!r}; choose from {', '.join(self.app_servers)} "
                "(or add it with --servers-file)"
            )
        return config

    @property
    def app_servers(self) -> list[str]:
        """Every config an app runs under: the built-ins, then a user's (the harness's null server left out)."""
        return [name for name, config in self.configs.items() if config.framework != "null"]

    def family(self, name: str) -> str:
        return self.config(name).framework

    def in_group(self, name: str, group: str) -> bool:
        """Whether config ``name`` is in ``group``, one side of a pair or a claim: a family, or one config
        (with its version sets' derivations, ``CONFIG@SET``)."""
        return self.family(name) == group or name.split("@", 1)[0] == group

    def with_definitions(self, definitions: Mapping[str, Mapping[str, Any]]) -> Registry:
        """This registry and a user's configs (a servers file's, or as a manifest recorded them)."""
        if not definitions:
            return self
        added = parse_servers({"servers": dict(definitions)}, "servers file")
        for name in added:
            if name in self.configs or name in self.defaults:
                raise BenchError(f"servers file: {name!r} is a built-in config's or a framework's name; choose another")
        return Registry(MappingProxyType({**self.configs, **added}), self.defaults, self.pairs, self.derived)

    def with_versions(self, servers: list[str], vary: Mapping[str, list[str]]) -> tuple[Registry, list[str]]:
        """This registry with each of ``servers`` derived for every version set it depends on
        (``CONFIG@SET``, run from the set's environment), and the configs a run measures: each of
        ``servers``, or its derived configs where it depends on a varied package."""
        configs, derived, names = dict(self.configs), dict(self.derived), []
        for server in servers:
            config = self.config(server)
            version_sets = sets_for(config, dict(vary))
            if not version_sets:
                names.append(config.name)
            for version_set in version_sets:
                name = f"{config.name}{SEPARATOR}{version_set.label}"
                python = str(environment_folder(version_set, self.install_list) / "bin" / "python")
                configs[name] = config.model_copy(update={"name": name, "python": python})
                derived[name] = Derived(config.name, version_set)
                names.append(name)
        registry = Registry(MappingProxyType(configs), self.defaults, self.pairs, MappingProxyType(derived))
        return registry, names

    @property
    def packages(self) -> list[str]:
        """Every distribution the registered configs declare, in order, once each."""
        return list(dict.fromkeys(name for config in self.configs.values() for name in config.packages))

    @property
    def install_list(self) -> list[str]:
        """What a version set's environment installs: the configs' packages and the apps' own."""
        return sorted({canonical(name) for name in [*self.packages, *APP_PACKAGES]})

    def release_name(self, base: str, label: str) -> str | None:
        """The config ``base`` derived for version set ``label``, if one was."""
        return next((name for name, d in self.derived.items() if d.base == base and d.version_set.label == label), None)

    def version_sets_of(self, servers: list[str]) -> list[VersionSet]:
        """The distinct version sets behind ``servers``, in order."""
        return list(dict.fromkeys(self.derived[name].version_set for name in servers if name in self.derived))


def built_in() -> Registry:
    """The configs of ``servers.toml``, its ``[frameworks]`` defaults and its ``pairs``."""
    table = read_toml(BUILT_IN_PATH)
    pairs = tuple((top, bottom) for top, bottom in table["pairs"])
    configs = parse_servers(table, str(BUILT_IN_PATH))
    return Registry(MappingProxyType(configs), MappingProxyType(dict(table["frameworks"])), pairs)


BUILT_IN = built_in()
BUILT_IN_SERVERS = tuple(BUILT_IN.app_servers)
FRAMEWORKS = tuple(BUILT_IN.defaults)
