"""Human-in-the-loop operators through the real scheduler and local executor, on both stores:
a run waits in ``awaiting_input`` holding no slot, a person's answer (the engine call the API
and the UI make) resumes it; approval lets what follows run, rejection skips it, a branch
follows the chosen option, an entry's params reach downstream through XCom; an unanswered
wait past its response timeout takes the defaults, or fails the task without them (the old
``execution_timeout`` spelling too)."""

from __future__ import annotations

import time
import warnings
from datetime import timedelta
from typing import Any

import pytest

from conftest import describe_runs, run_scheduler
from conveyor.engine import awaiting_input
from conveyor.lifecycle import Actor
from conveyor.scheduler.explain import explain
from conveyor.states import RunState, TaskState
from conveyor.store import hitl, runs
from conveyor.store.reads import tasks as task_reads
from run_env import Env
from store_reads import returned

HITL_DAG = """\
from datetime import datetime, timedelta

from airflow.sdk import DAG, Param, task
from airflow.providers.standard.operators.hitl import (
    ApprovalOperator, HITLBranchOperator, HITLEntryOperator, HITLOperator,
)

from airflow.sdk.bases.notifier import BaseNotifier


class LinkNotifier(BaseNotifier):
    template_fields = ("message",)

    def __init__(self, message):
        self.message = message

    def notify(self, context):
        url = HITLOperator.generate_link_to_ui_from_context(
            context=context, base_url="http://ui:8080"
        )
        with open("@TMP@/notified", "w") as f:
            f.write(self.message + " " + url)


with DAG("approval", start_date=datetime(2024, 1, 1), schedule=None, catchup=False):
    approve = ApprovalOperator(
        task_id="approve", subject="Ship {{ dag_run.run_id }}?",
        notifiers=[LinkNotifier("asked {{ task.subject }}")],
    )

    @task
    def ship():
        return "shipped"

    approve >> ship()

with DAG("branching", start_date=datetime(2024, 1, 1), schedule=None, catchup=False):
    choose = HITLBranchOperator(
        task_id="choose", subject="Which way?", options=["Left", "Right"],
        options_mapping={"Left": "left"},
    )

    @task
    def left():
        return "L"

    @task
    def Right():
        return "R"

    choose >> [left(), Right()]

with DAG("entry", start_date=datetime(2024, 1, 1), schedule=None, catchup=False):
    entry = HITLEntryOperator(
        task_id="entry", subject="How many?", params={"count": Param(3, type="integer")},
    )

    @task
    def use(answer):
        return answer["params_input"]["count"] * 2

    use(entry.output)

with DAG("timeouts", start_date=datetime(2024, 1, 1), schedule=None, catchup=False):
    HITLOperator(
        task_id="with_defaults", subject="Pick", options=["a", "b"], defaults="b",
        response_timeout=timedelta(seconds=@LIMIT@),
    )
    HITLOperator(
        task_id="no_defaults", subject="Pick", options=["a", "b"],
        execution_timeout=timedelta(seconds=@LIMIT@),
    )
"""

PERSON = {"id": "alice", "name": "Alice"}
ACTOR = Actor("user:alice")


@pytest.fixture
def hitl_env(env: Env) -> Env:
    source = HITL_DAG.replace("@LIMIT@", "0.5").replace("@TMP@", str(env.tmp))
    env.write_dag("hitl.py", source, header=False)
    env.sync()
    return env


def ti_id(env: Env, run_pk: int, task_id: str) -> int:
    with env.store.read() as conn:
        return env._ti_id(conn, run_pk, task_id)


def wait_until_awaiting(env: Env, run_pk: int, task_id: str) -> None:
    """Run the scheduler until the task asked its question."""

    def asked() -> bool:
        return env.states(run_pk).get(task_id) is TaskState.AWAITING_INPUT

    run_scheduler(env.settings(), env.store, asked, limit=60, what=f"{task_id} awaiting input")


def answer(env: Env, run_pk: int, task_id: str, chosen: list[str], **params: Any) -> None:
    awaiting_input.answer(env.store, ti_id(env, run_pk, task_id), chosen, params, PERSON, ACTOR)


def test_an_approval_waits_without_a_slot_and_goes_on_when_approved(hitl_env: Env) -> None:
    env = hitl_env
    run_pk = env.trigger("approval")
    wait_until_awaiting(env, run_pk, "approve")
    with env.store.read() as conn:
        question = hitl.latest(conn, ti_id(env, run_pk, "approve"))
    assert question is not None
    assert question.subject.startswith("Ship manual__")  # rendered
    assert question.options == ["Approve", "Reject"]
    assert not question.multiple and not question.answered
    assert [t.exit_kind for t in env.tries(run_pk, "approve")] == ["awaiting_input"]
    # The notifiers were told, with the rendered subject and a link to the page.
    told = (env.tmp / "notified").read_text()
    assert told.startswith("asked Ship manual__")
    assert "http://ui:8080/required-actions?dag_id=approval&run_id=manual__" in told
    assert env.run_state(run_pk) is RunState.RUNNING
    with env.store.read() as conn:  # what `conveyor tasks why` and .../dependencies say
        why = explain(conn, runs.get_run(conn, run_pk), "approve").waiting_for
    assert why == [f"awaiting a person's answer to {question.subject!r} (Required actions)"]
    answer(env, run_pk, "approve", ["Approve"])
    env.run(run_pk, limit=60)
    assert env.states(run_pk) == {"approve": TaskState.SUCCESS, "ship": TaskState.SUCCESS}
    value = returned(env.store, run_pk, "approve")
    assert value["chosen_options"] == ["Approve"]
    assert value["responded_by_user"] == PERSON
    # The answer resumed the same try (as Airflow numbers it), in a dispatch of its own.
    assert [t.exit_kind for t in env.tries(run_pk, "approve")] == ["awaiting_input", "return"]
    with env.store.read() as conn:
        row = task_reads.instance(conn, run_pk, "approve")
        assert row is not None and (row.try_number, row.max_tries) == (1, 1)
        assert [t.try_number for t in task_reads.tries(conn, [row.id])] == [1]
        asked = hitl.asked_in_try(conn, row.id, 1)
        assert asked is not None and asked.answered and hitl.asked_in_try(conn, row.id, 2) is None
    # A second answer is refused: the first stands.
    with pytest.raises(awaiting_input.AnswerRefused) as refused:
        answer(env, run_pk, "approve", ["Reject"])
    assert refused.value.status == 409


