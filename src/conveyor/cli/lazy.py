"""Command groups whose subcommands are imported when invoked, not when the CLI starts.

A command module imports what its command needs: the store and SQLAlchemy, the DAG-file
processor, the executors, the web app's read model. Importing every one of them for every
command line made ``conveyor version`` as slow as ``conveyor scheduler``. A
:class:`LazyGroup` names each subcommand by ``module:attribute`` with its short help, so
``conveyor --help`` lists every command without importing any, and the command line a user
types imports only the modules of the commands it names.

The short help is written twice, here and in the command's docstring: a test loads every
lazy command and compares the two, so they cannot drift apart.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from gettext import gettext as _
from typing import Any

import click
from click.exceptions import NoSuchCommand


@dataclass(frozen=True)
class Lazy:
    """A subcommand not imported yet: where it is, and what ``--help`` says of it."""

    #: ``package.module:attribute``, the attribute being the click command or group.
    target: str
    #: The first paragraph of the command's help, as its docstring says it.
    help: str

    def load(self) -> click.Command:
        module, _, attribute = self.target.partition(":")
        command = getattr(importlib.import_module(module), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{self.target} is a {type(command).__name__}, not a click command")
        return command


class LazyGroup(click.Group):
    """A group whose ``lazy`` subcommands are imported the first time one is looked up."""

    def __init__(self, *args: Any, lazy: Mapping[str, Lazy] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy and cmd_name not in self.commands:
            self.add_command(self.lazy[cmd_name].load(), cmd_name)
        return super().get_command(ctx, cmd_name)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        try:
            return super().resolve_command(ctx, args)
        except NoSuchCommand as exc:  # "did you mean" weighs the commands not loaded too
            raise NoSuchCommand(
                exc.command_name, possibilities=self.list_commands(ctx), ctx=ctx
            ) from None

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """Click's list of commands, with the short help of a command not loaded read from
        its :class:`Lazy` entry instead of importing it."""
        listed = [(name, self._described(name)) for name in self.list_commands(ctx)]
        shown = [(name, command) for name, command in listed if not command.hidden]
        if not shown:
            return
        limit = formatter.width - 6 - max(len(name) for name, _ in shown)
        with formatter.section(_("Commands")):  # as click words it
            formatter.write_dl([(name, cmd.get_short_help_str(limit)) for name, cmd in shown])

    def _described(self, name: str) -> click.Command:
        loaded = self.commands.get(name)
        if loaded is not None:
            return loaded
        # A stand-in with the same help shortens it exactly as the command itself would.
        return click.Command(name, help=self.lazy[name].help)
