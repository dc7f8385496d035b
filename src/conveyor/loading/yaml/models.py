"""The YAML DAG file format, as pydantic models.

The loader validates every file against these models and the JSON Schema that editors use is
generated from them (``schema.py``), so the documented format and the accepted format cannot
drift apart. Every model forbids unknown keys: a typo such as ``retires`` is an error with a
file position, never a setting silently ignored.

The models check shape and values only. What needs an import or the whole DAG (operator
classes, callables, dependencies, cycles) is checked by the loader while it builds the DAG.

Field defaults mirror the Python API's, for the schema's documentation; the loader passes only
the keys a file sets, so that ``default_args`` fill the rest exactly as in a Python DAG.
"""

import re
import typing
from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from conveyor.exceptions import DagDefinitionError
from conveyor.model.schedules import PRESET_NAMES, schedule_from_arg
from conveyor.model.task import WeightRule
from conveyor.model.trigger_rules import TriggerRule

#: Operators known by a short name; any other operator is named by its import path.
BUILTIN_OPERATORS: dict[str, str] = {
    "bash": "conveyor.operators.bash:BashOperator",
    "python": "conveyor.operators.python:PythonOperator",
    "branch_python": "conveyor.operators.python:BranchPythonOperator",
    "empty": "conveyor.operators.empty:EmptyOperator",
}

ID_TEXT = "letters, digits, '_', '.' or '-' (at most 250 characters)"
_ID = re.compile(r"^[A-Za-z0-9_.\-]{1,250}$")
# What a DAG id key may look like before a template fills in its ${...} variables.
_TEMPLATED_ID = r"^(?:[A-Za-z0-9_.\-]|\$\{[A-Za-z_][A-Za-z0-9_]*(?::-[^}]*)?\})+$"
_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
#: package.module:attribute (or package.module.attribute); the dot or colon is required, so a
#: short operator name can never be mistaken for a path.
IMPORT_PATH = re.compile(rf"^{_NAME}(?:\.{_NAME})*(?::{_NAME}(?:\.{_NAME})*|\.{_NAME})$")
IMPORT_PATH_TEXT = "an import path such as package.module:name"

# -- durations -------------------------------------------------------------------------------

_UNITS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
_DURATION = re.compile(r"^(?:\s*\d+(?:\.\d+)?\s*[wdhms])+\s*$")
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([wdhms])")
DURATION_TEXT = "a duration such as 30s, 5m, 1h30m or 2d, or a number of seconds"


def parse_duration(text: str) -> timedelta | None:
    """'1h30m' -> 90 minutes; None when the text is not a duration."""
    if not _DURATION.match(text):
        return None
    seconds = sum(float(n) * _UNITS[unit] for n, unit in _DURATION_PART.findall(text))
    return timedelta(seconds=seconds)


def format_duration(value: timedelta) -> str:
    """The inverse of :func:`parse_duration`: 5400 s -> '1h30m'."""
    micros = value // timedelta(microseconds=1)
    if micros < 0:
        raise ValueError(f"a negative duration ({value}) cannot be written")
    if micros == 0:
        return "0s"
    parts = []
    whole, fraction = divmod(micros, 1_000_000)
    for unit in ("d", "h", "m"):
        count, whole = divmod(whole, _UNITS[unit])
        if count:
            parts.append(f"{count}{unit}")
    if whole or fraction:
        seconds = f"{whole}.{fraction:06d}".rstrip("0").rstrip(".") if fraction else str(whole)
        parts.append(f"{seconds}s")
    return "".join(parts)


def _error(message: str, expected: str) -> PydanticCustomError:
    # The loader turns this into a Problem (pydantic keeps the value found); "expected"
    # travels in the error's context.
    return PydanticCustomError("conveyor", "{message}", {"message": message, "expected": expected})


def _to_duration(value: Any) -> timedelta:
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        if value < 0:
            raise _error("invalid duration", DURATION_TEXT + " (not negative)")
        return timedelta(seconds=value)
    if isinstance(value, str):
        parsed = parse_duration(value)
        if parsed is not None:
            return parsed
    raise _error("invalid duration", DURATION_TEXT)


