"""``dags test`` / ``tasks test`` by id parse only the file the store says defines the DAG,
and the CLI finds the DAG folder a running ``standalone --dags-folder`` serves (processes)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from conveyor.cli import served_folder
from conveyor.cli.common import settings

CONVEYOR = str(Path(sys.executable).parent / "conveyor")

# A DAG in a subfolder that imports a helper from the DAG folder's root.
TARGET = """
    from conveyor import DAG, BashOperator
    from helpers.words import GREETING

    with DAG("target", schedule=None):
        BashOperator(task_id="hello", bash_command=f"echo {GREETING} > {OUT}")
"""

# Another DAG file whose import leaves a mark: it tells whether the file was parsed.
NOISY = """
    import os
    from pathlib import Path
    from conveyor import DAG, EmptyOperator

    Path(os.environ["PARSED_MARK"]).touch()

    with DAG("noisy", schedule=None):
        EmptyOperator(task_id="x")
"""


@pytest.fixture
def env(tmp_path: Path, store_url: str) -> dict[str, str]:
    dags, out = tmp_path / "dags", tmp_path / "out"
    (dags / "team").mkdir(parents=True)
    (dags / "helpers").mkdir()
    (dags / "helpers" / "__init__.py").write_text("")
    (dags / "helpers" / "words.py").write_text('GREETING = "hi-from-root"\n')
    target = textwrap.dedent(TARGET).replace("{OUT}", str(out / "hello"))
    (dags / "team" / "target.py").write_text(target)
    (dags / "noisy.py").write_text(textwrap.dedent(NOISY))
    out.mkdir()
    return {
        **os.environ,
        "CONVEYOR_HOME": str(tmp_path / "home"),
        "CONVEYOR_DAGS_FOLDER": str(dags),
        "CONVEYOR_DATABASE_URL": store_url,
        "PARSED_MARK": str(out / "noisy-parsed"),
        "COLUMNS": "200",
    }


def conveyor(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CONVEYOR, *args], env=env, capture_output=True, text=True, timeout=180)


def test_dags_test_parses_only_the_file_the_store_names(env: dict[str, str]) -> None:
    mark, out = Path(env["PARSED_MARK"]), Path(env["PARSED_MARK"]).parent / "hello"
    assert conveyor(env, "dags", "reserialize").returncode == 0
    assert mark.exists()  # the folder's every file was parsed once
    mark.unlink()

    result = conveyor(env, "dags", "test", "target")
    assert result.returncode == 0, result.stdout + result.stderr
    assert out.read_text().strip() == "hi-from-root"  # the root's helpers still import
    assert not mark.exists()  # noisy.py was not parsed

    one = conveyor(env, "tasks", "test", "target", "hello")
    assert one.returncode == 0, one.stdout + one.stderr
    assert not mark.exists()


def test_dags_test_scans_the_folder_when_the_store_does_not_know_the_dag(
    env: dict[str, str],
) -> None:
    result = conveyor(env, "dags", "test", "target")  # nothing parsed into the store yet
    assert result.returncode == 0, result.stdout + result.stderr
    assert Path(env["PARSED_MARK"]).exists()


def test_a_file_that_no_longer_defines_the_dag_falls_back_to_the_folder(
    env: dict[str, str], tmp_path: Path
) -> None:
    assert conveyor(env, "dags", "reserialize").returncode == 0
    dags = Path(env["CONVEYOR_DAGS_FOLDER"])
    moved = dags / "team" / "target.py"
    (dags / "moved_target.py").write_text(moved.read_text())
    moved.write_text("# the DAG moved to another file\n")
    result = conveyor(env, "dags", "test", "target")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_the_cli_uses_the_folder_a_running_standalone_serves(
    env: dict[str, str], tmp_path: Path
) -> None:
    served = env.pop("CONVEYOR_DAGS_FOLDER")  # the CLI's own settings name no folder
    env["CONVEYOR_DATABASE_URL"] = f"sqlite:///{tmp_path / 'home' / 'standalone.db'}"
    record = tmp_path / "home" / served_folder.FILE_NAME
    process = subprocess.Popen(
        [CONVEYOR, "standalone", "--dags-folder", served, "--port", "0"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not record.exists():
            assert process.poll() is None, "standalone ended"
            assert time.monotonic() < deadline, "standalone recorded no DAG folder"
            time.sleep(0.1)
        result = conveyor(env, "dags", "test", "target")
        assert result.returncode == 0, result.stdout + result.stderr
        shown = conveyor(env, "config", "get-value", "dags_folder")
        assert shown.stdout.strip() == str(Path(served).resolve())
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
    assert not record.exists()  # removed at a clean stop
    alone = conveyor(env, "dags", "test", "target")
    assert alone.returncode == 1 and "no DAG 'target'" in alone.stderr


def test_a_dags_folder_set_wins_over_the_one_served(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home, served, own = tmp_path / "home", tmp_path / "served", tmp_path / "own"
    served.mkdir()
    own.mkdir()
    monkeypatch.setenv("CONVEYOR_HOME", str(home))
    monkeypatch.delenv("CONVEYOR_DAGS_FOLDER", raising=False)
    with served_folder.recorded(home, served):  # as this process's scheduler would
        settings.cache_clear()
        assert settings().dags_path == served.resolve()
        monkeypatch.setenv("CONVEYOR_DAGS_FOLDER", str(own))
        settings.cache_clear()
        assert settings().dags_path == own.resolve()
    monkeypatch.delenv("CONVEYOR_DAGS_FOLDER")
    settings.cache_clear()
    assert settings().dags_path == (home / "dags").resolve()  # the record is gone
    settings.cache_clear()
