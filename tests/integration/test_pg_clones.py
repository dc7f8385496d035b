"""The tests' PostgreSQL clones are reused only as the template left them (tests/pg_clones.py):
what one test wrote never reaches the next, and a clone whose schema a test changed is
dropped rather than handed on."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

import pg_clones
from conftest import _with_database

pytestmark = pytest.mark.postgres


@pytest.fixture
def template(pg_url: str, pg_template: str) -> pg_clones.TemplateState:
    return pg_clones.read_template(_with_database(pg_url, pg_template))


NEW_ASSET = "INSERT INTO dataset (uri, extra, created_at) VALUES (%s, '{}', now()) RETURNING id"


SIZE = "SELECT reltuples FROM pg_class WHERE oid = 'dataset'::regclass"
COLUMN_STATISTICS = "SELECT count(*) FROM pg_statistic WHERE starelid = 'dataset'::regclass"


def _exists(admin: psycopg.Connection[Any], name: str) -> bool:
    found = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
    return found is not None


def test_a_reused_clone_is_as_the_template_left_it(
    pg_url: str,
    pg_admin: psycopg.Connection[Any],
    pg_template: str,
    template: pg_clones.TemplateState,
) -> None:
    name = pg_clones.clone(pg_admin, pg_template)
    url = _with_database(pg_url, name)
    with psycopg.connect(url, autocommit=True) as conn:
        seeded = conn.execute("SELECT name, slots FROM pool ORDER BY name").fetchall()
        conn.execute("UPDATE pool SET slots = 99")
        conn.execute(NEW_ASSET, ("s3://first",))
        fresh_size = conn.execute(SIZE).fetchone()
        conn.execute("ANALYZE dataset")  # as the scheduler does when a big run starts
        assert conn.execute(SIZE).fetchone() != fresh_size
        revision = conn.execute("SELECT version_num FROM alembic_version").fetchall()
    left_open = psycopg.connect(url)  # as a test's leftover pooled connection would be
    emptied = pg_clones.reset(pg_admin, lambda db: _with_database(pg_url, db), name, template)
    assert emptied is not None and emptied != name
    assert not _exists(pg_admin, name)  # the old name reaches nothing any more
    assert _is_dead(left_open)
    with psycopg.connect(_with_database(pg_url, emptied), autocommit=True) as conn:
        assert conn.execute("SELECT name, slots FROM pool ORDER BY name").fetchall() == seeded
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == revision
        assert conn.execute("SELECT count(*) FROM dataset").fetchone() == (0,)
        # Unanalyzed again: the planner and autovacuum see it as in a new clone.
        assert conn.execute(SIZE).fetchone() == fresh_size
        assert conn.execute(COLUMN_STATISTICS).fetchone() == (0,)
        # Its ids start where the template's would.
        assert conn.execute(NEW_ASSET, ("s3://next",)).fetchone() == (1,)
    pg_clones.drop(pg_admin, emptied)


def _is_dead(conn: psycopg.Connection[Any]) -> bool:
    try:
        conn.execute("SELECT 1")
    except psycopg.OperationalError:
        return True
    finally:
        conn.close()
    return False


def test_a_clone_whose_schema_changed_is_not_reused(
    pg_url: str,
    pg_admin: psycopg.Connection[Any],
    pg_template: str,
    template: pg_clones.TemplateState,
) -> None:
    before = _clones_of_this_worker(pg_admin)
    name = pg_clones.clone(pg_admin, pg_template)
    with psycopg.connect(_with_database(pg_url, name), autocommit=True) as conn:
        conn.execute("CREATE TABLE orders (id int)")
    assert pg_clones.reset(pg_admin, lambda db: _with_database(pg_url, db), name, template) is None
    assert _clones_of_this_worker(pg_admin) == before  # dropped, under its new name


def _clones_of_this_worker(admin: psycopg.Connection[Any]) -> set[str]:
    prefix = pg_clones.fresh_name().rsplit("_", 1)[0] + "_"
    rows = admin.execute("SELECT datname FROM pg_database").fetchall()
    return {row[0] for row in rows if row[0].startswith(prefix)}