Duration = Annotated[
    timedelta,
    BeforeValidator(_to_duration),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "minimum": 0},
                {"type": "string", "pattern": _DURATION.pattern},
            ],
            "description": DURATION_TEXT,
        }
    ),
]

# -- dates, time zones, schedules ------------------------------------------------------------

DATE_TEXT = "a date or date-time such as 2024-01-01 or 2024-01-01T06:00:00+00:00"


def _to_datetime(value: Any) -> datetime:
    # YAML turns an unquoted 2024-01-01 into a date; a DAG wants a datetime (midnight, read in
    # the DAG's time zone when no offset is given, as in Python).
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.strip())
        except ValueError:
            pass
    raise _error("invalid date", DATE_TEXT)


DateTime = Annotated[
    datetime,
    BeforeValidator(_to_datetime),
    WithJsonSchema(
        {
            "type": "string",
            "anyOf": [{"format": "date"}, {"format": "date-time"}],
            "description": DATE_TEXT,
        }
    ),
]

TIMEZONE_TEXT = "an IANA time zone name such as UTC or Europe/Amsterdam"


def _to_timezone(value: Any) -> str:
    if isinstance(value, str):
        try:
            ZoneInfo(value)
            return value
        except (ZoneInfoNotFoundError, ValueError):
            pass
    raise _error("unknown time zone", TIMEZONE_TEXT)


Timezone = Annotated[
    str,
    BeforeValidator(_to_timezone),
    WithJsonSchema({"type": "string", "description": TIMEZONE_TEXT}),
]

SCHEDULE_TEXT = (
    "a cron expression with 5 fields (minute hour day-of-month month day-of-week), "
    f"a preset ({', '.join(PRESET_NAMES)}), a duration such as 1h, or null for manual runs only"
)


CRON_TEXT = "5 fields (minute hour day-of-month month day-of-week)"


def _to_schedule(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise _error("invalid schedule", SCHEDULE_TEXT)
    text = value.strip()
    if parse_duration(text) is not None:
        return value
    if text.startswith("@"):
        if text.lower() not in PRESET_NAMES:
            raise _error("unknown schedule preset", f"one of {', '.join(PRESET_NAMES)}")
        return value
    fields = len(text.split())
    if fields == 1 or not any(c in text for c in "0123456789*/,?"):
        raise _error("invalid schedule", SCHEDULE_TEXT)  # not an attempt at cron
    if fields != 5:
        raise _error(
            f"invalid cron expression ({fields} fields)", f"a cron expression of {CRON_TEXT}"
        )
    try:
        schedule_from_arg(value)
    except DagDefinitionError as exc:
        reason = str(exc).partition(": ")[2] or str(exc)
        raise _error(
            f"invalid cron expression: {reason}", f"a cron expression of {CRON_TEXT}"
        ) from None
    return value


Schedule = Annotated[
    str | None,
    BeforeValidator(_to_schedule),
    WithJsonSchema({"type": ["string", "null"], "description": SCHEDULE_TEXT}),
]

# -- ids, import paths, chains ---------------------------------------------------------------


def _to_id(kind: str) -> Any:
    def check(value: Any) -> str:
        if isinstance(value, str) and _ID.match(value):
            return value
        raise _error(f"invalid {kind} id", ID_TEXT)

    return check


DagId = Annotated[
    str,
    BeforeValidator(_to_id("DAG")),
    # Before a template fills in its ${...} variables, a DAG id may contain them.
    WithJsonSchema({"type": "string", "pattern": _TEMPLATED_ID}),
]
TaskId = Annotated[
    str,
    BeforeValidator(_to_id("task")),
    WithJsonSchema({"type": "string", "pattern": _ID.pattern}),
]


def _to_import_path(what: str) -> Any:
    def check(value: Any) -> str:
        if isinstance(value, str) and IMPORT_PATH.match(value):
            return value
        raise _error(f"invalid {what}", IMPORT_PATH_TEXT)

    return check


CallablePath = Annotated[
    str,
    BeforeValidator(_to_import_path("python_callable")),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": IMPORT_PATH.pattern,
            "description": "the function to call, as package.module:function; the DAG file's "
            "folder and the folders above it are importable",
        }
    ),
]

