"""Whether a store's schema is the newest one, without loading Alembic.

Alembic (with Mako and Pygments) costs a command line about 0.1 s to import, and every
command that opens a store asks whether its schema is current. The answer needs only two
strings: the revision the database records (one plain query of ``alembic_version``) and the
newest revision of the migration files, read here from their ``revision = "..."`` and
``down_revision = ...`` lines. Whenever this cannot be sure (a file it cannot read that way,
several heads, no ``alembic_version``), it answers "unknown" and the caller asks Alembic, as
:mod:`conveyor.store.schema` always did.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from conveyor.store.engine import Store

VERSIONS = Path(__file__).parent / "migrations" / "versions"

_REVISION = re.compile(r"^revision(?:\s*:[^=\n]*)?\s*=\s*['\"]([^'\"]+)['\"]", re.MULTILINE)
_DOWN = re.compile(r"^down_revision(?:\s*:[^=\n]*)?\s*=\s*(.*)$", re.MULTILINE)
_QUOTED = re.compile(r"['\"]([^'\"]+)['\"]")


@functools.cache
def head_revision() -> str | None:
    """The newest revision of the migration files, or None when their text does not say it
    plainly (then Alembic must be asked). Read once per process: the files do not change
    under it."""
    revisions: set[str] = set()
    replaced: set[str] = set()
    for path in VERSIONS.glob("*.py"):
        if path.name.startswith("_"):
            continue
        source = path.read_text(encoding="utf-8")
        revision, down = _REVISION.findall(source), _DOWN.findall(source)
        if len(revision) != 1 or len(down) != 1:
            return None
        revisions.add(revision[0])
        down_value = down[0].strip()
        if down_value != "None" and not _QUOTED.findall(down_value):
            return None  # a name or an expression: only Alembic can read it
        replaced.update(_QUOTED.findall(down_value))
    heads = revisions - replaced
    return heads.pop() if len(heads) == 1 else None


def recorded_revision(store: Store) -> str | None:
    """The revision the database records, by a plain query: it builds no new SQLAlchemy
    objects, so a probe that asks every few seconds does not grow the process. None for an
    empty database (or one this query cannot read: a caller that needs to know why asks
    Alembic)."""
    if store.in_memory:
        return None
    try:
        with store.read() as conn:
            rows = conn.execute(text("SELECT version_num FROM alembic_version")).scalars()
            return ",".join(sorted(rows)) or None
    except DBAPIError:
        return None  # no alembic_version table: an empty database


def known_current(store: Store) -> bool:
    """True when the store's schema is certainly the newest; False means "ask Alembic"
    (old, empty, unreachable or not sure), never "old"."""
    head = head_revision()
    return head is not None and recorded_revision(store) == head
