"""Publishing the tries a fast path queued never undoes the outcome it is published with.

``publish_tries`` runs inside the transaction that records a try's outcome: whatever the
broker or its client library raises must not escape (the outcome would be rolled back and
the try run again), and a producer that kombu's Redis transport left detached after a lost
connection (every later publish on it raised AttributeError, even with the broker back) is
replaced by a fresh one at once.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from conveyor.config import load_config
from conveyor.engine.progress import QueuedTry
from conveyor.executors import celery_app

WORK = [
    QueuedTry(1, 1, "default", 1, "fan", "manual", "part_000", None),
    QueuedTry(2, 1, "default", 1, "fan", "manual", "part_001", None),
]


@pytest.fixture
def app(tmp_path: Path) -> Any:
    env = {"CONVEYOR_HOME": str(tmp_path), "CONVEYOR_BROKER_URL": "memory://"}
    return celery_app.make_app(load_config(env, executor="celery").settings)


def test_a_detached_producer_is_replaced_and_the_try_sent_on_a_fresh_one(
    app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[int] = []
    producers: list[object] = []
    detached = {"left": 1}

    def send(app: Any, work: QueuedTry) -> None:
        producers.append(app.held_producer)
        if detached["left"]:
            detached["left"] -= 1
            app.held_producer = ("pid", "a producer kombu left detached")
            raise AttributeError("'NoneType' object has no attribute 'client'")
        sent.append(work.ti_id)

    monkeypatch.setattr(celery_app, "send_try", send)
    monkeypatch.setattr(celery_app, "release_producer", lambda app: None)
    celery_app.publish_tries(app, WORK)
    assert sent == [1, 2]  # the first try went out on the second attempt, the next one too
    assert producers[1] is None  # that attempt did not reuse the detached producer


def test_whatever_a_publish_raises_is_logged_not_raised(
    app: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def send(app: Any, work: QueuedTry) -> None:
        raise RuntimeError("the broker went away mid-publish")

    monkeypatch.setattr(celery_app, "send_try", send)
    caplog.set_level(logging.WARNING, logger=celery_app.__name__)
    celery_app.publish_tries(app, WORK)  # does not raise
    warned = [r.getMessage() for r in caplog.records if "could not publish" in r.getMessage()]
    assert len(warned) == 2, warned
    assert "task instance 1" in warned[0] and "went away" in warned[0]
