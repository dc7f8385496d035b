"""The Airflow provider modules Conveyor answers, part of the one table (``table.py`` merges
them into ``MODULES``). Each provider declares its own paths (``PROVIDER`` in its package,
``providers/declaration.py``); this module only gathers them (``providers/discovery.py``).

``PROVIDERS`` names what Conveyor ships of each provider, for the per-provider lists in
docs/airflow.md and for the error naming what there is when a file asks for a name of a
shipped provider that Conveyor lacks.
"""

from __future__ import annotations

from conveyor.providers import discovery
from conveyor.providers.declaration import Provider


def provider_modules(declared: tuple[Provider, ...]) -> dict[str, dict[str, str]]:
    """Airflow module -> {name -> ``"conveyor.module:attribute"``}, every provider's rows
    merged: a path several providers answer (1.10's ``airflow.hooks``) gets all their names."""
    merged: dict[str, dict[str, str]] = {}
    for provider in declared:
        for module, names in provider.airflow_modules.items():
            merged[module] = {**merged.get(module, {}), **names}
    return merged


def listed_providers() -> dict[str, Provider]:
    """The providers the lists show (Airflow's name -> declaration), by name."""
    return {p.name: p for p in discovery.providers() if p.listed}


#: Airflow module -> {name -> "conveyor.module:attribute"}, as ``table.MODULES``.
PROVIDER_MODULES: dict[str, dict[str, str]] = provider_modules(discovery.providers())

#: Provider (as Airflow names its package) -> the module paths that belong to it.
PROVIDERS: dict[str, tuple[str, ...]] = {
    name: tuple(p.airflow_modules) for name, p in listed_providers().items()
}

#: The extra each provider needs beyond a plain install (None: nothing more).
EXTRAS: dict[str, str | None] = {name: p.extra for name, p in listed_providers().items()}


def provider_of(module: str) -> str | None:
    """The provider an ``airflow.providers...`` module belongs to (``common.sql``, ...)."""
    parts = module.split(".")
    if len(parts) < 3 or parts[:2] != ["airflow", "providers"]:
        return None
    return ".".join(parts[2:4]) if parts[2] in ("common", "cncf", "apache") else parts[2]


def provider_names(provider: str) -> list[str]:
    """Every Airflow name the provider answers, under any of its paths, sorted."""
    declared = listed_providers()[provider].airflow_modules
    return sorted({name for names in declared.values() for name in names})
