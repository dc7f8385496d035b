"""Load a YAML DAG file into the same DAG and operator objects a Python file makes.

The steps, each of which records problems instead of stopping at the first:

1. read the YAML into nodes that know their positions (``_nodes``), check for repeated keys,
   fill in ``${...}`` and expand ``for_each`` templates;
2. validate the values against the format's models (``models``), turning each pydantic error
   into a :class:`Problem` at the position of the value it is about;
3. build real ``DAG`` and operator objects, importing operator classes and callables by path
   and adding dependencies, where unknown tasks and cycles are found.

If anything was found, :class:`YamlDagError` lists every problem of the file, in file order.
Since the DAGs are real objects built through the Python API, a YAML DAG serializes exactly
like the same DAG written in Python and runs the same way.
"""

from __future__ import annotations

import difflib
import itertools
import os
import types
import typing
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError
from yaml.nodes import Node

from conveyor.exceptions import CycleError, DagDefinitionError
from conveyor.loading.yaml import models
from conveyor.loading.yaml._imports import (
    ImportProblem,
    import_callable,
    import_object,
    import_operator,
    operator_parameters,
)
from conveyor.loading.yaml._nodes import Reading, column_in, is_tag, locate
from conveyor.loading.yaml.errors import Problem, YamlDagError
from conveyor.model.context import DagContext
from conveyor.model.dag import DAG
from conveyor.model.task import BaseOperator
from conveyor.model.xcom_arg import RETURN_VALUE, XComArg
from conveyor.operators.python import PythonOperator

__all__ = ["load_yaml_dags", "load_yaml_text"]

Loc = tuple[Any, ...]

_EXPECTED_BY_TYPE = {
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "string_type": "a string",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "list_type": "a list",
    "float_type": "a number",
    "float_parsing": "a number",
}
_OPERATORS_TEXT = (
    f"one of {', '.join(models.BUILTIN_OPERATORS)}, or an import path such as "
    "package.module:MyOperator"
)


