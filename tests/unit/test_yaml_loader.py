"""The YAML DAG loader: YAML and Python DAGs are the same objects, and bad files say exactly why.

The equality tests build one DAG twice, from a Python file and from a YAML file, and compare
the serialized forms (what the scheduler and the web read) minus the file location. The
bad-input tests pin the exact ``file:line:column`` and message of each kind of mistake, since
that message is the whole user interface of a broken file.
"""

from __future__ import annotations

import json
import re
import sys
import textwrap
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from conveyor.exceptions import DagImportError
from conveyor.loading.importer import import_dag_file
from conveyor.loading.processor import LOADERS, find_dag_files, loader_for
from conveyor.loading.serialize import serialize_dag
from conveyor.loading.yaml import ExportError, YamlDagError, load_yaml_dags, load_yaml_text
from conveyor.loading.yaml.export import export_dag
from conveyor.loading.yaml.schema import json_schema, schema_text
from conveyor.loading.yaml.validate import validate_paths
from conveyor.model.context import DagContext
from conveyor.model.dag import DAG
from conveyor.model.xcom_arg import XComArg
from conveyor.operators import BashOperator, PythonOperator

ROOT = Path(__file__).resolve().parents[2]
FILE = "dags/bad.yaml"
DOCS = ROOT / "docs" / "yaml.md"


def load(text: str, path: str = FILE, **environ: str) -> list[DAG]:
    return load_yaml_text(textwrap.dedent(text), path, environ=environ)


def problems(text: str, **environ: str) -> list[str]:
    """Every problem of a file that must fail, as the lines a user reads."""
    with pytest.raises(YamlDagError) as caught:
        load(text, **environ)
    assert isinstance(caught.value, DagImportError)  # the processor records it as such
    return [str(p) for p in caught.value.problems]


def structure(dag: DAG) -> dict[str, Any]:
    data = serialize_dag(dag)
    data.pop("fileloc")
    return data


@pytest.fixture
def helpers(tmp_path: Path) -> Iterator[str]:
    """A uniquely named helper module beside the DAG files in tmp_path (no sys.modules clash)."""
    name = f"yhelp_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{name}.py").write_text(
        textwrap.dedent(
            """
            from conveyor import BaseOperator


            def double(value):
                return value * 2


            def pick(ds):
                return "left"


            class ShoutOperator(BaseOperator):
                template_fields = ("text",)

                def __init__(self, task_id, *, text, times=1, **kwargs):
                    super().__init__(task_id, **kwargs)
                    self.text = text
                    self.times = times

                def execute(self, context):
                    return self.text.upper() * self.times
            """
        )
    )
    yield name
    sys.modules.pop(name, None)


# -- the same DAG from Python and from YAML --------------------------------------------------


