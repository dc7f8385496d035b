"""``BashSensor``: done once a shell command exits with status 0."""

from __future__ import annotations

import os
from typing import Any, ClassVar

from conveyor.exceptions import Fail
from conveyor.operators._subprocess import run_streaming
from conveyor.sensors.base import BaseSensor


class BashSensor(BaseSensor):
    """Run ``bash -c bash_command`` at each poke: exit status 0 means done, any other means
    poke again, except ``retry_exit_code`` when given: then only that status pokes again and
    any other non-zero status fails the task (without retrying)."""

    template_fields: ClassVar[tuple[str, ...]] = ("bash_command", "env", "cwd")

    def __init__(
        self,
        task_id: str,
        *,
        bash_command: str,
        env: dict[str, str] | None = None,
        cwd: str | None = None,
        retry_exit_code: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(task_id, **kwargs)
        self.bash_command = bash_command
        self.env = env
        self.cwd = cwd
        self.retry_exit_code = retry_exit_code

    def poke(self, context: dict[str, Any]) -> bool:
        code, _ = run_streaming(
            ["bash", "-c", self.bash_command],
            env={**os.environ, **self.env} if self.env is not None else None,
            cwd=self.cwd,
        )
        print(f"[conveyor] {self.task_id}: command exited with {code}", flush=True)
        if code == 0:
            return True
        if self.retry_exit_code is not None and code != self.retry_exit_code:
            raise Fail(f"bash command exited with status {code}, not {self.retry_exit_code}")
        return False
