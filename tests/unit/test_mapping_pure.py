"""Dynamic task mapping and dataset schedules, the pure parts: authoring, serialization,
instance numbering, and planning over mapped instances (trigger rules count each one)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest

from conveyor import DAG, BashOperator, EmptyOperator, PythonOperator, task, task_group
from conveyor.datasets import Dataset
from conveyor.engine.mapping import per_instance, task_states, ti_key
from conveyor.engine.planning import aggregate, plan_run
from conveyor.exceptions import DagDefinitionError
from conveyor.loading.serialize import serialize_dag
from conveyor.model.mapping import expansion_length, instance_indexes, unmap
from conveyor.model.schedules import DatasetSchedule, deserialize_schedule
from conveyor.model.task import MappedOperator
from conveyor.serialized import SerializedDag
from conveyor.states import RunState, TaskState
from conveyor.store.runs import TiRow
from state_letters import SK, F, N, R, S


def structure(d: DAG) -> SerializedDag:
    return SerializedDag.from_dict(json.loads(json.dumps(serialize_dag(d))))


def mapped_dag(trigger_rule: str = "all_success") -> DAG:
    with DAG("m") as d:

        @task
        def numbers() -> list[int]:
            return [1, 2, 3]

        @task
        def double(x: int) -> int:
            return 2 * x

        @task(trigger_rule=trigger_rule)
        def collect(values: list[int]) -> int:
            return sum(values)

        collect(double.expand(x=numbers()))
    return d


def ti(task_id: str, state: TaskState, map_index: int = -1, ti_id: int = 0) -> TiRow:
    return TiRow(ti_id, task_id, state, 0, 1, None, "default", 1, map_index=map_index)


def keyed(*rows: TiRow) -> dict[str, TiRow]:
    return {ti_key(row): row for row in rows}


def mapped_rows(*doubles: TaskState) -> dict[str, TiRow]:
    """A run of :func:`mapped_dag` after ``numbers`` succeeded: an instance of ``double`` in
    each of these states, ``collect`` not scheduled yet."""
    instances = (ti("double", state, index) for index, state in enumerate(doubles))
    return keyed(ti("numbers", S), *instances, ti("collect", N))


# -- authoring and serialization ---------------------------------------------------------


def test_a_mapped_task_is_one_node_linked_to_the_task_whose_output_it_maps_over() -> None:
    d = mapped_dag()
    mapped = d.get_task("double")
    assert isinstance(mapped, MappedOperator)
    assert mapped.upstream_task_ids == {"numbers"}
    assert d.get_task("collect").upstream_task_ids == {"double"}
    sd = structure(d)
    assert sd.mapped == {"double"}
    raw = sd.tasks["double"].raw
    assert raw["mapped"] == {"expand": {"x": {"xcom": ["numbers", "return_value"]}}}
    assert raw["operator_name"] == "PythonOperator"
    assert raw["operator"] == "conveyor.operators.python.PythonOperator"
    assert "mapped" not in sd.tasks["collect"].raw  # other tasks serialize as before


def test_literal_lists_serialize_their_length_and_defaults_reach_the_instances() -> None:
    with DAG("b", default_args={"retries": 2}) as d:
        BashOperator.partial(task_id="say", env={"A": "1"}).expand(
            bash_command=["echo a", "echo b", "echo c"]
        )
    sd = structure(d)
    assert sd.tasks["say"].raw["mapped"] == {"expand": {"bash_command": {"length": 3}}}
    assert sd.tasks["say"].retries == 2
    instance = unmap(d.get_task("say"), 1, lambda *_: None)
    assert isinstance(instance, BashOperator)
    assert (instance.bash_command, instance.env, instance.retries) == ("echo b", {"A": "1"}, 2)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: BashOperator.partial(task_id="x").expand(bash_command="echo"), "needs a list"),
        (lambda: BashOperator.partial(task_id="x").expand(), "at least one list"),
        (lambda: BashOperator.partial(task_id="x").expand(nope=[1]), "has no argument 'nope'"),
        (lambda: BashOperator.partial(bash_command="x").expand(env=[{}]), "needs task_id"),
        (
            lambda: BashOperator.partial(task_id="x", bash_command="a").expand(bash_command=["b"]),
            "both partial() and expand()",
        ),
    ],
)
def test_expand_refuses_bad_input_with_a_clear_error(build: Any, message: str) -> None:
    with DAG("bad"), pytest.raises(DagDefinitionError, match=re.escape(message)):
        build()


def test_the_cross_product_is_numbered_like_itertools_product() -> None:
    assert [instance_indexes(i, [3, 2]) for i in range(6)] == [
        [0, 0],
        [0, 1],
        [1, 0],
        [1, 1],
        [2, 0],
        [2, 1],
    ]


def test_unmap_builds_one_instance_from_partial_constants_and_pulled_lists() -> None:
    with DAG("u") as d:

        @task
        def colours() -> list[str]:
            return ["red", "blue"]

        @task
        def label(prefix: str, colour: str, size: str) -> str:
            return f"{prefix}{colour}{size}"

        label.partial(prefix="#").expand(colour=colours(), size=["S", "L"])
        PythonOperator.partial(task_id="classic", python_callable=print).expand(op_args=[[1], [2]])
    pulled = {("colours", "return_value"): ["red", "blue"]}
    instance = unmap(d.get_task("label"), 3, lambda t, k: pulled[(t, k)])
    assert isinstance(instance, PythonOperator)
    assert instance.op_kwargs == {"prefix": "#", "colour": "blue", "size": "L"}
    assert instance.upstream_task_ids == {"colours"}
    classic = unmap(d.get_task("classic"), 1, lambda *_: None)
    assert isinstance(classic, PythonOperator) and classic.op_args == [2]
    plain = EmptyOperator(task_id="plain", dag=d)
    assert unmap(plain, 0, lambda *_: None) is plain


def test_expansion_length_multiplies_the_lists_and_explains_a_value_that_is_no_list() -> None:
    sources = {"x": {"xcom": ["up", "return_value"]}, "y": {"length": 3}}
    assert expansion_length(sources, lambda *_: [1, 2]) == 6
    assert expansion_length(sources, lambda *_: []) == 0
    reason = expansion_length(sources, lambda *_: "text")
    assert isinstance(reason, str) and "is str, not a list" in reason


# -- planning over instances ---------------------------------------------------------------


def test_a_mapped_task_as_a_whole_succeeds_only_when_every_instance_did() -> None:
    assert aggregate([S, S, S]) is S
    assert aggregate([S, R, S]) is R
    assert aggregate([S, N, R]) is N  # an instance to schedule again (cleared)
    assert aggregate([S, F, S]) is F
    assert aggregate([SK, SK]) is SK
    assert aggregate([S, SK]) is S


def test_downstream_waits_for_every_instance_and_counts_each_in_its_trigger_rule() -> None:
    sd = structure(mapped_dag())
    running = mapped_rows(S, R, S)
    states, instances = task_states(running)
    assert states["double"] is R and instances["double"] == [S, R, S]
    plan = plan_run(sd, states, instances=instances)
    assert plan.to_schedule == [] and "collect" in plan.waiting
    assert plan.run_state is None

    done = mapped_rows(S, S, S)
    states, instances = task_states(done)
    assert [t for t, _ in plan_run(sd, states, instances=instances).to_schedule] == ["collect"]


def test_one_failed_instance_fails_an_all_success_downstream_but_not_one_success() -> None:
    rows = mapped_rows(S, F, S)
    states, instances = task_states(rows)
    strict = plan_run(structure(mapped_dag()), states, instances=instances)
    assert [t for t, _ in strict.to_upstream_fail] == ["collect"]
    assert "1 upstream failed" in strict.to_upstream_fail[0][1]
    lenient = plan_run(structure(mapped_dag("one_success")), states, instances=instances)
    assert [t for t, _ in lenient.to_schedule] == ["collect"]


def test_an_unexpanded_mapped_task_is_planned_like_any_task_and_moves_spread_to_instances() -> None:
    sd = structure(mapped_dag())
    unexpanded = keyed(ti("numbers", S), ti("double", N), ti("collect", N))
    states, instances = task_states(unexpanded)
    assert instances == {}
    plan = plan_run(sd, states, instances=instances)
    assert [t for t, _ in plan.to_schedule] == ["double"]  # the step that expands it
    expanded = mapped_rows(N, S, N)
    states, instances = task_states(expanded)
    moves = per_instance(plan_run(sd, states, instances=instances), expanded)
    assert [key for key, _ in moves.to_schedule] == ["double[0]", "double[2]"]


def test_a_skipped_mapped_task_lets_the_run_finish_by_trigger_rules() -> None:
    sd = structure(mapped_dag())
    rows = keyed(ti("numbers", S), ti("double", SK), ti("collect", N))
    states, instances = task_states(rows)
    plan = plan_run(sd, states, instances=instances)
    assert [t for t, _ in plan.to_skip] == ["collect"]
    assert plan.run_state is RunState.SUCCESS


# -- datasets -----------------------------------------------------------------------------


def test_a_dataset_schedule_never_makes_time_based_runs_and_round_trips() -> None:
    with DAG("c", schedule=[Dataset("s3://a"), "s3://b", Dataset("s3://a")]) as d:
        EmptyOperator(task_id="t", outlets=[Dataset("s3://out", extra={"owner": "x"})])
    schedule = d.schedule
    assert isinstance(schedule, DatasetSchedule)
    assert schedule.uris == ["s3://a", "s3://b"]
    assert schedule.description == "on dataset updates: s3://a, s3://b"
    assert (
        schedule.next_run(
            last=None, start_date=None, end_date=None, catchup=False, now=datetime.now(UTC)
        )
        is None
    )
    sd = structure(d)
    assert sd.schedule == schedule
    assert deserialize_schedule(schedule.serialize()).uris == ["s3://a", "s3://b"]
    assert sd.tasks["t"].raw["outlets"] == ["s3://out"]


def test_many_datasets_keep_the_description_within_the_stored_200_characters() -> None:
    schedule = DatasetSchedule([Dataset(f"s3://bucket/table_{n:03}") for n in range(30)])
    assert len(schedule.description) <= 200
    assert schedule.description.startswith(DatasetSchedule.PREFIX)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Dataset(""), "non-empty URI"),
        (lambda: Dataset(" s3://x"), "no surrounding spaces"),
        (lambda: DatasetSchedule([]), "names no dataset"),
        (lambda: EmptyOperator(task_id="t", outlets=[42]), "outlets: expected Dataset"),
    ],
)
def test_bad_datasets_are_refused_with_a_clear_error(build: Any, message: str) -> None:
    with pytest.raises(DagDefinitionError, match=message):
        build()


# -- mapped task groups: instance i follows instance i ------------------------------------


def group_dag(trigger_rule: str = "all_success") -> SerializedDag:
    with DAG("g") as d:

        @task
        def check(x: int) -> int:
            return x

        @task(trigger_rule=trigger_rule)
        def after(y: int) -> None:
            return None

        @task_group
        def each(x: Any) -> None:
            after(check(x))

        each.expand(x=[1, 2, 3])
    return structure(d)


def test_a_group_task_instance_follows_only_the_same_index_upstream() -> None:
    """check[1] failed: after[1] fails upstream, after[0] and after[2] run (as Airflow);
    after[2] waits while check[2] still runs."""
    sd = group_dag()
    tis = keyed(
        ti("each.check", S, 0, 1),
        ti("each.check", F, 1, 2),
        ti("each.check", R, 2, 3),
        ti("each.after", N, 0, 4),
        ti("each.after", N, 1, 5),
        ti("each.after", N, 2, 6),
    )
    states, instances = task_states(tis)
    plan = per_instance(plan_run(sd, states, instances=instances), tis)
    assert plan.to_schedule == [("each.after[0]", plan.to_schedule[0][1])]
    assert [key for key, _ in plan.to_upstream_fail] == ["each.after[1]"]
    assert "each.check[2]" in plan.waiting["each.after[2]"]
    assert plan.run_state is None


def test_a_group_task_expands_once_its_group_upstream_has() -> None:
    sd = group_dag()
    before = keyed(ti("each.check", N), ti("each.after", N))
    states, instances = task_states(before)
    plan = plan_run(sd, states, instances=instances)
    assert [t for t, _ in plan.to_schedule] == ["each.check"]  # after waits for its expansion
    expanded = keyed(*(ti("each.check", N, i) for i in range(3)), ti("each.after", N))
    states, instances = task_states(expanded)
    plan = plan_run(sd, states, instances=instances)
    assert sorted(t for t, _ in plan.to_schedule) == ["each.after", "each.check"]


def test_a_group_task_whose_group_upstream_never_expanded_follows_its_rule_whole() -> None:
    """An empty list: check ended skipped without instances; after is skipped as a whole."""
    sd = group_dag()
    states, instances = task_states(keyed(ti("each.check", SK), ti("each.after", N)))
    plan = plan_run(sd, states, instances=instances)
    assert [t for t, _ in plan.to_skip] == ["each.after"]
    assert plan.run_state is RunState.SUCCESS


def test_the_run_ends_when_every_index_has_ended_its_own_way() -> None:
    sd = group_dag("all_done")
    tis = keyed(
        *(ti("each.check", state, i) for i, state in enumerate((S, F, S))),
        *(ti("each.after", state, i) for i, state in enumerate((S, N, S))),
    )
    states, instances = task_states(tis)
    plan = per_instance(plan_run(sd, states, instances=instances), tis)
    assert [key for key, _ in plan.to_schedule] == ["each.after[1]"]  # all_done runs it
    assert plan.run_state is None


def test_a_group_task_expanded_whole_counts_its_group_upstream_whole() -> None:
    """all_done after a group task that ended without instances: the task expanded by its
    own lists, and each instance counts that upstream's one state."""
    sd = group_dag("all_done")
    tis = keyed(ti("each.check", SK), ti("each.after", N, 0), ti("each.after", N, 1))
    states, instances = task_states(tis)
    plan = per_instance(plan_run(sd, states, instances=instances), tis)
    assert [key for key, _ in plan.to_schedule] == ["each.after[0]", "each.after[1]"]