def test_a_yaml_dag_serializes_exactly_like_the_same_python_dag(
    tmp_path: Path, helpers: str
) -> None:
    (tmp_path / "full_py.py").write_text(
        textwrap.dedent(
            f"""
            from datetime import datetime, timedelta
            from conveyor import DAG, BashOperator, BranchPythonOperator, EmptyOperator
            from conveyor import PythonOperator
            from conveyor.model.xcom_arg import XComArg
            from {helpers} import ShoutOperator, double, pick

            with DAG(
                "full",
                schedule="30 6 * * 1-5",
                start_date=datetime(2024, 3, 1),
                end_date=datetime(2025, 1, 1, 12),
                catchup=True,
                timezone="Europe/Amsterdam",
                default_args={{"retries": 3, "retry_delay": timedelta(seconds=45), "queue": "io"}},
                params={{"limit": 10, "mode": "fast"}},
                tags=["nightly", "yaml"],
                max_active_runs=2,
                max_active_tasks=4,
                description="everything at once",
                doc_md="# Full",
            ):
                extract = BashOperator(
                    task_id="extract",
                    bash_command="extract --day {{{{ ds }}}} --limit {{{{ params.limit }}}}",
                    env={{"MODE": "{{{{ params.mode }}}}"}},
                    retries=0,
                    execution_timeout=timedelta(minutes=10),
                    priority_weight=5,
                    owner="data",
                    doc="pulls the day",
                )
                choose = BranchPythonOperator(task_id="choose", python_callable=pick)
                left = PythonOperator(
                    task_id="left",
                    python_callable=double,
                    op_args=[XComArg(extract)],
                    retry_exponential_backoff=True,
                    max_retry_delay=timedelta(hours=1),
                    depends_on_past=True,
                )
                right = ShoutOperator(task_id="right", text="hi {{{{ ds }}}}", times=2)
                join = EmptyOperator(task_id="join", trigger_rule="none_failed_min_one_success")
                extract >> choose >> [left, right]
                [left, right] >> join
            """
        )
    )
    (tmp_path / "full.yaml").write_text(
        textwrap.dedent(
            f"""
            dags:
              full:
                schedule: 30 6 * * 1-5
                start_date: 2024-03-01
                end_date: 2025-01-01T12:00:00
                catchup: true
                timezone: Europe/Amsterdam
                default_args: {{retries: 3, retry_delay: 45s, queue: io}}
                params: {{limit: 10, mode: fast}}
                tags: [nightly, yaml]
                max_active_runs: 2
                max_active_tasks: 4
                description: everything at once
                doc_md: "# Full"
                tasks:
                  extract:
                    operator: bash
                    bash_command: extract --day {{{{ ds }}}} --limit {{{{ params.limit }}}}
                    env: {{MODE: "{{{{ params.mode }}}}"}}
                    retries: 0
                    execution_timeout: 10m
                    priority_weight: 5
                    owner: data
                    doc: pulls the day
                  choose:
                    operator: branch_python
                    python_callable: {helpers}:pick
                    depends_on: [extract]
                  left:
                    operator: python
                    python_callable: {helpers}:double
                    op_args: [{{xcom: extract}}]
                    retry_exponential_backoff: true
                    max_retry_delay: 1h
                    depends_on_past: true
                  right:
                    operator: {helpers}:ShoutOperator
                    arguments: {{text: "hi {{{{ ds }}}}", times: 2}}
                  join:
                    operator: empty
                    trigger_rule: none_failed_min_one_success
                chain:
                  - choose >> [left, right] >> join
            """
        )
    )
    (python_dag,) = import_dag_file(str(tmp_path / "full_py.py"))
    (yaml_dag,) = load_yaml_dags(str(tmp_path / "full.yaml"))
    assert structure(yaml_dag) == structure(python_dag)
    assert yaml_dag.fileloc == str(tmp_path / "full.yaml")
    # The runtime objects behave the same way too, not only their JSON.
    assert isinstance(yaml_dag.task_dict["left"].op_args[0], XComArg)
    assert yaml_dag.task_dict["right"].times == 2
    assert yaml_dag.default_args == {
        "retries": 3,
        "retry_delay": timedelta(seconds=45),
        "queue": "io",
    }


def test_the_processor_registry_loads_yaml_and_yml_files(tmp_path: Path) -> None:
    text = "dags:\n  tiny:\n    tasks:\n      only: {operator: empty}\n"
    (tmp_path / "a.yaml").write_text(text)
    (tmp_path / "b.yml").write_text(text.replace("tiny", "tiny2"))
    assert {LOADERS[".yaml"], LOADERS[".yml"]} == {"conveyor.loading.yaml.loader:load_yaml_dags"}
    found = find_dag_files(tmp_path)
    assert [p.name for p in found] == ["a.yaml", "b.yml"]
    assert [d.dag_id for p in found for d in loader_for(str(p))(str(p))] == ["tiny", "tiny2"]


def test_templated_fields_stay_untouched_at_load_time() -> None:
    (dag,) = load(
        """
        dags:
          t:
            tasks:
              echo:
                operator: bash
                bash_command: 'echo "{{ ds }} {{ params.x | upper }}" {% if true %}y{% endif %}'
        """
    )
    task = dag.task_dict["echo"]
    assert isinstance(task, BashOperator)
    assert task.bash_command == 'echo "{{ ds }} {{ params.x | upper }}" {% if true %}y{% endif %}'


