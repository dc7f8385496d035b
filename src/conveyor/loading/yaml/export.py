"""Write a loaded DAG as YAML or as Python, whichever form it was written in.

The export is checked before it is returned: it is loaded again and its serialized DAG must
equal the original's (the file location aside). So an export either loads into the same DAG
or raises :class:`ExportError` naming the task and the reason, such as a callable that is an
inline lambda or is defined in the DAG file itself, which a YAML file cannot import by path.

Arguments equal to what the operator would get anyway (its own default, or the DAG's
``default_args``) are left out, so the export reads like a file a person would write.
"""

from __future__ import annotations

import inspect
import keyword
import re
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, tzinfo
from enum import Enum
from pathlib import Path
from typing import Any, Literal

import yaml

import conveyor
from conveyor.loading.serialize import serialize_dag
from conveyor.loading.yaml import models
from conveyor.loading.yaml._imports import ImportProblem, operator_parameters, path_of
from conveyor.loading.yaml._nodes import Dumper
from conveyor.loading.yaml.errors import ExportError, YamlDagError
from conveyor.loading.yaml.loader import load_yaml_text
from conveyor.model.context import DagContext
from conveyor.model.dag import DAG
from conveyor.model.schedules import (
    CronSchedule,
    DatasetSchedule,
    DeltaSchedule,
    NoSchedule,
    OnceSchedule,
)
from conveyor.model.task import WEIGHT_RULES, BaseOperator
from conveyor.model.trigger_rules import TriggerRule
from conveyor.model.xcom_arg import RETURN_VALUE, XComArg, find_xcom_args

__all__ = ["export_dag"]

Format = Literal["yaml", "python"]

#: How an operator's __init__ normalizes an argument, so that equal values compare equal.
_NORMALIZE: dict[str, Callable[[Any], Any]] = {
    "retry_delay": lambda v: v if isinstance(v, timedelta) else timedelta(seconds=v),
    "max_retry_delay": lambda v: (
        v if v is None or isinstance(v, timedelta) else timedelta(seconds=v)
    ),
    "execution_timeout": lambda v: (
        v if v is None or isinstance(v, timedelta) else timedelta(seconds=v)
    ),
    "trigger_rule": lambda v: TriggerRule(v),
    "op_args": lambda v: list(v or []),
    "op_kwargs": lambda v: dict(v or {}),
    "outlets": lambda v: list(v or []),  # BaseOperator keeps [] for "no outlets"
    "inlets": lambda v: list(v or []),
    "retry_exponential_backoff": bool,
    "depends_on_past": bool,
    # None is Airflow's default rule, which the operator keeps by name.
    "weight_rule": lambda v: str(getattr(v, "value", v) or WEIGHT_RULES[0]),
}
_DAG_DEFAULTS = {"max_active_runs": 16, "max_active_tasks": 16}
_DURATION_FIELDS = ("retry_delay", "max_retry_delay", "execution_timeout")
_SHORT_NAMES = {path: name for name, path in models.BUILTIN_OPERATORS.items()}


def export_dag(dag: DAG, fmt: Format) -> str:
    """The DAG as the text of a YAML or Python DAG file that loads into the same DAG.

    Raises ExportError, naming the task and why, when the DAG cannot be written in ``fmt``.
    """
    if fmt == "yaml":
        text = _Yaml(dag).text()
    elif fmt == "python":
        text = _Python(dag).text()
    else:
        raise ExportError(dag.dag_id, None, f"unknown format {fmt!r}: expected yaml or python")
    _check_round_trip(dag, text, fmt)
    return text


# -- what both forms share -------------------------------------------------------------------


