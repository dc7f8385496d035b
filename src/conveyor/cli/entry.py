"""The ``conveyor`` console script: a quick command goes to this user's command server when
one is up (:mod:`conveyor.cli.command_client`), everything else runs here."""

from __future__ import annotations

import sys

from conveyor.cli import command_client


def main() -> None:
    status = command_client.run_served(sys.argv[1:])
    if status is not None:
        sys.exit(status)
    from conveyor.cli.main import main as run_here

    run_here()