def test_loading_leaves_no_dag_behind_in_the_collector() -> None:
    before = len(DagContext.created)
    load("dags:\n  a: {tasks: {t: {operator: empty}}}\n")
    with pytest.raises(YamlDagError):
        load("dags:\n  a: {tasks: {t: {operator: nope}}}\n")
    assert len(DagContext.created) == before
    assert DagContext.current() is None


def test_values_follow_yaml_1_2_so_no_and_on_stay_text_and_010_is_ten() -> None:
    (dag,) = load(
        """
        dags:
          t:
            tags: [no, on, off, yes, "0755"]
            tasks:
              a: {operator: empty, queue: no, priority_weight: 010}
        """
    )
    assert dag.tags == ["no", "on", "off", "yes", "0755"]
    assert dag.task_dict["a"].queue == "no"
    assert dag.task_dict["a"].priority_weight == 10


def test_durations_and_schedules_accept_readable_forms() -> None:
    (dag,) = load(
        """
        dags:
          t:
            schedule: 1h30m
            start_date: 2024-01-01
            tasks:
              a: {operator: empty, retry_delay: 90, execution_timeout: 1d2h, max_retry_delay: 2.5s}
        """
    )
    assert dag.schedule.serialize() == {"type": "timedelta", "seconds": 5400, "timezone": "UTC"}
    task = dag.task_dict["a"]
    assert task.retry_delay == timedelta(seconds=90)
    assert task.execution_timeout == timedelta(days=1, hours=2)
    assert task.max_retry_delay == timedelta(seconds=2.5)
    assert dag.start_date == datetime(2024, 1, 1, tzinfo=UTC)


# -- reuse: defaults, anchors, templates -----------------------------------------------------


def test_defaults_apply_to_every_dag_and_a_dag_overrides_them_key_by_key() -> None:
    first, second = load(
        """
        defaults:
          schedule: "@daily"
          start_date: 2024-01-01
          tags: [team]
          default_args: {retries: 2, queue: io}
          params: {limit: 5, env: prod}
        dags:
          first:
            tasks: {a: {operator: empty}}
          second:
            schedule: null
            default_args: {retries: 0}
            params: {limit: 1}
            tasks: {a: {operator: empty}}
        """
    )
    assert first.schedule.description == "@daily"
    assert first.tags == second.tags == ["team"]
    assert first.task_dict["a"].retries == 2
    assert second.schedule.serialize()["type"] == "none"
    assert second.default_args == {"retries": 0, "queue": "io"}
    assert second.task_dict["a"].retries == 0
    assert second.task_dict["a"].queue == "io"
    assert second.params == {"limit": 1, "env": "prod"}


def test_yaml_anchors_and_merge_keys_share_task_settings() -> None:
    (dag,) = load(
        """
        dags:
          t:
            description: &text shared text
            doc_md: *text
            tasks:
              a: &retrying {operator: empty, retries: 4, retry_delay: 10s}
              b: {<<: *retrying, retries: 1}
        """
    )
    assert dag.doc_md == dag.description == "shared text"
    assert (dag.task_dict["a"].retries, dag.task_dict["b"].retries) == (4, 1)
    assert dag.task_dict["b"].retry_delay == timedelta(seconds=10)


def test_one_template_makes_one_dag_per_item() -> None:
    dags = load(
        """
        dags:
          copy_${table}:
            for_each:
              - {table: orders, weight: 3}
              - {table: refunds, weight: 1}
            description: copies ${table}
            tasks:
              extract:
                operator: bash
                bash_command: extract ${table} {{ ds }}
                priority_weight: ${weight}
              load_${table}:
                operator: bash
                bash_command: load ${table}
                depends_on: [extract]
        """
    )
    assert [d.dag_id for d in dags] == ["copy_orders", "copy_refunds"]
    orders, refunds = dags
    assert orders.description == "copies orders"
    assert orders.task_dict["extract"].bash_command == "extract orders {{ ds }}"
    assert orders.task_dict["extract"].priority_weight == 3  # a number again, not text
    assert refunds.task_dict["extract"].priority_weight == 1
    assert refunds.task_dict["load_refunds"].upstream_task_ids == {"extract"}


# -- environment variables -------------------------------------------------------------------


