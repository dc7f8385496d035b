"""How a missed deadline's callback is called (``deadline_callbacks.call``), as Airflow calls
it: its kwargs, ``context`` only for a callable that takes it, an awaited AsyncCallback, and
a notifier class called again with the context."""

from __future__ import annotations

from typing import Any

from conveyor.deadline_callbacks import call
from conveyor.model.deadlines import AsyncCallback, SyncCallback

CONTEXT = {"dag_run": {"dag_id": "orders"}, "deadline": {"id": "7"}}
seen: list[tuple[str, Any]] = []


def without_context(text: str) -> None:
    seen.append(("without", text))


def with_context(text: str, context: dict[str, Any]) -> None:
    seen.append(("with", (text, context)))


def with_any_keywords(**kwargs: Any) -> None:
    seen.append(("any", kwargs))


async def later(text: str, context: dict[str, Any]) -> None:
    seen.append(("async", (text, context["deadline"]["id"])))


class Notifier:
    """Shaped like a notifier: made with its settings, then called with the context."""

    def __init__(self, channel: str) -> None:
        self.channel = channel

    def __call__(self, context: dict[str, Any]) -> None:
        seen.append(("notifier", (self.channel, context["dag_run"]["dag_id"])))


def test_kwargs_go_to_the_callable_and_context_only_where_it_is_taken() -> None:
    seen.clear()
    call(SyncCallback(without_context, kwargs={"text": "a"}), CONTEXT)
    call(SyncCallback(with_context, kwargs={"text": "b"}), CONTEXT)
    call(SyncCallback(with_any_keywords, kwargs={"text": "c"}), CONTEXT)
    assert seen == [
        ("without", "a"),
        ("with", ("b", CONTEXT)),
        ("any", {"text": "c", "context": CONTEXT}),
    ]


def test_an_async_callback_is_awaited_and_a_notifier_class_is_called_with_the_context() -> None:
    seen.clear()
    call(AsyncCallback(later, kwargs={"text": "d"}), CONTEXT)
    call(SyncCallback(Notifier, kwargs={"channel": "#oncall"}), CONTEXT)
    assert seen == [("async", ("d", "7")), ("notifier", ("#oncall", "orders"))]


def test_a_dotted_path_is_imported_when_the_callback_runs() -> None:
    seen.clear()
    call(SyncCallback(f"{__name__}.without_context", kwargs={"text": "e"}), CONTEXT)
    assert seen == [("without", "e")]