class _Export:
    def __init__(self, dag: DAG) -> None:
        self.dag = dag

    def fail(self, task: BaseOperator | None, reason: str) -> ExportError:
        return ExportError(self.dag.dag_id, task.task_id if task else None, reason)

    def dag_options(self) -> dict[str, Any]:
        """The DAG's settings that differ from DAG()'s defaults, as Python values."""
        dag = self.dag
        zone = self.zone()
        start, end = (
            None if value is None else _local(value, dag.timezone)
            for value in (dag.start_date, dag.end_date)
        )
        every = {
            "description": dag.description,
            "doc_md": dag.doc_md,
            # Exactly None: PartitionedAtRuntime is a NoSchedule that YAML cannot express.
            "schedule": None if type(dag.schedule) is NoSchedule else dag.schedule,
            "start_date": start,
            "end_date": end,
            "catchup": dag.catchup,
            "timezone": None if zone == "UTC" else zone,
            "default_args": self.default_args(),
            "params": dict(dag.params),
            "tags": list(dag.tags),
            "access_control": dict(dag.access_control or {}),
            "max_active_runs": dag.max_active_runs,
            "max_active_tasks": dag.max_active_tasks,
        }
        unset: tuple[Any, ...] = (None, False, {}, [])
        options = {
            name: value
            for name, value in every.items()
            if value not in unset and value != _DAG_DEFAULTS.get(name)
        }
        if dag.is_paused_upon_creation is not None:  # False too: it overrides the setting
            options["is_paused_upon_creation"] = dag.is_paused_upon_creation
        return options

    def zone(self) -> str:
        """The DAG's time zone, which must be its schedule's too."""
        zone = _zone_name(self.dag.timezone)
        if self.dag.schedule.timezone.key != zone:
            raise self.fail(
                None,
                f"its schedule's time zone {self.dag.schedule.timezone.key} differs from the "
                f"DAG's {zone}; a DAG file sets one time zone for both",
            )
        return zone

    def default_args(self) -> dict[str, Any]:
        """default_args that take effect (some operator of the DAG accepts them)."""
        accepted: set[str] = set()
        for task in self.dag.tasks:
            accepted.update(operator_parameters(type(task)))
        return {k: v for k, v in self.dag.default_args.items() if k in accepted}

    def task_arguments(self, task: BaseOperator) -> dict[str, Any]:
        """The arguments that rebuild ``task``: those differing from what it would get anyway."""
        found: dict[str, Any] = {}
        defaults = self.default_args()
        for name, param in operator_parameters(type(task)).items():
            if not hasattr(task, name):
                if name in defaults or param.default is inspect.Parameter.empty:
                    raise self.fail(
                        task,
                        f"the value of argument {name!r} of {type(task).__name__} cannot be "
                        "read back: the operator does not keep it in an attribute of that name",
                    )
                continue
            value = getattr(task, name)
            base = defaults.get(name, param.default)
            if base is inspect.Parameter.empty or _normal(name, value) != _normal(name, base):
                found[name] = value
        return found

    def upstream(self, task: BaseOperator) -> list[str]:
        return [tid for tid in self.dag.task_dict if tid in task.upstream_task_ids]

    def operator_path(self, task: BaseOperator) -> str:
        try:
            return path_of(type(task), "operator class")
        except ImportProblem as exc:
            raise self.fail(task, str(exc)) from None

    def callable_path(self, task: BaseOperator, func: Any) -> str:
        try:
            return path_of(func, "python_callable")
        except ImportProblem as exc:
            raise self.fail(task, str(exc)) from None


def _normal(name: str, value: Any) -> Any:
    normalize = _NORMALIZE.get(name)
    if normalize is None:
        return value
    try:
        return normalize(value)
    except (TypeError, ValueError):
        return value


def _zone_name(zone: tzinfo) -> str:
    return getattr(zone, "key", None) or str(zone)


def _local(value: datetime, zone: tzinfo) -> datetime:
    """The wall-clock time in the DAG's zone, naive, if that names the instant unambiguously."""
    local = value.astimezone(zone).replace(tzinfo=None)
    if local.replace(tzinfo=zone).astimezone(UTC) == value.astimezone(UTC):
        return local
    return value.astimezone(UTC)


# -- YAML ------------------------------------------------------------------------------------