def test_environment_variables_are_substituted_at_load_time_with_defaults() -> None:
    text = """
        dags:
          env_${TEAM:-core}:
            tasks:
              a:
                operator: bash
                bash_command: "run ${TARGET:-staging} $${HOME} $${#array} ${not-a-var}"
                retries: ${RETRIES:-1}
    """
    (with_defaults,) = load(text)
    assert with_defaults.dag_id == "env_core"
    task = with_defaults.task_dict["a"]
    assert task.bash_command == "run staging ${HOME} ${#array} ${not-a-var}"
    assert task.retries == 1
    (from_env,) = load(text, TEAM="sales", TARGET="prod", RETRIES="3")
    assert from_env.dag_id == "env_sales"
    assert from_env.task_dict["a"].bash_command.startswith("run prod ${HOME} ")
    assert from_env.task_dict["a"].retries == 3


# -- dependencies ----------------------------------------------------------------------------


def test_chains_and_depends_on_draw_the_same_edges_as_python() -> None:
    (dag,) = load(
        """
        dags:
          c:
            tasks:
              a: {operator: empty}
              b: {operator: empty}
              c: {operator: empty}
              d: {operator: empty}
              e: {operator: empty}
              f: {operator: empty, depends_on: [d, e]}
            chain:
              - a >> b >> c
              - "a >> [d, e]"
              - "[b,c] >> f"
        """
    )
    edges = {t.task_id: sorted(t.upstream_task_ids) for t in dag.tasks}
    assert edges == {
        "a": [],
        "b": ["a"],
        "c": ["b"],
        "d": ["a"],
        "e": ["a"],
        "f": ["b", "c", "d", "e"],
    }


def test_xcom_references_pass_values_and_add_the_dependency(tmp_path: Path, helpers: str) -> None:
    (dag,) = load(
        f"""
        dags:
          x:
            tasks:
              make: {{operator: bash, bash_command: echo 2}}
              use:
                operator: python
                python_callable: {helpers}:double
                op_kwargs: {{value: {{xcom: make, key: other}}, plain: {{xcom: 1, extra: 2}}}}
        """,
        path=str(tmp_path / "x.yaml"),
    )
    task = dag.task_dict["use"]
    assert isinstance(task, PythonOperator)
    assert repr(task.op_kwargs["value"]) == "XComArg('make', key='other')"
    assert task.op_kwargs["plain"] == {"xcom": 1, "extra": 2}  # not a reference: kept as data
    assert task.upstream_task_ids == {"make"}


# -- bad input: one test per kind, with the exact position and message -----------------------


def test_unknown_keys_name_the_key_and_what_was_allowed() -> None:
    assert problems(
        """
        dags:
          d:
            schedul: "@daily"
            tasks:
              t:
                operator: empty
                retires: 3
        """
    ) == [
        f"{FILE}:4:5: DAG 'd': unknown key 'schedul' (did you mean 'schedule'?): expected one "
        "of description, doc_md, schedule, start_date, end_date, catchup, timezone, "
        "default_args, params, tags, max_active_runs, max_active_tasks, "
        "is_paused_upon_creation, fail_fast, dag_display_name, access_control, for_each, "
        "tasks, chain, found 'schedul'",
        f"{FILE}:8:9: DAG 'd', task 't': unknown key 'retires' (did you mean 'retries'?): "
        "expected one of depends_on, retries, retry_delay, retry_exponential_backoff, "
        "max_retry_delay, execution_timeout, trigger_rule, queue, priority_weight, pool, "
        "pool_slots, depends_on_past, doc, owner, weight_rule, max_active_tis_per_dag, "
        "max_active_tis_per_dagrun, wait_for_downstream, start_date, end_date, "
        "map_index_template, task_display_name, operator, found 'retires'",
    ]


def test_top_level_mistakes_are_reported_without_a_dag() -> None:
    assert problems("dag:\n  x: {}\n") == [
        f"{FILE}:1:1: missing key 'dags': expected a value for 'dags' (the DAGs, by DAG id), "
        "found nothing",
        f"{FILE}:1:1: unknown key 'dag' (did you mean 'dags'?): expected one of defaults, dags, "
        "found 'dag'",
    ]
    assert problems("- a\n- b\n") == [
        f"{FILE}:1:1: wrong type: expected a mapping with a 'dags' key, found a list"
    ]
    assert problems("dags:\n  d: 5\n  e:\n    tasks:\n      t: 5\n") == [
        f"{FILE}:2:6: DAG 'd': wrong type: expected a mapping, found 5",
        f"{FILE}:5:10: DAG 'e', task 't': wrong type: expected a mapping, found 5",
    ]


