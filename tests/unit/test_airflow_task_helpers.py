"""Airflow core's helpers that provider packages and tasks import, without a store: the
``common.compat`` provider's ``sdk`` module answering every name Conveyor maps elsewhere,
moved-name modules (``add_deprecated_classes``), ``redact`` and ``mask_secret``'s reading of
names, ``XComNotFound``, the hook lineage collector, and the libraries put in place of
Airflow's core when a provider is installed."""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator
from pathlib import Path

import pytest

from airflow_hook_on import hook_on
from conveyor.airflow_compat.table import MODULES
from conveyor.airflow_compat.table_compat_sdk import COMPAT_SDK_PATHS
from conveyor.connections import masking


@pytest.fixture(autouse=True)
def _airflow_names(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    with hook_on(monkeypatch, tmp_path):
        yield
    masking.reset()


def test_the_compat_sdk_gives_what_airflow_sdk_gives() -> None:
    import airflow.sdk as sdk
    from airflow.providers.common.compat import sdk as compat

    for name in ("BaseOperatorLink", "BaseBranchOperator", "get_parsing_context", "Label"):
        assert getattr(compat, name) is getattr(sdk, name), name
    from airflow.utils.state import TaskInstanceState

    assert compat.TaskInstanceState is TaskInstanceState
    # Every name the provider's module forwards is answered, but the few Conveyor lacks.
    answered = MODULES["airflow.providers.common.compat.sdk"]
    lacking = sorted(set(COMPAT_SDK_PATHS) - set(answered))
    assert len(lacking) <= 16, lacking
    assert "BaseOperatorLink" not in lacking and "timeout" not in lacking


def test_moved_names_warn_and_come_from_their_new_home() -> None:
    from airflow.utils.deprecation_tools import DeprecatedImportWarning, add_deprecated_classes

    package = types.ModuleType("team_pkg")
    sys.modules["team_pkg"] = package
    try:
        add_deprecated_classes(
            {
                "old_paths": {"join": "os.path.join"},
                "old_json": {"*": "json"},
                "team_pkg": {"dumps": "json.dumps"},
            },
            "team_pkg",
            extra_message="moved in 2.0",
        )
        with pytest.warns(DeprecatedImportWarning, match="Please use `'os.path.join'`"):
            from team_pkg.old_paths import join  # type: ignore[import-not-found]
        with pytest.warns(DeprecatedImportWarning, match="team_pkg.old_json.loads.*moved in"):
            from team_pkg.old_json import loads  # type: ignore[import-not-found]
        with pytest.warns(DeprecatedImportWarning):
            dumps = package.dumps
        import json
        import os.path

        assert (join, loads, dumps) == (os.path.join, json.loads, json.dumps)
        with pytest.raises(AttributeError, match="has no attribute"):
            sys.modules["team_pkg.old_paths"].nothing  # noqa: B018
    finally:
        for name in ("team_pkg", "team_pkg.old_paths", "team_pkg.old_json"):
            sys.modules.pop(name, None)


def test_redact_and_mask_secret_read_names_as_airflow_does() -> None:
    from airflow.sdk.log import mask_secret, redact

    assert redact({"password": "p4ss", "nested": {"api_key": "k3y!"}, "user": "bob"}) == {
        "password": "***",
        "nested": {"api_key": "***"},
        "user": "bob",
    }
    assert redact("plain text", "token") == "***"
    assert redact(["a", "b"], "secret") == ["***", "***"]
    mask_secret("host-name-1", "hostname")  # a name that is not secret: not masked
    mask_secret({"user": "someone", "password": "pa55word"})
    mask_secret(["tok-111", "tok-222"])
    assert masking.redact("someone host-name-1 pa55word tok-111 tok-222") == (
        "someone host-name-1 *** *** ***"
    )


def test_xcom_not_found_and_the_hook_lineage_collector() -> None:
    from airflow.exceptions import AirflowException, XComNotFound
    from airflow.lineage.hook import get_hook_lineage_collector

    missing = XComNotFound("d", "t", "rows")
    assert isinstance(missing, AirflowException)
    assert str(missing) == 'XComArg result from t at d with key="rows" is not found!'
    collector = get_hook_lineage_collector()
    collector.add_input_asset(None, uri="s3://bucket/key")
    assert not collector.has_collected and collector.collected_assets.inputs == []


def test_a_literal_is_rendered_as_written() -> None:
    from airflow.sdk import literal
    from airflow.utils.template import literal as legacy

    from conveyor.model.templating import render_value

    assert legacy is literal
    context = {"ds": "2026-01-01"}
    kept = {"sql": literal("select '{{ ds }}'"), "also": "{{ ds }}"}
    assert render_value(kept, context) == {"sql": "select '{{ ds }}'", "also": "2026-01-01"}


def test_timeout_keeps_the_deadline_of_a_timer_already_running() -> None:
    """A task's ``with timeout(...)`` inside a try with ``execution_timeout``: the try's
    timer still fires after the block, and inside it when it comes first."""
    import signal
    import time

    from airflow.exceptions import AirflowTaskTimeout
    from airflow.utils.timeout import timeout

    fired: list[str] = []

    def outer(signum: int, frame: object) -> None:
        fired.append("outer")
        raise TimeoutError("the try's execution_timeout")

    previous = signal.signal(signal.SIGALRM, outer)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.4)
        with pytest.raises(AirflowTaskTimeout, match=r"^inner, PID"), timeout(0.1, "inner"):
            time.sleep(1)
        with pytest.raises(TimeoutError):  # the outer deadline is kept after the block
            time.sleep(1)
        assert fired == ["outer"]
        signal.setitimer(signal.ITIMER_REAL, 0.1)
        with pytest.raises(TimeoutError), timeout(5, "inner"):  # the outer one comes first
            time.sleep(1)
        assert fired == ["outer", "outer"]
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_what_conveyor_cannot_do_as_airflow_is_refused_where_it_is_used() -> None:
    from types import SimpleNamespace

    from airflow import DAG
    from airflow.models import BaseOperator, SkipMixin
    from airflow.stats import Stats

    from conveyor.exceptions import TaskError

    with pytest.raises(ValueError, match="delta=True"):
        Stats.gauge("team.queue", 3, delta=True)

    class Gate(BaseOperator, SkipMixin):
        def execute(self, context: dict[str, object]) -> None:
            return None

    with DAG("gate", schedule=None):
        gate = Gate(task_id="gate")
    with pytest.raises(TaskError, match="instance 2 of a mapped task"):
        gate.skip(SimpleNamespace(map_index=2), [])
    with pytest.raises(TaskError, match="instance 1 of a mapped task"):
        gate.skip(None, None, [], map_index=1)
    gate.skip(SimpleNamespace(map_index=-1), [])  # an unmapped instance: nothing to skip
