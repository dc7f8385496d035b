"""What installing one of Airflow's provider packages on Conveyor needs, from its metadata.

Every ``apache-airflow-providers-*`` package requires ``apache-airflow`` itself, which would
bring Airflow's whole core (its scheduler, its web server, its database) beside Conveyor,
whose ``airflow`` names stand in for it. So a provider is installed without its
dependencies (``pip install --no-deps``), and its ``Requires-Dist`` lines, read here, are
installed after it, minus Airflow's core packages: the libraries it talks with (``redis``,
``apprise``) and the other providers it builds on (``common-compat``), whose own
requirements are read the same way. ``conveyor providers install`` runs that recipe;
docs/airflow.md ("Providers Conveyor does not ship") writes it out for pip.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

__all__ = [
    "CORE_LIBRARIES",
    "CORE_PACKAGES",
    "Split",
    "is_provider",
    "split_requirements",
    "without_marker",
]

#: Airflow's core distributions, which Conveyor replaces: never installed by the recipe.
CORE_PACKAGES = frozenset({"apache-airflow", "apache-airflow-core", "apache-airflow-task-sdk"})
#: Libraries Airflow's core requires (3.3.2's Requires-Dist, with its version bounds) that
#: provider packages import without declaring them, as the core always brings them: measured
#: over every module of common-compat, common-sql, databricks, dbt-cloud, http, mongo, redis,
#: snowflake and trino (2026-11-30). Installed in place of the core a provider asks for, so
#: ``common-sql``'s and ``trino``'s hooks find ``deprecated``, ``snowflake``'s ``tenacity``.
CORE_LIBRARIES = (
    "asgiref>=2.3.0",
    "attrs!=25.2.0,>=22.1.0",
    "deprecated>=1.2.13",
    "requests<3,>=2.32.0",
    "tabulate>=0.9.0",
    "tenacity>=8.3.0",
)
_PROVIDER_PREFIX = "apache-airflow-providers-"


def is_provider(name: str) -> bool:
    """Whether a distribution is one of Airflow's provider packages."""
    return canonicalize_name(name).startswith(_PROVIDER_PREFIX)


@dataclass(frozen=True)
class Split:
    """A provider's requirements sorted for the recipe."""

    #: Other provider packages, installed ``--no-deps`` in turn (their requirements read next).
    providers: tuple[Requirement, ...]
    #: Everything else: installed with their dependencies.
    libraries: tuple[Requirement, ...]
    #: Airflow's core packages it asked for, left out.
    dropped: tuple[Requirement, ...]
    #: What comes instead of them: ``CORE_LIBRARIES`` when any was asked for.
    in_place_of_core: tuple[Requirement, ...] = ()


def split_requirements(requires: Iterable[str], extras: Iterable[str] = ()) -> Split:
    """Sort a distribution's ``Requires-Dist`` lines (with the extras asked for), dropping
    those whose markers do not apply to this Python."""
    providers: list[Requirement] = []
    libraries: list[Requirement] = []
    dropped: list[Requirement] = []
    wanted = tuple(canonicalize_name(e) for e in extras) or ("",)
    for line in requires:
        try:
            requirement = Requirement(line)
        except InvalidRequirement as exc:
            raise ValueError(
                f"a requirement in the package's metadata is invalid: {line!r}: {exc}"
            ) from exc
        if requirement.marker is not None and not any(
            requirement.marker.evaluate({"extra": extra}) for extra in wanted
        ):
            continue
        name = canonicalize_name(requirement.name)
        if name in CORE_PACKAGES:
            dropped.append(requirement)
        elif is_provider(name):
            providers.append(requirement)
        else:
            libraries.append(requirement)
    instead = tuple(Requirement(line) for line in CORE_LIBRARIES) if dropped else ()
    return Split(tuple(providers), tuple(libraries), tuple(dropped), instead)


def without_marker(requirement: Requirement) -> str:
    """The requirement as pip takes it on a command line, its (already applied) marker gone."""
    copy = Requirement(str(requirement))
    copy.marker = None
    return str(copy)
