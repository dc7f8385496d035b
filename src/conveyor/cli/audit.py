"""``conveyor audit list``: who triggered, cleared, marked, paused or changed what, and when.

The CLI's changing verbs are recorded by ``audit_trail.py``, the web's actions by
``web/audit_trail.py``; both write through ``store/audit.py``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import click

from conveyor.cli.common import CliError, open_store
from conveyor.cli.output import output_option, write_data, write_rows
from conveyor.store import audit


@click.group("audit")
def audit_group() -> None:
    """The audit log: who triggered, cleared, marked, paused or changed what, and when."""


def _since(value: str | None, name: str) -> datetime | None:
    if not value:
        return None
    try:
        found = datetime.fromisoformat(value)
    except ValueError:
        raise CliError(f"--{name}: a date or time, e.g. 2026-01-31 or 2026-01-31T12:00Z") from None
    return found if found.tzinfo else found.replace(tzinfo=UTC)


@audit_group.command("list")
@click.option("--user", "actor", help="Only this user's actions.")
@click.option("--action", help="An action (run.clear), or a prefix ending in '.' (run.).")
@click.option("--dag", "dag_id", help="Only actions on this DAG.")
@click.option("--since", help="At or after (ISO date or time; UTC unless it says).")
@click.option("--until", help="Before (ISO date or time; UTC unless it says).")
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
@output_option
def audit_list(
    actor: str | None,
    action: str | None,
    dag_id: str | None,
    since: str | None,
    until: str | None,
    limit: int,
    output: str,
) -> None:
    """The newest entries first."""
    wanted = audit.AuditFilter(
        actor, action, dag_id, _since(since, "since"), _since(until, "until")
    )
    store = open_store()
    try:
        with store.read() as conn:
            entries, total = audit.list_entries(conn, wanted, limit)
    finally:
        store.dispose()
    rows = [{**e.__dict__, "at": e.at.isoformat()} for e in entries]
    if write_data(output, {"entries": rows, "total": total}):
        return
    write_rows(
        output,
        ["at", "user", "action", "target", "details", "via", "address"],
        [
            [
                e.at.strftime("%Y-%m-%d %H:%M:%S"), e.actor, e.action, e.target or "",
                json.dumps(e.details) if e.details else "", e.via, e.address or "",
            ]
            for e in entries
        ],
    )  # fmt: skip
