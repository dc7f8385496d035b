"""Run ids and the files a run leaves on disk.

- A run whose id breaks the rule, stored straight into the store (past the API), fails its
  tries with the reason; the scheduler and the local executor carry on with other DAGs.
- Run ids that used to share a log folder (``a:b+c``, ``a_b_c``) have their own, and no run
  id writes outside its DAG's log folder.
- The home, the store, key files and task logs are private to the user who runs Conveyor.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select, update

from conveyor.states import RunState, TaskState
from conveyor.store import runs
from conveyor.store.engine import Store
from conveyor.store.tables import dag_run, task_instance, task_try
from run_env import Env

CONVEYOR = str(Path(sys.executable).parent / "conveyor")

ECHO = """
    with DAG("echo", start_date=START):
        BashOperator(task_id="say", bash_command="echo this is run {{ run_id | shell_quote }}")

    with DAG("other", start_date=START):
        BashOperator(task_id="fine", bash_command="echo still running")
"""


def _store_run_with_id(env: Env, dag_id: str, run_id: str) -> int:
    """A run made as the API makes one, then given ``run_id`` behind everyone's back."""
    run_pk = env.trigger(dag_id)
    with env.store.write() as conn:
        conn.execute(update(dag_run).where(dag_run.c.id == run_pk).values(run_id=run_id))
        conn.execute(
            update(task_instance).where(task_instance.c.run_pk == run_pk).values(run_id=run_id)
        )
    return run_pk


def _errors(env: Env, run_pk: int) -> list[str]:
    with env.store.read() as conn:
        return [
            e or ""
            for e in conn.execute(
                select(task_try.c.error)
                .join(task_instance, task_instance.c.id == task_try.c.ti_id)
                .where(task_instance.c.run_pk == run_pk)
            ).scalars()
        ]


def _files_under(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if p.is_file()}


@pytest.mark.parametrize("bad_id", ["nul\x00id", "..", "a/../../../escaped", "tab\there"])
def test_a_run_with_a_bad_id_fails_its_try_and_everything_else_runs_on(
    env: Env, bad_id: str
) -> None:
    if "\x00" in bad_id and not env.store.is_sqlite:
        pytest.skip("PostgreSQL itself refuses NUL in text")
    env.write_dag("echo.py", ECHO)
    env.sync()
    bad = _store_run_with_id(env, "echo", bad_id)
    good = env.trigger("other")
    # The real scheduler loop with the local executor, as standalone runs them: it must
    # not end, and the other DAG's run must finish.
    env.run(bad, good)
    assert env.run_state(good) is RunState.SUCCESS, env.states(good)
    assert env.run_state(bad) is RunState.FAILED
    assert env.states(bad) == {"say": TaskState.FAILED}
    (error,) = _errors(env, bad)
    assert "bad run id" in error and "no control characters" in error, error
    # Nothing was written outside the DAG folders of the log folder, nor beside it.
    logs = env.settings().logs_path
    outside = {p for p in _files_under(env.tmp) if logs not in p.parents}
    assert not [p for p in outside if p.name.startswith("try-")], outside
    assert all(p.relative_to(logs).parts[0] in ("echo", "other") for p in _files_under(logs))


def test_run_ids_that_used_to_share_a_log_folder_each_keep_their_own(env: Env) -> None:
    env.write_dag("echo.py", ECHO)
    env.sync()
    pks = {}
    for run_id in ("a:b+c", "a_b_c"):
        with env.store.write() as conn:
            pk = runs.create_manual_run(conn, "echo", created_by="test", run_id=run_id)
        assert pk is not None
        pks[run_id] = pk
    env.run(*pks.values())
    logs = {}
    for run_id, pk in pks.items():
        assert env.run_state(pk) is RunState.SUCCESS, env.states(pk)
        (attempt,) = env.tries(pk, "say")
        logs[run_id] = Path(attempt.log_path)
    assert logs["a:b+c"] != logs["a_b_c"]
    assert "this is run a:b+c" in logs["a:b+c"].read_text()
    assert "this is run a_b_c" in logs["a_b_c"].read_text()
    assert "a_b_c" not in logs["a:b+c"].read_text()


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_home_store_keys_and_logs_are_private(env: Env) -> None:
    old_umask = os.umask(0o022)  # a usual umask: files would be world-readable by default
    try:
        env.write_dag("echo.py", ECHO)
        env.sync()
        run_pk = env.trigger("other")
        env.run(run_pk)
    finally:
        os.umask(old_umask)
    assert env.run_state(run_pk) is RunState.SUCCESS
    (attempt,) = env.tries(run_pk, "fine")
    log = Path(attempt.log_path)
    assert _mode(log) == 0o600
    folder = log.parent
    logs = env.settings().logs_path
    while folder != logs.parent:  # the run's, the DAG's and the log folder itself
        assert _mode(folder) == 0o700, folder
        folder = folder.parent

    if env.store.is_sqlite:
        fresh = env.tmp / "new-home" / "conveyor.db"
        Store(f"sqlite:///{fresh}").dispose()
        assert _mode(fresh) == 0o600 and _mode(fresh.parent) == 0o700


def test_the_cli_makes_a_new_home_private(tmp_path: Path) -> None:
    home = tmp_path / "home"
    environ = {**os.environ, "CONVEYOR_HOME": str(home)}
    environ.pop("CONVEYOR_DATABASE_URL", None)
    done = subprocess.run(
        [CONVEYOR, "variables", "set", "region", "eu"],
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=lambda: os.umask(0o022),
    )
    assert done.returncode == 0, done.stderr
    assert _mode(home) == 0o700
    assert _mode(home / "conveyor.db") == 0o600
    assert _mode(home / "fernet.key") == 0o600
    others = [p for p in home.rglob("*") if _mode(p) & 0o077]
    assert not others, [(p, oct(_mode(p))) for p in others]


def test_the_cli_refuses_a_bad_run_id_naming_the_rule(env: Env) -> None:
    env.write_dag("echo.py", ECHO)
    env.sync()
    environ = {
        **os.environ,
        "CONVEYOR_HOME": str(env.tmp / "home"),
        "CONVEYOR_DATABASE_URL": env.store.url,
        "CONVEYOR_DAGS_FOLDER": str(env.dags),
        "COLUMNS": "300",
    }
    done = subprocess.run(
        [CONVEYOR, "dags", "trigger", "echo", "--run-id", ".."],
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "bad run id '..'" in done.stderr and "no control characters" in done.stderr
    assert env.dag_runs("echo") == []


CRASHES = """
    with DAG("crashes", start_date=START):
        @task(retries=0)
        def dies():
            os._exit(3)  # no outcome recorded: the executor looks at its log's tail

        dies()
"""


def test_an_error_while_reaping_one_try_does_not_end_the_executor(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    from conveyor.executors import local

    def broken_tail(path: str, lines: int = 20) -> str:
        raise ValueError(f"cannot read the tail of {path!r}")  # as NUL in a path once did

    monkeypatch.setattr(local, "log_tail", broken_tail)
    env.write_dag("echo.py", ECHO)
    env.write_dag("crashes.py", CRASHES)
    env.sync()
    crashed = env.trigger("crashes")
    good = env.trigger("other")
    env.run(crashed, good, limit=40)  # the crashed try is failed by the zombie check
    assert env.run_state(good) is RunState.SUCCESS, env.states(good)
    assert env.states(crashed) == {"dies": TaskState.FAILED}
    later = env.trigger("other")  # and the loop still takes new work afterwards
    env.run(later)
    assert env.run_state(later) is RunState.SUCCESS
