"""What ``conveyor standalone`` prints when it starts: where everything is, and the commands
to type in another terminal, spelled so that they work there (``cli.invocation``)."""

from __future__ import annotations

from pathlib import Path

from conveyor.cli.invocation import DEFAULT_HOME, activate_hint, conveyor_command
from conveyor.config import Settings

LABEL_WIDTH = 11


def line(label: str, value: object) -> str:
    return f"  {label:<{LABEL_WIDTH}} {value}"


def banner_lines(config: Settings, store_description: str, existing: bool) -> list[str]:
    """The lines before the web UI's: home, store, DAG folder, logs, executor, commands."""
    cli = conveyor_command(config.home)
    home = (
        f"{config.home}  (an existing home: its store, runs and users are reused; start "
        "afresh elsewhere with CONVEYOR_HOME=/some/new/folder)"
        if existing
        else f"{config.home}  (new)"
    )
    lines = [
        line("home", home),
        line("database", store_description),
        line("DAG folder", f"{config.dags_path}  (new files show up within a second)"),
        line("new DAGs", _new_dags(config, cli)),
        line("task logs", config.logs_path),
        line("executor", f"{config.executor}, {config.parallelism} tries at once"),
        line(
            "inspect",
            f"in another terminal: `{cli} dags list`, `{cli} runs list`, "
            f"`{cli} tasks why DAG latest TASK`; stop with Ctrl-C",
        ),
    ]
    shorter = _shorter(config.home)
    if shorter:
        lines.append(line("shorter", shorter))
    return lines


def login_lines(config: Settings, password: str | None) -> list[str]:
    cli = conveyor_command(config.home)
    if password is not None:
        return [
            line(
                "login",
                f"admin / {password}  (shown this once; change it with "
                f"`{cli} users reset-password admin`)",
            )
        ]
    return [
        line(
            "login",
            f"with a user this store already has (`{cli} users list`); the admin's password "
            "was shown when the home was first started; forgot it? "
            f"`{cli} users reset-password admin` prints a new one",
        )
    ]


def _new_dags(config: Settings, cli: str) -> str:
    if config.dags_are_paused_at_creation:
        return (
            f"paused until unpaused, as in Airflow (`{cli} dags unpause DAG_ID`, or the "
            "toggle in the DAG list); dags_are_paused_at_creation=false starts them at once"
        )
    return "start unpaused: they run at once (dags_are_paused_at_creation is false)"


def _shorter(home: Path) -> str | None:
    """How a terminal gets to type plain ``conveyor`` for this home, when it cannot yet."""
    steps = []
    activate = activate_hint()
    if activate:
        steps.append(f"`{activate}`")
    if Path(home).expanduser().resolve() != DEFAULT_HOME.expanduser().resolve():
        steps.append(f"`export CONVEYOR_HOME={home}`")
    if not steps:
        return None
    return " and ".join(steps) + " in a terminal, then `conveyor dags list` there"
