"""What a refused trigger says about the conf typed: its values in JSON, as typed."""

from __future__ import annotations

from conveyor.model.params import conf_errors


def test_a_refused_value_is_quoted_as_json_not_as_python() -> None:
    errors = conf_errors(
        "d",
        {"n": 1, "flag": False, "name": "x"},
        {"n": "three", "flag": None, "name": "ok"},
    )
    assert errors == [
        "conf.n: param 'n' expects integer (like its default 1), got string \"three\"",
        "conf.flag: param 'flag' expects boolean (like its default false), got null null",
    ]


def test_a_value_its_param_schema_refuses_is_quoted_as_json() -> None:
    specs = {"when": {"schema": {"type": "string", "format": "date"}}, "on": {"schema": {}}}
    [error] = conf_errors("d", {"when": "2026-01-01", "on": True}, {"when": True}, specs)
    assert error.startswith("conf.when: true does not match its schema: ")


def test_a_default_its_schema_refuses_must_be_replaced_by_the_conf() -> None:
    """A DAG without a schedule may keep such a default (Airflow's meaning): its trigger
    must give the param, and is refused, naming it, when it does not."""
    specs = {"since": {"schema": {"type": "string"}, "required": False}}
    [error] = conf_errors("d", {"since": None}, {}, specs)
    assert error.startswith(
        "conf.since: param 'since' is not in the conf and its default null does not match "
        "its schema: "
    )
    assert conf_errors("d", {"since": None}, {"since": "2025-01-01"}, specs) == []
