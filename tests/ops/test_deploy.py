"""The deployment files: the entrypoint's roles run for real, compose validates, units name
real commands, and the Dockerfile copies only what exists in the repository.

The image itself is built and run in tests/deploy; these check its parts without an engine.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml
from ops_helpers import CONVEYOR, ROOT, clean_env, conveyor

from conftest import _with_database
from conveyor.health import CHECKS

ENTRYPOINT = ROOT / "deploy" / "entrypoint.sh"
COMPOSE = ROOT / "deploy" / "compose.yaml"
DOCKERFILE = ROOT / "deploy" / "Dockerfile"


def entrypoint(
    env: dict[str, str], *args: str, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """deploy/entrypoint.sh with this virtualenv's `conveyor` first on PATH, as in the image.

    The running role is noted beside the home, not in the machine's /tmp.
    """
    path = f"{Path(CONVEYOR).parent}{os.pathsep}{env.get('PATH', '')}"
    role_file = str(Path(env.get("CONVEYOR_HOME", "/nonexistent")).parent / "role")
    return subprocess.run(
        ["sh", str(ENTRYPOINT), *args],
        env={"CONVEYOR_ROLE_FILE": role_file, **env, "PATH": path},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture
def empty_pg_url(pg_url: str, pg_admin: psycopg.Connection[Any]) -> Any:
    """A PostgreSQL database with no schema at all: a first installation."""
    name = f"conveyor_ops_empty_{os.getpid()}"
    pg_admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    pg_admin.execute(f"CREATE DATABASE {name}")
    yield _with_database(pg_url, name)
    pg_admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_unknown_role_is_refused_with_the_roles(tmp_path: Path) -> None:
    result = entrypoint(clean_env(tmp_path / "home"), "schedular")
    assert result.returncode == 2
    assert "unknown role or command 'schedular'" in result.stderr
    assert "scheduler, worker, triggerer, web, flower, standalone, migrate, health" in result.stderr


def test_without_a_command_the_role_comes_from_the_environment(tmp_path: Path) -> None:
    env = clean_env(tmp_path / "home")
    result = entrypoint({**env, "CONVEYOR_ROLE": "version"})
    assert result.returncode == 0 and result.stdout.startswith("conveyor "), result.stderr
    refused = entrypoint({**env, "CONVEYOR_ROLE": "schedular"})
    assert refused.returncode == 2
    assert "unknown role or command 'schedular'" in refused.stderr
    assert "usage: entrypoint [ROLE [ARGS...]]" in refused.stderr


@pytest.mark.parametrize(
    ("role", "probe"),
    [
        ("scheduler", "health --only store --only schema --only broker --only schedulers"),
        ("triggerer", "health --only store --only triggerers"),
        ("worker", "health --only store --only broker"),
        ("web", "health --only store --only schema"),
        ("standalone", "health --only store --only schema"),
        ("flower", "health --only broker"),
        ("", "health"),
    ],
)
def test_health_without_arguments_probes_what_the_running_role_needs(
    tmp_path: Path, role: str, probe: str
) -> None:
    """The image's HEALTHCHECK: the role noted by the entrypoint at start picks the checks."""
    role_file = tmp_path / "role"
    env = {
        **clean_env(tmp_path / "home"),
        "CONVEYOR_BIN": "echo",
        "CONVEYOR_ROLE_FILE": str(role_file),
    }
    if role:
        started = entrypoint({**env, "CONVEYOR_WAIT_SECONDS": "0"}, role)
        assert started.returncode == 0, started.stderr  # `echo` stands in for conveyor
        assert role_file.read_text().strip() == role
    result = entrypoint(env, "health")
    assert result.returncode == 0
    assert result.stdout.split() == probe.split()
    # Given checks are run as given, whatever the role.
    assert entrypoint(env, "health", "--only", "store").stdout.split() == [
        "health",
        "--only",
        "store",
    ]


def test_any_conveyor_command_passes_through(tmp_path: Path) -> None:
    result = entrypoint(clean_env(tmp_path / "home"), "version")
    assert result.returncode == 0
    assert result.stdout.startswith("conveyor ")


@pytest.mark.postgres
def test_migrate_role_then_health_role_on_postgres(tmp_path: Path, empty_pg_url: str) -> None:
    env = clean_env(tmp_path / "home", database_url=empty_pg_url)
    assert conveyor(env, "db", "check").returncode == 1  # an empty database is not current

    first = entrypoint(env, "migrate")
    assert first.returncode == 0, first.stderr
    assert "migrated" in first.stdout and "from empty" in " ".join(first.stdout.split())
    second = entrypoint(env, "migrate")  # idempotent: a second replica or a restart
    assert second.returncode == 0, second.stderr
    assert "is current" in " ".join(second.stdout.split())
    checked = conveyor(env, "db", "check")
    assert checked.returncode == 0 and "schema is current" in checked.stdout

    probe = entrypoint(env, "health", "--only", "store", "--only", "schema")
    assert probe.returncode == 0, probe.stdout
    full = entrypoint(env, "health")  # no scheduler runs yet: the full probe fails
    assert full.returncode == 1
    assert "FAIL schedulers" in full.stdout


