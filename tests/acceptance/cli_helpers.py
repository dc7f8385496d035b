"""In-process ``conveyor`` commands against a real store on each backend (``store_url``)."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from conveyor.cli.common import settings
from conveyor.cli.main import cli
from conveyor.loading.processor import DagFileProcessor
from conveyor.states import RunState, TaskState
from conveyor.store import engine as store_engine
from conveyor.store import runs, trigger
from conveyor.store.engine import Store


@dataclass
class Cli:
    """The configured home, DAG folder and store of one test, and a way to run commands."""

    home: Path
    dags: Path
    store: Store
    opened: list[Store] = field(default_factory=list)

    def __call__(self, *args: str, input: str | None = None) -> Result:
        settings.cache_clear()  # the environment of this test, not a previous one's
        try:
            return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)
        finally:
            # A command's process would exit here; in-process, its pool must be closed.
            while self.opened:
                self.opened.pop().dispose()

    def write_dag(self, name: str, body: str) -> None:
        (self.dags / name).write_text(textwrap.dedent(body))
        DagFileProcessor(self.store, self.dags, timeout=60, scan_every=0).sync()

    def trigger(self, dag_id: str, run_id: str | None = None) -> str:
        with self.store.write() as conn:
            return trigger.trigger_run(conn, dag_id, created_by="test", run_id=run_id).run_id

    def states(self, dag_id: str, run_id: str) -> dict[str, TaskState]:
        with self.store.read() as conn:
            run = runs.find_run(conn, dag_id, run_id)
            return {ti.task_id: ti.state for ti in runs.task_instances(conn, run.id)}

    def run_state(self, dag_id: str, run_id: str) -> RunState:
        with self.store.read() as conn:
            return runs.find_run(conn, dag_id, run_id).state


def make_cli(tmp_path: Path, store_url: str, store: Store, monkeypatch: pytest.MonkeyPatch) -> Cli:
    home, dags = tmp_path / "home", tmp_path / "dags"
    dags.mkdir(exist_ok=True)
    monkeypatch.setenv("CONVEYOR_HOME", str(home))
    monkeypatch.setenv("CONVEYOR_DAGS_FOLDER", str(dags))
    monkeypatch.setenv("CONVEYOR_DATABASE_URL", store_url)
    monkeypatch.setenv("COLUMNS", "200")
    made = Cli(home, dags, store)

    class Tracked(Store):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            made.opened.append(self)

    # open_store imports the store's class when a command opens it (so that a command that
    # reads none loads no SQLAlchemy): the class is swapped where it is taken from.
    monkeypatch.setattr(store_engine, "Store", Tracked)
    return made
