"""``conveyor pools``: the named slots that limit how many tries of their tasks run at once."""

from __future__ import annotations

import click
from rich.table import Table

from conveyor.cli.common import console, open_store, translate_errors
from conveyor.store import pools


@click.group("pools")
def pools_group() -> None:
    """Create, change, list and delete pools."""


@pools_group.command("set")
@click.argument("name")
@click.argument("slots")
@click.option("--description", help="What the pool protects (a database, an API quota...).")
@translate_errors
def pools_set(name: str, slots: str, description: str | None) -> None:
    """Create pool NAME with SLOTS slots (a number, or "unlimited"), or change its slots."""
    limit = _slots(slots)
    with open_store().write() as conn:
        created = pools.set_pool(conn, name, limit, description)
    shown = "no limit" if limit is None else f"{limit} slots"
    console.print(f"pool {name} {'created' if created else 'updated'}: {shown}")


def _slots(text: str) -> int | None:
    if text.lower() == "unlimited":
        return None
    if not text.isdigit():
        raise click.BadParameter(
            f"{text!r} is not a number of slots (a whole number >= 0, or 'unlimited')",
            param_hint="SLOTS",
        )
    return int(text)


@pools_group.command("list")
@translate_errors
def pools_list() -> None:
    """Every pool: its slots, and the slots its tries use (queued + running) or wait for."""
    table = Table("pool", "slots", "used", "queued", "running", "scheduled", "description")
    table.box = None
    with open_store().read() as conn:
        found = pools.list_pools(conn)
    for p in found:
        table.add_row(
            p.name,
            "unlimited" if p.slots is None else str(p.slots),
            str(p.used),
            str(p.queued),
            str(p.running),
            str(p.scheduled),
            p.description or "",
        )
    console.print(table)


@pools_group.command("delete")
@click.argument("name")
@translate_errors
def pools_delete(name: str) -> None:
    """Delete pool NAME (not default_pool, not a pool with tries scheduled or in flight)."""
    with open_store().write() as conn:
        pools.delete_pool(conn, name)
    console.print(f"pool {name} deleted")