def test_wrong_types_say_what_was_expected_and_found() -> None:
    assert problems(
        """
        dags:
          d:
            catchup: sometimes
            max_active_runs: 0
            tags: fast
            tasks:
              t: {operator: bash, bash_command: [echo], retries: two, trigger_rule: maybe}
        """
    ) == [
        f"{FILE}:4:14: DAG 'd': wrong type for 'catchup': expected true or false, "
        "found 'sometimes'",
        f"{FILE}:5:22: DAG 'd': invalid 'max_active_runs': expected a number >= 1, found 0",
        f"{FILE}:6:11: DAG 'd': wrong type for 'tags': expected a list, found 'fast'",
        f"{FILE}:8:41: DAG 'd', task 't': wrong type for 'bash_command': expected a string, "
        "found a list",
        f"{FILE}:8:58: DAG 'd', task 't': wrong type for 'retries': expected a whole number, "
        "found 'two'",
        f"{FILE}:8:77: DAG 'd', task 't': invalid 'trigger_rule': expected one of "
        "'all_success', 'all_failed', 'all_done', 'one_success', 'one_failed', 'none_failed', "
        "'none_failed_min_one_success', 'none_skipped', 'one_done', 'all_skipped' or 'always', "
        "found 'maybe'",
    ]


def test_unknown_operators_suggest_the_closest_name() -> None:
    assert problems(
        """
        dags:
          d:
            tasks:
              t:
                operator: bsh
                bash_command: echo
        """
    ) == [
        f"{FILE}:6:19: DAG 'd', task 't': unknown operator 'bsh' (did you mean 'bash'?): "
        "expected one of bash, python, branch_python, empty, or an import path such as "
        "package.module:MyOperator, found 'bsh'",
    ]


def test_a_missing_required_key_points_at_its_task() -> None:
    assert problems("dags:\n  d:\n    tasks:\n      t: {operator: python}\n") == [
        f"{FILE}:4:7: DAG 'd', task 't': missing key 'python_callable': expected a value for "
        "'python_callable' (the function to call, as package.module:function), found nothing",
    ]


def test_callables_and_operators_that_do_not_import(tmp_path: Path, helpers: str) -> None:
    path = str(tmp_path / "imports.yaml")
    text = textwrap.dedent(
        f"""
        dags:
          d:
            tasks:
              no_module: {{operator: python, python_callable: no_such_module_xyz:run}}
              no_function: {{operator: python, python_callable: {helpers}:triple}}
              not_operator: {{operator: "{helpers}:double"}}
              bad_argument:
                operator: {helpers}:ShoutOperator
                arguments: {{text: hi, volume: 11, retries: 2}}
        """
    )
    with pytest.raises(YamlDagError) as caught:
        load_yaml_text(text, path, environ={})
    assert [str(p) for p in caught.value.problems] == [
        f"{path}:5:54: DAG 'd', task 'no_module': cannot import module 'no_such_module_xyz': "
        "No module named 'no_such_module_xyz'; it is looked up in the YAML file's folder, the "
        "folders above it and the Python path: expected a function importable as "
        "package.module:name, found 'no_such_module_xyz:run'",
        f"{path}:6:56: DAG 'd', task 'no_function': module '{helpers}' has no attribute "
        f"'triple': expected a function importable as package.module:name, "
        f"found '{helpers}:triple'",
        f"{path}:7:32: DAG 'd', task 'not_operator': '{helpers}:double' is a function, "
        "not an operator class (a subclass of conveyor.BaseOperator): expected an operator "
        f"class importable as package.module:name, found '{helpers}:double'",
        f"{path}:10:31: DAG 'd', task 'bad_argument': unknown argument 'volume' of "
        "ShoutOperator: expected one of text, times, found 'volume'",
        f"{path}:10:43: DAG 'd', task 'bad_argument': 'retries' is a task option: expected it "
        "beside 'operator', not under 'arguments', found 'retries'",
    ]


