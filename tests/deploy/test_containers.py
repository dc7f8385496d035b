"""Conveyor's image, built and run for real: a cluster of its containers on the host's store
and broker survives a killed worker and a killed scheduler, and stops a worker gently.

The image is built once per session from deploy/Dockerfile by scripts/image (reused while
its inputs do not change). The cluster is what deploy/compose.yaml starts, with the test
services in place of compose's own: a one-shot migrate, two schedulers, two workers and the
web under a path prefix. The figures printed (build time, image size, what ran) are measured.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis
import yaml
from containers import (
    BROKER,
    IMAGE_UID,
    ROOT,
    Cluster,
    Image,
    build_image,
    free_port,
    give_to_image_user,
    podman,
    remove_leftover_containers,
    write_dags,
    write_ticks_dag,
)
from cryptography.fernet import Fernet
from sqlalchemy import select

from conftest import _with_database
from conveyor.store import pools, runs
from conveyor.store.engine import Store
from conveyor.store.tables import dag_run, scheduler

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(900)]

#: The long-running containers of the cluster: role name -> the image's command.
ROLES: dict[str, list[str]] = {
    "scheduler1": ["scheduler"],
    "scheduler2": ["scheduler"],
    "worker1": ["worker", "--queues", "default", "--concurrency", "4"],
    "worker2": ["worker", "--queues", "default", "--concurrency", "4"],
    "web": ["web", "--port", "{web_port}"],
}
WIDE = 16
CHAIN = 10
TICKS = 12
GRACEFUL_SECONDS = 4
#: Example DAGs that need nothing outside the cluster; each gets a manual run.
EXAMPLES = ("hello_bash", "etl_orders", "branching", "mapping", "groups_and_pools")
COUNTED = {"deploy_wide", "deploy_chain", "deploy_graceful"}


def report(title: str, **figures: object) -> None:
    width = max(len(k) for k in figures)
    print(f"\n== {title}")
    for key, value in figures.items():
        print(f"   {key.replace('_', ' '):<{width}}  {value}")


@pytest.fixture(scope="session")
def image() -> Image:
    built = build_image()
    report(
        "image",
        name=built.name,
        build_seconds="reused" if built.built_seconds is None else f"{built.built_seconds:.0f}",
        size_mb=f"{built.size_bytes / 1e6:.0f}",
    )
    return built


@pytest.fixture(scope="module")
def cluster(
    image: Image,
    pg_url: str,
    pg_admin: psycopg.Connection[Any],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Cluster]:
    database = f"conveyor_deploy_{os.getpid()}"
    pg_admin.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
    pg_admin.execute(f"CREATE DATABASE {database}")
    remove_leftover_containers()
    redis.Redis.from_url(BROKER).flushdb()  # no messages left from an earlier session
    tmp = tmp_path_factory.mktemp("deploy")
    tmp.chmod(0o755)
    give_to_image_user(tmp / "home", tmp / "count")
    write_dags(tmp / "dags", width=WIDE, length=CHAIN, graceful_seconds=GRACEFUL_SECONDS)
    url = _with_database(pg_url, database)
    web_port = free_port()
    env = {
        "CONVEYOR_DATABASE_URL": url,
        "CONVEYOR_EXECUTOR": "celery",
        "CONVEYOR_BROKER_URL": BROKER,
        # Given, not generated: several containers would race to create them in the home.
        "CONVEYOR_FERNET_KEY": Fernet.generate_key().decode(),
        "CONVEYOR_SECRET_KEY": os.urandom(16).hex(),
        "CONVEYOR_BASE_URL": "/conveyor",
        "CONVEYOR_PARALLELISM": "16",
        "CONVEYOR_SCHEDULER_LOOP_SECONDS": "0.5",
        "CONVEYOR_DAG_SCAN_SECONDS": "2",
        "CONVEYOR_HEARTBEAT_SECONDS": "1",
        "CONVEYOR_ZOMBIE_AFTER_SECONDS": "10",
        "CONVEYOR_REQUEUE_AFTER_SECONDS": "10",
        "CONVEYOR_KILL_GRACE_SECONDS": "20",
        # The containers run the test DAGs as soon as they are parsed (the tests' opt-out of
        # the paused-at-creation default; the containers do not inherit this process's).
        "CONVEYOR_DAGS_ARE_PAUSED_AT_CREATION": "false",
    }
    prefix = f"conveyor-test-{os.getpid()}"
    store = Store(url)
    cluster = Cluster(image.name, prefix, env, store, tmp, web_port, "/conveyor")
    try:
        started = time.monotonic()
        migrated = cluster.run("migrate", "migrate", detach=False)
        assert "migrated" in migrated, migrated
        for role, command in ROLES.items():
            cluster.run(role, *[word.format(web_port=web_port) for word in command])
        cluster.wait_for(lambda: cluster.dags_parsed({*COUNTED, *EXAMPLES}), 180, "the DAGs parsed")
        cluster.wait_for(lambda: cluster.http_get("/conveyor/health")[0] == 200, 120, "the web")
        report("cluster", up_seconds=f"{time.monotonic() - started:.0f}")
        yield cluster
    finally:
        cluster.remove_all()
        store.dispose()
        pg_admin.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")


def _trigger(cluster: Cluster, dag_id: str) -> None:
    with cluster.store.write() as conn:
        created = runs.create_manual_run(
            conn, dag_id, conf={}, logical_date=datetime.now(UTC), created_by="test_containers"
        )
    assert created is not None


# -- the image ------------------------------------------------------------------------------


def test_image_is_small_runs_as_non_root_and_holds_no_build_tools(image: Image) -> None:
    version = podman("run", "--rm", "--network", "host", image.name, "version").stdout
    assert version.startswith("conveyor "), version
    # The role may come from the environment instead of the command.
    from_env = podman("run", "--rm", "-e", "CONVEYOR_ROLE=version", image.name).stdout
    assert from_env == version
    inside = podman(
        "run",
        "--rm",
        "--entrypoint",
        "sh",
        image.name,
        "-c",
        "id -u; for t in pip pip3 gcc cc git; do command -v $t || true; done; "
        "ls -d /build /opt/conveyor/src /opt/conveyor/tests /root/.cache 2>/dev/null; "
        "ls /opt/conveyor/venv/lib/python3.11/site-packages | grep -ix '^pip$' || true",
    ).stdout.split()
    assert inside[0] == str(IMAGE_UID)
    assert inside[1:] == [], f"build leftovers in the image: {inside[1:]}"
    # 463 MB measured with the kubernetes client (about 43 MB with its compiled modules, its
    # asyncio copy left out), which the Kubernetes executor's pods need.
    assert image.size_bytes < 480e6, f"the image is {image.size_bytes / 1e6:.0f} MB"
    # podman keeps a HEALTHCHECK only in Docker's image format (scripts/image asks for it).
    probe = podman("image", "inspect", "--format", "{{json .HealthCheck}}", image.name).stdout
    assert '"conveyor-entrypoint","health"' in probe.replace(" ", ""), probe


def test_an_unknown_role_is_refused_by_the_image(image: Image) -> None:
    result = podman("run", "--rm", image.name, "schedular", check=False)
    assert result.returncode == 2
    assert "unknown role or command 'schedular'" in result.stderr


# -- the cluster ----------------------------------------------------------------------------


def test_every_role_reports_its_health(cluster: Cluster) -> None:
    for role in ROLES:
        cluster.wait_for(lambda role=role: cluster.healthy(role), 60, f"{role} healthy")
    probes = {role: cluster.exec(role, "conveyor-entrypoint", "health") for role in ROLES}
    assert all(p.returncode == 0 for p in probes.values()), probes
    scheduler = probes["scheduler1"].stdout
    assert "schedulers 2 alive" in " ".join(scheduler.split()), scheduler
    assert "broker" in scheduler and "schema" in scheduler
    worker = probes["worker1"].stdout
    assert "broker" in worker and "schedulers" not in worker, worker
    web = probes["web"].stdout
    assert "schema" in web and "broker" not in web, web
    # The store knows every worker by its container.
    listing = podman("exec", "-e", "COLUMNS=300", cluster.name("scheduler1"), "conveyor", "workers")
    for role in ("worker1", "worker2"):
        assert re.search(rf"conveyor@{cluster.name(role)}\s+alive", listing.stdout), listing.stdout


def test_web_answers_under_its_path_prefix(cluster: Cluster) -> None:
    status, body = cluster.http_get("/conveyor/health")
    assert status == 200 and json.loads(body)["status"] == "ok", body
    status, body = cluster.http_get("/conveyor/api/v1/health")
    assert status == 200, body
    # The UI sends a visitor to its login page, and every URL it writes carries the prefix.
    status, page = cluster.http_get("/conveyor/")
    assert status == 200 and 'action="/conveyor/login"' in page, page[:500]


def test_example_dags_run_to_success(cluster: Cluster) -> None:
    with cluster.store.write() as conn:
        pools.set_pool(conn, "warehouse", 2)  # groups_and_pools asks its users for this pool
    # One the way a user does it, from a container of the image; the others directly.
    cluster.conveyor("dags", "trigger", EXAMPLES[0])
    for dag_id in EXAMPLES[1:]:
        _trigger(cluster, dag_id)
    waited = cluster.wait_for(
        cluster.runs_finished(set(EXAMPLES), len(EXAMPLES)), 240, "the example runs finished"
    )
    with cluster.store.read() as conn:
        manual = conn.execute(
            select(dag_run.c.dag_id, dag_run.c.state).where(
                dag_run.c.dag_id.in_(EXAMPLES), dag_run.c.run_type == "manual"
            )
        ).all()
    report("examples", runs=len(manual), seconds=f"{waited:.0f}")
    assert sorted(r.dag_id for r in manual) == sorted(EXAMPLES)
    assert {r.dag_id: r.state for r in manual} == dict.fromkeys(EXAMPLES, "success")


def test_killing_a_worker_mid_try_loses_and_repeats_nothing(cluster: Cluster) -> None:
    _trigger(cluster, "deploy_wide")
    cluster.wait_for(lambda: cluster.tries_running_on("worker1") >= 2, 120, "worker1 busy")
    killed_tries = cluster.tries_running_on("worker1")
    podman("kill", "--signal", "KILL", cluster.name("worker1"))
    waited = cluster.wait_for(
        cluster.runs_finished({"deploy_wide"}, 1), 180, "the wide run finished"
    )
    counted = cluster.tally({"deploy_wide"})
    report(
        "worker killed",
        tries_running_on_it=killed_tries,
        tries_started=counted.tries_started,
        retried_tasks=len(counted.retried),
        seconds_to_finish=f"{waited:.0f}",
    )
    assert counted.task_instances == WIDE
    assert counted.not_succeeded == []
    assert counted.tries_started_twice == []
    assert counted.succeeded_without_a_finished_try == []
    assert len(counted.retried) >= 1  # the killed tries ran again, each as a new try
    podman("start", cluster.name("worker1"))  # back for the next tests


def test_killing_a_scheduler_mid_run_loses_and_repeats_nothing(cluster: Cluster) -> None:
    """Hourly runs catching up are created and started by schedulers only: kill one while
    they are under way (with a chain running too) and count what ran."""
    _trigger(cluster, "deploy_chain")
    write_ticks_dag(cluster.tmp / "dags", TICKS)

    def ticks_done(n: int) -> bool:
        states = cluster.run_states({"deploy_ticks"})
        return sum(s == "success" for s in states.values()) >= n

    cluster.wait_for(lambda: ticks_done(3), 120, "three hourly runs done")
    podman("kill", "--signal", "KILL", cluster.name("scheduler1"))
    killed_at = datetime.now(UTC)
    waited = cluster.wait_for(
        lambda: (
            cluster.runs_finished({"deploy_ticks"}, TICKS)()
            and cluster.runs_finished({"deploy_chain"}, 1)()
        ),
        180,
        "the hourly runs and the chain finished",
    )
    counted = cluster.tally({"deploy_ticks", "deploy_chain"})
    with cluster.store.read() as conn:
        ticks = conn.execute(
            select(
                dag_run.c.logical_date,
                dag_run.c.created_by,
                dag_run.c.queued_at,
                dag_run.c.start_date,
            ).where(dag_run.c.dag_id == "deploy_ticks")
        ).all()
    creators = Counter(t.created_by.split(":")[0] for t in ticks)
    # A scheduler starts a queued run when max_active_runs leaves room: after the kill, only
    # the survivor could.
    started_after_kill = sum(t.start_date > killed_at for t in ticks)
    report(
        "scheduler killed",
        hourly_runs=len(ticks),
        created_by=dict(creators),
        started_after_kill=started_after_kill,
        tries_started=counted.tries_started,
        seconds_to_finish=f"{waited:.0f}",
    )
    assert len(ticks) in (TICKS, TICKS + 1)  # one more if an hour ended during the test
    assert len({t.logical_date for t in ticks}) == len(ticks), "an hour with two runs"
    assert counted.task_instances == len(ticks) + CHAIN
    assert counted.not_succeeded == []
    assert counted.tries_started_twice == []
    assert counted.succeeded_without_a_finished_try == []
    assert counted.retried == []  # no worker died: no try needed a second one
    assert started_after_kill >= 1  # the kill came mid-way: the survivor went on
    # After the kill, only the survivor created runs.
    late = {t.created_by.split(":")[0] for t in ticks if t.queued_at > killed_at}
    assert late <= {f"scheduler@{cluster.name('scheduler2')}"}, late
    # The survivor reports the dead one as stale and stays healthy itself.
    probe = cluster.exec("scheduler2", "conveyor-entrypoint", "health")
    assert probe.returncode == 0 and "stale" in probe.stdout, probe.stdout
    podman("start", cluster.name("scheduler1"))


def test_stopping_a_worker_lets_its_short_try_finish(cluster: Cluster) -> None:
    cluster.run("graceful", "worker", "--queues", "graceful", "--concurrency", "1")
    cluster.wait_for(lambda: cluster.healthy("graceful"), 120, "the graceful worker healthy")
    _trigger(cluster, "deploy_graceful")
    cluster.wait_for(lambda: cluster.tries_running_on("graceful") == 1, 120, "its try running")
    started = time.monotonic()
    podman("stop", "--time", "60", cluster.name("graceful"), timeout=90)
    stopped_after = time.monotonic() - started
    exit_code = podman(
        "inspect", "--format", "{{.State.ExitCode}}", cluster.name("graceful")
    ).stdout.strip()
    counted = cluster.tally({"deploy_graceful"})
    report("worker stopped", seconds_to_stop=f"{stopped_after:.1f}", exit_code=exit_code)
    # The try finished in the stopping container: its end is noted and the store agrees.
    assert counted.not_succeeded == [] and counted.task_instances == 1
    assert counted.succeeded_without_a_finished_try == []
    assert counted.tries_started == 1
    assert exit_code == "0"  # SIGTERM reached the worker, which exited by itself
    assert stopped_after < 60  # not killed at the end of the stop timeout


def test_a_scheduler_and_the_web_stop_cleanly_on_sigterm(cluster: Cluster) -> None:
    """`podman stop` sends SIGTERM; with no shell in between, each process ends by itself."""
    codes: dict[str, str] = {}
    for role in ("scheduler2", "web"):
        started = time.monotonic()
        podman("stop", "--time", "30", cluster.name(role), timeout=60)
        seconds = time.monotonic() - started
        exit_code = podman(
            "inspect", "--format", "{{.State.ExitCode}}", cluster.name(role)
        ).stdout.strip()
        # Ended by itself well before the stop timeout's SIGKILL (which gives 137). The web
        # server shuts down, then ends by the signal it caught, as uvicorn does: 143.
        assert exit_code in ("0", "143") and seconds < 30, (role, exit_code, seconds)
        codes[role] = exit_code
    assert codes["scheduler2"] == "0"
    # The scheduler marked itself stopped: `conveyor health` leaves it out instead of naming
    # it stale.
    with cluster.store.read() as conn:
        stopped = (
            conn.execute(
                select(scheduler.c.stopped_at).where(
                    scheduler.c.hostname == cluster.name("scheduler2")
                )
            )
            .scalars()
            .all()
        )
    assert stopped and all(at is not None for at in stopped), stopped


# -- compose --------------------------------------------------------------------------------


def _entrypoint_probe(role: str) -> list[str]:
    """The checks the image's HEALTHCHECK runs for ``role`` (entrypoint with an echo conveyor)."""
    result = subprocess.run(
        ["sh", str(ROOT / "deploy" / "entrypoint.sh"), "health"],
        env={
            "PATH": os.environ["PATH"],
            "CONVEYOR_BIN": "echo",
            "CONVEYOR_ROLE": role,
            "CONVEYOR_ROLE_FILE": str(Path(os.devnull) / "none"),
        },
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.split()


def test_compose_runs_the_roles_the_tests_run() -> None:
    spec = yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text())
    services = spec["services"]
    # compose builds the image the tests build, from the same Dockerfile and base argument.
    build = spec["x-conveyor"]["build"]
    assert build["dockerfile"] == "deploy/Dockerfile" and "BASE" in build["args"]
    assert services["migrate"]["command"] == ["migrate"]
    # The triggerer is not among the cluster this file starts; its probe is checked here too.
    tested = {command[0] for command in ROLES.values()} | {"triggerer"}
    for role in tested:
        assert services[role]["command"][0] == role
        probe = services[role]["healthcheck"]["test"]
        # compose's probe is the one the image itself runs for that role
        assert probe[:3] == ["CMD", "conveyor", "health"]
        assert probe[2:] == _entrypoint_probe(role), (role, probe)
    assert services["scheduler"]["deploy"]["replicas"] == 2
    assert services["worker"]["deploy"]["replicas"] == 2
    assert "--queues" in services["worker"]["command"]
    for name in ("scheduler", "worker", "web"):
        assert services[name]["init"] is True  # as the tests' --init
        assert services[name]["stop_grace_period"]  # time for running tries on SIGTERM