CHAIN_TEXT = "task ids joined by '>>', with [a, b] for several tasks at once, e.g. 'a >> [b, c]'"
_CHAIN_STEP = re.compile(
    r"^\s*(?:[A-Za-z0-9_.\-]+|\[\s*[A-Za-z0-9_.\-]+(?:\s*,\s*[A-Za-z0-9_.\-]+)*\s*,?\s*\])\s*$"
)


def parse_chain(text: str) -> list[list[tuple[str, int]]] | None:
    """'a >> [b, c]' -> [[('a', 0)], [('b', 6), ('c', 9)]] (ids with their offsets), or None."""
    steps: list[list[tuple[str, int]]] = []
    offset = 0
    for part in text.split(">>"):
        if not _CHAIN_STEP.match(part):
            return None
        steps.append(
            [(m.group(), offset + m.start()) for m in re.finditer(r"[A-Za-z0-9_.\-]+", part)]
        )
        offset += len(part) + 2
    return steps


def _to_chain(value: Any) -> str:
    if isinstance(value, str) and parse_chain(value) is not None:
        return value
    raise _error("invalid chain", CHAIN_TEXT)


Chain = Annotated[
    str,
    BeforeValidator(_to_chain),
    WithJsonSchema({"type": "string", "description": CHAIN_TEXT}),
]

TriggerRuleName = Literal[
    "all_success",
    "all_failed",
    "all_done",
    "one_success",
    "one_failed",
    "none_failed",
    "none_failed_min_one_success",
    "none_skipped",
    "one_done",
    "all_skipped",
    "always",
]
# Spelled out for type checkers and the schema; it must list exactly the engine's rules.
# all_done_setup_success is set by as_teardown() only, not written by hand.
assert set(typing.get_args(TriggerRuleName)) == {rule.value for rule in TriggerRule} - {
    TriggerRule.ALL_DONE_SETUP_SUCCESS.value
}

WeightRuleName = Literal["downstream", "upstream", "absolute"]
# Spelled out for type checkers and the schema; it must list exactly the engine's rules.
assert set(typing.get_args(WeightRuleName)) == {rule.value for rule in WeightRule}

# -- models ----------------------------------------------------------------------------------


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)


class TaskOptions(_Model):
    """What every task accepts, whatever its operator (the arguments of BaseOperator)."""

    depends_on: list[TaskId] = Field(default_factory=list)
    """Ids of the tasks that must finish first (upstream tasks)."""
    retries: int = Field(0, ge=0)
    """How many times a failed try is retried."""
    retry_delay: Duration = Field(timedelta(seconds=300), json_schema_extra={"default": "5m"})
    """How long to wait before a retry."""
    retry_exponential_backoff: bool = False
    """Double the delay after every failed try."""
    max_retry_delay: Duration | None = None
    """The longest delay exponential backoff may reach."""
    execution_timeout: Duration | None = None
    """A try running longer than this fails (and may be retried)."""
    trigger_rule: TriggerRuleName = "all_success"
    """When the task may run, given the states of its upstream tasks."""
    queue: str = "default"
    """The executor queue the task's tries go to."""
    priority_weight: int = 1
    """Tasks with a higher weight start first when slots are scarce."""
    pool: str = Field("default_pool", min_length=1)
    """The pool whose slots the task's tries take while queued or running."""
    pool_slots: int = Field(1, ge=1)
    """How many slots of the pool one try takes."""
    depends_on_past: bool = False
    """Run only if this task succeeded (or was skipped) in the previous run of the DAG."""
    doc: str | None = None
    """Documentation shown with the task."""
    owner: str | None = None
    """Who to ask about this task."""
    weight_rule: WeightRuleName = "downstream"
    """How priority_weight adds up: the task's own plus all its downstream tasks' (downstream),
    upstream tasks' (upstream), or its own alone (absolute)."""
    max_active_tis_per_dag: int | None = Field(None, ge=1)
    """Tries of this task running at once across all runs of the DAG (unset: no limit)."""
    max_active_tis_per_dagrun: int | None = Field(None, ge=1)
    """Tries of this task running at once within one run (its mapped instances)."""
    wait_for_downstream: bool = False
    """Also wait for the tasks right after this one in the previous run (implies
    depends_on_past)."""
    start_date: DateTime | None = None
    """The task's own first date: runs dated before it leave the task out (skipped)."""
    end_date: DateTime | None = None
    """The task's own last date: runs dated after it leave the task out (skipped)."""
    map_index_template: str | None = None
    """A Jinja template naming each instance of a mapped task, rendered after it runs."""
    task_display_name: str | None = None
    """The name shown for the task in the UI instead of its id."""


