"""``airflow``: Airflow's command line on Conveyor, for the scripts, cron jobs, probes and
BashOperator tasks that call it (``airflow dags trigger``, ``airflow db clean``,
``airflow jobs check``, ``airflow version``).

Conveyor's own commands take Airflow's names and flags (docs/cli.md, "Airflow's command
names"), so most arguments go to them as they are; the commands Conveyor names otherwise are
renamed first, with their flags. A command Conveyor has no counterpart for is refused with
the reason, as any unknown command is.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Renamed:
    """Airflow's command (its leading words) as Conveyor's, with the flags spelled otherwise."""

    words: tuple[str, ...]
    flags: dict[str, str] = field(default_factory=dict)


_WORKER_FLAGS = {"-H": "--hostname", "--celery-hostname": "--hostname"}
_WEB_FLAGS = {"-p": "--port", "-H": "--host", "--hostname": "--host"}

#: Airflow's leading words -> Conveyor's command.
RENAMED: dict[tuple[str, ...], Renamed] = {
    ("celery", "worker"): Renamed(("worker",), _WORKER_FLAGS),
    ("celery", "flower"): Renamed(("flower",)),
    ("api-server",): Renamed(("web",), _WEB_FLAGS),
    ("webserver",): Renamed(("web",), _WEB_FLAGS),
    ("db", "upgrade"): Renamed(("db", "migrate")),
}

#: Airflow's commands that have no counterpart in Conveyor, with what to do instead.
REFUSED: dict[tuple[str, ...], str] = {
    ("dag-processor",): "Conveyor's scheduler parses the DAG folder: run `conveyor scheduler`",
    ("celery", "stop"): "stop a worker with SIGTERM; it finishes the tries it runs",
    ("kerberos",): "Conveyor runs no Kerberos ticket renewer",
}


class Refused(Exception):
    """An Airflow command Conveyor has no counterpart for."""


def conveyor_arguments(argv: Sequence[str]) -> list[str]:
    """The arguments of ``conveyor`` that do what ``airflow`` with ``argv`` does."""
    args = list(argv)
    for words, reason in REFUSED.items():
        if tuple(args[: len(words)]) == words:
            raise Refused(f"airflow {' '.join(words)}: {reason}")
    for words, renamed in RENAMED.items():
        if tuple(args[: len(words)]) == words:
            rest = [_flag(arg, renamed.flags) for arg in args[len(words) :]]
            return [*renamed.words, *rest]
    return args


def _flag(arg: str, flags: dict[str, str]) -> str:
    name, equals, value = arg.partition("=")
    if name in flags:
        return flags[name] + equals + value
    return arg


def main() -> None:
    args = sys.argv[1:]
    if args == ["version"]:
        from conveyor.airflow_compat.configuration import AIRFLOW_VERSION

        print(AIRFLOW_VERSION)  # what `airflow.__version__` says
        return
    try:
        translated = conveyor_arguments(args)
    except Refused as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
    sys.argv = ["airflow", *translated]
    from conveyor.cli.main import main as conveyor_main

    conveyor_main(prog_name="airflow")
