"""Read an Airflow metadata database, never writing to it.

The tables are reflected (SQLAlchemy Core), so a column one release added or dropped is read
where it exists; the Alembic revision decides which of Airflow 2's and Airflow 3's keys and
names apply. SQLite is opened read-only; PostgreSQL and MySQL in read-only transactions,
MySQL's sessions in UTC as Airflow's own are (its TIMESTAMP columns convert to the session's
time zone).
"""

from __future__ import annotations

import io
import json
import pickle
import warnings
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    MetaData,
    Table,
    and_,
    create_engine,
    event,
    func,
    inspect,
    or_,
    select,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SAWarning

from conveyor.store.airflow_import import asset_reading
from conveyor.store.airflow_import.records import (
    AirflowConnection,
    AirflowContents,
    AirflowDag,
    AirflowPool,
    AirflowRole,
    AirflowRun,
    AirflowTaskInstance,
    AirflowTry,
    AirflowUser,
    AirflowVariable,
)
from conveyor.store.airflow_import.revisions import airflow_release, is_airflow_3
from conveyor.store.airflow_import.times import utc
from conveyor.store.airflow_import.try_numbers import try_number

#: The tables read, where they exist (the FAB ones only with FAB's auth manager).
TABLES = (
    "alembic_version",
    "connection",
    "variable",
    "slot_pool",
    "dag",
    "dag_run",
    "dag_run_note",
    "task_instance",
    "task_instance_note",
    "task_instance_history",
    "log_template",
    "ab_user",
    "ab_role",
    "ab_user_role",
    "ab_permission",
    "ab_view_menu",
    "ab_permission_view",
    "ab_permission_view_role",
    *asset_reading.TABLES,
)
_CHUNK = 500  # runs per statement when their task instances are read


def engine_url(url: str) -> str:
    """Airflow's database URL with a driver Conveyor has: psycopg 3 for PostgreSQL, PyMySQL
    for MySQL; a SQLite file opened read-only."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend in ("postgresql", "postgres"):
        return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    if backend == "mysql":
        return parsed.set(drivername="mysql+pymysql").render_as_string(hide_password=False)
    if backend == "sqlite" and parsed.database:
        return f"sqlite:///file:{parsed.database}?mode=ro&uri=true"
    return url


@contextmanager
def airflow_database(url: str) -> Iterator[tuple[Connection, dict[str, Table]]]:
    """A read-only connection to the Airflow database and its reflected tables."""
    engine = create_engine(engine_url(url))
    if engine.dialect.name == "mysql":
        event.listen(engine, "connect", _mysql_session)
    try:
        with engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                conn = conn.execution_options(postgresql_readonly=True)
            present = set(inspect(conn).get_table_names())
            meta = MetaData()
            with warnings.catch_warnings():
                # Airflow 2.10's SQLite tables of dataset aliases declare each foreign key
                # twice, which reflection warns of; the reader follows no foreign key.
                warnings.filterwarnings(
                    "ignore", ".*SQL-parsed foreign key constraint", category=SAWarning
                )
                meta.reflect(conn, only=[t for t in TABLES if t in present])
            yield conn, dict(meta.tables)
            conn.rollback()
    finally:
        engine.dispose()


def _mysql_session(dbapi_conn: Any, _record: Any) -> None:
    """Each MySQL session in UTC, as Airflow sets its own, so a TIMESTAMP reads as the UTC
    time Airflow stored whatever the server's zone; and read-only, so nothing is written."""
    with dbapi_conn.cursor() as cursor:
        cursor.execute("SET time_zone = '+00:00'")
        cursor.execute("SET SESSION TRANSACTION READ ONLY")


def read_revision(conn: Connection, tables: dict[str, Table]) -> str | None:
    table = tables.get("alembic_version")
    return None if table is None else conn.execute(select(table.c.version_num)).scalar()


def dag_ids(conn: Connection, tables: dict[str, Table]) -> list[str]:
    t = tables["dag"]
    return list(conn.execute(select(t.c.dag_id).order_by(t.c.dag_id)).scalars())


