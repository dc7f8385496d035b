"""Configuration precedence and the errors people see when a value is wrong.

Every test passes its own environment and points ``CONVEYOR_HOME`` at a temporary folder,
so the machine's real environment and ``~/.conveyor`` never leak in.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conveyor.config import CONFIG_FILE_NAME, Settings, load_config, mask
from conveyor.exceptions import ConfigError


def write_config(home: Path, text: str) -> Path:
    home.mkdir(parents=True, exist_ok=True)
    path = home / CONFIG_FILE_NAME
    path.write_text(text)
    return path


def env_for(home: Path, **variables: str) -> dict[str, str]:
    return {
        "CONVEYOR_HOME": str(home),
        **{f"CONVEYOR_{k.upper()}": v for k, v in variables.items()},
    }


def test_defaults_and_paths_derived_from_home(tmp_path: Path) -> None:
    loaded = load_config(env_for(tmp_path))
    s = loaded.settings
    home = tmp_path.resolve()
    assert s.home == home
    assert s.dags_path == home / "dags"
    assert s.logs_path == home / "logs"
    assert s.db_url == f"sqlite:///{home / 'conveyor.db'}"
    assert (s.executor, s.parallelism, s.scheduler_loop_seconds) == ("local", 8, 1.0)
    assert loaded.sources["parallelism"] == "default"
    assert loaded.sources["home"] == "env CONVEYOR_HOME"
    assert set(loaded.sources) == set(Settings.model_fields)


def test_explicit_paths_are_not_derived_from_home(tmp_path: Path) -> None:
    dags = tmp_path / "elsewhere" / "dags"
    s = load_config(env_for(tmp_path / "home", dags_folder=str(dags))).settings
    assert s.dags_path == dags.resolve()
    assert s.logs_path == (tmp_path / "home").resolve() / "logs"


@pytest.mark.parametrize(
    "text",
    [
        "parallelism = 3\nexecutor = 'celery'\n",
        "[conveyor]\nparallelism = 3\nexecutor = 'celery'\n",
    ],
    ids=["top-level", "conveyor-table"],
)
def test_file_values_beat_defaults(tmp_path: Path, text: str) -> None:
    path = write_config(tmp_path, text)
    loaded = load_config(env_for(tmp_path))
    assert (loaded.settings.parallelism, loaded.settings.executor) == (3, "celery")
    assert loaded.sources["parallelism"] == str(path)
    assert loaded.sources["executor"] == str(path)
    assert loaded.sources["heartbeat_seconds"] == "default"


def test_precedence_default_file_env_override(tmp_path: Path) -> None:
    path = write_config(
        tmp_path, "parallelism = 3\nheartbeat_seconds = 2.5\nscheduler_loop_seconds = 4\n"
    )
    environ = env_for(tmp_path, parallelism="5", scheduler_loop_seconds="0.5")
    loaded = load_config(environ, scheduler_loop_seconds=0.2)
    s = loaded.settings
    assert s.kill_grace_seconds == 5.0  # default
    assert s.heartbeat_seconds == 2.5  # file
    assert s.parallelism == 5  # env beats file
    assert s.scheduler_loop_seconds == 0.2  # override beats env and file
    assert loaded.sources["kill_grace_seconds"] == "default"
    assert loaded.sources["heartbeat_seconds"] == str(path)
    assert loaded.sources["parallelism"] == "env CONVEYOR_PARALLELISM"
    assert loaded.sources["scheduler_loop_seconds"] == "command line"


def test_empty_env_values_and_none_overrides_are_ignored(tmp_path: Path) -> None:
    write_config(tmp_path, "parallelism = 3\n")
    loaded = load_config(env_for(tmp_path, parallelism=""), parallelism=None)
    assert loaded.settings.parallelism == 3


def test_home_override_decides_which_file_is_read(tmp_path: Path) -> None:
    write_config(tmp_path / "env_home", "parallelism = 3\n")
    chosen = write_config(tmp_path / "flag_home", "parallelism = 5\n")
    loaded = load_config(env_for(tmp_path / "env_home"), home=tmp_path / "flag_home")
    assert loaded.settings.home == (tmp_path / "flag_home").resolve()
    assert loaded.settings.parallelism == 5  # the file of the home in use, not the other one
    assert loaded.sources["parallelism"] == str(chosen)


def test_empty_conveyor_home_counts_as_unset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    write_config(tmp_path / "user" / ".conveyor", "parallelism = 4\n")
    monkeypatch.chdir(tmp_path)
    write_config(tmp_path, "parallelism = 99\n")  # a file in the current folder: not ours
    loaded = load_config({"CONVEYOR_HOME": ""})
    assert loaded.settings.home == (tmp_path / "user" / ".conveyor").resolve()
    assert loaded.settings.parallelism == 4


def test_invalid_env_value_names_the_key_the_value_and_the_source(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(env_for(tmp_path, parallelism="many"))
    message = str(err.value)
    assert "'parallelism'" in message
    assert "'many'" in message
    assert "env CONVEYOR_PARALLELISM" in message


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ("parallelism = 0\n", ["'parallelism'", "greater than or equal to 1", "got 0"]),
        (
            "executor = 'swarm'\n",
            ["'executor'", "'local', 'celery', 'kubernetes' or 'celery_kubernetes'", "'swarm'"],
        ),
        ("scheduler_loop_seconds = 600\n", ["'scheduler_loop_seconds'", "got 600"]),
    ],
)
def test_invalid_file_value_names_the_key_the_value_and_the_file(
    tmp_path: Path, text: str, fragments: list[str]
) -> None:
    path = write_config(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_config(env_for(tmp_path))
    message = str(err.value)
    assert message.startswith("invalid configuration: setting ")
    assert f"(from {path})" in message
    for fragment in fragments:
        assert fragment in message


def test_unknown_key_in_the_file_is_named(tmp_path: Path) -> None:
    path = write_config(tmp_path, "[conveyor]\nparalelism = 4\n")
    with pytest.raises(ConfigError) as err:
        load_config(env_for(tmp_path))
    assert str(err.value) == f"invalid configuration: unknown setting 'paralelism' (from {path})"


def test_unknown_override_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown setting 'colour' \\(from command line\\)"):
        load_config(env_for(tmp_path), colour="blue")


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    path = write_config(tmp_path, "parallelism = = 3\n")
    with pytest.raises(ConfigError, match=f"^{path}: not valid TOML"):
        load_config(env_for(tmp_path))


def test_conveyor_key_that_is_not_a_table_is_refused(tmp_path: Path) -> None:
    path = write_config(tmp_path, "conveyor = 3\n")
    with pytest.raises(ConfigError, match=f"^{path}: expected a \\[conveyor\\] table$"):
        load_config(env_for(tmp_path))


def test_unrelated_environment_variables_are_ignored(tmp_path: Path) -> None:
    loaded = load_config({**env_for(tmp_path), "CONVEYOR_NOT_A_SETTING": "x", "PATH": "/bin"})
    assert "not_a_setting" not in loaded.sources


@pytest.mark.parametrize(
    ("key", "value", "shown"),
    [
        (
            "database_url",
            "postgresql://alice:s3cret@db:5432/conveyor",
            "postgresql://alice:***@db:5432/conveyor",
        ),
        ("broker_url", "redis://:p@ss@cache:6379/0", "redis://:***@cache:6379/0"),
        ("broker_url", "amqp://guest@rabbit//", "amqp://guest@rabbit//"),  # no password
        ("database_url", "sqlite:////tmp/conveyor.db", "sqlite:////tmp/conveyor.db"),
        ("database_url", None, ""),
        ("home", "user:pw@host://x", "user:pw@host://x"),  # not a secret setting
    ],
)
def test_mask_hides_passwords_in_urls(key: str, value: str | None, shown: str) -> None:
    assert mask(key, value) == shown
