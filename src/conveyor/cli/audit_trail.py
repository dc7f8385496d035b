"""The CLI's side of the audit log: every changing verb recorded in one place.

The root group resolves which verb a command line names before running it
(:func:`resolve`), and records it once it succeeded (:func:`record_verb`) as the OS user,
``via="cli"``. Only the verbs in :data:`CLI_ACTIONS` change anything worth recording. The
root group imports this module for every command line: the store is imported only when a
verb is recorded. A verb that changes many things at once records an entry for each itself,
in its own transaction (``dags pause`` and ``unpause``: one a DAG), with :func:`cli_actor`.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from typing import Any

import click

#: "group verb" -> the action recorded (the same names the web app records).
CLI_ACTIONS = {
    "dags trigger": "run.trigger",
    "dags reserialize": "dag.reserialize",
    "dags delete": "dag.delete",
    "dags backfill": "dag.backfill",
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
    "users link": "user.link",
    "users reset-password": "user.password",
    "users token": "token.create",
    "users revoke-token": "token.revoke",
    "backfill": "dag.backfill",
    "backfill pause": "backfill.pause",
    "backfill unpause": "backfill.unpause",
    "backfill cancel": "backfill.cancel",
}
TARGET_PARAMS = (
    "dag_id",
    "backfill_id",
    "run_id",
    "task_id",
    "conn_id",
    "key",
    "name",
    "username",
    "token_id",
)


#: What a parsed option or argument holds when given (anything else is click's "unset").
_VALUES = (str, int, float, bool, tuple, list)


def cli_actor() -> str:
    """Who acts on a command line: the OS user."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "cli"


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
            sub_verb = getattr(command, "sub_verb", None)  # `backfill pause ID` and the like
            found = sub_verb(list(rest)) if sub_verb is not None else None
            if found is not None:
                verb_name, command, rest = found
                path.append(verb_name)
            action = CLI_ACTIONS.get(" ".join(path))
            if action is None:
                return None
            # A context of the verb's own, not parsed: its parser, not the group's, decides
            # whether options may follow arguments.
            own = command.context_class(command, parent=parent, info_name=name)
            translate = getattr(command, "translate", None)  # another CLI's spelling first
            if translate is not None:
                rest = translate(list(rest), resilient=True)
            opts, _, _ = command.make_parser(own).parse_args(list(rest))
            # An optional argument not given is click's own "unset" marker: left out.
            given = {k: v for k, v in opts.items() if k is not None and isinstance(v, _VALUES)}
            return Verb(action, given)
    except (click.ClickException, click.exceptions.Exit, ValueError, KeyError, IndexError):
        return None


def record_verb(verb: Verb) -> None:
    """Record ``verb`` as done by the OS user; a failure to record only warns."""
    from conveyor.cli.common import err_console, open_store
    from conveyor.store import audit

    params = dict(verb.params)
    target = "/".join(str(params.pop(p)) for p in TARGET_PARAMS if params.get(p) is not None)
    dag_id = verb.params.get("dag_id")
    details = {k: v for k, v in params.items() if v not in (None, False, (), [])}
    actor = cli_actor()
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