def test_unknown_dependencies_point_at_the_name_even_inside_a_chain() -> None:
    assert problems(
        """
        dags:
          d:
            tasks:
              extract: {operator: empty}
              load: {operator: empty, depends_on: [extract, extrct]}
            chain:
              - "extract >> [load, report]"
        """
    ) == [
        f"{FILE}:6:53: DAG 'd', task 'load': unknown task 'extrct' (did you mean 'extract'?): "
        "expected one of this DAG's tasks: extract, load, found 'extrct'",
        f"{FILE}:8:28: DAG 'd': unknown task 'report': expected one of this DAG's tasks: "
        "extract, load, found 'report'",
    ]


def test_a_cycle_is_reported_at_the_dependency_that_closes_it() -> None:
    assert problems(
        """
        dags:
          d:
            tasks:
              a: {operator: empty, depends_on: [c]}
              b: {operator: empty, depends_on: [a]}
              c: {operator: empty, depends_on: [b]}
              d: {operator: empty, depends_on: [d]}
        """
    ) == [
        f"{FILE}:7:41: DAG 'd', task 'c': cycle in DAG 'd': b >> c >> a >> b: expected "
        "dependencies without a cycle, found b >> c",
        f"{FILE}:8:41: DAG 'd', task 'd': cycle in DAG 'd': d depends on itself: expected "
        "dependencies without a cycle, found d >> d",
    ]


def test_duplicate_task_ids_and_dag_ids() -> None:
    assert problems(
        """
        dags:
          d:
            tasks:
              a: {operator: empty}
              a: {operator: bash, bash_command: x}
          d:
            tasks: {}
          copy_x:
            tasks: {}
          copy_${t}:
            for_each: [{t: x}]
        """
    ) == [
        f"{FILE}:6:7: DAG 'd', task 'a': duplicate task id 'a': expected each task id once in "
        "a mapping, found it again (first at line 5)",
        f"{FILE}:7:3: DAG 'd': duplicate DAG id 'd': expected each DAG id once in a file, found "
        "it again (first at line 3)",
        f"{FILE}:11:3: DAG 'copy_x': duplicate DAG id 'copy_x': expected each DAG id once in a "
        "file, found it again (first at line 9)",
    ]


def test_a_dag_id_repeated_in_another_document_of_the_file() -> None:
    assert problems("dags:\n  d: {}\n---\ndags:\n  d: {}\n") == [
        f"{FILE}:5:3: DAG 'd': duplicate DAG id 'd': expected each DAG id once in a file, "
        "found it again (first at line 2)",
    ]


def test_invalid_cron_expressions_and_presets() -> None:
    assert problems(
        """
        dags:
          a: {schedule: "0 0 * *"}
          b: {schedule: "0 0 31 2 *"}
          c: {schedule: "@dayly"}
          d: {schedule: "61 * * * *"}
          e: {schedule: daily}
        """
    ) == [
        f"{FILE}:3:17: DAG 'a': invalid cron expression (4 fields): expected a cron expression "
        "of 5 fields (minute hour day-of-month month day-of-week), found '0 0 * *'",
        f"{FILE}:4:17: DAG 'b': invalid cron expression: it never fires (no date matches its "
        "day and month fields): expected a cron expression of 5 fields (minute hour "
        "day-of-month month day-of-week), found '0 0 31 2 *'",
        f"{FILE}:5:17: DAG 'c': unknown schedule preset: expected one of @once, @hourly, "
        "@daily, @midnight, @weekly, @monthly, @yearly, @annually, found '@dayly'",
        f"{FILE}:6:17: DAG 'd': invalid cron expression: [61 * * * *] is not acceptable, out "
        "of range; expected 5 fields: minute hour day-of-month month day-of-week: expected a "
        "cron expression of 5 fields (minute hour day-of-month month day-of-week), "
        "found '61 * * * *'",
        f"{FILE}:7:17: DAG 'e': invalid schedule: expected a cron expression with 5 fields "
        "(minute hour day-of-month month day-of-week), a preset (@once, @hourly, @daily, "
        "@midnight, @weekly, @monthly, @yearly, @annually), a duration such as 1h, or null for "
        "manual runs only, found 'daily'",
    ]


