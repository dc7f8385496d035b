"""The CLI's side of the audit log: every changing verb recorded in one place, and
``conveyor audit list``.

The root group resolves which verb a command line names before running it
(:func:`resolve`), and records it once it succeeded (:func:`record_verb`) as the OS user,
``via="cli"``. Only the verbs in :data:`CLI_ACTIONS` change anything worth recording.
"""

from __future__ import annotations

import getpass
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import click

from conveyor.cli.common import CliError, err_console, open_store
from conveyor.cli.output import output_option, write_data, write_rows
from conveyor.store import audit

#: "group verb" -> the action recorded (the same names the web app records).
CLI_ACTIONS = {
    "dags trigger": "run.trigger",
    "dags pause": "dag.pause",
    "dags unpause": "dag.unpause",
    "runs clear": "run.clear",
    "runs mark": "run.mark",
    "runs delete": "run.delete",
    "tasks clear": "task.clear",
    "tasks mark": "task.mark",
    "connections add": "connection.set",
    "connections delete": "connection.delete",
    "connections import": "connection.import",
    "variables set": "variable.set",
    "variables delete": "variable.delete",
    "variables import": "variable.import",
    "pools set": "pool.set",
    "pools delete": "pool.delete",
    "pools import": "pool.import",
    "users create": "user.create",
    "users delete": "user.delete",
    "users reset-password": "user.password",
    "users token": "token.create",
    "users revoke-token": "token.revoke",
    "backfill": "dag.backfill",
}
TARGET_PARAMS = ("dag_id", "run_id", "task_id", "conn_id", "key", "name", "username", "token_id")


@dataclass(frozen=True)
class Verb:
    action: str
    params: dict[str, Any]


def resolve(root: click.Group, ctx: click.Context) -> Verb | None:
    """The audited verb this command line names, with its raw parameters, or None.

    Parsed without running any parameter's callback or type (no file opened, no prompt),
    before the root group consumes the arguments. Any doubt: None (nothing recorded)."""
    try:
        args = [*getattr(ctx, "_protected_args", []), *ctx.args]
        group: click.Group = root
        parent = ctx
        path: list[str] = []
        while True:
            name, command, rest = group.resolve_command(parent, args)
            if command is None or name is None:
                return None
            path.append(name)
            if isinstance(command, click.Group):
                sub = command.make_context(name, list(rest), parent=parent, resilient_parsing=True)
                args = [*getattr(sub, "_protected_args", []), *sub.args]
                group, parent = command, sub
                continue
            action = CLI_ACTIONS.get(" ".join(path))
            if action is None:
                return None
            # A context of the verb's own, not parsed: its parser, not the group's, decides
            # whether options may follow arguments.
            own = command.context_class(command, parent=parent, info_name=name)
            opts, _, _ = command.make_parser(own).parse_args(list(rest))
            return Verb(action, {k: v for k, v in opts.items() if k is not None})
    except (click.ClickException, click.exceptions.Exit, ValueError, KeyError, IndexError):
        return None


def record_verb(verb: Verb) -> None:
    """Record ``verb`` as done by the OS user; a failure to record only warns."""
    params = dict(verb.params)
    target = "/".join(str(params.pop(p)) for p in TARGET_PARAMS if params.get(p) is not None)
    dag_id = verb.params.get("dag_id")
    details = {k: v for k, v in params.items() if v not in (None, False, (), [])}
    try:
        actor = getpass.getuser()
    except (KeyError, OSError):
        actor = "cli"
    try:
        store = open_store()
        try:
            with store.write() as conn:
                audit.record(
                    conn, actor, verb.action, target or None, details,
                    dag_id=dag_id if isinstance(dag_id, str) else None, via="cli",
                )  # fmt: skip
        finally:
            store.dispose()
    except Exception as exc:  # the action is done: a missing audit row must not undo it
        err_console.print(f"[yellow]warning:[/] not recorded in the audit log: {exc}")


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
