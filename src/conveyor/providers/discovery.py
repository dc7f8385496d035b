"""The providers Conveyor ships, found by scanning this package's packages for their
declarations (``PROVIDER``, or ``PROVIDERS`` for a package that declares several).

Nothing registers a provider: a package under ``conveyor.providers`` that holds a
``PROVIDER`` is one. A scan rather than entry points: the providers ship inside Conveyor,
so an entry point would be a second place to write each one (``pyproject.toml``) and would
need a reinstall before it counted, while a scan sees a new package as soon as it is there.
The scan imports only packages' ``__init__`` modules, which by this rule hold declarations
and import no provider library, so reading every declaration is cheap and never fails for
a missing extra; it is what the compat table reads in every DAG-parsing process.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from dataclasses import dataclass

import conveyor.providers as _package
from conveyor.providers.declaration import ConnectionType, Provider

__all__ = [
    "Found",
    "connection_type",
    "connection_types",
    "found",
    "providers",
    "sql_types",
    "testable_types",
]


@dataclass(frozen=True)
class Found:
    """A provider and the module that stands in for Airflow's package of it."""

    module: str
    provider: Provider


def _declared(package: str) -> tuple[Provider, ...]:
    module = importlib.import_module(package)
    one = getattr(module, "PROVIDER", None)
    several = getattr(module, "PROVIDERS", ())
    return tuple(p for p in (one, *several) if isinstance(p, Provider))


@functools.cache
def found() -> tuple[Found, ...]:
    """Every provider under ``conveyor.providers``, by name. Cached: ``found.cache_clear()``
    (and ``forget()``) after a package is added to the path, as tests do."""
    seen: dict[str, Found] = {}
    for info in pkgutil.iter_modules(_package.__path__, f"{_package.__name__}."):
        if not info.ispkg or info.name.rpartition(".")[2].startswith("_"):
            continue
        for provider in _declared(info.name):
            if provider.name in seen:
                raise TypeError(
                    f"{info.name} and {seen[provider.name].module} both declare the provider "
                    f"{provider.name!r}: one declaration per provider"
                )
            seen[provider.name] = Found(provider.module or info.name, provider)
    return tuple(seen[name] for name in sorted(seen))


def providers() -> tuple[Provider, ...]:
    """Every provider's declaration, by name."""
    return tuple(f.provider for f in found())


@functools.cache
def _types() -> dict[str, ConnectionType]:
    by_name: dict[str, ConnectionType] = {}
    for provider in providers():
        for kind in provider.connection_types:
            for name in kind.names:
                if name in by_name:
                    raise TypeError(
                        f"connection type {name!r} is declared twice (providers "
                        f"{provider.name!r} and another): one hook per type"
                    )
                by_name[name] = kind
    return by_name


def forget() -> None:
    """Scan again on the next call (a provider package was added to the path)."""
    found.cache_clear()
    _types.cache_clear()


def connection_types() -> dict[str, ConnectionType]:
    """Every declared ``conn_type`` (aliases included) -> its declaration, sorted."""
    types = _types()
    return {name: types[name] for name in sorted(types)}


def connection_type(conn_type: str) -> ConnectionType | None:
    """The declaration serving ``conn_type`` (``-`` read as ``_``, any case), or None."""
    return _types().get(conn_type.replace("-", "_").lower())


def sql_types() -> list[str]:
    """The types the SQL operators and sensors take."""
    return sorted(name for name, kind in _types().items() if kind.sql)


def testable_types() -> list[str]:
    """The types the connection Test can check (their hook has ``test_connection``)."""
    return sorted(name for name, kind in _types().items() if kind.testable)