def test_long_running_role_waits_for_the_store_then_gives_up(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {
        **clean_env(tmp_path / "home", database_url=f"postgresql://postgres@127.0.0.1:{port}/none"),
        "CONVEYOR_WAIT_SECONDS": "1",
    }
    result = entrypoint(env, "scheduler")
    assert result.returncode == 1
    assert "gave up after 1s waiting for the store" in result.stderr
    assert "unreachable" in result.stderr


def test_migrate_is_idempotent_on_sqlite(tmp_path: Path) -> None:
    env = clean_env(tmp_path / "home")
    first, second = conveyor(env, "db", "migrate"), conveyor(env, "db", "migrate")
    assert first.returncode == second.returncode == 0
    assert "from empty" in " ".join(first.stdout.split())
    assert "is current" in " ".join(second.stdout.split())


# -- compose -------------------------------------------------------------------------------


def _compose_command() -> list[str] | None:
    """`docker compose` (v2 plugin) or `docker-compose`, whichever this machine has."""
    docker = shutil.which("docker")
    if (
        docker
        and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0
    ):
        return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    return [legacy] if legacy else None


def test_compose_file_validates() -> None:
    command = _compose_command()
    if command is None:
        pytest.skip("neither `docker compose` nor `docker-compose` is installed")
    result = subprocess.run(
        [*command, "-f", str(COMPOSE), "config", "--quiet"],
        capture_output=True,
        text=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("CONVEYOR_")},
    )
    assert result.returncode == 0, result.stderr


def test_compose_describes_the_cluster() -> None:
    spec = yaml.safe_load(COMPOSE.read_text())
    services = spec["services"]
    assert set(services) == {
        "postgres",
        "redis",
        "migrate",
        "scheduler",
        "web",
        "worker",
        "triggerer",
        "flower",
    }
    assert services["triggerer"]["command"] == ["triggerer"]
    assert services["scheduler"]["deploy"]["replicas"] == 2
    assert services["worker"]["deploy"]["replicas"] == 2
    assert services["migrate"]["command"] == ["migrate"]
    for name in ("scheduler", "web", "worker", "triggerer", "flower"):
        service = services[name]
        assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert service["healthcheck"]["test"][:3] == ["CMD", "conveyor", "health"]
        assert any(v.endswith(":/opt/conveyor/dags:ro") for v in service["volumes"])
        assert service["init"] is True
        assert service["environment"]["CONVEYOR_EXECUTOR"] == "celery"


def test_health_probes_in_compose_name_real_checks() -> None:
    spec = yaml.safe_load(COMPOSE.read_text())
    probes = [
        s["healthcheck"].get("test", []) for s in spec["services"].values() if "healthcheck" in s
    ]
    conveyor_probes = [t for t in probes if t[1:3] == ["conveyor", "health"]]
    assert len(conveyor_probes) == 5
    for test in conveyor_probes:
        named = [test[i + 1] for i, word in enumerate(test) if word == "--only"]
        assert set(named) <= set(CHECKS), test


# -- Dockerfile and systemd ----------------------------------------------------------------


def test_dockerfile_copies_only_what_the_repository_has() -> None:
    text = DOCKERFILE.read_text()
    assert re.search(r"^ARG BASE=python:3\.11-slim$", text, re.M)
    assert re.findall(r"^FROM (\S+)", text, re.M) == ["${BASE}", "${BASE}"]
    assert re.search(r'^ENTRYPOINT \["conveyor-entrypoint"\]$', text, re.M)
    assert re.search(r"^USER conveyor$", text, re.M)
    assert "HEALTHCHECK" in text and '["conveyor-entrypoint", "health"]' in text
    default_dags = re.search(r"^ARG DAGS=(\S+)$", text, re.M)
    assert default_dags is not None
    ignore = (DOCKERFILE.parent / "Dockerfile.dockerignore").read_text()
    # Sources from the build context (not from the build stage: COPY --from=...).
    for line in re.findall(r"^COPY (?!--from)(?:--\S+ )*(.+) \S+$", text, re.M):
        for source in line.split():
            source = source.replace("${DAGS}", default_dags.group(1))
            assert (ROOT / source).exists(), source
            assert f"!{source}" in ignore or f"!{source}/" in ignore, source


def test_systemd_units_run_real_commands(tmp_path: Path) -> None:
    units = sorted((ROOT / "deploy" / "systemd").glob("*.service"))
    assert {u.name for u in units} >= {
        "conveyor-scheduler.service",
        "conveyor-worker@.service",
        "conveyor-web.service",
        "conveyor-migrate.service",
    }
    commands = set()
    for unit in units:
        text = unit.read_text()
        assert "PIDFile" not in text  # systemd tracks the process itself
        for line in re.findall(r"^Exec\w+=\S+/conveyor (.+)$", text, re.M):
            words = line.split()
            commands.add(tuple(words[:2] if words[0] == "db" else words[:1]))
    assert ("scheduler",) in commands and ("db", "clean") in commands
    known = conveyor(clean_env(tmp_path / "home"), "--help").stdout
    db_known = conveyor(clean_env(tmp_path / "home"), "db", "--help").stdout
    for command in commands:
        listing = db_known if command[0] == "db" else known
        assert re.search(rf"^\s+{command[-1]}\s", listing, re.M), command