def test_invalid_yaml_names_the_line_and_column() -> None:
    assert problems("dags:\n  d:\n    tasks: [a\n  e: 1\n") == [
        f"{FILE}:4:4: invalid YAML: expected ',' or ']', but got ':' (while parsing a flow "
        "sequence at line 3, column 12)",
    ]
    assert problems("dags:\n\td: {}\n") == [
        f"{FILE}:2:1: invalid YAML: found character '\\t' that cannot start any token",
    ]


def test_an_unset_environment_variable_without_a_default() -> None:
    assert problems("dags:\n  d:\n    description: ${WHO} ran\n") == [
        f"{FILE}:3:18: DAG 'd': variable 'WHO' is not set: expected a set environment "
        "variable, or a default: ${WHO:-default}, found '${WHO}'",
    ]


def test_bad_for_each_and_template_variables() -> None:
    assert problems(
        """
        dags:
          a_${table}:
            for_each: [{tabel: x}]
          b_${n}:
            for_each: {n: 1}
          c_${n}:
            for_each: [{n: [1]}]
        """
    ) == [
        # Only the cause: the DAG id that keeps its ${table} is not reported as invalid too.
        f"{FILE}:3:3: variable 'table' is not set: expected a for_each value (tabel) or a set "
        "environment variable, or a default: ${table:-default}, found '${table}'",
        f"{FILE}:6:15: DAG 'b_${{n}}': invalid for_each: expected a list of mappings from names "
        "to plain values, e.g. - {table: orders}, found a mapping",
        f"{FILE}:8:20: DAG 'c_${{n}}': invalid for_each value for 'n': expected a plain value "
        "(text, number or true/false), found a list",
    ]


def test_every_problem_of_a_file_is_reported_together() -> None:
    found = problems(
        """
        dags:
          one:
            schedule: "* *"
            tasks:
              a: {operator: empty, depends_on: [zz]}
          two:
            tasks:
              b: {operator: nope}
        """
    )
    assert [line.split(": ")[0] for line in found] == [
        f"{FILE}:4:15",
        f"{FILE}:6:41",
        f"{FILE}:9:21",
    ]
    with pytest.raises(YamlDagError) as caught:
        load("dags:\n  d:\n    schedule: '* *'\n    tasks:\n      a: {operator: nope}\n")
    message = str(caught.value)
    assert message.startswith(f"2 problems in {FILE}:\n  {FILE}:3:15: DAG 'd': invalid cron")
    assert caught.value.line == 3


def test_an_empty_file_defines_no_dags() -> None:
    assert load("") == []
    assert load("# nothing yet\n") == []


# -- schema, validate, export ----------------------------------------------------------------


def test_the_committed_json_schema_is_the_one_the_models_generate() -> None:
    committed = (ROOT / "docs" / "conveyor-dag.schema.json").read_text()
    assert json.loads(committed) == json_schema()
    assert committed == schema_text()
    tasks = json_schema()["$defs"]["DagSpec"]["properties"]["tasks"]
    assert len(next(iter(tasks["patternProperties"].values()))["oneOf"]) == 5


def test_validate_reports_every_file_and_ids_defined_twice(tmp_path: Path) -> None:
    (tmp_path / "good.yaml").write_text("dags:\n  same: {}\n")
    (tmp_path / "again.yml").write_text("dags:\n  same: {}\n")
    (tmp_path / "broken.yaml").write_text("dags:\n  x: {retries: 1}\n")
    (tmp_path / "broken_dag.py").write_text("from conveyor import DAG\nraise ValueError('no')\n")
    (tmp_path / "notes.txt").write_text("")
    found = validate_paths([str(tmp_path), str(tmp_path / "notes.txt"), str(tmp_path / "nope")])
    assert [str(p) for p in found] == [
        f"{tmp_path}/broken.yaml:2:7: DAG 'x': unknown key 'retries': expected one of "
        "description, doc_md, schedule, start_date, end_date, catchup, timezone, default_args, "
        "params, tags, max_active_runs, max_active_tasks, is_paused_upon_creation, fail_fast, "
        "dag_display_name, access_control, for_each, tasks, chain, found 'retries'",
        f"{tmp_path}/broken_dag.py:2: ValueError: no",
        f"{tmp_path}/good.yaml: DAG 'same': DAG id 'same' is also defined in "
        f"{tmp_path}/again.yml: expected DAG ids unique across the DAG folder, "
        "found a second definition",
        f"{tmp_path}/nope: no such file or folder",
        f"{tmp_path}/notes.txt: not a DAG file: expected a file ending in .py, .yaml, .yml or "
        "a folder, found a .txt file",
    ]
    assert validate_paths([str(tmp_path / "again.yml")]) == []


