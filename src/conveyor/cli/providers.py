"""``conveyor providers``: install Airflow's own provider packages for the providers Conveyor
does not ship, and list the ones installed.

``install`` runs the recipe of docs/airflow.md ("Providers Conveyor does not ship") with this
environment's pip: each provider package ``--no-deps`` (its ``apache-airflow`` requirement
would bring Airflow's core beside Conveyor), then the providers it builds on the same way,
then the libraries they all need, with their dependencies (``provider_requirements``).
"""

from __future__ import annotations

import importlib
import importlib.metadata
import subprocess
import sys
from pathlib import Path

import click
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from conveyor.airflow_compat import installed_providers
from conveyor.airflow_compat.provider_requirements import (
    is_provider,
    split_requirements,
    without_marker,
)
from conveyor.cli.common import CliError, console
from conveyor.cli.output import output_option, write_data, write_rows


@click.group("providers")
def providers_group() -> None:
    """Install and list Airflow's own provider packages (apache-airflow-providers-*)."""


@providers_group.command("install")
@click.argument("packages", nargs=-1, required=True)
@click.option(
    "-c",
    "--constraint",
    "constraints",
    multiple=True,
    help="A pip constraints file or URL (Airflow's constraints-3.3.2 file pins tested versions).",
)
@click.option("--dry-run", is_flag=True, help="Print the pip commands without running them.")
def providers_install(
    packages: tuple[str, ...], constraints: tuple[str, ...], dry_run: bool
) -> None:
    """Install PACKAGES (apache-airflow-providers-redis, with [extras] and versions as pip
    takes them) and what they need, without Airflow's core packages, which Conveyor replaces."""
    queue = [_provider_requirement(spec) for spec in packages]
    pip = [sys.executable, "-m", "pip", "install", *(f"--constraint={c}" for c in constraints)]
    seen: set[str] = set()
    libraries: list[str] = []
    while queue:
        batch = [r for r in queue if canonicalize_name(r.name) not in seen]
        seen.update(canonicalize_name(r.name) for r in batch)
        queue = []
        if not batch:
            break
        _pip([*pip, "--no-deps", *(without_marker(r) for r in batch)], dry_run)
        for requirement in batch:
            requires = _requires(requirement.name, dry_run)
            split = split_requirements(requires, requirement.extras)
            for dropped in split.dropped:
                console.print(f"{requirement.name}: left out {dropped} (Conveyor replaces it)")
            queue.extend(split.providers)
            libraries.extend(without_marker(r) for r in (*split.libraries, *split.in_place_of_core))
    if libraries:
        _pip([*pip, "--no-warn-conflicts", *dict.fromkeys(libraries)], dry_run)
    if not dry_run:
        console.print(f"installed {', '.join(sorted(seen))}")


@providers_group.command("list")
@output_option
def providers_list(output: str) -> None:
    """Airflow's provider packages installed here, and whether their modules or Conveyor's
    own version of the provider answer `import airflow.providers...`."""
    packages = installed_providers.installed_packages()
    if write_data(output, [vars(p) | {"used": p.used} for p in packages]):
        return
    columns = ("package", "version", "provider", "used")
    rows = [
        (p.package, p.version, p.provider, "installed" if p.used else "Conveyor's")
        for p in packages
    ]
    write_rows(output, columns, rows, empty="no Airflow provider packages installed")


def _provider_requirement(spec: str) -> Requirement:
    local = Path(spec)
    if local.suffix == ".whl" and local.is_file():  # a wheel file: its name says the package
        name = local.name.split("-")[0].replace("_", "-")
        return Requirement(f"{name} @ {local.resolve().as_uri()}")
    try:
        requirement = Requirement(spec)
    except InvalidRequirement as exc:
        raise click.BadParameter(f"{spec!r} is not a package requirement: {exc}") from None
    if not is_provider(requirement.name):
        raise click.BadParameter(
            f"{requirement.name} is not one of Airflow's provider packages "
            "(apache-airflow-providers-...); install other libraries with pip"
        )
    return requirement


def _pip(command: list[str], dry_run: bool) -> None:
    console.print(" ".join(command[1:]), markup=False, highlight=False)
    if dry_run:
        return
    if subprocess.run(command, check=False).returncode != 0:
        raise CliError(f"pip failed: {' '.join(command[1:])}")


def _requires(package: str, dry_run: bool) -> list[str]:
    """The package's ``Requires-Dist`` lines, from its installed metadata."""
    importlib.invalidate_caches()
    try:
        return importlib.metadata.distribution(package).requires or []
    except importlib.metadata.PackageNotFoundError:
        if dry_run:  # not installed yet: what it needs is known only once it is
            console.print(f"{package}: its requirements are read once it is installed")
            return []
        raise CliError(f"{package} was installed but its metadata is not found") from None