class _Yaml(_Export):
    def text(self) -> str:
        # Tasks first: a task's reason for refusing is the more telling one.
        tasks = {task.task_id: self.task(task) for task in self.dag.tasks}
        options = {k: self.option(k, v) for k, v in self.dag_options().items()}
        entry: dict[str, Any] = {**options, "tasks": tasks}
        if self.dag.task_groups:  # after the tasks, whose reasons are the more telling
            raise self.fail(None, "a YAML file cannot express task groups (TaskGroup)")
        header = f"# DAG {self.dag.dag_id!r}, exported by conveyor dags export.\n"
        body = yaml.dump(
            {"dags": {self.dag.dag_id: entry}},
            Dumper=_TextDumper,
            sort_keys=False,
            allow_unicode=True,
            default_flow_style=False,
            width=100,
        )
        return header + body

    def option(self, name: str, value: Any) -> Any:
        if name == "schedule":
            if isinstance(value, DatasetSchedule):
                raise self.fail(None, "a YAML file cannot express a schedule on datasets")
            if value is not None and (
                not isinstance(value, CronSchedule | DeltaSchedule | OnceSchedule | NoSchedule)
                or value.partitioned_at_runtime
            ):
                raise self.fail(None, f"a YAML file cannot express the timetable {value!r}")
            return _schedule_text(value)
        if name == "default_args":
            return {k: self.value(None, k, v) for k, v in value.items()}
        if name in ("start_date", "end_date"):
            return _yaml_datetime(value)
        return self.value(None, name, value)

    def task(self, task: BaseOperator) -> dict[str, Any]:
        arguments = self.task_arguments(task)
        path = self.operator_path(task)
        short = _SHORT_NAMES.get(path)
        own = {k: v for k, v in arguments.items() if k not in models.TaskOptions.model_fields}
        options = {k: v for k, v in arguments.items() if k in models.TaskOptions.model_fields}
        entry: dict[str, Any] = {"operator": short or path}
        if short is None:
            if own:
                entry["arguments"] = {k: self.value(task, k, v) for k, v in own.items()}
        else:
            for name, value in own.items():
                if name == "python_callable":
                    entry[name] = self.callable_path(task, value)
                else:
                    entry[name] = self.value(
                        task, name, value, xcom=name in ("op_args", "op_kwargs")
                    )
        upstream = self.upstream(task)
        if upstream:
            entry["depends_on"] = upstream
        for name, value in options.items():
            entry[name] = self.value(task, name, value)
        return entry

    def value(self, task: BaseOperator | None, name: str, value: Any, *, xcom: bool = False) -> Any:
        """A value as YAML data; ExportError if YAML cannot hold it."""
        if name in _DURATION_FIELDS and value is not None:
            return models.format_duration(_normal(name, value))
        if isinstance(value, Enum):
            return value.value
        return self.data(task, name, value, xcom)

    def data(self, task: BaseOperator | None, name: str, value: Any, xcom: bool) -> Any:
        if value is None or isinstance(value, bool | int | float):
            return value
        if isinstance(value, str):
            return value.replace("${", "$${")  # the loader would substitute it
        if isinstance(value, datetime | date):
            return value
        if isinstance(value, XComArg) and xcom:
            ref = {"xcom": value.operator.task_id}
            if value.key != RETURN_VALUE:
                ref["key"] = value.key
            return ref
        if isinstance(value, list | tuple):
            return [self.data(task, name, item, xcom) for item in value]
        if isinstance(value, dict) and all(isinstance(k, str) for k in value):
            return {
                k.replace("${", "$${"): self.data(task, name, v, xcom) for k, v in value.items()
            }
        raise self.fail(
            task,
            f"{name!r} holds {_describe(value)}, which a YAML file cannot express",
        )


def _schedule_text(schedule: Any) -> str | None:
    if isinstance(schedule, NoSchedule):
        return None
    if isinstance(schedule, OnceSchedule):
        return "@once"
    if isinstance(schedule, DeltaSchedule):
        return models.format_duration(schedule.delta)
    assert isinstance(schedule, CronSchedule)
    return schedule.description


