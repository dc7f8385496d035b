"""``conveyor pools``: the named slots that limit how many tries of their tasks run at once."""

from __future__ import annotations

from pathlib import Path

import click

from conveyor.cli import pool_files
from conveyor.cli.common import console, open_store
from conveyor.cli.export_files import write_json
from conveyor.cli.output import output_option, write_data, write_rows
from conveyor.exceptions import NotFoundError
from conveyor.store import pools
from conveyor.web import queries, schemas


@click.group("pools")
def pools_group() -> None:
    """Create, change, list, delete, import and export pools."""


@pools_group.command("set", context_settings={"ignore_unknown_options": True})  # SLOTS -1
@click.argument("name")
@click.argument("slots")
@click.argument("description_given", metavar="[DESCRIPTION]", required=False)
@click.option("--description", help="What the pool protects (a database, an API quota...).")
@click.option(
    "--include-deferred",
    is_flag=True,
    help="Airflow's: refused, Conveyor never counts a deferred task against a pool.",
)
@output_option
def pools_set(
    name: str,
    slots: str,
    description_given: str | None,
    description: str | None,
    include_deferred: bool,
    output: str,
) -> None:
    """Create pool NAME with SLOTS slots (a number, "unlimited" or Airflow's -1), or change
    it; DESCRIPTION as Airflow's third argument, or --description.

    With -o json, yaml or plain: the pool as `conveyor pools list` prints it.
    """
    if description_given is not None and description is not None:
        raise click.UsageError("give the DESCRIPTION argument or --description, not both")
    if include_deferred:
        raise click.UsageError(
            "--include-deferred: Conveyor never counts a deferred task against a pool; leave it out"
        )
    limit = _slots(slots)
    with open_store().write() as conn:
        created = pools.set_pool(conn, name, limit, description_given or description)
        listed = [p for p in queries.list_pools(conn).pools if p.name == name]
    if output != "table":
        _write_pools(output, schemas.PoolList(pools=listed))
        return
    shown = "no limit" if limit is None else f"{limit} slots"
    console.print(f"pool {name} {'created' if created else 'updated'}: {shown}")


def _slots(text: str) -> int | None:
    if text.lower() == "unlimited" or text == "-1":  # -1: Airflow's no limit
        return None
    if not text.isdigit():
        raise click.BadParameter(
            f"{text!r} is not a number of slots (a whole number >= 0, or 'unlimited')",
            param_hint="SLOTS",
        )
    return int(text)


@pools_group.command("list")
@output_option
def pools_list(output: str) -> None:
    """Every pool: its slots, and the slots its tries use (queued + running) or wait for."""
    with open_store().read() as conn:
        found = queries.list_pools(conn)
    _write_pools(output, found)


def _write_pools(output: str, found: schemas.PoolList) -> None:
    if write_data(output, found):
        return
    write_rows(
        output,
        ["pool", "slots", "used", "queued", "running", "scheduled", "description"],
        [
            [
                p.name,
                "unlimited" if p.slots is None else p.slots,
                p.used,
                p.queued,
                p.running,
                p.scheduled,
                p.description,
            ]
            for p in found.pools
        ],
    )


@pools_group.command("get")
@click.argument("name")
@output_option
def pools_get(name: str, output: str) -> None:
    """One pool, as `conveyor pools list` prints it (Airflow: pools get)."""
    with open_store().read() as conn:
        listed = [p for p in queries.list_pools(conn).pools if p.name == name]
    if not listed:
        raise NotFoundError(f"no pool {name!r}: `conveyor pools list` lists them")
    _write_pools(output, schemas.PoolList(pools=listed))


@pools_group.command("delete")
@click.argument("name")
def pools_delete(name: str) -> None:
    """Delete pool NAME (not default_pool, not a pool with tries scheduled or in flight)."""
    with open_store().write() as conn:
        pools.delete_pool(conn, name)
    console.print(f"pool {name} deleted")


@pools_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def pools_import(file: Path) -> None:
    """Create or update the pools of FILE, as `airflow pools export` writes it:
    {"name": {"slots": N, "description": "..."}}, -1 slots for no limit. All or none."""
    entries = pool_files.read_pools(file)
    with open_store().write() as conn:  # one transaction: a bad name writes nothing
        created = [pools.set_pool(conn, e.name, e.slots, e.description) for e in entries]
    console.print(
        f"{len(entries)} pools imported: {sum(created)} created, "
        f"{len(entries) - sum(created)} updated"
    )


@pools_group.command("export")
@click.argument("file")
def pools_export(file: str) -> None:
    """Write every pool to FILE (.json, or - for stdout) as `airflow pools export` does."""
    with open_store().read() as conn:
        found = pools.list_pools(conn)
    write_json(file, pool_files.pools_document(found), "pools")
