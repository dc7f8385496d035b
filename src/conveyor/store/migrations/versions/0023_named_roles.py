"""Named roles, the roles a user holds, and the DAGs' access_control

``role``: the roles an admin makes besides the built-in admin, op and viewer;
``role_permission``: what each may do on which DAG (``DAG:<dag_id>``) or on every DAG
(``DAGs``); ``user_role``: the named roles each user holds. ``dag.access_control``: the
roles a DAG file grants read or edit on that DAG, as last parsed (NULL: none). A user whose
``web_user.role`` is ``public`` holds no built-in role: only the named ones count.

Revision ID: 0023
Revises: 0022
Create Date: 2026-11-26 06:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from conveyor.store.migrations import _ops
from conveyor.store.tables import UtcDateTime

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "role",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_role")),
    )
    op.create_table(
        "role_permission",
        sa.Column("role", sa.String(length=100), nullable=False),
        sa.Column("resource", sa.String(length=300), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        _ops.foreign_key("role_permission", "role", "role.name", cascade=True),
        sa.PrimaryKeyConstraint("role", "resource", "action", name=op.f("pk_role_permission")),
    )
    op.create_table(
        "user_role",
        sa.Column("username", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=100), nullable=False),
        _ops.foreign_key("user_role", "username", "web_user.username", cascade=True),
        _ops.foreign_key("user_role", "role", "role.name", cascade=True),
        sa.PrimaryKeyConstraint("username", "role", name=op.f("pk_user_role")),
    )
    _ops.create_indexes("user_role", {"ix_user_role_role": ["role"]})
    _ops.add_columns("dag", sa.Column("access_control", sa.JSON(), nullable=True))


def downgrade() -> None:
    _ops.drop_columns("dag", "access_control")
    _ops.drop_table("user_role", "ix_user_role_role")
    op.drop_table("role_permission")
    op.drop_table("role")