def _yaml_datetime(value: datetime) -> Any:
    if value.tzinfo is None and value == datetime(value.year, value.month, value.day):
        return value.date()  # written 2024-01-01
    return value


def _describe(value: Any) -> str:
    if callable(value):
        return f"the callable {getattr(value, '__qualname__', repr(value))}"
    return f"a {type(value).__name__} ({value!r})"


class _TextDumper(Dumper):
    """Writes text with line breaks as a literal block, the way people write shell scripts."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_TextDumper.add_representer(str, _represent_str)


# -- Python ----------------------------------------------------------------------------------


class _Python(_Export):
    def __init__(self, dag: DAG) -> None:
        super().__init__(dag)
        self.imports: dict[str, tuple[str, str]] = {}  # name in the file -> (module, name)
        self.names: dict[str, str] = {}  # task id -> variable

    def text(self) -> str:
        dag = self.dag
        self.use("DAG", "conveyor")
        options = self.dag_options()
        lines = ["with DAG(", f"    {_py_repr(dag.dag_id)},"]
        for name, value in options.items():
            lines.append(f"    {name}={self.option(name, value)},")
        lines.append("):")
        for task in dag.tasks:  # import names first, so that task variables make way for them
            self.use_object(self.operator_path(task), type(task))
            func = getattr(task, "python_callable", None)
            if func is not None:
                self.use_object(self.callable_path(task, func), func)
        tasks = [self.task(task) for task in dag.tasks]
        body = [*lines, *tasks, *self.edges()]
        if not dag.tasks:
            body.append("    pass")
        header = f'"""DAG {dag.dag_id!r}, exported by conveyor dags export."""\n'
        return "\n".join([header, *self.import_lines(), *body]) + "\n"

    def use(self, name: str, module: str, original: str | None = None) -> str:
        """Import ``original`` (default: ``name``) from ``module`` as ``name``."""
        self.imports.setdefault(name, (module, original or name))
        return name

    def use_object(self, path: str, obj: Any) -> str:
        """The name under which an object imported by path appears in the file."""
        module, _, qualname = path.partition(":")
        top = qualname.split(".")[0]
        if module.startswith("conveyor.") and getattr(conveyor, top, None) is obj:
            module = "conveyor"  # the public name: from conveyor import BashOperator
        name, n = top, 1
        while name in set(self.names.values()) or self.imports.get(name, (module, top)) != (
            module,
            top,
        ):
            n += 1
            name = f"{top}_{n}"
        self.use(name, module, top)
        found: Any = sys.modules[path.partition(":")[0]]
        for part in qualname.split("."):
            found = getattr(found, part)
        # A @task function imports as its wrapper; the plain function is its .function.
        return f"{name}{qualname[len(top) :]}" + (".function" if found is not obj else "")

    def import_lines(self) -> list[str]:
        modules: dict[str, list[str]] = {}
        for name, (module, original) in self.imports.items():
            text = name if name == original else f"{original} as {name}"
            modules.setdefault(module, []).append(text)
        groups: list[list[str]] = [[], [], []]  # standard library, conveyor, the user's
        for module in sorted(modules):
            group = 0 if module == "datetime" else 1 if module.split(".")[0] == "conveyor" else 2
            names = sorted(modules[module], key=_import_order)
            line = f"from {module} import {', '.join(names)}"
            if len(line) > 100:
                line = f"from {module} import (\n" + "".join(f"    {n},\n" for n in names) + ")"
            groups[group].append(line)
        return [line for group in groups if group for line in [*group, ""]]

    def option(self, name: str, value: Any) -> str:
        if name == "schedule":
            return self.schedule(value)
        return self.literal(None, name, value, 4)

    def schedule(self, schedule: Any) -> str:
        if isinstance(schedule, DeltaSchedule):
            return self.literal(None, "schedule", schedule.delta)
        if schedule is not None and (
            not isinstance(schedule, CronSchedule | OnceSchedule | NoSchedule)
            or schedule.partitioned_at_runtime
        ):
            raise self.fail(None, f"an exported file cannot express the timetable {schedule!r}")
        return _py_repr(_schedule_text(schedule))

    def task(self, task: BaseOperator) -> str:
        path = self.operator_path(task)
        cls_name = self.use_object(path, type(task))
        var = self.variable(task.task_id)
        lines = [f"    {var} = {cls_name}(", f"        task_id={_py_repr(task.task_id)},"]
        for name, value in self.task_arguments(task).items():
            if name == "python_callable":
                text = self.use_object(self.callable_path(task, value), value)
            else:
                text = self.literal(task, name, value)
            lines.append(f"        {name}={text},")
        lines.append("    )")
        return "\n".join(lines)

    def variable(self, task_id: str) -> str:
        name = re.sub(r"\W", "_", task_id)
        if name[0].isdigit():
            name = f"task_{name}"
        if keyword.iskeyword(name):
            name += "_"
        taken = set(self.imports) | set(self.names.values()) | _RESERVED
        base, n = name, 1
        if name in taken:
            name = f"{base}_task"
        while name in taken:
            n += 1
            name = f"{base}_task_{n}"
        self.names[task_id] = name
        return name

    def edges(self) -> list[str]:
        lines = []
        for task in self.dag.tasks:
            implied = {arg.operator.task_id for arg in find_xcom_args(_xcom_holders(task))}
            upstream = [self.names[tid] for tid in self.upstream(task) if tid not in implied]
            if not upstream:
                continue
            left = upstream[0] if len(upstream) == 1 else f"[{', '.join(upstream)}]"
            lines.append(f"    {left} >> {self.names[task.task_id]}")
        return ["", *lines] if lines else []

    def literal(self, task: BaseOperator | None, name: str, value: Any, indent: int = 8) -> str:
        """Python source for a value at ``indent``; ExportError if it has none."""
        if isinstance(value, Enum):
            return _py_repr(value.value)
        if value is None or isinstance(value, bool | int | float | str):
            return _py_repr(value)
        if isinstance(value, timedelta | date):
            return self.time_literal(value)
        if isinstance(value, XComArg):
            if value.operator.task_id not in self.names:
                raise self.fail(
                    task,
                    f"it takes the XCom of {value.operator.task_id!r}, which is defined after it",
                )
            self.use("XComArg", "conveyor.model.xcom_arg")
            var = self.names[value.operator.task_id]
            key = f", {value.key!r}" if value.key != RETURN_VALUE else ""
            return f"XComArg({var}{key})"
        if isinstance(value, list | tuple):
            items = [self.literal(task, name, item, indent + 4) for item in value]
            if isinstance(value, tuple):
                return _bracket("(", items, ")", indent, tuple_of_one=len(items) == 1)
            return _bracket("[", items, "]", indent)
        if isinstance(value, dict):
            pairs = [
                f"{self.literal(task, name, k)}: {self.literal(task, name, v, indent + 4)}"
                for k, v in value.items()
            ]
            return _bracket("{", pairs, "}", indent)
        raise self.fail(task, f"{name!r} holds {_describe(value)}, which has no Python literal")

    def time_literal(self, value: timedelta | date) -> str:
        if isinstance(value, timedelta):
            self.use("timedelta", "datetime")
            seconds = value.total_seconds()
            return f"timedelta(seconds={int(seconds) if seconds.is_integer() else seconds!r})"
        if not isinstance(value, datetime):
            self.use("date", "datetime")
            return f"date({value.year}, {value.month}, {value.day})"
        self.use("datetime", "datetime")
        parts = [value.year, value.month, value.day, value.hour, value.minute, value.second]
        parts.append(value.microsecond)
        while len(parts) > 3 and parts[-1] == 0:
            parts.pop()  # datetime(2024, 1, 1) rather than datetime(2024, 1, 1, 0, 0, 0, 0)
        text = ", ".join(str(p) for p in parts)
        if value.tzinfo is None:
            return f"datetime({text})"
        self.use("UTC", "datetime")
        return f"datetime({text}, tzinfo=UTC)"


def _import_order(name: str) -> tuple[bool, bool, str]:
    """CONSTANTS, then Classes, then functions, as isort orders them."""
    return (not name.isupper(), name[:1].islower(), name)


def _py_repr(value: Any) -> str:
    """repr(), with the double quotes a formatter would use where that needs no escaping."""
    text = repr(value)
    if isinstance(value, str) and text.startswith("'") and '"' not in value:
        return f'"{text[1:-1]}"'
    return text


def _bracket(
    left: str, items: list[str], right: str, indent: int, *, tuple_of_one: bool = False
) -> str:
    """One line if it fits, else one item per line (as a formatter would write it)."""
    one_line = f"{left}{', '.join(items)}{',' if tuple_of_one else ''}{right}"
    if indent + len(one_line) <= 80 and "\n" not in one_line:
        return one_line
    inner = " " * (indent + 4)
    return left + "\n" + "".join(f"{inner}{item},\n" for item in items) + " " * indent + right


#: Names the exporter may import after a task variable was named.
_RESERVED = {"DAG", "UTC", "XComArg", "date", "datetime", "timedelta"}


def _xcom_holders(task: BaseOperator) -> list[Any]:
    return [getattr(task, "op_args", None), getattr(task, "op_kwargs", None)]


# -- the check -------------------------------------------------------------------------------


def _check_round_trip(dag: DAG, text: str, fmt: Format) -> None:
    """Load the export again; its serialized DAG must equal the original's."""
    folder = Path(dag.fileloc).resolve().parent if dag.fileloc else Path.cwd()
    if fmt == "yaml":
        try:
            loaded = load_yaml_text(text, str(folder / f"{dag.dag_id}.yaml"), environ={})
        except YamlDagError as exc:
            raise ExportError(dag.dag_id, None, f"the YAML export does not load: {exc}") from exc
    else:
        loaded = _exec_python(dag, text, folder)
    again = [d for d in loaded if d.dag_id == dag.dag_id]
    if len(again) != 1:
        raise ExportError(dag.dag_id, None, f"the {fmt} export does not define the DAG")
    before, after = serialize_dag(dag), serialize_dag(again[0])
    before.pop("fileloc")
    after.pop("fileloc")
    if before != after:
        raise _difference(dag.dag_id, before, after, fmt)


