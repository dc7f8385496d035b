"""DAG params and the one check of a run's ``conf`` against them.

A DAG's params are ``{name: default}``, or ``{name: Param(default, type=..., ...)}`` for a
param with a JSON Schema (``type``, ``minimum``/``maximum``, ``enum``, ``minLength`` ...) and
a description. Every way of making a run (the web form, the REST API, ``conveyor dags
trigger``, ``TriggerDagRunOperator``, ``conveyor.testing``) checks its conf with
:func:`conf_errors`, so a value one refuses is refused by all, with the key named.

For a plain default, the default's JSON type is the type a conf value must have (an integer
is fine where a number is expected; a default of null takes anything). When a DAG declares
params, a conf key it does not declare is refused: it is most likely a typo, and silently
ignoring it would run the DAG with the default.
"""

from __future__ import annotations

import json
from typing import Any

import jsonschema

from conveyor.exceptions import ConveyorError, DagDefinitionError
from conveyor.model import param_patterns
from conveyor.model.json_types import json_type


class _NotSet:
    def __repr__(self) -> str:
        return "NOTSET"


#: The default of a Param that has none: the run's conf must give the value.
NOTSET: Any = _NotSet()


class Param:
    """A DAG param with a default, a JSON Schema and a description.

    ``Param(5, type="integer", minimum=1, description="how many")``; the keyword arguments
    other than ``description`` are JSON Schema keywords.
    """

    def __init__(
        self, default: Any = NOTSET, description: str | None = None, **schema: Any
    ) -> None:
        self.value = default
        self.description = description
        self.schema = schema
        try:
            jsonschema.validators.validator_for(schema).check_schema(schema)
            param_patterns.validator_for(schema)  # its patterns compile in RE2
        except jsonschema.SchemaError as exc:
            raise DagDefinitionError(
                f"Param schema {schema!r} is not valid: {exc.message}"
            ) from None
        except param_patterns.PatternError as exc:
            raise DagDefinitionError(f"Param schema {schema!r}: {exc}") from None

    @property
    def has_default(self) -> bool:
        return self.value is not NOTSET

    def serialize(self) -> dict[str, Any]:
        return {
            "schema": self.schema,
            "description": self.description,
            "required": not self.has_default,
        }

    def __repr__(self) -> str:
        return f"Param({self.value!r}, {self.schema!r})"


def split_params(
    dag_id: str, params: dict[str, Any], *, check_defaults: bool = True
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(defaults, specs)``: the plain default of each param, and the serialized spec of
    each :class:`Param`. With ``check_defaults``, a Param whose default breaks its own schema
    is refused here."""
    defaults: dict[str, Any] = {}
    specs: dict[str, Any] = {}
    for name, value in params.items():
        if not isinstance(value, Param):
            defaults[name] = value
            continue
        defaults[name] = value.value if value.has_default else None
        specs[name] = value.serialize()
        if check_defaults and value.has_default:
            problem = schema_error(value.schema, value.value)
            if problem:
                raise DagDefinitionError(
                    f"DAG {dag_id!r}: the default of param {name!r} ({value.value!r}) {problem}"
                )
    return defaults, specs


def schema_error(schema: dict[str, Any], value: Any) -> str | None:
    """Why ``value`` breaks ``schema``, or None. Patterns are searched by RE2 (linear time,
    see ``param_patterns``); a pattern RE2 cannot run refuses the value with the reason."""
    try:
        validator = param_patterns.validator_for(schema)
    except param_patterns.PatternError as exc:
        return f"cannot be checked: {exc}"
    found = jsonschema.exceptions.best_match(validator.iter_errors(value))
    return None if found is None else f"does not match its schema: {found.message}"


def _as_typed(value: Any) -> str:
    """A conf value as the person typed it, in JSON (``"abc"``, ``true``, ``null``), not as
    Python would print it; a default JSON cannot hold, as Python prints it."""
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(value)


class ConfRefused(ConveyorError, ValueError):
    """A run's conf that the DAG's params refuse; the message lists every problem (a
    ConveyorError, so the CLI prints it as one line; a ValueError, as it always was)."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


def conf_errors(
    dag_id: str,
    params: dict[str, Any],
    conf: dict[str, Any],
    specs: dict[str, Any] | None = None,
) -> list[str]:
    """Every problem with ``conf``, each naming the param; empty when it is valid.

    ``params`` are the defaults, ``specs`` the serialized :class:`Param` specs by name.
    """
    specs = specs or {}
    errors: list[str] = []
    for name, value in conf.items():
        if name not in params:
            if params:
                known = ", ".join(sorted(params))
                errors.append(
                    f"conf.{name}: DAG {dag_id!r} has no param {name!r} (params: {known})"
                )
            continue
        if name in specs:
            problem = schema_error(specs[name]["schema"], value)
            if problem:
                errors.append(f"conf.{name}: {_as_typed(value)} {problem}"[:500])
            continue
        expected = json_type(params[name])
        if expected is None:
            continue
        got = json_type(value)
        if got == expected or (expected == "number" and got == "integer"):
            continue
        default, typed = _as_typed(params[name]), _as_typed(value)
        errors.append(
            f"conf.{name}: param {name!r} expects {expected} "
            f"(like its default {default}), got {got or 'null'} {typed}"[:500]
        )
    for name, spec in specs.items():
        if name in conf:
            continue
        if spec.get("required"):
            errors.append(f"conf.{name}: param {name!r} has no default; the conf must give it")
        elif problem := schema_error(spec["schema"], params.get(name)):
            # A DAG no schedule runs may keep a default its schema refuses (as on Airflow):
            # the trigger must then give the param.
            default = _as_typed(params.get(name))
            errors.append(
                f"conf.{name}: param {name!r} is not in the conf and its default {default} "
                f"{problem}"[:500]
            )
    return errors


class DagParam:
    """A ``@dag`` function's parameter, as its tasks are given it: at run time it is the
    run's ``params[name]`` (the conf's value when the trigger gave one, else the default), as
    Airflow's DagParam. It is resolved where templates are rendered (a task's template
    fields, a ``@task`` function's arguments); in an f-string it becomes the Jinja
    expression that reads the param, so ``f"echo {url}"`` in a templated field works too."""

    def __init__(self, name: str, default: Any = NOTSET) -> None:
        self.name = name
        self.default = default

    def resolve(self, context: dict[str, Any]) -> Any:
        params = context.get("params") or {}
        if self.name in params:
            value = params[self.name]
            return value.value if isinstance(value, Param) else value
        if self.default is NOTSET:
            raise ConveyorError(f"DAG param {self.name!r} has no value: give it in the conf")
        return self.default.value if isinstance(self.default, Param) else self.default

    def __str__(self) -> str:
        return f"{{{{ params[{self.name!r}] }}}}"

    def __repr__(self) -> str:
        # Stable across parses: the serialized DAG (and so its version) is made from it.
        return f"DagParam({self.name!r}, default={self.default!r})"
