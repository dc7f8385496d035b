"""dag-factory and astronomer-cosmos, installed beside Conveyor as docs/airflow.md says (no
Airflow core: their own requirements without ``apache-airflow``), load the DAG folder of
tests/fixtures/ecosystem and run its DAGs to the outcome Airflow 3.3.2 gives them.

The folder is laid out as the libraries' docs show: dag-factory's YAML under ``dagfactory/``
with its loader file, a dbt project (``dbt/shop``: two models and their tests) beside the
DAGs, read by Cosmos in local execution mode with dbt in a virtualenv of its own, writing to a
PostgreSQL database made for the test. ``conveyor dags test`` (its throwaway SQLite store)
runs the DbtDag and one dag-factory DAG; a real scheduler on PostgreSQL runs the five
dag-factory DAGs and the DbtTaskGroup's DAG together.

The virtualenvs are kept under .cache/airflow-libraries and rebuilt only when what goes into
them changes (the pins below, Conveyor's pyproject.toml). Cost with warm virtualenvs: about
2 minutes (measured 122 s on a shared 2-core machine), nearly all of it dbt starting (a few
seconds a task, its partial parse cached for the module) and Cosmos imported by each
process; the first build adds about 4 minutes of installs.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import select

from conveyor.states import RunState, TaskState
from conveyor.store import runs
from conveyor.store.engine import Store
from conveyor.store.tables import dag_run, task_instance
from run_env import Env
from tools_cache import tools_dir

pytestmark = [
    pytest.mark.skipif(
        not os.environ.get("CONVEYOR_TEST_PG_URL"), reason="needs CONVEYOR_TEST_PG_URL"
    ),
    # The first run builds the virtualenvs (minutes); later ones run dbt (~10 s a task).
    pytest.mark.timeout(1500),
]

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "ecosystem" / "dags"
#: The team's virtualenv installs this checkout (so it lives beside it); dbt's is the same
#: for every checkout, so it is kept once per machine.
CACHE = ROOT / ".cache" / "airflow-libraries"
DBT_CACHE = tools_dir() / "airflow-libraries"

#: The libraries as a team pins them; installed with --no-deps, then their own requirements.
LIBRARIES = ("dag-factory==1.1.0", "astronomer-cosmos==1.15.1")
#: Imported by Cosmos without being among its requirements (Airflow's core brings it).
BROUGHT_BY_AIRFLOW = ("httpx>=0.27",)
#: dbt in a virtualenv of its own (Cosmos's ExecutionConfig(dbt_executable_path=...)).
DBT = ("dbt-core~=1.10.0", "dbt-postgres~=1.9.0")

# -- Airflow 3.3.2's outcome ---------------------------------------------------------------
# Recorded on 2026-11-26 by running the same folder on apache-airflow==3.3.2 with the same
# dag-factory, astronomer-cosmos and dbt pins, in a throwaway virtualenv: `airflow db
# migrate`, then `airflow dags test DAG_ID 2026-11-26` for each DAG, with the environment the
# test gives Conveyor (AIRFLOW_CONN_SHOP_DB, DBT_EXECUTABLE, telemetry off). Per DAG: each
# task's upstream task ids (read with Airflow's DagBag), final state and tries; the lines the
# callbacks wrote; for Cosmos, the rows its models wrote (the same in both schemas).
S, F, U = "success", "failed", "upstream_failed"
AIRFLOW_3_3_2: dict[str, dict[str, Any]] = {
    "df_bash": {
        "run": S,
        "tasks": {"extract": ([], S, 1), "load": (["extract"], S, 1)},
    },
    "df_python": {
        "run": S,
        "tasks": {"greet": ([], S, 1), "after": (["greet"], S, 1)},
    },
    "df_groups": {
        "run": S,
        "tasks": {
            "outer.first": ([], S, 1),
            "outer.inner.deep": (["outer.first"], S, 1),
            "last": (["outer.first", "outer.inner.deep"], S, 1),
        },
    },
    "df_mapping": {
        "run": S,
        "tasks": {"numbers": ([], S, 1), "square": (["numbers"], S, 1)},
        "mapped": {"square": 3},  # one instance per list numbers returned
    },
    "df_callbacks": {
        "run": F,
        "tasks": {"works": ([], S, 1), "breaks": (["works"], F, 1)},
        "callbacks": ["ok:works:success", "failed:breaks:failed"],
    },
    "shop_dbt": {
        "run": S,
        "tasks": {
            "orders.run": ([], S, 1),
            "orders.test": (["orders.run"], S, 1),
            "customer_totals.run": (["orders.test"], S, 1),
            "customer_totals.test": (["customer_totals.run"], S, 1),
        },
    },
    "shop_group": {
        "run": S,
        "tasks": {
            "before": ([], S, 1),
            "shop.orders.run": (["before"], S, 1),
            "shop.orders.test": (["shop.orders.run"], S, 1),
            "shop.customer_totals.run": (["shop.orders.test"], S, 1),
            "shop.customer_totals.test": (["shop.customer_totals.run"], S, 1),
            "after": (["shop.customer_totals.test"], S, 1),
        },
    },
}
#: What the dbt models hold after a run (customer_totals: customer, total, orders).
CUSTOMER_TOTALS = [("ada", 42, 2), ("grace", 7, 1)]


# -- the virtualenvs -------------------------------------------------------------------------


def _key(*parts: str) -> str:
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def _pip(python: Path, *args: str) -> None:
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", *args],
        check=True,
        timeout=1200,
    )


def _ready_venv(name: str, key: str, build: Any, cache: Path = CACHE) -> Path:
    """A virtualenv under ``cache``, built once per ``key`` (the folder's name holds it)."""
    folder = cache / f"{name}-{key}"
    if (folder / ".ready").exists():
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    for stale in cache.glob(f"{name}-*"):
        shutil.rmtree(stale, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True, timeout=120)
    build(folder / "bin" / "python")
    (folder / ".ready").write_text(key)
    return folder


def _requirements_without_airflow(python: Path, distributions: list[str]) -> list[str]:
    """The distributions' own requirements (no extras), without Airflow's packages: the
    recipe docs/airflow.md gives a team."""
    script = (
        "import json, sys\n"
        "from importlib.metadata import requires\n"
        "from packaging.requirements import Requirement\n"
        "found = []\n"
        "for name in sys.argv[1:]:\n"
        "    for text in requires(name) or []:\n"
        "        req = Requirement(text)\n"
        "        if req.marker and 'extra' in str(req.marker):\n"
        "            continue\n"
        "        if req.name.startswith('apache-airflow'):\n"
        "            continue\n"
        "        found.append(str(req))\n"
        "print(json.dumps(found))\n"
    )
    out = subprocess.run(
        [str(python), "-c", script, *distributions],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    return list(json.loads(out))


def _build_library_venv(python: Path) -> None:
    _pip(python, "-e", f"{ROOT}[airflow]")
    _pip(python, "--no-deps", *LIBRARIES)
    names = [spec.split("==")[0] for spec in LIBRARIES]
    _pip(python, *_requirements_without_airflow(python, names), *BROUGHT_BY_AIRFLOW)


@pytest.fixture(scope="module")
def venvs() -> tuple[Path, Path]:
    """(the team's virtualenv with Conveyor and the libraries, dbt's own virtualenv)."""
    pyproject = (ROOT / "pyproject.toml").read_text()
    library = _ready_venv(
        "libraries",
        _key(str(ROOT), pyproject, *LIBRARIES, *BROUGHT_BY_AIRFLOW),
        _build_library_venv,
    )
    dbt = _ready_venv("dbt", _key(*DBT), lambda python: _pip(python, *DBT), DBT_CACHE)
    return library, dbt


# -- the folder, its database and environment ----------------------------------------------


@pytest.fixture(scope="module")
def shop_db() -> Iterator[str]:
    """A PostgreSQL database made for the test: the dbt models' target."""
    admin = os.environ["CONVEYOR_TEST_PG_URL"]
    name = f"eco_shop_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    server = admin.rsplit("/", 1)[0]
    yield f"{server}/{name}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _with_password(url: str) -> str:
    """Cosmos's PostgreSQL profile needs a password; a trust-authenticated server ignores it."""
    user_part, at, rest = url.partition("@")
    if not at or ":" in user_part.split("//", 1)[1]:
        return url
    return f"{user_part}:unused@{rest}"


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture folder copied, so runs leave nothing in the repository."""
    dags = tmp_path_factory.mktemp("eco") / "dags"
    shutil.copytree(FIXTURE, dags, ignore=shutil.ignore_patterns("__pycache__"))
    return dags


def _env(
    venvs: tuple[Path, Path], folder: Path, shop_db: str, home: Path, **extra: str
) -> dict[str, str]:
    library, dbt = venvs
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONVEYOR_", "AIRFLOW"))}
    env.pop("PYTHONPATH", None)
    env.update(
        CONVEYOR_HOME=str(home),
        CONVEYOR_DAGS_FOLDER=str(folder),
        PATH=f"{library / 'bin'}:{env.get('PATH', '')}",
        ECOSYSTEM_OUT=str(home / "out"),
        DBT_EXECUTABLE=str(dbt / "bin" / "dbt"),
        AIRFLOW_CONN_SHOP_DB=_with_password(shop_db).replace("postgresql://", "postgres://"),
        # One cache for the module: dbt's partial parse and the profile are made once.
        AIRFLOW__COSMOS__CACHE_DIR=str(folder.parent / "cosmos-cache"),
        AIRFLOW__COSMOS__ENABLE_TELEMETRY="False",
        AIRFLOW__DAG_FACTORY__ENABLE_TELEMETRY="False",
        DO_NOT_TRACK="1",
        SCARF_NO_ANALYTICS="true",
        **extra,
    )
    (home / "out").mkdir(parents=True, exist_ok=True)
    return env


# -- `conveyor dags test` ------------------------------------------------------------------

_ROW = re.compile(r"^\s(\S+)\s+(success|failed|upstream_failed|skipped)\s+(\d+)/\d+\s")


def _dags_test(env: dict[str, str], dag_id: str) -> tuple[int, dict[str, tuple[str, int]]]:
    """Exit code, and each task's (state, tries) from the summary ``dags test`` prints."""
    done = subprocess.run(
        ["conveyor", "dags", "test", dag_id, "2026-11-26"],
        env=env,
        capture_output=True,
        text=True,
        timeout=400,
    )
    rows = {m[1]: (m[2], int(m[3])) for m in map(_ROW.match, done.stdout.splitlines()) if m}
    assert rows, f"no summary from `dags test {dag_id}`:\n{done.stdout}\n{done.stderr[-4000:]}"
    return done.returncode, rows


def _graph(env: dict[str, str], dag_id: str) -> dict[str, list[str]]:
    """Each task's upstream task ids, from the DAG as the library built it here."""
    script = (
        "import json, sys\n"
        "from conveyor.loading.importer import import_dag_file\n"
        "from conveyor.airflow_compat import hook\n"
        "hook.install()\n"
        "for dag in import_dag_file(sys.argv[1], folders=[sys.argv[2]]):\n"
        "    if dag.dag_id == sys.argv[3]:\n"
        "        print(json.dumps({t: sorted(x.upstream_task_ids)\n"
        "                          for t, x in dag.task_dict.items()}))\n"
    )
    out = subprocess.run(
        [
            "python",
            "-c",
            script,
            str(_file_of(dag_id, Path(env["CONVEYOR_DAGS_FOLDER"]))),
            env["CONVEYOR_DAGS_FOLDER"],
            dag_id,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.stdout.strip(), out.stderr[-4000:]
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def _file_of(dag_id: str, folder: Path) -> Path:
    return folder / ("load_dagfactory.py" if dag_id.startswith("df_") else "cosmos_shop.py")


def _totals(shop_db: str, schema: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(shop_db) as conn:
        rows = conn.execute(
            f"SELECT customer, total, orders FROM {schema}.customer_totals ORDER BY customer"
        ).fetchall()
    return [tuple(r) for r in rows]


DAG_FACTORY = ("df_bash", "df_python", "df_groups", "df_mapping", "df_callbacks")


def _expected_rows(dag_id: str) -> dict[str, tuple[str, int]]:
    return {t: (state, tries) for t, (_, state, tries) in AIRFLOW_3_3_2[dag_id]["tasks"].items()}


def _expected_graph(dag_id: str) -> dict[str, list[str]]:
    return {t: up for t, (up, _, _) in AIRFLOW_3_3_2[dag_id]["tasks"].items()}


def test_dags_test_runs_a_dag_factory_dag_and_builds_their_graphs(
    venvs: tuple[Path, Path], folder: Path, shop_db: str, tmp_path: Path
) -> None:
    env = _env(venvs, folder, shop_db, tmp_path / "home")
    code, rows = _dags_test(env, "df_callbacks")
    assert rows == _expected_rows("df_callbacks") and code == 1  # the run failed, as planned
    lines = (tmp_path / "home" / "out" / "callbacks.txt").read_text().split()
    assert lines == AIRFLOW_3_3_2["df_callbacks"]["callbacks"]
    for dag_id in ("df_groups", "df_mapping"):
        assert _graph(env, dag_id) == _expected_graph(dag_id)


def test_cosmos_dbt_dag_runs_its_models_as_on_airflow(
    venvs: tuple[Path, Path], folder: Path, shop_db: str, tmp_path: Path
) -> None:
    env = _env(venvs, folder, shop_db, tmp_path / "home")
    assert _graph(env, "shop_dbt") == _expected_graph("shop_dbt")
    code, rows = _dags_test(env, "shop_dbt")
    assert rows == _expected_rows("shop_dbt") and code == 0
    assert _totals(shop_db, "shop_dag") == CUSTOMER_TOTALS


def test_dag_factory_dags_and_the_cosmos_task_group_run_through_the_scheduler(
    venvs: tuple[Path, Path], folder: Path, shop_db: str, tmp_path: Path
) -> None:
    """The five dag-factory DAGs and the DbtTaskGroup's DAG, triggered and run together by
    `conveyor scheduler` on PostgreSQL."""
    admin = os.environ["CONVEYOR_TEST_PG_URL"]
    name = f"eco_store_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    store_url = f"{admin.rsplit('/', 1)[0]}/{name}"
    home = tmp_path / "home"
    env = _env(
        venvs,
        folder,
        shop_db,
        home,
        CONVEYOR_DATABASE_URL=store_url,
        CONVEYOR_DAGS_ARE_PAUSED_AT_CREATION="false",
    )
    scheduler = None
    store = None
    log_path = tmp_path / "scheduler.log"
    try:
        subprocess.run(["conveyor", "db", "migrate"], env=env, check=True, timeout=120)
        with log_path.open("w") as log:
            scheduler = subprocess.Popen(
                ["conveyor", "scheduler"],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        store = Store(store_url)
        dag_ids = ("shop_group", *DAG_FACTORY)
        run_pks = {d: _trigger_when_parsed(env, store, d, scheduler) for d in dag_ids}
        view = Env(tmp_path, folder, store)
        deadline = time.monotonic() + 300
        while any(
            view.run_state(pk) not in (RunState.SUCCESS, RunState.FAILED) for pk in run_pks.values()
        ):
            assert scheduler.poll() is None, log_path.read_text()[-4000:]
            assert time.monotonic() < deadline, {d: view.states(pk) for d, pk in run_pks.items()}
            time.sleep(1)
        for dag_id, run_pk in run_pks.items():
            expected = AIRFLOW_3_3_2[dag_id]
            assert view.run_state(run_pk) is RunState(expected["run"]), dag_id
            rows, mapped = _instances(store, run_pk)
            assert rows == _expected_rows(dag_id), dag_id
            assert mapped == expected.get("mapped", {}), dag_id
            with store.read() as conn:
                version = conn.execute(
                    select(dag_run.c.version_hash).where(dag_run.c.id == run_pk)
                ).scalar_one()
                shape = runs.serialized_dag(conn, version)
            assert {t: sorted(x.upstream) for t, x in shape.tasks.items()} == _expected_graph(
                dag_id
            ), dag_id
        assert _totals(shop_db, "shop_group") == CUSTOMER_TOTALS
        lines = (home / "out" / "callbacks.txt").read_text().split()
        assert sorted(lines) == sorted(AIRFLOW_3_3_2["df_callbacks"]["callbacks"])
    finally:
        if scheduler is not None:
            os.killpg(scheduler.pid, signal.SIGTERM)
            try:
                scheduler.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(scheduler.pid, signal.SIGKILL)
                scheduler.wait()
        if store is not None:
            store.dispose()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _instances(store: Store, run_pk: int) -> tuple[dict[str, tuple[str, int]], dict[str, int]]:
    """Each task's (state, tries) (every instance of a mapped task alike), and how many
    instances each mapped task had."""
    with store.read() as conn:
        found = conn.execute(
            select(
                task_instance.c.task_id,
                task_instance.c.map_index,
                task_instance.c.state,
                task_instance.c.try_number,
            ).where(task_instance.c.run_pk == run_pk)
        ).all()
    rows: dict[str, set[tuple[str, int]]] = {}
    mapped: dict[str, int] = {}
    for task_id, map_index, state, tries in found:
        if map_index < 0 and any(r[0] == task_id and r[1] >= 0 for r in found):
            continue  # the mapped task's own row, before it expanded
        rows.setdefault(task_id, set()).add((str(TaskState(state)), tries))
        if map_index >= 0:
            mapped[task_id] = mapped.get(task_id, 0) + 1
    for task_id, seen in rows.items():
        assert len(seen) == 1, (task_id, seen)
    return {t: next(iter(seen)) for t, seen in rows.items()}, mapped


def _trigger_when_parsed(
    env: dict[str, str], store: Store, dag_id: str, scheduler: subprocess.Popen[Any]
) -> int:
    """Trigger the DAG once the scheduler's processor has stored it."""
    deadline = time.monotonic() + 180
    while True:
        assert scheduler.poll() is None
        done = subprocess.run(
            ["conveyor", "dags", "trigger", dag_id], env=env, capture_output=True, text=True
        )
        if done.returncode == 0:
            break
        assert time.monotonic() < deadline, done.stdout + done.stderr
        time.sleep(2)
    with store.read() as conn:
        return int(
            conn.execute(
                select(dag_run.c.id).where(dag_run.c.dag_id == dag_id).order_by(dag_run.c.id)
            )
            .scalars()
            .first()
        )