def read_all(
    conn: Connection,
    tables: dict[str, Table],
    since: datetime,
    already: frozenset[tuple[str, str]] = frozenset(),
) -> AirflowContents:
    """What the import takes: the settings and users whole, the history of runs whose date
    is ``since`` or later, and each DAG's latest scheduled run whatever its age (where its
    schedule stands). The task instances of the runs ``already`` holds, by (dag_id,
    run_id), are not read: those runs were imported before."""
    revision = read_revision(conn, tables)
    release = airflow_release(revision)
    assert revision is not None  # airflow_release refuses None
    contents = AirflowContents(
        revision=revision,
        release=release,
        connections=_connections(conn, tables["connection"]),
        variables=_variables(conn, tables["variable"]),
        pools=_pools(conn, tables["slot_pool"]),
        roles=_roles(conn, tables),
        users=_users(conn, tables),
        dags=_dags(conn, tables["dag"]),
        runs=[],
    )
    _read_history(conn, tables, release, since, already, contents)
    asset_reading.read_assets(conn, tables, since, contents)
    return contents


def _connections(conn: Connection, t: Table) -> list[AirflowConnection]:
    rows = conn.execute(select(t).order_by(t.c.conn_id)).mappings()
    return [
        AirflowConnection(
            conn_id=r["conn_id"],
            conn_type=r["conn_type"] or "generic",
            host=r["host"],
            port=r["port"],
            login=r["login"],
            password=r["password"],
            schema=r["schema"],
            extra=r["extra"],
            description=r.get("description"),
            is_encrypted=bool(r["is_encrypted"]),
            is_extra_encrypted=bool(r["is_extra_encrypted"]),
        )
        for r in rows
    ]


def _variables(conn: Connection, t: Table) -> list[AirflowVariable]:
    rows = conn.execute(select(t).order_by(t.c.key)).mappings()
    return [
        AirflowVariable(r["key"], r["val"] or "", r.get("description"), bool(r["is_encrypted"]))
        for r in rows
    ]


def _pools(conn: Connection, t: Table) -> list[AirflowPool]:
    rows = conn.execute(select(t.c.pool, t.c.slots, t.c.description).order_by(t.c.pool))
    return [AirflowPool(r.pool, int(r.slots), r.description) for r in rows]


def _roles(conn: Connection, tables: dict[str, Table]) -> list[AirflowRole]:
    if "ab_role" not in tables or "ab_permission_view_role" not in tables:
        return []
    role, pvr, pv = (
        tables["ab_role"],
        tables["ab_permission_view_role"],
        tables["ab_permission_view"],
    )
    action, resource = tables["ab_permission"], tables["ab_view_menu"]
    rows = conn.execute(
        select(role.c.name, action.c.name.label("action"), resource.c.name.label("resource"))
        .select_from(role)
        .outerjoin(pvr, pvr.c.role_id == role.c.id)
        .outerjoin(pv, pv.c.id == pvr.c.permission_view_id)
        .outerjoin(action, action.c.id == pv.c.permission_id)
        .outerjoin(resource, resource.c.id == pv.c.view_menu_id)
    )
    perms: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for r in rows:
        perms[r.name]
        if r.action is not None and r.resource is not None:
            perms[r.name].add((r.action, r.resource))
    return [AirflowRole(name, tuple(sorted(perms[name]))) for name in sorted(perms)]


def _users(conn: Connection, tables: dict[str, Table]) -> list[AirflowUser]:
    if "ab_user" not in tables:
        return []
    user, user_role, role = tables["ab_user"], tables["ab_user_role"], tables["ab_role"]
    held: dict[int, list[str]] = defaultdict(list)
    for r in conn.execute(
        select(user_role.c.user_id, role.c.name).join(role, role.c.id == user_role.c.role_id)
    ):
        held[r.user_id].append(r.name)
    rows = conn.execute(select(user.c.id, user.c.username, user.c.password, user.c.active))
    return [
        AirflowUser(r.username, r.password, bool(r.active), tuple(sorted(held[r.id])))
        for r in sorted(rows, key=lambda r: str(r.username))
    ]


def _dags(conn: Connection, t: Table) -> list[AirflowDag]:
    found = []
    rows: Any = conn.execute(select(t).order_by(t.c.dag_id)).mappings()
    for r in rows:
        active = not r["is_stale"] if "is_stale" in r else bool(r.get("is_active", True))
        found.append(
            AirflowDag(
                r["dag_id"],
                bool(r["is_paused"]),
                active,
                utc(r.get("last_parsed_time")),
                r.get("fileloc"),
            )
        )
    return found


