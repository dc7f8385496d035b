"""Operations several revisions make, written once: a revision's schema is still exactly
what its own file says, since each helper issues the same alembic operations, in the same
order, as the revision spelled out before it used the helper (an index created or dropped
in a ``batch_alter_table`` block, which copies no table for it, is the same SQL as one
through ``op``). tests/migration/test_schema_history.py checks each revision's schema, up
and down, on SQLite and PostgreSQL.

Each call uses at most one ``batch_alter_table`` block, so on SQLite a table is copied at
most once per call, as before.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


def add_columns(table: str, *columns: sa.Column[object]) -> None:
    """Add ``columns`` to ``table``, in that order."""
    with op.batch_alter_table(table, schema=None) as batch_op:
        for column in columns:
            batch_op.add_column(column)


def drop_columns(table: str, *names: str) -> None:
    """Drop the columns ``names`` from ``table``, in that order."""
    with op.batch_alter_table(table, schema=None) as batch_op:
        for name in names:
            batch_op.drop_column(name)


def create_indexes(table: str, indexes: dict[str, Sequence[str]]) -> None:
    """Create the plain (not unique) ``indexes`` of ``table``, by name, in that order."""
    with op.batch_alter_table(table, schema=None) as batch_op:
        for name, columns in indexes.items():
            batch_op.create_index(name, list(columns), unique=False)


def drop_table(table: str, *indexes: str) -> None:
    """Drop the ``indexes`` of ``table`` (by name, in that order), then the table."""
    with op.batch_alter_table(table, schema=None) as batch_op:
        for name in indexes:
            batch_op.drop_index(name)
    op.drop_table(table)


def recreate_index(name: str, table: str, columns: Sequence[str | sa.TextClause]) -> None:
    """Drop the index ``name`` of ``table`` and create it again over ``columns``."""
    op.drop_index(name, table_name=table)
    op.create_index(name, table, list(columns))


def foreign_key(table: str, column: str, target: str, *, cascade: bool) -> sa.ForeignKeyConstraint:
    """``table.column`` referring to ``target`` (``"other.column"``), named as the naming
    convention of store/tables.py names it; ``cascade``: its rows go with the row referred to."""
    other = target.split(".")[0]
    return sa.ForeignKeyConstraint(
        [column],
        [target],
        name=op.f(f"fk_{table}_{column}_{other}"),
        ondelete="CASCADE" if cascade else None,
    )