def test_a_rejection_skips_what_follows(hitl_env: Env) -> None:
    env = hitl_env
    run_pk = env.trigger("approval")
    wait_until_awaiting(env, run_pk, "approve")
    answer(env, run_pk, "approve", ["Reject"])
    env.run(run_pk, limit=60)
    assert env.states(run_pk) == {"approve": TaskState.SUCCESS, "ship": TaskState.SKIPPED}
    assert env.run_state(run_pk) is RunState.SUCCESS


def test_bad_answers_are_refused_and_the_task_keeps_waiting(hitl_env: Env) -> None:
    env = hitl_env
    run_pk = env.trigger("approval")
    wait_until_awaiting(env, run_pk, "approve")
    for chosen in (["Maybe"], ["Approve", "Reject"], []):
        with pytest.raises(awaiting_input.AnswerRefused) as refused:
            answer(env, run_pk, "approve", chosen)
        assert refused.value.status == 400, chosen
    assert env.states(run_pk)["approve"] is TaskState.AWAITING_INPUT


def test_a_branch_follows_the_chosen_option(hitl_env: Env) -> None:
    env = hitl_env
    run_pk = env.trigger("branching")
    wait_until_awaiting(env, run_pk, "choose")
    answer(env, run_pk, "choose", ["Right"])  # not in options_mapping: the task's own id
    env.run(run_pk, limit=60)
    states = env.states(run_pk)
    assert states["Right"] is TaskState.SUCCESS and states["left"] is TaskState.SKIPPED
    assert returned(env.store, run_pk, "Right") == "R"


def test_an_entry_hands_its_params_downstream(hitl_env: Env) -> None:
    env = hitl_env
    run_pk = env.trigger("entry")
    wait_until_awaiting(env, run_pk, "entry")
    with env.store.read() as conn:
        question = hitl.latest(conn, ti_id(env, run_pk, "entry"))
    assert question is not None and question.defaults == ["OK"]
    assert question.params["count"]["value"] == 3
    answer(env, run_pk, "entry", ["OK"], count=21)
    env.run(run_pk, limit=60)
    assert returned(env.store, run_pk, "use") == 42


def test_params_that_break_their_schema_fail_the_task(hitl_env: Env) -> None:
    env = hitl_env
    run_pk = env.trigger("entry")
    wait_until_awaiting(env, run_pk, "entry")
    answer(env, run_pk, "entry", ["OK"], count="many")
    env.run(run_pk, limit=60)
    assert env.states(run_pk)["entry"] is TaskState.FAILED
    assert "params_input.count: 'many' does not match its schema" in (
        env.tries(run_pk, "entry")[-1].error or ""
    )


def test_an_unanswered_wait_takes_its_defaults_or_fails_at_its_timeout(hitl_env: Env) -> None:
    env = hitl_env
    run_pk = env.trigger("timeouts")
    started = time.monotonic()
    env.run(run_pk, limit=60)
    assert time.monotonic() - started >= 0.5
    states = env.states(run_pk)
    assert states == {"with_defaults": TaskState.SUCCESS, "no_defaults": TaskState.FAILED}, (
        describe_runs(env.store)
    )
    value = returned(env.store, run_pk, "with_defaults")
    assert value["chosen_options"] == ["b"] and value["responded_by_user"] is None
    [*_, failed] = env.tries(run_pk, "no_defaults")
    assert "HITLTimeoutError" in (failed.error or "")
    with env.store.read() as conn:
        question = hitl.latest(conn, ti_id(env, run_pk, "with_defaults"))
    assert question is not None and question.chosen_options == ["b"]
    assert question.responded_by is None


def test_execution_timeout_is_the_old_spelling_of_response_timeout(airflow_hook: None) -> None:
    from airflow.providers.standard.operators.hitl import HITLOperator

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        op = HITLOperator(
            task_id="t", subject="s", options=["a"], execution_timeout=timedelta(seconds=5)
        )
    assert op.response_timeout == timedelta(seconds=5) and op.execution_timeout is None
    assert any("response_timeout" in str(w.message) for w in caught)
    with pytest.raises(ValueError, match="subset of options"):
        HITLOperator(task_id="u", subject="s", options=["a"], defaults="b")


def test_a_link_to_the_required_actions_page(airflow_hook: None) -> None:
    from types import SimpleNamespace

    from airflow.providers.standard.operators.hitl import HITLOperator

    op = HITLOperator(task_id="t", subject="s", options=["a", "b"])
    ti = SimpleNamespace(dag_id="d", run_id="r 1", task_id="t", map_index=-1)
    link = op.generate_link_to_ui(task_instance=ti, base_url="http://ui:8080/", options="a")
    assert link == (
        "http://ui:8080/required-actions?dag_id=d&run_id=r+1&task_id=t&map_index=-1&_options=a"
    )
    with pytest.raises(ValueError, match="not valid options"):
        op.generate_link_to_ui(task_instance=ti, base_url="http://ui", options=["c"])