def _exec_python(dag: DAG, text: str, folder: Path) -> list[DAG]:
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))  # where the original file's helper modules are
    created_before = len(DagContext.created)
    entered_before = len(DagContext.entered)
    namespace: dict[str, Any] = {"__name__": "conveyor_export_check"}
    try:
        exec(compile(text, f"<export of {dag.dag_id}>", "exec"), namespace)
    except Exception as exc:
        raise ExportError(
            dag.dag_id, None, f"the Python export does not load: {type(exc).__name__}: {exc}"
        ) from exc
    finally:
        created = DagContext.created[created_before:]
        del DagContext.created[created_before:]
        del DagContext.entered[entered_before:]
    return created


def _difference(
    dag_id: str, before: dict[str, Any], after: dict[str, Any], fmt: str
) -> ExportError:
    tasks_before = {t["task_id"]: t for t in before.pop("tasks")}
    tasks_after = {t["task_id"]: t for t in after.pop("tasks")}
    for key in before:
        if before[key] != after.get(key):
            return ExportError(
                dag_id,
                None,
                f"its {key} would read back from {fmt} as {after.get(key)!r}, not {before[key]!r}",
            )
    for task_id, task in tasks_before.items():
        other = tasks_after.get(task_id, {})
        for key in task:
            if task[key] != other.get(key):
                return ExportError(
                    dag_id,
                    task_id,
                    f"its {key} would read back from {fmt} as {other.get(key)!r}, "
                    f"not {task[key]!r}",
                )
    return ExportError(dag_id, None, f"the {fmt} export has other tasks: {sorted(tasks_after)}")