def load_yaml_dags(path: str) -> list[DAG]:
    """Load every DAG a YAML file defines; raise :class:`YamlDagError` listing all problems."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise YamlDagError(
            path, [Problem(path, None, None, f"cannot read the file: {exc}")]
        ) from exc
    return load_yaml_text(text, path)


def load_yaml_text(text: str, path: str, *, environ: Mapping[str, str] | None = None) -> list[DAG]:
    """Load DAGs from YAML text as if it were the file ``path`` (which need not exist).

    ``path`` names the file in problems and decides where modules are imported from.
    ``environ`` replaces ``os.environ`` for ``${VAR}`` substitution.
    """
    reading = Reading(path, text, dict(os.environ if environ is None else environ))
    created_before = len(DagContext.created)
    entered_before = len(DagContext.entered)
    try:
        dags = _Builder(reading).load()
    finally:
        del DagContext.created[created_before:]  # returned, not collected by an importer
        del DagContext.entered[entered_before:]
    problems = _in_file_order(reading.problems)
    if problems:
        raise YamlDagError(path, problems)
    for found in dags:
        found.fileloc = path
    return dags


def _in_file_order(problems: list[Problem]) -> list[Problem]:
    """Sorted by position, each once.

    A template's DAGs share their source lines, so a mistake in a template is reported once
    rather than once per DAG made from it.
    """
    unique = {(p.line, p.column, p.message, p.expected, p.found): p for p in reversed(problems)}
    return sorted(reversed(unique.values()), key=lambda p: (p.line or 0, p.column or 0))


class _Builder:
    def __init__(self, reading: Reading) -> None:
        self.reading = reading
        self.folder = Path(reading.file).resolve().parent
        self.root: Node | None = None
        self.task_ids: list[str] = []

    def load(self) -> list[DAG]:
        roots = self.reading.documents()
        for root in roots:
            self.reading.check_keys(root)
        dags: list[DAG] = []
        first: dict[str, Node] = {}
        for root in roots:
            self.root = self.reading.expand(root)
            data = self.reading.construct(self.root)
            self.reading.settle()
            for dag in self._document(data):
                key = self._spot(("dags", dag.dag_id)).anchor
                if dag.dag_id in first:
                    line = first[dag.dag_id].start_mark.line + 1
                    self._problem(
                        key,
                        ("dags", dag.dag_id),
                        f"duplicate DAG id {dag.dag_id!r}",
                        "each DAG id once in a file",
                        f"it again (first at line {line})",
                    )
                    continue
                first[dag.dag_id] = key
                dags.append(dag)
        return dags

    # -- problems ----------------------------------------------------------------------

    def _spot(self, loc: Loc) -> Any:
        assert self.root is not None
        return locate(self.root, loc)

    def _problem(
        self,
        node: Node | None,
        loc: Loc,
        message: str,
        expected: str | None = None,
        found: str | None = None,
        *,
        column: int | None = None,
    ) -> None:
        self.reading.problem(node, loc, message, expected, found, column=column)

    def _at(
        self, loc: Loc, message: str, expected: str | None = None, found: str | None = None
    ) -> None:
        """A problem about the value at ``loc``."""
        self._problem(self._spot(loc).node, loc, message, expected, found)

    def _at_key(
        self, loc: Loc, message: str, expected: str | None = None, found: str | None = None
    ) -> None:
        """A problem about the entry at ``loc``, shown at its key."""
        self._problem(self._spot(loc).anchor, loc, message, expected, found)

    # -- validation --------------------------------------------------------------------

    def _document(self, data: Any) -> list[DAG]:
        if data is None:
            return []  # an empty document defines nothing
        failed: list[Loc] = []
        try:
            models.FileSpec.model_validate(data)
        except ValidationError as exc:
            errors = exc.errors(include_url=False)
            for error in _relevant(errors):
                self._translate(error)
            failed = [
                tuple(e for e in error["loc"] if not is_tag(e) and e != "[key]") for error in errors
            ]
        if not isinstance(data, dict) or not isinstance(data.get("dags"), dict):
            return []
        return self._build_all(data, failed)

    def _build_all(self, data: dict[str, Any], failed: list[Loc]) -> list[DAG]:
        """Build the DAGs, leaving out the values that failed validation.

        So the problems only building finds (imports, unknown tasks, cycles) are reported in
        the same round as the others. A file with any problem loads no DAG at all, so nothing
        half-built escapes.
        """
        defaults = None
        if isinstance(data.get("defaults"), dict):
            defaults = _valid(models.DagOptions, _without(data["defaults"], failed, ("defaults",)))
        built = []
        for dag_id, entry in data["dags"].items():
            where: Loc = ("dags", dag_id)
            if not isinstance(entry, dict) or where in failed:
                continue
            tasks = entry.get("tasks")
            task_ids = list(tasks) if isinstance(tasks, dict) else []
            entry = _without(entry, failed, where)
            kept = {}
            for task_id, task in tasks.items() if isinstance(tasks, dict) else ():
                loc = (*where, "tasks", task_id)
                cleaned = _without(task, failed, loc)
                if loc not in failed and _valid(_TASK, cleaned) is not None:
                    kept[task_id] = cleaned
            entry["tasks"] = kept
            spec = _valid(models.DagSpec, entry)
            if spec is not None:
                dag = self._dag(dag_id, spec, defaults, task_ids)
                if dag is not None:
                    built.append(dag)
        return built

    def _translate(self, error: Any) -> None:
        raw: Loc = tuple(error["loc"])
        loc = tuple(e for e in raw if not is_tag(e) and e != "[key]")
        kind, value, ctx = error["type"], error.get("input"), error.get("ctx") or {}
        name = _name_of(loc)
        spot = self._spot(raw)
        if kind == "extra_forbidden":
            allowed = _model_fields(raw[:-1])
            hint = _did_you_mean(str(loc[-1]), allowed)
            expected = f"one of {', '.join(allowed)}"
            if models.CUSTOM_TAG in raw:
                expected += "; an operator's own arguments go under 'arguments'"
            self._problem(
                spot.anchor, loc, f"unknown key {loc[-1]!r}{hint}", expected, repr(loc[-1])
            )
        elif kind == "missing":
            field = _field_info(raw)
            about = ""
            if field is not None and field.description:
                first = field.description.splitlines()[0].rstrip(".")
                about = f" ({first[0].lower()}{first[1:]})"
            anchor = spot.anchor if not spot.complete else spot.node
            key = loc[-1]
            self._problem(
                anchor, loc, f"missing key {key!r}", f"a value for {key!r}{about}", "nothing"
            )
        elif kind == "conveyor" and models.CUSTOM_TAG in raw and loc[-1] == "operator":
            hint = _did_you_mean(str(value), list(models.BUILTIN_OPERATORS))
            self._problem(
                spot.node, loc, f"unknown operator {value!r}{hint}", _OPERATORS_TEXT, _found(value)
            )
        elif kind == "conveyor":
            node = spot.node if spot.complete else spot.anchor
            self._problem(node, loc, ctx["message"], ctx["expected"], _found(value))
        elif kind == "literal_error":
            self._problem(
                spot.node,
                loc,
                f"invalid {name or 'value'}",
                f"one of {ctx['expected']}",
                _found(value),
            )
        elif kind in ("greater_than_equal", "greater_than"):
            bound = ctx.get("ge", ctx.get("gt"))
            sign = ">=" if "ge" in ctx else ">"
            self._problem(
                spot.node,
                loc,
                f"invalid {name or 'value'}",
                f"a number {sign} {bound}",
                _found(value),
            )
        else:
            expected = _EXPECTED_BY_TYPE.get(kind, error["msg"])
            if not loc:
                expected = "a mapping with a 'dags' key"
            message = f"wrong type for {name}" if name else "wrong type"
            self._problem(spot.node, loc, message, expected, _found(value))

    # -- building ----------------------------------------------------------------------

    def _dag(
        self,
        dag_id: str,
        spec: models.DagSpec,
        defaults: models.DagOptions | None,
        task_ids: list[str],
    ) -> DAG | None:
        where: Loc = ("dags", dag_id)
        self.task_ids = task_ids  # every task the file names, built or not
        options = _merged_options(spec, defaults)
        schedule = options.get("schedule")
        if isinstance(schedule, str):
            options["schedule"] = models.parse_duration(schedule) or schedule
        try:
            dag = DAG(dag_id, **options)
        except DagDefinitionError as exc:
            self._at_key(where, str(exc))
            return None
        with dag:
            for task_id, task_spec in spec.tasks.items():
                self._task((*where, "tasks", task_id), task_spec)
        self._dependencies(dag, spec, where)
        self._check_default_args(dag, spec, defaults, where)
        return dag

    def _task(self, where: Loc, spec: Any) -> BaseOperator | None:
        task_id = where[-1]
        kwargs = {
            name: getattr(spec, name)
            for name in models.TASK_OPTION_FIELDS
            if name in spec.model_fields_set
        }
        if isinstance(spec, models.CustomTask):
            cls = self._import((*where, "operator"), spec.operator, import_operator)
            if cls is None or not self._arguments_fit(where, cls, spec.arguments):
                return None
            kwargs.update(spec.arguments)
        else:
            cls = import_object(models.BUILTIN_OPERATORS[spec.operator], self.folder)
            own = set(type(spec).model_fields) - set(models.TaskOptions.model_fields)
            for name in sorted(own - {"operator"}):
                if name in spec.model_fields_set or name == "python_callable":
                    kwargs[name] = getattr(spec, name)
            if "python_callable" in kwargs:
                func = self._import(
                    (*where, "python_callable"), spec.python_callable, import_callable
                )
                if func is None:
                    return None
                kwargs["python_callable"] = func
        try:
            return cls(task_id, **kwargs)  # type: ignore[no-any-return]
        except DagDefinitionError as exc:
            self._at_key(where, str(exc))
        except Exception as exc:  # the operator is user code: any error is a problem of the file
            self._at_key(where, f"{cls.__name__}(...) raised {type(exc).__name__}: {exc}")
        return None

    def _import(self, loc: Loc, path: str, importer: Any) -> Any:
        try:
            return importer(path, self.folder)
        except ImportProblem as exc:
            what = "an operator class" if loc[-1] == "operator" else "a function"
            self._at(loc, str(exc), f"{what} importable as package.module:name", repr(path))
            return None

    def _arguments_fit(self, where: Loc, cls: type, arguments: dict[str, Any]) -> bool:
        accepted = operator_parameters(cls)
        fit = True
        for name in arguments:
            loc = (*where, "arguments", name)
            if name in models.TaskOptions.model_fields:
                self._at_key(
                    loc,
                    f"{name!r} is a task option",
                    "it beside 'operator', not under 'arguments'",
                    repr(name),
                )
                fit = False
            elif name not in accepted:
                own = [
                    a
                    for a in accepted
                    if a not in models.TaskOptions.model_fields
                    and a not in operator_parameters(BaseOperator)  # doc, owner, callbacks...
                ]
                self._at_key(
                    loc,
                    f"unknown argument {name!r} of {cls.__name__}{_did_you_mean(name, own)}",
                    f"one of {', '.join(own)}"
                    if own
                    else f"no arguments ({cls.__name__} takes none)",
                    repr(name),
                )
                fit = False
        return fit

    def _dependencies(self, dag: DAG, spec: models.DagSpec, where: Loc) -> None:
        for task_id, task_spec in spec.tasks.items():
            built = task_id in dag.task_dict  # if not, its problem is reported already
            for n, upstream in enumerate(task_spec.depends_on):
                loc = (*where, "tasks", task_id, "depends_on", n)
                if self._known(dag, upstream, loc, self._spot(loc).node) and built:
                    self._edge(dag, upstream, task_id, loc, self._spot(loc).node)
            task = dag.task_dict.get(task_id)
            if isinstance(task, PythonOperator):
                self._xcom_arguments(dag, task, (*where, "tasks", task_id))
        for n, text in enumerate(spec.chain):
            loc = (*where, "chain", n)
            node = self._spot(loc).node
            steps = models.parse_chain(text) or []
            known = [
                self._known(dag, tid, loc, node, offset) for step in steps for tid, offset in step
            ]
            if not all(known):
                continue
            for up_step, down_step in itertools.pairwise(steps):
                for upstream, _ in up_step:
                    for downstream, _ in down_step:
                        self._edge(dag, upstream, downstream, loc, node)

    def _known(
        self,
        dag: DAG,
        task_id: str,
        loc: Loc,
        node: Node,
        offset: int | None = None,
    ) -> bool:
        if task_id in dag.task_dict:
            return True
        if task_id not in self.task_ids:  # a task that failed to build is reported already
            column = column_in(self.reading.text, node, offset) if offset is not None else None
            self._problem(
                node,
                loc,
                f"unknown task {task_id!r}{_did_you_mean(task_id, self.task_ids)}",
                f"one of this DAG's tasks: {', '.join(self.task_ids) or '(none)'}",
                repr(task_id),
                column=column,
            )
        return False

    def _edge(self, dag: DAG, upstream: str, downstream: str, loc: Loc, node: Node) -> None:
        try:
            dag.add_edge(upstream, downstream)
        except CycleError as exc:
            self._problem(
                node, loc, str(exc), "dependencies without a cycle", f"{upstream} >> {downstream}"
            )

    def _xcom_arguments(self, dag: DAG, task: PythonOperator, where: Loc) -> None:
        """Turn {xcom: task_id} in op_args and op_kwargs into XComArgs, as Python passes them."""

        def convert(value: Any, loc: Loc) -> Any:
            if isinstance(value, dict) and _is_xcom_ref(value):
                source = value["xcom"]
                if not self._known(dag, source, (*loc, "xcom"), self._spot((*loc, "xcom")).node):
                    return value
                self._edge(dag, source, task.task_id, loc, self._spot(loc).node)
                return XComArg(dag.task_dict[source], value.get("key", RETURN_VALUE))
            if isinstance(value, list):
                return [convert(item, (*loc, n)) for n, item in enumerate(value)]
            if isinstance(value, dict):
                return {k: convert(v, (*loc, k)) for k, v in value.items()}
            return value

        task.op_args = convert(task.op_args, (*where, "op_args"))
        task.op_kwargs = convert(task.op_kwargs, (*where, "op_kwargs"))

    def _check_default_args(
        self, dag: DAG, spec: models.DagSpec, defaults: models.DagOptions | None, where: Loc
    ) -> None:
        """An extra default_args key no operator of the DAG accepts is a typo, not a default."""
        accepted: set[str] = set()
        for task in dag.tasks:
            accepted.update(operator_parameters(type(task)))
        for name in dag.default_args:
            if name in models.DefaultArgs.model_fields or name in accepted or not dag.tasks:
                continue
            own = spec.default_args is not None and name in (spec.default_args.model_extra or {})
            loc = (*where, "default_args", name) if own else ("defaults", "default_args", name)
            self._at_key(
                loc,
                f"unknown key {name!r} in default_args",
                f"a task option ({', '.join(models.DefaultArgs.model_fields)}) or an argument "
                "of one of the DAG's operators",
                repr(name),
            )


# -- helpers ---------------------------------------------------------------------------------

_TASK: TypeAdapter[Any] = TypeAdapter(models.Task)


def _without(value: Any, failed: list[Loc], prefix: Loc) -> Any:
    """A mapping without the keys that failed validation (a copy); other values as they are."""
    if not isinstance(value, dict):
        return value
    return {
        k: v
        for k, v in value.items()
        if k == "tasks" or not any(loc[: len(prefix) + 1] == (*prefix, k) for loc in failed)
    }


def _valid(model: Any, value: Any) -> Any:
    """The validated value, or None if it does not validate."""
    try:
        if isinstance(model, TypeAdapter):
            return model.validate_python(value)
        return model.model_validate(value)
    except ValidationError:
        return None


def _is_xcom_ref(value: dict[str, Any]) -> bool:
    return (
        set(value) in ({"xcom"}, {"xcom", "key"})
        and isinstance(value["xcom"], str)
        and isinstance(value.get("key", RETURN_VALUE), str)
    )


def _merged_options(spec: models.DagSpec, defaults: models.DagOptions | None) -> dict[str, Any]:
    """The DAG's keyword arguments: its own values, else the file's defaults.

    default_args and params are merged key by key, the DAG's own keys winning.
    """
    options: dict[str, Any] = {}
    for name in models.DAG_OPTION_FIELDS:
        if name in spec.model_fields_set:
            options[name] = getattr(spec, name)
        elif defaults is not None and name in defaults.model_fields_set:
            options[name] = getattr(defaults, name)
    for name in ("default_args", "params"):
        merged: dict[str, Any] = {}
        for source in (defaults, spec):
            value = getattr(source, name, None) if source is not None else None
            if isinstance(value, BaseModel):
                merged.update(value.model_dump(exclude_unset=True))
            elif value:
                merged.update(value)
        if merged or name in options:
            options[name] = merged
    return options


def _relevant(errors: Iterable[Any]) -> list[Any]:
    """Drop the noise after an unknown operator: the task's other keys belong to no model."""
    errors = list(errors)
    bad_operator = {
        tuple(e["loc"][:4])
        for e in errors
        if models.CUSTOM_TAG in e["loc"] and e["loc"][-1] == "operator"
    }
    return [
        e
        for e in errors
        if not (tuple(e["loc"][:4]) in bad_operator and e["loc"][-1] != "operator")
    ]


