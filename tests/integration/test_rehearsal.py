"""The hop's rehearsal: run in the fork server, it leaves every child with the hop compiled."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conveyor._processes import fork_context
from conveyor.model.context import DagContext
from conveyor.states import RunState
from conveyor.worker import rehearsal


def _python(code: str) -> str:
    """Run ``code`` in a fresh interpreter (nothing compiled yet); its stdout."""
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_rehearsal_runs_its_dag_to_success_and_leaves_it_behind() -> None:
    assert rehearsal.rehearse_hop() is RunState.SUCCESS
    # The loader takes a file's DAGs from DagContext.created: the rehearsal's is not there.
    assert all(dag.dag_id != rehearsal.REHEARSAL_DAG_ID for dag in DagContext.created)


def test_after_the_rehearsal_a_real_stores_hop_compiles_nothing_new(tmp_path: Path) -> None:
    out = _python(
        f"""
        from conveyor.states import RunState
        from conveyor.store.hop import prepared
        from conveyor.worker import rehearsal

        assert not prepared._PLANS
        assert rehearsal.rehearse_hop() is RunState.SUCCESS
        planned = dict(prepared._PLANS)
        # A file store (its own engine and connection), as a runner has: the plans made on
        # the in-memory store serve it, and it needs none of its own.
        state = rehearsal.run_rehearsal("sqlite:///{tmp_path}/store.db", "{tmp_path}")
        assert state is RunState.SUCCESS, state
        assert prepared._PLANS == planned, set(prepared._PLANS) - set(planned)
        print(sum(plan is not None for plan in planned.values()))
        """
    )
    assert int(out) >= 10  # the hop's statements, each planned once


def test_a_failing_rehearsal_is_swallowed(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> RunState:
        raise OSError("no temporary folder")

    monkeypatch.setattr(rehearsal, "_rehearse", broken)
    assert rehearsal.rehearse_hop() is None


def test_children_of_the_fork_server_start_with_the_hop_planned(tmp_path: Path) -> None:
    report = tmp_path / "plans.txt"
    code = (
        "from conveyor.store.hop import prepared\n"
        f"open({str(report)!r}, 'w').write(str(len(prepared._PLANS)))\n"
    )
    child = fork_context().Process(target=exec, args=(code,))
    child.start()
    child.join(60)
    assert child.exitcode == 0
    assert int(report.read_text()) >= 10
