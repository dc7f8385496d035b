"""Which command lines go to a command server, and where its socket may live: only in a
folder of this user's alone (conveyor/cli/command_client.py)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from conveyor.cli import command_client
from conveyor.cli.command_server import changed, module_stamps


@pytest.mark.parametrize(
    ("argv", "quick"),
    [
        (["dags", "list"], True),
        (["dags", "list", "-o", "json"], True),
        (["tasks", "why", "d", "latest", "t"], True),
        (["version"], True),
        (["dags", "test", "d"], False),  # runs the DAG here
        (["scheduler"], False),
        (["standalone"], False),
        (["users", "create", "--username", "x"], False),  # asks for a password
        (["-v", "dags", "list"], False),  # options before the command: run here
        ([], False),
    ],
)
def test_quick_commands(argv: list[str], quick: bool) -> None:
    assert command_client.is_quick(argv) is quick


def test_the_switch() -> None:
    assert command_client.enabled({})
    assert command_client.enabled({"CONVEYOR_COMMAND_SERVER": "debug"})
    for off in ("off", "0", "false", "No"):
        assert not command_client.enabled({"CONVEYOR_COMMAND_SERVER": off})
    # A task's command (a BashOperator's): its try's environment would key a server a try.
    assert not command_client.enabled({"AIRFLOW_CTX_DAG_ID": "etl"})


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    """A folder shallow enough for a socket's path (pytest's are too deep)."""
    folder = Path(tempfile.mkdtemp(prefix="cc-"))
    yield folder
    shutil.rmtree(folder)


def test_the_runtime_folder_is_this_users_alone(short_tmp: Path) -> None:
    tmp_path = short_tmp
    env = {"TMPDIR": str(tmp_path)}
    folder = command_client.runtime_dir(env)
    assert folder == str(tmp_path / f"conveyor-{os.getuid()}")
    assert os.stat(folder).st_mode & 0o777 == 0o700
    os.chmod(folder, 0o755)  # others may read and enter: another user's socket could be there
    assert command_client.runtime_dir(env) is None
    os.chmod(folder, 0o700)
    if os.getuid() == 0:  # made by another user
        os.chown(folder, 65534, -1)
        assert command_client.runtime_dir(env) is None
    runtime = tmp_path / "run"
    runtime.mkdir()
    assert command_client.runtime_dir({**env, "XDG_RUNTIME_DIR": str(runtime)}) == str(
        runtime / "conveyor"
    )
    deep = tmp_path / ("d" * 90)  # no room left for a socket's name
    deep.mkdir()
    assert command_client.runtime_dir({"TMPDIR": str(deep)}) is None


def test_the_key_is_the_environment_but_for_what_a_shell_changes_between_calls() -> None:
    base = {"CONVEYOR_HOME": "/a", "PATH": "/bin"}
    key = command_client.server_key(base)
    assert command_client.server_key({**base, "PWD": "/x", "SHLVL": "3", "_": "y"}) == key
    assert command_client.server_key({**base, "CONVEYOR_HOME": "/b"}) != key
    assert command_client.server_key({**base, "PYTHONPATH": "/p"}) != key


def test_a_changed_module_file_is_found(tmp_path: Path) -> None:
    stamps = module_stamps()
    assert any(path.endswith("command_server.py") for path in stamps)
    module = tmp_path / "m.py"
    module.write_text("")
    stamps[str(module)] = module.stat().st_mtime_ns
    assert changed(stamps) == []
    os.utime(module, ns=(0, stamps[str(module)] + 1_000_000))
    assert changed(stamps) == [str(module)]
    module.unlink()
    assert changed(stamps) == [str(module)]
