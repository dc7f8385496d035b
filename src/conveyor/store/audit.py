"""The audit log: who did what, when, and from where.

One call records an action: :func:`record`. The web app records every successful
state-changing request in one place (``conveyor.web.audit_trail``), the CLI every changing
verb in one place (``conveyor.cli.audit_trail``); code that acts on someone's behalf outside those
paths calls :func:`record` itself, inside the transaction that does the work, so the row and
the change commit (or roll back) together.

Entries older than ``audit_retention_days`` are deleted by ``conveyor db clean``
(:func:`clean`). Details never hold secrets: :func:`redact` drops passwords, tokens, URIs,
variable values and connection extras before a row is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.engine import Connection

from conveyor.clock import utcnow
from conveyor.store.engine import Store
from conveyor.store.tables import audit_log

#: Keys whose values are secret, or may hold one, wherever they appear in details.
SECRET_KEYS = frozenset(
    {"password", "password_stdin", "uri", "conn_uri", "value", "extra", "token", "csrf_token"}
)
MAX_DETAIL_TEXT = 500  # a longer text value is cut: the log says what was done, not all of it


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    via: str
    address: str | None
    action: str
    dag_id: str | None
    target: str | None
    details: dict[str, Any] | None


def redact(details: dict[str, Any] | None) -> dict[str, Any] | None:
    """``details`` without secrets (their keys stay, as ``"***"``) and with long texts cut.
    A connection's fields its ``secret_fields`` mark (``login``, ``host``, ``schema``) are
    secrets too."""
    if not details:
        return None
    marks = details.get("secret_fields")
    marked = {m for m in marks if isinstance(m, str)} if isinstance(marks, list) else set()
    clean: dict[str, Any] = {}
    for key, value in details.items():
        if (key in SECRET_KEYS or key in marked) and value not in (None, "", False):
            clean[key] = "***"
        elif isinstance(value, dict):
            clean[key] = redact(value) or {}
        elif isinstance(value, list):  # a bulk body's entities: each is redacted too
            clean[key] = [redact(item) or {} if isinstance(item, dict) else item for item in value]
        elif isinstance(value, str) and len(value) > MAX_DETAIL_TEXT:
            clean[key] = value[:MAX_DETAIL_TEXT] + "…"
        else:
            clean[key] = value
    return clean


def record(
    conn: Connection,
    actor: str,
    action: str,
    target: str | None = None,
    details: dict[str, Any] | None = None,
    *,
    dag_id: str | None = None,
    via: str = "api",
    address: str | None = None,
    at: datetime | None = None,
) -> None:
    """Record that ``actor`` did ``action`` (e.g. ``"run.clear"``) to ``target``.

    ``details`` are redacted (see :func:`redact`). Call it inside the write transaction
    that does the work, so that an action rolled back leaves no row.
    """
    conn.execute(
        insert(audit_log).values(
            at=at or utcnow(),
            actor=actor[:200],
            via=via[:50],
            address=address[:100] if address else None,
            action=action[:100],
            dag_id=dag_id[:250] if dag_id else None,
            target=target[:1000] if target else None,
            details=redact(details),
        )
    )


@dataclass(frozen=True)
class AuditFilter:
    actor: str | None = None
    action: str | None = None  # an exact action, or a prefix ending in "." ("run.")
    dag_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    dag_ids: frozenset[str] | None = None  # only entries on these DAGs (None: every entry)


def _where(found: AuditFilter) -> list[Any]:
    clauses: list[Any] = []
    if found.actor:
        clauses.append(audit_log.c.actor == found.actor)
    if found.action:
        if found.action.endswith("."):
            clauses.append(audit_log.c.action.startswith(found.action, autoescape=True))
        else:
            clauses.append(audit_log.c.action == found.action)
    if found.dag_id:
        clauses.append(audit_log.c.dag_id == found.dag_id)
    if found.since:
        clauses.append(audit_log.c.at >= found.since)
    if found.until:
        clauses.append(audit_log.c.at < found.until)
    if found.dag_ids is not None:
        clauses.append(audit_log.c.dag_id.in_(sorted(found.dag_ids)))
    return clauses


def list_entries(
    conn: Connection, found: AuditFilter, limit: int = 50, offset: int = 0
) -> tuple[list[AuditEntry], int]:
    """The entries that match, newest first, and how many match in all."""
    where = _where(found)
    total = conn.execute(select(func.count()).select_from(audit_log).where(*where)).scalar_one()
    rows = conn.execute(
        select(audit_log)
        .where(*where)
        .order_by(audit_log.c.at.desc(), audit_log.c.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return [AuditEntry(**row._mapping) for row in rows], int(total)


def known_actions(conn: Connection) -> list[str]:
    """Every action the log holds, for the page's filter."""
    return list(
        conn.execute(select(audit_log.c.action).distinct().order_by(audit_log.c.action)).scalars()
    )


RETENTION_BATCH = 5000


def clean(
    store: Store, keep_days: int, *, dry_run: bool = False, now: datetime | None = None
) -> int:
    """Delete entries older than ``keep_days`` days (0: none), in short transactions of
    :data:`RETENTION_BATCH`; returns how many (``dry_run``: would be)."""
    if keep_days <= 0:
        return 0
    cutoff = (now or utcnow()) - timedelta(days=keep_days)
    old = audit_log.c.at < cutoff
    if dry_run:
        with store.read() as conn:
            count = select(func.count()).select_from(audit_log).where(old)
            return int(conn.execute(count).scalar_one())
    deleted = 0
    while True:
        with store.write() as conn:
            ids = select(audit_log.c.id).where(old).order_by(audit_log.c.id).limit(RETENTION_BATCH)
            found = list(conn.execute(ids).scalars())
            if found:
                conn.execute(delete(audit_log).where(audit_log.c.id.in_(found)))
        deleted += len(found)
        if len(found) < RETENTION_BATCH:
            return deleted