def test_export_refuses_what_yaml_cannot_express_naming_the_task() -> None:
    with DAG("inline", schedule=None) as dag:
        PythonOperator(task_id="fine", python_callable=json.dumps)
        PythonOperator(task_id="lam", python_callable=lambda: 1)
    with pytest.raises(ExportError) as caught:
        export_dag(dag, "yaml")
    assert caught.value.task_id == "lam"
    assert str(caught.value) == (
        "DAG 'inline', task 'lam': its python_callable is an inline lambda, which has no "
        "import path"
    )

    def local() -> None: ...

    with DAG("nested", schedule=None) as nested:
        PythonOperator(task_id="inner", python_callable=local)
    with pytest.raises(ExportError, match=r"task 'inner': its python_callable .* defined inside"):
        export_dag(nested, "python")


def test_export_round_trips_both_ways(tmp_path: Path, helpers: str) -> None:
    path = tmp_path / "round.yaml"
    path.write_text(
        textwrap.dedent(
            f"""
            dags:
              round:
                schedule: 2h
                start_date: 2024-06-01T08:30:00
                timezone: America/New_York
                default_args: {{retries: 1}}
                params: {{path: "/data/${{{{HOME}}}}"}}
                tasks:
                  a: {{operator: bash, bash_command: "echo $${{HOME}}\\nls", retries: 0}}
                  b:
                    operator: python
                    python_callable: {helpers}:double
                    op_args: [{{xcom: a}}]
                  c: {{operator: "{helpers}:ShoutOperator", arguments: {{text: x}}}}
            """
        )
    )
    (dag,) = load_yaml_dags(str(path))
    as_yaml = export_dag(dag, "yaml")
    assert "$${HOME}" in as_yaml  # escaped, so that loading does not substitute it
    (again,) = load_yaml_text(as_yaml, str(path), environ={"HOME": "/root"})
    assert structure(again) == structure(dag)
    as_python = export_dag(dag, "python")
    (tmp_path / "round_py.py").write_text(as_python)
    (from_python,) = import_dag_file(str(tmp_path / "round_py.py"))
    assert structure(from_python) == structure(dag)
    assert "timedelta(seconds=7200)" in as_python


def test_every_yaml_example_in_the_docs_loads_and_the_documented_errors_are_exact() -> None:
    text = DOCS.read_text()
    blocks = re.findall(r"```yaml\n(.*?)```", text, re.S)
    assert len(blocks) >= 12
    # Files in docs call the examples' helpers, as a file in examples/dags/yaml would.
    where = str(ROOT / "examples" / "dags" / "yaml" / "docs_example.yaml")
    broken = [b for b in blocks if b.startswith("# has mistakes")]
    for block in blocks:
        if block not in broken:
            assert load_yaml_text(block, where, environ={}), block
    (mistakes,) = broken
    after = text.split(mistakes + "```", 1)[1]
    shown = re.search(r"```\n(.*?)```", after, re.S).group(1)  # type: ignore[union-attr]
    with pytest.raises(YamlDagError) as caught:
        load_yaml_text(mistakes, "dags/sales.yaml", environ={})
    actual = [str(p) for p in caught.value.problems]
    documented = [line for line in shown.splitlines() if line]
    assert len(actual) == len(documented)
    for real, doc in zip(actual, documented, strict=True):
        head, _, tail = doc.partition(", ..., ")  # the docs shorten one long list
        assert real.startswith(head) and real.endswith(tail), (real, doc)
