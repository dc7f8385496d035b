"""Callbacks and notifiers through the real scheduler: task callbacks in the try's process,
DAG callbacks exactly once per run, run timeouts and SLA misses, a real HTTP endpoint and a
real SMTP server receiving the alerts."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from email import message_from_bytes
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from http_servers import Recorder, serve
from sqlalchemy import select

from conftest import run_scheduler
from conveyor.states import RunState, TaskState
from conveyor.store.engine import Store
from conveyor.store.tables import callback_request, dag_run
from conveyor.worker.runner import log_path_for
from run_env import Env, run_one


@pytest.fixture
def hook() -> Iterator[Recorder]:
    """A webhook endpoint, ``/hook``, that answers every post with 200."""
    yield from serve(Recorder(routes={("POST", "/hook"): lambda _: (200, b"ok", {})}))


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content)
        self.messages.append((envelope.rcpt_tos, message["Subject"], message.get_payload()))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    box = Mailbox()
    with socket.socket() as probe:  # a free port: the controller checks readiness by connecting
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


def _requests(store: Store) -> list[Any]:
    with store.read() as conn:
        return list(conn.execute(select(callback_request).order_by(callback_request.c.id)))


def _settled(store: Store, run_pk: int, requests: int) -> Any:
    """Until the run ended and that many callback requests were run."""

    def check() -> bool:
        with store.read() as conn:
            state = conn.execute(select(dag_run.c.state).where(dag_run.c.id == run_pk)).scalar()
        done = [r for r in _requests(store) if r.state in ("done", "failed")]
        return state in ("success", "failed") and len(done) >= requests

    return check


CALLBACKS = """
    from conveyor.notifiers import WebhookNotifier

    URL = "@URL@"
    OUT = Path("@TMP@")

    def note(name):
        def callback(context):
            ti = context.get("ti")
            line = f"{name} {context['state']} {ti.try_number if ti else '-'}\\n"
            with open(OUT / "callbacks.txt", "a") as handle:
                handle.write(line)
        return callback

    def broken(context):
        raise RuntimeError("the alerting system is down")

    with DAG(
        "alerts",
        start_date=START,
        default_args={"on_retry_callback": note("retry")},
        on_success_callback=note("dag-success"),
        on_failure_callback=[note("dag-failure"), WebhookNotifier(URL)],
    ):
        @task(retries=1, retry_delay=0, on_success_callback=WebhookNotifier(URL))
        def flaky(ti=None):
            if ti.try_number == 1:
                raise ValueError("first try fails")
            return "ok"

        @task(on_failure_callback=[broken, WebhookNotifier(URL, text="{{ task.task_id }} down")])
        def boom():
            raise ValueError("no luck")

        flaky() >> boom()
"""


def test_task_and_dag_callbacks_run_once_each_and_a_broken_one_changes_nothing(
    env: Env, hook: Recorder
) -> None:
    env.write_dag("alerts.py", CALLBACKS.replace("@URL@", f"{hook.url}/hook"))
    env.sync()
    run_pk = env.trigger("alerts")
    run_scheduler(env.settings(), env.store, _settled(env.store, run_pk, 1), limit=30)

    assert env.states(run_pk) == {"flaky": TaskState.SUCCESS, "boom": TaskState.FAILED}
    assert env.run_state(run_pk) is RunState.FAILED
    lines = (env.tmp / "callbacks.txt").read_text().splitlines()
    assert sorted(lines) == ["dag-failure failed -", "retry up_for_retry 1"]
    texts = [seen.json()["text"] for seen in hook.requests("POST", "/hook")]
    assert "Conveyor: task alerts.flaky success (run " in texts[0] and "try 2)" in texts[0]
    assert sorted(texts[1:]) == sorted(
        [
            "boom down",
            f"Conveyor: DAG alerts run {env.dag_runs('alerts')[0].run_id} failed: failed: boom",
        ]
    )
    requests = _requests(env.store)
    assert [(r.kind, r.state) for r in requests] == [("failure", "done")]

    run = env.dag_runs("alerts")[0]
    log = log_path_for(env.settings(), "alerts", run.run_id, "boom", 1).read_text()
    assert "on_failure_callback of task 'boom'" in log
    assert "RuntimeError: the alerting system is down" in log


TIMEOUTS = """
    from conveyor.notifiers import EmailNotifier

    mail = EmailNotifier(to="oncall@example.com", host="127.0.0.1", port=@PORT@)

    with DAG(
        "slow",
        start_date=START,
        dagrun_timeout=1.0,
        on_failure_callback=mail,
        sla_miss_callback=mail,
    ):
        @task(sla=0.2)
        def crawl():
            time.sleep(3)

        crawl() >> EmptyOperator(task_id="after")
"""


def test_a_run_past_dagrun_timeout_fails_and_an_sla_miss_alerts_by_email(
    env: Env, smtp: tuple[Mailbox, int]
) -> None:
    box, port = smtp
    env.write_dag("slow.py", TIMEOUTS.replace("@PORT@", str(port)))
    env.sync()
    run_pk = env.trigger("slow")
    run_scheduler(env.settings(), env.store, _settled(env.store, run_pk, 2), limit=30)

    run = env.dag_runs("slow")[0]
    assert run.state == "failed"
    assert run.note.startswith("run timed out")
    assert env.states(run_pk)["after"] is TaskState.SKIPPED
    kinds = sorted((r.kind, r.task_id, r.state) for r in _requests(env.store))
    assert kinds == [("failure", "", "done"), ("sla_miss", "crawl", "done")]
    subjects = sorted(subject.replace("\r\n", "") for _, subject, _ in box.messages)
    assert len(subjects) == 2
    assert subjects[0].startswith(f"Conveyor: DAG slow run {run.run_id} failed: run timed out")
    assert subjects[1].startswith("Conveyor: SLA missed in slow: task 'crawl' has not succeeded")
    assert all(to == ["oncall@example.com"] for to, _, _ in box.messages)


RETRY_AT_ONCE = """
with DAG("retry_at_once", start_date=START):
    @task(retries=1, retry_delay=0, on_retry_callback=lambda context: print("retrying"))
    def flaky(ti=None):
        if ti.try_number == 1:
            raise ValueError("first try fails")
        return ti.try_number

    flaky()
"""


@pytest.mark.parametrize("reuse", [True, False], ids=["runners", "a_process_a_try"])
def test_a_retry_due_at_once_starts_while_its_try_s_callback_still_runs(
    env: Env, reuse: bool
) -> None:
    """A try with a callback hands out what it queued before the callback runs; its own
    retry, due at once, is the same task instance's next try and must be taken then, not
    left for the scheduler to find queued and send again (it used to wait the whole
    ``requeue_after_seconds``, 30 s by default)."""
    env.write_dag("retry_at_once.py", RETRY_AT_ONCE)
    run_pk = run_one(
        env,
        "retry_at_once",
        requeue_after_seconds=1.0,
        local_reuse_processes=reuse,
    )
    assert env.states(run_pk) == {"flaky": TaskState.SUCCESS}
    kinds = [event.kind for event in env.events(run_pk, "flaky")]
    assert "requeued" not in kinds, env.events(run_pk, "flaky")
