"""``ShortCircuitOperator``: call a function; when it returns something falsy, stop here.

A truthy result lets the pipeline go on (and is the task's XCom). A falsy one skips the tasks
after this one: with ``ignore_downstream_trigger_rules=True`` (the default) every downstream
task, however far; with False only the direct downstream tasks, and the trigger rules of the
tasks beyond decide for themselves (a ``none_failed`` join still runs).
"""

from __future__ import annotations

from typing import Any

from conveyor.operators.python import PythonOperator


class ShortCircuitOperator(PythonOperator):
    ui_color = "#f0d8b0"

    def __init__(
        self, task_id: str, *, ignore_downstream_trigger_rules: bool = True, **kwargs: Any
    ) -> None:
        super().__init__(task_id, **kwargs)
        self.ignore_downstream_trigger_rules = bool(ignore_downstream_trigger_rules)

    def execute(self, context: dict[str, Any]) -> Any:
        condition = super().execute(context)
        if condition:
            print(f"[conveyor] condition {condition!r} is true: downstream tasks go on", flush=True)
            return condition
        self.skip_downstream = "all" if self.ignore_downstream_trigger_rules else "direct"
        which = "every downstream task" if self.skip_downstream == "all" else "direct downstream"
        print(f"[conveyor] condition {condition!r} is false: skipping {which}", flush=True)
        return condition
