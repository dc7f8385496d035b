"""Property tests of the YAML loader: whatever the text, it loads or raises YamlDagError.

A DAG file is edited by hand while the DAG processor watches it, so the loader sees every
half-typed state of it. Generated files that are valid must load with the tasks and edges
they describe; generated files that are then mutated (characters cut, inserted, lines moved,
values replaced by other data) must either load or fail with the loader's own error, which
the processor records as the file's import error. Any other exception would be a loader bug.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from conveyor.loading.yaml import YamlDagError, load_yaml_text
from conveyor.model.dag import DAG

PATH = "dags/generated.yaml"
FAST = settings(
    max_examples=120,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

ids = st.from_regex(r"[a-z][a-z0-9_]{0,6}", fullmatch=True)
durations = st.one_of(st.integers(0, 3600), st.sampled_from(["30s", "5m", "1h30m", "2d", "0.5s"]))
schedules = st.sampled_from([None, "@daily", "@once", "0 6 * * 1-5", "*/15 * * * *", "2h"])
trigger_rules = st.sampled_from(["all_success", "all_done", "one_failed", "none_failed"])
texts = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=20)


@st.composite
def tasks(draw: st.DrawFn, task_ids: list[str]) -> dict[str, Any]:
    """Tasks whose dependencies only point back, so the generated DAG has no cycle."""
    found: dict[str, Any] = {}
    for n, task_id in enumerate(task_ids):
        kind = draw(st.sampled_from(["bash", "empty", "python"]))
        task: dict[str, Any] = {"operator": kind}
        if kind == "bash":
            task["bash_command"] = draw(texts.map(lambda t: f"echo {t!r} {{{{ ds }}}}"))
        elif kind == "python":
            task["python_callable"] = "json:dumps"
            task["op_args"] = draw(st.lists(st.integers() | texts, max_size=2))
        if n and draw(st.booleans()):
            task["depends_on"] = draw(
                st.lists(st.sampled_from(task_ids[:n]), min_size=1, max_size=2, unique=True)
            )
        if draw(st.booleans()):
            task["retries"] = draw(st.integers(0, 5))
            task["retry_delay"] = draw(durations)
        if draw(st.booleans()):
            task["trigger_rule"] = draw(trigger_rules)
        found[task_id] = task
    return found


@st.composite
def dag_files(draw: st.DrawFn) -> dict[str, Any]:
    dag_ids = draw(st.lists(ids, min_size=1, max_size=3, unique=True))
    dags: dict[str, Any] = {}
    for dag_id in dag_ids:
        task_ids = draw(st.lists(ids, min_size=0, max_size=5, unique=True))
        entry: dict[str, Any] = {"schedule": draw(schedules), "tasks": draw(tasks(task_ids))}
        if draw(st.booleans()):
            entry["start_date"] = "2024-01-01"
            entry["catchup"] = draw(st.booleans())
        if len(task_ids) >= 2 and draw(st.booleans()):
            entry["chain"] = [f"{task_ids[0]} >> [{', '.join(task_ids[1:])}]"]
        if draw(st.booleans()):
            entry["for_each"] = [{"n": i} for i in range(draw(st.integers(1, 3)))]
            dag_id = f"{dag_id}_${{n}}"
        dags[dag_id] = entry
    data: dict[str, Any] = {"dags": dags}
    if draw(st.booleans()):
        data["defaults"] = {"default_args": {"retries": draw(st.integers(0, 3))}, "tags": ["gen"]}
    return data


def load_or_own_error(text: str) -> list[DAG] | YamlDagError:
    try:
        return load_yaml_text(text, PATH, environ={"ENV_VALUE": "1"})
    except YamlDagError as exc:
        assert exc.problems, "a YamlDagError always carries its problems"
        for problem in exc.problems:
            assert problem.file == PATH
            assert problem.line is None or problem.line >= 1
            assert str(problem)
        return exc


@FAST
@given(dag_files())
def test_generated_files_load_with_the_tasks_and_edges_they_describe(data: dict[str, Any]) -> None:
    text = yaml.safe_dump(data, sort_keys=False)
    expected: dict[str, dict[str, Any]] = {}
    for dag_id, entry in data["dags"].items():
        for n in range(len(entry.get("for_each") or [None])):
            expected.setdefault(dag_id.replace("${n}", str(n)), entry)
    if len(expected) < sum(len(e.get("for_each") or [None]) for e in data["dags"].values()):
        with pytest.raises(YamlDagError, match="duplicate DAG id"):  # a template made a taken id
            load_yaml_text(text, PATH, environ={})
        return
    dags = load_yaml_text(text, PATH, environ={})
    assert [d.dag_id for d in dags] == list(expected)
    for dag in dags:
        entry = expected[dag.dag_id]
        assert dag.task_ids == list(entry["tasks"])
        for task_id, task in entry["tasks"].items():
            assert set(task.get("depends_on", [])) <= dag.task_dict[task_id].upstream_task_ids


# -- mutations -------------------------------------------------------------------------------

YAML_NOISE = st.text(alphabet=":-[]{}#&*!|>'\"%@`,\n\t ${}<=?~0123456789abcxyz", max_size=8)


@st.composite
def text_mutations(draw: st.DrawFn) -> str:
    text = yaml.safe_dump(draw(dag_files()), sort_keys=False)
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["cut", "insert", "move_line", "duplicate_line"]))
        at = draw(st.integers(0, len(text)))
        if kind == "cut":
            text = text[:at] + text[at + draw(st.integers(1, 12)) :]
        elif kind == "insert":
            text = text[:at] + draw(YAML_NOISE) + text[at:]
        else:
            lines = text.splitlines(keepends=True)
            line = lines[draw(st.integers(0, len(lines) - 1))]
            if kind == "move_line":
                lines.remove(line)
            lines.insert(draw(st.integers(0, len(lines))), line)
            text = "".join(lines)
    return text


any_data = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(ids, inner, max_size=3),
    max_leaves=6,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            found += _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for n, v in enumerate(value):
            found += _paths(v, (*prefix, n))
    return found


@st.composite
def value_mutations(draw: st.DrawFn) -> str:
    """A valid file with one value, key or subtree replaced by arbitrary data."""
    data = draw(dag_files())
    path = draw(st.sampled_from(_paths(data)[1:]))
    parent = data
    for step in path[:-1]:
        parent = parent[step]
    if isinstance(parent, dict) and draw(st.booleans()):
        parent[draw(ids | st.sampled_from(["${ENV_VALUE}", "${MISSING}", "<<", "for_each"]))] = (
            draw(any_data)
        )
    else:
        parent[path[-1]] = draw(any_data | st.sampled_from(["${ENV_VALUE}", "${MISSING:-2}"]))
    return yaml.safe_dump(data, sort_keys=False)


@FAST
@given(text_mutations())
@example('dags:\n  d:\n    description: "\\U100010000"\n')  # PyYAML's chr() ValueError
@example("dags:\n  d: {}\n\x08")  # a control character, refused before parsing
def test_mutated_text_loads_or_raises_the_loaders_own_error(text: str) -> None:
    result = load_or_own_error(text)
    assert isinstance(result, list | YamlDagError)


@FAST
@given(value_mutations())
def test_mutated_values_load_or_raise_the_loaders_own_error(text: str) -> None:
    result = load_or_own_error(text)
    assert isinstance(result, list | YamlDagError)


@settings(max_examples=60, deadline=None, database=None)
@given(st.text(max_size=60))
def test_arbitrary_text_loads_or_raises_the_loaders_own_error(text: str) -> None:
    result = load_or_own_error(text)
    assert isinstance(result, list | YamlDagError)


def test_alias_bombs_and_recursive_aliases_are_refused_not_expanded() -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + n)}: &{chr(98 + n)} [{', '.join([f'*{chr(97 + n)}'] * 10)}]\n" for n in range(6)
    )
    result = load_or_own_error(bomb + "dags: {}\n")
    assert isinstance(result, YamlDagError)
    assert "expands to more than 100000 values" in str(result)
    loop = load_or_own_error("dags:\n  d: &d\n    tasks: *d\n")
    assert isinstance(loop, YamlDagError)
    deep = load_or_own_error("dags: " + "[" * 5000 + "]" * 5000 + "\n")
    assert isinstance(deep, YamlDagError)
