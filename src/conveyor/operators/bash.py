"""``BashOperator``: run a shell command; a non-zero exit status fails the try."""

from __future__ import annotations

import os
from collections.abc import Callable, Container
from typing import Any

from conveyor.exceptions import Skip, TaskError
from conveyor.model import context_vars
from conveyor.model.task import BaseOperator
from conveyor.operators._subprocess import run_streaming, signal_groups


class BashOptions:
    """The options of :func:`run_bash` that ``BashOperator`` and ``@task.bash`` take, and
    running a command with them."""

    task_id: str
    env: dict[str, str] | None
    append_env: bool
    cwd: str | None
    skip_on_exit_code: Container[int]
    output_processor: Callable[[str], Any] | None

    def _keep_bash_options(
        self,
        env: dict[str, str] | None,
        append_env: bool,
        cwd: str | None,
        skip_on_exit_code: int | Container[int] | None,
        output_processor: Callable[[str], Any] | None,
    ) -> None:
        self.env = env
        self.append_env = append_env
        self.cwd = cwd
        self.skip_on_exit_code = skip_codes(skip_on_exit_code)
        # Turns the last line into the XCom (e.g. json.loads), as Airflow's BashOperator does.
        self.output_processor = output_processor

    def _run_bash(self, command: str) -> Any:
        """Run ``command``; the XCom is its last line, through ``output_processor`` if given."""
        last_line = run_bash(
            command,
            task_id=self.task_id,
            env=self.env,
            append_env=self.append_env,
            cwd=self.cwd,
            skip_on_exit_code=self.skip_on_exit_code,
        )
        output = "" if last_line is None else last_line  # Airflow pushes '' for no output
        if self.output_processor is not None:
            return self.output_processor(output)
        return output


class BashOperator(BashOptions, BaseOperator):
    """Run ``bash -c bash_command``. Its output goes to the try's log; the last line is the XCom.

    An exit status in ``skip_on_exit_code`` (99 by default; a list names several) marks the
    task skipped instead of failed. ``env`` replaces the worker's environment unless
    ``append_env=True`` adds it there (Airflow's default, false).
    A command ending in ``.sh`` or ``.bash`` is a script file, rendered as a template (see
    ``conveyor.model.templating``); end it with a space to run it as it is.
    """

    template_fields = ("bash_command", "env", "cwd")
    template_ext = (".sh", ".bash")  # bash_command="run.sh" renders the script file
    ui_color = "#f0ede4"

    def __init__(
        self,
        task_id: str,
        *,
        bash_command: str,
        env: dict[str, str] | None = None,
        append_env: bool = False,
        cwd: str | None = None,
        skip_on_exit_code: int | Container[int] | None = 99,
        output_processor: Callable[[str], Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(task_id, **kwargs)
        self.bash_command = bash_command
        self._keep_bash_options(env, append_env, cwd, skip_on_exit_code, output_processor)

    def execute(self, context: dict[str, Any]) -> Any:
        return self._run_bash(self.bash_command)

    def on_kill(self) -> None:
        """The try is stopped: SIGTERM to the shell's process group, its children with it."""
        signal_groups()


def skip_codes(given: int | Container[int] | None) -> Container[int]:
    """``skip_on_exit_code`` as a collection that ``in`` asks: one status, several, or none
    (the Bash, SSH, Docker and Kubernetes operators take it as Airflow's do)."""
    if given is None:
        return ()
    if isinstance(given, int):
        return (given,)
    return given


def run_bash(
    command: str,
    *,
    task_id: str,
    env: dict[str, str] | None = None,
    append_env: bool = False,
    cwd: str | None = None,
    skip_on_exit_code: int | Container[int] | None = 99,
) -> str | None:
    """Run ``bash -c command`` with its output in the try's log; return the last line.

    An exit status in ``skip_on_exit_code`` raises Skip, any other non-zero status a
    TaskError. ``env`` alone is the whole environment (with the try's ``AIRFLOW_CTX_*``
    ids); ``append_env`` adds it to the worker's.
    """
    if env is not None:
        # The try's AIRFLOW_CTX_* ids go to the command whatever its env, as on Airflow.
        env = {**os.environ, **env} if append_env else {**env, **context_vars.in_environment()}
    if cwd is not None and not os.path.isdir(cwd):
        raise TaskError(f"cwd {cwd!r} of task {task_id!r} is not a directory")
    code, last_line = run_streaming(["bash", "-c", command], env=env, cwd=cwd)
    if code in skip_codes(skip_on_exit_code):
        raise Skip(f"bash exited with {code}")
    if code != 0:
        raise TaskError(f"bash command exited with status {code}")
    return last_line
