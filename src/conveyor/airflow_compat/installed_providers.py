"""Airflow's own provider packages a team installed (``apache-airflow-providers-redis``...),
for the providers Conveyor does not ship: their modules load from their files in
site-packages and run on Conveyor's Airflow names, as they run on Airflow's core.

The import hook asks :func:`find_spec` before building one of its own modules. The order:

1. a provider Conveyor ships (``http``, ``slack``, the standard provider...) and every module
   the table maps keep Conveyor's version, unless the setting
   ``airflow_installed_providers`` names the provider (then its installed package wins);
2. a module found under ``airflow/providers/...`` on ``sys.path`` loads from its file;
3. anything else goes on to the hook's own answer (a refusal naming what is missing).

Nothing is scanned ahead: a lookup touches the file system only when a DAG file imports an
``airflow.providers`` module the table does not answer. The installed package's ``airflow/``
folder is never imported as such: Conveyor's ``airflow`` and ``airflow.providers`` stay in
front, and only the provider's own folder is read.
"""

from __future__ import annotations

import functools
import importlib.machinery
import importlib.metadata
import importlib.util
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from conveyor.airflow_compat import table, table_providers

__all__ = [
    "InstalledPackage",
    "answered",
    "find_spec",
    "installed_packages",
    "override_hint",
    "package_dirs",
    "preferred_installed",
    "shipped",
]

_PREFIX = "airflow.providers."
#: Providers Conveyor answers without declaring them (the standard provider is its core).
_ALWAYS_SHIPPED = frozenset({"standard"})


def shipped(provider: str) -> bool:
    """Whether Conveyor ships its own version of ``provider`` (``"http"``, ``"common.sql"``)."""
    return provider in _ALWAYS_SHIPPED or provider in table_providers.PROVIDERS


def preferred_installed() -> frozenset[str]:
    """The shipped providers whose installed Airflow package is used instead of Conveyor's
    (the setting ``airflow_installed_providers``, e.g. ``"http,slack"``)."""
    from conveyor.config import ENV_PREFIX, config_file_stamp

    config_file, stamp = config_file_stamp(os.environ)
    variable = os.environ.get(f"{ENV_PREFIX}AIRFLOW_INSTALLED_PROVIDERS", "")
    return _read_preferred(variable, config_file, stamp)


@functools.lru_cache(maxsize=16)
def _read_preferred(variable: str, config_file: str, stamp: int | None) -> frozenset[str]:
    """The setting as the configuration gives it; the arguments are only the cache's key."""
    from conveyor.config import load_config

    names = load_config().settings.airflow_installed_providers
    return frozenset(n.strip() for n in names.split(",") if n.strip())


def override_hint(provider: str) -> str:
    """For an error about a shipped provider's missing name: how to use Airflow's package of
    it instead, which has every name of it (installed here or not)."""
    if not package_dirs(f"{_PREFIX}{provider}"):
        package = "apache-airflow-providers-" + provider.replace(".", "-").replace("_", "-")
        return (
            f"; Airflow's package of it has the rest: `conveyor providers install {package}`, "
            f'then set airflow_installed_providers = "{provider}" to import that one instead'
        )
    return (
        f"; Airflow's package of it is installed: set airflow_installed_providers = "
        f'"{provider}" to import that one instead'
    )


def find_spec(fullname: str) -> importlib.machinery.ModuleSpec | None:
    """The spec of an installed provider's module, when it is the one to load; else None."""
    if not fullname.startswith(_PREFIX):
        return None
    provider = table_providers.provider_of(fullname)
    if provider is None:
        return None
    overridden = shipped(provider) and provider in preferred_installed()
    if (shipped(provider) or table.known_module(fullname)) and not overridden:
        return None  # Conveyor's version answers (the table first)
    spec = _spec_on_path(fullname)
    if spec is not None:
        _found.add(fullname)
    return spec


#: The modules :func:`find_spec` answered: the hook keeps them when it is installed again
#: (they belong with Conveyor's, unlike an Airflow imported before the hook).
_found: set[str] = set()


def answered(fullname: str) -> bool:
    """Whether the module was loaded from an installed provider package through the hook."""
    return fullname in _found


def package_dirs(fullname: str) -> list[Path]:
    """The folders of package ``fullname`` (``airflow.providers.redis``) on ``sys.path``."""
    relative = Path(*fullname.split("."))
    found: list[Path] = []
    for entry in sys.path:
        folder = Path(entry or ".") / relative
        if folder.is_dir() and folder not in found:
            found.append(folder)
    return found


def _spec_on_path(fullname: str) -> importlib.machinery.ModuleSpec | None:
    parent_name, _, _ = fullname.rpartition(".")
    parent = sys.modules.get(parent_name)
    parent_path = getattr(parent, "__path__", None)
    if parent is not None and parent_path and not getattr(parent, "__conveyor_compat__", False):
        # Below a real installed package: its own ``__path__`` says where, as always.
        return importlib.machinery.PathFinder.find_spec(fullname, list(parent_path))
    folders = package_dirs(fullname)
    for folder in folders:
        init = folder / "__init__.py"
        if init.is_file():
            return importlib.util.spec_from_file_location(
                fullname, init, submodule_search_locations=[str(folder)]
            )
    if folders:  # a folder with no ``__init__``: a namespace, as Python makes it
        spec = importlib.machinery.ModuleSpec(fullname, None, is_package=True)
        spec.submodule_search_locations = [str(f) for f in folders]
        return spec
    for entry in sys.path:
        module_file = Path(entry or ".", *parent_name.split("."), fullname.rpartition(".")[2])
        if module_file.with_suffix(".py").is_file():
            return importlib.util.spec_from_file_location(fullname, module_file.with_suffix(".py"))
    return None


@dataclass(frozen=True)
class InstalledPackage:
    """One of Airflow's provider packages installed in this environment."""

    package: str  # apache-airflow-providers-redis
    version: str
    provider: str  # redis, as the module path has it (common.compat, microsoft.azure)

    @property
    def used(self) -> bool:
        """Whether its modules are the ones ``import airflow.providers...`` loads."""
        return not shipped(self.provider) or self.provider in preferred_installed()


def installed_packages() -> list[InstalledPackage]:
    """Every installed package declaring Airflow's ``apache_airflow_provider`` entry point,
    by package name."""
    found: dict[str, InstalledPackage] = {}
    for point in importlib.metadata.entry_points(group="apache_airflow_provider"):
        module = point.value.partition(":")[0]
        if not module.startswith(_PREFIX) or point.dist is None:
            continue
        provider = module[len(_PREFIX) :].rpartition(".")[0]  # drop .get_provider_info
        name = point.dist.metadata["Name"]
        found[name] = InstalledPackage(name, point.dist.version, provider)
    return [found[name] for name in sorted(found)]