class BashTask(TaskOptions):
    """Run a shell command with bash; a non-zero exit status fails the try."""

    operator: Literal["bash"]
    bash_command: str
    """The command, a Jinja template rendered when the task runs ({{ ds }}, {{ params.x }})."""
    env: dict[str, str] | None = None
    """Environment variables for the command (templated)."""
    append_env: bool = False
    """Add env to the worker's environment instead of replacing it (env alone replaces it)."""
    cwd: str | None = None
    """The working directory of the command (templated)."""
    skip_on_exit_code: int | list[int] | None = 99
    """This exit status (or any of these) marks the task skipped instead of failed."""


class PythonTask(TaskOptions):
    """Call a Python function; its return value becomes the task's XCom."""

    operator: Literal["python"]
    python_callable: CallablePath
    """The function to call, as package.module:function."""
    op_args: list[Any] = Field(default_factory=list)
    """Positional arguments (templated). {xcom: task_id} passes that task's return value."""
    op_kwargs: dict[str, Any] = Field(default_factory=dict)
    """Keyword arguments (templated). {xcom: task_id, key: k} passes that task's XCom."""
    templates_dict: dict[str, Any] | None = None
    """Rendered with Jinja and passed to the function as templates_dict."""


class BranchPythonTask(PythonTask):
    """Call a function that returns the id (or ids) of the downstream tasks to follow."""

    operator: Literal["branch_python"]  # type: ignore[assignment]


class EmptyTask(TaskOptions):
    """A task that does nothing, for joins and structure."""

    operator: Literal["empty"]


class CustomTask(TaskOptions):
    """Any operator class, named by its import path, with its own arguments."""

    operator: Annotated[
        str,
        BeforeValidator(_to_import_path("operator")),
        WithJsonSchema({"type": "string", "pattern": IMPORT_PATH.pattern}),
    ]
    """The operator class as package.module:ClassName."""
    arguments: dict[str, Any] = Field(default_factory=dict)
    """Keyword arguments for the operator class, beside the task options above."""


TASK_MODELS: dict[str, type[TaskOptions]] = {
    "bash": BashTask,
    "python": PythonTask,
    "branch_python": BranchPythonTask,
    "empty": EmptyTask,
}
CUSTOM_TAG = "<custom>"


def task_tag(value: Any) -> str:
    """Which task model validates a value: by its operator, the import-path model by default."""
    operator = value.get("operator") if isinstance(value, dict) else None
    if isinstance(value, TaskOptions):
        operator = getattr(value, "operator", None)
    if isinstance(operator, str) and operator in TASK_MODELS:
        return f"<{operator}>"
    return CUSTOM_TAG


Task = Annotated[
    Annotated[BashTask, Tag("<bash>")]
    | Annotated[PythonTask, Tag("<python>")]
    | Annotated[BranchPythonTask, Tag("<branch_python>")]
    | Annotated[EmptyTask, Tag("<empty>")]
    | Annotated[CustomTask, Tag(CUSTOM_TAG)],
    Discriminator(task_tag),
]


