"""Fresh, migrated PostgreSQL databases for tests, reused instead of dropped.

A test's database is a clone of the session's migrated template. Dropping it after the test
cost PostgreSQL 15 an immediate checkpoint (0.4-1 s here, stalling the other worker's writes
too), more than the test itself for most of the 1,000-odd tests that run on PostgreSQL. So a
clone is emptied back to the template's state instead, and the next test takes it:

- its connections are ended and it is renamed, so nothing the test left behind (a process, a
  pooled connection) can reach it under the name the next test gets;
- its schema is checked against the template's (tables, columns, indexes, constraints, types):
  a test that changed it (a migration run down, a table of its own) gets its clone dropped;
- every table is emptied, the rows the migrations seed are put back, every sequence is set
  where the template's stands, and the planner's and autovacuum's view of the tables (sizes,
  column statistics, counts of changes) is the template's again.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import time
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

#: The schema as a text to compare: every relation (table, index, sequence, view) with its
#: columns, every constraint and every type outside the system's schemas.
_SCHEMA_QUERY = """
SELECT concat_ws('|', n.nspname, c.relname, c.relkind,
       (SELECT string_agg(a.attname || ':' || format_type(a.atttypid, a.atttypmod)
                          || ':' || a.attnotnull, ',' ORDER BY a.attnum)
          FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped))
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
UNION ALL
SELECT concat_ws('|', 'constraint', conname, contype, pg_get_constraintdef(oid))
  FROM pg_constraint WHERE connamespace = 'public'::regnamespace
UNION ALL
SELECT concat_ws('|', 'type', typname, typtype)
  FROM pg_type WHERE typnamespace = 'public'::regnamespace
ORDER BY 1
"""

_numbers = itertools.count(1)


@dataclass(frozen=True)
class TemplateState:
    """What a clone is brought back to: the template's schema, seeded rows and sequences."""

    schema: str
    tables: tuple[str, ...]
    #: The seeded rows of each table that has any, as JSON (every type round-trips).
    rows: dict[str, str]
    sequences: dict[str, tuple[int, bool]]
    #: Each relation's size as the planner knows it (``pg_class``), as JSON: a clone a test
    #: analyzed must look as unanalyzed as a new one.
    sizes: str


def _schema_of(conn: psycopg.Connection[Any]) -> str:
    lines = [row[0] for row in conn.execute(_SCHEMA_QUERY)]
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def read_template(url: str) -> TemplateState:
    """The state of the migrated template at ``url``."""
    with psycopg.connect(url) as conn:
        tables = tuple(
            row[0]
            for row in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
            )
        )
        rows: dict[str, str] = {}
        for table in tables:
            found = conn.execute(
                sql.SQL("SELECT json_agg(t)::text FROM {} t").format(sql.Identifier(table))
            ).fetchone()
            if found and found[0] is not None:
                rows[table] = found[0]
        sequences = {
            f"{schema}.{name}": (int(last if last is not None else start), last is not None)
            for schema, name, last, start in conn.execute(
                "SELECT schemaname, sequencename, last_value, start_value FROM pg_sequences"
            )
        }
        sizes = conn.execute(
            "SELECT json_agg(json_build_object('relname', relname, 'relpages', relpages,"
            " 'reltuples', reltuples, 'relallvisible', relallvisible))::text"
            " FROM pg_class WHERE relnamespace = 'public'::regnamespace"
        ).fetchone()
        assert sizes is not None
        return TemplateState(_schema_of(conn), tables, rows, sequences, sizes[0])


def fresh_name() -> str:
    return f"conveyor_t_{os.getpid()}_{next(_numbers)}"


def clone(admin: psycopg.Connection[Any], template: str) -> str:
    """A new clone of ``template``; its name."""
    name = fresh_name()
    admin.execute(f"CREATE DATABASE {name} TEMPLATE {template}")
    return name


def drop(admin: psycopg.Connection[Any], name: str) -> None:
    admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def reset(
    admin: psycopg.Connection[Any], url_of: Any, name: str, template: TemplateState
) -> str | None:
    """Bring the clone ``name`` back to the template's state under a new name (returned), or
    None when it cannot be (still in use, or its schema changed): the caller drops it then.
    ``url_of(name)`` is the URL of a database of the server."""
    if not _ended_connections(admin, name):
        return None
    renamed = fresh_name()
    try:
        admin.execute(f"ALTER DATABASE {name} RENAME TO {renamed}")
    except psycopg.Error:
        return None  # connected to again in between, or gone: dropped, as before
    try:
        with psycopg.connect(url_of(renamed), autocommit=True) as conn:
            same = _schema_of(conn) == template.schema
            if same:
                _empty(conn, template)
    except psycopg.Error:
        same = False
    if not same:
        drop(admin, renamed)
        return None
    return renamed


def _ended_connections(admin: psycopg.Connection[Any], name: str) -> bool:
    """End every connection to ``name``; whether they were gone within two seconds."""
    admin.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        " WHERE datname = %s AND pid <> pg_backend_pid()",
        (name,),
    )
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline:
        left = admin.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (name,)
        ).fetchone()
        if left is not None and left[0] == 0:
            return True
        time.sleep(0.01)
    return False


def _empty(conn: psycopg.Connection[Any], template: TemplateState) -> None:
    """Every row deleted, the seeded rows back, every sequence where the template's is.
    DELETE, not TRUNCATE: a test leaves a few rows, and TRUNCATE's new files for 43 tables
    and their indexes cost a quarter of a second to commit. Foreign keys are not checked
    while the tables empty (the superuser's ``session_replication_role``)."""
    deletes = sql.SQL("; ").join(
        sql.SQL("DELETE FROM {}").format(sql.Identifier(table)) for table in template.tables
    )
    with conn.transaction():
        conn.execute("SET LOCAL session_replication_role = replica")
        conn.execute(deletes)
        for table, rows in template.rows.items():
            seeded = sql.SQL("INSERT INTO {0} SELECT * FROM json_populate_recordset(NULL::{0}, %s)")
            conn.execute(seeded.format(sql.Identifier(table)), (rows,))
        for sequence, (value, called) in template.sequences.items():
            conn.execute("SELECT setval(%s, %s, %s)", (sequence, value, called))
        # What the planner and autovacuum know of the tables, as in a new clone: no column
        # statistics, the template's sizes, no counts of changes since an analyze.
        conn.execute(
            "DELETE FROM pg_statistic WHERE starelid IN"
            " (SELECT oid FROM pg_class WHERE relnamespace = 'public'::regnamespace)"
        )
        conn.execute(
            "UPDATE pg_class c SET relpages = v.relpages, reltuples = v.reltuples,"
            " relallvisible = v.relallvisible"
            " FROM json_to_recordset(%s::json)"
            " AS v(relname name, relpages int, reltuples real, relallvisible int)"
            " WHERE c.relname = v.relname AND c.relnamespace = 'public'::regnamespace",
            (template.sizes,),
        )
        conn.execute("SELECT pg_stat_reset()")
