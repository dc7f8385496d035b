"""A directory user's subject: what the provider keys them by

``web_user.subject``: for a user who signs in through an OpenID Connect provider, the
provider's issuer and the ID token's ``sub`` ("<iss> <sub>"), bound at the first sign-in;
a later sign-in finds the user by it, never by a name the provider lets people choose.
NULL for local and LDAP users, and for OpenID Connect users made before this revision
(their next sign-in is refused until an admin links them: ``conveyor users link``).
``uq_web_user_subject``: one user per subject.

Revision ID: 0025
Revises: 0024
Create Date: 2026-11-26 17:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from conveyor.store.migrations import _ops

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    _ops.add_columns("web_user", sa.Column("subject", sa.String(length=700), nullable=True))
    with op.batch_alter_table("web_user", schema=None) as batch_op:
        batch_op.create_index("uq_web_user_subject", ["subject"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("web_user", schema=None) as batch_op:
        batch_op.drop_index("uq_web_user_subject")
    _ops.drop_columns("web_user", "subject")
