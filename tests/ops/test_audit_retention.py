"""`conveyor db clean` keeps the audit log to ``audit_retention_days``: older entries go,
newer ones stay, and 0 keeps every entry."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from ops_helpers import conveyor, store_env
from sqlalchemy import select

from conveyor.clock import utcnow
from conveyor.store import audit
from conveyor.store.engine import Store
from conveyor.store.tables import audit_log


def test_db_clean_deletes_audit_entries_past_the_retention(tmp_path: Path, store_url: str) -> None:
    store = Store(store_url)
    now = utcnow()
    with store.write() as conn:
        for days in (400, 100, 1):
            audit.record(conn, "ann", "run.trigger", f"{days} days", at=now - timedelta(days=days))
    try:
        forever = store_env(tmp_path, store_url, audit_retention_days="0")
        kept = conveyor(forever, "db", "clean", "--older-than", "30d")
        assert kept.returncode == 0, kept.stderr
        assert "0 audit log entries (none: kept forever)" in " ".join(kept.stdout.split())

        env = store_env(tmp_path, store_url, audit_retention_days="90")
        dry = conveyor(env, "db", "clean", "--older-than", "30d", "--dry-run")
        assert dry.returncode == 0, dry.stderr
        assert "would delete: 2 audit log entries" in " ".join(dry.stdout.split())
        with store.read() as conn:
            assert len(conn.execute(select(audit_log.c.id)).all()) == 3

        done = conveyor(env, "db", "clean", "--older-than", "30d")
        assert done.returncode == 0, done.stderr
        assert "deleted: 2 audit log entries" in " ".join(done.stdout.split())
        with store.read() as conn:
            assert list(conn.execute(select(audit_log.c.target)).scalars()) == ["1 days"]
        # Unset, the setting keeps a year.
        default = conveyor(store_env(tmp_path, store_url), "db", "clean", "--older-than", "30d")
        assert "older than 365 days (audit_retention_days)" in " ".join(default.stdout.split())
    finally:
        store.dispose()
