"""``--logs``: the imported tries' logs copied from Airflow's log folder into Conveyor's.

Each run recorded the template of its tries' log paths below Airflow's ``base_log_folder``
(``log_template``: 2.3 and later default to ``dag_id=.../run_id=.../task_id=.../
[map_index=M/]attempt=N.log``, older runs to ``<dag>/<task>/<ts>/<N>.log``). The template
is rendered here in a sandbox with the names those templates use; a file found is copied,
as it is, to the path Conveyor gives that try, and the try records it. A try that already
has a log is left alone, so the import can be run again with ``--logs`` after one without.
"""

from __future__ import annotations

import functools
import shutil
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace

from jinja2 import StrictUndefined, Template, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from conveyor.airflow_import.plan import ImportPlan
from conveyor.config import Settings
from conveyor.logs.task_logs import try_log_path, upload_try_log
from conveyor.private_files import PRIVATE_FILE, private_dir
from conveyor.store.airflow_import import log_writing
from conveyor.store.engine import Store

#: Log paths recorded per transaction.
_BATCH = 500
#: Templates the plan names when they do not render, at most.
_NAMED = 5

_TEMPLATES = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)


@dataclass
class CopiedLogs:
    copied: int = 0
    not_found: int = 0
    unrendered: list[str] = field(default_factory=list)  # templates, with why


def airflow_log_path(
    template: str,
    dag_id: str,
    run_id: str,
    task_id: str,
    map_index: int,
    try_number: int,
    logical_date: datetime | None,
) -> str:
    """A try's log path below Airflow's log folder, as the run's template names it; raises
    ``jinja2.TemplateError`` for a template that uses a name Conveyor does not give."""
    ti = SimpleNamespace(
        dag_id=dag_id, run_id=run_id, task_id=task_id, map_index=map_index, try_number=try_number
    )
    names: dict[str, object] = {"ti": ti, "try_number": try_number}
    if logical_date is not None:
        names["ts"] = logical_date.isoformat()
    return _compiled(template).render(names)


@functools.lru_cache(maxsize=64)
def _compiled(template: str) -> Template:
    # A history holds a few templates and many tries: each is compiled once.
    return _TEMPLATES.from_string(template)


def copy_logs(store: Store, settings: Settings, plan: ImportPlan, airflow_logs: Path) -> CopiedLogs:
    """Copy the logs Airflow kept under ``airflow_logs`` of the imported tries that have none."""
    result = CopiedLogs()
    base = airflow_logs.resolve()
    with store.read() as conn:
        tries = log_writing.tries_without_logs(conn, sorted(plan.log_templates))
    recorded: list[tuple[int, str]] = []
    for found in tries:
        template, logical_date = plan.log_templates[(found.dag_id, found.run_id)]
        try:
            relative = airflow_log_path(
                template,
                found.dag_id,
                found.run_id,
                found.task_id,
                found.map_index,
                found.try_number,
                logical_date,
            )
        except TemplateError as exc:
            if len(result.unrendered) < _NAMED:
                result.unrendered.append(f"{template!r} ({exc})")
            continue
        source = (base / relative).resolve()
        # A run id is the user's text: a path it would take out of the folder is not read.
        if not source.is_relative_to(base) or not source.is_file():
            result.not_found += 1
            continue
        target = try_log_path(
            settings.logs_path,
            found.dag_id,
            found.run_id,
            found.task_id,
            found.try_number,
            found.map_index,
        )
        private_dir(target.parent)
        shutil.copyfile(source, target)
        target.chmod(PRIVATE_FILE)
        upload_try_log(settings, target)
        recorded.append((found.try_pk, str(target)))
        result.copied += 1
    for first in range(0, len(recorded), _BATCH):
        with store.write() as conn:
            log_writing.set_log_paths(conn, recorded[first : first + _BATCH])
    return result