def _name_of(loc: Loc) -> str | None:
    """How a message names the value at ``loc``; None for a whole file, DAG or task."""
    if not loc or (len(loc) == 2 and loc[0] == "dags"):
        return None
    if len(loc) == 4 and loc[0] == "dags" and loc[2] == "tasks":
        return None
    return repr(loc[-1]) if isinstance(loc[-1], str) else f"item {loc[-1]}"


def _found(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return repr(value)
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, datetime | date | timedelta):
        return str(value)
    return type(value).__name__


def _did_you_mean(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.7)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _strip(annotation: Any) -> Any:
    """Annotated[X, ...] -> X and X | None -> X, until neither applies."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
            continue
        if origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(args) == 1:
                annotation = args[0]
                continue
        return annotation


def _step(annotation: Any, element: Any) -> Any:
    """The type found one step into ``annotation`` along a pydantic error location."""
    annotation = _strip(annotation)
    origin = typing.get_origin(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        field = annotation.model_fields.get(str(element))
        return field.annotation if field is not None else None
    if origin is dict:
        return typing.get_args(annotation)[1]
    if origin is list:
        return typing.get_args(annotation)[0]
    if origin in (typing.Union, types.UnionType):
        for member in typing.get_args(annotation):
            tags = [
                m for m in getattr(member, "__metadata__", ()) if getattr(m, "tag", None) == element
            ]
            if tags:
                return member
    return None


def _walk(loc: Loc) -> Any:
    annotation: Any = models.FileSpec
    for element in loc:
        if annotation is None:
            return None
        annotation = _step(annotation, element)
    return _strip(annotation) if annotation is not None else None


def _model_fields(loc: Loc) -> list[str]:
    found = _walk(loc)
    if isinstance(found, type) and issubclass(found, BaseModel):
        return list(found.model_fields)
    return []


def _field_info(loc: Loc) -> Any:
    parent = _walk(loc[:-1])
    if isinstance(parent, type) and issubclass(parent, BaseModel):
        return parent.model_fields.get(str(loc[-1]))
    return None
