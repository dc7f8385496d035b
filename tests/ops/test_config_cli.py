"""`conveyor config show` and invalid settings, as an operator meets them: real processes."""

from __future__ import annotations

import time
from pathlib import Path

from ops_helpers import clean_env, conveyor

from conveyor.config import CONFIG_FILE_NAME


def _rows(output: str) -> dict[str, list[str]]:
    """`config show` lines as {setting: [value..., source...]} (whitespace-split columns)."""
    rows = {}
    for line in output.splitlines():
        parts = line.split()
        if parts:
            rows[parts[0]] = parts[1:]
    return rows


def test_config_show_says_where_each_value_came_from(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    config_file = home / CONFIG_FILE_NAME
    config_file.write_text("parallelism = 3\nheartbeat_seconds = 2.5\n")
    env = clean_env(home, parallelism="5", metrics_port="9191")

    shown = conveyor(env, "config", "show")

    assert shown.returncode == 0, shown.stderr
    rows = _rows(shown.stdout)
    assert rows["parallelism"][0] == "5" and rows["parallelism"][1:] == [
        "env",
        "CONVEYOR_PARALLELISM",
    ]
    assert rows["heartbeat_seconds"] == ["2.5", str(config_file)]
    assert rows["metrics_port"] == ["9191", "env", "CONVEYOR_METRICS_PORT"]
    assert rows["kill_grace_seconds"] == ["5.0", "default"]
    assert rows["home"][0] == str(home.resolve())


def test_config_show_masks_secrets(tmp_path: Path) -> None:
    env = clean_env(
        tmp_path / "home",
        database_url="postgresql://conveyor:db-pass-123@db.internal:5432/conveyor",
        broker_url="redis://:broker-pass-456@redis.internal:6379/0",
        secret_key="session-secret-789",
        fernet_key="fernet-secret-000",
    )

    shown = conveyor(env, "config", "show")

    assert shown.returncode == 0, shown.stderr
    for secret in ("db-pass-123", "broker-pass-456", "session-secret-789", "fernet-secret-000"):
        assert secret not in shown.stdout
    rows = _rows(shown.stdout)
    assert rows["database_url"][0] == "postgresql://conveyor:***@db.internal:5432/conveyor"
    assert rows["broker_url"][0] == "redis://:***@redis.internal:6379/0"
    assert rows["secret_key"][0] == "***"
    assert rows["fernet_key"][0] == "***"


def test_invalid_env_value_stops_the_scheduler_at_start_naming_the_key(tmp_path: Path) -> None:
    env = clean_env(tmp_path / "home", heartbeat_seconds="often")

    started = time.monotonic()
    result = conveyor(env, "scheduler", timeout=30)

    assert result.returncode == 1
    assert time.monotonic() - started < 20  # it stopped at once, it did not start looping
    message = " ".join(result.stderr.split())
    assert "heartbeat_seconds" in message
    assert "CONVEYOR_HEARTBEAT_SECONDS" in message
    assert "'often'" in message
    assert "Traceback" not in result.stderr


def test_invalid_file_value_names_the_file_and_the_key(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / CONFIG_FILE_NAME).write_text("remote_logs_url = 'http://not-a-bucket'\n")

    result = conveyor(clean_env(home), "worker", "--queues", "ops_never_used", timeout=30)

    assert result.returncode == 1
    message = " ".join(result.stderr.split())
    assert "remote_logs_url" in message
    assert str(home / CONFIG_FILE_NAME) in message
    assert "s3://bucket" in message


def test_unknown_setting_in_the_file_is_refused(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / CONFIG_FILE_NAME).write_text("metrics_prot = 9100\n")

    result = conveyor(clean_env(home), "health")

    assert result.returncode == 1
    assert "unknown setting 'metrics_prot'" in " ".join(result.stderr.split())


def test_out_of_range_port_is_refused(tmp_path: Path) -> None:
    result = conveyor(clean_env(tmp_path / "home", metrics_port="70000"), "config", "show")

    assert result.returncode == 1
    message = " ".join(result.stderr.split())
    assert "metrics_port" in message and "65535" in message