#: The columns of a run and of a task instance the import reads (where the release has
#: them): not the others, some of which are JSON or pickles, costly to decode for nothing.
_RUN_COLUMNS = (
    "id", "dag_id", "run_id", "run_type", "state", "logical_date", "execution_date",
    "data_interval_start", "data_interval_end", "run_after", "queued_at", "start_date",
    "end_date", "conf", "triggered_by", "log_template_id",
)  # fmt: skip
_TI_COLUMNS = (
    "dag_id", "run_id", "task_id", "map_index", "state", "try_number", "max_tries", "pool",
    "pool_slots", "queue", "priority_weight", "queued_dttm", "start_date", "end_date",
    "duration", "hostname", "pid", "last_heartbeat_at", "rendered_map_index",
)  # fmt: skip


def _columns(table: Table, names: Sequence[str]) -> list[Any]:
    return [table.c[name] for name in names if name in table.c]


def _read_history(
    conn: Connection,
    tables: dict[str, Table],
    release: str,
    since: datetime,
    already: frozenset[tuple[str, str]],
    into: AirflowContents,
) -> None:
    v3 = is_airflow_3(release)
    run = tables["dag_run"]
    when = run.c.logical_date if v3 else run.c.execution_date
    latest = (
        select(run.c.dag_id, when.label("at"))
        .where(run.c.run_type == "scheduled")
        .order_by(run.c.dag_id, when.desc())
    )
    last_tick: dict[str, Any] = {}
    for tick in conn.execute(latest):
        last_tick.setdefault(tick.dag_id, tick.at)
    ticks = [and_(run.c.dag_id == d, when == at) for d, at in last_tick.items()]
    # An Airflow 3 run asked for without a logical date is dated by when it was to run.
    dated = func.coalesce(when, run.c.run_after) if v3 else when
    bound = since if conn.dialect.name == "postgresql" else since.replace(tzinfo=None)
    taken = or_(dated >= bound, *ticks)
    notes = tables.get("dag_run_note")
    query: Any = select(*_columns(run, _RUN_COLUMNS))
    if notes is not None:
        query = query.add_columns(notes.c.content.label("note")).outerjoin(
            notes, notes.c.dag_run_id == run.c.id
        )
    rows = conn.execute(query.where(taken).order_by(run.c.dag_id, run.c.id)).mappings().all()
    log_templates = _log_templates(conn, tables)
    by_key: dict[tuple[str, str], AirflowRun] = {}
    run_ids: list[int] = []
    for r in rows:
        conf = _conf(r["conf"])
        if conf is None:
            into.unreadable_conf.append((r["dag_id"], r["run_id"]))
        found = AirflowRun(
            dag_id=r["dag_id"],
            run_id=r["run_id"],
            run_type=r["run_type"],
            state=r["state"] or "queued",
            logical_date=utc(r["logical_date"] if v3 else r["execution_date"]),
            data_interval_start=utc(r.get("data_interval_start")),
            data_interval_end=utc(r.get("data_interval_end")),
            run_after=utc(r.get("run_after")),
            queued_at=utc(r.get("queued_at")),
            start_date=utc(r["start_date"]),
            end_date=utc(r["end_date"]),
            conf=conf,
            note=r.get("note"),
            triggered_by=r.get("triggered_by"),
            log_template=log_templates.get(r.get("log_template_id")),
        )
        into.runs.append(found)
        if (found.dag_id, found.run_id) not in already:
            by_key[(found.dag_id, found.run_id)] = found
            run_ids.append(r["id"])
    for first in range(0, len(run_ids), _CHUNK):
        _read_task_instances(conn, tables, release, run_ids[first : first + _CHUNK], by_key)


def _log_templates(conn: Connection, tables: dict[str, Table]) -> dict[Any, str]:
    """The log path templates runs recorded, by id; under None the oldest, which a run
    made before Airflow recorded templates (its id NULL) used."""
    t = tables.get("log_template")
    if t is None:
        return {}
    rows = conn.execute(select(t.c.id, t.c.filename).order_by(t.c.id)).all()
    found: dict[Any, str] = {r.id: r.filename for r in rows}
    if rows:
        found[None] = rows[0].filename
    return found


