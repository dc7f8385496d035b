"""``BashOperator``: run a shell command; a non-zero exit status fails the try."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

from conveyor.exceptions import Skip, TaskError
from conveyor.model.task import BaseOperator


class BashOperator(BaseOperator):
    """Run ``bash -c bash_command``. Its output goes to the try's log; the last line is the XCom.

    Exit status ``skip_on_exit_code`` (99 by default) marks the task skipped instead of failed.
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
        append_env: bool = True,
        cwd: str | None = None,
        skip_on_exit_code: int | None = 99,
        **kwargs: Any,
    ) -> None:
        super().__init__(task_id, **kwargs)
        self.bash_command = bash_command
        self.env = env
        self.append_env = append_env
        self.cwd = cwd
        self.skip_on_exit_code = skip_on_exit_code

    def execute(self, context: dict[str, Any]) -> str | None:
        env = None
        if self.env is not None:
            env = {**os.environ, **self.env} if self.append_env else dict(self.env)
        if self.cwd is not None and not os.path.isdir(self.cwd):
            raise TaskError(f"cwd {self.cwd!r} of task {self.task_id!r} is not a directory")
        sys.stdout.flush()
        last_line: str | None = None
        with subprocess.Popen(
            ["bash", "-c", self.bash_command],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=self.cwd,
            text=True,
            errors="replace",
        ) as process:
            assert process.stdout is not None
            for line in process.stdout:
                sys.stdout.write(line)
                if line.strip():
                    last_line = line.rstrip("\n")
            code = process.wait()
        sys.stdout.flush()
        if code == self.skip_on_exit_code:
            raise Skip(f"bash exited with {code}")
        if code != 0:
            raise TaskError(f"bash command exited with status {code}")
        return last_line
