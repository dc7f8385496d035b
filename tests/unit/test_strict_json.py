"""The strict JSON rule (conveyor.strict_json): what it refuses, and how old rows are shown."""

from __future__ import annotations

import json
import math

import pytest

from conveyor.exceptions import DagDefinitionError
from conveyor.loading.yaml.loader import YamlDagError, load_yaml_text
from conveyor.operators.trigger_dagrun import TriggerDagRunOperator
from conveyor.strict_json import NotStrictJson, check, check_conf, problem, shown
from conveyor.worker.context import check_json


@pytest.mark.parametrize(
    ("value", "where"),
    [
        ({"x": math.nan}, "conf.x: nan is not a JSON number"),
        ({"x": [1, math.inf]}, "conf.x[1]: inf is not a JSON number"),
        ({"x": {"y": -math.inf}}, "conf.x.y: -inf is not a JSON number"),
        ({"x": "ok\ud800"}, "conf.x: the lone UTF-16 surrogate U+D800 at position 2"),
        ({"\udc00": 1}, "conf key: the lone UTF-16 surrogate U+DC00 at position 0"),
    ],
)
def test_a_conf_that_is_not_strict_json_is_refused_naming_where(value: object, where: str) -> None:
    with pytest.raises(NotStrictJson) as caught:
        check_conf(value)  # type: ignore[arg-type]
    message = str(caught.value)
    assert message.startswith(where), message
    assert "strict JSON" in message
    message.encode("utf-8")  # the message itself can be printed and sent


def test_a_conf_over_the_size_cap_is_refused_and_one_at_the_cap_passes() -> None:
    conf = {"x": "a" * 20}  # {"x":"aaaa..."} is 28 bytes as compact JSON
    assert check_conf(conf, 28) is conf
    with pytest.raises(
        NotStrictJson, match=r"conf: 29 bytes of JSON; at most 28 \(max_conf_bytes\)"
    ):
        check_conf({"x": "a" * 21}, 28)


def test_strict_values_pass_unchanged() -> None:
    value = {"a": [1, 2.5, None, True, "ü ✓ 😀"], "b": {"c": ""}}
    assert check(value, "x") is value
    assert problem(value) is None
    assert shown(value) is value  # no copy when nothing is wrong


def test_old_rows_are_shown_with_their_bad_parts_marked() -> None:
    stored = {"n": math.nan, "i": [math.inf, -math.inf], "s": "a\ud800b", "\udc00k": 1, "ok": 2}
    marked = shown(stored)
    assert marked == {
        "n": "NaN",
        "i": ["Infinity", "-Infinity"],
        "s": "a\ufffdb",
        "\ufffdk": 1,
        "ok": 2,
    }
    json.dumps(marked, allow_nan=False, ensure_ascii=False).encode("utf-8")


@pytest.mark.parametrize("bad", [math.nan, [1, math.inf], {"s": "\ud83d"}])
def test_a_return_value_that_is_not_strict_json_fails_the_try_with_the_reason(bad: object) -> None:
    with pytest.raises(Exception, match="the return value of task 't' is not strict JSON"):
        check_json(bad, "the return value of task 't'")


def test_trigger_dagrun_refuses_a_conf_that_is_not_strict_json_when_the_dag_is_defined() -> None:
    with pytest.raises(DagDefinitionError, match=r"task 'kick': conf.x: nan is not a JSON number"):
        TriggerDagRunOperator(task_id="kick", trigger_dag_id="other", conf={"x": math.nan})


def test_a_yaml_trigger_with_a_nan_conf_is_an_error_at_its_file_and_line() -> None:
    text = (
        "dags:\n"
        "  kicker:\n"
        "    tasks:\n"
        "      kick:\n"
        "        operator: conveyor.operators.trigger_dagrun.TriggerDagRunOperator\n"
        "        arguments:\n"
        "          trigger_dag_id: target\n"
        "          conf: {ratio: .nan}\n"
    )
    with pytest.raises(YamlDagError) as caught:
        load_yaml_text(text, "dags/kicker.yaml")
    assert "dags/kicker.yaml:4:7: DAG 'kicker', task 'kick'" in str(caught.value)
    assert "conf.ratio: nan is not a JSON number" in str(caught.value)
