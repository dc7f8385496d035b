"""A DAG file that failed to load is parsed again by the next command once its interval is
over, even though the file did not change: what it lacked (a package installed since, a
helper module put on the path, a Conveyor that no longer refuses it) may be there now. A file
that failed within its interval is not parsed again, so a folder with a slow failing file does
not slow every `dags list`.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from cli_processes import cli_env, run_cli

NEEDS_HELPER = textwrap.dedent(
    """\
    import team_helper
    from conveyor import DAG, EmptyOperator

    with DAG(team_helper.DAG_ID, schedule=None):
        EmptyOperator(task_id="a")
    """
)


def listed(env: dict[str, str]) -> tuple[str, str]:
    done = run_cli(env, "dags", "list", "-o", "plain")
    assert done.returncode == 0, done.stderr
    return done.stdout, done.stderr


@pytest.mark.parametrize("store_url", ["sqlite", "postgres"], indirect=True)
def test_a_failed_file_loads_once_what_it_lacked_is_there(tmp_path: Path, store_url: str) -> None:
    library = tmp_path / "library"
    library.mkdir()
    env = cli_env(tmp_path, PYTHONPATH=str(library), CONVEYOR_DATABASE_URL=store_url)
    (tmp_path / "dags" / "needs_helper.py").write_text(NEEDS_HELPER)
    out, err = listed(env)
    assert "from_helper" not in out
    assert "1 DAG file(s) fail to load" in err

    (library / "team_helper.py").write_text('DAG_ID = "from_helper"\n')
    # Within its interval (30 s by default) the failure stands: the file is not parsed again.
    out, err = listed(env)
    assert "from_helper" not in out
    assert "1 DAG file(s) fail to load" in err

    # Its interval over, the unchanged file is parsed again and loads.
    out, err = listed({**env, "CONVEYOR_MIN_FILE_PROCESS_INTERVAL": "0.01"})
    assert "from_helper" in out
    assert "fail to load" not in err
    errors = run_cli(env, "dags", "errors")
    assert "team_helper" not in errors.stdout