def _read_task_instances(
    conn: Connection,
    tables: dict[str, Table],
    release: str,
    run_ids: Sequence[int],
    runs: dict[tuple[str, str], AirflowRun],
) -> None:
    v3 = is_airflow_3(release)
    run, ti = tables["dag_run"], tables["task_instance"]
    of_runs = and_(ti.c.dag_id == run.c.dag_id, ti.c.run_id == run.c.run_id)
    notes = tables.get("task_instance_note")
    columns = _columns(ti, _TI_COLUMNS)
    query_from: Any = ti.join(run, of_runs)
    if notes is not None:
        columns.append(notes.c.content.label("note"))
        if v3:
            query_from = query_from.outerjoin(notes, notes.c.ti_id == ti.c.id)
        else:
            query_from = query_from.outerjoin(notes, _same_instance(notes, ti))
    earlier = _earlier_tries(conn, tables, run_ids)
    rows = conn.execute(select(*columns).select_from(query_from).where(run.c.id.in_(run_ids)))
    for r in rows.mappings():
        key = (r["dag_id"], r["run_id"], r["task_id"], r["map_index"])
        # Before 2.10 some states held the number of the try before: read as 2.10's.
        current = _try_of(r, try_number(release, r["state"], r["try_number"]))
        tries = _tries_up_to(current, earlier.get(key, []))
        runs[(r["dag_id"], r["run_id"])].task_instances.append(
            AirflowTaskInstance(
                task_id=r["task_id"],
                map_index=r["map_index"],
                state=r["state"],
                try_number=current.try_number,
                max_tries=r["max_tries"],
                pool=r["pool"],
                pool_slots=r["pool_slots"],
                queue=r["queue"],
                priority_weight=r["priority_weight"],
                queued_at=utc(r["queued_dttm"]),
                start_date=utc(r["start_date"]),
                end_date=utc(r["end_date"]),
                hostname=r["hostname"],
                pid=r["pid"],
                heartbeat_at=utc(r.get("last_heartbeat_at")),
                note=r.get("note"),
                rendered_map_index=r.get("rendered_map_index"),
                tries=tries,
            )
        )


def _tries_up_to(current: AirflowTry, earlier: list[AirflowTry]) -> tuple[AirflowTry, ...]:
    """An instance's tries up to its row's, ``current``, by number. A cleared instance's row
    keeps its last try's times under no state, and the history (2.10 on) that try with its
    outcome; otherwise the row has the latest word on its try."""
    tries = {t.try_number: t for t in earlier if t.try_number <= current.try_number}
    cleared = current.state in (None, "none") and current.try_number in tries
    if current.try_number > 0 and current.start_date is not None and not cleared:
        tries[current.try_number] = current
    return tuple(tries[number] for number in sorted(tries))


def _same_instance(a: Table, b: Table) -> Any:
    return and_(*(a.c[k] == b.c[k] for k in ("dag_id", "run_id", "task_id", "map_index")))


def _earlier_tries(
    conn: Connection, tables: dict[str, Table], run_ids: Sequence[int]
) -> dict[tuple[str, str, str, int], list[AirflowTry]]:
    """The tries ``task_instance_history`` kept (Airflow 2.10 and later), by instance."""
    history = tables.get("task_instance_history")
    found: dict[tuple[str, str, str, int], list[AirflowTry]] = defaultdict(list)
    if history is None:
        return found
    run = tables["dag_run"]
    rows = conn.execute(
        select(history)
        .join(run, and_(history.c.dag_id == run.c.dag_id, history.c.run_id == run.c.run_id))
        .where(run.c.id.in_(run_ids))
    ).mappings()
    for r in rows:
        key = (r["dag_id"], r["run_id"], r["task_id"], r["map_index"])
        found[key].append(_try_of(r, r["try_number"]))
    return found


def _try_of(row: Any, number: int) -> AirflowTry:
    """Try ``number`` of a ``task_instance`` or ``task_instance_history`` row (the same
    columns)."""
    return AirflowTry(
        try_number=number,
        state=row["state"],
        start_date=utc(row["start_date"]),
        end_date=utc(row["end_date"]),
        duration=row["duration"],
        hostname=row["hostname"],
        pid=row["pid"],
    )


def _conf(value: Any) -> dict[str, Any] | None:
    """A run's conf: JSON in Airflow 3, a pickle in Airflow 2 (read with only plain types
    allowed, so a pickle cannot run code); None when it is neither."""
    if value is None:
        return {}
    try:
        if isinstance(value, bytes | bytearray | memoryview):
            value = _PlainUnpickler(io.BytesIO(bytes(value))).load()
        elif isinstance(value, str):
            value = json.loads(value)
    except (pickle.UnpicklingError, ValueError, EOFError, TypeError):
        return None
    return value if isinstance(value, dict) else None


class _PlainUnpickler(pickle.Unpickler):
    """Unpickles dicts, lists, strings, numbers and booleans only: a run's conf is JSON-like,
    and any other class named in a pickle could run code as it loads."""

    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"{module}.{name} is not a plain value")