class DefaultArgs(_Model):
    """Task options every task of the DAG gets unless it sets them itself.

    Other keys are passed to the operators that accept them, as in Python.
    """

    model_config = ConfigDict(extra="allow")

    retries: int = Field(0, ge=0)
    retry_delay: Duration = Field(timedelta(seconds=300), json_schema_extra={"default": "5m"})
    retry_exponential_backoff: bool = False
    max_retry_delay: Duration | None = None
    execution_timeout: Duration | None = None
    trigger_rule: TriggerRuleName = "all_success"
    queue: str = "default"
    priority_weight: int = 1
    pool: str = Field("default_pool", min_length=1)
    pool_slots: int = Field(1, ge=1)
    depends_on_past: bool = False
    owner: str | None = None
    weight_rule: WeightRuleName = "downstream"
    max_active_tis_per_dag: int | None = Field(None, ge=1)
    max_active_tis_per_dagrun: int | None = Field(None, ge=1)
    wait_for_downstream: bool = False


Scalar = str | int | float | bool


class DagOptions(_Model):
    """The settings of a DAG; under ``defaults`` they apply to every DAG of the file."""

    description: str | None = None
    """One line shown in the DAG list."""
    doc_md: str | None = None
    """Longer documentation, in Markdown."""
    schedule: Schedule = None
    """When runs are created: cron, preset, duration, or null (manual runs only)."""
    start_date: DateTime | None = None
    """The first data interval starts here (read in the DAG's time zone without an offset)."""
    end_date: DateTime | None = None
    """No run starts after this."""
    catchup: bool = False
    """Create the runs missed since start_date, not only the latest."""
    timezone: Timezone | None = None
    """The time zone of the schedule and of dates without an offset (default UTC)."""
    default_args: DefaultArgs | None = None
    """Task options for every task of the DAG; a task's own value wins."""
    params: dict[str, Any] | None = None
    """Run parameters with their defaults ({{ params.name }}); a run's conf overrides them."""
    tags: list[str] | None = None
    """Labels to filter DAGs by."""
    max_active_runs: int = Field(16, ge=1)
    """Runs of this DAG that may be running at once."""
    max_active_tasks: int = Field(16, ge=1)
    """Tasks of one run that may be running at once."""
    is_paused_upon_creation: bool | None = None
    """Paused (true) or not (false) when the DAG is first registered; unset: the setting
    dags_are_paused_at_creation decides. Later changes to the file keep the DAG's pause state."""
    fail_fast: bool = False
    """When a task fails, stop the run's running tasks and leave the rest unrun (every task
    keeps the default trigger rule)."""
    dag_display_name: str | None = None
    """The name shown for the DAG in the UI instead of its id."""
    access_control: dict[str, list[str] | dict[str, list[str]]] | None = None
    """Named roles that may read (can_read) or also trigger, clear, mark and pause
    (can_edit) this DAG: {team_a: [can_read, can_edit]}, or Airflow 3's {team_a: {DAGs:
    [can_read]}}."""


class DagSpec(DagOptions):
    """One DAG, or with ``for_each`` a template for several."""

    for_each: list[dict[str, Scalar]] | None = None
    """Make one DAG per item; ${name} in the DAG id and anywhere below takes the item's value."""
    tasks: dict[TaskId, Task] = Field(default_factory=dict)
    """The tasks, by task id."""
    chain: list[Chain] = Field(default_factory=list)
    """Dependencies written as chains: 'a >> b >> c', 'a >> [d, e]'."""


class FileSpec(_Model):
    """A Conveyor DAG file: defaults for its DAGs, and the DAGs by id."""

    model_config = ConfigDict(title="Conveyor DAG file")

    defaults: DagOptions | None = None
    """Settings shared by every DAG of this file; a DAG's own value wins (default_args and
    params are merged key by key)."""
    dags: dict[DagId, DagSpec]
    """The DAGs, by DAG id."""


#: Keys that a DAG entry may set besides its options.
DAG_OPTION_FIELDS = tuple(DagOptions.model_fields)
TASK_OPTION_FIELDS = tuple(f for f in TaskOptions.model_fields if f != "depends_on")
